"""Polynomials over the secp256k1 scalar field and Lagrange interpolation
(RFC 9591 §4.2 and Appendix C), plus the rules for member identifiers.

A polynomial is the tuple of its coefficients, constant term first. Member
identifiers are the nonzero scalars at which shares are evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from ledger.threshold.errors import InvalidParameters
from ledger.threshold.group import ORDER, RandomBytes, random_scalar


def check_identifier(identifier: int) -> int:
    """Return identifier if it is a valid member identifier (1 <= id < ORDER).

    Raises InvalidParameters otherwise.
    """
    if not 0 < identifier < ORDER:
        raise InvalidParameters(f"identifier {identifier} is not a nonzero scalar")
    return identifier


def check_identifiers(identifiers: Iterable[int]) -> tuple[int, ...]:
    """Return the identifiers sorted, after checking each and that none repeats.

    Raises InvalidParameters for an invalid or duplicate identifier.
    """
    ordered = tuple(sorted(check_identifier(i) for i in identifiers))
    for a, b in pairwise(ordered):
        if a == b:
            raise InvalidParameters(f"duplicate identifier {a}")
    return ordered


def check_threshold(threshold: int, members: int) -> None:
    """Check 1 <= threshold <= members. Raises InvalidParameters otherwise."""
    if not 1 <= threshold <= members:
        raise InvalidParameters(f"threshold {threshold} is not in 1..{members}")


def random_polynomial(constant: int, degree: int, rng: RandomBytes) -> tuple[int, ...]:
    """A polynomial with the given constant term and random other coefficients.

    Raises InvalidRandomness if rng misbehaves.
    """
    return (constant % ORDER, *(random_scalar(rng) for _ in range(degree)))


def polynomial_evaluate(x: int, coefficients: Sequence[int]) -> int:
    """Evaluate the polynomial at x (Horner's rule), mod ORDER."""
    value = 0
    for coefficient in reversed(coefficients):
        value = (value * x + coefficient) % ORDER
    return value


def derive_interpolating_value(identifiers: Sequence[int], x_i: int) -> int:
    """The Lagrange coefficient of x_i for interpolation at 0 over identifiers
    (RFC 9591 §4.2 derive_interpolating_value).

    Raises InvalidParameters if x_i is not in the list or the list has an
    invalid or duplicate identifier.
    """
    check_identifiers(identifiers)
    if x_i not in identifiers:
        raise InvalidParameters(f"identifier {x_i} is not in the interpolation set")
    numerator = 1
    denominator = 1
    for x_j in identifiers:
        if x_j != x_i:
            numerator = numerator * x_j % ORDER
            denominator = denominator * (x_j - x_i) % ORDER
    return numerator * pow(denominator, -1, ORDER) % ORDER


def interpolate_constant(points: Sequence[tuple[int, int]]) -> int:
    """The constant term of the polynomial through the (x, y) points
    (RFC 9591 Appendix C.1 polynomial_interpolate_constant).

    Raises InvalidParameters for an invalid or repeated x.
    """
    xs = [x for x, _ in points]
    check_identifiers(xs)
    return sum(derive_interpolating_value(xs, x) * y for x, y in points) % ORDER
