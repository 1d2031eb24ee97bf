"""Attacks on the RPC port of a real node process (issue 14 section 7).

One validator process (`ledger start`, the devnet's genesis for one
validator) on 127.0.0.1 with a small connection table, short client
deadlines and a small reply limit, so each attack runs in seconds:

- idle sockets filling every connection slot (before the fix, 256 of them
  locked every other client out with 503 for over 20 s);
- sockets dribbling request headers, and requests whose body never comes;
- a batch of full-block fetches whose answers would not fit the reply limit;
- a web page in the operator's browser: a foreign Origin, a DNS-rebinding
  Host, on POST /, /ws and the explorer's routes.

Each test asserts that honest calls keep being answered and that the chain
keeps committing while the attack runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from consensus.node.config import encode_config, load_config
from ledger.address import address_of, encode_address
from ledger.client import LedgerClient
from ledger.client.devnet import account_key

from .devnet_harness import Devnet, wait_until

pytestmark = pytest.mark.timeout(300)

MAX_CONNECTIONS = 48
IDLE_TIMEOUT_MS = 1500
REPLY_LIMIT = 20_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    net = Devnet(tmp_path_factory.mktemp("rpc-attacks") / "devnet", validators=1)
    path = Path(net.nodes[0]["home"]) / "config.toml"
    config = load_config(path)
    rpc = replace(
        config.rpc,
        max_connections=MAX_CONNECTIONS,
        max_ws_connections=4,
        idle_timeout_ms=IDLE_TIMEOUT_MS,
        io_timeout_ms=2 * IDLE_TIMEOUT_MS,
        max_reply_bytes=REPLY_LIMIT,
    )
    path.write_text(encode_config(replace(config, rpc=rpc)))
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        yield net
    finally:
        net.stop_all()
        log = net.logs()["val-0"]
        assert "Traceback" not in log, log[max(0, log.find("Traceback") - 300) :][:4000]


def port_of(node: Devnet) -> int:
    return int(node.nodes[0]["rpc_port"])


def honest_calls(node: Devnet, count: int) -> None:
    """``count`` calls, each on a fresh connection, all answered."""
    for _ in range(count):
        with LedgerClient(node.nodes[0]["rpc_url"], timeout=5) as client:
            assert client.chain_id() == "ledger-devnet-1"


def still_committing(node: Devnet, since: int) -> None:
    wait_until(lambda: node.height(0) > since, 30, "the chain to commit another block")


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def test_idle_sockets_do_not_lock_clients_out(node: Devnet) -> None:
    height = node.height(0)
    held = [
        socket.create_connection(("127.0.0.1", port_of(node))) for _ in range(MAX_CONNECTIONS * 3)
    ]
    try:
        honest_calls(node, 20)
        still_committing(node, height)
        # the oldest idle sockets were closed to make room, the rest by their deadline
        assert all(closed_by_server(sock, 10 * IDLE_TIMEOUT_MS / 1000) for sock in held)
    finally:
        for sock in held:
            sock.close()


def test_dribbled_headers_and_missing_bodies_lose_their_slots(node: Devnet) -> None:
    height = node.height(0)
    port = port_of(node)
    dribblers = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_CONNECTIONS)]
    stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in dribblers:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        for sock in stalled:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n["
            )
        for _ in range(3):  # keep dribbling while honest clients come and go
            for sock in dribblers:
                with contextlib.suppress(OSError):  # already closed by the node
                    sock.sendall(b"a")
            honest_calls(node, 5)
        still_committing(node, height)
        for sock in dribblers + stalled:
            assert closed_by_server(sock, 10 * IDLE_TIMEOUT_MS / 1000)
    finally:
        for sock in dribblers + stalled:
            sock.close()


def test_a_batch_of_block_fetches_is_bounded(node: Devnet) -> None:
    client = LedgerClient(node.nodes[0]["rpc_url"], timeout=10)
    alice, bob = account_key("alice"), account_key("bob")
    bob_address = encode_address(address_of(bob.public_key))
    sent = [client.send_transfer(alice, bob_address, 1, wait=False) for _ in range(3)]
    for transaction in sent:
        client.wait_for_receipt(transaction.hash, timeout=30)
    tip = client.block_number()
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "ledger_getBlockByNumber", "params": [h, True]}
        for i, h in enumerate([tip - i % tip for i in range(100)])
    ]
    conn = http.client.HTTPConnection("127.0.0.1", port_of(node), timeout=30)
    try:
        conn.request("POST", "/", json.dumps(batch), {"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    answers = json.loads(body)
    assert response.status == 200 and len(answers) == 100
    refused = [a for a in answers if "error" in a]
    assert refused and {a["error"]["code"] for a in refused} == {-32004}
    assert refused[0]["error"]["data"] == {"limit": REPLY_LIMIT}
    assert len(body) < REPLY_LIMIT + 100 * 300  # the limit plus one short error per member
    still_committing(node, tip)


def raw_request(port: int, method: str, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ledger_chainId"})
        conn.request(
            method,
            path,
            body if method == "POST" else None,
            {"Content-Type": "application/json", **headers},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Host": "rebind.evil.example:8545"},
        {"Host": "rebind.evil.example:8545", "Origin": "http://rebind.evil.example:8545"},
    ],
)
def test_a_foreign_page_cannot_drive_the_node(node: Devnet, headers: dict[str, str]) -> None:
    port = port_of(node)
    for method, path in (("POST", "/"), ("GET", "/explorer/"), ("GET", "/explorer/app.js")):
        assert raw_request(port, method, path, headers) == 403, (method, path)

    async def websocket() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws", headers=headers)
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status
            await ws.close()
            return 101

    assert asyncio.run(websocket()) == 403
    own = {"Origin": f"http://127.0.0.1:{port}"}
    assert raw_request(port, "POST", "/", own) == 200  # the explorer's own calls
    assert raw_request(port, "GET", "/explorer/", {}) == 200
