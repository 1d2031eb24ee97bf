"""The validators' threshold key on chain: the group record, the ceremony
registry, requests, results, and the end-of-block step that schedules key
generation and resharing.

The ceremonies themselves run off chain, between the validators' nodes
(consensus.node.threshold.service); the chain is where they are asked for, where
their parameters are fixed for every node alike, and where their results
become final:

- a **DKG** is requested by the end-of-block step when the genesis enabled the
  threshold key and there is no group yet (so at block 1, and again after a
  failed attempt), or when another feature asked for a named key set
  (ledger.features.threshold.key_sets) that has no keys yet; its
  participants are the validators in force at the next block, identifier
  i+1 for the i-th by address;
- a **resharing** is requested by the end-of-block step when the group's or
  a key set's members differ from the next block's validators (a
  validator-set change executed at H is in force at H+2; the resharing is
  requested at H+1), or for the group by the governance policy
  (``threshold_reshare``);
- a **signing** is requested by anyone for a domain-separated message
  (``threshold_sign_message``), or by the governance policy for a transaction
  from the group account (``threshold_sign_transaction``).

A ceremony names what it makes or reshares: the group (``key_set`` "") or a
named key set, and how many keys (``key_count``, 1 for the group); all of
them go through the same phases together. A DKG or resharing completes when
``threshold`` participants have reported the same ``[transcript hash,
[public key package per key]]`` (``threshold_result``; a
participant's newer report, from a later attempt, replaces its older one);
the package is checked (threshold, members, and for a resharing the
unchanged public keys) before any report counts. A signing completes with the
first reported signature that verifies under the group key. Unfinished
ceremonies fail at their expiry height.

State records (prefix ``T``):

    Tk              -> true: the genesis enabled the threshold key
    Tg              -> the group: [public key, threshold, [[id, validator key,
                       verification share], ...], epoch, ceremony id]
    Tn              -> the next ceremony id
    Tl              -> [[pending ids], [recently finished ids, oldest first]]
    Tc || id(8)     -> a ceremony (see Ceremony.to_value)

Over 600 lines: the group record, the ceremony registry and the three
ceremony kinds' requests and results share the registry's records (the key
set records are in key_sets.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from ledger import codec, crypto
from ledger.address import address_of
from ledger.context import BlockContext, Outcome
from ledger.exceptions import (
    AlreadyExists,
    InvalidOperation,
    LimitExceeded,
    NotAuthorized,
    UnknownRecord,
)
from ledger.features.threshold.bodies import (
    ThresholdReshare,
    ThresholdResult,
    ThresholdSignMessage,
    ThresholdSignTransaction,
)
from ledger.features.threshold.key_sets import (
    KeySet,
    get_key_set,
    get_wanted,
    set_key_set,
    wanted_count,
)
from ledger.features.validators.interface import validator_set_at
from ledger.fields import DecodeError, check_bytes, check_uint, ensure
from ledger.genesis import Genesis
from ledger.state import State, StateReader
from ledger.threshold import frost
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import decode_element, encode_element, multi_mul
from ledger.threshold.keys import PublicKeyPackage
from ledger.threshold.polynomial import derive_interpolating_value
from ledger.threshold.transport import TRANSCRIPT_SIZE, decode_public_key_package
from ledger.types import Event, Transaction, decode_transaction

ENABLED_KEY: Final = b"Tk"
GROUP_KEY: Final = b"Tg"
NEXT_ID_KEY: Final = b"Tn"
LIST_KEY: Final = b"Tl"
CEREMONY_PREFIX: Final = b"Tc"

MESSAGE_DOMAIN: Final = "ledger/threshold/message/v1"
KIND_DKG: Final = 1
KIND_RESHARE: Final = 2
KIND_SIGN: Final = 3
KIND_NAMES: Final = {KIND_DKG: "dkg", KIND_RESHARE: "reshare", KIND_SIGN: "sign"}
PENDING: Final = 0
COMPLETED: Final = 1
FAILED: Final = 2
STATUS_NAMES: Final = {PENDING: "pending", COMPLETED: "completed", FAILED: "failed"}

# Ceremony timing, in blocks (the same on every node: nodes pace their
# rounds by committed heights, see consensus.node.threshold.runs).
PHASE_BLOCKS: Final = 4
KEYGEN_EXPIRY_BLOCKS: Final = 400
SIGN_EXPIRY_BLOCKS: Final = 200
MAX_PENDING: Final = 16
RECENT_KEPT: Final = 16


def default_threshold(members: int) -> int:
    """floor(2n/3) + 1, at most n: the same fraction as the consensus quorum, so
    the key survives whatever consensus survives (n=4: 3, n=10: 7)."""
    return min(members, 2 * members // 3 + 1)


@dataclass(frozen=True, slots=True)
class Group:
    """The validators' threshold key as the chain knows it."""

    public_key: bytes
    threshold: int
    members: tuple[tuple[int, bytes, bytes], ...]  # (identifier, validator key, share), by id
    epoch: int
    ceremony_id: int

    @property
    def address(self) -> bytes:
        """The group account: address_of(group public key)."""
        return address_of(self.public_key)

    def member_keys(self) -> tuple[bytes, ...]:
        return tuple(key for _, key, _ in self.members)

    def identifier_of(self, validator_key: bytes) -> int | None:
        for identifier, key, _ in self.members:
            if key == validator_key:
                return identifier
        return None

    def public_package(self) -> PublicKeyPackage:
        """The group's public data for the threshold library."""
        shares = {i: decode_element(share) for i, _, share in self.members}
        return PublicKeyPackage(decode_element(self.public_key), self.threshold, shares)

    def to_value(self) -> tuple[Any, ...]:
        return (self.public_key, self.threshold, self.members, self.epoch, self.ceremony_id)

    def as_key_set(self) -> KeySet:
        """The group as a key set of one key (named "", as its ceremonies are)."""
        members = tuple((i, key, (share,)) for i, key, share in self.members)
        return KeySet("", (self.public_key,), self.threshold, members, self.epoch, self.ceremony_id)


