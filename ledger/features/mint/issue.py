"""Issuance on chain: deposits, the key holders' two signing rounds, and
refunds.

A ``mint_deposit`` moves its value from the sender to the reserve and opens
an issuance request (a swap opens one too, with value already in the
reserve). The validators holding the keyset's key set then sign every
blinded message by the two-round protocol of ``issuance`` (ADR 0020), in
transactions:

1. **Commit** (``mint_commit``): each holder's 259-byte commitment per
   output, ``(C_i, R1_i, R2_i, proofs)``. The first ``threshold``
   commitments of a round to be included make the chosen list; later ones
   are ignored.
2. **Respond** (``mint_respond``): each chosen holder's ``s_i`` per output.
   At the end of the block in which all have answered, the chain
   aggregates: one NUT-12 check per output (optimistic); if one fails every
   commitment and response of that output is checked, the holders at fault
   are recorded (``record_fault``), excluded from this request, and round 1
   starts again (fresh nonces, since a new list makes a new challenge). The
   transactions themselves carry no cryptographic check: the mempool checks
   every transaction by running it, and would otherwise verify each
   aggregation once on admission and again on every recheck.

A round whose chosen holders have not all answered within
``round_blocks`` of the block that closed its list starts again without the
silent ones (recorded as missed); a round whose holders were reshared
starts again. A request not
issued by ``expires_at`` is refunded from the reserve to its owner.

The books: ``in_flight`` counts the value of open requests, ``issued`` the
value of notes signed; the reserve holds issued - redeemed + in flight.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from ledger import codec
from ledger.address import address_of
from ledger.context import BlockContext, Outcome
from ledger.exceptions import InvalidOperation, LimitExceeded
from ledger.features.threshold.interface import KeySet, get_key_set
from ledger.state import State
from ledger.threshold.errors import InvalidShare, ThresholdError
from ledger.threshold.group import decode_element
from ledger.threshold.keys import PublicKeyPackage
from ledger.types import Event

from .bodies import MintCommit, MintDeposit, MintRespond
from .config import MintConfig, get_config
from .issuance import BlindSignature, IssuanceCommitment, IssuanceResponse, aggregate_issuance
from .keyset_lifecycle import require_config
from .records import (
    ISSUE_DEADLINE_PREFIX,
    ISSUED,
    ISSUING,
    KEYSET_ACTIVE,
    MAX_PENDING_ISSUES,
    ORIGIN_DEPOSIT,
    PENDING_ISSUES_KEY,
    REFUNDED,
    RESERVE_ADDRESS,
    TO_AGGREGATE_KEY,
    ChainKeyset,
    IssueRequest,
    add_deadline,
    add_recheck,
    all_keysets,
    get_books,
    get_keyset,
    get_meta,
    get_pending,
    get_request,
    mint_event,
    next_id,
    record_fault,
    set_books,
    set_keyset,
    set_pending,
    set_request,
    take_deadlines,
    take_rechecks,
)
from .wire import (
    ISSUANCE_COMMITMENT_SIZE,
    ISSUANCE_RESPONSE_SIZE,
    decode_issuance_commitment,
    decode_issuance_response,
    encode_blind_signature,
)

ISSUE_DOMAIN: Final = "ledger/mint/issue/v1"


def issue_context(chain_id: str, request_id: int, round_: int, index: int) -> bytes:
    """What a holder's proofs for one output of one round are bound to."""
    return codec.encode((ISSUE_DOMAIN, chain_id, request_id, round_, index))


def check_outputs_for(
    config: MintConfig, keyset: ChainKeyset | None, outputs: tuple[tuple[int, bytes], ...]
) -> None:
    """Outputs must be signed by an active keyset that has their denominations.
    Raises InvalidOperation."""
    if keyset is None or keyset.status != KEYSET_ACTIVE:
        raise InvalidOperation("outputs must be for the active keyset")
    for amount, _ in outputs:
        if keyset.key_index(amount) is None:
            largest = 1 << config.max_exponent
            raise InvalidOperation(f"amount {amount} is not a denomination (1..{largest})")


