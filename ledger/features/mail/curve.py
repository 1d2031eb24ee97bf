"""The group arithmetic the mix's provers and verifiers run on, behind one
small interface, and its fast implementation on libsecp256k1 (coincurve).

Every verifier of the mix takes a ``backend`` argument: ``LIBSECP256K1``
(this module, the default) or ``PYTHON_ECDSA`` (``curve_reference``, an
independent implementation on python-ecdsa). The tests run the verifiers on
both and require the same answers, as FROST's arithmetic is cross-checked.

The hot spot of every verifier is a multi-scalar multiplication: the sum of
k_i * P_i over hundreds of terms. libsecp256k1 exposes no multi-scalar
multiplication, so ``multi_mul`` multiplies each term (constant-time
ecmult_const, about 35 us) and adds all products in one call
(secp256k1_ec_pubkey_combine, under 1 us a term). Terms with G use the
precomputed-table base multiplication instead (about 19 us), terms with
scalar 1 need no multiplication, and parsed points are cached because the
same points (the mail key, the generators) come back in every batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol

from coincurve import PublicKey

from ledger.threshold.group import GENERATOR, IDENTITY, ORDER, Point

Term = tuple[Point, int]
"""One term k * P of a multi-scalar multiplication: (P, k), k any integer."""


class GroupBackend(Protocol):
    """secp256k1 arithmetic on ``Point`` values (SEC1 bytes, identity 0x00)."""

    name: str

    def multi_mul(self, terms: Sequence[Term]) -> Point:
        """The sum of k * P over the terms (the identity for none).

        Scalars are reduced mod the group order; identity points and zero
        scalars contribute nothing.
        """
        ...

    def point_sum(self, points: Iterable[Point]) -> Point:
        """The sum of the points (the identity for none)."""
        ...


@lru_cache(maxsize=8192)
def _parse(sec: bytes) -> PublicKey:
    return PublicKey(sec)


_G_SEC = GENERATOR.sec


class Libsecp256k1Backend:
    """The fast backend: libsecp256k1 through coincurve."""

    name = "libsecp256k1"

    def multi_mul(self, terms: Sequence[Term]) -> Point:
        """See GroupBackend.multi_mul."""
        products: list[PublicKey] = []
        g_scalar = 0
        for point, k in terms:
            k %= ORDER
            if k == 0 or point.is_identity():
                continue
            if point.sec == _G_SEC:
                g_scalar += k
            elif k == 1:
                products.append(_parse(point.sec))
            else:
                products.append(_parse(point.sec).multiply(k.to_bytes(32, "big")))
        g_scalar %= ORDER
        if g_scalar:
            products.append(PublicKey.from_valid_secret(g_scalar.to_bytes(32, "big")))
        return _combine(products)

    def point_sum(self, points: Iterable[Point]) -> Point:
        """See GroupBackend.point_sum."""
        return _combine([_parse(p.sec) for p in points if not p.is_identity()])


def _combine(keys: list[PublicKey]) -> Point:
    if not keys:
        return IDENTITY
    if len(keys) == 1:
        return Point(keys[0].format(compressed=True))
    try:
        total = PublicKey.combine_keys(keys)
    except ValueError:
        # libsecp256k1 refuses exactly one case for valid inputs: a sum at infinity.
        return IDENTITY
    return Point(total.format(compressed=True))


LIBSECP256K1: GroupBackend = Libsecp256k1Backend()


def base_mul(k: int, backend: GroupBackend = LIBSECP256K1) -> Point:
    """k * G."""
    return backend.multi_mul(((GENERATOR, k),))


def point_mul(p: Point, k: int, backend: GroupBackend = LIBSECP256K1) -> Point:
    """k * p."""
    return backend.multi_mul(((p, k),))


def point_add(a: Point, b: Point, backend: GroupBackend = LIBSECP256K1) -> Point:
    """a + b."""
    return backend.point_sum((a, b))


def point_neg(p: Point) -> Point:
    """-p (flip the parity byte; the identity stays)."""
    if p.is_identity():
        return IDENTITY
    return Point(bytes([p.sec[0] ^ 1]) + p.sec[1:])