@dataclass(frozen=True, slots=True)
class Ceremony:
    """One requested ceremony and its outcome."""

    ceremony_id: int
    kind: int
    status: int
    requested_at: int
    expires_at: int
    requester: bytes  # 20-byte address, or b"" when the protocol asked
    epoch: int  # the group epoch it starts from (0 for a DKG)
    threshold: int  # of the resulting group (for signing: the group's)
    participants: tuple[bytes, ...]  # validator keys; a DKG/reshare identifier is index + 1
    message: bytes = b""  # signing: what the group key signs
    transaction: bytes = b""  # signing a transaction: its unsigned encoding
    result: bytes = b""  # the signature, or [transcript hash, public key package]
    reports: tuple[tuple[bytes, bytes], ...] = ()  # (reporter key, SHA-256 of its result)
    completed_at: int = 0
    key_set: str = ""  # "": the validators' FROST key (the group); else a named key set
    key_count: int = 1  # keys made or reshared together (a key set's size)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.kind,
            self.status,
            self.requested_at,
            self.expires_at,
            self.requester,
            self.epoch,
            self.threshold,
            self.participants,
            self.message,
            self.transaction,
            self.result,
            self.reports,
            self.completed_at,
            self.key_set,
            self.key_count,
        )


# -- records -------------------------------------------------------------------


def ceremony_key(ceremony_id: int) -> bytes:
    return CEREMONY_PREFIX + ceremony_id.to_bytes(8, "big")


def is_enabled(state: State) -> bool:
    return state.get_raw(ENABLED_KEY) is not None


def enable_threshold_key(state: State) -> None:
    """Genesis: the validators shall hold a threshold key (a DKG at block 1)."""
    state.set_raw(ENABLED_KEY, codec.encode(True))


