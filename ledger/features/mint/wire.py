"""Fixed-size binary encodings of the ceremony messages, for the node to
carry over p2p links and the chain to store.

    EvaluationShare      id(32) || value(33) || c(32) || z(32)              129 bytes
    IssuanceCommitment   share(129) || R1(33) || R2(33) || c(32) || z(32)  259 bytes
    IssuanceResponse     id(32) || s(32)                                    64 bytes
    BlindSignature       C_(33) || e(32) || s(32)                           97 bytes

Identifiers and scalars are 32 bytes big-endian (below the group order,
identifiers nonzero), points 33-byte compressed SEC1 (never the identity);
NUT-12's e is any 32 bytes. Decoding is strict: a wrong length or any
field out of range raises InvalidEncoding, so every accepted encoding is
the unique encoding of its value.
"""

from __future__ import annotations

from ledger.threshold.errors import InvalidEncoding
from ledger.threshold.group import (
    ELEMENT_SIZE,
    SCALAR_SIZE,
    Point,
    decode_element,
    decode_scalar,
    encode_element,
    encode_scalar,
)

from .dleq import DleqProof
from .evaluation import EqualLogProof, EvaluationShare
from .issuance import BlindSignature, IssuanceCommitment, IssuanceResponse

EVALUATION_SHARE_SIZE = SCALAR_SIZE + ELEMENT_SIZE + 2 * SCALAR_SIZE
ISSUANCE_COMMITMENT_SIZE = EVALUATION_SHARE_SIZE + 2 * ELEMENT_SIZE + 2 * SCALAR_SIZE
ISSUANCE_RESPONSE_SIZE = 2 * SCALAR_SIZE
BLIND_SIGNATURE_SIZE = ELEMENT_SIZE + 2 * SCALAR_SIZE


class _Fields:
    """Reads consecutive fixed-size fields of an exactly sized message."""

    def __init__(self, data: bytes, size: int, what: str) -> None:
        if len(data) != size:
            raise InvalidEncoding(f"{what} is {size} bytes")
        self.data, self.position = bytes(data), 0

    def _take(self, n: int) -> bytes:
        chunk = self.data[self.position : self.position + n]
        self.position += n
        return chunk

    def identifier(self) -> int:
        value = decode_scalar(self._take(SCALAR_SIZE))
        if value == 0:
            raise InvalidEncoding("identifier zero")
        return value

    def scalar(self) -> int:
        return decode_scalar(self._take(SCALAR_SIZE))

    def raw32(self) -> int:
        return int.from_bytes(self._take(SCALAR_SIZE), "big")

    def point(self) -> Point:
        return decode_element(self._take(ELEMENT_SIZE))


def _encode_proof(proof: EqualLogProof) -> bytes:
    return encode_scalar(proof.challenge) + encode_scalar(proof.response)


def encode_evaluation_share(share: EvaluationShare) -> bytes:
    """129 bytes. Raises InvalidEncoding for an identity value."""
    return (
        encode_scalar(share.identifier) + encode_element(share.value) + _encode_proof(share.proof)
    )


def _read_share(fields: _Fields) -> EvaluationShare:
    identifier, value = fields.identifier(), fields.point()
    return EvaluationShare(identifier, value, EqualLogProof(fields.scalar(), fields.scalar()))


def decode_evaluation_share(data: bytes) -> EvaluationShare:
    """Parse 129 bytes. Raises InvalidEncoding if malformed."""
    return _read_share(_Fields(data, EVALUATION_SHARE_SIZE, "an evaluation share"))


def encode_issuance_commitment(commitment: IssuanceCommitment) -> bytes:
    """259 bytes. Raises InvalidEncoding for an identity point."""
    return (
        encode_evaluation_share(commitment.share)
        + encode_element(commitment.nonce_g)
        + encode_element(commitment.nonce_b)
        + _encode_proof(commitment.nonce_proof)
    )


def decode_issuance_commitment(data: bytes) -> IssuanceCommitment:
    """Parse 259 bytes. Raises InvalidEncoding if malformed."""
    fields = _Fields(data, ISSUANCE_COMMITMENT_SIZE, "an issuance commitment")
    share = _read_share(fields)
    nonce_g, nonce_b = fields.point(), fields.point()
    return IssuanceCommitment(
        share, nonce_g, nonce_b, EqualLogProof(fields.scalar(), fields.scalar())
    )


def encode_issuance_response(response: IssuanceResponse) -> bytes:
    """64 bytes."""
    return encode_scalar(response.identifier) + encode_scalar(response.response)


def decode_issuance_response(data: bytes) -> IssuanceResponse:
    """Parse 64 bytes. Raises InvalidEncoding if malformed."""
    fields = _Fields(data, ISSUANCE_RESPONSE_SIZE, "an issuance response")
    return IssuanceResponse(fields.identifier(), fields.scalar())


def encode_blind_signature(signature: BlindSignature) -> bytes:
    """C_ || e || s, 97 bytes. Raises InvalidEncoding for an identity C_."""
    return (
        encode_element(signature.blind_signature)
        + signature.proof.challenge_bytes()
        + signature.proof.response_bytes()
    )


def decode_blind_signature(data: bytes) -> BlindSignature:
    """Parse 97 bytes. Raises InvalidEncoding if malformed."""
    fields = _Fields(data, BLIND_SIGNATURE_SIZE, "a blind signature")
    point = fields.point()
    return BlindSignature(point, DleqProof(fields.raw32(), fields.scalar()))