def open_request(
    state: State,
    ctx: BlockContext,
    config: MintConfig,
    owner: bytes,
    origin: int,
    keyset: ChainKeyset,
    outputs: tuple[tuple[int, bytes], ...],
) -> IssueRequest:
    """Open an issuance request whose value is already in the reserve.
    Raises LimitExceeded when too many are pending."""
    pending = get_pending(state, PENDING_ISSUES_KEY)
    if len(pending) >= MAX_PENDING_ISSUES:
        raise LimitExceeded(f"at most {MAX_PENDING_ISSUES} issuance requests may be pending")
    held = get_key_set(state, keyset.key_set)
    request = IssueRequest(
        next_id(state, 0),
        owner,
        origin,
        keyset.epoch,
        outputs,
        ISSUING,
        ctx.height,
        ctx.height + config.issue_timeout_blocks,
        round_started=ctx.height,
        holders_epoch=held.epoch if held is not None else 0,
    )
    set_request(state, request)
    set_pending(state, PENDING_ISSUES_KEY, (*pending, request.request_id))
    add_deadline(state, ISSUE_DEADLINE_PREFIX, request.expires_at, request.request_id)
    books = get_books(state)
    set_books(state, replace(books, in_flight=books.in_flight + request.value))
    return request


def deposit(state: State, actor: bytes, body: MintDeposit, ctx: BlockContext) -> Outcome:
    """Lock the outputs' value in the reserve and ask for their signatures.
    Raises UnknownRecord (no mint), InvalidOperation (keyset, amounts),
    LimitExceeded; the transition maps a short balance to InsufficientFunds."""
    config = require_config(state)
    active, _ = get_meta(state)
    if body.keyset_epoch != active:
        raise InvalidOperation(f"keyset epoch {body.keyset_epoch} is not the active one ({active})")
    keyset = get_keyset(state, active)
    check_outputs_for(config, keyset, body.outputs)
    assert keyset is not None
    state.sub_balance(actor, config.asset, body.value)
    state.add_balance(RESERVE_ADDRESS, config.asset, body.value)
    request = open_request(state, ctx, config, actor, ORIGIN_DEPOSIT, keyset, body.outputs)
    attributes = (
        ("request_id", request.request_id),
        ("value", body.value),
        ("outputs", len(body.outputs)),
        ("keyset_epoch", keyset.epoch),
    )
    return Outcome(events=(mint_event("mint_deposit", attributes),))


def _holders(state: State, request: IssueRequest) -> KeySet | None:
    keyset = get_keyset(state, request.keyset_epoch)
    return None if keyset is None else get_key_set(state, keyset.key_set)


def _member_id(holders: KeySet, actor: bytes) -> int | None:
    for identifier, key, _ in holders.members:
        if address_of(key) == actor:
            return identifier
    return None


def submit_commitments(state: State, actor: bytes, body: MintCommit, ctx: BlockContext) -> Outcome:
    """A key holder's round-1 commitments. Entries for requests that are not
    waiting for this holder (done, another round, list full, excluded) are
    skipped: a batch made from one block may land after the next. Raises
    UnknownRecord on a chain without a mint."""
    config = require_config(state)
    accepted = 0
    for request_id, round_, data in body.entries:
        request = get_request(state, request_id)
        if request is None or request.status != ISSUING or request.round != round_:
            continue
        holders = _holders(state, request)
        if holders is None or holders.epoch != request.holders_epoch:
            continue
        me = _member_id(holders, actor)
        committed = {i for i, _ in request.commitments}
        if me is None or me in request.excluded or me in committed:
            continue
        if len(committed) >= holders.threshold:
            continue  # the chosen list is closed
        if len(data) != ISSUANCE_COMMITMENT_SIZE * len(request.outputs):
            continue  # the wrong size for this request: not a commitment to it
        request = replace(request, commitments=(*request.commitments, (me, data)))
        if len(request.commitments) >= holders.threshold:
            request = replace(request, round_started=ctx.height)  # responses due from here
            deadline = ctx.height + config.round_blocks
            add_deadline(state, ISSUE_DEADLINE_PREFIX, deadline, request.request_id)
        set_request(state, request)
        accepted += 1
    return Outcome(events=(mint_event("mint_commitments", (("accepted", accepted),)),))


def submit_responses(state: State, actor: bytes, body: MintRespond, ctx: BlockContext) -> Outcome:
    """A chosen holder's round-2 responses; a request whose responses are
    all in is aggregated at the end of the block (advance_mint_issues), so
    checking this transaction, in the mempool too, costs no cryptography.
    Raises UnknownRecord on a chain without a mint."""
    require_config(state)
    accepted = 0
    for request_id, round_, data in body.entries:
        request = get_request(state, request_id)
        if request is None or request.status != ISSUING or request.round != round_:
            continue
        holders = _holders(state, request)
        if holders is None or holders.epoch != request.holders_epoch:
            continue
        me = _member_id(holders, actor)
        chosen = {i for i, _ in request.commitments}
        if len(chosen) < holders.threshold or me not in chosen:
            continue
        if me in {i for i, _ in request.responses}:
            continue
        if len(data) != ISSUANCE_RESPONSE_SIZE * len(request.outputs):
            continue
        request = replace(request, responses=(*request.responses, (me, data)))
        accepted += 1
        set_request(state, request)
        if len(request.responses) == len(request.commitments):
            add_recheck(state, TO_AGGREGATE_KEY, (request_id,))
    return Outcome(events=(mint_event("mint_responses", (("accepted", accepted),)),))