def enable_at_genesis(state: State, genesis: Genesis) -> None:
    """Genesis step: enable the threshold key if the document asks for it."""
    if genesis.threshold_key:
        enable_threshold_key(state)


def get_group(state: State) -> Group | None:
    raw = state.get_raw(GROUP_KEY)
    if raw is None:
        return None
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 5, "group record has 5 fields")
    public_key, threshold, members, epoch, ceremony_id = value
    return Group(
        check_bytes(public_key, "group key", 33),
        check_uint(threshold, "threshold"),
        tuple((i, key, share) for i, key, share in members),
        check_uint(epoch, "epoch"),
        check_uint(ceremony_id, "ceremony id"),
    )


def set_group(state: State, group: Group) -> None:
    state.set_raw(GROUP_KEY, codec.encode(group.to_value()))


def get_ceremony(state: State, ceremony_id: int) -> Ceremony | None:
    raw = state.get_raw(ceremony_key(ceremony_id))
    if raw is None:
        return None
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 15, "ceremony record has 15 fields")
    (kind, status, requested, expires, requester, epoch, threshold, participants) = value[:8]
    message, transaction, result, reports, completed, key_set, key_count = value[8:]
    return Ceremony(
        ceremony_id,
        kind,
        status,
        requested,
        expires,
        requester,
        epoch,
        threshold,
        tuple(participants),
        message,
        transaction,
        result,
        tuple((key, digest) for key, digest in reports),
        completed,
        key_set,
        key_count,
    )


def set_ceremony(state: State, ceremony: Ceremony) -> None:
    state.set_raw(ceremony_key(ceremony.ceremony_id), codec.encode(ceremony.to_value()))


