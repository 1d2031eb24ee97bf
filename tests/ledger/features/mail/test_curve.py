"""The two arithmetic backends give the same answers: multi-scalar
multiplication with G terms, unit scalars, zero scalars, identity points
and sums that cancel to the identity."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.mail import curve
from ledger.features.mail.curve import LIBSECP256K1
from ledger.features.mail.curve_reference import PYTHON_ECDSA
from ledger.threshold import group
from ledger.threshold.group import GENERATOR, IDENTITY, ORDER

scalars = st.integers(min_value=-(2**260), max_value=2**260)
special = st.sampled_from([0, 1, -1, ORDER, ORDER - 1, ORDER + 1, 2])


@settings(max_examples=40, deadline=None)
@given(
    secrets=st.lists(st.integers(min_value=1, max_value=ORDER - 1), min_size=0, max_size=5),
    factors=st.lists(st.one_of(scalars, special), min_size=5, max_size=5),
    with_g=st.booleans(),
    with_identity=st.booleans(),
)
def test_backends_agree_on_multi_mul(
    secrets: list[int], factors: list[int], with_g: bool, with_identity: bool
) -> None:
    terms = [(group.base_mul(s), k) for s, k in zip(secrets, factors, strict=False)]
    if with_g:
        terms.append((GENERATOR, factors[0]))
    if with_identity:
        terms.append((IDENTITY, factors[1]))
    fast = LIBSECP256K1.multi_mul(terms)
    assert fast == PYTHON_ECDSA.multi_mul(terms)
    assert fast == group.multi_mul(terms)


@settings(max_examples=20, deadline=None)
@given(secret=st.integers(min_value=1, max_value=ORDER - 1), k=scalars)
def test_sums_that_cancel_are_the_identity(secret: int, k: int) -> None:
    p = group.base_mul(secret)
    for backend in (LIBSECP256K1, PYTHON_ECDSA):
        assert backend.multi_mul([(p, k), (p, -k)]) == IDENTITY
        assert backend.multi_mul([(p, k), (group.point_neg(p), k), (GENERATOR, 0)]) == IDENTITY
        assert backend.point_sum([p, group.point_neg(p)]) == IDENTITY
        # G terms are gathered into one base multiplication on the fast backend.
        assert backend.multi_mul([(GENERATOR, k), (GENERATOR, -k), (p, 1)]) == p


@settings(max_examples=40, deadline=None)
@given(secret=st.integers(min_value=1, max_value=ORDER - 1), k=st.one_of(scalars, special))
def test_constant_time_products_agree(secret: int, k: int) -> None:
    # secret_mul goes through secp256k1_ecdh (ecmult_const) with a callback
    # returning the point: the same answers as the variable-time path.
    p = group.base_mul(secret)
    expected = PYTHON_ECDSA.multi_mul([(p, k)])
    assert LIBSECP256K1.secret_mul(p, k) == expected == PYTHON_ECDSA.secret_mul(p, k)
    assert LIBSECP256K1.secret_mul(GENERATOR, k) == group.base_mul(k)
    assert LIBSECP256K1.secret_mul(IDENTITY, k) == IDENTITY
    assert curve.secret_multi_mul([(p, k), (GENERATOR, k)]) == group.multi_mul(
        [(p, k), (GENERATOR, k)]
    )


def test_empty_and_trivial_inputs() -> None:
    p = group.base_mul(5)
    for backend in (LIBSECP256K1, PYTHON_ECDSA):
        assert backend.multi_mul([]) == IDENTITY
        assert backend.point_sum([]) == IDENTITY
        assert backend.point_sum([IDENTITY, p]) == p
        assert backend.multi_mul([(p, ORDER)]) == IDENTITY
        assert backend.multi_mul([(p, 1)]) == p
        assert backend.multi_mul([(p, 1), (p, 1)]) == group.base_mul(10)  # doubling
    assert curve.base_mul(7) == group.base_mul(7)
    assert curve.point_mul(p, 3) == group.base_mul(15)
    assert PYTHON_ECDSA.point_sum((p, p)) == group.base_mul(10)
    assert group.point_neg(IDENTITY) == IDENTITY
