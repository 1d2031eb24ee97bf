"""Schnorr proofs of knowledge of a discrete logarithm, bound to a context.

The DKG uses them as proofs of possession of each dealer's constant term
(which stops a rogue-key attack, where a dealer picks its commitment after
seeing the others' to cancel them), and every ceremony uses them to confirm
the final transcript with the new secret share.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.threshold.errors import InvalidRandomness
from ledger.threshold.group import (
    ORDER,
    Point,
    RandomBytes,
    base_mul,
    encode_element,
    encode_scalar,
    schnorr_equation_holds,
)
from ledger.threshold.hashing import ceremony_scalar


@dataclass(frozen=True)
class ProofOfKnowledge:
    """A Schnorr proof (R, mu): mu*G == R + c*P with c = H(P || R || context)."""

    commitment: Point
    response: int


def _challenge(tag: bytes, public: Point, commitment: Point, context: bytes) -> int:
    return ceremony_scalar(
        tag + b"-chal", encode_element(public) + encode_element(commitment) + context
    )


def prove_knowledge(secret: int, tag: bytes, context: bytes, rng: RandomBytes) -> ProofOfKnowledge:
    """Prove knowledge of secret (the discrete log of secret*G) for context.

    The nonce hashes fresh randomness together with the secret and context,
    as RFC 9591 nonce_generate does, so a weak rng alone cannot leak the
    secret. Raises InvalidRandomness if rng misbehaves.
    """
    randomness = rng(32)
    if len(randomness) != 32:
        raise InvalidRandomness("random source returned the wrong number of bytes")
    nonce = ceremony_scalar(tag + b"-nonce", randomness + encode_scalar(secret % ORDER) + context)
    if nonce == 0:
        raise InvalidRandomness("proof nonce is zero")
    commitment = base_mul(nonce)
    challenge = _challenge(tag, base_mul(secret), commitment, context)
    return ProofOfKnowledge(commitment, (nonce + secret * challenge) % ORDER)


def verify_knowledge(public: Point, proof: ProofOfKnowledge, tag: bytes, context: bytes) -> bool:
    """True if proof shows knowledge of the discrete log of public for
    context. Never raises; identity points and out-of-range responses fail."""
    if public.is_identity() or proof.commitment.is_identity():
        return False
    if not 0 <= proof.response < ORDER:
        return False
    challenge = _challenge(tag, public, proof.commitment, context)
    return schnorr_equation_holds(public, proof.commitment, proof.response, challenge)
