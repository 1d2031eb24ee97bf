"""Domain-separated hashing for the mix: statement digests, Fiat-Shamir
challenges and hedged nonces.

Every hash here starts from the context string ``LEDGER-mail-secp256k1-v1``
and a tag naming its use, so no hash of the mix can collide with a FROST,
ceremony or transaction hash, nor two uses of the mix with each other.
Digests are SHA-256 over length-prefixed parts (an injective encoding of the
part list); scalars are RFC 9380 hash_to_field into the group order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final

from ledger.features.mail.errors import InvalidRandomness
from ledger.threshold.errors import InvalidRandomness as ThresholdInvalidRandomness
from ledger.threshold.group import RandomBytes
from ledger.threshold.group import random_scalar as threshold_random_scalar
from ledger.threshold.hashing import hash_to_scalar

MAIL_CONTEXT: Final = b"LEDGER-mail-secp256k1-v1"


def transcript_digest(tag: bytes, parts: Iterable[bytes]) -> bytes:
    """SHA-256 over the tag and the length-prefixed parts (4-byte lengths)."""
    h = hashlib.sha256(MAIL_CONTEXT + len(tag).to_bytes(1, "big") + tag)
    for part in parts:
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return h.digest()


def transcript_scalar(tag: bytes, data: bytes) -> int:
    """A scalar from data, domain-separated by tag (hash_to_field, L = 48)."""
    return hash_to_scalar(data, MAIL_CONTEXT + b"-" + tag)


def indexed_scalars(tag: bytes, seed: bytes, count: int) -> tuple[int, ...]:
    """count scalars H(tag, seed || i) for i = 0..count-1."""
    return tuple(transcript_scalar(tag, seed + i.to_bytes(4, "big")) for i in range(count))


class NonceSource:
    """Secret scalars for a prover, hedged: each is hashed from 32 fresh
    random bytes together with the prover's secrets and the statement, so a
    weak random source alone does not make them predictable (as RFC 9591
    nonce_generate does). Distinct (label, index) pairs give independent
    scalars.

    Raises InvalidRandomness if rng returns the wrong length or a scalar is
    zero (which only a broken hash or source produces).
    """

    def __init__(self, rng: RandomBytes, secrets: Iterable[bytes], statement: bytes) -> None:
        fresh = rng(32)
        if len(fresh) != 32:
            raise InvalidRandomness("random source returned the wrong number of bytes")
        self._seed = transcript_digest(b"nonce-seed", [fresh, *secrets, statement])

    def scalar(self, label: bytes, index: int = 0) -> int:
        """The nonce for (label, index), nonzero."""
        data = self._seed + len(label).to_bytes(1, "big") + label + index.to_bytes(4, "big")
        value = transcript_scalar(b"nonce", data)
        if value == 0:
            raise InvalidRandomness("nonce is zero")
        return value


def random_scalar(rng: RandomBytes) -> int:
    """A uniformly random nonzero scalar: the threshold library's ``random_scalar``
    (48 bytes reduced, bias below 2^-128), with the mix's error type.

    Raises InvalidRandomness if rng returns the wrong length or the result is zero.
    """
    try:
        return threshold_random_scalar(rng)
    except ThresholdInvalidRandomness as exc:
        raise InvalidRandomness(str(exc)) from None
