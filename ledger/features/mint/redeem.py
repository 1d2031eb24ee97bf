"""Redemption and swap on chain: commit, reveal, evaluate, settle.

Two problems shape it (ADR 0020 and docs/spec/mint.md):

- ``k*Y`` *is* a note for the secret behind ``Y``: once the key holders
  publish enough evaluation shares, whoever knows the secret holds a valid
  note. So a ``Y`` is locked before any share is published, and after the
  evaluation it is spent (to the winning claim) or burned (no claim showed
  the right ``C``: whoever presented a wrong one learns a note that is
  already dead).
- A redemption in the mempool shows its notes, and anyone could copy them to
  their own address. So the notes' secrets stay hidden in a first
  transaction, ``mint_redeem_commit`` (``[epoch, amount, Y, C]`` per note and
  ``digest = SHA-256(encode([domain, chain id, sender, secrets, target,
  salt]))``), and are shown only by ``mint_redeem_reveal`` at a later height.
  A copy of a commitment is useless without the secrets; a commitment made
  after the secrets were seen comes later than the one it copies, and for
  each note **the earliest revealed commitment with the right C wins**.

Timeline of a note ``Y`` first locked at height L:

- commitments may still claim ``Y`` while ``height < L + lock_window``
  (with the same keyset and amount); after that it is locked;
- a commitment is revealed by its sender at ``height > its height``, until
  ``its height + lock_window + reveal_blocks``; the reveal marks its notes
  **revealed**: someone knows their secrets;
- only a revealed note is evaluated, and only from ``L + lock_window``: the
  holders publish ``k_i*Y`` with proofs (``mint_evaluate``); every share is
  verified, a bad one is recorded against its validator; ``t`` valid shares
  combine to ``k*Y``. A note nobody reveals is never evaluated: when its
  claims have all expired it is **released** (unspent again). So copying a
  commitment from the mempool with a wrong ``C`` cannot get the owner's note
  burned: without a reveal nothing is published;
- a revealed commitment settles once every note it claims is evaluated and
  no earlier claim with the right ``C`` can still be revealed: it wins each
  note where its ``C`` is right and nobody earlier won; an address target is
  paid what it won; a swap target gets its new notes (an issuance request)
  if it won everything, else the sender is paid;
- an evaluated note no claim showed the right ``C`` for is burned; one whose
  right claims all expired unrevealed is released.

The end-of-block step looks only at what is due or changed: the
commitments whose reveal time ended (``Me``), and the commitments and notes
that this block's reveals, evaluations, expiries and settlements touched
(``Ms``, ``Mw``), until nothing more changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from ledger import codec, crypto
from ledger.address import address_of
from ledger.context import BlockContext, Outcome
from ledger.exceptions import (
    AlreadyExists,
    Expired,
    InvalidOperation,
    LimitExceeded,
    NotAuthorized,
    UnknownRecord,
)
from ledger.features.threshold.interface import KeySet, get_key_set
from ledger.state import State
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import decode_element, encode_element
from ledger.types import Event

from .bdhke import secret_point
from .bodies import (
    TARGET_SWAP,
    MintEvaluate,
    MintRedeemCommit,
    MintRedeemReveal,
    RedeemTarget,
)
from .config import MintConfig, get_config
from .evaluation import interpolate_values, verify_evaluation_share
from .issue import check_outputs_for, open_request
from .keyset_lifecycle import require_config
from .records import (
    BURNED,
    COMMITTED,
    EXPIRED,
    LOCKED,
    MAX_CLAIMS_PER_NOTE,
    MAX_PENDING_COMMITMENTS,
    MAX_PENDING_ISSUES,
    MAX_PENDING_LOCKS,
    ORIGIN_SWAP,
    PENDING_COMMITMENTS_KEY,
    PENDING_ISSUES_KEY,
    PENDING_LOCKS_KEY,
    RECHECK_COMMITMENTS_KEY,
    RECHECK_LOCKS_KEY,
    RESERVE_ADDRESS,
    REVEAL_DEADLINE_PREFIX,
    REVEALED,
    SETTLED,
    SPENT,
    TO_VERIFY_KEY,
    Commitment,
    Lock,
    add_deadline,
    add_recheck,
    delete_lock,
    get_books,
    get_commitment,
    get_keyset,
    get_lock,
    get_meta,
    get_pending,
    mint_event,
    next_id,
    record_fault,
    set_books,
    set_commitment,
    set_lock,
    set_pending,
    take_deadlines,
    take_rechecks,
)
from .wire import decode_evaluation_share

REVEAL_DOMAIN: Final = "ledger/mint/redeem/v1"
EVALUATE_DOMAIN: Final = "ledger/mint/evaluate/v1"


def redemption_digest(
    chain_id: str, sender: bytes, secrets: tuple[str, ...], target: RedeemTarget, salt: bytes
) -> bytes:
    """What a commitment carries and its reveal must open."""
    return crypto.sha256(
        codec.encode((REVEAL_DOMAIN, chain_id, sender, secrets, target.to_value(), salt))
    )


def evaluation_context(chain_id: str, y: bytes) -> bytes:
    """What a holder's evaluation proof for a note is bound to."""
    return codec.encode((EVALUATE_DOMAIN, chain_id, y))