def _aggregate_output(
    holders: KeySet,
    request: IssueRequest,
    index: int,
    ctx: BlockContext,
    keyset: ChainKeyset,
    packages: dict[int, PublicKeyPackage],
) -> BlindSignature:
    """One output's blind signature. Raises InvalidShare naming the holders
    at fault (a malformed commitment or response counts as wrong)."""
    amount, blinded = request.outputs[index]
    key_index = keyset.key_index(amount)
    assert key_index is not None
    public = packages.get(key_index)
    if public is None:
        public = packages[key_index] = holders.public_package(key_index)
    commitments: list[IssuanceCommitment] = []
    responses: list[IssuanceResponse] = []
    bad = []
    for identifier, data in sorted(request.commitments):
        size = ISSUANCE_COMMITMENT_SIZE
        try:
            commitment = decode_issuance_commitment(data[index * size : (index + 1) * size])
        except ThresholdError:
            bad.append(identifier)
            continue
        if commitment.identifier != identifier:
            bad.append(identifier)
            continue
        commitments.append(commitment)
    for identifier, data in request.responses:
        size = ISSUANCE_RESPONSE_SIZE
        try:
            response = decode_issuance_response(data[index * size : (index + 1) * size])
        except ThresholdError:
            bad.append(identifier)
            continue
        if response.identifier != identifier:
            bad.append(identifier)
            continue
        responses.append(response)
    if bad:
        raise InvalidShare("malformed commitment or response", tuple(sorted(set(bad))))
    context = issue_context(ctx.chain_id, request.request_id, request.round, index)
    return aggregate_issuance(public, decode_element(blinded), commitments, responses, context)


def _aggregate(
    state: State, request: IssueRequest, holders: KeySet, ctx: BlockContext
) -> list[Event]:
    """Every output's signature, or a new round without the holders at fault."""
    keyset = get_keyset(state, request.keyset_epoch)
    assert keyset is not None
    signatures = []
    culprits: set[int] = set()
    packages: dict[int, PublicKeyPackage] = {}  # by key index: decoded once per request
    for index in range(len(request.outputs)):
        try:
            signature = _aggregate_output(holders, request, index, ctx, keyset, packages)
        except InvalidShare as exc:
            culprits.update(exc.identifiers)
            continue
        except ThresholdError:  # inconsistent keys: nobody to blame, try again
            continue
        signatures.append(encode_blind_signature(signature))
    if len(signatures) == len(request.outputs) and not culprits:
        return [_complete(state, request, tuple(signatures), ctx)]
    events = _blame(state, holders, request, sorted(culprits), bad=True)
    set_request(state, _next_round(request, holders, ctx, excluded=sorted(culprits)))
    return events


def _complete(
    state: State, request: IssueRequest, signatures: tuple[bytes, ...], ctx: BlockContext
) -> Event:
    done = replace(
        request,
        status=ISSUED,
        signatures=signatures,
        completed_at=ctx.height,
        commitments=(),
        responses=(),
    )
    set_request(state, done)
    _drop_pending(state, request.request_id)
    books = get_books(state)
    set_books(
        state,
        replace(
            books, issued=books.issued + request.value, in_flight=books.in_flight - request.value
        ),
    )
    attributes = (("request_id", request.request_id), ("outputs", len(signatures)))
    return mint_event("mint_issued", attributes)


def _blame(
    state: State, holders: KeySet, request: IssueRequest, culprits: list[int], bad: bool
) -> list[Event]:
    """Record a fault against each culprit: a bad share, or a missed round."""
    keys = {identifier: key for identifier, key, _ in holders.members}
    events = []
    for identifier in culprits:
        if identifier not in keys:
            continue
        validator = address_of(keys[identifier])
        record_fault(state, validator, bad=1 if bad else 0, missed=0 if bad else 1)
        attributes = (
            ("request_id", request.request_id),
            ("round", request.round),
            ("validator", validator),
        )
        events.append(
            mint_event("mint_share_rejected" if bad else "mint_holder_silent", attributes)
        )
    return events


