"""Queries at heights a pruning node forgot: a typed error (-32006,
``HeightPrunedError`` in the client) naming what was pruned and the first
height kept, while recent heights, states kept for good (keep_every) and
the tip answer as before; indexes (transactions by hash, account history)
forget the pruned blocks without pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.address import address_of
from ledger.client import BlockNotFound, HeightPrunedError, LedgerClient
from ledger.pruning import PruningPolicy
from ledger.rpc_errors import HEIGHT_PRUNED

from .conftest import ALICE, BOB, address_text, transfer
from .server_thread import ServerThread

POLICY = PruningPolicy(keep_recent=2, keep_every=4, retain_blocks=3, max_heights_per_pass=100)
BLOCKS = 9


@pytest.fixture
def pruned(tmp_path: Path) -> Iterator[tuple[ServerThread, list[bytes]]]:
    """A node that committed BLOCKS blocks of one alice -> bob transfer each."""
    server = ServerThread(tmp_path, pruning=POLICY)
    client = LedgerClient(server.url)
    hashes = []
    try:
        for nonce in range(BLOCKS):
            hashes.append(client.send_raw_transaction(transfer(ALICE, BOB, 1, nonce).encode()))
            server.produce()
        yield server, hashes
    finally:
        client.close()
        server.close()


def error(server: ServerThread, method: str, params: Any) -> dict[str, Any]:
    _, answer = server.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert "error" in answer, answer
    result: dict[str, Any] = answer["error"]
    return result


def test_pruned_states_and_blocks_answer_a_typed_error(
    pruned: tuple[ServerThread, list[bytes]],
) -> None:
    server, _ = pruned
    alice = address_text(ALICE)
    # keep_recent 2 at tip 9: states 8 and 9 (and 4 and 8, multiples of keep_every).
    state = error(server, "ledger_getBalance", [alice, "coin", 5])
    assert state["code"] == HEIGHT_PRUNED
    assert state["data"] == {"height": 5, "what": "state", "earliest": 8}
    assert "pruned" in state["message"]
    for method, params in (
        ("ledger_getAccount", [alice, 1]),
        ("ledger_getProof", [alice, 0]),
        ("ledger_getBurnedCredits", [7]),
        ("ledger_validators", [3]),  # the set of block 3 is in the state after block 2
    ):
        assert error(server, method, params)["code"] == HEIGHT_PRUNED, method
    # retain_blocks 3 at tip 9: blocks 7..9.
    block = error(server, "ledger_getBlockByNumber", [6, False])
    assert block["code"] == HEIGHT_PRUNED
    assert block["data"] == {"height": 6, "what": "block", "earliest": 7}
    assert error(server, "ledger_getBlockEvents", [2])["code"] == HEIGHT_PRUNED
    # Above the tip is still "block not found".
    assert error(server, "ledger_getBalance", [alice, "coin", 10])["code"] == -32001


def test_kept_heights_answer_and_the_client_raises_the_typed_error(
    pruned: tuple[ServerThread, list[bytes]],
) -> None:
    server, _ = pruned
    client = LedgerClient(server.url)
    try:
        bob_address = address_of(BOB.public_key)
        tip = client.get_balance(bob_address, "coin")
        assert client.get_balance(bob_address, "coin", 8) == tip - 1
        assert client.get_balance(bob_address, "coin", 4) == tip - 5  # kept for good
        proof = client.get_proof(bob_address, 4)
        assert proof.height == 4 and proof.verify()
        assert proof.block_hash is not None  # from the kept state's record: block 4 is pruned
        assert client.get_block(7) is not None and client.get_block(9) is not None
        with pytest.raises(HeightPrunedError) as caught:
            client.get_balance(bob_address, "coin", 3)
        assert caught.value.data["earliest"] == 8
        with pytest.raises(HeightPrunedError):
            client.get_block(1)
        with pytest.raises(BlockNotFound):
            client.get_balance(bob_address, "coin", 99)
    finally:
        client.close()


def test_indexes_forget_the_pruned_blocks(pruned: tuple[ServerThread, list[bytes]]) -> None:
    server, hashes = pruned
    client = LedgerClient(server.url)
    try:
        assert client.get_receipt(hashes[0]) is None  # its block is pruned
        assert client.get_transaction(hashes[0]) is None
        kept = client.get_receipt(hashes[-1])
        assert kept is not None and kept.block_height == BLOCKS
    finally:
        client.close()
    request = {"jsonrpc": "2.0", "id": 1, "method": "ledger_getAccountHistory"}
    _, answer = server.post({**request, "params": [address_text(ALICE)]})
    history = answer["result"]
    assert history["indexedFrom"] == 7
    heights = [entry["blockHeight"] for entry in history["transactions"]]
    assert heights == [9, 8, 7]
