"""The mempool: transactions waiting for a block, checked against the latest state.

A transaction enters only if the ledger's own rules accept it on top of the
committed state *plus every transaction already pending* (CheckTx with a
check state, as cometbft's applications keep one): the mempool holds a
``State`` overlay on the committed state and applies each accepted
transaction to it with ``ledger.transition.apply_transaction``. So:

- nonces: a sender's next acceptable nonce is its committed nonce plus its
  pending count. Gaps are rejected with ``BadNonce`` (the client submits in
  order); a different transaction reusing a pending nonce is rejected with
  ``BadNonce`` too (there is no replace-by-fee);
- balances: pending fees and pending transfers of the same sender (and
  pending credits from earlier arrivals) are accounted for, exactly as the
  block will account for them;
- the signature is verified once, by the ledger check on entry; the hashes
  of pending transactions are handed to block execution
  (``verified_hashes``) so a block does not verify them again.

Order is arrival order. Every pending transaction was checked against the
state left by all earlier arrivals, so any prefix of the arrival order is a
valid block body (``reap`` returns such a prefix). After each commit,
``update`` drops the included transactions and re-applies the rest in
arrival order to the new state, dropping those that no longer pass (and,
through the nonce rule, the same sender's later ones).

``add`` either keeps the transaction or raises a ``TxRejected`` subclass
(``MempoolFull`` and ``AlreadyKnown`` included); it never reports success
for a transaction it did not keep. Nothing here does I/O or reads a clock;
it is meant to be called from one thread (the node's event loop).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ledger.context import BlockContext
from ledger.exceptions import AlreadyKnown, MalformedTransaction, MempoolFull, TxRejected
from ledger.state import State, StateReader
from ledger.transition import ChainTip, apply_transaction, read_params
from ledger.types import MAX_TX_SIZE, Transaction


class CommittedChain(Protocol):
    """What the mempool needs from the chain (``ledger.chain.Chain`` fits):
    its id and a reader of the latest committed state."""

    @property
    def chain_id(self) -> str: ...

    @property
    def store(self) -> StateReader: ...

    @property
    def tip(self) -> ChainTip: ...


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    """Limits. A transaction that would exceed any of them is refused with MempoolFull."""

    max_txs: int = 5_000
    max_bytes: int = 32 * 1024 * 1024
    max_txs_per_sender: int = 1_000

    def __post_init__(self) -> None:
        if self.max_txs < 1 or self.max_bytes < MAX_TX_SIZE or self.max_txs_per_sender < 1:
            raise ValueError(
                f"mempool limits must allow at least one transaction of {MAX_TX_SIZE} bytes"
            )


@dataclass(frozen=True, slots=True)
class MempoolInfo:
    """A snapshot of the mempool's size and limits."""

    size: int
    bytes: int
    senders: int
    max_txs: int
    max_bytes: int
    next_cursor: int  # the gossip cursor a new peer would start after (see batch_for_gossip)


@dataclass(frozen=True, slots=True)
class GossipBatch:
    """Transactions that arrived after a cursor, and the cursor to pass next time."""

    transactions: tuple[Transaction, ...]
    cursor: int


@dataclass(frozen=True, slots=True)
class _Entry:
    tx: Transaction
    size: int
    seq: int


