"""Mempool: admission against each sender's pending state without running
bodies, the queued pool, limits, reaping, recheck after commits, gossip,
and each signature verified once. Invalid cases are named test_invalid_*."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consensus.node.mempool import QUEUED, READY, Mempool, MempoolConfig
from ledger import crypto
from ledger.exceptions import (
    AlreadyKnown,
    BadNonce,
    BadSignature,
    CannotPay,
    CannotPayFee,
    FeeTooLow,
    MempoolFull,
    OverGasLimit,
    TxRejected,
    WrongChainId,
)
from ledger.features.contracts.bodies import Call
from ledger.params import Params
from ledger.registry import RULES
from ledger.state import PARAMS_KEY
from ledger.types import Transaction
from tests.consensus.node.memory_chain import (
    ADDRS,
    CHAIN_ID,
    FEE,
    KEYS,
    MAX_BLOCK_GAS,
    MemoryChain,
    transfer,
)
from tests.hypothesis_profiles import examples

RICH = 10**12


def make(
    balances: dict[int, int] | None = None, credits: int = 0, **limits: int
) -> tuple[MemoryChain, Mempool]:
    chain = MemoryChain(balances if balances is not None else {0: RICH, 1: RICH, 2: RICH}, credits)
    return chain, Mempool(chain, MempoolConfig(**limits))


def call(sender: int, nonce: int, gas: int) -> Transaction:
    """A call to an address with no contract: it would fail if it ran."""
    body = Call(ADDRS[4], "run", (), gas)
    return Transaction(CHAIN_ID, KEYS[sender].public_key, nonce, FEE, body).signed(KEYS[sender])


def forged(tx: Transaction) -> Transaction:
    """``tx`` with a signature that does not verify."""
    return replace(tx, signature=bytes(63) + b"\x01", _cache={})


def commit_reaped(chain: MemoryChain, mempool: Mempool, max_txs: int = 10_000) -> list[Transaction]:
    reaped = mempool.reap(max_txs, 8 * 1024 * 1024)
    block, skipped = chain.build(reaped, mempool.verified_hashes())
    assert skipped == []
    assert list(block.transactions) == reaped
    chain.commit(block, mempool.verified_hashes())
    mempool.update(block.transactions)
    return reaped


def commit_foreign(chain: MemoryChain, mempool: Mempool, *txs: Transaction) -> None:
    """Another proposer's block, with transactions this mempool may not hold."""
    block, skipped = chain.build(list(txs))
    assert skipped == []
    chain.commit(block)
    mempool.update(block.transactions)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The digests every ECDSA verification is asked about, in order."""
    seen: list[bytes] = []
    real = crypto.verify_digest

    def counting(public_key: bytes, digest: bytes, signature: bytes) -> bool:
        seen.append(digest)
        return real(public_key, digest, signature)

    monkeypatch.setattr(crypto, "verify_digest", counting)
    yield seen


# -- admission --------------------------------------------------------------------


def test_accepts_consecutive_nonces_and_reaps_them_in_order() -> None:
    chain, mempool = make()
    txs = [transfer(0, 1, 5, nonce) for nonce in range(3)] + [transfer(1, 0, 5, 0)]
    assert [mempool.add(tx) for tx in txs] == [READY] * 4
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
        (transfer(0, 1, 5, 65), BadNonce),  # beyond the gap limit of 64
        (transfer(3, 1, 5, 0), CannotPayFee),  # account 3 holds nothing
        (transfer(0, 1, RICH, 0), CannotPay),  # the value plus the fee
        (call(0, 0, MAX_BLOCK_GAS + 1), OverGasLimit),  # could never be in a block
        (call(0, 0, 1000), CannotPay),  # its gas limit in cpu credits: it holds none
        (forged(transfer(0, 1, 5, 0)), BadSignature),
        (forged(transfer(0, 1, 5, 3)), BadSignature),  # a queued one is verified too
    ],
)
def test_invalid_transactions_are_rejected_and_not_kept(
    tx: Transaction, error: type[TxRejected]
) -> None:
    _, mempool = make()
    with pytest.raises(error):
        mempool.add(tx)
    assert tx.hash not in mempool and len(mempool) == 0 and mempool.info().bytes == 0
    assert mempool.info().senders == 0


def test_invalid_stale_and_reused_nonces() -> None:
    chain, mempool = make()
    mempool.add(transfer(0, 1, 5, 0))
    commit_reaped(chain, mempool)
    with pytest.raises(BadNonce):
        mempool.add(transfer(0, 1, 6, 0))  # already consumed
    mempool.add(transfer(0, 1, 5, 1))
    with pytest.raises(BadNonce):
        mempool.add(transfer(0, 1, 99, 1))  # a different tx for a pending nonce: no replacement
    mempool.add(transfer(0, 1, 5, 3))
    with pytest.raises(BadNonce):
        mempool.add(transfer(0, 1, 99, 3))  # nor for a queued one


def test_invalid_pending_fees_count_against_the_balance() -> None:
    _, mempool = make({0: 2 * FEE + FEE // 2})
    mempool.add(transfer(0, 1, 0, 0))
    mempool.add(transfer(0, 1, 0, 1))
    with pytest.raises(CannotPayFee):
        mempool.add(transfer(0, 1, 0, 2))


def test_invalid_pending_transfers_count_against_the_balance() -> None:
    _, mempool = make({0: 1000})
    mempool.add(transfer(0, 1, 500 - FEE, 0))
    with pytest.raises(CannotPay):
        mempool.add(transfer(0, 1, 501, 1))  # the fee fits, the value does not
    mempool.add(transfer(0, 1, 500 - FEE, 1))  # spends everything
    with pytest.raises(CannotPayFee):
        mempool.add(transfer(0, 1, 0, 2))


def test_invalid_pending_credits_do_not_count() -> None:
    _, mempool = make({0: RICH})
    mempool.add(transfer(0, 1, 5 * FEE, 0))
    with pytest.raises(CannotPayFee):
        mempool.add(transfer(1, 2, FEE, 0))  # account 1 is funded only by a pending transfer


def test_calls_are_charged_their_gas_limit_and_never_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("a body ran at admission")

    monkeypatch.setitem(RULES.executors, Call.KIND, never)
    _, mempool = make({0: RICH}, credits=2 * MAX_BLOCK_GAS)
    mempool.add(call(0, 0, MAX_BLOCK_GAS))
    mempool.add(call(0, 1, MAX_BLOCK_GAS))
    with pytest.raises(CannotPay):
        mempool.add(call(0, 2, 1))  # two gas limits take every cpu credit
    assert len(mempool) == 2


def test_invalid_cheap_checks_refuse_before_any_signature_is_verified(
    verifications: list[bytes],
) -> None:
    chain, mempool = make()
    mempool.add(transfer(0, 1, 5, 0))
    commit_reaped(chain, mempool)
    kept = transfer(1, 0, 5, 0)
    mempool.add(kept)
    verifications.clear()
    cases = [
        (kept, AlreadyKnown),
        (forged(transfer(0, 1, 5, 0)), BadNonce),  # stale
        (forged(transfer(0, 1, 5, 99)), BadNonce),  # too far ahead
        (forged(transfer(3, 1, 5, 0)), CannotPayFee),  # no funds
        (forged(transfer(0, 1, RICH, 1)), CannotPay),
        (forged(transfer(0, 1, 5, 1, fee=FEE - 1)), FeeTooLow),
        (forged(transfer(0, 1, 5, 1, chain="other")), WrongChainId),
    ]
    for tx, error in cases:
        with pytest.raises(error):
            mempool.add(tx)
    assert verifications == []


def test_each_signature_is_verified_once_per_node(verifications: list[bytes]) -> None:
    chain, mempool = make()
    txs = [transfer(0, 1, 5, n) for n in range(4)] + [transfer(1, 2, 5, 1)]  # the last queued
    for tx in txs:
        mempool.add(tx)
    assert sorted(verifications) == sorted(tx.signing_digest() for tx in txs)
    verifications.clear()
    mempool.batch_for_gossip(0)  # gossip out
    commit_reaped(chain, mempool, max_txs=2)  # block execution and recheck
    mempool.add(transfer(1, 2, 5, 0))  # the gap fills: promotion
    verifications.remove(transfer(1, 2, 5, 0).signing_digest())
    commit_reaped(chain, mempool)
    assert verifications == []


# -- the queued pool ----------------------------------------------------------------


def test_future_nonces_are_queued_and_promoted_when_the_gap_fills() -> None:
    chain, mempool = make()
    txs = [transfer(0, 1, 5, n) for n in range(4)]
    assert mempool.add(txs[2]) == QUEUED and mempool.add(txs[1]) == QUEUED
    assert mempool.is_queued(txs[1].hash) and txs[1].hash in mempool
    assert mempool.reap(10, 1 << 20) == [] and mempool.batch_for_gossip(0).transactions == ()
    assert mempool.pending_nonce(ADDRS[0]) == 0 and mempool.info().queued == 2
    assert mempool.add(txs[0]) == READY
    assert mempool.reap(10, 1 << 20) == txs[:3] and mempool.info().queued == 0
    assert mempool.batch_for_gossip(0).transactions == tuple(txs[:3])
    assert mempool.add(txs[3]) == READY
    assert commit_reaped(chain, mempool) == txs


def test_queued_transactions_are_promoted_when_a_block_fills_the_gap() -> None:
    chain, mempool = make()
    first, second = transfer(0, 1, 5, 0), transfer(0, 1, 5, 1)
    assert mempool.add(second) == QUEUED  # the first went to another node
    commit_foreign(chain, mempool, first)
    assert mempool.reap(10, 1 << 20) == [second]
    assert commit_reaped(chain, mempool) == [second]


def test_invalid_nonce_beyond_the_gap_limit() -> None:
    _, mempool = make(max_queued_per_sender=3)
    mempool.add(transfer(0, 1, 5, 0))
    assert mempool.add(transfer(0, 1, 5, 4)) == QUEUED  # 3 ahead of the next nonce, 1
    with pytest.raises(BadNonce):
        mempool.add(transfer(0, 1, 5, 5))


def test_invalid_full_queue_refuses_future_nonces_but_takes_ready_ones() -> None:
    _, mempool = make(max_queued=2)
    mempool.add(transfer(0, 1, 5, 1))
    mempool.add(transfer(1, 0, 5, 1))
    with pytest.raises(MempoolFull):
        mempool.add(transfer(2, 0, 5, 1))
    assert mempool.add(transfer(2, 0, 5, 0)) == READY


def test_queued_transactions_expire() -> None:
    chain, mempool = make(queued_lifetime_blocks=2)
    waiting = transfer(0, 1, 5, 1)
    mempool.add(waiting)
    for _ in range(2):
        commit_foreign(chain, mempool)
    assert waiting.hash in mempool
    commit_foreign(chain, mempool)
    info = mempool.info()
    assert waiting.hash not in mempool and (info.size, info.queued, info.senders) == (0, 0, 0)


# -- limits -----------------------------------------------------------------------

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
    for third in (transfer(0, 1, 5, 2), transfer(0, 1, 5, 3)):  # ready, queued
        with pytest.raises(MempoolFull) as raised:
            mempool.add(third)
        assert raised.value.code == 20
        assert third.hash not in mempool
    info = mempool.info()
    assert info.size == len(filler) + 2 and info.bytes <= info.max_bytes


def test_invalid_config() -> None:
    with pytest.raises(ValueError):
        MempoolConfig(max_bytes=100)
    with pytest.raises(ValueError):
        MempoolConfig(queued_lifetime_blocks=0)


# -- after a commit -----------------------------------------------------------------


def test_update_drops_included_and_rechecks_the_rest() -> None:
    chain, mempool = make({0: 3 * FEE + 100, 1: RICH})
    ours = [transfer(0, 1, 0, n) for n in range(3)]
    other = transfer(1, 2, 5, 0)
    for tx in [*ours, other]:
        mempool.add(tx)
    # Another proposer's block spends sender 0's nonce 0 on a different transfer
    # that leaves less than one fee: ours[0] is stale, and the balance covers
    # neither ours[1] nor ours[2]: the highest nonce goes first.
    block, skipped = chain.build([transfer(0, 2, 100 + FEE + 5, 0), other])
    assert skipped == []
    chain.commit(block)
    dropped = mempool.update(block.transactions)
    assert [(tx, type(reason)) for tx, reason in dropped] == [
        (ours[0], BadNonce),
        (ours[2], TxRejected),
        (ours[1], TxRejected),
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


def test_update_drops_what_a_parameter_change_refuses() -> None:
    chain, mempool = make()
    ours = [transfer(0, 1, 5, n) for n in range(3)]
    for tx in [*ours, transfer(0, 1, 5, 4), transfer(1, 0, 5, 0, fee=2 * FEE)]:
        mempool.add(tx)
    # No transaction changes the parameters today; a future one would.
    chain.store.values[PARAMS_KEY] = Params(min_fee=2 * FEE).encode()
    dropped = mempool.update([])
    assert [(tx, type(reason)) for tx, reason in dropped] == [
        (ours[0], FeeTooLow),
        (ours[1], BadNonce),  # after a gap now
        (ours[2], BadNonce),
        (transfer(0, 1, 5, 4), FeeTooLow),
    ]
    assert mempool.transactions() == [transfer(1, 0, 5, 0, fee=2 * FEE)]


def test_reap_stops_at_the_first_transaction_that_does_not_fit() -> None:
    _, mempool = make()
    txs = [transfer(0, 1, 5, n) for n in range(5)]
    for tx in txs:
        mempool.add(tx)
    size = len(txs[0].encode())
    assert mempool.reap(3, 1 << 20) == txs[:3]
    assert mempool.reap(10, 2 * size + size // 2) == txs[:2]
    assert mempool.reap(0, 1 << 20) == []


# -- gossip -------------------------------------------------------------------------


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


def test_add_batch_reports_each_result_and_stops_at_a_bad_signature() -> None:
    admitted: list[Transaction] = []
    chain = MemoryChain({0: RICH, 1: RICH})
    mempool = Mempool(chain, on_admit=admitted.extend)
    good, later = transfer(0, 1, 5, 0), transfer(1, 0, 5, 0)
    results = mempool.add_batch([good, good, transfer(0, 1, 5, 66), forged(transfer(0, 1, 5, 1))])
    assert results[0] is None
    assert isinstance(results[1], AlreadyKnown) and isinstance(results[2], BadNonce)
    assert isinstance(results[3], BadSignature)
    second = mempool.add_batch([forged(transfer(0, 1, 5, 1)), later])
    assert len(second) == 1 and isinstance(second[0], BadSignature)
    assert later.hash not in mempool and admitted == [good]


# -- properties ---------------------------------------------------------------------

SENDERS = 4
ADD = st.tuples(
    st.just("add"),
    st.integers(0, SENDERS - 1),  # sender
    st.sampled_from([0, 0, 0, 0, 0, 1, 2, -1, 70]),  # nonce offset from the pending nonce
    st.sampled_from([FEE, FEE, FEE, 3 * FEE, FEE - 1]),
    st.sampled_from([1, 1, 10 * FEE, 10**15]),  # the last one is more than anyone holds
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


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, max_txs=st.integers(1, 8), extra_bytes=st.integers(0, 2000))
def test_property_limits_truthful_results_valid_reaps_nonce_order(
    ops: list[tuple[object, ...]], max_txs: int, extra_bytes: int
) -> None:
    # Sender 1 is poor (a few fees), sender 3 starts empty and lives on credits.
    chain = MemoryChain({0: RICH, 1: 4 * FEE, 2: RICH})
    config = MempoolConfig(
        max_txs=max_txs,
        max_bytes=64 * 1024 + extra_bytes,
        max_queued=3,
        max_queued_per_sender=4,
        queued_lifetime_blocks=3,
    )
    mempool = Mempool(chain, config)
    # A twin refreshed from the store rather than from the block's changes:
    # both ways must give the same mempool.
    twin = Mempool(chain, config)
    seen: list[Transaction] = []
    for op in ops:
        if op[0] == "add":
            _, sender, offset, fee, amount, recipient = op
            assert isinstance(sender, int) and isinstance(offset, int)
            nonce = max(0, mempool.pending_nonce(ADDRS[sender]) + offset)
            tx = transfer(sender, int(recipient), int(amount), nonce, fee=int(fee))  # type: ignore[call-overload]
            _add_and_check(mempool, tx, twin)
            seen.append(tx)
        elif op[0] == "readd" and seen:
            _add_and_check(mempool, seen[int(op[1]) % len(seen)], twin)  # type: ignore[call-overload]
        elif op[0] == "commit":
            _, max_block_txs, byte_budget = op
            reaped = mempool.reap(int(max_block_txs), 300 + int(byte_budget))  # type: ignore[call-overload]
            block, skipped = chain.build(reaped, mempool.verified_hashes())
            assert skipped == [], "a reaped transaction was not includable"
            changes = chain.commit(block, mempool.verified_hashes())
            mempool.update(block.transactions, changes)
            twin.update(block.transactions)
        elif op[0] == "foreign":
            sender = int(op[1])  # type: ignore[call-overload]
            block, _ = chain.build([transfer(sender, 0, 7777, chain.nonce(sender))])
            changes = chain.commit(block)
            mempool.update(block.transactions, changes)
            twin.update(block.transactions)
        _check_invariants(chain, mempool)
        assert twin.transactions() == mempool.transactions() and twin.info() == mempool.info()


def _add_and_check(mempool: Mempool, tx: Transaction, twin: Mempool) -> None:
    was_pending = tx.hash in mempool
    try:
        mempool.add(tx)
    except AlreadyKnown:
        assert was_pending and tx.hash in mempool
    except TxRejected:
        assert tx.hash not in mempool, "a rejected transaction was kept"
    else:
        assert tx.hash in mempool, "add reported success for a transaction it dropped"
    with contextlib.suppress(TxRejected):
        twin.add(tx)


def _check_invariants(chain: MemoryChain, mempool: Mempool) -> None:
    info = mempool.info()
    config = mempool.config
    txs = mempool.transactions()
    assert info.size == len(txs) <= config.max_txs
    assert info.bytes == sum(len(tx.encode()) for tx in txs) <= config.max_bytes
    queued = [tx for tx in txs if mempool.is_queued(tx.hash)]
    ready = txs[: len(txs) - len(queued)]
    assert queued == txs[len(ready) :] and info.queued == len(queued) <= config.max_queued
    next_nonce: dict[bytes, int] = {}
    for tx in ready:  # per sender: contiguous nonces from the committed one, in ready order
        expected = next_nonce.get(tx.sender_address, chain.nonce(ADDRS.index(tx.sender_address)))
        assert tx.nonce == expected
        next_nonce[tx.sender_address] = expected + 1
    for tx in queued:  # beyond a gap, within the gap limit
        expected = next_nonce.get(tx.sender_address, chain.nonce(ADDRS.index(tx.sender_address)))
        assert expected < tx.nonce <= expected + config.max_queued_per_sender
    spent: dict[bytes, int] = {}
    for tx in txs:  # what each sender's transactions may spend, its committed balance covers
        spent[tx.sender_address] = spent.get(tx.sender_address, 0) + tx.fee + tx.body.amount  # type: ignore[attr-defined]
    for address, amount in spent.items():
        assert amount <= chain.balance(ADDRS.index(address))
    assert set(mempool.verified_hashes()) == {tx.hash for tx in txs}
    block, skipped = chain.build(mempool.reap(10_000, 1 << 30), mempool.verified_hashes())
    assert skipped == [] and len(block.transactions) == len(ready)


def test_transactions_verified_in_a_validated_block_are_not_verified_again(
    verifications: list[bytes],
) -> None:
    chain, mempool = make()
    held = transfer(0, 1, 5, 0)
    mempool.add(held)
    seen = [held, transfer(1, 0, 5, 0), transfer(2, 0, 5, 0)]
    verifications.clear()
    mempool.remember_verified(seen, {tx.hash for tx in seen[:2]})  # the third did not verify
    assert mempool.remembered(seen[1].hash) is seen[1]
    assert mempool.remembered(held.hash) is None and mempool.remembered(seen[2].hash) is None
    mempool.add(seen[1])  # gossip brings it before the block is committed
    assert verifications == []
    commit_foreign(chain, mempool)  # a commit forgets what was remembered
    assert mempool.remembered(seen[1].hash) is None
