"""Host and Origin checks: pages from other origins and DNS-rebinding names are refused."""

from __future__ import annotations

import asyncio
import http.client
import json
from pathlib import Path

import aiohttp
import pytest

from consensus.node.rpc.access import AccessPolicy, split_host
from consensus.node.rpc.config import RpcConfig

from .server_thread import ServerThread

CHAIN_ID = {"jsonrpc": "2.0", "id": 1, "method": "ledger_chainId"}


def request(
    server: ServerThread, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server.port, timeout=10)
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def post(server: ServerThread, headers: dict[str, str]) -> tuple[int, bytes]:
    body = json.dumps(CHAIN_ID).encode()
    return request(server, "POST", "/", {"Content-Type": "application/json", **headers}, body)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost:8545", ("localhost", 8545)),
        ("LocalHost.", ("localhost", None)),
        ("[::1]:80", ("::1", 80)),
        ("127.0.0.1", ("127.0.0.1", None)),
        ("user@host", None),
        ("host/path", None),
        ("host:notaport", None),
        ("", None),
    ],
)
def test_split_host(value: str, expected: tuple[str, int | None] | None) -> None:
    assert split_host(value) == expected


def test_default_hosts_are_loopback_names_and_ip_literals() -> None:
    policy = AccessPolicy.of("127.0.0.1", (), ())
    for host in ("localhost:8545", "127.0.0.1:8545", "[::1]:8545", "10.0.0.7:8545", None):
        assert policy.host_problem(host) is None, host
    for host in ("evil.example:8545", "localhost.evil.example", "127.0.0.1.nip.io:8545"):
        assert "not allowed" in (policy.host_problem(host) or ""), host
    assert "malformed" in (policy.host_problem("a b") or "")
    named = AccessPolicy.of("0.0.0.0", ("Node.Example",), ())
    assert named.host_problem("node.example:8545") is None
    assert named.host_problem("other.example") is not None
    assert AccessPolicy.of("127.0.0.1", ("*",), ()).host_problem("anything.example") is None


def test_origins_must_be_the_server_itself_or_listed() -> None:
    policy = AccessPolicy.of("127.0.0.1", (), ("https://wallet.example",))
    host = "127.0.0.1:8545"
    assert policy.origin_problem(None, host) is None
    assert policy.origin_problem("http://127.0.0.1:8545", host) is None
    assert policy.origin_problem("https://wallet.example", host) is None
    assert policy.origin_problem("http://localhost:8545", "localhost:8545") is None
    assert policy.origin_problem("http://localhost", "localhost:80") is None
    for origin in ("http://127.0.0.1:8546", "https://evil.example", "null", "file://"):
        assert "not allowed" in (policy.origin_problem(origin, host) or ""), origin
    assert AccessPolicy.of("127.0.0.1", (), ("*",)).origin_problem("null", host) is None


@pytest.fixture
def strict(tmp_path: Path) -> ServerThread:
    return ServerThread(tmp_path, RpcConfig(port=0))


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example:8545"},  # DNS rebinding: the page's name, our address
        {"Origin": "https://evil.example"},  # a page elsewhere posting to us
        {"Origin": "null"},  # a sandboxed frame or a file
    ],
)
def test_post_from_a_foreign_page_is_refused(strict: ServerThread, headers: dict[str, str]) -> None:
    try:
        before = strict.snapshot()
        status, body = post(strict, headers)
        assert status == 403
        answer = json.loads(body)
        assert answer["error"]["code"] == -32005 and "not allowed" in answer["error"]["message"]
        assert strict.snapshot() == before
    finally:
        strict.close()


def test_the_servers_own_origin_and_plain_clients_pass(strict: ServerThread) -> None:
    port = strict.server.port
    try:
        assert post(strict, {})[0] == 200
        assert post(strict, {"Origin": f"http://127.0.0.1:{port}"})[0] == 200
        assert (
            post(strict, {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})[0]
            == 200
        )
    finally:
        strict.close()


@pytest.mark.parametrize("path", ["/", "/explorer/", "/explorer/app.js", "/health", "/metrics"])
def test_explorer_and_other_routes_refuse_a_rebinding_host(strict: ServerThread, path: str) -> None:
    try:
        status, body = request(strict, "GET", path, {"Host": "evil.example:8545"})
        assert status == 403 and body.startswith(b"forbidden: Host 'evil.example'")
        status, _ = request(strict, "GET", path, {"Origin": "https://evil.example"})
        assert status == 403
        assert request(strict, "GET", path, {})[0] in (200, 303)
    finally:
        strict.close()


def test_websocket_from_a_foreign_origin_is_refused(strict: ServerThread) -> None:
    url = strict.url + "/ws"

    async def handshake(headers: dict[str, str]) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(url, headers=headers)
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status
            await ws.send_json(CHAIN_ID)
            reply = await ws.receive_json(timeout=10)
            await ws.close()
            assert reply["result"] == "ledger-devnet-1"
            return 101

    try:
        port = strict.server.port
        assert asyncio.run(handshake({"Origin": "https://evil.example"})) == 403
        assert asyncio.run(handshake({"Host": "evil.example"})) == 403
        assert asyncio.run(handshake({"Origin": f"http://127.0.0.1:{port}"})) == 101
    finally:
        strict.close()


def test_configured_names_and_origins_are_accepted(tmp_path: Path) -> None:
    config = RpcConfig(
        port=0, allowed_hosts=("node.example",), allowed_origins=("https://wallet.example",)
    )
    server = ServerThread(tmp_path, config)
    try:
        assert (
            post(server, {"Host": "node.example:443", "Origin": "https://node.example"})[0] == 200
        )
        assert post(server, {"Origin": "https://wallet.example"})[0] == 200
        assert post(server, {"Host": "other.example"})[0] == 403
    finally:
        server.close()


def test_an_allowed_origin_must_look_like_one() -> None:
    with pytest.raises(ValueError, match="scheme://host"):
        RpcConfig(allowed_origins=("wallet.example",)).check()
