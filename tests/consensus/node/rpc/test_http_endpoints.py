"""/health, /status, /metrics, the body limit, connections (eviction, deadlines,
the WebSocket cap), the bind rule."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from consensus.node.rpc.config import RpcConfig
from consensus.node.rpc.connections import ConnectionTable, Phase
from ledger.client import LedgerClient

from .conftest import ALICE, BOB, transfer
from .server_thread import ServerThread


def test_health_and_status(served: ServerThread) -> None:
    status, content_type, body = served.get("/health")
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body) == {"status": "ok", "height": 0, "catchingUp": False}
    served.produce()
    status, _, body = served.get("/status")
    document = json.loads(body)
    assert status == 200
    assert document["height"] == 1
    assert document == LedgerClient(served.url).request("ledger_status")


def test_metrics(served: ServerThread) -> None:
    client = LedgerClient(served.url)
    client.send_raw_transaction(transfer(ALICE, BOB, 1, nonce=0).encode())
    _, _, before = served.get("/metrics")
    assert "ledger_mempool_size 1.0" in before
    served.produce()
    served.produce()
    client.block_number()
    client.request("ledger_getBalance", ["lg1d2ul6472lwa0x8hkfag0dydqmuhy6zj7yvhuhu"])
    served.post({"jsonrpc": "2.0", "id": 1, "method": "no_such_method"})
    status, content_type, text = served.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    assert "ledger_height 2.0" in text
    assert "ledger_mempool_size 0.0" in text
    assert "ledger_peers 0.0" in text
    assert "ledger_block_transactions_count 2.0" in text
    assert "ledger_block_transactions_sum 1.0" in text
    assert "ledger_consensus_rounds_count 2.0" in text
    assert "ledger_block_interval_seconds_count 1.0" in text
    assert 'ledger_rpc_request_duration_seconds_count{method="ledger_blockNumber"}' in text
    assert 'ledger_rpc_request_duration_seconds_count{method="ledger_getBalance"} 1.0' in text
    assert 'method="_unknown"' in text  # unknown names never become labels
    assert "no_such_method" not in text


def test_body_size_limit(tmp_path: Path) -> None:
    server = ServerThread(tmp_path, RpcConfig(port=0, max_body_bytes=1000))
    try:
        padding = "x" * 2000
        status, answer = server.post({"jsonrpc": "2.0", "id": 1, "method": padding})
        assert status == 413
        assert answer["error"]["code"] == -32600
        assert answer["error"]["data"] == {"limit": 1000}
        status, answer = server.post({"jsonrpc": "2.0", "id": 1, "method": "ledger_chainId"})
        assert (status, answer["result"]) == (200, "ledger-devnet-1")
    finally:
        server.close()


def test_content_type_must_be_json(served: ServerThread) -> None:
    status, answer = served.post(
        {"jsonrpc": "2.0", "id": 1, "method": "ledger_chainId"}, content_type="text/plain"
    )
    assert status == 415
    assert answer["error"]["code"] == -32600


def wait_closed(sock: socket.socket, timeout: float = 10.0) -> bool:
    """True once the server has closed ``sock`` (recv returns b"" or resets),
    False if it is still open after ``timeout`` seconds."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def wait_answers(url: str, timeout: float = 10.0) -> None:
    """Bounded: the server answers a JSON-RPC call (it may be making room first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            assert LedgerClient(url, timeout=2).chain_id() == "ledger-devnet-1"
            return
        except Exception:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def test_idle_connections_make_room_for_new_clients(tmp_path: Path) -> None:
    """A full table of idle sockets does not lock clients out: the one that
    waited longest is closed to admit the newcomer."""
    config = RpcConfig(port=0, max_connections=3, max_ws_connections=1, idle_timeout=600)
    server = ServerThread(tmp_path, config)
    held = [socket.create_connection(("127.0.0.1", server.server.port)) for _ in range(3)]
    try:
        assert server.call(_until(lambda: len(server.server.connections or ()) == 3))
        clients = [LedgerClient(server.url, timeout=5) for _ in range(3)]
        for client in clients:  # each keeps its connection open: three evictions
            assert client.chain_id() == "ledger-devnet-1"
        assert all(wait_closed(sock) for sock in held)  # the oldest first
        _, _, metrics = server.get("/metrics")  # evicts the first client's connection
        assert metric(metrics, "ledger_rpc_connections_evicted_total") == 4
        assert clients[0].chain_id() == "ledger-devnet-1"  # the client reconnects
        assert metric(metrics, "ledger_rpc_connections_refused_total") == 0
    finally:
        for conn in held:
            conn.close()
        server.close()


def metric(text: str, name: str) -> float:
    """The value of an unlabelled sample in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in the metrics")


async def _until(condition: Any, timeout: float = 5.0) -> bool:
    """On the server's loop: wait (bounded) until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def test_a_connection_that_sends_no_request_is_closed(tmp_path: Path) -> None:
    server = ServerThread(tmp_path, RpcConfig(port=0, idle_timeout=0.3))
    silent = socket.create_connection(("127.0.0.1", server.server.port))
    dribbling = socket.create_connection(("127.0.0.1", server.server.port))
    try:
        dribbling.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never end
        assert wait_closed(silent) and wait_closed(dribbling)
        _, _, metrics = server.get("/metrics")
        assert metric(metrics, "ledger_rpc_connections_expired_total") == 2
    finally:
        silent.close()
        dribbling.close()
        server.close()


def test_a_body_that_never_arrives_is_given_up(tmp_path: Path) -> None:
    server = ServerThread(tmp_path, RpcConfig(port=0, io_timeout=0.3))
    sock = socket.create_connection(("127.0.0.1", server.server.port))
    try:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        assert wait_closed(sock)
        wait_answers(server.url)
    finally:
        sock.close()
        server.close()


def test_websocket_sessions_have_a_cap(tmp_path: Path) -> None:
    server = ServerThread(tmp_path, RpcConfig(port=0, max_connections=4, max_ws_connections=1))

    async def two_sessions() -> tuple[int, int]:
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(server.url + "/ws")
            try:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(server.url + "/ws")
                pinned = server.server.connections
                assert pinned is not None
                return refused.value.status, pinned.count(Phase.PINNED)
            finally:
                await first.close()

    try:
        assert asyncio.run(two_sessions()) == (503, 1)
        wait_answers(server.url)
    finally:
        server.close()


def test_refused_only_when_every_slot_is_busy() -> None:
    clock = [0.0]
    closed: list[str] = []
    table = ConnectionTable(2, idle_timeout=10, io_timeout=60, clock=lambda: clock[0])
    assert table.admit("ws", lambda: closed.append("ws"))
    table.pin("ws")
    assert table.admit("busy", lambda: closed.append("busy"))
    table.working("busy")
    assert not table.admit("new", lambda: closed.append("new"))  # nothing to evict
    table.wait_for_request("busy")
    clock[0] = 1.0
    assert table.admit("new", lambda: closed.append("new"))
    assert closed == ["busy"] and table.phase("busy") is None and len(table) == 2


def test_binds_loopback_unless_allowed() -> None:
    RpcConfig().check()
    RpcConfig(host="::1").check()
    RpcConfig(host="localhost").check()
    with pytest.raises(ValueError, match="not a loopback"):
        RpcConfig(host="0.0.0.0").check()
    RpcConfig(host="0.0.0.0", allow_remote=True).check()
