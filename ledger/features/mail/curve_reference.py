"""The mix's group arithmetic on python-ecdsa (with gmpy2): the second,
independent implementation the verifiers are cross-checked on.

Points are converted to python-ecdsa's Jacobian points by lifting x with
integer field arithmetic written out here (not through libsecp256k1), then
multiplied and added by python-ecdsa. Slow (a multiplication costs about a
millisecond) and not constant-time; used only by tests, never on a node's
path or with real secrets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ecdsa import SECP256k1
from ecdsa.ellipticcurve import INFINITY, PointJacobi

from ledger.features.mail.curve import GroupBackend, Term
from ledger.threshold.group import FIELD_PRIME, IDENTITY, ORDER, Point

_CURVE = SECP256k1.curve
assert _CURVE.p() == FIELD_PRIME and SECP256k1.order == ORDER


def _to_jacobian(p: Point) -> PointJacobi:
    if p.is_identity():
        return INFINITY
    x = int.from_bytes(p.sec[1:], "big")
    y_squared = (pow(x, 3, FIELD_PRIME) + 7) % FIELD_PRIME
    y = pow(y_squared, (FIELD_PRIME + 1) // 4, FIELD_PRIME)
    assert y * y % FIELD_PRIME == y_squared, "Point holds an x that is not on the curve"
    if y & 1 != p.sec[0] & 1:
        y = FIELD_PRIME - y
    return PointJacobi(_CURVE, x, y, 1, ORDER)


def _from_jacobian(q: PointJacobi) -> Point:
    if q == INFINITY:
        return IDENTITY
    x, y = q.x() % FIELD_PRIME, q.y() % FIELD_PRIME
    return Point(bytes([2 | (y & 1)]) + x.to_bytes(32, "big"))


class PythonEcdsaBackend:
    """The reference backend: python-ecdsa."""

    name = "python-ecdsa"

    def multi_mul(self, terms: Sequence[Term]) -> Point:
        """See GroupBackend.multi_mul."""
        total: PointJacobi = INFINITY
        for point, k in terms:
            k %= ORDER
            if k and not point.is_identity():
                total = total + _to_jacobian(point) * k
        return _from_jacobian(total)

    def point_sum(self, points: Iterable[Point]) -> Point:
        """See GroupBackend.point_sum."""
        total: PointJacobi = INFINITY
        for point in points:
            total = total + _to_jacobian(point)
        return _from_jacobian(total)

    def secret_mul(self, p: Point, k: int) -> Point:
        """k * p; python-ecdsa is not constant-time: tests only."""
        return self.multi_mul(((p, k),))


PYTHON_ECDSA: GroupBackend = PythonEcdsaBackend()
