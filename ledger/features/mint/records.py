"""The mint's state records (prefix ``M``), each a frozen dataclass with its
canonical value, and the functions that read and write them.

    Mp              -> the settings (config.py)
    Mm              -> [active keyset epoch, newest keyset epoch]
    Mk || epoch(4)  -> a keyset: [status, key set name, keyset id, [public key per
                       denomination], created_at, expires_at, key set epoch seen]
    Ma              -> the books: [value issued, value redeemed, value in flight]
    Mn              -> the next issuance request id and commitment id
    Mq              -> the pending issuance request ids, oldest first
    Mi || id(8)     -> an issuance request (IssueRequest.to_value)
    Md || height(8) -> issuance request ids with a deadline at that height (expiry,
                       or the end of a round's response time)
    Mr              -> the pending redemption commitment ids, oldest first
    Mc || id(8)     -> a redemption commitment (Commitment.to_value)
    Me || height(8) -> commitment ids whose reveal time ends before that height
    Mv              -> the locked notes (Y) not yet settled, oldest first
    Ml || Y(33)     -> a note's lock, or its spent mark (Lock.to_value)
    Ms, Mw          -> commitment ids and notes (Y) to look at again at the end of
                       this block (written by reveals and evaluations, emptied by
                       the end-of-block step)
    Mg, Mu          -> request ids whose responses are all in, and notes (Y) with
                       new evaluation shares: aggregated and verified at the end of
                       this block (so a transaction's check in the mempool stays cheap)
    Mf || address   -> [bad shares, missed rounds] recorded against a validator

The end-of-block steps touch only what is due: the requests and
commitments whose deadline is this height (``Md``, ``Me``), and what this
block's transactions changed (``Ms``, ``Mw``); the pending lists are read
whole only by the key holders (off chain), to count against the caps, and
when a key set is reshared (its requests restart their rounds).

The reserve is the account at ``RESERVE_ADDRESS``, derived from a domain
string, so no key signs for it: only the rules in this feature move its
coin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.address import derive_address
from ledger.fields import ensure
from ledger.state import State
from ledger.types import Event

from .bodies import NoteInput, RedeemTarget

RESERVE_ADDRESS: Final = derive_address("ledger/mint/reserve/v1", b"")
META_KEY: Final = b"Mm"
BOOKS_KEY: Final = b"Ma"
NEXT_IDS_KEY: Final = b"Mn"
PENDING_ISSUES_KEY: Final = b"Mq"
PENDING_COMMITMENTS_KEY: Final = b"Mr"
PENDING_LOCKS_KEY: Final = b"Mv"
RECHECK_COMMITMENTS_KEY: Final = b"Ms"
RECHECK_LOCKS_KEY: Final = b"Mw"
TO_AGGREGATE_KEY: Final = b"Mg"
TO_VERIFY_KEY: Final = b"Mu"
ISSUE_DEADLINE_PREFIX: Final = b"Md"
REVEAL_DEADLINE_PREFIX: Final = b"Me"
KEYSET_PREFIX: Final = b"Mk"
ISSUE_PREFIX: Final = b"Mi"
COMMITMENT_PREFIX: Final = b"Mc"
LOCK_PREFIX: Final = b"Ml"
FAULT_PREFIX: Final = b"Mf"

# Bounds on what users can make the validators and every node carry.
MAX_PENDING_ISSUES: Final = 2048
MAX_PENDING_COMMITMENTS: Final = 2048
MAX_PENDING_LOCKS: Final = 8192
MAX_CLAIMS_PER_NOTE: Final = 8

KEYSET_PENDING: Final = 0  # its keys are being generated
KEYSET_ACTIVE: Final = 1  # issues and redeems
KEYSET_RETIRING: Final = 2  # redeems until expires_at
KEYSET_EXPIRED: Final = 3  # neither; its key set is retired
KEYSET_STATUS: Final = {0: "pending", 1: "active", 2: "retiring", 3: "expired"}

ISSUING: Final = 0
ISSUED: Final = 1
REFUNDED: Final = 2
ISSUE_STATUS: Final = {0: "issuing", 1: "issued", 2: "refunded"}
ORIGIN_DEPOSIT: Final = 0
ORIGIN_SWAP: Final = 1

COMMITTED: Final = 0
REVEALED: Final = 1
SETTLED: Final = 2
EXPIRED: Final = 3
COMMITMENT_STATUS: Final = {0: "committed", 1: "revealed", 2: "settled", 3: "expired"}

LOCKED: Final = 0
SPENT: Final = 1  # redeemed by a commitment
BURNED: Final = 2  # evaluated, and no claim presented the right C
LOCK_STATUS: Final = {0: "locked", 1: "spent", 2: "burned"}


def mint_event(kind: str, attributes: tuple[tuple[str, Any], ...]) -> Event:
    """An event with its attributes in key order, as every event lists them."""
    return Event(kind, tuple(sorted(attributes, key=lambda pair: pair[0].encode())))


def _id_key(prefix: bytes, number: int) -> bytes:
    return prefix + number.to_bytes(8, "big")


def _get(state: State, key: bytes) -> Any:
    raw = state.get_raw(key)
    return None if raw is None else codec.decode(raw)


def _put(state: State, key: bytes, value: Any) -> None:
    state.set_raw(key, codec.encode(value))


# -- keysets ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainKeyset:
    """A keyset as the chain records it (its public keys once generated)."""

    epoch: int
    status: int
    key_set: str  # the threshold key set holding its keys
    keyset_id: str  # NUT-02 V2 id ("" while pending)
    public_keys: tuple[bytes, ...]  # per denomination 2^0, 2^1, ... ( () while pending)
    created_at: int
    expires_at: int = 0  # set when it starts retiring
    holders_epoch: int = 0  # the key set's epoch when the mint last looked

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.status,
            self.key_set,
            self.keyset_id,
            self.public_keys,
            self.created_at,
            self.expires_at,
            self.holders_epoch,
        )

    def key_index(self, amount: int) -> int | None:
        """The index of amount's key (log2), or None if the keyset has none."""
        index = amount.bit_length() - 1
        if amount <= 0 or amount != 1 << index or index >= len(self.public_keys):
            return None
        return index

    @property
    def redeemable(self) -> bool:
        return self.status in (KEYSET_ACTIVE, KEYSET_RETIRING)