# -- commit -------------------------------------------------------------------------


def commit_redemption(
    state: State, actor: bytes, body: MintRedeemCommit, ctx: BlockContext
) -> Outcome:
    """Lock the notes (or join the claims on a note locked in this window).
    Raises UnknownRecord (no mint), InvalidOperation (keyset, amount),
    AlreadyExists (a note spent, or locked by a redemption in flight),
    LimitExceeded."""
    config = require_config(state)
    pending = get_pending(state, PENDING_COMMITMENTS_KEY)
    if len(pending) >= MAX_PENDING_COMMITMENTS:
        raise LimitExceeded(f"at most {MAX_PENDING_COMMITMENTS} redemptions may be pending")
    commitment_id = next_id(state, 1)
    new_locks = []
    for note in body.inputs:
        keyset = get_keyset(state, note.keyset_epoch)
        if keyset is None or not keyset.redeemable:
            raise InvalidOperation(f"keyset epoch {note.keyset_epoch} is not redeemable")
        if keyset.key_index(note.amount) is None:
            raise InvalidOperation(f"amount {note.amount} is not a denomination of the keyset")
        lock = get_lock(state, note.y)
        if lock is None:
            lock = Lock(note.y, LOCKED, note.keyset_epoch, note.amount, ctx.height)
            new_locks.append(note.y)
        elif lock.status != LOCKED:
            raise AlreadyExists(f"note {note.y.hex()} is spent")
        elif ctx.height >= lock.locked_at + config.lock_window_blocks:
            raise AlreadyExists(f"note {note.y.hex()} is locked by a redemption in flight")
        elif (lock.keyset_epoch, lock.amount) != (note.keyset_epoch, note.amount):
            raise InvalidOperation(f"note {note.y.hex()} is claimed with another amount")
        elif len(lock.claims) >= MAX_CLAIMS_PER_NOTE:
            raise LimitExceeded(f"note {note.y.hex()} has {MAX_CLAIMS_PER_NOTE} claims")
        set_lock(state, replace(lock, claims=(*lock.claims, commitment_id)))
    locks = get_pending(state, PENDING_LOCKS_KEY)
    if len(locks) + len(new_locks) > MAX_PENDING_LOCKS:
        raise LimitExceeded(f"at most {MAX_PENDING_LOCKS} notes may be locked at once")
    set_pending(state, PENDING_LOCKS_KEY, (*locks, *new_locks))
    expires_at = ctx.height + config.lock_window_blocks + config.reveal_blocks
    commitment = Commitment(
        commitment_id, actor, body.inputs, body.digest, ctx.height, COMMITTED, expires_at
    )
    set_commitment(state, commitment)
    set_pending(state, PENDING_COMMITMENTS_KEY, (*pending, commitment_id))
    add_deadline(state, REVEAL_DEADLINE_PREFIX, expires_at + 1, commitment_id)
    attributes = (
        ("commitment_id", commitment_id),
        ("notes", len(body.inputs)),
        ("value", body.value),
        ("reveal_until", expires_at),
    )
    return Outcome(events=(mint_event("mint_redeem_committed", attributes),))


# -- evaluate -------------------------------------------------------------------------


def _holders_of(state: State, lock: Lock) -> tuple[KeySet, int] | None:
    keyset = get_keyset(state, lock.keyset_epoch)
    if keyset is None:
        return None
    holders = get_key_set(state, keyset.key_set)
    index = keyset.key_index(lock.amount)
    return None if holders is None or index is None else (holders, index)


