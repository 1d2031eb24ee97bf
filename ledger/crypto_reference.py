"""The same signature rules as ``ledger.crypto``, on python-ecdsa (with gmpy2).

Slow (hundreds of verifications per second) and never on the hot path: it
exists so that every external vector is checked by two independent
implementations that must agree, and it is the arithmetic the BIP-340
reference below is written in.
"""

from __future__ import annotations

import hashlib

from ecdsa import SECP256k1, VerifyingKey
from ecdsa.ellipticcurve import INFINITY, PointJacobi
from ecdsa.errors import MalformedPointError

from ledger.crypto import CURVE_ORDER, DIGEST_SIZE, HALF_ORDER, PUBLIC_KEY_SIZE, SIGNATURE_SIZE

_G = SECP256k1.generator
_P = SECP256k1.curve.p()


def verify_digest(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """Reference twin of ledger.crypto.verify_digest (low S required)."""
    if len(signature) != SIGNATURE_SIZE or len(digest) != DIGEST_SIZE:
        return False
    if len(public_key) != PUBLIC_KEY_SIZE or public_key[0] not in (2, 3):
        return False
    if int.from_bytes(signature[32:], "big") > HALF_ORDER:
        return False
    return verify_digest_any_s(public_key, digest, signature)


def verify_digest_any_s(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """Textbook ECDSA verification (either S accepted) of a compact signature
    over a 32-byte digest; the public key may be compressed or uncompressed."""
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < CURVE_ORDER and 0 < s < CURVE_ORDER):
        return False
    try:
        point = VerifyingKey.from_string(public_key, curve=SECP256k1).pubkey.point
    except (MalformedPointError, ValueError):
        return False
    # Written out rather than VerifyingKey.verify_digest, which crashes when
    # u1*G + u2*Q is the point at infinity (a Wycheproof case).
    w = pow(s, -1, CURVE_ORDER)
    u1 = int.from_bytes(digest, "big") * w % CURVE_ORDER
    u2 = r * w % CURVE_ORDER
    total = _G.mul_add(u1, point, u2)
    if total == INFINITY:
        return False
    return int(total.to_affine().x()) % CURVE_ORDER == r


def _tagged_hash(tag: str, data: bytes) -> bytes:
    tag_hash = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(tag_hash + tag_hash + data).digest()


def _lift_x(x: int) -> PointJacobi | None:
    if x >= _P:
        return None
    y_squared = (pow(x, 3, _P) + 7) % _P
    y = pow(y_squared, (_P + 1) // 4, _P)
    if pow(y, 2, _P) != y_squared:
        return None
    return PointJacobi(SECP256k1.curve, x, y if y % 2 == 0 else _P - y, 1, CURVE_ORDER)


def verify_schnorr(x_only_public_key: bytes, message: bytes, signature: bytes) -> bool:
    """BIP-340 verification written from the BIP's pseudo-code."""
    if len(x_only_public_key) != 32 or len(signature) != 64:
        return False
    point = _lift_x(int.from_bytes(x_only_public_key, "big"))
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if point is None or r >= _P or s >= CURVE_ORDER:
        return False
    e = (
        int.from_bytes(
            _tagged_hash("BIP0340/challenge", signature[:32] + x_only_public_key + message), "big"
        )
        % CURVE_ORDER
    )
    big_r = _G * s + point * (CURVE_ORDER - e)
    if big_r == INFINITY:
        return False
    affine = big_r.to_affine()
    return int(affine.y()) % 2 == 0 and int(affine.x()) == r


def sign_schnorr(secret: bytes, message: bytes, aux_randomness: bytes) -> bytes:
    """BIP-340 signing written from the BIP's pseudo-code. Raises ValueError."""
    d0 = int.from_bytes(secret, "big")
    if not 0 < d0 < CURVE_ORDER:
        raise ValueError("secret key out of range")
    public = (_G * d0).to_affine()
    d = d0 if public.y() % 2 == 0 else CURVE_ORDER - d0
    px = public.x().to_bytes(32, "big")
    t = (d ^ int.from_bytes(_tagged_hash("BIP0340/aux", aux_randomness), "big")).to_bytes(32, "big")
    k0 = int.from_bytes(_tagged_hash("BIP0340/nonce", t + px + message), "big") % CURVE_ORDER
    if k0 == 0:
        raise ValueError("nonce is zero")
    big_r = (_G * k0).to_affine()
    k = k0 if big_r.y() % 2 == 0 else CURVE_ORDER - k0
    rx = int(big_r.x()).to_bytes(32, "big")
    e = int.from_bytes(_tagged_hash("BIP0340/challenge", rx + px + message), "big") % CURVE_ORDER
    signature: bytes = rx + ((k + e * d) % CURVE_ORDER).to_bytes(32, "big")
    return signature
