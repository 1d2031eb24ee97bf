"""Mempool gossip in (consensus.node.mempool_gossip): batches admitted in
chunks, held transactions skipped before decoding, a forged signature
punishes the peer and ends its batch. Invalid cases are named test_invalid_*."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from consensus.node import mempool_gossip
from consensus.node.mempool import Mempool
from consensus.node.mempool_gossip import CHUNK, MempoolGossip
from consensus.node.p2p import PeerMisbehaved
from ledger.types import Transaction
from tests.consensus.node.memory_chain import MemoryChain, transfer

PEER = b"\x07" * 20
RICH = 10**12


def make() -> tuple[Mempool, MempoolGossip, list[tuple[bytes, str]]]:
    mempool = Mempool(MemoryChain({0: RICH, 1: RICH, 2: RICH}))
    punished: list[tuple[bytes, str]] = []
    return mempool, MempoolGossip(mempool, lambda peer, why: punished.append((peer, why))), punished


def forged(tx: Transaction) -> Transaction:
    return replace(tx, signature=bytes(63) + b"\x01", _cache={})


def test_a_batch_is_admitted_and_held_transactions_are_not_decoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mempool, gossip, punished = make()
    txs = [transfer(0, 1, 5, n) for n in range(3)]
    mempool.add(txs[0])
    decoded: list[bytes] = []
    real = mempool_gossip.decode_transaction

    def counting(raw: bytes, tx_hash: bytes | None = None) -> Transaction:
        decoded.append(raw)
        return real(raw, tx_hash)

    monkeypatch.setattr(mempool_gossip, "decode_transaction", counting)
    asyncio.run(gossip.on_batch(PEER, tuple(tx.encode() for tx in txs)))
    assert mempool.transactions() == txs and punished == []
    assert decoded == [tx.encode() for tx in txs[1:]]
    asyncio.run(gossip.on_batch(PEER, tuple(tx.encode() for tx in txs)))
    assert len(decoded) == 2  # all held: nothing decoded


def test_invalid_signature_punishes_the_peer_and_ends_its_batch() -> None:
    mempool, gossip, punished = make()
    before, bad, after = transfer(0, 1, 5, 0), forged(transfer(1, 0, 5, 0)), transfer(2, 0, 5, 0)
    asyncio.run(gossip.on_batch(PEER, (before.encode(), bad.encode(), after.encode())))
    assert mempool.transactions() == [before]
    assert punished == [(PEER, "relayed a transaction with an invalid signature")]


def test_other_rejections_cost_the_peer_nothing() -> None:
    mempool, gossip, punished = make()
    stale_soon = transfer(0, 1, 5, 0)
    mempool.add(stale_soon)
    batch = (stale_soon.encode(), transfer(3, 0, 5, 0).encode(), transfer(0, 1, 5, 500).encode())
    asyncio.run(gossip.on_batch(PEER, batch))  # known, unfunded, too far ahead
    assert punished == [] and len(mempool) == 1


@pytest.mark.parametrize(
    "payload",
    [b"not a list", ("text",), (b"\x00\x01",), (transfer(0, 1, 5, 0).encode() + b"\x00",)],
)
def test_invalid_payloads_are_misbehaviour(payload: object) -> None:
    mempool, gossip, _ = make()
    with pytest.raises(PeerMisbehaved):
        asyncio.run(gossip.on_batch(PEER, payload))
    assert len(mempool) == 0


def test_a_large_batch_yields_to_the_event_loop_between_chunks() -> None:
    mempool, gossip, _ = make()
    batch = tuple(transfer(n % 3, (n + 1) % 3, 5, n // 3).encode() for n in range(3 * CHUNK))
    seen: list[int] = []

    async def run() -> None:
        async def watch() -> None:
            while len(seen) < 2:
                seen.append(len(mempool))
                await asyncio.sleep(0)

        watcher = asyncio.get_running_loop().create_task(watch())
        await asyncio.sleep(0)  # the watcher takes its first look
        await gossip.on_batch(PEER, batch)
        await watcher

    asyncio.run(run())
    assert seen[0] == 0 and 0 < seen[1] < len(batch)  # it ran in the middle of the batch
    assert len(mempool) == len(batch)


def test_a_transaction_seen_in_a_validated_block_is_not_decoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mempool, gossip, _ = make()
    tx = transfer(0, 1, 5, 0)
    mempool.remember_verified([tx], {tx.hash})

    def never(raw: bytes, tx_hash: bytes | None = None) -> Transaction:
        raise AssertionError("decoded again")

    monkeypatch.setattr(mempool_gossip, "decode_transaction", never)
    asyncio.run(gossip.on_batch(PEER, (tx.encode(),)))
    assert mempool.get(tx.hash) is tx