def get_lists(state: State) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(pending ceremony ids, recently finished ids)."""
    raw = state.get_raw(LIST_KEY)
    if raw is None:
        return (), ()
    pending, recent = codec.decode(raw)
    return tuple(pending), tuple(recent)


def set_lists(state: State, pending: tuple[int, ...], recent: tuple[int, ...]) -> None:
    state.set_raw(LIST_KEY, codec.encode((pending, recent[-RECENT_KEPT:])))


def pending_ceremonies(state: State) -> list[Ceremony]:
    pending, _ = get_lists(state)
    ceremonies = [get_ceremony(state, cid) for cid in pending]
    assert all(c is not None for c in ceremonies), "pending list names a missing ceremony"
    return [c for c in ceremonies if c is not None]


def open_ceremony(
    state: State,
    ctx: BlockContext,
    kind: int,
    requester: bytes,
    epoch: int,
    threshold: int,
    participants: tuple[bytes, ...],
    message: bytes = b"",
    transaction: bytes = b"",
    key_set: str = "",
    key_count: int = 1,
) -> tuple[Ceremony, Event]:
    """Register a pending ceremony. Raises LimitExceeded if too many are pending."""
    pending, recent = get_lists(state)
    if len(pending) >= MAX_PENDING:
        raise LimitExceeded(f"at most {MAX_PENDING} threshold ceremonies may be pending")
    raw_next = state.get_raw(NEXT_ID_KEY)
    ceremony_id = codec.decode(raw_next) if raw_next is not None else 1
    state.set_raw(NEXT_ID_KEY, codec.encode(ceremony_id + 1))
    expiry = SIGN_EXPIRY_BLOCKS if kind == KIND_SIGN else KEYGEN_EXPIRY_BLOCKS
    ceremony = Ceremony(
        ceremony_id,
        kind,
        PENDING,
        ctx.height,
        ctx.height + expiry,
        requester,
        epoch,
        threshold,
        participants,
        message,
        transaction,
        key_set=key_set,
        key_count=key_count,
    )
    set_ceremony(state, ceremony)
    set_lists(state, (*pending, ceremony_id), recent)
    attributes = (
        ("ceremony_id", ceremony_id),
        ("key_set", key_set),
        ("keys", key_count),
        ("kind", ceremony.kind_name),
        ("participants", len(participants)),
        ("threshold", threshold),
    )
    return ceremony, Event("threshold_ceremony_requested", attributes)


def finish_ceremony(state: State, ceremony: Ceremony) -> None:
    """Store a completed or failed ceremony and move it to the recent list."""
    assert ceremony.status != PENDING
    set_ceremony(state, ceremony)
    pending, recent = get_lists(state)
    set_lists(
        state,
        tuple(c for c in pending if c != ceremony.ceremony_id),
        (*recent, ceremony.ceremony_id),
    )


# -- requests --------------------------------------------------------------------


def require_group(state: State) -> Group:
    group = get_group(state)
    if group is None:
        raise UnknownRecord("the validators hold no threshold key yet")
    return group


def message_to_sign(chain_id: str, requester: bytes, message: bytes) -> bytes:
    """What the group key signs for a ``threshold_sign_message`` request."""
    return codec.encode((MESSAGE_DOMAIN, chain_id, requester, message))


def request_sign_message(
    state: State, actor: bytes, body: ThresholdSignMessage, ctx: BlockContext
) -> Outcome:
    """Anyone: open a signing ceremony for a domain-separated message."""
    group = require_group(state)
    _, event = open_ceremony(
        state,
        ctx,
        KIND_SIGN,
        actor,
        group.epoch,
        group.threshold,
        group.member_keys(),
        message=message_to_sign(ctx.chain_id, actor, body.message),
    )
    return Outcome(events=(event,))


def decode_unsigned_transaction(data: bytes) -> Transaction:
    """An unsigned transaction: the canonical encoding of its signed fields
    ``[version, chain_id, sender, nonce, fee, body]``. Raises DecodeError."""
    try:
        fields = codec.decode(data)
    except codec.CodecError as exc:
        raise DecodeError(f"unsigned transaction: {exc}") from exc
    ensure(isinstance(fields, tuple) and len(fields) == 6, "an unsigned transaction has 6 fields")
    # Decode strictly through the signed form, with an all-zero signature standing in.
    return decode_transaction(codec.encode((*fields, bytes(frost.SIGNATURE_SIZE))))


def encode_unsigned_transaction(tx: Transaction) -> bytes:
    """The bytes a ``threshold_sign_transaction`` carries."""
    return codec.encode(tx.unsigned_fields())


def request_sign_transaction(
    state: State, actor: bytes, body: ThresholdSignTransaction, ctx: BlockContext
) -> Outcome:
    """Governance action: open a signing ceremony for a group-account transaction.

    Raises InvalidOperation for a malformed transaction, one for another
    chain, or one whose sender is not the group key.
    """
    group = require_group(state)
    try:
        tx = decode_unsigned_transaction(body.transaction)
    except DecodeError as exc:
        raise InvalidOperation(f"malformed transaction: {exc}") from exc
    if tx.chain_id != ctx.chain_id:
        raise InvalidOperation(f"the transaction is for chain {tx.chain_id!r}")
    if tx.sender != group.public_key:
        raise InvalidOperation("the transaction's sender is not the group key")
    _, event = open_ceremony(
        state,
        ctx,
        KIND_SIGN,
        actor,
        group.epoch,
        group.threshold,
        group.member_keys(),
        message=tx.signing_digest(),
        transaction=body.transaction,
    )
    return Outcome(events=(event,))


def _keygen_pending(state: State, key_set: str = "") -> bool:
    """Whether a DKG or resharing of the group (""), or of a named key set, is pending."""
    return any(
        c.kind in (KIND_DKG, KIND_RESHARE) and c.key_set == key_set
        for c in pending_ceremonies(state)
    )


def _next_validators(state: State, ctx: BlockContext) -> tuple[bytes, ...]:
    return tuple(v.public_key for v in validator_set_at(state, ctx.height + 1))


def request_reshare(
    state: State, actor: bytes, body: ThresholdReshare, ctx: BlockContext
) -> Outcome:
    """Governance action: reshare to the next block's validators.

    Raises AlreadyExists while a DKG or resharing is pending, InvalidOperation
    for a threshold above the member count.
    """
    group = require_group(state)
    if _keygen_pending(state):
        raise AlreadyExists("a key generation or resharing is already pending")
    participants = _next_validators(state, ctx)
    threshold = body.threshold or default_threshold(len(participants))
    if threshold > len(participants):
        raise InvalidOperation(f"threshold {threshold} exceeds {len(participants)} validators")
    _, event = open_ceremony(state, ctx, KIND_RESHARE, actor, group.epoch, threshold, participants)
    return Outcome(events=(event,))


# -- results ---------------------------------------------------------------------


def encode_keygen_result(transcript_hash: bytes, public_packages: Sequence[bytes]) -> bytes:
    """The ``threshold_result`` payload of a DKG or resharing: the transcript
    hash and one encoded public key package per key (one for the group)."""
    return codec.encode((transcript_hash, tuple(public_packages)))


def decode_keygen_result(data: bytes) -> tuple[bytes, tuple[PublicKeyPackage, ...]]:
    """Raises InvalidOperation for a malformed payload."""
    try:
        value = codec.decode(data)
        ensure(isinstance(value, tuple) and len(value) == 2, "[transcript hash, [package...]]")
        transcript, packages = value
        ensure(isinstance(transcript, bytes) and len(transcript) == TRANSCRIPT_SIZE, "hash")
        ensure(isinstance(packages, tuple) and len(packages) >= 1, "packages")
        ensure(all(isinstance(p, bytes) for p in packages), "packages are bytes")
        return transcript, tuple(decode_public_key_package(p) for p in packages)
    except (codec.CodecError, DecodeError, ThresholdError) as exc:
        raise InvalidOperation(f"malformed key generation result: {exc}") from exc


def old_public_keys(ceremony: Ceremony, state: State) -> tuple[bytes, ...] | None:
    """The public keys a resharing must keep (None if the holders are gone)."""
    if not ceremony.key_set:
        group = get_group(state)
        return None if group is None else (group.public_key,)
    key_set = get_key_set(state, ceremony.key_set)
    return None if key_set is None else key_set.public_keys


def check_keygen_package(
    ceremony: Ceremony, public: PublicKeyPackage, old_key: bytes | None
) -> None:
    """The rules one reported public key package must meet (``old_key``: the
    key a resharing keeps). Raises InvalidOperation."""
    if public.threshold != ceremony.threshold:
        raise InvalidOperation(f"threshold {public.threshold}, expected {ceremony.threshold}")
    members = public.members
    count = len(ceremony.participants)
    if not all(1 <= i <= count for i in members):
        raise InvalidOperation("a member identifier is not a participant")
    if ceremony.kind == KIND_RESHARE:
        if members != tuple(range(1, count + 1)):
            raise InvalidOperation("a resharing gives every participant a share")
        if old_key is None or encode_element(public.group_public_key) != old_key:
            raise InvalidOperation("a resharing must keep the public key")
    # The first t verification shares must interpolate to the group key.
    first = members[: public.threshold]
    terms = [(public.verification_share(i), derive_interpolating_value(first, i)) for i in first]
    if multi_mul(terms) != public.group_public_key:
        raise InvalidOperation("the verification shares do not interpolate to the group key")


def check_keygen_packages(
    state: State, ceremony: Ceremony, packages: tuple[PublicKeyPackage, ...]
) -> None:
    """Every key's package of a report. Raises InvalidOperation."""
    if len(packages) != ceremony.key_count:
        raise InvalidOperation(f"{len(packages)} key packages, expected {ceremony.key_count}")
    if ceremony.key_set and wanted_count(state, ceremony.key_set) is None:
        raise InvalidOperation(f"key set {ceremony.key_set!r} was retired")
    old_keys = old_public_keys(ceremony, state) if ceremony.kind == KIND_RESHARE else None
    if ceremony.kind == KIND_RESHARE and (old_keys is None or len(old_keys) != len(packages)):
        raise InvalidOperation("a resharing must keep every public key")
    members = packages[0].members
    for index, public in enumerate(packages):
        if public.members != members:
            raise InvalidOperation("every key of a set has the same members")
        check_keygen_package(ceremony, public, old_keys[index] if old_keys else None)


