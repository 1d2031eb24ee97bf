"""The mix's group arithmetic on python-ecdsa (with gmpy2): the second,
independent implementation the verifiers are cross-checked on.

It is the threshold library's reference arithmetic (``group_reference``:
points lifted with integer field arithmetic written out there, not through
libsecp256k1, then multiplied and added by python-ecdsa) behind the mix's
``GroupBackend`` interface. Slow (a multiplication costs about a
millisecond) and not constant-time; used only by tests, never on a node's
path or with real secrets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.features.mail.curve import GroupBackend, Term
from ledger.threshold import group_reference
from ledger.threshold.group import Point


class PythonEcdsaBackend:
    """The reference backend: python-ecdsa through ``group_reference``."""

    name = "python-ecdsa"

    def multi_mul(self, terms: Sequence[Term]) -> Point:
        """See GroupBackend.multi_mul."""
        return group_reference.point_sum(group_reference.point_mul(p, k) for p, k in terms)

    def point_sum(self, points: Iterable[Point]) -> Point:
        """See GroupBackend.point_sum."""
        return group_reference.point_sum(points)

    def secret_mul(self, p: Point, k: int) -> Point:
        """k * p; python-ecdsa is not constant-time: tests only."""
        return group_reference.point_mul(p, k)


PYTHON_ECDSA: GroupBackend = PythonEcdsaBackend()