def _next_round(
    request: IssueRequest, holders: KeySet, ctx: BlockContext, excluded: list[int]
) -> IssueRequest:
    """The request's next round, leaving ``excluded`` out too (after a
    resharing the identifiers are new: nobody stays left out)."""
    kept = set(request.excluded) if holders.epoch == request.holders_epoch else set()
    return replace(
        request,
        round=request.round + 1,
        round_started=ctx.height,
        holders_epoch=holders.epoch,
        commitments=(),
        responses=(),
        excluded=tuple(sorted(kept | set(excluded))),
    )


def _drop_pending(state: State, request_id: int) -> None:
    pending = get_pending(state, PENDING_ISSUES_KEY)
    set_pending(state, PENDING_ISSUES_KEY, tuple(i for i in pending if i != request_id))


def refund(state: State, config: MintConfig, request: IssueRequest, ctx: BlockContext) -> Event:
    """Give an unissued request's value back to its owner, from the reserve."""
    state.sub_balance(RESERVE_ADDRESS, config.asset, request.value)
    state.add_balance(request.owner, config.asset, request.value)
    set_request(
        state,
        replace(request, status=REFUNDED, completed_at=ctx.height, commitments=(), responses=()),
    )
    _drop_pending(state, request.request_id)
    books = get_books(state)
    set_books(state, replace(books, in_flight=books.in_flight - request.value))
    attributes = (("request_id", request.request_id), ("value", request.value))
    return mint_event("mint_refunded", attributes)


def advance_mint_issues(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: aggregate the requests whose responses came in this
    block (issue them, or blame and restart); refund the requests expiring
    now; restart the rounds whose response time ended with holders silent;
    restart every round of a key set reshared since the last block."""
    mint_config = get_config(state)
    if mint_config is None:
        return ()
    events: list[Event] = []
    for request_id in sorted(set(take_rechecks(state, TO_AGGREGATE_KEY))):
        request = get_request(state, request_id)
        if request is None or request.status != ISSUING:
            continue
        holders = _holders(state, request)
        if holders is None or holders.epoch != request.holders_epoch:
            continue
        if len(request.commitments) >= holders.threshold and len(request.responses) == len(
            request.commitments
        ):
            events.extend(_aggregate(state, request, holders, ctx))
    for request_id in take_deadlines(state, ISSUE_DEADLINE_PREFIX, ctx.height):
        request = get_request(state, request_id)
        if request is None or request.status != ISSUING:
            continue  # finished since: a stale deadline
        if request.expires_at <= ctx.height:
            events.append(refund(state, mint_config, request, ctx))
            continue
        holders = _holders(state, request)
        if holders is None or holders.epoch != request.holders_epoch:
            continue  # restarted below
        chosen = {i for i, _ in request.commitments}
        listed = len(chosen) >= holders.threshold
        if listed and request.round_started + mint_config.round_blocks <= ctx.height:
            silent = sorted(chosen - {i for i, _ in request.responses})
            events.extend(_blame(state, holders, request, silent, bad=False))
            left_out = _silent_left_out(request, holders, silent)
            set_request(state, _next_round(request, holders, ctx, excluded=left_out))
    _restart_reshared(state, ctx)
    return tuple(events)


def _silent_left_out(request: IssueRequest, holders: KeySet, silent: list[int]) -> list[int]:
    """The silent holders to leave out of the next round: all of them, unless
    that leaves fewer than t holders (then none: they may only be slow)."""
    members = {i for i, _, _ in holders.members}
    available = members - set(request.excluded) - set(silent)
    return silent if len(available) >= holders.threshold else []


def _restart_reshared(state: State, ctx: BlockContext) -> None:
    """Restart the rounds of the requests whose keyset's key set was reshared
    since the mint last looked (its commitments were made with old shares)."""
    reshared = {}
    for keyset in all_keysets(state):
        holders = get_key_set(state, keyset.key_set)
        if holders is not None and holders.epoch != keyset.holders_epoch:
            set_keyset(state, replace(keyset, holders_epoch=holders.epoch))
            reshared[keyset.epoch] = holders
    if not reshared:
        return
    for request_id in get_pending(state, PENDING_ISSUES_KEY):
        request = get_request(state, request_id)
        if request is None or request.status != ISSUING:
            continue
        holders = reshared.get(request.keyset_epoch)
        if holders is not None and request.holders_epoch != holders.epoch:
            set_request(state, _next_round(request, holders, ctx, excluded=[]))
