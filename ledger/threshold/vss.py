"""Feldman verifiable secret sharing (RFC 9591 Appendix C.2).

A dealer with polynomial f publishes the commitment C_k = a_k*G for each
coefficient a_k. Anyone can then compute f(x)*G = sum_k C_k * x^k from the
commitment alone, so a receiver checks a secret share s = f(x) against it
without learning anything beyond s*G.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.threshold.errors import InvalidCommitment
from ledger.threshold.group import ORDER, Point, base_mul, multi_mul, point_mul, point_sum

Commitment = tuple[Point, ...]
"""A Feldman commitment: one point per coefficient, constant term first."""


def vss_commit(coefficients: Sequence[int]) -> Commitment:
    """The Feldman commitment to a polynomial (RFC 9591 Appendix C.2 vss_commit)."""
    return tuple(base_mul(a) for a in coefficients)


def commitment_evaluate(commitment: Commitment, x: int) -> Point:
    """f(x)*G computed from the commitment alone: sum_k C_k * x^k."""
    powers = [pow(x, k, ORDER) for k in range(len(commitment))]
    return multi_mul(zip(commitment, powers, strict=True))


def vss_verify(share: int, x: int, commitment: Commitment) -> bool:
    """True if share*G matches the commitment evaluated at x (RFC 9591
    Appendix C.2 vss_verify)."""
    return base_mul(share) == commitment_evaluate(commitment, x)


def check_commitment(commitment: Commitment, threshold: int, dealer: int) -> None:
    """Check that a dealer's commitment has one point per coefficient of a
    degree threshold-1 polynomial and no identity point (which an honest
    dealer produces with negligible probability).

    Raises InvalidCommitment naming the dealer otherwise.
    """
    if len(commitment) != threshold:
        raise InvalidCommitment(
            f"dealer {dealer} committed to {len(commitment)} coefficients, expected {threshold}",
            (dealer,),
        )
    if any(c.is_identity() for c in commitment):
        raise InvalidCommitment(f"dealer {dealer} committed to a zero coefficient", (dealer,))


def sum_commitments(commitments: Iterable[Commitment]) -> Commitment:
    """The commitment to the sum of the committed polynomials, coefficient by
    coefficient. All commitments must have the same length."""
    columns = zip(*commitments, strict=True)
    return tuple(point_sum(column) for column in columns)


def scale_commitment(commitment: Commitment, factor: int) -> Commitment:
    """The commitment to factor times the committed polynomial."""
    return tuple(point_mul(c, factor) for c in commitment)
