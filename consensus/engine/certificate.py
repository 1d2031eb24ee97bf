"""Commit certificates: the proof that a block was decided.

A ``CommitCertificate`` for height ``h`` holds the precommits of round ``r``
for one block hash, signed by validators with more than two thirds of the
height's voting power. All precommits in it sign the same payload
``[h, r, block_hash]`` under ``ledger/precommit/v1``, so only each signer's
address and signature are kept, sorted by address.

Canonical bytes (``encode_certificate``)::

    [height, round, block_hash, [[address, signature], ...]]   (addresses ascending)

These bytes are what the next block carries in ``Block.last_commit`` and
what block sync checks. Anyone who knows the validator set of height ``h``
can check a certificate with ``verify_certificate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from consensus.engine.messages import (
    HASH_SIZE,
    MessageError,
    Step,
    Verifier,
    Vote,
    check_height,
    check_round,
)
from consensus.engine.validators import ValidatorSet
from ledger import codec, crypto
from ledger.address import ADDRESS_SIZE

MAX_CERTIFICATE_SIZE: Final = 1 << 22


class InvalidCertificate(ValueError):
    """Raised for certificate bytes that do not decode, or a certificate
    that does not prove a commit for the given validator set and chain."""


@dataclass(frozen=True, slots=True)
class CommitSignature:
    """One validator's precommit signature inside a certificate."""

    validator: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    """+2/3 of a height's voting power precommitting one block in one round."""

    height: int
    round: int
    block_hash: bytes
    signatures: tuple[CommitSignature, ...]

    @classmethod
    def from_precommits(cls, precommits: list[Vote]) -> CommitCertificate:
        """A certificate from precommits for one (height, round, block hash)."""
        assert precommits, "a certificate needs precommits"
        first = precommits[0]
        assert first.block_hash is not None, "a certificate is for a block, not nil"
        assert all(
            v.step is Step.PRECOMMIT
            and (v.height, v.round, v.block_hash) == (first.height, first.round, first.block_hash)
            for v in precommits
        ), "precommits for one height, round and block"
        signatures = tuple(
            CommitSignature(v.validator, v.signature)
            for v in sorted(precommits, key=lambda v: v.validator)
        )
        return cls(first.height, first.round, first.block_hash, signatures)

    def precommits(self) -> list[Vote]:
        """The precommits this certificate holds, as votes."""
        return [
            Vote(Step.PRECOMMIT, self.height, self.round, self.block_hash, s.validator, s.signature)
            for s in self.signatures
        ]

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.height,
            self.round,
            self.block_hash,
            tuple((s.validator, s.signature) for s in self.signatures),
        )


def encode_certificate(certificate: CommitCertificate) -> bytes:
    """The canonical bytes of a certificate."""
    return codec.encode(certificate.to_value())


def decode_certificate(data: bytes) -> CommitCertificate:
    """Strictly decode certificate bytes. Raises InvalidCertificate.

    Checks structure and that signers are in strictly ascending address
    order (so no signer appears twice); not signatures or power
    (``verify_certificate`` does).
    """
    try:
        value = codec.decode(data, max_size=MAX_CERTIFICATE_SIZE)
    except codec.CodecError as exc:
        raise InvalidCertificate(f"certificate encoding: {exc}") from exc
    return certificate_from_value(value)


def certificate_from_value(value: object) -> CommitCertificate:
    """A certificate from its array form. Raises InvalidCertificate."""
    try:
        _ensure_certificate(
            isinstance(value, tuple) and len(value) == 4, "a certificate has 4 fields"
        )
        assert isinstance(value, tuple)
        height, round_, block_hash, entries = value
        _ensure_certificate(
            isinstance(block_hash, bytes) and len(block_hash) == HASH_SIZE, "bad block hash"
        )
        _ensure_certificate(isinstance(entries, tuple) and len(entries) > 0, "no signatures")
        signatures = []
        previous = b""
        for entry in entries:
            _ensure_certificate(
                isinstance(entry, tuple) and len(entry) == 2, "an entry is [address, sig]"
            )
            address, signature = entry
            _ensure_certificate(
                isinstance(address, bytes) and len(address) == ADDRESS_SIZE, "bad address"
            )
            _ensure_certificate(
                isinstance(signature, bytes) and len(signature) == crypto.SIGNATURE_SIZE,
                "bad signature size",
            )
            _ensure_certificate(address > previous, "signers must be in ascending order, each once")
            previous = address
            signatures.append(CommitSignature(address, signature))
        return CommitCertificate(
            check_height(height), check_round(round_), block_hash, tuple(signatures)
        )
    except MessageError as exc:  # from check_height / check_round
        raise InvalidCertificate(str(exc)) from exc


def verify_certificate(
    certificate: CommitCertificate,
    validator_set: ValidatorSet,
    chain_id: str,
    verify: Verifier = crypto.verify_digest,
) -> None:
    """Check that ``certificate`` proves a commit under ``validator_set``
    (the set of the certificate's height) on ``chain_id``. Raises
    InvalidCertificate for a duplicated or unknown signer, a bad signature or
    signers with no more than two thirds of the voting power. ``verify`` is
    the signature check (public_key, digest, signature) -> bool.
    """
    _ensure_certificate(len(certificate.signatures) > 0, "no signatures")
    digest = certificate.precommits()[0].signing_digest(chain_id)
    power = 0
    previous = b""
    for entry in certificate.signatures:
        _ensure_certificate(entry.validator > previous, "duplicated or unordered signer")
        previous = entry.validator
        validator = validator_set.get(entry.validator)
        _ensure_certificate(validator is not None, "signer is not in the validator set")
        assert validator is not None
        _ensure_certificate(
            verify(validator.public_key, digest, entry.signature), "invalid signature"
        )
        power += validator.power
    _ensure_certificate(
        validator_set.has_quorum(power),
        f"signers hold {power} of {validator_set.total_power} voting power, "
        f"need {validator_set.quorum_power}",
    )


def check_certificate_for(certificate: CommitCertificate, height: int, block_hash: bytes) -> None:
    """Raise InvalidCertificate unless ``certificate`` is for ``height`` and ``block_hash``."""
    _ensure_certificate(certificate.height == height, "certificate is for another height")
    _ensure_certificate(certificate.block_hash == block_hash, "certificate is for another block")


def _ensure_certificate(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidCertificate(message)