def submit_result(state: State, actor: bytes, body: ThresholdResult, ctx: BlockContext) -> Outcome:
    """A participant reports a ceremony's outcome. Raises UnknownRecord,
    NotAuthorized, AlreadyExists, InvalidOperation."""
    ceremony = get_ceremony(state, body.ceremony_id)
    if ceremony is None or ceremony.status != PENDING:
        raise UnknownRecord(f"no pending threshold ceremony {body.ceremony_id}")
    reporter = next((k for k in ceremony.participants if address_of(k) == actor), None)
    if reporter is None:
        raise NotAuthorized("the sender is not a participant of this ceremony")
    if ceremony.kind == KIND_SIGN:
        return _complete_signing(state, ceremony, body.result, ctx)
    return _report_keygen(state, ceremony, reporter, body.result, ctx)


def _complete_signing(
    state: State, ceremony: Ceremony, signature: bytes, ctx: BlockContext
) -> Outcome:
    group = require_group(state)
    if not frost.verify_signature(group.public_key, ceremony.message, signature):
        raise InvalidOperation("the signature does not verify under the group key")
    done = replace(ceremony, status=COMPLETED, result=signature, completed_at=ctx.height)
    finish_ceremony(state, done)
    return Outcome(events=(_completed_event(done),))


def _report_keygen(
    state: State, ceremony: Ceremony, reporter: bytes, result: bytes, ctx: BlockContext
) -> Outcome:
    _transcript, packages = decode_keygen_result(result)
    check_keygen_packages(state, ceremony, packages)
    digest = crypto.sha256(result)
    if (reporter, digest) in ceremony.reports:
        raise AlreadyExists("this participant already reported this result")
    # A participant's latest report replaces its earlier one (from a failed attempt).
    others = tuple(r for r in ceremony.reports if r[0] != reporter)
    reports = (*others, (reporter, digest))
    agreeing = sum(1 for _, d in reports if d == digest)
    if agreeing < ceremony.threshold:
        set_ceremony(state, replace(ceremony, reports=reports))
        attributes = (("ceremony_id", ceremony.ceremony_id), ("reporter", address_of(reporter)))
        return Outcome(events=(Event("threshold_result_reported", attributes),))
    _adopt_packages(state, ceremony, packages)
    done = replace(
        ceremony, status=COMPLETED, result=result, reports=reports, completed_at=ctx.height
    )
    finish_ceremony(state, done)
    return Outcome(events=(_completed_event(done),))


