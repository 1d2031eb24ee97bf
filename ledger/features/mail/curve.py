"""The group arithmetic the mix's provers and verifiers run on, behind one
small interface, and its fast implementation on libsecp256k1 (coincurve).

Every verifier of the mix takes a ``backend`` argument: ``LIBSECP256K1``
(this module, the default) or ``PYTHON_ECDSA`` (``curve_reference``, an
independent implementation on python-ecdsa). The tests run the verifiers on
both and require the same answers, as FROST's arithmetic is cross-checked.

The hot spot of every verifier is a multi-scalar multiplication: the sum of
k_i * P_i over hundreds of terms. libsecp256k1 exposes no multi-scalar
multiplication, so ``multi_mul`` multiplies each term (coincurve's
``multiply``, i.e. secp256k1_ec_pubkey_tweak_mul, which runs the
variable-time wNAF ecmult: about 40 us for a random scalar, less for a
short one) and adds all products in one call (secp256k1_ec_pubkey_combine,
under 1 us a term). Terms with G use the precomputed-table base
multiplication instead (about 20 us), terms with scalar 1 need no
multiplication, and parsed points are cached because the same points (the
mail key, the generators) come back in every batch.

Variable time is right for verifiers, whose scalars are public, and wrong
for provers, whose scalars are secrets (encryption randomness, the
permuted challenges u'_i, proof nonces, key shares): its timing depends on
the scalar. Provers call ``secret_mul`` instead, which runs libsecp256k1's
constant-time ecmult_const through secp256k1_ecdh with a hash callback that
returns the point itself, and base multiplications, which use the
constant-time ecmult_gen.

What is the threshold library's and what is only here. Points, scalars,
encodings, negation and plain sums are ``ledger.threshold.group``'s and are
used from there. This module adds only what that library lacks: (1) a
backend parameter, so every verifier of the mix runs unchanged on the
python-ecdsa reference (the threshold library instead has a second module
with the same functions, ``group_reference``, which ``curve_reference``
reuses); (2) a multi-scalar multiplication that batches the G terms into
one ecmult_gen and caches parsed points (``group.multi_mul`` parses and
multiplies every term: 19 ms against 11 ms here for 192 terms of which a
third have G, measured on this machine); (3) a constant-time
multiplication of an arbitrary point by a secret (``group.point_mul`` is
variable-time and documented as for public scalars only). RFC 9380
hash-to-curve, which the threshold library does not need, is
``hash_to_curve``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from coincurve import PublicKey
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from ledger.threshold.group import GENERATOR, IDENTITY, ORDER, Point
from ledger.threshold.group import point_sum as _threshold_point_sum

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

    def secret_mul(self, p: Point, k: int) -> Point:
        """k * p for a secret k: in constant time where the backend can."""
        ...


@lru_cache(maxsize=8192)
def _parse(sec: bytes) -> PublicKey:
    return PublicKey(sec)


_G_SEC = GENERATOR.sec


def _copy_point_function(output: Any, x32: Any, y32: Any, data: Any) -> int:
    """An ECDH 'hash' that returns the shared point itself: x (32) || y (32)."""
    ffi.memmove(output, x32, 32)
    ffi.memmove(output + 32, y32, 32)
    return 1


_copy_point: Any = ffi.callback(
    "int(unsigned char *, const unsigned char *, const unsigned char *, void *)",
    _copy_point_function,
)


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
        """See GroupBackend.point_sum (the threshold library's sum)."""
        return _threshold_point_sum(points)

    def secret_mul(self, p: Point, k: int) -> Point:
        """See GroupBackend.secret_mul: ecmult_gen for G, ecmult_const otherwise."""
        k %= ORDER
        if k == 0 or p.is_identity():
            return IDENTITY
        scalar = k.to_bytes(32, "big")
        if p.sec == _G_SEC:
            return Point(PublicKey.from_valid_secret(scalar).format(compressed=True))
        output = ffi.new("unsigned char[64]")
        done = lib.secp256k1_ecdh(
            GLOBAL_CONTEXT.ctx, output, _parse(p.sec).public_key, scalar, _copy_point, ffi.NULL
        )
        assert done == 1, "secp256k1_ecdh refused a valid point and scalar"
        raw = bytes(output)
        return Point(bytes([2 | (raw[63] & 1)]) + raw[:32])


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
    """k * G (constant-time ecmult_gen on libsecp256k1)."""
    return backend.secret_mul(GENERATOR, k)


def point_mul(p: Point, k: int, backend: GroupBackend = LIBSECP256K1) -> Point:
    """k * p for a public k (variable time)."""
    return backend.multi_mul(((p, k),))


def secret_multi_mul(terms: Iterable[Term], backend: GroupBackend = LIBSECP256K1) -> Point:
    """The sum of k * P for secret scalars, each product in constant time."""
    return backend.point_sum([backend.secret_mul(p, k) for p, k in terms])