def submit_evaluations(
    state: State, actor: bytes, body: MintEvaluate, ctx: BlockContext
) -> Outcome:
    """A key holder's shares k_i*Y for locked notes, kept unverified: the end
    of the block (settle_mint_redemptions) checks each, records a bad one
    against its sender, and combines t valid ones, so checking this
    transaction, in the mempool too, costs no cryptography. Entries for notes
    not waiting for this holder are skipped. Raises UnknownRecord on a chain
    without a mint."""
    config = require_config(state)
    accepted = 0
    for y, data in body.entries:
        lock = get_lock(state, y)
        if lock is None or lock.status != LOCKED or lock.value or not lock.revealed:
            continue  # nobody showed the secret yet: nothing is published
        if ctx.height < lock.locked_at + config.lock_window_blocks:
            continue  # shares wait until no commitment can claim the note any more
        found = _holders_of(state, lock)
        if found is None:
            continue
        holders, _ = found
        me = next((i for i, key, _ in holders.members if address_of(key) == actor), None)
        if me is None:
            continue
        if lock.holders_epoch != holders.epoch:
            lock = replace(lock, holders_epoch=holders.epoch, shares=(), unverified=())
        if me in {i for i, _ in lock.shares} | {i for i, _ in lock.unverified}:
            continue
        set_lock(state, replace(lock, unverified=(*lock.unverified, (me, data))))
        add_recheck(state, TO_VERIFY_KEY, (y,))
        accepted += 1
    return Outcome(events=(mint_event("mint_evaluations", (("accepted", accepted),)),))


def _verify_shares(state: State, y: bytes, ctx: BlockContext) -> list[Event]:
    """Check the shares that came for a note in this block: record a bad one
    against its validator; combine t valid ones into k*Y."""
    lock = get_lock(state, y)
    if lock is None or lock.status != LOCKED or lock.value or not lock.unverified:
        return []
    found = _holders_of(state, lock)
    if found is None or found[0].epoch != lock.holders_epoch:
        set_lock(state, replace(lock, unverified=()))
        return []
    holders, index = found
    keys = {i: key for i, key, _ in holders.members}
    events = []
    shares = list(lock.shares)
    for me, data in lock.unverified:
        if _share_is_valid(ctx, holders, index, y, me, data):
            shares.append((me, data[32:65]))
            continue
        validator = address_of(keys[me])
        record_fault(state, validator, bad=1)
        attributes = (("note", y), ("validator", validator))
        events.append(mint_event("mint_evaluation_rejected", attributes))
    lock = replace(lock, shares=tuple(shares), unverified=())
    if len(lock.shares) >= holders.threshold:
        values = {i: decode_element(v) for i, v in lock.shares}
        combined = interpolate_values(values)
        lock = replace(lock, value=encode_element(combined), shares=())
        events.append(mint_event("mint_note_evaluated", (("note", y),)))
        add_recheck(state, RECHECK_COMMITMENTS_KEY, lock.claims)
        add_recheck(state, RECHECK_LOCKS_KEY, (y,))
    set_lock(state, lock)
    return events


def _share_is_valid(
    ctx: BlockContext, holders: KeySet, index: int, y: bytes, me: int, data: bytes
) -> bool:
    try:
        share = decode_evaluation_share(data)
        point = decode_element(y)
    except ThresholdError:
        return False
    if share.identifier != me:
        return False
    public = holders.public_package(index)
    return verify_evaluation_share(public, point, share, evaluation_context(ctx.chain_id, y))


# -- reveal --------------------------------------------------------------------------


def reveal_redemption(
    state: State, actor: bytes, body: MintRedeemReveal, ctx: BlockContext
) -> Outcome:
    """Open a commitment: the secrets must hash to its notes and, with the
    target and salt, to its digest. Raises UnknownRecord, NotAuthorized,
    InvalidOperation, Expired."""
    config = require_config(state)
    commitment = get_commitment(state, body.commitment_id)
    if commitment is None:
        raise UnknownRecord(f"no redemption commitment {body.commitment_id}")
    if commitment.sender != actor:
        raise NotAuthorized("only the commitment's sender reveals it")
    if commitment.status != COMMITTED:
        raise InvalidOperation("this commitment is already revealed or closed")
    if ctx.height <= commitment.height:
        raise InvalidOperation("a commitment is revealed at a later height")
    if ctx.height > commitment.expires_at:
        raise Expired(f"the commitment could be revealed until height {commitment.expires_at}")
    if len(body.secrets) != len(commitment.inputs):
        raise InvalidOperation(f"{len(commitment.inputs)} secrets expected")
    for secret, note in zip(body.secrets, commitment.inputs, strict=True):
        if secret_point(secret).sec != note.y:
            raise InvalidOperation("a secret does not hash to its note's Y")
    digest = redemption_digest(ctx.chain_id, actor, body.secrets, body.target, body.salt)
    if digest != commitment.digest:
        raise InvalidOperation("the secrets, target and salt do not open the commitment")
    _check_target(state, config, commitment, body.target)
    set_commitment(state, replace(commitment, status=REVEALED, target=body.target))
    for note in commitment.inputs:
        lock = get_lock(state, note.y)
        if lock is not None and lock.status == LOCKED and not lock.revealed:
            set_lock(state, replace(lock, revealed=True))
    add_recheck(state, RECHECK_COMMITMENTS_KEY, (commitment.commitment_id,))
    attributes = (("commitment_id", commitment.commitment_id), ("target", body.target.kind))
    return Outcome(events=(mint_event("mint_redeem_revealed", attributes),))


