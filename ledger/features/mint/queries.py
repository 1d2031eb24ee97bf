"""Read-only views of the mint for the RPC layer, the node's key holder
duties and the wallet: keysets, note states (NUT-07), issuance requests,
commitments, the books and the reserve, and the work pending for the key
holders."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.state import State, StateReader

from .config import MintConfig, get_config
from .records import (
    BURNED,
    LOCKED,
    PENDING_COMMITMENTS_KEY,
    PENDING_ISSUES_KEY,
    PENDING_LOCKS_KEY,
    RESERVE_ADDRESS,
    SPENT,
    Books,
    ChainKeyset,
    Commitment,
    IssueRequest,
    Lock,
    all_keysets,
    get_books,
    get_commitment,
    get_faults,
    get_lock,
    get_meta,
    get_pending,
    get_request,
)

NOTE_UNSPENT = "UNSPENT"
NOTE_PENDING = "PENDING"
NOTE_SPENT = "SPENT"


def mint_config(reader: StateReader) -> MintConfig | None:
    return get_config(State(reader))


def mint_keysets(reader: StateReader) -> tuple[int, list[ChainKeyset]]:
    """(active epoch or 0, every keyset oldest first)."""
    state = State(reader)
    active, _ = get_meta(state)
    return active, all_keysets(state)


def note_state(reader: StateReader, y: bytes) -> str:
    """NUT-07: SPENT (redeemed, or burned by a failed redemption), PENDING (a
    redemption in flight), or UNSPENT."""
    lock = get_lock(State(reader), y)
    if lock is None:
        return NOTE_UNSPENT
    if lock.status in (SPENT, BURNED):
        return NOTE_SPENT
    assert lock.status == LOCKED
    return NOTE_PENDING


def note_lock(reader: StateReader, y: bytes) -> Lock | None:
    return get_lock(State(reader), y)


def issue_request(reader: StateReader, request_id: int) -> IssueRequest | None:
    return get_request(State(reader), request_id)


def redemption_commitment(reader: StateReader, commitment_id: int) -> Commitment | None:
    return get_commitment(State(reader), commitment_id)


@dataclass(frozen=True)
class MintBooks:
    """The books and what the reserve account holds."""

    books: Books
    reserve: int


def mint_books(reader: StateReader) -> MintBooks | None:
    state = State(reader)
    config = get_config(state)
    if config is None:
        return None
    reserve = state.get_account(RESERVE_ADDRESS).balance(config.asset)
    return MintBooks(get_books(state), reserve)


def validator_faults(reader: StateReader, validator: bytes) -> tuple[int, int]:
    """(bad shares, missed rounds) recorded against a validator's address."""
    return get_faults(State(reader), validator)


@dataclass(frozen=True)
class PendingWork:
    """What the key holders have to do: open issuance requests and locked notes."""

    requests: tuple[IssueRequest, ...]
    locks: tuple[Lock, ...]


def pending_work(reader: StateReader) -> PendingWork:
    state = State(reader)
    requests = tuple(
        r for r in (get_request(state, i) for i in get_pending(state, PENDING_ISSUES_KEY)) if r
    )
    locks = tuple(
        lock for lock in (get_lock(state, y) for y in get_pending(state, PENDING_LOCKS_KEY)) if lock
    )
    return PendingWork(requests, locks)


def pending_commitment_ids(reader: StateReader) -> tuple[int, ...]:
    return tuple(get_pending(State(reader), PENDING_COMMITMENTS_KEY))
