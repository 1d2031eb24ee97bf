"""Hashing to secp256k1 (RFC 9380, suite secp256k1_XMD:SHA-256_SSWU_RO_) and
the mix's independent generators.

The proof of shuffle needs generators H, H_1, ..., H_N whose discrete logs
relative to G (and to each other) nobody knows. Each is hash_to_curve of its
index under the mix's own domain-separation tag, so anyone can recompute
them and no one chose them.

hash_to_curve (RFC 9380 §3): u0, u1 = hash_to_field(msg, 2) (expand_message_xmd
with SHA-256, L = 48); Q_i = iso_map(map_to_curve_simple_swu(u_i)) on the
3-isogenous curve E': y^2 = x^3 + A'x + B' (Appendix E.1); P = Q0 + Q1 (the
cofactor is 1). Inputs are public, so nothing here needs to be constant-time.
The tests check every vector of RFC 9380 Appendix J.8.1.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from ledger.features.mail.errors import InvalidParameters
from ledger.features.mail.params import MAX_BATCH
from ledger.threshold.group import FIELD_PRIME, IDENTITY, Point, point_add
from ledger.threshold.hashing import expand_message_xmd

_P: Final = FIELD_PRIME
_L: Final = 48

# E': y^2 = x^3 + A'x + B', 3-isogenous to secp256k1 (RFC 9380 §8.7), and Z.
_A: Final = 0x3F8731ABDD661ADCA08A5558F0F5D272E953D363CB6F0E5D405447C01A444533
_B: Final = 1771
_Z: Final = _P - 11

# The 3-isogeny map E' -> secp256k1 (RFC 9380 Appendix E.1).
_X_NUM: Final = (
    0x8E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38DAAAAA8C7,
    0x07D3D4C80BC321D5B9F315CEA7FD44C5D595D2FC0BF63B92DFFF1044F17C6581,
    0x534C328D23F234E6E2A413DECA25CAECE4506144037C40314ECBD0B53D9DD262,
    0x8E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38DAAAAA88C,
)
_X_DEN: Final = (
    0xD35771193D94918A9CA34CCBB7B640DD86CD409542F8487D9FE6B745781EB49B,
    0xEDADC6F64383DC1DF7C4B2D51B54225406D36B641F5E41BBC52A56612A8C6D14,
    1,
)
_Y_NUM: Final = (
    0x4BDA12F684BDA12F684BDA12F684BDA12F684BDA12F684BDA12F684B8E38E23C,
    0xC75E0C32D5CB7C0FA9D0A54B12A0A6D5647AB046D686DA6FDFFC90FC201D71A3,
    0x29A6194691F91A73715209EF6512E576722830A201BE2018A765E85A9ECEE931,
    0x2F684BDA12F684BDA12F684BDA12F684BDA12F684BDA12F684BDA12F38E38D84,
)
_Y_DEN: Final = (
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFF93B,
    0x7A06534BB8BDB49FD5E9E6632722C2989467C1BFC8E8D978DFB425D2685C2573,
    0x6484AA716545CA2CF3A70C3FA8FE337E0A3D21162F0D6299A7BF8192BFD2A76F,
    1,
)

GENERATOR_DST: Final = b"LEDGER-mail-secp256k1-v1-generators_XMD:SHA-256_SSWU_RO_"


def hash_to_field(msg: bytes, dst: bytes) -> tuple[int, int]:
    """hash_to_field(msg, 2) into the base field (RFC 9380 §5.2, L = 48)."""
    uniform = expand_message_xmd(msg, dst, 2 * _L)
    return (
        int.from_bytes(uniform[:_L], "big") % _P,
        int.from_bytes(uniform[_L:], "big") % _P,
    )


def _is_square(v: int) -> bool:
    return v == 0 or pow(v, (_P - 1) // 2, _P) == 1


def _sqrt(v: int) -> int:
    return pow(v, (_P + 1) // 4, _P)  # p = 3 mod 4


def _inv0(v: int) -> int:
    return 0 if v == 0 else pow(v, -1, _P)


def map_to_curve_simple_swu(u: int) -> tuple[int, int]:
    """The simplified SWU map onto E' (RFC 9380 §6.6.2, straight-line form)."""
    zu2 = _Z * u * u % _P
    tv1 = _inv0((zu2 * zu2 + zu2) % _P)
    if tv1 == 0:
        x1 = _B * pow(_Z * _A, -1, _P) % _P
    else:
        x1 = (_P - _B) * pow(_A, -1, _P) * (1 + tv1) % _P
    gx1 = (pow(x1, 3, _P) + _A * x1 + _B) % _P
    if _is_square(gx1):
        x, y = x1, _sqrt(gx1)
    else:
        x = zu2 * x1 % _P
        y = _sqrt((pow(x, 3, _P) + _A * x + _B) % _P)
    if u & 1 != y & 1:
        y = _P - y
    return x, y


def _evaluate(coefficients: tuple[int, ...], x: int) -> int:
    value = 0
    for coefficient in reversed(coefficients):
        value = (value * x + coefficient) % _P
    return value


def iso_map(x: int, y: int) -> Point:
    """The 3-isogeny from E' to secp256k1 (RFC 9380 Appendix E.1); the
    identity where a denominator vanishes."""
    x_den = _evaluate(_X_DEN, x)
    y_den = _evaluate(_Y_DEN, x)
    if x_den == 0 or y_den == 0:
        return IDENTITY
    x_out = _evaluate(_X_NUM, x) * pow(x_den, -1, _P) % _P
    y_out = y * _evaluate(_Y_NUM, x) * pow(y_den, -1, _P) % _P
    return Point(bytes([2 | (y_out & 1)]) + x_out.to_bytes(32, "big"))


def hash_to_curve(msg: bytes, dst: bytes) -> Point:
    """hash_to_curve(msg) for secp256k1_XMD:SHA-256_SSWU_RO_ with this DST."""
    u0, u1 = hash_to_field(msg, dst)
    return point_add(iso_map(*map_to_curve_simple_swu(u0)), iso_map(*map_to_curve_simple_swu(u1)))


@lru_cache(maxsize=MAX_BATCH + 1)
def _generator(index: int) -> Point:
    point = hash_to_curve(b"generator" + index.to_bytes(4, "big"), GENERATOR_DST)
    assert not point.is_identity(), "hash_to_curve gave the identity"
    return point


def commitment_base() -> Point:
    """H: the base of the permutation-commitment chain (index 0)."""
    return _generator(0)


def independent_generators(count: int) -> tuple[Point, ...]:
    """H_1, ..., H_count: the generators of the permutation commitment.

    Deterministic (hash_to_curve of the index), computed once per index and
    cached. Raises InvalidParameters for count outside 0..MAX_BATCH.
    """
    if not 0 <= count <= MAX_BATCH:
        raise InvalidParameters(f"{count} generators requested; at most {MAX_BATCH}")
    return tuple(_generator(i) for i in range(1, count + 1))
