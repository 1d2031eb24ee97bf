"""secp256k1 arithmetic: the coincurve backend agrees with the python-ecdsa
reference, identity is handled explicitly, and bad encodings are rejected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.threshold import group, group_reference
from ledger.threshold.errors import InvalidEncoding, InvalidRandomness
from ledger.threshold.group import FIELD_PRIME, IDENTITY, ORDER
from tests.hypothesis_profiles import examples

scalars = st.integers(min_value=0, max_value=ORDER - 1)


@settings(max_examples=examples(40), deadline=None)
@given(a=scalars, b=scalars, k=st.integers(min_value=-(2**300), max_value=2**300))
def test_backends_agree_on_random_inputs(a: int, b: int, k: int) -> None:
    p, q = group.base_mul(a), group.base_mul(b)
    assert p == group_reference.base_mul(a)
    assert group.point_mul(p, k) == group_reference.point_mul(p, k)
    assert group.point_add(p, q) == group_reference.point_add(p, q)
    assert group.point_neg(p) == group_reference.point_neg(p)
    assert group.point_sum([p, q, p]) == group_reference.point_sum([p, q, p])
    if not p.is_identity():
        assert group.decode_element(p.sec) == group_reference.decode_element(p.sec) == p


def test_identity_arithmetic() -> None:
    p = group.base_mul(12345)
    for backend in (group, group_reference):
        assert backend.point_add(p, backend.point_neg(p)) == IDENTITY
        assert backend.point_add(p, IDENTITY) == p
        assert backend.point_mul(p, ORDER) == IDENTITY
        assert backend.point_mul(IDENTITY, 7) == IDENTITY
        assert backend.base_mul(0) == IDENTITY
        assert backend.point_sum([]) == IDENTITY
    assert group.point_sum([p, group.point_neg(p), group.GENERATOR]) == group.GENERATOR
    assert group.point_sub(p, p) == IDENTITY
    assert group.point_neg(IDENTITY) == IDENTITY


def test_doubling_and_generator() -> None:
    p = group.base_mul(99)
    assert group.point_add(p, p) == group.base_mul(198) == group_reference.point_add(p, p)
    assert group.base_mul(1) == group.GENERATOR == group_reference.base_mul(1)
    assert group.multi_mul([(p, 2), (group.GENERATOR, 3)]) == group.base_mul(201)


def test_encode_identity_is_rejected() -> None:
    with pytest.raises(InvalidEncoding):
        group.encode_element(IDENTITY)


def _x_not_on_curve() -> int:
    x = 5
    while pow((x**3 + 7) % FIELD_PRIME, (FIELD_PRIME - 1) // 2, FIELD_PRIME) == 1:
        x += 1
    return x


_GOOD = group.base_mul(7).sec
_BAD_ELEMENTS = {
    "empty": b"",
    "sec1-identity": b"\x00",
    "short": _GOOD[:32],
    "long": _GOOD + b"\x00",
    "prefix-04": b"\x04" + _GOOD[1:],
    "prefix-00": b"\x00" * 33,
    "prefix-05": b"\x05" + _GOOD[1:],
    "x-equals-p": b"\x02" + FIELD_PRIME.to_bytes(32, "big"),
    "x-above-p": b"\x03" + (2**256 - 1).to_bytes(32, "big"),
    "x-not-on-curve": b"\x02" + _x_not_on_curve().to_bytes(32, "big"),
}


@pytest.mark.parametrize("name", sorted(_BAD_ELEMENTS))
def test_invalid_element_encodings(name: str) -> None:
    for backend in (group, group_reference):
        with pytest.raises(InvalidEncoding):
            backend.decode_element(_BAD_ELEMENTS[name])


def test_invalid_element_with_unreduced_x() -> None:
    # x0 + p encodes the same field element as a valid small x0: still rejected.
    x0 = 1
    while pow((x0**3 + 7) % FIELD_PRIME, (FIELD_PRIME - 1) // 2, FIELD_PRIME) != 1:
        x0 += 1
    valid = b"\x02" + x0.to_bytes(32, "big")
    assert group.decode_element(valid) == group_reference.decode_element(valid)
    unreduced = b"\x02" + (x0 + FIELD_PRIME).to_bytes(32, "big")
    for backend in (group, group_reference):
        with pytest.raises(InvalidEncoding):
            backend.decode_element(unreduced)


@pytest.mark.parametrize("value", [ORDER, ORDER + 1, 2**256 - 1])
def test_invalid_scalar_encodings(value: int) -> None:
    with pytest.raises(InvalidEncoding):
        group.decode_scalar(value.to_bytes(32, "big"))
    with pytest.raises(InvalidEncoding):
        group.encode_scalar(value)


def test_invalid_scalar_lengths() -> None:
    with pytest.raises(InvalidEncoding):
        group.decode_scalar(b"\x01" * 31)
    with pytest.raises(InvalidEncoding):
        group.decode_scalar(b"\x01" * 33)
    with pytest.raises(InvalidEncoding):
        group.encode_scalar(-1)
    assert group.decode_scalar(group.encode_scalar(ORDER - 1)) == ORDER - 1


def test_invalid_random_sources() -> None:
    with pytest.raises(InvalidRandomness):
        group.random_scalar(lambda n: b"\x01" * (n - 1))
    with pytest.raises(InvalidRandomness):
        group.random_scalar(lambda n: bytes(n))
    assert 0 < group.random_scalar(lambda n: b"\x01" * n) < ORDER


@settings(max_examples=examples(40), deadline=None)
@given(secret=scalars, nonce=scalars, challenge=scalars, tweak=st.integers(0, 2))
def test_schnorr_equation_agrees_with_composed_arithmetic(
    secret: int, nonce: int, challenge: int, tweak: int
) -> None:
    public = group.base_mul(secret)
    commitment = group.base_mul(nonce)
    response = (nonce + challenge * secret + tweak) % ORDER  # valid only when tweak == 0
    composed = group_reference.base_mul(response) == group_reference.point_add(
        commitment, group_reference.point_mul(public, challenge)
    )
    assert composed == (tweak == 0)
    assert group.schnorr_equation_holds(public, commitment, response, challenge) == composed


def test_schnorr_equation_edge_cases() -> None:
    p = group.base_mul(5)
    assert group.schnorr_equation_holds(p, IDENTITY, 0, 0)
    assert group.schnorr_equation_holds(p, IDENTITY, 5, 1)  # 5G - 5G is at infinity
    assert not group.schnorr_equation_holds(p, p, 5, 1)
    assert group.schnorr_equation_holds(p, group.base_mul(10), 5, ORDER - 1)
    assert group.schnorr_equation_holds(IDENTITY, p, 5, 3)
    assert group.schnorr_equation_holds(p, group.base_mul(2), 7, 1)


def test_invalid_point_shapes_are_refused_on_construction() -> None:
    for sec in (b"", b"\x00" * 2, b"\x04" + bytes(32), bytes(33), b"\x02" + bytes(31)):
        with pytest.raises(InvalidEncoding):
            group.Point(sec)