def get_keyset(state: State, epoch: int) -> ChainKeyset | None:
    value = _get(state, KEYSET_PREFIX + epoch.to_bytes(4, "big"))
    if value is None:
        return None
    status, key_set, keyset_id, keys, created, expires, holders_epoch = value
    return ChainKeyset(
        epoch, status, key_set, keyset_id, tuple(keys), created, expires, holders_epoch
    )


def set_keyset(state: State, keyset: ChainKeyset) -> None:
    _put(state, KEYSET_PREFIX + keyset.epoch.to_bytes(4, "big"), keyset.to_value())


def get_meta(state: State) -> tuple[int, int]:
    """(active keyset epoch or 0, newest keyset epoch)."""
    value = _get(state, META_KEY)
    return (0, 0) if value is None else (value[0], value[1])


def set_meta(state: State, active: int, newest: int) -> None:
    _put(state, META_KEY, (active, newest))


def all_keysets(state: State) -> list[ChainKeyset]:
    """Every keyset, oldest first."""
    _, newest = get_meta(state)
    found = [get_keyset(state, epoch) for epoch in range(1, newest + 1)]
    return [k for k in found if k is not None]


# -- the books and ids ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Books:
    """What the reserve must hold: issued - redeemed + in flight."""

    issued: int = 0
    redeemed: int = 0
    in_flight: int = 0

    @property
    def outstanding(self) -> int:
        return self.issued - self.redeemed


def get_books(state: State) -> Books:
    value = _get(state, BOOKS_KEY)
    return Books() if value is None else Books(*value)


def set_books(state: State, books: Books) -> None:
    _put(state, BOOKS_KEY, (books.issued, books.redeemed, books.in_flight))


def next_id(state: State, which: int) -> int:
    """Take the next issuance request id (which=0) or commitment id (1)."""
    value = _get(state, NEXT_IDS_KEY)
    ids = [1, 1] if value is None else list(value)
    taken = ids[which]
    ids[which] += 1
    _put(state, NEXT_IDS_KEY, tuple(ids))
    return taken