def _check_target(
    state: State, config: MintConfig, commitment: Commitment, target: RedeemTarget
) -> None:
    if target.kind != TARGET_SWAP:
        return
    if sum(amount for amount, _ in target.outputs) != commitment.value:
        raise InvalidOperation("a swap's outputs must add up to its notes' value")
    check_outputs_for(config, get_keyset(state, target.keyset_epoch), target.outputs)
    active, _ = get_meta(state)
    if target.keyset_epoch != active:
        raise InvalidOperation("a swap's outputs must be for the active keyset")


# -- settle ----------------------------------------------------------------------------

_WAIT: Final = 0
_WON: Final = 1
_LOST: Final = 2


def _valid_claim(state: State, commitment_id: int, lock: Lock) -> Commitment | None:
    claim = get_commitment(state, commitment_id)
    if claim is None or claim.c_for(lock.y) != lock.value:
        return None
    return claim


def _decide(state: State, commitment: Commitment, y: bytes) -> int:
    lock = get_lock(state, y)
    if lock is None or lock.status != LOCKED or commitment.commitment_id not in lock.claims:
        return _LOST  # released (this claim's C was wrong), or spent by another
    if not lock.value:
        return _WAIT
    if commitment.c_for(y) != lock.value:
        return _LOST
    for earlier in lock.claims:
        if earlier >= commitment.commitment_id:
            break
        claim = _valid_claim(state, earlier, lock)
        if claim is not None and claim.status == COMMITTED:
            return _WAIT  # it may still be revealed, and would win
    return _WON


def _settle(
    state: State, config: MintConfig, commitment: Commitment, ctx: BlockContext
) -> list[Event] | None:
    """Settle a revealed commitment, or None if it must wait."""
    verdicts = [(note, _decide(state, commitment, note.y)) for note in commitment.inputs]
    if any(v == _WAIT for _, v in verdicts):
        return None
    won = 0
    for note, verdict in verdicts:
        if verdict == _WON:
            lock = get_lock(state, note.y)
            assert lock is not None
            set_lock(state, replace(lock, status=SPENT, winner=commitment.commitment_id))
            won += note.amount
    _drop_locks(state, [n.y for n, v in verdicts if v == _WON])
    books = get_books(state)
    set_books(state, replace(books, redeemed=books.redeemed + won))
    target = commitment.target
    assert target is not None
    events = []
    paid_to = commitment.sender
    issue_request = 0
    if target.kind == TARGET_SWAP and won == commitment.value and won > 0:
        keyset = get_keyset(state, target.keyset_epoch)
        issues = get_pending(state, PENDING_ISSUES_KEY)
        if keyset is not None and keyset.redeemable and len(issues) < MAX_PENDING_ISSUES:
            request = open_request(
                state, ctx, config, commitment.sender, ORIGIN_SWAP, keyset, target.outputs
            )
            issue_request = request.request_id
            opened = (
                ("commitment_id", commitment.commitment_id),
                ("request_id", request.request_id),
            )
            events.append(mint_event("mint_swap_opened", opened))
            paid_to = b""
    elif target.kind != TARGET_SWAP:
        paid_to = target.address
    if paid_to and won:
        state.sub_balance(RESERVE_ADDRESS, config.asset, won)
        state.add_balance(paid_to, config.asset, won)
    settled = replace(
        commitment, status=SETTLED, won=won, settled_at=ctx.height, issue_request=issue_request
    )
    set_commitment(state, settled)
    attributes = (
        ("commitment_id", commitment.commitment_id),
        ("won", won),
        ("lost", commitment.value - won),
    )
    return [mint_event("mint_redeem_settled", attributes), *events]


