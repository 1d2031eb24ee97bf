"""A threshold issuance run in one process for the tests, with signers that
may misbehave in named ways (the adversary's strategies)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ledger.features.mint import issuance
from ledger.features.mint.evaluation import EvaluationShare, prove_equal_logs
from ledger.features.mint.issuance import (
    NONCE_TAG,
    BlindSignature,
    IssuanceCommitment,
    IssuanceResponse,
)
from ledger.threshold.group import GENERATOR, ORDER, Point, RandomBytes, point_add, point_mul
from ledger.threshold.keys import KeyPackage, PublicKeyPackage

# Caught when round 1 is checked: the commitment itself does not verify.
COMMITMENT_FAULTS = (
    "wrong_share",  # C_i off by G, the honest proof kept
    "share_for_another_key",  # C_i = (k_i+1)*B_ with a valid proof for (k_i+1)*G
    "inconsistent_nonce",  # R2_i made with another nonce than R1_i, proof kept
    "replayed_nonce",  # nonce points and proof from an earlier issuance
)
# Caught only in round 2: a commitment that verifies, a response that does not.
RESPONSE_FAULTS = (
    "wrong_response",  # s_i + 1
    "committed_other_nonce",  # commits to r' (with a valid proof), answers with r
    "answered_other_challenge",  # answers e + 1 instead of e
    "silent",  # no response
    "two_responses",  # two different responses
)
BEHAVIOURS = ("honest", *COMMITMENT_FAULTS, *RESPONSE_FAULTS)


def distort_commitment(
    behaviour: str,
    key: KeyPackage,
    commitment: IssuanceCommitment,
    blinded: Point,
    context: bytes,
    rng: RandomBytes,
) -> IssuanceCommitment:
    if behaviour == "wrong_share":
        share = replace(commitment.share, value=point_add(commitment.share.value, GENERATOR))
        return replace(commitment, share=share)
    if behaviour == "share_for_another_key":
        other = (key.secret_share + 1) % ORDER
        proof = prove_equal_logs(other, blinded, b"mint-evaluation", context, rng)
        return replace(
            commitment, share=EvaluationShare(key.identifier, point_mul(blinded, other), proof)
        )
    if behaviour == "inconsistent_nonce":
        return replace(commitment, nonce_b=point_add(commitment.nonce_b, blinded))
    if behaviour == "replayed_nonce":
        _, old = issuance.issuance_commit(key, blinded, context + b"-earlier", rng)
        return replace(
            commitment, nonce_g=old.nonce_g, nonce_b=old.nonce_b, nonce_proof=old.nonce_proof
        )
    if behaviour == "committed_other_nonce":
        other = 1 + int.from_bytes(rng(31), "big")
        proof = prove_equal_logs(other, blinded, NONCE_TAG, context, rng)
        return replace(
            commitment,
            nonce_g=point_mul(GENERATOR, other),
            nonce_b=point_mul(blinded, other),
            nonce_proof=proof,
        )
    return commitment


def _responses(
    behaviour: str,
    key: KeyPackage,
    nonce: issuance.IssuanceNonce,
    blinded: Point,
    commitments: Sequence[IssuanceCommitment],
    context: bytes,
) -> list[IssuanceResponse]:
    if behaviour == "silent":
        return []
    # A dishonest signer answers from its honest nonce state, whatever it broadcast.
    own = next(c for c in commitments if c.identifier == key.identifier)
    honest_list = [nonce.commitment if c is own else c for c in commitments]
    response = issuance.issuance_respond(key, nonce, blinded, honest_list, context)
    if behaviour == "wrong_response":
        return [replace(response, response=(response.response + 1) % ORDER)]
    if behaviour == "answered_other_challenge":  # the response for e + 1
        weight = issuance.issuance_challenge(key.public, honest_list).coefficient(key.identifier)
        return [replace(response, response=(response.response + weight * key.secret_share) % ORDER)]
    if behaviour == "two_responses":
        return [response, replace(response, response=(response.response + 1) % ORDER)]
    return [response]


def run_issuance(
    signers: Sequence[KeyPackage],
    public: PublicKeyPackage,
    blinded: Point,
    context: bytes,
    rng: RandomBytes,
    behaviours: Mapping[int, str] | None = None,
) -> BlindSignature:
    """Both rounds among the given signers (no screening of round 1, so
    aggregation sees every fault); raises what aggregate_issuance raises."""
    behaviours = behaviours or {}
    nonces = {}
    commitments = []
    for key in sorted(signers, key=lambda k: k.identifier):
        nonce, commitment = issuance.issuance_commit(key, blinded, context, rng)
        behaviour = behaviours.get(key.identifier, "honest")
        nonces[key.identifier] = nonce
        commitments.append(distort_commitment(behaviour, key, commitment, blinded, context, rng))
    responses = []
    for key in signers:
        behaviour = behaviours.get(key.identifier, "honest")
        responses += _responses(
            behaviour, key, nonces[key.identifier], blinded, commitments, context
        )
    return issuance.aggregate_issuance(public, blinded, commitments, responses, context)