def get_pending(state: State, key: bytes) -> tuple[Any, ...]:
    value = _get(state, key)
    return () if value is None else tuple(value)


def set_pending(state: State, key: bytes, items: tuple[Any, ...]) -> None:
    if items:
        _put(state, key, items)
    else:
        state.set_raw(key, None)


# -- issuance requests ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """Blind signatures asked for by a deposit or a swap, and the signing
    rounds of the key holders. ``commitments`` and ``responses`` are the
    current round's, by validator identifier (the first ``threshold``
    commitments make the chosen list); ``excluded`` holders were found
    at fault or silent in an earlier round of this request."""

    request_id: int
    owner: bytes
    origin: int
    keyset_epoch: int
    outputs: tuple[tuple[int, bytes], ...]
    status: int
    created_at: int
    expires_at: int
    round: int = 0
    round_started: int = 0
    holders_epoch: int = 0  # the key set epoch whose shares this round uses
    commitments: tuple[tuple[int, bytes], ...] = ()
    responses: tuple[tuple[int, bytes], ...] = ()
    excluded: tuple[int, ...] = ()
    signatures: tuple[bytes, ...] = ()  # 97 bytes per output once issued
    completed_at: int = 0

    @property
    def value(self) -> int:
        return sum(amount for amount, _ in self.outputs)

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.owner,
            self.origin,
            self.keyset_epoch,
            self.outputs,
            self.status,
            self.created_at,
            self.expires_at,
            self.round,
            self.round_started,
            self.holders_epoch,
            self.commitments,
            self.responses,
            self.excluded,
            self.signatures,
            self.completed_at,
        )


def get_request(state: State, request_id: int) -> IssueRequest | None:
    value = _get(state, _id_key(ISSUE_PREFIX, request_id))
    if value is None:
        return None
    ensure(len(value) == 15, "issue request has 15 fields")
    owner, origin, epoch, outputs, status, created, expires = value[:7]
    round_, started, holders_epoch, commitments, responses, excluded, sigs, done = value[7:]
    return IssueRequest(
        request_id,
        owner,
        origin,
        epoch,
        tuple((a, b) for a, b in outputs),
        status,
        created,
        expires,
        round_,
        started,
        holders_epoch,
        tuple((i, c) for i, c in commitments),
        tuple((i, r) for i, r in responses),
        tuple(excluded),
        tuple(sigs),
        done,
    )


def set_request(state: State, request: IssueRequest) -> None:
    _put(state, _id_key(ISSUE_PREFIX, request.request_id), request.to_value())


# -- redemption commitments and locks -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Commitment:
    """A redemption commitment: its notes, its digest, and once revealed its
    target; ``won`` is the value it was paid once settled, and
    ``issue_request`` the issuance request a settled swap opened (0: none)."""

    commitment_id: int
    sender: bytes
    inputs: tuple[NoteInput, ...]
    digest: bytes
    height: int
    status: int
    expires_at: int  # the last height at which it may be revealed
    target: RedeemTarget | None = None
    won: int = 0
    settled_at: int = 0
    issue_request: int = 0

    @property
    def value(self) -> int:
        return sum(i.amount for i in self.inputs)

    def c_for(self, y: bytes) -> bytes | None:
        for note in self.inputs:
            if note.y == y:
                return note.c
        return None

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.sender,
            tuple(i.to_value() for i in self.inputs),
            self.digest,
            self.height,
            self.status,
            self.expires_at,
            self.target.to_value() if self.target is not None else None,
            self.won,
            self.settled_at,
            self.issue_request,
        )


def get_commitment(state: State, commitment_id: int) -> Commitment | None:
    value = _get(state, _id_key(COMMITMENT_PREFIX, commitment_id))
    if value is None:
        return None
    ensure(len(value) == 10, "redemption commitment has 10 fields")
    sender, inputs, digest, height, status, expires, target, won, settled, request = value
    return Commitment(
        commitment_id,
        sender,
        tuple(NoteInput(*item) for item in inputs),
        digest,
        height,
        status,
        expires,
        RedeemTarget.from_value(target) if target is not None else None,
        won,
        settled,
        request,
    )


def set_commitment(state: State, commitment: Commitment) -> None:
    _put(state, _id_key(COMMITMENT_PREFIX, commitment.commitment_id), commitment.to_value())


@dataclass(frozen=True, slots=True)
class Lock:
    """A note (its Y) locked by redemption commitments, evaluated by the key
    holders, then spent, burned or released. ``shares`` are the valid
    evaluation shares so far (identifier, k_i*Y) for ``holders_epoch``,
    ``unverified`` the shares that arrived in this block (checked at its end);
    ``value`` is k*Y once t of them combined."""

    y: bytes
    status: int
    keyset_epoch: int
    amount: int
    locked_at: int
    claims: tuple[int, ...] = ()  # commitment ids, in order
    holders_epoch: int = 0
    shares: tuple[tuple[int, bytes], ...] = ()
    value: bytes = b""
    winner: int = 0
    revealed: bool = False  # a claim on it was revealed: the holders may evaluate it
    unverified: tuple[tuple[int, bytes], ...] = ()  # (identifier, 129-byte share) this block

    def to_value(self) -> tuple[Any, ...]:
        if self.status != LOCKED:  # a spent mark keeps only what NUT-07 answers
            return (self.status, self.keyset_epoch, self.amount, self.winner)
        return (
            self.status,
            self.keyset_epoch,
            self.amount,
            self.locked_at,
            self.claims,
            self.holders_epoch,
            self.shares,
            self.value,
            self.revealed,
            self.unverified,
        )


def get_lock(state: State, y: bytes) -> Lock | None:
    value = _get(state, LOCK_PREFIX + y)
    if value is None:
        return None
    if value[0] != LOCKED:
        status, epoch, amount, winner = value
        return Lock(y, status, epoch, amount, 0, winner=winner)
    status, epoch, amount, locked_at, claims, holders_epoch = value[:6]
    shares, combined, revealed, unverified = value[6:]
    return Lock(
        y,
        status,
        epoch,
        amount,
        locked_at,
        tuple(claims),
        holders_epoch,
        tuple((i, v) for i, v in shares),
        combined,
        revealed=revealed,
        unverified=tuple((i, v) for i, v in unverified),
    )


def set_lock(state: State, lock: Lock) -> None:
    _put(state, LOCK_PREFIX + lock.y, lock.to_value())


def delete_lock(state: State, y: bytes) -> None:
    state.set_raw(LOCK_PREFIX + y, None)


# -- deadlines and the block's work list --------------------------------------------------


def add_deadline(state: State, prefix: bytes, height: int, item: int) -> None:
    """Note ``item`` (a request or commitment id) as due at ``height``."""
    key = prefix + height.to_bytes(8, "big")
    items = get_pending(state, key)
    if item not in items:
        _put(state, key, (*items, item))


def take_deadlines(state: State, prefix: bytes, height: int) -> tuple[int, ...]:
    """The ids due at ``height``, in id order; the bucket is emptied."""
    key = prefix + height.to_bytes(8, "big")
    items = get_pending(state, key)
    if items:
        state.set_raw(key, None)
    return tuple(sorted(items))


def add_recheck(state: State, key: bytes, items: Any) -> None:
    """Add ids (``Ms``) or notes (``Mw``) to look at again at the end of the block."""
    present = get_pending(state, key)
    seen = set(present)
    fresh = []
    for item in items:
        if item not in seen:
            seen.add(item)
            fresh.append(item)
    if fresh:
        _put(state, key, (*present, *fresh))


def take_rechecks(state: State, key: bytes) -> list[Any]:
    items = list(get_pending(state, key))
    if items:
        state.set_raw(key, None)
    return items


# -- faults ------------------------------------------------------------------------


def record_fault(state: State, validator: bytes, bad: int = 0, missed: int = 0) -> None:
    """Count a bad share (or a missed round) against a validator's address."""
    value = _get(state, FAULT_PREFIX + validator)
    bad_before, missed_before = (0, 0) if value is None else value
    _put(state, FAULT_PREFIX + validator, (bad_before + bad, missed_before + missed))


def get_faults(state: State, validator: bytes) -> tuple[int, int]:
    """(bad shares, missed rounds) recorded against a validator's address."""
    value = _get(state, FAULT_PREFIX + validator)
    return (0, 0) if value is None else (value[0], value[1])
