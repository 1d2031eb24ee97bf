"""The mempool: transactions waiting for a block, admitted without running them.

**Admission (CheckTx)** applies the ledger's own admission rules
(ledger.transition: ``check_envelope``, ``check_can_pay``,
``check_signature``, the same functions block execution uses) to the
sender's *pending state*: its committed account, less what the transactions
it already has here may spend. No body runs here: a contract call is
charged its whole gas limit as the worst case (``transaction_spends``), a
transfer its amount, every transaction its fee. Cheap checks come first
(already known, size, chain id, fee, kind, gas, nonce, room, balance) and
the signature last, so a transaction that fails on its fields or its
sender's account costs no verification. ``add`` either keeps the
transaction or raises a ``TxRejected`` subclass and keeps nothing.

**Per sender**, transactions are either

- *ready*: nonces ``n, n+1, ...`` from the sender's committed nonce ``n``,
  with no gap: what a block may include;
- *queued*: a nonce beyond the ready ones (a gap), at most
  ``max_queued_per_sender`` ahead of the next ready nonce, as geth's queued
  pool. When the gap fills (the missing nonce arrives), the queued ones
  that follow without a gap are *promoted* to ready. A queued transaction
  that waits more than ``queued_lifetime_blocks`` commits is dropped, and
  all queued ones together are at most ``max_queued``.

Pending credits (a transfer *to* the sender still waiting here) are not
counted: what the sender's transactions here may spend together must be
covered by its committed balances (as geth's pool does).

**Order.** Ready transactions keep the order they became ready in. A
transaction becomes ready only after its sender's previous nonce did, and
what every sender's transactions may spend together is covered, so any
prefix of that order is a valid block body as far as nonces and balances
go (``reap`` returns such a prefix; the block builder still skips what
does not fit, e.g. a call past the block gas limit, which then waits for
the next block).

**After a commit**, ``update`` refreshes the senders from the new
committed state (only those whose account the block changed, when the
caller passes the block's state changes): transactions whose nonce is used are gone (included, or
replaced by another transaction with that nonce), queued ones that the
new nonce reaches are promoted, and if the committed balances no longer
cover what is held, the sender's highest nonces go first. Signatures are
never verified again: every transaction here was verified once, on entry
(``verified_hashes`` hands that to block execution).

Bounded: ``max_txs`` transactions and ``max_bytes`` in total, at most
``max_txs_per_sender`` per sender and ``max_queued`` queued; a sender's
record lives only while it has transactions here. Nothing here does I/O or
reads a clock: the node persists what ``on_admit`` reports
(consensus.node.mempool_journal). It is meant to be called from one thread
(the node's event loop).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.exceptions import (
    AlreadyKnown,
    BadNonce,
    BadSignature,
    MalformedTransaction,
    MempoolFull,
    TxRejected,
)
from ledger.params import Params
from ledger.state import (
    ACCOUNT_PREFIX,
    Account,
    State,
    StateReader,
    account_key,
    decode_account,
    encode_account,
)
from ledger.transition import (
    ChainTip,
    check_can_pay,
    check_envelope,
    check_signature,
    read_params,
    transaction_spends,
)
from ledger.types import MAX_TX_SIZE, Transaction

READY: Final = "pending"
QUEUED: Final = "queued"
MAX_REMEMBERED: Final = 20_000
"""Most transactions from validated blocks kept between two commits (remember_verified)."""


class CommittedChain(Protocol):
    """What the mempool needs from the chain (``ledger.chain.Chain`` fits):
    its id, a reader of the latest committed state, and its tip."""

    @property
    def chain_id(self) -> str: ...

    @property
    def store(self) -> StateReader: ...

    @property
    def tip(self) -> ChainTip: ...


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    """Limits. A transaction that would exceed a count or byte limit is
    refused with MempoolFull; one too far ahead of its sender's next nonce
    with BadNonce."""

    max_txs: int = 5_000
    max_bytes: int = 32 * 1024 * 1024
    max_txs_per_sender: int = 1_000
    max_queued: int = 1_024
    max_queued_per_sender: int = 64  # also the gap limit: nonces up to next + this
    queued_lifetime_blocks: int = 120

    def __post_init__(self) -> None:
        if self.max_txs < 1 or self.max_bytes < MAX_TX_SIZE or self.max_txs_per_sender < 1:
            raise ValueError(
                f"mempool limits must allow at least one transaction of {MAX_TX_SIZE} bytes"
            )
        if self.max_queued < 0 or self.max_queued_per_sender < 0:
            raise ValueError("queued limits must not be negative")
        if self.queued_lifetime_blocks < 1:
            raise ValueError("queued_lifetime_blocks must be at least 1")


@dataclass(frozen=True, slots=True)
class MempoolInfo:
    """A snapshot of the mempool's size and limits."""

    size: int  # every transaction held, ready and queued
    bytes: int
    senders: int
    queued: int
    max_txs: int
    max_bytes: int
    next_cursor: int  # the gossip cursor a new peer would start after (see batch_for_gossip)