def _adopt_packages(
    state: State, ceremony: Ceremony, packages: tuple[PublicKeyPackage, ...]
) -> None:
    """Store the agreed keys: the group's, or a key set's (a new epoch)."""
    members = packages[0].members
    if not ceremony.key_set:
        group = get_group(state)
        public = packages[0]
        set_group(
            state,
            Group(
                encode_element(public.group_public_key),
                public.threshold,
                tuple(
                    (i, ceremony.participants[i - 1], encode_element(public.verification_share(i)))
                    for i in members
                ),
                group.epoch + 1 if group is not None else 1,
                ceremony.ceremony_id,
            ),
        )
        return
    previous = get_key_set(state, ceremony.key_set)
    set_key_set(
        state,
        KeySet(
            ceremony.key_set,
            tuple(encode_element(p.group_public_key) for p in packages),
            packages[0].threshold,
            tuple(
                (
                    i,
                    ceremony.participants[i - 1],
                    tuple(encode_element(p.verification_share(i)) for p in packages),
                )
                for i in members
            ),
            previous.epoch + 1 if previous is not None else 1,
            ceremony.ceremony_id,
        ),
    )


def _completed_event(ceremony: Ceremony) -> Event:
    return Event(
        "threshold_ceremony_completed",
        (("ceremony_id", ceremony.ceremony_id), ("kind", ceremony.kind_name)),
    )


