"""Threshold blind signatures with a jointly produced NUT-12 proof.

The mint key k of one denomination is shared t-of-n (DKG and resharing from
``ledger.threshold``); holder i has k_i and the verification share
K_i = k_i*G, and K = k*G is the keyset's public key. To sign a blinded
message B_ so that a plain Cashu wallet can check the result:

Round 1, ``issuance_commit`` (every holder asked, in parallel):
    C_i = k_i*B_, with an equal-log proof against K_i (``evaluation``);
    a fresh nonce r_i, R1_i = r_i*G, R2_i = r_i*B_, with an equal-log proof
    that they share r_i (so nobody can pick its nonce points as a function
    of the others' without knowing its own r_i);
    the commitment (C_i, R1_i, R2_i, proofs) is broadcast, r_i kept secret.

The coordinator (the chain) keeps the commitments that verify
(``verify_issuance_commitment``), picks at least t, sorted by identifier.

Round 2, ``issuance_respond`` (each chosen holder), on that list S:
    C_ = sum lambda_i*C_i = k*B_;  R1 = sum R1_i;  R2 = sum R2_i
    e  = hash_e(R1, R2, K, C_)                    exactly NUT-12's challenge
    s_i = r_i + e*lambda_i*k_i

``aggregate_issuance`` checks every s_i against (K_i, C_i, R1_i, R2_i):
    s_i*G == R1_i + e*lambda_i*K_i   and   s_i*B_ == R2_i + e*lambda_i*C_i
naming every holder whose commitment or response fails (identifiable
abort), and returns C_ with the proof (e, s = sum s_i), for which
s*G = R1 + e*K and s*B_ = R2 + e*C_: a NUT-12 proof like any other.

A holder must use each nonce for one response only, and never again: two
responses with one r_i and different e reveal k_i. The nonce is consumed by
``issuance_respond``; the caller persists that it is spent before sending
(as for FROST nonces, docs/spec/threshold.md). Why this is sound, and what
t-1 colluders can and cannot do: docs/adr/0020-threshold-blind-signatures.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.threshold.errors import (
    InvalidCommitment,
    InvalidParameters,
    InvalidRandomness,
    InvalidShare,
)
from ledger.threshold.group import (
    ORDER,
    Point,
    RandomBytes,
    base_mul,
    encode_scalar,
    point_mul,
    point_sum,
    schnorr_equation_holds,
)
from ledger.threshold.hashing import ceremony_scalar
from ledger.threshold.keys import KeyPackage, PublicKeyPackage

from .curve import linear_combination
from .dleq import DleqProof, hash_e, verify_blind_signature_proof
from .evaluation import (
    EqualLogProof,
    EvaluationShare,
    evaluate,
    lagrange_coefficients,
    prove_equal_logs_of,
    verify_equal_logs,
    verify_evaluation_share,
)

NONCE_TAG = b"mint-issuance-nonce"


@dataclass(frozen=True)
class IssuanceCommitment:
    """A holder's round-1 broadcast: its evaluation share C_i = k_i*B_ with
    proof, its nonce points R1_i = r_i*G and R2_i = r_i*B_, and the proof
    that they share r_i."""

    share: EvaluationShare
    nonce_g: Point
    nonce_b: Point
    nonce_proof: EqualLogProof

    @property
    def identifier(self) -> int:
        """The holder's identifier."""
        return self.share.identifier


@dataclass(frozen=True)
class IssuanceNonce:
    """A holder's secret round-1 state: the nonce r_i and what it was made
    for. Use once (``issuance_respond``), then destroy."""

    blinded_message: Point
    context: bytes
    commitment: IssuanceCommitment
    nonce: int = field(repr=False)


@dataclass(frozen=True)
class IssuanceChallenge:
    """What round 2 works on, computed by everyone from the chosen list:
    the combined blind signature C_, the summed nonce points, NUT-12's
    challenge e (the 32-byte hash as an integer) and the Lagrange
    coefficient of each signer."""

    blind_signature: Point
    nonce_g: Point
    nonce_b: Point
    challenge: int
    coefficients: tuple[tuple[int, int], ...]

    def coefficient(self, identifier: int) -> int:
        """lambda_i of a signer. Raises InvalidParameters for a non-signer."""
        for i, value in self.coefficients:
            if i == identifier:
                return value
        raise InvalidParameters(f"{identifier} is not a signer of this issuance")