@dataclass(frozen=True, slots=True)
class GossipBatch:
    """Ready transactions that became ready after a cursor, and the cursor to pass next time."""

    transactions: tuple[Transaction, ...]
    cursor: int


class _Entry:
    """One transaction held here (a plain slotted class: one is made per
    admission, on the hot path)."""

    __slots__ = ("queued_at", "seq", "size", "spends", "tx")

    def __init__(self, tx: Transaction, size: int, spends: dict[str, int], queued_at: int) -> None:
        self.tx = tx
        self.size = size
        self.spends = spends
        self.seq = 0  # its place in the ready order, once ready
        self.queued_at = queued_at  # the tip height when it was queued


class _Sender:
    """One sender's pending state: its committed nonce and balances as of
    the last commit, what its transactions here may spend, and them."""

    __slots__ = ("balances", "nonce", "queued", "ready", "spent")

    def __init__(self, nonce: int, balances: dict[str, int]) -> None:
        self.nonce = nonce
        self.balances = balances
        self.spent: dict[str, int] = {}
        self.ready: list[_Entry] = []  # nonces nonce, nonce + 1, ...
        self.queued: dict[int, _Entry] = {}  # nonce -> entry, all beyond the ready ones

    @property
    def next_nonce(self) -> int:
        return self.nonce + len(self.ready)

    def available(self, spends: dict[str, int]) -> dict[str, int]:
        """What is left of the committed balances of the assets in ``spends``."""
        return {asset: self.balances.get(asset, 0) - self.spent.get(asset, 0) for asset in spends}

    def count(self) -> int:
        return len(self.ready) + len(self.queued)


class _PendingAccounts:
    """A StateReader: the committed state with the senders' pending debits
    (Mempool.pending_state)."""

    __slots__ = ("_committed", "_senders")

    def __init__(self, committed: StateReader, senders: Mapping[bytes, _Sender]) -> None:
        self._committed = committed
        self._senders = senders

    def get_state(self, key: bytes) -> bytes | None:
        if key.startswith(ACCOUNT_PREFIX):
            sender = self._senders.get(key[len(ACCOUNT_PREFIX) :])
            if sender is not None:
                return encode_account(_pending_account(sender))
        return self._committed.get_state(key)


def _pending_account(sender: _Sender) -> Account:
    balances = dict(sender.balances)
    for asset, amount in sender.spent.items():
        balances[asset] = balances.get(asset, 0) - amount
    kept = tuple(sorted((asset, amount) for asset, amount in balances.items() if amount > 0))
    return Account(sender.next_nonce, kept)