# -- end of block ----------------------------------------------------------------


def schedule_threshold_ceremonies(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: fail expired ceremonies; request a DKG when the
    group (if the genesis enabled it) or a wanted key set has no keys yet,
    and a resharing when their members are not the next block's validators."""
    events: list[Event] = []
    for ceremony in pending_ceremonies(state):
        if ceremony.expires_at <= ctx.height:
            finish_ceremony(state, replace(ceremony, status=FAILED, completed_at=ctx.height))
            attributes = (("ceremony_id", ceremony.ceremony_id), ("kind", ceremony.kind_name))
            events.append(Event("threshold_ceremony_failed", attributes))
    participants = _next_validators(state, ctx)
    threshold = default_threshold(len(participants))
    holders: list[tuple[str, int, tuple[bytes, ...] | None, int]] = []
    if is_enabled(state):
        group = get_group(state)
        holders.append(
            ("", 1, group.member_keys() if group else None, group.epoch if group else 0)
        )
    for name, count in get_wanted(state):
        held = get_key_set(state, name)
        members = held.member_keys() if held else None
        holders.append((name, count, members, held.epoch if held else 0))
    for name, count, current, epoch in holders:
        if _keygen_pending(state, name) or len(get_lists(state)[0]) >= MAX_PENDING:
            continue
        if current is None:
            kind = KIND_DKG
        elif set(current) != set(participants):
            kind = KIND_RESHARE
        else:
            continue
        _, event = open_ceremony(
            state, ctx, kind, b"", epoch, threshold, participants, key_set=name, key_count=count
        )
        events.append(event)
    return tuple(events)


# -- queries (for the RPC layer and the node) ------------------------------------


def threshold_group(reader: StateReader) -> Group | None:
    """The group in committed state, or None."""
    return get_group(State(reader))


def next_ceremony_id(reader: StateReader) -> int:
    """The id the next requested ceremony will get."""
    raw = reader.get_state(NEXT_ID_KEY)
    return codec.decode(raw) if raw is not None else 1


def threshold_ceremony(reader: StateReader, ceremony_id: int) -> Ceremony | None:
    return get_ceremony(State(reader), ceremony_id)


def threshold_ceremonies(reader: StateReader) -> tuple[list[Ceremony], list[Ceremony]]:
    """(pending ceremonies by id, recently finished ones, newest first)."""
    state = State(reader)
    _, recent = get_lists(state)
    found = [get_ceremony(state, cid) for cid in recent]
    finished = [c for c in reversed(found) if c is not None]
    return pending_ceremonies(state), finished


def key_set_holders(reader: StateReader, key_set: str) -> KeySet | None:
    """The current holders of the group ("") or of a named key set, as a key set."""
    state = State(reader)
    if not key_set:
        group = get_group(state)
        return None if group is None else group.as_key_set()
    return get_key_set(state, key_set)


def threshold_key_set(reader: StateReader, name: str) -> KeySet | None:
    """A named key set in committed state, or None."""
    return get_key_set(State(reader), name)


def threshold_key_sets(reader: StateReader) -> list[KeySet]:
    """Every named key set the validators hold, by name."""
    state = State(reader)
    found = [get_key_set(state, name) for name, _ in get_wanted(state)]
    return [k for k in found if k is not None]


def threshold_enabled(reader: StateReader) -> bool:
    return is_enabled(State(reader))
