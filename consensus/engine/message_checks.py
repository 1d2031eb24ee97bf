"""Checking a consensus message against a validator set, and the errors that say
what was wrong with it.

The engine (for its own height) and the next-height buffer (for the height
after it) check messages the same way before keeping anything:

- a vote: its signer is in the set and its signature verifies;
- a proposal: its signer is the proposer of its round, its signature verifies,
  its block is not too large and the block's id (``Application.block_hash``)
  is the hash the proposal signs;
- a commit message: its certificate verifies against the set and its block's
  id is the certified hash.

A failed check raises ``InvalidMessage`` (the message is provably bad: the
peer that sent it is to blame) carrying the message. ``BlockMismatch`` is the
kind where the signed part may be genuine but the block travelling with it is
not the one signed: the *relaying peer* is to blame, never the signer, and the
engine keeps nothing of it (the round's proposal slot stays free for the
genuine block).

A block id must bind every byte of the block: an application whose id is a
header hash raises ``MalformedBlock`` from ``block_hash`` for a body that does
not match what its header commits to, so that no two different blocks share
an id, and anything the engine remembers about an id (its validity) holds for
exactly one block.
"""

from __future__ import annotations

from collections.abc import Callable

from consensus.engine.certificate import InvalidCertificate, verify_certificate
from consensus.engine.messages import Verifier, Vote
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import CommitMessage, Message, ProposalMessage

# The application's block id (Application.block_hash): raises MalformedBlock.
BlockId = Callable[[bytes], bytes]


class MalformedBlock(ValueError):
    """Raised by ``Application.block_hash`` for bytes that are not a block of
    this application, or whose body does not match what its header commits to."""


class InvalidMessage(ValueError):
    """A provably bad message: unknown signer, bad signature, wrong proposer, a
    block that is not the one signed or certified, an invalid certificate.
    ``message`` is the offending message; whoever sent it is to blame."""

    def __init__(self, reason: str, message: Message | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


class BlockMismatch(InvalidMessage):
    """The block carried by a proposal or commit message is not the block its
    signed hash names (it does not decode, its body does not match its header,
    or its id differs). Anyone can produce this from a genuine signed message,
    so it proves nothing against the signer: the relaying peer is to blame, and
    nothing of the message is kept."""


def check_vote(vote: Vote, validators: ValidatorSet, chain_id: str, verify: Verifier) -> Validator:
    """The vote's validator if it is in ``validators`` and signed the vote.
    Raises InvalidMessage."""
    validator = validators.get(vote.validator)
    if validator is None:
        raise InvalidMessage("vote from a validator not in this height's set", vote)
    check_signature(validator, vote.signing_digest(chain_id), vote.signature, vote, verify)
    return validator


def check_proposal(
    message: ProposalMessage,
    proposer: Validator,
    chain_id: str,
    verify: Verifier,
    block_id: BlockId,
    max_block_size: int,
) -> None:
    """Check a proposal message from the round's ``proposer``. Raises
    InvalidMessage (BlockMismatch when only the block is wrong)."""
    proposal = message.proposal
    if proposal.proposer != proposer.address:
        raise InvalidMessage("proposal not from the round's proposer", message)
    digest = proposal.signing_digest(chain_id)
    check_signature(proposer, digest, proposal.signature, message, verify)
    if len(message.block) > max_block_size:
        raise InvalidMessage("block too large", message)
    check_block(message.block, proposal.block_hash, block_id, message)


def check_commit(
    message: CommitMessage,
    validators: ValidatorSet,
    chain_id: str,
    verify: Verifier,
    block_id: BlockId,
    max_block_size: int,
) -> None:
    """Check a commit message against the set of its height. Raises InvalidMessage."""
    try:
        verify_certificate(message.certificate, validators, chain_id, verify)
    except InvalidCertificate as exc:
        raise InvalidMessage(f"commit certificate: {exc}", message) from exc
    if len(message.block) > max_block_size:
        raise InvalidMessage("block too large", message)
    check_block(message.block, message.certificate.block_hash, block_id, message)


def check_block(block: bytes, expected: bytes, block_id: BlockId, message: Message) -> None:
    """Raise BlockMismatch unless ``block`` is well formed and its id is ``expected``."""
    try:
        actual = block_id(block)
    except MalformedBlock as exc:
        raise BlockMismatch(f"block does not match its header: {exc}", message) from exc
    if actual != expected:
        raise BlockMismatch("block does not match the signed hash", message)


def check_signature(
    validator: Validator, digest: bytes, signature: bytes, message: Message, verify: Verifier
) -> None:
    """Raise InvalidMessage unless ``signature`` by ``validator`` verifies over ``digest``."""
    if not verify(validator.public_key, digest, signature):
        raise InvalidMessage("invalid signature", message)
