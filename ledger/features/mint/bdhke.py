"""Blind Diffie-Hellman key exchange, exactly as Cashu's NUT-00 defines it.

The mint holds a private key k per amount, with public key K = k*G. A wallet
picks a secret x and a blinding factor r:

    Y  = hash_to_curve(x)         the point the note is about
    B_ = Y + r*G                  the blinded message, sent to the mint
    C_ = k*B_                     the blind signature, returned by the mint
    C  = C_ - r*K = k*Y           the unblinded signature; the note is (x, C)

The mint never sees Y or C before redemption, so it cannot link a note to
its issue. Redemption checks C == k*hash_to_curve(x); only a holder of k can.
Note secrets are strings in Cashu; hash_to_curve takes their UTF-8 bytes
(``secret_point``).
"""

from __future__ import annotations

import hashlib

from ledger.threshold.errors import InvalidEncoding, InvalidParameters
from ledger.threshold.group import (
    ORDER,
    Point,
    RandomBytes,
    base_mul,
    decode_element,
    point_add,
    point_mul,
    point_sub,
    random_scalar,
)

from .errors import HashToCurveFailed

DOMAIN_SEPARATOR = b"Secp256k1_HashToCurve_Cashu_"
_MAX_TRIES = 2**16


def hash_to_curve(message: bytes) -> Point:
    """NUT-00 hash_to_curve: the first point 0x02 || SHA-256(m || counter)
    on the curve, with m = SHA-256(DOMAIN_SEPARATOR || message) and a 4-byte
    little-endian counter from 0.

    Each try succeeds with probability about 1/2, so this costs two hashes
    and two point decodings on average. Raises HashToCurveFailed after 2^16
    tries (never, short of a broken hash).
    """
    msg_hash = hashlib.sha256(DOMAIN_SEPARATOR + message).digest()
    for counter in range(_MAX_TRIES):
        candidate = hashlib.sha256(msg_hash + counter.to_bytes(4, "little")).digest()
        try:
            return decode_element(b"\x02" + candidate)
        except InvalidEncoding:
            continue
    raise HashToCurveFailed("no curve point found for this message")


def secret_point(secret: str) -> Point:
    """Y = hash_to_curve(UTF-8 bytes of a note's secret), as Cashu wallets and mints compute it."""
    return hash_to_curve(secret.encode("utf-8"))


def _check_scalar(value: int, name: str) -> int:
    if not 0 < value < ORDER:
        raise InvalidParameters(f"{name} must be a nonzero scalar below the group order")
    return value


def random_blinding_factor(rng: RandomBytes) -> int:
    """A uniformly random nonzero blinding factor r. Raises InvalidRandomness
    if rng misbehaves."""
    return random_scalar(rng)


def blind_message(message: bytes, blinding_factor: int) -> Point:
    """B_ = hash_to_curve(message) + r*G.

    Raises InvalidParameters unless 0 < r < ORDER.
    """
    r = _check_scalar(blinding_factor, "the blinding factor")
    return point_add(hash_to_curve(message), base_mul(r))


def sign_blinded_message(private_key: int, blinded_message: Point) -> Point:
    """C_ = k*B_ (the mint's step, with the whole key k).

    Raises InvalidParameters for a key outside (0, ORDER) or an identity B_.
    """
    k = _check_scalar(private_key, "the mint key")
    if blinded_message.is_identity():
        raise InvalidParameters("the blinded message is the identity")
    return point_mul(blinded_message, k)


def unblind_signature(blind_signature: Point, blinding_factor: int, mint_key: Point) -> Point:
    """C = C_ - r*K.

    Raises InvalidParameters unless 0 < r < ORDER.
    """
    r = _check_scalar(blinding_factor, "the blinding factor")
    return point_sub(blind_signature, point_mul(mint_key, r))


def verify_signature(private_key: int, message: bytes, signature: Point) -> bool:
    """True if C == k*hash_to_curve(message): the mint's check of a note
    (with the whole key k; the validators use ``redemption`` instead).

    Never raises for a bad signature; raises InvalidParameters for a key
    outside (0, ORDER).
    """
    k = _check_scalar(private_key, "the mint key")
    if signature.is_identity():
        return False
    return point_mul(hash_to_curve(message), k) == signature
