"""The point operations the mint needs beyond ``ledger.threshold.group``.

NUT-12 hashes points in their uncompressed SEC1 form, and every DLEQ check
computes two linear combinations ``a*P + b*Q``; doing those on libsecp256k1
objects (instead of composing ``group`` functions, which re-encode every
intermediate point) is the verification hot path. The tests check these
against ``group`` and the python-ecdsa reference.
"""

from __future__ import annotations

from collections.abc import Iterable

from coincurve import PublicKey

from ledger.threshold.errors import InvalidEncoding
from ledger.threshold.group import (
    GENERATOR,
    IDENTITY,
    ORDER,
    SCALAR_SIZE,
    Point,
    coincurve_key,
    point_of,
)

UNCOMPRESSED_SIZE = 65


def encode_uncompressed(p: Point) -> bytes:
    """The 65-byte uncompressed SEC1 encoding (0x04 || x || y).

    Raises InvalidEncoding for the identity, which has none.
    """
    if p.is_identity():
        raise InvalidEncoding("the identity has no uncompressed encoding")
    return bytes(coincurve_key(p).format(compressed=False))


def _combine(terms: Iterable[tuple[Point, int]]) -> PublicKey | None:
    """sum k*P over the terms as a libsecp256k1 object, None for the identity."""
    parts: list[PublicKey] = []
    for p, k in terms:
        k %= ORDER
        if k == 0 or p.is_identity():
            continue
        scalar = k.to_bytes(SCALAR_SIZE, "big")
        if p == GENERATOR:
            parts.append(PublicKey.from_valid_secret(scalar))
        else:
            parts.append(coincurve_key(p).multiply(scalar))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    try:
        return PublicKey.combine_keys(parts)
    except ValueError:  # libsecp256k1 refuses a sum at infinity
        return None


def linear_combination(terms: Iterable[tuple[Point, int]]) -> Point:
    """sum k*P over (P, k) pairs, any integers k (reduced mod ORDER)."""
    total = _combine(terms)
    return IDENTITY if total is None else point_of(total)


def linear_combination_uncompressed(terms: Iterable[tuple[Point, int]]) -> bytes | None:
    """The uncompressed encoding of sum k*P, or None when the sum is the
    identity (which NUT-12's hash cannot take)."""
    total = _combine(terms)
    return None if total is None else bytes(total.format(compressed=False))
