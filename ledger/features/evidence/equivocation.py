"""Evidence of equivocation, recorded on chain (body kind 2, ``record_evidence``).

A validator that signs two different prevotes, precommits or proposals for
one height and round has equivocated. The consensus engine detects it and
the node that saw it submits the two signed messages in a transaction; the
chain checks both signatures against the accused validator's key and
records the fact once, under state key ``e || address || height (8) ||
round (4) || step (1)``, with an ``evidence`` event. What to do about it
(remove the validator, seize a bond) is governance's decision; the record
is the proof.

The evidence bytes are consensus's canonical encoding (docs/spec/consensus.md):

    [1, vote_a, vote_b]          vote = [step, height, round, hash | nil, validator, signature]
    [2, proposal_a, proposal_b]  proposal = [height, round, pol_round, hash, proposer, signature]

with the two messages distinct and in the order of their encodings. The
ledger re-checks them itself (it does not import consensus): the signing
digests are ``signing_digest(tag, chain_id, payload)`` with the tags below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ledger import codec, crypto
from ledger.address import ADDRESS_SIZE
from ledger.context import BlockContext, Outcome
from ledger.exceptions import AlreadyExists, InvalidOperation, UnknownRecord
from ledger.features.evidence.bodies import MAX_EVIDENCE_SIZE, RecordEvidence
from ledger.fields import DecodeError, check_bytes, ensure
from ledger.state import VALIDATORS_KEY, State
from ledger.types import Event, Transaction

EVIDENCE_PREFIX: Final = b"e"
PROPOSE, PREVOTE, PRECOMMIT = 1, 2, 3
VOTE_TAGS: Final = {PREVOTE: "ledger/prevote/v1", PRECOMMIT: "ledger/precommit/v1"}
PROPOSAL_TAG: Final = "ledger/proposal/v1"
TAG_DUPLICATE_VOTE: Final = 1
TAG_DUPLICATE_PROPOSAL: Final = 2


@dataclass(frozen=True, slots=True)
class Equivocation:
    """What a piece of evidence claims: who, where, and the two signed digests."""

    validator: bytes
    height: int
    round: int
    step: int
    signed: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]  # (digest, signature) twice


def parse_evidence(data: bytes, chain_id: str) -> Equivocation:
    """Decode evidence and derive the digests its signatures must cover.
    Raises DecodeError if it is malformed or shows no conflict."""
    try:
        value = codec.decode(data, max_size=MAX_EVIDENCE_SIZE)
    except codec.CodecError as exc:
        raise DecodeError(f"evidence encoding: {exc}") from exc
    ensure(isinstance(value, tuple) and len(value) == 3, "evidence is [tag, first, second]")
    tag, first, second = value
    ensure(codec.encode(first) < codec.encode(second), "messages must differ, in canonical order")
    if tag == TAG_DUPLICATE_VOTE:
        return _parse_votes(first, second, chain_id)
    if tag == TAG_DUPLICATE_PROPOSAL:
        return _parse_proposals(first, second, chain_id)
    raise DecodeError(f"unknown evidence tag {tag!r}")


def _parse_votes(first: object, second: object, chain_id: str) -> Equivocation:
    votes = [_vote_fields(v) for v in (first, second)]
    (step, height, round_, hash_a, validator, sig_a), (*slot_b, hash_b, validator_b, sig_b) = votes
    ensure((step, height, round_, validator) == (*slot_b, validator_b), "votes of different slots")
    ensure(hash_a != hash_b, "the votes do not conflict")
    tag = VOTE_TAGS[step]
    return Equivocation(
        validator,
        height,
        round_,
        step,
        (
            (crypto.signing_digest(tag, chain_id, (height, round_, hash_a)), sig_a),
            (crypto.signing_digest(tag, chain_id, (height, round_, hash_b)), sig_b),
        ),
    )


def _vote_fields(value: object) -> tuple[Any, ...]:
    ensure(isinstance(value, tuple) and len(value) == 6, "a vote has 6 fields")
    assert isinstance(value, tuple)
    step, height, round_, block_hash, validator, signature = value
    ensure(step in VOTE_TAGS and type(step) is int, "a vote's step is prevote or precommit")
    ensure(type(height) is int and height >= 1, "height")
    ensure(type(round_) is int and round_ >= 0, "round")
    ensure(block_hash is None or (isinstance(block_hash, bytes) and len(block_hash) == 32), "hash")
    check_bytes(validator, "validator", ADDRESS_SIZE)
    check_bytes(signature, "signature", crypto.SIGNATURE_SIZE)
    return value


def _parse_proposals(first: object, second: object, chain_id: str) -> Equivocation:
    proposals = [_proposal_fields(p) for p in (first, second)]
    (height, round_, pol_a, hash_a, proposer, sig_a) = proposals[0]
    (height_b, round_b, pol_b, hash_b, proposer_b, sig_b) = proposals[1]
    ensure((height, round_, proposer) == (height_b, round_b, proposer_b), "different slots")
    ensure((pol_a, hash_a) != (pol_b, hash_b), "the proposals do not conflict")
    return Equivocation(
        proposer,
        height,
        round_,
        PROPOSE,
        (
            (crypto.signing_digest(PROPOSAL_TAG, chain_id, (height, round_, pol_a, hash_a)), sig_a),
            (crypto.signing_digest(PROPOSAL_TAG, chain_id, (height, round_, pol_b, hash_b)), sig_b),
        ),
    )


def _proposal_fields(value: object) -> tuple[Any, ...]:
    ensure(isinstance(value, tuple) and len(value) == 6, "a proposal has 6 fields")
    assert isinstance(value, tuple)
    height, round_, pol_round, block_hash, proposer, signature = value
    ensure(type(height) is int and height >= 1, "height")
    ensure(type(round_) is int and round_ >= 0, "round")
    ensure(type(pol_round) is int and -1 <= pol_round < round_, "pol_round")
    check_bytes(block_hash, "block_hash", 32)
    check_bytes(proposer, "proposer", ADDRESS_SIZE)
    check_bytes(signature, "signature", crypto.SIGNATURE_SIZE)
    return value


def evidence_key(equivocation: Equivocation) -> bytes:
    """Where the record of one equivocation lives."""
    return (
        EVIDENCE_PREFIX
        + equivocation.validator
        + equivocation.height.to_bytes(8, "big")
        + equivocation.round.to_bytes(4, "big")
        + bytes([equivocation.step])
    )


def validator_public_key(state: State, address: bytes) -> bytes | None:
    """The key of a validator in the newest validator set (the ``v`` record)."""
    raw = state.get_raw(VALIDATORS_KEY)
    if raw is None:
        return None
    for public_key, _power, _name in codec.decode(raw):
        if crypto.sha256(public_key)[:ADDRESS_SIZE] == address:
            return bytes(public_key)
    return None


def execute_record_evidence(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Check the evidence and record it once. Raises ExecutionFailure."""
    body = tx.body
    assert isinstance(body, RecordEvidence)
    try:
        equivocation = parse_evidence(body.evidence, ctx.chain_id)
    except DecodeError as exc:
        raise InvalidOperation(f"malformed evidence: {exc}") from exc
    if equivocation.height > ctx.height:
        raise InvalidOperation("evidence from a height that has not happened")
    public_key = validator_public_key(state, equivocation.validator)
    if public_key is None:
        raise UnknownRecord("the accused is not in the current validator set")
    for digest, signature in equivocation.signed:
        if not crypto.verify_digest(public_key, digest, signature):
            raise InvalidOperation("an evidence signature does not verify")
    key = evidence_key(equivocation)
    if state.get_raw(key) is not None:
        raise AlreadyExists("this equivocation is already recorded")
    state.set_raw(key, codec.encode((ctx.height, tx.sender_address)))
    attributes = (
        ("height", equivocation.height),
        ("reporter", tx.sender_address),
        ("round", equivocation.round),
        ("step", equivocation.step),
        ("validator", equivocation.validator),
    )
    return Outcome(events=(Event("evidence", attributes),))
