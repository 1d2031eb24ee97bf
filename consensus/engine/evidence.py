"""Evidence of equivocation: two different signed messages from one validator
for one height, round and step.

``DuplicateVote`` holds two prevotes (or two precommits) for different
values; ``DuplicateProposal`` holds two proposals for one round that differ
in block or proof-of-lock round. The engine emits them for the application
to record on chain; anyone with the validator set can check them with
``verify_evidence``. The two messages are kept in canonical order (by their
encoded bytes), so one equivocation has exactly one encoding::

    [1, vote_a, vote_b]            vote as [step, height, round, hash|nil, validator, sig]
    [2, proposal_a, proposal_b]    proposal as [height, round, pol_round, hash, proposer, sig]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from consensus.engine.messages import (
    MessageError,
    Proposal,
    Verifier,
    Vote,
    proposal_from_value,
    vote_from_value,
)
from consensus.engine.validators import ValidatorSet
from ledger import codec, crypto

TAG_DUPLICATE_VOTE: Final = 1
TAG_DUPLICATE_PROPOSAL: Final = 2


class InvalidEvidence(ValueError):
    """Raised for evidence that does not decode or does not prove equivocation."""


@dataclass(frozen=True, slots=True)
class DuplicateVote:
    """Two conflicting votes of one validator for one height, round and step."""

    first: Vote
    second: Vote

    @property
    def validator(self) -> bytes:
        return self.first.validator

    @property
    def height(self) -> int:
        return self.first.height


@dataclass(frozen=True, slots=True)
class DuplicateProposal:
    """Two conflicting proposals of one proposer for one height and round."""

    first: Proposal
    second: Proposal

    @property
    def validator(self) -> bytes:
        return self.first.proposer

    @property
    def height(self) -> int:
        return self.first.height


Evidence = DuplicateVote | DuplicateProposal


def duplicate_vote(a: Vote, b: Vote) -> DuplicateVote:
    """Evidence from two conflicting votes, in canonical order."""
    first, second = sorted((a, b), key=lambda v: codec.encode(v.to_value()))
    return DuplicateVote(first, second)


def duplicate_proposal(a: Proposal, b: Proposal) -> DuplicateProposal:
    """Evidence from two conflicting proposals, in canonical order."""
    first, second = sorted((a, b), key=lambda p: codec.encode(p.to_value()))
    return DuplicateProposal(first, second)


def encode_evidence(evidence: Evidence) -> bytes:
    """Canonical bytes of a piece of evidence."""
    tag = TAG_DUPLICATE_VOTE if isinstance(evidence, DuplicateVote) else TAG_DUPLICATE_PROPOSAL
    return codec.encode((tag, evidence.first.to_value(), evidence.second.to_value()))


def decode_evidence(data: bytes) -> Evidence:
    """Strictly decode evidence bytes (structure and canonical order, not
    signatures). Raises InvalidEvidence."""
    try:
        value = codec.decode(data)
        if not (isinstance(value, tuple) and len(value) == 3 and type(value[0]) is int):
            raise InvalidEvidence("evidence is [tag, first, second]")
        tag, first, second = value
        evidence: Evidence
        if tag == TAG_DUPLICATE_VOTE:
            evidence = DuplicateVote(vote_from_value(first), vote_from_value(second))
        elif tag == TAG_DUPLICATE_PROPOSAL:
            evidence = DuplicateProposal(proposal_from_value(first), proposal_from_value(second))
        else:
            raise InvalidEvidence(f"unknown evidence tag {tag}")
    except (codec.CodecError, MessageError) as exc:
        raise InvalidEvidence(f"evidence encoding: {exc}") from exc
    if encode_evidence(evidence) != data or codec.encode(first) >= codec.encode(second):
        raise InvalidEvidence("evidence messages must be distinct and in canonical order")
    return evidence


def verify_evidence(
    evidence: Evidence,
    validator_set: ValidatorSet,
    chain_id: str,
    verify: Verifier = crypto.verify_digest,
) -> None:
    """Check that ``evidence`` proves equivocation by a member of
    ``validator_set`` (the set of the evidence's height) on ``chain_id``.
    Raises InvalidEvidence otherwise."""
    a, b = evidence.first, evidence.second
    if isinstance(a, Vote) and isinstance(b, Vote):
        same_slot = (a.step, a.height, a.round, a.validator) == (
            b.step,
            b.height,
            b.round,
            b.validator,
        )
        _ensure(same_slot, "votes are not for one validator, height, round and step")
        _ensure(a.block_hash != b.block_hash, "votes do not conflict")
    elif isinstance(a, Proposal) and isinstance(b, Proposal):
        same_slot = (a.height, a.round, a.proposer) == (b.height, b.round, b.proposer)
        _ensure(same_slot, "proposals are not for one proposer, height and round")
        _ensure(a.payload() != b.payload(), "proposals do not conflict")
    else:  # pragma: no cover - the dataclasses' types prevent it
        raise InvalidEvidence("mixed evidence")
    validator = validator_set.get(evidence.validator)
    _ensure(validator is not None, "the accused is not in the validator set")
    assert validator is not None
    for message in (a, b):
        digest = message.signing_digest(chain_id)
        _ensure(verify(validator.public_key, digest, message.signature), "invalid signature")


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidEvidence(message)
