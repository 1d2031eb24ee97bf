"""/health, /status, /metrics, the body and connection limits, the bind rule."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from consensus.node.rpc.config import RpcConfig
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


def test_connection_limit(tmp_path: Path) -> None:
    server = ServerThread(tmp_path, RpcConfig(port=0, max_connections=2))
    held = [socket.create_connection(("127.0.0.1", server.server.port)) for _ in range(2)]
    try:
        time.sleep(0.2)  # let the server register both
        extra = socket.create_connection(("127.0.0.1", server.server.port))
        extra.settimeout(5)
        reply = extra.recv(1000)
        assert reply.startswith(b"HTTP/1.1 503")
        extra.close()
        for sock in held:
            sock.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # bounded: the server notices the closes
            try:
                assert LedgerClient(server.url, timeout=2).chain_id() == "ledger-devnet-1"
                break
            except Exception:
                time.sleep(0.05)
        else:
            pytest.fail("the server did not accept connections again")
        _, _, metrics = server.get("/metrics")
        assert "ledger_rpc_connections_refused_total 1.0" in metrics
    finally:
        for sock in held:
            sock.close()
        server.close()


def test_binds_loopback_unless_allowed() -> None:
    RpcConfig().check()
    RpcConfig(host="::1").check()
    RpcConfig(host="localhost").check()
    with pytest.raises(ValueError, match="not a loopback"):
        RpcConfig(host="0.0.0.0").check()
    RpcConfig(host="0.0.0.0", allow_remote=True).check()