class Mempool:
    """Pending transactions, admitted against each sender's pending state."""

    def __init__(
        self,
        chain: CommittedChain,
        config: MempoolConfig | None = None,
        on_admit: Callable[[Sequence[Transaction]], None] | None = None,
    ) -> None:
        """``on_admit`` hears of every transaction kept (after ``add``, once
        per ``add_batch``), e.g. to persist it."""
        self._chain = chain
        self.config = config or MempoolConfig()
        self._on_admit = on_admit
        self._entries: dict[bytes, _Entry] = {}  # every held transaction, by hash
        self._ready: dict[bytes, _Entry] = {}  # the ready ones, in ready order
        self._order: list[tuple[int, bytes]] = []  # (seq, hash) ascending; may hold removed ones
        self._senders: dict[bytes, _Sender] = {}
        self._bytes = 0
        self._queued = 0
        self._next_seq = 1
        self._params: Params = read_params(State(chain.store))
        # Verified transactions of blocks validated since the last commit that
        # are not held here: gossip that brings one later neither decodes
        # nor verifies it again.
        self._remembered: dict[bytes, Transaction] = {}

    # -- entering -------------------------------------------------------------
    def add(self, tx: Transaction) -> str:
        """Check ``tx`` and keep it; returns READY ("pending") or QUEUED.

        Raises (keeping nothing) AlreadyKnown, MalformedTransaction (over the
        size limit), WrongChainId, FeeTooLow, TxRejected (a kind that is not
        a transaction of its own), OverGasLimit (more gas than a block may
        use), BadNonce (used, already pending, or too far ahead), MempoolFull,
        CannotPayFee, CannotPay (value plus fee, counting what the sender's
        pending transactions may spend), BadSignature.
        """
        status = self._admit(tx)
        if self._on_admit is not None:
            self._on_admit((tx,))
        return status

    def add_batch(self, txs: Iterable[Transaction]) -> list[TxRejected | None]:
        """``add`` each transaction in order (a gossip batch); one result per
        transaction: None if kept, else the rejection. A bad signature ends
        the batch (its sender relayed a transaction no honest node relays):
        its rejection is the last result, and the rest are not looked at."""
        results: list[TxRejected | None] = []
        kept: list[Transaction] = []
        for tx in txs:
            try:
                self._admit(tx)
            except BadSignature as rejected:
                results.append(rejected)
                break
            except TxRejected as rejected:
                results.append(rejected)
            else:
                results.append(None)
                kept.append(tx)
        if kept and self._on_admit is not None:
            self._on_admit(kept)
        return results

    def _admit(self, tx: Transaction) -> str:
        tx_hash = tx.hash
        if tx_hash in self._entries:
            raise AlreadyKnown(f"transaction {tx_hash.hex()} is already pending")
        size = len(tx.encode())
        if size > MAX_TX_SIZE:
            raise MalformedTransaction(f"transaction of {size} bytes exceeds {MAX_TX_SIZE}")
        check_envelope(tx, self._chain.chain_id, self._params)
        address = tx.sender_address
        sender = self._senders.get(address)
        if sender is None:  # registered only once a transaction of it is kept
            sender = self._read_sender(address)
        queued = self._check_nonce(sender, tx)
        self._ensure_room(sender, size, queued)
        spends = transaction_spends(tx)
        check_can_pay(tx, spends, sender.available(spends))
        if tx_hash not in self._remembered:
            check_signature(tx)
        self._senders[address] = sender
        self._keep(sender, _Entry(tx, size, spends, self._chain.tip.height), queued)
        return QUEUED if queued else READY

    def _read_sender(self, address: bytes) -> _Sender:
        raw = self._chain.store.get_state(account_key(address))
        if raw is None:
            return _Sender(0, {})
        account = decode_account(raw)
        return _Sender(account.nonce, dict(account.balances))

    def _check_nonce(self, sender: _Sender, tx: Transaction) -> bool:
        """True if ``tx`` is to be queued, False if ready. Raises BadNonce."""
        nonce, expected = tx.nonce, sender.next_nonce
        if nonce == expected:
            return False
        if nonce < expected:
            if nonce < sender.nonce:
                raise BadNonce(f"nonce {nonce} but the account's next nonce is {sender.nonce}")
            raise BadNonce(
                f"nonce {nonce} is taken by a pending transaction; the next nonce is {expected}"
            )
        gap_limit = self.config.max_queued_per_sender
        if nonce - expected > gap_limit:
            raise BadNonce(
                f"nonce {nonce} is more than {gap_limit} ahead of the next nonce {expected}"
            )
        if nonce in sender.queued:
            raise BadNonce(f"nonce {nonce} is taken by a queued transaction")
        return True

    def _ensure_room(self, sender: _Sender, size: int, queued: bool) -> None:
        limits = self.config
        if len(self._entries) >= limits.max_txs:
            raise MempoolFull(f"mempool is full ({limits.max_txs} transactions); retry later")
        if self._bytes + size > limits.max_bytes:
            raise MempoolFull(f"mempool is full ({limits.max_bytes} bytes); retry later")
        if sender.count() >= limits.max_txs_per_sender:
            raise MempoolFull(
                f"sender already has {limits.max_txs_per_sender} pending transactions; "
                "retry after some are committed"
            )
        if queued and self._queued >= limits.max_queued:
            raise MempoolFull(
                f"the queue of future-nonce transactions is full ({limits.max_queued}); "
                "send the missing nonces first"
            )

    def _keep(self, sender: _Sender, entry: _Entry, queued: bool) -> None:
        self._entries[entry.tx.hash] = entry
        self._bytes += entry.size
        spent = sender.spent
        for asset, amount in entry.spends.items():
            spent[asset] = spent.get(asset, 0) + amount
        if queued:
            sender.queued[entry.tx.nonce] = entry
            self._queued += 1
            return
        sender.ready.append(entry)
        self._make_ready(entry)
        self._promote(sender)

    def _make_ready(self, entry: _Entry) -> None:
        entry.seq = self._next_seq
        self._next_seq += 1
        self._ready[entry.tx.hash] = entry
        self._order.append((entry.seq, entry.tx.hash))

    def _promote(self, sender: _Sender) -> None:
        """Move the queued transactions that now follow the ready ones to ready."""
        while sender.queued:
            entry = sender.queued.pop(sender.next_nonce, None)
            if entry is None:
                return
            self._queued -= 1
            sender.ready.append(entry)
            self._make_ready(entry)

    def _forget(self, address: bytes, sender: _Sender, entry: _Entry) -> None:
        """Drop ``entry`` from the tables (the caller takes it off the sender's lists)."""
        del self._entries[entry.tx.hash]
        self._ready.pop(entry.tx.hash, None)
        self._bytes -= entry.size
        spent = sender.spent
        for asset, amount in entry.spends.items():
            left = spent[asset] - amount
            if left:
                spent[asset] = left
            else:
                del spent[asset]
        if not sender.count():
            self._senders.pop(address, None)

    # -- leaving --------------------------------------------------------------
    def reap(self, max_txs: int, max_bytes: int) -> list[Transaction]:
        """Ready transactions for a block: the longest prefix of the ready
        order within ``max_txs`` and ``max_bytes`` (it stops at the first
        that does not fit, since skipping one could leave a later one of its
        sender with a gap). The transactions stay here until ``update``."""
        out: list[Transaction] = []
        total = 0
        for entry in self._ready.values():
            if len(out) >= max_txs or total + entry.size > max_bytes:
                break
            out.append(entry.tx)
            total += entry.size
        return out

    def update(
        self,
        committed: Iterable[Transaction],
        changes: Mapping[bytes, bytes | None] | None = None,
    ) -> list[tuple[Transaction, TxRejected]]:
        """After a block is committed: refresh the senders from the new
        committed state (see the module docstring). ``changes``, the block's
        state changes if the caller has them, says which accounts changed:
        only those senders (and those with queued transactions, which may
        expire) are refreshed, from the new values, without reading the
        store. Returns the transactions dropped for a reason other than
        being included, with the reason."""
        included = {tx.hash for tx in committed}
        self._remembered.clear()
        params = read_params(State(self._chain.store))
        params_changed = params != self._params
        self._params = params
        height = self._chain.tip.height
        dropped: list[tuple[Transaction, TxRejected]] = []
        if changes is None or params_changed:
            refresh = list(self._senders)
        else:
            refresh = [
                address
                for address, sender in self._senders.items()
                if sender.queued or account_key(address) in changes
            ]
        for address in refresh:
            fresh = self._changed_sender(address, changes)
            self._refresh(address, fresh, params_changed, height, included, dropped)
        self._order = [(entry.seq, tx_hash) for tx_hash, entry in self._ready.items()]
        return dropped

    def _changed_sender(
        self, address: bytes, changes: Mapping[bytes, bytes | None] | None
    ) -> _Sender:
        """The sender's committed account after the block, from ``changes`` if there."""
        key = account_key(address)
        if changes is None or key not in changes:
            return self._read_sender(address)
        raw = changes[key]
        if raw is None:
            return _Sender(0, {})
        account = decode_account(raw)
        return _Sender(account.nonce, dict(account.balances))

    def _refresh(
        self,
        address: bytes,
        fresh: _Sender,
        params_changed: bool,
        height: int,
        included: set[bytes],
        dropped: list[tuple[Transaction, TxRejected]],
    ) -> None:
        sender = self._senders[address]
        sender.nonce, sender.balances = fresh.nonce, fresh.balances
        used = 0
        for entry in sender.ready:
            if entry.tx.nonce >= sender.nonce:
                break
            used += 1
            if entry.tx.hash not in included:
                dropped.append((entry.tx, BadNonce(f"nonce {entry.tx.nonce} was used")))
        removed, sender.ready = sender.ready[:used], sender.ready[used:]
        for nonce in [n for n in sender.queued if n < sender.nonce]:
            entry = sender.queued.pop(nonce)
            removed.append(entry)
            self._queued -= 1
            dropped.append((entry.tx, BadNonce(f"nonce {nonce} was used")))
        lifetime = self.config.queued_lifetime_blocks
        for nonce in [n for n, e in sender.queued.items() if height - e.queued_at > lifetime]:
            entry = sender.queued.pop(nonce)
            removed.append(entry)
            self._queued -= 1
            dropped.append(
                (entry.tx, BadNonce(f"nonce {nonce} waited {lifetime} blocks for a gap"))
            )
        if params_changed:
            removed.extend(self._drop_failing_envelopes(sender, dropped))
        for entry in removed:
            self._forget(address, sender, entry)
        if address not in self._senders:
            return
        self._promote(sender)
        self._drop_unaffordable(address, sender, dropped)

    def _drop_failing_envelopes(
        self, sender: _Sender, dropped: list[tuple[Transaction, TxRejected]]
    ) -> list[_Entry]:
        """After a parameter change: the sender's transactions that no longer
        pass ``check_envelope`` (a higher minimum fee, a lower gas limit), and
        the ready ones after the first of them (they would have a gap)."""
        removed: list[_Entry] = []
        for index, entry in enumerate(sender.ready):
            try:
                check_envelope(entry.tx, self._chain.chain_id, self._params)
            except TxRejected as rejected:
                dropped.append((entry.tx, rejected))
                for later in sender.ready[index + 1 :]:
                    dropped.append((later.tx, BadNonce(f"nonce {later.tx.nonce - 1} was dropped")))
                removed.extend(sender.ready[index:])
                sender.ready = sender.ready[:index]
                break
        for nonce, entry in list(sender.queued.items()):
            try:
                check_envelope(entry.tx, self._chain.chain_id, self._params)
            except TxRejected as rejected:
                dropped.append((entry.tx, rejected))
                del sender.queued[nonce]
                self._queued -= 1
                removed.append(entry)
        return removed

    def _drop_unaffordable(
        self, address: bytes, sender: _Sender, dropped: list[tuple[Transaction, TxRejected]]
    ) -> None:
        """While the committed balances do not cover what the sender's
        transactions may spend, drop its highest nonce (queued ones first)."""
        while address in self._senders and any(
            sender.balances.get(asset, 0) < amount for asset, amount in sender.spent.items()
        ):
            if sender.queued:
                entry = sender.queued.pop(max(sender.queued))
                self._queued -= 1
            else:
                entry = sender.ready.pop()
            dropped.append((entry.tx, TxRejected("the sender's balance no longer covers it")))
            self._forget(address, sender, entry)

    def remember_verified(self, txs: Sequence[Transaction], verified: Collection[bytes]) -> None:
        """Keep the transactions of a block this node validated whose hashes
        are in ``verified`` (their signatures verify) and that are not held
        here, until the next ``update``: if gossip brings one meanwhile, it
        is taken from here (``remembered``) and its signature is not verified
        again. At most MAX_REMEMBERED are kept."""
        for tx in txs:
            tx_hash = tx.hash
            if tx_hash in verified and tx_hash not in self._entries:
                if len(self._remembered) >= MAX_REMEMBERED:
                    return
                self._remembered[tx_hash] = tx

    def remembered(self, tx_hash: bytes) -> Transaction | None:
        """A transaction kept by ``remember_verified``, already decoded and verified."""
        return self._remembered.get(tx_hash)

    # -- gossip ---------------------------------------------------------------
    def batch_for_gossip(
        self, cursor: int = 0, max_txs: int = 256, max_bytes: int = 1024 * 1024
    ) -> GossipBatch:
        """Ready transactions that became ready after ``cursor`` (0 = from the
        start), in ready order, at most ``max_txs`` and ``max_bytes`` (at
        least one if any is ready). Pass the returned cursor next time; a
        reactor keeps one cursor per peer. Queued transactions are not
        gossiped until they are promoted (as in geth)."""
        start = bisect.bisect_right(self._order, cursor, key=lambda item: item[0])
        out: list[Transaction] = []
        total = 0
        last = cursor
        for seq, tx_hash in self._order[start:]:
            entry = self._ready.get(tx_hash)
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
    def verified_hashes(self) -> Collection[bytes]:
        """Hashes of the transactions held here, all signature-checked on
        entry: pass as ``verified`` to build_block / execute_block. A live
        view, not a copy."""
        return self._entries.keys()

    def get(self, tx_hash: bytes) -> Transaction | None:
        entry = self._entries.get(tx_hash)
        return entry.tx if entry is not None else None

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def is_queued(self, tx_hash: bytes) -> bool:
        """Is this transaction held, but waiting for a gap to fill?"""
        return tx_hash in self._entries and tx_hash not in self._ready

    def pending_nonce(self, address: bytes) -> int:
        """The next nonce this mempool would take as ready from ``address``:
        the committed nonce plus its ready transactions."""
        sender = self._senders.get(address)
        if sender is None:
            sender = self._read_sender(address)
        return sender.next_nonce

    def pending_state(self) -> StateReader:
        """What CheckTx admits against: the committed state, except that the
        account of each sender with transactions here shows its next nonce
        (counting its ready ones) and its balances less what they may spend
        (the worst case: a call's whole gas limit). Bodies do not run here,
        so nothing else differs from the committed state: not a transfer's
        credit to its recipient, nor an asset a pending transaction issues.
        A view over this mempool: read it at once."""
        return _PendingAccounts(self._chain.store, self._senders)

    def transactions(self) -> list[Transaction]:
        """Every transaction held: the ready ones in ready order, then the
        queued ones by sender and nonce (an order ``add`` can take them in again)."""
        queued = sorted(
            (address, nonce, entry.tx)
            for address, sender in self._senders.items()
            for nonce, entry in sender.queued.items()
        )
        return [entry.tx for entry in self._ready.values()] + [tx for _, _, tx in queued]

    def info(self) -> MempoolInfo:
        return MempoolInfo(
            size=len(self._entries),
            bytes=self._bytes,
            senders=len(self._senders),
            queued=self._queued,
            max_txs=self.config.max_txs,
            max_bytes=self.config.max_bytes,
            next_cursor=self._next_seq - 1,
        )
