"""The same group operations as ``ledger.threshold.group``, on python-ecdsa
(with gmpy2) and plain integer field arithmetic.

Slower, never on a hot path: it exists so that the point arithmetic the
threshold protocols rely on is checked by two independent implementations
that must agree (the tests compare them on random inputs and on the RFC 9591
vectors).
"""

from __future__ import annotations

from collections.abc import Iterable

from ecdsa import SECP256k1
from ecdsa.ellipticcurve import INFINITY, PointJacobi

from ledger.threshold.errors import InvalidEncoding
from ledger.threshold.group import ELEMENT_SIZE, FIELD_PRIME, IDENTITY, ORDER, Point

_CURVE = SECP256k1.curve
_G: PointJacobi = SECP256k1.generator
_B = 7

assert _CURVE.p() == FIELD_PRIME and SECP256k1.order == ORDER


def _lift_x(x: int, odd: bool) -> tuple[int, int] | None:
    """The affine point with this x and y parity, or None if x is not on the curve."""
    y_squared = (pow(x, 3, FIELD_PRIME) + _B) % FIELD_PRIME
    y = pow(y_squared, (FIELD_PRIME + 1) // 4, FIELD_PRIME)  # p = 3 mod 4
    if y * y % FIELD_PRIME != y_squared:
        return None
    if (y & 1) != odd:
        y = FIELD_PRIME - y
    return x, y


def _to_ecdsa(p: Point) -> PointJacobi:
    if p.is_identity():
        return INFINITY
    affine = _lift_x(int.from_bytes(p.sec[1:], "big"), p.sec[0] == 3)
    assert affine is not None, "Point holds an encoding that is not on the curve"
    return PointJacobi(_CURVE, affine[0], affine[1], 1, ORDER)


def _from_ecdsa(q: PointJacobi) -> Point:
    if q == INFINITY:
        return IDENTITY
    x, y = q.x() % FIELD_PRIME, q.y() % FIELD_PRIME  # negation leaves y unreduced
    return Point(bytes([2 | (y & 1)]) + x.to_bytes(32, "big"))


def base_mul(k: int) -> Point:
    """Return k*G for any integer k (reduced mod ORDER)."""
    k %= ORDER
    return IDENTITY if k == 0 else _from_ecdsa(_G * k)


def point_mul(p: Point, k: int) -> Point:
    """Return k*p for any integer k (reduced mod ORDER)."""
    k %= ORDER
    if k == 0 or p.is_identity():
        return IDENTITY
    return _from_ecdsa(_to_ecdsa(p) * k)


def point_neg(p: Point) -> Point:
    """Return -p."""
    if p.is_identity():
        return IDENTITY
    return _from_ecdsa(-_to_ecdsa(p))


def point_sum(points: Iterable[Point]) -> Point:
    """Return the sum of the points (the identity for an empty sum)."""
    total: PointJacobi = INFINITY
    for p in points:
        total = total + _to_ecdsa(p)
    return _from_ecdsa(total)


def point_add(a: Point, b: Point) -> Point:
    """Return a + b."""
    return point_sum((a, b))


def decode_element(data: bytes) -> Point:
    """DeserializeElement with the checks written out in integers.

    Raises InvalidEncoding on the same inputs as ``group.decode_element``.
    """
    if len(data) != ELEMENT_SIZE or data[0] not in (2, 3):
        raise InvalidEncoding("an element is 33 bytes: 0x02 or 0x03, then x")
    x = int.from_bytes(data[1:], "big")
    if x >= FIELD_PRIME:
        raise InvalidEncoding("element x coordinate is not below the field prime")
    affine = _lift_x(x, data[0] == 3)
    if affine is None:
        raise InvalidEncoding("element x coordinate is not on secp256k1")
    q = PointJacobi(_CURVE, affine[0], affine[1], 1, ORDER)
    assert _CURVE.contains_point(q.x(), q.y())
    return _from_ecdsa(q)