@dataclass(frozen=True)
class IssuanceResponse:
    """A holder's round-2 answer s_i = r_i + e*lambda_i*k_i."""

    identifier: int
    response: int

    def __post_init__(self) -> None:
        if not 0 <= self.response < ORDER:
            raise InvalidParameters("a response is a scalar below the group order")


@dataclass(frozen=True)
class BlindSignature:
    """The mint's answer to a blinded message: C_ = k*B_ and its NUT-12 proof."""

    blind_signature: Point
    proof: DleqProof


def issuance_commit(
    key: KeyPackage, blinded_message: Point, context: bytes, rng: RandomBytes
) -> tuple[IssuanceNonce, IssuanceCommitment]:
    """Round 1: this holder's share of C_ and a fresh nonce for the joint proof.

    context binds the proofs to one request (chain id, deposit, output
    index, keyset, amount): the caller makes it unique per blinded message.
    Raises InvalidParameters for an identity B_; InvalidRandomness if rng
    misbehaves.
    """
    share = evaluate(key, blinded_message, context, rng)
    randomness = rng(32)
    if len(randomness) != 32:
        raise InvalidRandomness("random source returned the wrong number of bytes")
    nonce = ceremony_scalar(
        NONCE_TAG, randomness + encode_scalar(key.secret_share) + blinded_message.sec + context
    )
    if nonce == 0:
        raise InvalidRandomness("issuance nonce is zero")
    nonce_points = (base_mul(nonce), point_mul(blinded_message, nonce))
    nonce_proof = prove_equal_logs_of(nonce, blinded_message, nonce_points, NONCE_TAG, context, rng)
    commitment = IssuanceCommitment(share, *nonce_points, nonce_proof)
    return IssuanceNonce(blinded_message, context, commitment, nonce), commitment


def verify_issuance_commitment(
    public: PublicKeyPackage,
    blinded_message: Point,
    commitment: IssuanceCommitment,
    context: bytes,
) -> bool:
    """True if a round-1 commitment is from a member, its C_i is correct and
    its nonce points share a log known to it. Never raises."""
    return verify_evaluation_share(
        public, blinded_message, commitment.share, context
    ) and verify_equal_logs(
        blinded_message,
        commitment.nonce_g,
        commitment.nonce_b,
        commitment.nonce_proof,
        NONCE_TAG,
        context,
    )


def issuance_challenge(
    public: PublicKeyPackage, commitments: Sequence[IssuanceCommitment]
) -> IssuanceChallenge:
    """The round-2 challenge from a chosen list of commitments: at least t,
    from distinct members, sorted by identifier.

    Does not verify the commitments' proofs (``verify_issuance_commitment``
    does, and ``aggregate_issuance`` again). Raises InvalidParameters for a
    list that is too short, unsorted, repeats a member or names a
    non-member; InvalidCommitment if a nonce sum is the identity (which
    verified commitments make with negligible probability).
    """
    identifiers = [c.identifier for c in commitments]
    if identifiers != sorted(set(identifiers)):
        raise InvalidParameters("commitments must be sorted by identifier, each member once")
    if len(identifiers) < public.threshold:
        raise InvalidParameters(f"{len(identifiers)} commitments, threshold {public.threshold}")
    for identifier in identifiers:
        public.verification_share(identifier)  # raises for a non-member
    coefficients = lagrange_coefficients(identifiers)
    blind_signature = linear_combination(
        (c.share.value, coefficients[c.identifier]) for c in commitments
    )
    nonce_g = point_sum(c.nonce_g for c in commitments)
    nonce_b = point_sum(c.nonce_b for c in commitments)
    if nonce_g.is_identity() or nonce_b.is_identity() or blind_signature.is_identity():
        raise InvalidCommitment("the commitments sum to the identity", tuple(identifiers))
    e = hash_e(nonce_g, nonce_b, public.group_public_key, blind_signature)
    return IssuanceChallenge(
        blind_signature,
        nonce_g,
        nonce_b,
        int.from_bytes(e, "big"),
        tuple(sorted(coefficients.items())),
    )


