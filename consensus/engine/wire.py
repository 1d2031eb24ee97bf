"""Wire envelopes: the consensus messages as they travel between nodes.

Every message is a canonical msgpack array whose first element is a tag:

- ``[1, height, round, pol_round, block_hash, proposer, signature, block]``  ProposalMessage
- ``[2, step, height, round, block_hash | nil, validator, signature]``        Vote
- ``[3, certificate, block]``                                                 CommitMessage

``decode_message`` is strict and raises only ``MessageError``; it checks
structure, types and ranges, not signatures, validator membership or
certificate power (the engine does, against the validator set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from consensus.engine.certificate import (
    CommitCertificate,
    InvalidCertificate,
    certificate_from_value,
)
from consensus.engine.messages import (
    MessageError,
    Proposal,
    Vote,
    check_bytes,
    ensure,
    proposal_from_value,
    vote_from_value,
)
from ledger import codec

MAX_BLOCK_SIZE: Final = 32 * 1024 * 1024
MAX_MESSAGE_SIZE: Final = MAX_BLOCK_SIZE + (1 << 22)
TAG_PROPOSAL: Final = 1
TAG_VOTE: Final = 2
TAG_COMMIT: Final = 3


@dataclass(frozen=True, slots=True)
class ProposalMessage:
    """A signed proposal together with the block value it names."""

    proposal: Proposal
    block: bytes

    @property
    def height(self) -> int:
        return self.proposal.height


@dataclass(frozen=True, slots=True)
class CommitMessage:
    """A decided block with its commit certificate, for a peer that fell behind."""

    certificate: CommitCertificate
    block: bytes

    @property
    def height(self) -> int:
        return self.certificate.height


Message = ProposalMessage | Vote | CommitMessage


def encode_message(message: Message) -> bytes:
    """The canonical wire bytes of a message."""
    if isinstance(message, ProposalMessage):
        return codec.encode((TAG_PROPOSAL, *message.proposal.to_value(), message.block))
    if isinstance(message, Vote):
        return codec.encode((TAG_VOTE, *message.to_value()))
    return codec.encode((TAG_COMMIT, message.certificate.to_value(), message.block))


def decode_message(data: bytes) -> Message:
    """Strictly decode wire bytes into a message. Raises MessageError (only)."""
    ensure(isinstance(data, bytes), "a message is bytes")
    try:
        value = codec.decode(data, max_size=MAX_MESSAGE_SIZE)
    except codec.CodecError as exc:
        raise MessageError(f"message encoding: {exc}") from exc
    ensure(isinstance(value, tuple) and len(value) >= 1, "a message is a non-empty array")
    tag = value[0]
    ensure(type(tag) is int, "a message tag is an integer")
    if tag == TAG_PROPOSAL:
        ensure(len(value) == 8, "a proposal message has 8 elements")
        block = check_bytes(value[7], "block", max_size=MAX_BLOCK_SIZE)
        return ProposalMessage(proposal_from_value(value[1:7]), block)
    if tag == TAG_VOTE:
        return vote_from_value(value[1:])
    if tag == TAG_COMMIT:
        ensure(len(value) == 3, "a commit message has 3 elements")
        try:
            certificate = certificate_from_value(value[1])
        except InvalidCertificate as exc:
            raise MessageError(f"commit certificate: {exc}") from exc
        return CommitMessage(certificate, check_bytes(value[2], "block", max_size=MAX_BLOCK_SIZE))
    raise MessageError(f"unknown message tag {tag}")
