"""NUT-12 DLEQ proofs: the mint proves that the key behind its public key
A = a*G also made the blind signature C_ = a*B_, so a wallet can check a
signature offline, and pass the check on to whoever receives the note.

    prover:    r = nonce;  R1 = r*G;  R2 = r*B_;  e = hash_e(R1, R2, A, C_);  s = r + e*a
    verifier:  R1 = s*G - e*A;  R2 = s*B_ - e*C_;  accept iff e == hash_e(R1, R2, A, C_)

``hash_e`` is SHA-256 over the concatenated lowercase hex strings of the
points' uncompressed (65-byte) encodings, as NUT-12 specifies. The
single-holder nonce is NUT-12's deterministic one (HMAC-SHA256 keyed with a);
the validators' jointly produced proof is in ``issuance``. Whoever produced
it, a proof that verifies shows log_G(A) == log_B_(C_): the verifier does not
need to know how many parties made it.

A note passed on carries (e, s) and the blinding factor r; the receiver
recomputes B_ = Y + r*G and C_ = C + r*A and checks the same equations
(``verify_note_proof``). Revealing r links the note to its issue, so r is
only ever shown to other wallets, never to the mint or the chain.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ledger.threshold.errors import InvalidEncoding, InvalidParameters
from ledger.threshold.group import (
    GENERATOR,
    ORDER,
    SCALAR_SIZE,
    Point,
    base_mul,
    point_add,
    point_mul,
)

from .bdhke import hash_to_curve
from .curve import encode_uncompressed, linear_combination_uncompressed

NONCE_TAG = b"Cashu_DLEQ_R_v1"
_CHALLENGE_SIZE = 32
_NONCE_TRIES = 256


@dataclass(frozen=True, slots=True)
class DleqProof:
    """A NUT-12 proof (e, s): ``challenge`` is the 32-byte hash e read as a
    big-endian integer (any value below 2^256), ``response`` is s, a scalar
    below the group order."""

    challenge: int
    response: int

    def __post_init__(self) -> None:
        if not 0 <= self.challenge < 2 ** (8 * _CHALLENGE_SIZE):
            raise InvalidEncoding("a DLEQ challenge is 32 bytes")
        if not 0 <= self.response < ORDER:
            raise InvalidEncoding("a DLEQ response is a scalar below the group order")

    def challenge_bytes(self) -> bytes:
        """e as NUT-12 writes it: 32 bytes, big-endian."""
        return self.challenge.to_bytes(_CHALLENGE_SIZE, "big")

    def response_bytes(self) -> bytes:
        """s as NUT-12 writes it: 32 bytes, big-endian."""
        return self.response.to_bytes(SCALAR_SIZE, "big")


def _hash_uncompressed(encodings: list[bytes]) -> bytes:
    text = "".join(e.hex() for e in encodings)
    return hashlib.sha256(text.encode("ascii")).digest()


def hash_e(*points: Point) -> bytes:
    """NUT-12 hash_e: SHA-256 of the concatenated lowercase hex of each
    point's uncompressed encoding (130 characters per point).

    Raises InvalidEncoding if a point is the identity.
    """
    return _hash_uncompressed([encode_uncompressed(p) for p in points])


def deterministic_nonce(
    private_key: int, mint_key: Point, blinded_message: Point, blind_signature: Point
) -> int:
    """NUT-12's nonce: r = HMAC-SHA256(key = a as 32 bytes, data =
    "Cashu_DLEQ_R_v1" || A || B_ || C_ || ctr), points uncompressed, ctr one
    byte from 0, retried while r is 0 or not below the order.

    For one key holder only: a threshold signer must not derive its nonce
    from its inputs alone (see ``issuance``). Raises InvalidParameters if
    256 counters fail (probability about 2^-32768).
    """
    key = private_key.to_bytes(SCALAR_SIZE, "big")
    data = NONCE_TAG + b"".join(
        encode_uncompressed(p) for p in (mint_key, blinded_message, blind_signature)
    )
    for counter in range(_NONCE_TRIES):
        r = int.from_bytes(hmac.digest(key, data + bytes([counter]), "sha256"), "big")
        if 0 < r < ORDER:
            return r
    raise InvalidParameters("no valid deterministic nonce in 256 tries")


def prove_blind_signature(private_key: int, blinded_message: Point) -> tuple[Point, DleqProof]:
    """Sign B_ with the whole key a and prove it (NUT-12, deterministic
    nonce): returns (C_, proof).

    Raises InvalidParameters for a key outside (0, ORDER) or an identity B_.
    """
    if not 0 < private_key < ORDER:
        raise InvalidParameters("the mint key must be a nonzero scalar below the group order")
    if blinded_message.is_identity():
        raise InvalidParameters("the blinded message is the identity")
    mint_key = base_mul(private_key)
    blind_signature = point_mul(blinded_message, private_key)
    r = deterministic_nonce(private_key, mint_key, blinded_message, blind_signature)
    e = hash_e(base_mul(r), point_mul(blinded_message, r), mint_key, blind_signature)
    s = (r + int.from_bytes(e, "big") * private_key) % ORDER
    return blind_signature, DleqProof(int.from_bytes(e, "big"), s)


def verify_blind_signature_proof(
    mint_key: Point, blinded_message: Point, blind_signature: Point, proof: DleqProof
) -> bool:
    """Alice's check (NUT-12): True if R1 = s*G - e*A and R2 = s*B_ - e*C_
    hash with A and C_ to e. Never raises; any identity point fails."""
    if mint_key.is_identity() or blinded_message.is_identity() or blind_signature.is_identity():
        return False
    e, s = proof.challenge, proof.response
    r1 = linear_combination_uncompressed(((GENERATOR, s), (mint_key, -e)))
    r2 = linear_combination_uncompressed(((blinded_message, s), (blind_signature, -e)))
    if r1 is None or r2 is None:
        return False
    encodings = [r1, r2, encode_uncompressed(mint_key), encode_uncompressed(blind_signature)]
    return hmac.compare_digest(_hash_uncompressed(encodings), proof.challenge_bytes())


def verify_note_proof(
    mint_key: Point, message: bytes, signature: Point, proof: DleqProof, blinding_factor: int
) -> bool:
    """Carol's check (NUT-12): rebuild B_ = hash_to_curve(message) + r*G and
    C_ = C + r*A, then check the proof on them. Never raises; a blinding
    factor outside (0, ORDER) or an identity point fails."""
    if not 0 < blinding_factor < ORDER or signature.is_identity() or mint_key.is_identity():
        return False
    blinded = point_add(hash_to_curve(message), base_mul(blinding_factor))
    blind_signature = point_add(signature, point_mul(mint_key, blinding_factor))
    return verify_blind_signature_proof(mint_key, blinded, blind_signature, proof)
