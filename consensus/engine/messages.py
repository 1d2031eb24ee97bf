"""Consensus messages: the signed proposals and votes.

A ``Proposal`` and a ``Vote`` are what validators sign. Their signing bytes
are ``ledger.crypto.signing_digest(domain_tag, chain_id, payload)`` with

- proposal:  tag ``ledger/proposal/v1``,  payload ``[height, round, pol_round, block_hash]``
- prevote:   tag ``ledger/prevote/v1``,   payload ``[height, round, block_hash | nil]``
- precommit: tag ``ledger/precommit/v1``, payload ``[height, round, block_hash | nil]``

so a signature is bound to one chain, one message kind (the step) and one
(height, round, value). The signer's address is not signed: the signature
itself is bound to the key, and the address only says which key to use.

Their array forms (``to_value``) are what consensus.engine.wire puts on the
network and what evidence carries. Decoding is strict and raises only
``MessageError``. The byte-level format is in docs/spec/consensus.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any, Final

from ledger import crypto
from ledger.address import ADDRESS_SIZE

PROPOSAL_DOMAIN: Final = "ledger/proposal/v1"
PREVOTE_DOMAIN: Final = "ledger/prevote/v1"
PRECOMMIT_DOMAIN: Final = "ledger/precommit/v1"
HASH_SIZE: Final = 32
MAX_HEIGHT: Final = (1 << 63) - 1
MAX_ROUND: Final = (1 << 31) - 1


class Step(IntEnum):
    """The steps of a round, in order. Votes carry PREVOTE or PRECOMMIT."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3


VOTE_DOMAINS: Final = {Step.PREVOTE: PREVOTE_DOMAIN, Step.PRECOMMIT: PRECOMMIT_DOMAIN}


# A signature check: (public_key, digest, signature) -> bool. The default is
# ledger.crypto.verify_digest; a harness may pass a caching one.
Verifier = Callable[[bytes, bytes, bytes], bool]


class MessageError(ValueError):
    """Raised for bytes or values that are not a well-formed consensus message."""


def ensure(condition: bool, message: str) -> None:
    """Raise MessageError(message) unless condition holds."""
    if not condition:
        raise MessageError(message)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposer's signed claim: in (height, round) I propose the block with
    this hash; ``pol_round`` is the round of its proof of lock, or -1."""

    height: int
    round: int
    pol_round: int
    block_hash: bytes
    proposer: bytes  # 20-byte address of the signer
    signature: bytes

    def payload(self) -> tuple[Any, ...]:
        """The signed payload ``[height, round, pol_round, block_hash]``."""
        return (self.height, self.round, self.pol_round, self.block_hash)

    def signing_digest(self, chain_id: str) -> bytes:
        """The 32-byte digest the signature covers."""
        return _signing_digest(PROPOSAL_DOMAIN, chain_id, self.payload())

    def to_value(self) -> tuple[Any, ...]:
        return (*self.payload(), self.proposer, self.signature)


@dataclass(frozen=True, slots=True)
class Vote:
    """A signed prevote or precommit for a block hash, or for nil (None)."""

    step: Step
    height: int
    round: int
    block_hash: bytes | None
    validator: bytes  # 20-byte address of the signer
    signature: bytes

    def payload(self) -> tuple[Any, ...]:
        """The signed payload ``[height, round, block_hash | nil]``."""
        return (self.height, self.round, self.block_hash)

    def signing_digest(self, chain_id: str) -> bytes:
        """The 32-byte digest the signature covers (domain tag by step)."""
        return _signing_digest(VOTE_DOMAINS[self.step], chain_id, self.payload())

    def to_value(self) -> tuple[Any, ...]:
        return (int(self.step), *self.payload(), self.validator, self.signature)


@lru_cache(maxsize=8192)
def _signing_digest(domain_tag: str, chain_id: str, payload: tuple[Any, ...]) -> bytes:
    # A vote reaches a node several times (gossip, relays); its digest is
    # computed once. Pure: the cache key is the whole signed content.
    return crypto.signing_digest(domain_tag, chain_id, payload)


def sign_proposal(
    key: crypto.SigningKey,
    chain_id: str,
    height: int,
    round: int,
    pol_round: int,
    block_hash: bytes,
    proposer: bytes,
) -> Proposal:
    """A proposal signed by ``key`` (no double-sign guard: see consensus.engine.signer)."""
    unsigned = Proposal(height, round, pol_round, block_hash, proposer, b"")
    signature = key.sign_digest(unsigned.signing_digest(chain_id))
    return Proposal(height, round, pol_round, block_hash, proposer, signature)


def sign_vote(
    key: crypto.SigningKey,
    chain_id: str,
    step: Step,
    height: int,
    round: int,
    block_hash: bytes | None,
    validator: bytes,
) -> Vote:
    """A vote signed by ``key`` (no double-sign guard: see consensus.engine.signer)."""
    unsigned = Vote(step, height, round, block_hash, validator, b"")
    signature = key.sign_digest(unsigned.signing_digest(chain_id))
    return Vote(step, height, round, block_hash, validator, signature)


def proposal_from_value(value: object) -> Proposal:
    """A proposal from ``[height, round, pol_round, block_hash, proposer, signature]``."""
    ensure(isinstance(value, tuple) and len(value) == 6, "a proposal has 6 fields")
    assert isinstance(value, tuple)
    height, round_, pol_round, block_hash, proposer, signature = value
    round_ = check_round(round_)
    ensure(
        type(pol_round) is int and -1 <= pol_round < round_,
        "pol_round must be -1 or a round below the proposal's round",
    )
    return Proposal(
        check_height(height),
        round_,
        pol_round,
        check_bytes(block_hash, "block_hash", HASH_SIZE),
        check_bytes(proposer, "proposer", ADDRESS_SIZE),
        check_bytes(signature, "signature", crypto.SIGNATURE_SIZE),
    )


def vote_from_value(value: object) -> Vote:
    """A vote from ``[step, height, round, block_hash | nil, validator, signature]``."""
    ensure(isinstance(value, tuple) and len(value) == 6, "a vote has 6 fields")
    assert isinstance(value, tuple)
    step, height, round_, block_hash, validator, signature = value
    ensure(
        type(step) is int and step in (Step.PREVOTE, Step.PRECOMMIT),
        "vote step must be 2 (prevote) or 3 (precommit)",
    )
    return Vote(
        Step(step),
        check_height(height),
        check_round(round_),
        None if block_hash is None else check_bytes(block_hash, "block_hash", HASH_SIZE),
        check_bytes(validator, "validator", ADDRESS_SIZE),
        check_bytes(signature, "signature", crypto.SIGNATURE_SIZE),
    )


def check_height(value: object) -> int:
    """A height in [1, 2^63-1] or MessageError."""
    ensure(type(value) is int and 1 <= value <= MAX_HEIGHT, "height must be in [1, 2^63-1]")
    return value  # type: ignore[return-value]


def check_round(value: object) -> int:
    """A round in [0, 2^31-1] or MessageError."""
    ensure(type(value) is int and 0 <= value <= MAX_ROUND, "round must be in [0, 2^31-1]")
    return value  # type: ignore[return-value]


def check_bytes(
    value: object, name: str, size: int | None = None, max_size: int = 1 << 20
) -> bytes:
    """Bytes of an exact size (or at most max_size) or MessageError."""
    ensure(isinstance(value, bytes), f"{name} must be bytes")
    assert isinstance(value, bytes)
    if size is not None:
        ensure(len(value) == size, f"{name} must be {size} bytes")
    ensure(len(value) <= max_size, f"{name} exceeds {max_size} bytes")
    return value
