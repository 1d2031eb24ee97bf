"""ElGamal cells and the submission proof: an honest sender's cell is
accepted; a copied, re-encrypted or altered cell of someone else is not
(the replay attack on mixes), nor a proof moved to another transaction (nonce) or chain."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.features.mail.curve import LIBSECP256K1
from ledger.features.mail.curve_reference import PYTHON_ECDSA
from ledger.features.mail.elgamal import (
    Ciphertext,
    EncryptedCell,
    decrypt_with_secret,
    encrypt_points,
    reencrypt,
)
from ledger.features.mail.errors import InvalidParameters, InvalidProof
from ledger.features.mail.letters import letter_to_points, seal_letter
from ledger.features.mail.submission import (
    RandomnessProof,
    Submission,
    SubmissionContext,
    cell_fingerprint,
    prove_randomness,
    submission_verification_cost,
    submit_letter,
    verify_submission,
)
from ledger.features.mail.transcript import random_scalar
from ledger.threshold import group
from ledger.threshold.group import ORDER, RandomBytes

from .conftest import CHAIN_ID, CountingBackend, MailKey, make_people, seeded_rng

WIDTH = 4
ALICE, EVE, BOB = make_people(3, seeded_rng(2))
ALICE_CONTEXT = SubmissionContext(CHAIN_ID, ALICE.address, 7)
EVE_CONTEXT = SubmissionContext(CHAIN_ID, EVE.address, 7)


def _alice_submits(mail_key: MailKey, rng: RandomBytes) -> tuple[Submission, tuple[int, ...]]:
    letter = seal_letter(BOB.public_key, b"meet at noon", WIDTH, rng)
    sealed = submit_letter(mail_key.public_key, letter, ALICE_CONTEXT, rng)
    return sealed.submission, sealed.randomness


def _rejected_on_both_backends(
    mail_key: MailKey, submission: Submission, context: SubmissionContext
) -> None:
    for backend in (LIBSECP256K1, PYTHON_ECDSA):
        with pytest.raises(InvalidProof):
            verify_submission(mail_key.public_key, submission, context, WIDTH, backend)


def test_elgamal_round_trip_and_reencryption(mail_key: MailKey, rng: RandomBytes) -> None:
    points = letter_to_points(seal_letter(BOB.public_key, b"hi", WIDTH, rng))
    cell, _ = encrypt_points(mail_key.public_key, points, rng)
    assert decrypt_with_secret(mail_key.secret, cell) == points
    again = reencrypt(mail_key.public_key, cell, [random_scalar(rng) for _ in range(WIDTH)])
    assert decrypt_with_secret(mail_key.secret, again) == points
    shared = {c.a for c in cell.components} | {c.b for c in cell.components}
    assert not shared & ({c.a for c in again.components} | {c.b for c in again.components})
    with pytest.raises(InvalidParameters):
        reencrypt(mail_key.public_key, cell, [1])


def test_honest_submission_is_accepted_on_both_backends(
    mail_key: MailKey, rng: RandomBytes
) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    for backend in (LIBSECP256K1, PYTHON_ECDSA):
        verify_submission(mail_key.public_key, submission, ALICE_CONTEXT, WIDTH, backend)


def test_invalid_copy_by_another_sender(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    _rejected_on_both_backends(mail_key, submission, EVE_CONTEXT)


def test_invalid_reencrypted_copy(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    shift = [random_scalar(rng) for _ in range(WIDTH)]
    copy = reencrypt(mail_key.public_key, submission.cell, shift)
    # With Alice's proof, under Alice's or Eve's name.
    _rejected_on_both_backends(mail_key, Submission(copy, submission.proof), ALICE_CONTEXT)
    _rejected_on_both_backends(mail_key, Submission(copy, submission.proof), EVE_CONTEXT)
    # With a proof made from what Eve knows: the shift, not Alice's randomness.
    forged = prove_randomness(mail_key.public_key, copy, shift, EVE_CONTEXT, rng)
    _rejected_on_both_backends(mail_key, Submission(copy, forged), EVE_CONTEXT)


def test_invalid_altered_cell(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    first = submission.cell.components[0]
    for changed in (
        Ciphertext(first.a, group.point_add(first.b, group.GENERATOR)),
        Ciphertext(group.point_add(first.a, group.GENERATOR), first.b),
    ):
        cell = EncryptedCell((changed, *submission.cell.components[1:]))
        _rejected_on_both_backends(mail_key, Submission(cell, submission.proof), ALICE_CONTEXT)
    swapped = EncryptedCell(submission.cell.components[::-1])
    _rejected_on_both_backends(mail_key, Submission(swapped, submission.proof), ALICE_CONTEXT)


def test_invalid_proof_moved_to_another_nonce_or_chain(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    for context in (
        replace(ALICE_CONTEXT, nonce=8),
        replace(ALICE_CONTEXT, chain_id="other-chain"),
    ):
        _rejected_on_both_backends(mail_key, submission, context)


def test_invalid_proof_for_another_mail_key(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    other = group.base_mul(12345)
    with pytest.raises(InvalidProof):
        verify_submission(other, submission, ALICE_CONTEXT, WIDTH)


def test_invalid_proof_scalars(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    proof = submission.proof
    bad_proofs = [
        RandomnessProof(proof.challenge, (proof.responses[0] + 1, *proof.responses[1:])),
        RandomnessProof((proof.challenge + 1) % ORDER, proof.responses),
        RandomnessProof(proof.challenge + ORDER, proof.responses),
        RandomnessProof(proof.challenge, (proof.responses[0] + ORDER, *proof.responses[1:])),
        RandomnessProof(proof.challenge, proof.responses[:-1]),
    ]
    for bad in bad_proofs:
        _rejected_on_both_backends(mail_key, Submission(submission.cell, bad), ALICE_CONTEXT)


def test_invalid_width(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    with pytest.raises(InvalidProof, match="width"):
        verify_submission(mail_key.public_key, submission, ALICE_CONTEXT, WIDTH + 1)


def test_proof_needs_one_scalar_per_component(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, randomness = _alice_submits(mail_key, rng)
    with pytest.raises(InvalidParameters):
        prove_randomness(mail_key.public_key, submission.cell, randomness[:-1], ALICE_CONTEXT, rng)
    # The randomness returned with the submission is the real one.
    proof = prove_randomness(mail_key.public_key, submission.cell, randomness, ALICE_CONTEXT, rng)
    verify_submission(mail_key.public_key, Submission(submission.cell, proof), ALICE_CONTEXT, WIDTH)


def test_invalid_contexts() -> None:
    with pytest.raises(InvalidParameters):
        SubmissionContext("", ALICE.address, 1)
    with pytest.raises(InvalidParameters):
        SubmissionContext(CHAIN_ID, ALICE.address, -1)
    with pytest.raises(InvalidParameters):
        SubmissionContext(CHAIN_ID, ALICE.address, 1 << 64)
    with pytest.raises(InvalidParameters):
        SubmissionContext(CHAIN_ID, ALICE.address[:19], 1)


def test_cost_is_what_the_verifier_runs(mail_key: MailKey, rng: RandomBytes) -> None:
    submission, _ = _alice_submits(mail_key, rng)
    counter = CountingBackend()
    verify_submission(mail_key.public_key, submission, ALICE_CONTEXT, WIDTH, counter)
    assert counter.terms == submission_verification_cost(WIDTH) == 2 * WIDTH


def test_fingerprints_differ_between_honest_cells(mail_key: MailKey) -> None:
    rng = seeded_rng(9)
    fingerprints = {cell_fingerprint(_alice_submits(mail_key, rng)[0].cell) for _ in range(8)}
    assert len(fingerprints) == 8
