"""Threshold blind signatures: t holders produce C_ = k*B_ and a NUT-12
proof that verifies like a single mint's; t-1 cannot; every wrong share,
commitment or response is rejected and its sender named; a nonce is bound
to one issuance and its reuse would leak the key share (why the caller
must never reuse one)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.features.mint import bdhke, dleq, issuance
from ledger.features.mint.evaluation import interpolate_values
from ledger.threshold.errors import InvalidParameters, InvalidShare
from ledger.threshold.group import ORDER, RandomBytes, base_mul, point_mul
from ledger.threshold.keys import KeyPackage, PublicKeyPackage, trusted_dealer_keygen
from tests.ledger.threshold.inprocess import seeded_rng

from .threshold_mint import (
    BEHAVIOURS,
    COMMITMENT_FAULTS,
    RESPONSE_FAULTS,
    distort_commitment,
    run_issuance,
)

MINT_SECRET = 0x5EC2E7_0F_7E_B4_4C
CONTEXT = b"chain devnet/deposit 7/output 0/keyset 01ab/amount 8"


@pytest.fixture(scope="module")
def group() -> tuple[list[KeyPackage], PublicKeyPackage]:
    """A 3-of-5 key for one denomination (dealer-made: the test knows k)."""
    return trusted_dealer_keygen(MINT_SECRET, 5, 3, seeded_rng(5))


def test_t_holders_sign_and_a_plain_nut12_check_accepts(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = group
    r = bdhke.random_blinding_factor(rng)
    blinded = bdhke.blind_message(b"note secret", r)
    for signers in (keys[:3], keys[2:], [keys[0], keys[2], keys[4]], keys):
        result = run_issuance(signers, public, blinded, CONTEXT, rng)
        assert result.blind_signature == bdhke.sign_blinded_message(MINT_SECRET, blinded)
        assert dleq.verify_blind_signature_proof(
            public.group_public_key, blinded, result.blind_signature, result.proof
        )
        note = bdhke.unblind_signature(result.blind_signature, r, public.group_public_key)
        assert bdhke.verify_signature(MINT_SECRET, b"note secret", note)
        assert dleq.verify_note_proof(
            public.group_public_key, b"note secret", note, result.proof, r
        )


def test_t_minus_1_holders_cannot_sign(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = group
    blinded = bdhke.blind_message(b"forged", 9)
    colluders = keys[:2]
    rounds = [issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in colluders]
    commitments = [c for _, c in rounds]
    with pytest.raises(InvalidParameters):
        issuance.issuance_challenge(public, commitments)
    with pytest.raises(InvalidParameters):
        issuance.issuance_respond(colluders[0], rounds[0][0], blinded, commitments, CONTEXT)
    # Interpolating their shares as if they were enough gives a wrong C_ ...
    guess = interpolate_values({c.identifier: c.share.value for c in commitments})
    assert guess != bdhke.sign_blinded_message(MINT_SECRET, blinded)
    # ... and a proof they build with everything they know does not verify:
    # s = sum r_i + e * (their interpolated key), against the real K.
    lambdas = {1: 2, 2: ORDER - 1}  # Lagrange at 0 over {1, 2}
    nonce_g = base_mul(sum(n.nonce for n, _ in rounds))
    nonce_b = point_mul(blinded, sum(n.nonce for n, _ in rounds))
    e = int.from_bytes(dleq.hash_e(nonce_g, nonce_b, public.group_public_key, guess), "big")
    s = sum(
        n.nonce + e * lambdas[k.identifier] * k.secret_share
        for (n, _), k in zip(rounds, colluders, strict=True)
    )
    proof = dleq.DleqProof(e, s % ORDER)
    assert not dleq.verify_blind_signature_proof(public.group_public_key, blinded, guess, proof)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    behaviours=st.lists(st.sampled_from(BEHAVIOURS), min_size=3, max_size=5),
    seed=st.integers(0, 2**32),
)
def test_every_fault_is_rejected_and_named(
    group: tuple[list[KeyPackage], PublicKeyPackage], behaviours: list[str], seed: int
) -> None:
    keys, public = group
    rng = seeded_rng(seed)
    signers = keys[: len(behaviours)]
    assignment = {k.identifier: b for k, b in zip(signers, behaviours, strict=True)}
    blinded = bdhke.blind_message(b"note", 1 + seed)
    faulty = tuple(i for i, b in sorted(assignment.items()) if b != "honest")
    if not faulty:
        result = run_issuance(signers, public, blinded, CONTEXT, rng, assignment)
        assert dleq.verify_blind_signature_proof(
            public.group_public_key, blinded, result.blind_signature, result.proof
        )
        return
    with pytest.raises(InvalidShare) as raised:
        run_issuance(signers, public, blinded, CONTEXT, rng, assignment)
    assert raised.value.identifiers == faulty


@pytest.mark.parametrize("behaviour", COMMITMENT_FAULTS)
def test_a_bad_commitment_fails_its_round_1_check(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes, behaviour: str
) -> None:
    keys, public = group
    blinded = bdhke.blind_message(b"note", 3)
    _, honest = issuance.issuance_commit(keys[0], blinded, CONTEXT, rng)
    assert issuance.verify_issuance_commitment(public, blinded, honest, CONTEXT)
    bad = distort_commitment(behaviour, keys[0], honest, blinded, CONTEXT, rng)
    assert not issuance.verify_issuance_commitment(public, blinded, bad, CONTEXT)


@pytest.mark.parametrize("behaviour", RESPONSE_FAULTS)
def test_a_response_fault_passes_round_1_and_is_named_in_round_2(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes, behaviour: str
) -> None:
    keys, public = group
    blinded = bdhke.blind_message(b"note", 4)
    with pytest.raises(InvalidShare) as raised:
        run_issuance(keys[:4], public, blinded, CONTEXT, rng, {3: behaviour})
    assert raised.value.identifiers == (3,)


def test_commitments_are_bound_to_their_context_and_message(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = group
    blinded = bdhke.blind_message(b"note", 5)
    _, commitment = issuance.issuance_commit(keys[1], blinded, CONTEXT, rng)
    assert issuance.verify_issuance_commitment(public, blinded, commitment, CONTEXT)
    assert not issuance.verify_issuance_commitment(public, blinded, commitment, CONTEXT + b"!")
    other = bdhke.blind_message(b"note", 6)
    assert not issuance.verify_issuance_commitment(public, other, commitment, CONTEXT)
    moved = replace(commitment, share=replace(commitment.share, identifier=3))
    assert not issuance.verify_issuance_commitment(public, blinded, moved, CONTEXT)


def test_a_nonce_answers_only_its_own_issuance(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, _ = group
    blinded = bdhke.blind_message(b"note", 7)
    rounds = [issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in keys[:3]]
    commitments = [c for _, c in rounds]
    nonce = rounds[0][0]
    other_blinded = bdhke.blind_message(b"other", 7)
    with pytest.raises(InvalidParameters):
        issuance.issuance_respond(keys[0], nonce, other_blinded, commitments, CONTEXT)
    with pytest.raises(InvalidParameters):
        issuance.issuance_respond(keys[0], nonce, blinded, commitments, CONTEXT + b"!")
    with pytest.raises(InvalidParameters):
        issuance.issuance_respond(keys[1], nonce, blinded, commitments, CONTEXT)
    # A coordinator that swaps in an older commitment of this holder is refused.
    _, older = issuance.issuance_commit(keys[0], blinded, CONTEXT, rng)
    with pytest.raises(InvalidParameters):
        issuance.issuance_respond(keys[0], nonce, blinded, [older, *commitments[1:]], CONTEXT)
    with pytest.raises(InvalidParameters):  # unsorted list
        issuance.issuance_respond(keys[0], nonce, blinded, commitments[::-1], CONTEXT)


def test_answering_twice_with_one_nonce_reveals_the_key_share(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    # Why a holder must persist its nonce as spent: two lists (two challenges)
    # answered with the same r_i give k_i = (s1 - s2) / ((e1*l1 - e2*l2)).
    keys, public = group
    blinded = bdhke.blind_message(b"note", 8)
    rounds = {k.identifier: issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in keys}
    first = [rounds[i][1] for i in (1, 2, 3)]
    second = [rounds[i][1] for i in (1, 4, 5)]
    nonce = rounds[1][0]
    s1 = issuance.issuance_respond(keys[0], nonce, blinded, first, CONTEXT).response
    s2 = issuance.issuance_respond(keys[0], nonce, blinded, second, CONTEXT).response
    c1, c2 = issuance.issuance_challenge(public, first), issuance.issuance_challenge(public, second)
    w1 = c1.challenge * c1.coefficient(1) % ORDER
    w2 = c2.challenge * c2.coefficient(1) % ORDER
    assert (s1 - s2) * pow(w1 - w2, -1, ORDER) % ORDER == keys[0].secret_share


def test_malformed_lists_are_refused(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = group
    blinded = bdhke.blind_message(b"note", 9)
    commitments = [issuance.issuance_commit(k, blinded, CONTEXT, rng)[1] for k in keys[:3]]
    for bad in (commitments[::-1], [commitments[0], *commitments], commitments[:2]):
        with pytest.raises(InvalidParameters):
            issuance.issuance_challenge(public, bad)
    stranger = replace(commitments[2], share=replace(commitments[2].share, identifier=99))
    with pytest.raises(InvalidParameters):
        issuance.issuance_challenge(public, [*commitments[:2], stranger])


def test_responses_from_outside_the_list_are_ignored(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = group
    blinded = bdhke.blind_message(b"note", 10)
    rounds = [issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in keys]
    chosen = [c for _, c in rounds[:3]]
    responses = [
        issuance.issuance_respond(k, n, blinded, chosen, CONTEXT)
        for k, (n, _) in zip(keys[:3], rounds[:3], strict=True)
    ]
    outsider = issuance.IssuanceResponse(5, 12345)
    result = issuance.aggregate_issuance(public, blinded, chosen, [*responses, outsider], CONTEXT)
    assert dleq.verify_blind_signature_proof(
        public.group_public_key, blinded, result.blind_signature, result.proof
    )


def test_offsetting_responses_still_give_a_valid_note(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    # Aggregation is optimistic: two signers who shift their responses by +d
    # and -d go unnamed, but the result is a correct signature with a valid
    # proof (soundness does not care how a proof was made), so nobody loses.
    keys, public = group
    blinded = bdhke.blind_message(b"note", 11)
    rounds = [issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in keys[:3]]
    chosen = [c for _, c in rounds]
    responses = [
        issuance.issuance_respond(k, n, blinded, chosen, CONTEXT)
        for k, (n, _) in zip(keys[:3], rounds, strict=True)
    ]
    shifted = [
        replace(responses[0], response=(responses[0].response + 99) % ORDER),
        replace(responses[1], response=(responses[1].response - 99) % ORDER),
        responses[2],
    ]
    result = issuance.aggregate_issuance(public, blinded, chosen, shifted, CONTEXT)
    assert result.blind_signature == bdhke.sign_blinded_message(MINT_SECRET, blinded)
    assert not issuance.verify_issuance_response(
        public, blinded, issuance.issuance_challenge(public, chosen), chosen[0], shifted[0]
    )


def test_an_inconsistent_public_key_package_is_reported_not_blamed(
    group: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = group
    wrong = PublicKeyPackage(base_mul(42), public.threshold, public.verification_shares)
    rekeyed = [KeyPackage(k.identifier, k.secret_share, wrong) for k in keys[:3]]
    blinded = bdhke.blind_message(b"note", 12)
    with pytest.raises(InvalidParameters, match="inconsistent"):
        run_issuance(rekeyed, wrong, blinded, CONTEXT, rng)