def _drop_locks(state: State, ys: list[bytes]) -> None:
    if ys:
        drop = set(ys)
        pending = get_pending(state, PENDING_LOCKS_KEY)
        set_pending(state, PENDING_LOCKS_KEY, tuple(y for y in pending if y not in drop))


def _close_lock(state: State, y: bytes) -> tuple[Event | None, tuple[int, ...]]:
    """Burn an evaluated note no claim showed the right C for; release one
    whose right claims (or, not evaluated, all claims) expired unrevealed, or
    whose keyset expired before its evaluation. Returns the event (None if
    the lock stays) and the claims to look at again."""
    lock = get_lock(state, y)
    if lock is None or lock.status != LOCKED:
        return None, ()
    claims = [get_commitment(state, i) for i in lock.claims]
    if lock.value:
        right = [c for c in claims if c is not None and c.c_for(y) == lock.value]
        if not right:
            set_lock(state, replace(lock, status=BURNED))
            return mint_event("mint_note_burned", (("note", y),)), lock.claims
        if all(c.status == EXPIRED for c in right):
            delete_lock(state, y)
            return mint_event("mint_note_released", (("note", y),)), lock.claims
        return None, ()
    keyset = get_keyset(state, lock.keyset_epoch)
    unredeemable = keyset is None or not keyset.redeemable
    if unredeemable or all(c is None or c.status == EXPIRED for c in claims):
        delete_lock(state, y)
        return mint_event("mint_note_released", (("note", y),)), lock.claims
    return None, ()


def _expire(state: State, commitment: Commitment, ctx: BlockContext) -> Event:
    set_commitment(state, replace(commitment, status=EXPIRED, settled_at=ctx.height))
    add_recheck(state, RECHECK_LOCKS_KEY, [note.y for note in commitment.inputs])
    for note in commitment.inputs:  # later claims may have waited for this one
        lock = get_lock(state, note.y)
        if lock is not None:
            add_recheck(state, RECHECK_COMMITMENTS_KEY, lock.claims)
    return mint_event("mint_redeem_expired", (("commitment_id", commitment.commitment_id),))


def settle_mint_redemptions(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: check the evaluation shares of this block (and
    combine t valid ones); expire the commitments whose reveal time ended;
    then, until nothing changes, settle the revealed commitments this block
    touched (lowest id first) and close the notes it touched."""
    config = get_config(state)
    if config is None:
        return ()
    events: list[Event] = []
    for y in dict.fromkeys(take_rechecks(state, TO_VERIFY_KEY)):
        events.extend(_verify_shares(state, y, ctx))
    finished: list[int] = []
    for commitment_id in take_deadlines(state, REVEAL_DEADLINE_PREFIX, ctx.height):
        commitment = get_commitment(state, commitment_id)
        if commitment is not None and commitment.status == COMMITTED:
            events.append(_expire(state, commitment, ctx))
            finished.append(commitment_id)
    closed: list[bytes] = []
    while True:
        pending_ids = sorted(set(take_rechecks(state, RECHECK_COMMITMENTS_KEY)))
        pending_ys = take_rechecks(state, RECHECK_LOCKS_KEY)
        if not pending_ids and not pending_ys:
            break
        for commitment_id in pending_ids:
            commitment = get_commitment(state, commitment_id)
            if commitment is None or commitment.status != REVEALED:
                continue
            settled = _settle(state, config, commitment, ctx)
            if settled is None:
                continue  # it waits: what it waits for puts it back on the list
            events.extend(settled)
            finished.append(commitment_id)
            touched = [note.y for note in commitment.inputs]
            add_recheck(state, RECHECK_LOCKS_KEY, touched)
            for y in touched:
                lock = get_lock(state, y)
                if lock is not None and lock.status == LOCKED:
                    add_recheck(state, RECHECK_COMMITMENTS_KEY, lock.claims)
        for y in dict.fromkeys(pending_ys):
            event, claims = _close_lock(state, y)
            if event is not None:
                events.append(event)
                add_recheck(state, RECHECK_COMMITMENTS_KEY, claims)
            lock = get_lock(state, y)
            if lock is None or lock.status != LOCKED:
                closed.append(y)
    _drop_locks(state, closed)
    done = set(finished)
    if done:
        remaining = get_pending(state, PENDING_COMMITMENTS_KEY)
        set_pending(state, PENDING_COMMITMENTS_KEY, tuple(i for i in remaining if i not in done))
    return tuple(events)