def issuance_respond(
    key: KeyPackage,
    nonce: IssuanceNonce,
    blinded_message: Point,
    commitments: Sequence[IssuanceCommitment],
    context: bytes,
) -> IssuanceResponse:
    """Round 2: this holder's response s_i = r_i + e*lambda_i*k_i over the
    chosen list. Persist the nonce as spent before sending the response.

    Raises InvalidParameters if the nonce was made for another message,
    context or holder, if this holder's own commitment in the list is not
    the one the nonce made, or for anything issuance_challenge rejects.
    """
    own = nonce.commitment
    if own.identifier != key.identifier:
        raise InvalidParameters("this nonce belongs to another holder")
    if nonce.blinded_message != blinded_message or nonce.context != context:
        raise InvalidParameters("this nonce was made for another blinded message or context")
    if own not in commitments:
        raise InvalidParameters("this holder's commitment is missing from the list or altered")
    challenge = issuance_challenge(key.public, commitments)
    weight = challenge.challenge * challenge.coefficient(key.identifier) % ORDER
    return IssuanceResponse(key.identifier, (nonce.nonce + weight * key.secret_share) % ORDER)


def verify_issuance_response(
    public: PublicKeyPackage,
    blinded_message: Point,
    challenge: IssuanceChallenge,
    commitment: IssuanceCommitment,
    response: IssuanceResponse,
) -> bool:
    """True if s_i*G == R1_i + e*lambda_i*K_i and s_i*B_ == R2_i + e*lambda_i*C_i.
    Never raises; a response from another member or a non-signer fails."""
    identifier = commitment.identifier
    verification_share = public.verification_shares.get(identifier)
    lambdas = dict(challenge.coefficients)
    if response.identifier != identifier or verification_share is None or identifier not in lambdas:
        return False
    weight = challenge.challenge * lambdas[identifier] % ORDER
    s = response.response
    if not schnorr_equation_holds(verification_share, commitment.nonce_g, s, weight):
        return False
    expected_b = linear_combination(((blinded_message, s), (commitment.share.value, -weight)))
    return expected_b == commitment.nonce_b


def _culprits(
    public: PublicKeyPackage,
    blinded_message: Point,
    commitments: Sequence[IssuanceCommitment],
    challenge: IssuanceChallenge | None,
    by_member: dict[int, list[IssuanceResponse]],
    context: bytes,
) -> tuple[int, ...]:
    """Every listed signer whose commitment fails, whose response is
    missing or repeated, or (given the challenge) wrong."""
    culprits = []
    for commitment in commitments:
        answers = by_member.get(commitment.identifier, [])
        if not (
            len(answers) == 1
            and verify_issuance_commitment(public, blinded_message, commitment, context)
            and (
                challenge is None
                or verify_issuance_response(
                    public, blinded_message, challenge, commitment, answers[0]
                )
            )
        ):
            culprits.append(commitment.identifier)
    return tuple(culprits)


def aggregate_issuance(
    public: PublicKeyPackage,
    blinded_message: Point,
    commitments: Sequence[IssuanceCommitment],
    responses: Sequence[IssuanceResponse],
    context: bytes,
) -> BlindSignature:
    """Combine the chosen list's responses into C_ with its NUT-12 proof
    (e, s), or name every signer at fault.

    Optimistic: if each listed signer sent one response and the combined
    proof verifies (one NUT-12 check), that is the result: a proof that
    verifies shows C_ = k*B_ however it was made. Otherwise every commitment
    and response is checked and InvalidShare names every signer whose
    commitment fails or whose response is missing, repeated or wrong; the
    caller restarts round 1 without them (a new list means a new challenge,
    so fresh nonces). Raises what issuance_challenge raises for a malformed
    list, and InvalidParameters if every share checks but the combination
    does not (the public key package is inconsistent: its verification
    shares do not interpolate to its group key).
    """
    by_member: dict[int, list[IssuanceResponse]] = {}
    for response in responses:
        by_member.setdefault(response.identifier, []).append(response)
    try:
        challenge = issuance_challenge(public, commitments)
    except InvalidCommitment:
        # Verified commitments sum to the identity only with negligible
        # probability: someone chose its nonce points without knowing their log.
        culprits = _culprits(public, blinded_message, commitments, None, by_member, context)
        if culprits:
            raise InvalidShare("invalid issuance commitment", culprits) from None
        raise
    listed = [c.identifier for c in commitments]
    if all(len(by_member.get(i, [])) == 1 for i in listed):
        # Responses from members outside the list play no part (and are ignored).
        s = sum(by_member[i][0].response for i in listed) % ORDER
        proof = DleqProof(challenge.challenge, s)
        if verify_blind_signature_proof(
            public.group_public_key, blinded_message, challenge.blind_signature, proof
        ):
            return BlindSignature(challenge.blind_signature, proof)
    culprits = _culprits(public, blinded_message, commitments, challenge, by_member, context)
    if culprits:
        raise InvalidShare("invalid issuance commitment or response", culprits)
    raise InvalidParameters("every share checks but the combination does not: inconsistent keys")