class Mempool:
    """Pending transactions, checked against the committed state plus earlier arrivals."""

    def __init__(self, chain: CommittedChain, config: MempoolConfig | None = None) -> None:
        self._chain = chain
        self.config = config or MempoolConfig()
        self._entries: dict[bytes, _Entry] = {}  # by hash, in arrival order
        self._order: list[tuple[int, bytes]] = []  # (seq, hash) ascending; may hold removed ones
        self._per_sender: dict[bytes, int] = {}
        self._bytes = 0
        self._next_seq = 1
        self._context, self._check_state = self._fresh_check_state()

    # -- entering -------------------------------------------------------------
    def add(self, tx: Transaction) -> None:
        """Check ``tx`` and keep it, or raise a TxRejected subclass and keep nothing.

        Raises AlreadyKnown (same hash pending), MalformedTransaction (over
        the size limit), MempoolFull (count, byte or per-sender limit), and
        whatever the ledger's CheckTx raises on top of the pending state:
        WrongChainId, BadSignature, BadNonce (stale, reused or gapped nonce),
        FeeTooLow, CannotPayFee, TxRejected.
        """
        tx_hash = tx.hash
        if tx_hash in self._entries:
            raise AlreadyKnown(f"transaction {tx_hash.hex()} is already pending")
        size = len(tx.encode())
        if size > MAX_TX_SIZE:
            raise MalformedTransaction(f"transaction of {size} bytes exceeds {MAX_TX_SIZE}")
        self._ensure_room(tx.sender_address, size)
        # The ledger's own check (chain id, signature, nonce, fee, balance) on the
        # state after every pending transaction; on success the check state
        # advances by this transaction. It raises before changing anything.
        apply_transaction(self._check_state, tx, self._context, signature_checked=False)
        self._keep(tx, size)

    def add_batch(self, txs: Iterable[Transaction]) -> list[TxRejected | None]:
        """``add`` each transaction in order (a gossip batch); one result per
        transaction: None if kept, else the rejection."""
        results: list[TxRejected | None] = []
        for tx in txs:
            try:
                self.add(tx)
            except TxRejected as rejected:
                results.append(rejected)
            else:
                results.append(None)
        return results

    def _ensure_room(self, sender: bytes, size: int) -> None:
        limits = self.config
        if len(self._entries) >= limits.max_txs:
            raise MempoolFull(f"mempool is full ({limits.max_txs} transactions); retry later")
        if self._bytes + size > limits.max_bytes:
            raise MempoolFull(f"mempool is full ({limits.max_bytes} bytes); retry later")
        if self._per_sender.get(sender, 0) >= limits.max_txs_per_sender:
            raise MempoolFull(
                f"sender already has {limits.max_txs_per_sender} pending transactions; "
                "retry after some are committed"
            )

    def _keep(self, tx: Transaction, size: int) -> None:
        seq = self._next_seq
        self._next_seq += 1
        self._entries[tx.hash] = _Entry(tx, size, seq)
        self._order.append((seq, tx.hash))
        sender = tx.sender_address
        self._per_sender[sender] = self._per_sender.get(sender, 0) + 1
        self._bytes += size

    def _remove(self, tx_hash: bytes) -> _Entry:
        entry = self._entries.pop(tx_hash)
        sender = entry.tx.sender_address
        remaining = self._per_sender[sender] - 1
        if remaining:
            self._per_sender[sender] = remaining
        else:
            del self._per_sender[sender]
        self._bytes -= entry.size
        return entry

    # -- leaving --------------------------------------------------------------
    def reap(self, max_txs: int, max_bytes: int) -> list[Transaction]:
        """Pending transactions for a block: the longest prefix of the arrival
        order within ``max_txs`` and ``max_bytes`` (it stops at the first
        transaction that does not fit, since skipping one could invalidate
        later ones). Each sender's transactions come in nonce order. The
        transactions stay pending until ``update``."""
        out: list[Transaction] = []
        total = 0
        for entry in self._entries.values():
            if len(out) >= max_txs or total + entry.size > max_bytes:
                break
            out.append(entry.tx)
            total += entry.size
        return out

    def update(self, committed: Iterable[Transaction]) -> list[tuple[Transaction, TxRejected]]:
        """After a block is committed: drop its transactions, then re-check the
        rest in arrival order against the new committed state (no signature
        is verified again) and drop those that no longer pass. Returns the
        dropped-by-recheck transactions with their reasons."""
        for tx in committed:
            if tx.hash in self._entries:
                self._remove(tx.hash)
        self._context, self._check_state = self._fresh_check_state()
        dropped: list[tuple[Transaction, TxRejected]] = []
        for tx_hash, entry in list(self._entries.items()):
            try:
                apply_transaction(self._check_state, entry.tx, self._context, True)
            except TxRejected as rejected:
                self._remove(tx_hash)
                dropped.append((entry.tx, rejected))
        self._order = [(e.seq, h) for h, e in self._entries.items()]
        return dropped

    def _fresh_check_state(self) -> tuple[BlockContext, State]:
        """A state overlay on the committed state, and the context of the next
        block as far as it is known (its proposer and time are not: fees are
        only paid at the end of a block, and bodies see the tip's time)."""
        state = State(self._chain.store)
        tip = self._chain.tip
        context = BlockContext(
            self._chain.chain_id, tip.height + 1, tip.time_ms, bytes(20), read_params(state)
        )
        return context, state

    # -- gossip ---------------------------------------------------------------
    def batch_for_gossip(
        self, cursor: int = 0, max_txs: int = 256, max_bytes: int = 1024 * 1024
    ) -> GossipBatch:
        """Pending transactions that arrived after ``cursor`` (0 = from the
        start), in arrival order, at most ``max_txs`` and ``max_bytes`` (at
        least one if any is pending). Pass the returned cursor next time; a
        reactor keeps one cursor per peer. Transactions removed meanwhile are
        skipped."""
        start = bisect.bisect_right(self._order, cursor, key=lambda item: item[0])
        out: list[Transaction] = []
        total = 0
        last = cursor
        for seq, tx_hash in self._order[start:]:
            entry = self._entries.get(tx_hash)
            if entry is None or entry.seq != seq:
                last = seq
                continue
            if out and (len(out) >= max_txs or total + entry.size > max_bytes):
                break
            out.append(entry.tx)
            total += entry.size
            last = seq
        return GossipBatch(tuple(out), last)

    # -- queries --------------------------------------------------------------
    def verified_hashes(self) -> frozenset[bytes]:
        """Hashes of the pending transactions, all signature-checked here:
        pass as ``verified`` to build_block / execute_block."""
        return frozenset(self._entries)

    def get(self, tx_hash: bytes) -> Transaction | None:
        entry = self._entries.get(tx_hash)
        return entry.tx if entry is not None else None

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def pending_nonce(self, address: bytes) -> int:
        """The next nonce this mempool would accept from ``address``."""
        return self._check_state.get_account(address).nonce

    def transactions(self) -> list[Transaction]:
        """Every pending transaction in arrival order."""
        return [entry.tx for entry in self._entries.values()]

    def info(self) -> MempoolInfo:
        return MempoolInfo(
            size=len(self._entries),
            bytes=self._bytes,
            senders=len(self._per_sender),
            max_txs=self.config.max_txs,
            max_bytes=self.config.max_bytes,
            next_cursor=self._next_seq - 1,
        )
