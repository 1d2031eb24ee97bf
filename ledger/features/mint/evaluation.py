"""Threshold evaluation: each key holder i computes k_i*P with a
Chaum-Pedersen proof that log_P(k_i*P) == log_G(K_i), K_i being its
verification share; any t valid shares combine by Lagrange interpolation
to k*P.

The mint uses it twice: for issuance with P = B_ (inside ``issuance``),
and for redemption with P = hash_to_curve(secret) (``redemption``).

The proofs here are the validators' own, not NUT-12's: a compact
Chaum-Pedersen proof (c, z) with

    T1 = z*G - c*X1,  T2 = z*B - c*X2,  c = H(tag, context, G.., B, X1, X2, T1, T2)

hashed to a scalar with the ceremony hash of ``ledger.threshold.hashing``
under its own tag, and bound to a caller's context (chain, request, keyset,
amount), so that no proof made for one request is accepted for another. The
prover's nonce hashes fresh randomness with the secret and the statement (as
RFC 9591 nonce_generate does), so a weak random source alone leaks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.threshold.errors import InvalidParameters, InvalidRandomness
from ledger.threshold.group import (
    GENERATOR,
    ORDER,
    Point,
    RandomBytes,
    base_mul,
    encode_element,
    encode_scalar,
    point_mul,
)
from ledger.threshold.hashing import ceremony_digest, ceremony_scalar
from ledger.threshold.keys import KeyPackage, PublicKeyPackage
from ledger.threshold.polynomial import check_identifiers

from .curve import linear_combination
from .errors import NotEnoughShares

EVALUATION_TAG = b"mint-evaluation"


@dataclass(frozen=True, slots=True)
class EqualLogProof:
    """A compact Chaum-Pedersen proof (c, z) that two points have the same
    discrete log to two bases. Both are scalars below the group order."""

    challenge: int
    response: int

    def __post_init__(self) -> None:
        if not (0 <= self.challenge < ORDER and 0 <= self.response < ORDER):
            raise InvalidParameters("proof scalars must be below the group order")


def _statement_digest(
    tag: bytes, context: bytes, base: Point, public_g: Point, public_b: Point
) -> bytes:
    return ceremony_digest(
        tag + b"-statement",
        [context, encode_element(base), encode_element(public_g), encode_element(public_b)],
    )


def _challenge(tag: bytes, statement: bytes, t1: Point, t2: Point) -> int:
    return ceremony_scalar(tag + b"-chal", statement + t1.sec + t2.sec)


def prove_equal_logs(
    secret: int, base: Point, tag: bytes, context: bytes, rng: RandomBytes
) -> EqualLogProof:
    """Prove that secret*G and secret*base share the discrete log secret,
    for (tag, context).

    Raises InvalidParameters for an identity base or a secret outside
    (0, ORDER); InvalidRandomness if rng misbehaves.
    """
    if base.is_identity() or not 0 < secret < ORDER:
        raise InvalidParameters("equal-log proofs need a nonzero secret and a non-identity base")
    publics = (base_mul(secret), point_mul(base, secret))
    return prove_equal_logs_of(secret, base, publics, tag, context, rng)


def prove_equal_logs_of(
    secret: int,
    base: Point,
    publics: tuple[Point, Point],
    tag: bytes,
    context: bytes,
    rng: RandomBytes,
) -> EqualLogProof:
    """prove_equal_logs for a caller that already holds secret*G and
    secret*base (``publics``, in that order), saving two multiplications.
    Wrong publics give a proof that fails verification, nothing worse.

    Raises InvalidRandomness if rng misbehaves.
    """
    public_g, public_b = publics
    statement = _statement_digest(tag, context, base, public_g, public_b)
    randomness = rng(32)
    if len(randomness) != 32:
        raise InvalidRandomness("random source returned the wrong number of bytes")
    nonce = ceremony_scalar(tag + b"-nonce", randomness + encode_scalar(secret) + statement)
    if nonce == 0:
        raise InvalidRandomness("proof nonce is zero")
    challenge = _challenge(tag, statement, base_mul(nonce), point_mul(base, nonce))
    return EqualLogProof(challenge, (nonce + challenge * secret) % ORDER)


def verify_equal_logs(
    base: Point,
    public_g: Point,
    public_b: Point,
    proof: EqualLogProof,
    tag: bytes,
    context: bytes,
) -> bool:
    """True if proof shows log_G(public_g) == log_base(public_b) for (tag,
    context). Never raises; identity points fail."""
    if base.is_identity() or public_g.is_identity() or public_b.is_identity():
        return False
    c, z = proof.challenge, proof.response
    t1 = linear_combination(((GENERATOR, z), (public_g, -c)))
    t2 = linear_combination(((base, z), (public_b, -c)))
    if t1.is_identity() or t2.is_identity():
        return False
    statement = _statement_digest(tag, context, base, public_g, public_b)
    return _challenge(tag, statement, t1, t2) == c


@dataclass(frozen=True)
class EvaluationShare:
    """Key holder ``identifier``'s share k_i*P of an evaluation at P, with
    its proof against the holder's verification share K_i."""

    identifier: int
    value: Point
    proof: EqualLogProof


