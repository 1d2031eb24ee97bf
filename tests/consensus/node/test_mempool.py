"""Mempool: CheckTx on top of pending transactions, limits, reaping, recheck, gossip.
Invalid cases are named test_invalid_*."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consensus.node.mempool import Mempool, MempoolConfig
from ledger import crypto
from ledger.exceptions import (
    AlreadyKnown,
    BadNonce,
    BadSignature,
    CannotPayFee,
    FeeTooLow,
    MempoolFull,
    TxRejected,
    WrongChainId,
)
from ledger.types import Transaction
from tests.consensus.node.memory_chain import ADDRS, FEE, MemoryChain, transfer

RICH = 10**12


def make(balances: dict[int, int] | None = None, **limits: int) -> tuple[MemoryChain, Mempool]:
    chain = MemoryChain(balances if balances is not None else {0: RICH, 1: RICH, 2: RICH})
    return chain, Mempool(chain, MempoolConfig(**limits))


def commit_reaped(chain: MemoryChain, mempool: Mempool, max_txs: int = 10_000) -> list[Transaction]:
    reaped = mempool.reap(max_txs, 8 * 1024 * 1024)
    block, skipped = chain.build(reaped, mempool.verified_hashes())
    assert skipped == []
    assert list(block.transactions) == reaped
    chain.commit(block, mempool.verified_hashes())
    mempool.update(block.transactions)
    return reaped


def test_accepts_consecutive_nonces_and_reaps_them_in_order() -> None:
    chain, mempool = make()
    txs = [transfer(0, 1, 5, nonce) for nonce in range(3)] + [transfer(1, 0, 5, 0)]
    for tx in txs:
        mempool.add(tx)
    assert len(mempool) == 4
    assert mempool.pending_nonce(ADDRS[0]) == 3
    assert mempool.reap(10, 1 << 20) == txs
    assert commit_reaped(chain, mempool) == txs
    assert len(mempool) == 0 and chain.nonce(0) == 3


def test_invalid_duplicate_is_already_known() -> None:
    _, mempool = make()
    tx = transfer(0, 1, 5, 0)
    mempool.add(tx)
    with pytest.raises(AlreadyKnown) as raised:
        mempool.add(tx)
    assert raised.value.code == 21
    assert len(mempool) == 1


@pytest.mark.parametrize(
    ("tx", "error"),
    [
        (transfer(0, 1, 5, 0, chain="other-chain"), WrongChainId),
        (transfer(0, 1, 5, 0, fee=FEE - 1), FeeTooLow),
        (transfer(0, 1, 5, 1), BadNonce),  # a gap: the next nonce is 0
        (transfer(3, 1, 5, 0), CannotPayFee),  # account 3 holds nothing
        (
            replace(transfer(0, 1, 5, 0), signature=transfer(0, 1, 6, 0).signature, _cache={}),
            BadSignature,
        ),
    ],
)
def test_invalid_transactions_are_rejected_and_not_kept(
    tx: Transaction, error: type[TxRejected]
) -> None:
    _, mempool = make()
    with pytest.raises(error):
        mempool.add(tx)
    assert tx.hash not in mempool and len(mempool) == 0 and mempool.info().bytes == 0


def test_invalid_stale_and_reused_nonces() -> None:
    chain, mempool = make()
    mempool.add(transfer(0, 1, 5, 0))
    commit_reaped(chain, mempool)
    with pytest.raises(BadNonce):
        mempool.add(transfer(0, 1, 6, 0))  # already consumed
    mempool.add(transfer(0, 1, 5, 1))
    with pytest.raises(BadNonce):
        mempool.add(transfer(0, 1, 99, 1))  # a different tx for a pending nonce: no replacement


def test_invalid_pending_fees_count_against_the_balance() -> None:
    _, mempool = make({0: 2 * FEE + FEE // 2})
    mempool.add(transfer(0, 1, 0, 0))
    mempool.add(transfer(0, 1, 0, 1))
    with pytest.raises(CannotPayFee):
        mempool.add(transfer(0, 1, 0, 2))


def test_invalid_pending_transfers_count_against_the_balance() -> None:
    _, mempool = make({0: 1000})
    mempool.add(transfer(0, 1, 1000 - FEE, 0))  # spends everything
    with pytest.raises(CannotPayFee):
        mempool.add(transfer(0, 1, 0, 1))


def test_pending_credits_from_earlier_arrivals_count() -> None:
    chain, mempool = make({0: RICH})
    mempool.add(transfer(0, 1, 5 * FEE, 0))
    mempool.add(transfer(1, 2, FEE, 0))  # account 1 is funded only by the pending transfer
    assert len(commit_reaped(chain, mempool)) == 2


SIZE = len(transfer(0, 1, 5, 0).encode())
FILLER = [transfer(1, 0, 5, n) for n in range(64 * 1024 // SIZE + 1)]  # over the minimum limit
FILLER_BYTES = sum(len(tx.encode()) for tx in FILLER)


@pytest.mark.parametrize(
    ("config", "filler"),
    [
        (MempoolConfig(max_txs=2), []),
        (MempoolConfig(max_bytes=FILLER_BYTES + 2 * SIZE + SIZE // 2), FILLER),
        (MempoolConfig(max_txs_per_sender=2), []),
    ],
)
def test_invalid_full_mempool_refuses_and_keeps_nothing(
    config: MempoolConfig, filler: list[Transaction]
) -> None:
    chain = MemoryChain({0: RICH, 1: RICH})
    mempool = Mempool(chain, config)
    for tx in [*filler, transfer(0, 1, 5, 0), transfer(0, 1, 5, 1)]:
        mempool.add(tx)
    third = transfer(0, 1, 5, 2)
    with pytest.raises(MempoolFull) as raised:
        mempool.add(third)
    assert raised.value.code == 20
    assert third.hash not in mempool
    info = mempool.info()
    assert info.size == len(filler) + 2 and info.bytes <= info.max_bytes


def test_update_drops_included_and_rechecks_the_rest() -> None:
    chain, mempool = make({0: 3 * FEE + 100, 1: RICH})
    ours = [transfer(0, 1, 0, n) for n in range(3)]
    other = transfer(1, 2, 5, 0)
    for tx in [*ours, other]:
        mempool.add(tx)
    # Another proposer's block spends sender 0's nonce 0 on a different transfer
    # that leaves less than one fee: ours[0] is stale, ours[1] cannot pay,
    # ours[2] now follows a gap.
    foreign = transfer(0, 2, 100 + FEE + 5, 0)
    block, skipped = chain.build([foreign, other])
    assert skipped == []
    chain.commit(block)
    dropped = mempool.update(block.transactions)
    assert [(tx, type(reason)) for tx, reason in dropped] == [
        (ours[0], BadNonce),
        (ours[1], CannotPayFee),
        (ours[2], BadNonce),
    ]
    assert len(mempool) == 0 and mempool.info().bytes == 0 and mempool.info().senders == 0


def test_update_keeps_later_nonces_after_a_foreign_block_used_the_first() -> None:
    chain, mempool = make()
    ours = [transfer(0, 1, 5, n) for n in range(3)]
    for tx in ours:
        mempool.add(tx)
    block, _ = chain.build([transfer(0, 2, 7777, 0)])
    chain.commit(block)
    dropped = mempool.update(block.transactions)
    assert [tx for tx, _ in dropped] == [ours[0]]
    assert mempool.transactions() == ours[1:]
    assert len(commit_reaped(chain, mempool)) == 2


def test_update_keeps_transactions_still_valid() -> None:
    chain, mempool = make()
    for n in range(4):
        mempool.add(transfer(0, 1, 5, n))
    commit_reaped(chain, mempool, max_txs=2)
    assert len(mempool) == 2 and chain.nonce(0) == 2
    assert mempool.pending_nonce(ADDRS[0]) == 4
    commit_reaped(chain, mempool)
    assert len(mempool) == 0


def test_reap_stops_at_the_first_transaction_that_does_not_fit() -> None:
    _, mempool = make()
    txs = [transfer(0, 1, 5, n) for n in range(5)]
    for tx in txs:
        mempool.add(tx)
    size = len(txs[0].encode())
    assert mempool.reap(3, 1 << 20) == txs[:3]
    assert mempool.reap(10, 2 * size + size // 2) == txs[:2]
    assert mempool.reap(0, 1 << 20) == []


def test_block_execution_does_not_verify_mempool_signatures_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain, mempool = make()
    for n in range(3):
        mempool.add(transfer(0, 1, 5, n))
    calls = []
    real = crypto.verify_digest

    def counting(*args: bytes) -> bool:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(crypto, "verify_digest", counting)
    commit_reaped(chain, mempool)
    assert calls == []


def test_gossip_batches_follow_a_cursor() -> None:
    chain, mempool = make()
    txs = [transfer(0, 1, 5, n) for n in range(5)]
    for tx in txs[:3]:
        mempool.add(tx)
    first = mempool.batch_for_gossip(0, max_txs=2)
    assert first.transactions == tuple(txs[:2])
    second = mempool.batch_for_gossip(first.cursor, max_txs=2)
    assert second.transactions == (txs[2],)
    assert mempool.batch_for_gossip(second.cursor).transactions == ()
    for tx in txs[3:]:
        mempool.add(tx)
    commit_reaped(chain, mempool, max_txs=4)
    rest = mempool.batch_for_gossip(second.cursor)
    assert rest.transactions == (txs[4],)
    assert mempool.batch_for_gossip(rest.cursor) == rest.__class__((), rest.cursor)
    size = len(txs[0].encode())
    mempool.add(transfer(1, 0, 5, 0))
    assert len(mempool.batch_for_gossip(0, max_bytes=size // 2).transactions) == 1  # at least one


def test_add_batch_reports_each_result() -> None:
    _, mempool = make()
    good = transfer(0, 1, 5, 0)
    results = mempool.add_batch([good, good, transfer(0, 1, 5, 5)])
    assert results[0] is None
    assert isinstance(results[1], AlreadyKnown) and isinstance(results[2], BadNonce)


def test_invalid_config() -> None:
    with pytest.raises(ValueError):
        MempoolConfig(max_bytes=100)


# -- properties ---------------------------------------------------------------

SENDERS = 4
ADD = st.tuples(
    st.just("add"),
    st.integers(0, SENDERS - 1),  # sender
    st.sampled_from([0, 0, 0, 0, 0, 1, -1]),  # nonce offset from the pending nonce
    st.sampled_from([FEE, FEE, FEE, 3 * FEE, FEE - 1]),
    st.sampled_from([1, 1, 10 * FEE, 10**15]),  # the last one fails in execution
    st.integers(0, SENDERS),  # recipient
)
OPS = st.lists(
    st.one_of(
        ADD,
        ADD,
        ADD,
        st.tuples(st.just("commit"), st.integers(0, 6), st.integers(0, 2000)),
        st.tuples(st.just("foreign"), st.integers(0, SENDERS - 1)),
        st.tuples(st.just("readd"), st.integers(0, 50)),
    ),
    min_size=5,
    max_size=50,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, max_txs=st.integers(1, 8), extra_bytes=st.integers(0, 2000))
def test_property_limits_truthful_results_valid_reaps_nonce_order(
    ops: list[tuple[object, ...]], max_txs: int, extra_bytes: int
) -> None:
    # Sender 1 is poor (a few fees), sender 3 starts empty and lives on credits.
    chain = MemoryChain({0: RICH, 1: 4 * FEE, 2: RICH})
    config = MempoolConfig(max_txs=max_txs, max_bytes=64 * 1024 + extra_bytes)
    mempool = Mempool(chain, config)
    seen: list[Transaction] = []
    for op in ops:
        if op[0] == "add":
            _, sender, offset, fee, amount, recipient = op
            assert isinstance(sender, int) and isinstance(offset, int)
            nonce = max(0, mempool.pending_nonce(ADDRS[sender]) + offset)
            tx = transfer(sender, int(recipient), int(amount), nonce, fee=int(fee))  # type: ignore[call-overload]
            _add_and_check(mempool, tx)
            seen.append(tx)
        elif op[0] == "readd" and seen:
            _add_and_check(mempool, seen[int(op[1]) % len(seen)])  # type: ignore[call-overload]
        elif op[0] == "commit":
            _, max_block_txs, byte_budget = op
            reaped = mempool.reap(int(max_block_txs), 300 + int(byte_budget))  # type: ignore[call-overload]
            block, skipped = chain.build(reaped, mempool.verified_hashes())
            assert skipped == [], "a reaped transaction was not includable"
            chain.commit(block, mempool.verified_hashes())
            mempool.update(block.transactions)
        elif op[0] == "foreign":
            sender = int(op[1])  # type: ignore[call-overload]
            block, _ = chain.build([transfer(sender, 0, 7777, chain.nonce(sender))])
            chain.commit(block)
            mempool.update(block.transactions)
        _check_invariants(chain, mempool)


def _add_and_check(mempool: Mempool, tx: Transaction) -> None:
    was_pending = tx.hash in mempool
    try:
        mempool.add(tx)
    except AlreadyKnown:
        assert was_pending and tx.hash in mempool
    except TxRejected:
        assert tx.hash not in mempool, "a rejected transaction was kept"
    else:
        assert tx.hash in mempool, "add reported success for a transaction it dropped"


def _check_invariants(chain: MemoryChain, mempool: Mempool) -> None:
    info = mempool.info()
    txs = mempool.transactions()
    assert info.size == len(txs) <= mempool.config.max_txs
    assert info.bytes == sum(len(tx.encode()) for tx in txs) <= mempool.config.max_bytes
    next_nonce: dict[bytes, int] = {}
    for tx in txs:  # per sender: contiguous nonces from the committed one, in arrival order
        expected = next_nonce.get(tx.sender_address, chain.nonce(ADDRS.index(tx.sender_address)))
        assert tx.nonce == expected
        next_nonce[tx.sender_address] = expected + 1
    assert mempool.verified_hashes() == {tx.hash for tx in txs}
    block, skipped = chain.build(mempool.reap(10_000, 1 << 30), mempool.verified_hashes())
    assert skipped == [] and len(block.transactions) == len(txs)