@dataclass(frozen=True)
class CombinedEvaluation:
    """k*P from the t valid shares with the lowest identifiers (``signers``);
    ``rejected`` names the members whose shares failed verification, sent two
    different shares, or who are not members."""

    value: Point
    signers: tuple[int, ...]
    rejected: tuple[int, ...]


def evaluate(key: KeyPackage, point: Point, context: bytes, rng: RandomBytes) -> EvaluationShare:
    """This key holder's share k_i*P with its proof, bound to context.

    Raises InvalidParameters for an identity point; InvalidRandomness if rng
    misbehaves.
    """
    if point.is_identity():
        raise InvalidParameters("cannot evaluate at the identity")
    value = point_mul(point, key.secret_share)
    # KeyPackage guarantees that the verification share is secret_share*G.
    publics = (key.public.verification_share(key.identifier), value)
    proof = prove_equal_logs_of(key.secret_share, point, publics, EVALUATION_TAG, context, rng)
    return EvaluationShare(key.identifier, value, proof)


def verify_evaluation_share(
    public: PublicKeyPackage, point: Point, share: EvaluationShare, context: bytes
) -> bool:
    """True if share is a member's correct k_i*P for context. Never raises."""
    verification_share = public.verification_shares.get(share.identifier)
    if verification_share is None:
        return False
    return verify_equal_logs(
        point, verification_share, share.value, share.proof, EVALUATION_TAG, context
    )


def lagrange_coefficients(identifiers: Sequence[int]) -> dict[int, int]:
    """The Lagrange coefficient at 0 of every identifier over the set.

    Raises InvalidParameters for an invalid or repeated identifier.
    """
    ids = check_identifiers(identifiers)
    coefficients = {}
    for x_i in ids:
        numerator, denominator = 1, 1
        for x_j in ids:
            if x_j != x_i:
                numerator = numerator * x_j % ORDER
                denominator = denominator * (x_j - x_i) % ORDER
        coefficients[x_i] = numerator * pow(denominator, -1, ORDER) % ORDER
    return coefficients


def interpolate_values(values: Mapping[int, Point]) -> Point:
    """sum lambda_i * V_i over the members' values (Lagrange at 0).

    Raises InvalidParameters for an invalid or repeated identifier.
    """
    coefficients = lagrange_coefficients(list(values))
    return linear_combination((values[i], coefficients[i]) for i in sorted(values))


def _screen_shares(
    public: PublicKeyPackage, point: Point, shares: Iterable[EvaluationShare], context: bytes
) -> tuple[dict[int, Point], tuple[int, ...]]:
    by_member: dict[int, set[EvaluationShare]] = {}
    for share in shares:
        by_member.setdefault(share.identifier, set()).add(share)
    valid: dict[int, Point] = {}
    rejected = []
    for identifier in sorted(by_member):
        sent = by_member[identifier]
        if len(sent) > 1:  # two different shares: equivocation, whatever they say
            rejected.append(identifier)
            continue
        (share,) = sent
        if verify_evaluation_share(public, point, share, context):
            valid[identifier] = share.value
        else:
            rejected.append(identifier)
    return valid, tuple(rejected)


def combine_evaluation_shares(
    public: PublicKeyPackage, point: Point, shares: Iterable[EvaluationShare], context: bytes
) -> CombinedEvaluation:
    """Verify every share and interpolate the t valid ones with the lowest
    identifiers to k*P.

    Deterministic in the set of shares given (not their order), so every
    node given the same shares gets the same answer. Raises NotEnoughShares,
    naming the rejected members, if fewer than t shares are valid.
    """
    valid, rejected = _screen_shares(public, point, shares, context)
    if len(valid) < public.threshold:
        raise NotEnoughShares(
            f"{len(valid)} valid evaluation shares, threshold {public.threshold}", rejected
        )
    signers = tuple(sorted(valid))[: public.threshold]
    value = interpolate_values({i: valid[i] for i in signers})
    return CombinedEvaluation(value, signers, rejected)
