"""Threshold evaluation and the redemption check, with keys from the real
DKG (no dealer) and across a resharing to a new validator set: notes issued
before it are redeemed after it, with the public keys unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.features.mint import bdhke, dleq, evaluation, keysets, redemption
from ledger.features.mint.errors import NotEnoughShares
from ledger.features.mint.evaluation import EqualLogProof, EvaluationShare
from ledger.threshold import dkg, reshare
from ledger.threshold.errors import InvalidParameters
from ledger.threshold.group import GENERATOR, ORDER, RandomBytes, base_mul, point_add, point_mul
from ledger.threshold.keys import KeyPackage, PublicKeyPackage, trusted_dealer_keygen
from tests.ledger.threshold.inprocess import run_dkg, run_reshare, seeded_rng

from .threshold_mint import run_issuance

REDEEM = b"chain devnet/redeem 3/note 0"
AMOUNTS = keysets.denominations(2)  # 1, 2, 4


@pytest.fixture(scope="module")
def dkg_keysets() -> dict[int, dict[int, KeyPackage]]:
    """One 3-of-4 DKG key per denomination, members 1..4: amount -> member -> key."""
    rng = seeded_rng(4)
    result = {}
    for amount in AMOUNTS:
        session = dkg.DkgSession(b"mint keyset 1/amount %d" % amount, 3, (1, 2, 3, 4))
        outcome = run_dkg(session, rng)
        result[amount] = {i: r.key_package for i, r in outcome.items()}
    return result


@pytest.fixture(scope="module")
def dealt() -> tuple[list[KeyPackage], PublicKeyPackage]:
    return trusted_dealer_keygen(424242, 5, 3, seeded_rng(3))


def issue_note(keys: list[KeyPackage], secret: str, rng: RandomBytes) -> tuple[object, int, object]:
    public = keys[0].public
    r = bdhke.random_blinding_factor(rng)
    blinded = bdhke.blind_message(secret.encode(), r)
    signed = run_issuance(
        keys[: public.threshold], public, blinded, b"issue " + secret.encode(), rng
    )
    note = bdhke.unblind_signature(signed.blind_signature, r, public.group_public_key)
    return note, r, signed.proof


def test_dkg_keyset_issues_notes_that_the_validators_redeem(
    dkg_keysets: dict[int, dict[int, KeyPackage]], rng: RandomBytes
) -> None:
    public_keys = {
        a: next(iter(m.values())).public.group_public_key for a, m in dkg_keysets.items()
    }
    keyset = keysets.Keyset("coin", tuple(public_keys.items()))
    assert keyset.id.startswith("01") and len(keyset.id) == 66
    for amount, members in dkg_keysets.items():
        keys = [members[i] for i in sorted(members)]
        public = keys[0].public
        secret = f"note of {amount}"
        note, r, proof = issue_note(keys, secret, rng)
        assert dleq.verify_note_proof(keyset.key_for(amount), secret.encode(), note, proof, r)
        shares = [redemption.evaluate_note(k, secret, REDEEM, rng) for k in keys]
        verdict = redemption.check_note(public, secret, note, shares, REDEEM)
        assert verdict == redemption.RedemptionVerdict(True, (1, 2, 3), ())
        # Any t of them decide alike; a wrong C or a wrong secret is refused.
        assert redemption.check_note(public, secret, note, shares[1:], REDEEM).valid
        wrong = point_add(note, GENERATOR)
        assert not redemption.check_note(public, secret, wrong, shares, REDEEM).valid
        other = [redemption.evaluate_note(k, secret + "!", REDEEM, rng) for k in keys]
        assert not redemption.check_note(public, secret + "!", note, other, REDEEM).valid


def test_notes_issued_before_a_resharing_are_redeemed_after_it(
    dkg_keysets: dict[int, dict[int, KeyPackage]], rng: RandomBytes
) -> None:
    amount = 2
    old = [dkg_keysets[amount][i] for i in (1, 2, 3, 4)]
    secret = "issued before the validator set changed"
    note, _, _ = issue_note(old, secret, rng)
    # Member 1 leaves, members 5 and 6 join; threshold 3 of 5.
    session = reshare.ReshareSession(b"mint reshare/amount 2", old[0].public, 3, (2, 3, 4, 5, 6))
    results = run_reshare(session, old[:3], rng)
    new = [results[j].key_package for j in session.new_members]
    new_public = new[0].public
    assert new_public.group_public_key == old[0].public.group_public_key
    shares = [redemption.evaluate_note(k, secret, REDEEM, rng) for k in new[2:]]  # 4, 5, 6
    assert redemption.check_note(new_public, secret, note, shares, REDEEM).valid
    # Shares made with old key packages are checked against the new verification
    # shares and rejected: old and new shares do not mix.
    stale = [redemption.evaluate_note(k, secret, REDEEM, rng) for k in old[1:4]]  # 2, 3, 4
    with pytest.raises(NotEnoughShares) as raised:
        redemption.check_note(new_public, secret, note, [*stale, shares[1]], REDEEM)
    assert raised.value.rejected == (2, 3, 4)
    # And the new group issues notes under the same public key.
    fresh, r, proof = issue_note(new, "issued after", rng)
    assert dleq.verify_note_proof(new_public.group_public_key, b"issued after", fresh, proof, r)


def test_bad_shares_are_rejected_and_named(
    dealt: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = dealt
    secret = "note"
    y = bdhke.secret_point(secret)
    honest = [evaluation.evaluate(k, y, REDEEM, rng) for k in keys]
    wrong_value = replace(honest[0], value=point_add(honest[0].value, GENERATOR))
    wrong_context = evaluation.evaluate(keys[1], y, REDEEM + b"?", rng)
    impostor = replace(honest[2], identifier=4)  # member 3's share under member 4's name
    stranger = EvaluationShare(9, honest[3].value, honest[3].proof)
    shares = [wrong_value, wrong_context, impostor, stranger, honest[4], honest[3]]
    with pytest.raises(NotEnoughShares) as raised:
        evaluation.combine_evaluation_shares(public, y, shares, REDEEM)
    assert raised.value.rejected == (1, 2, 4, 9)
    # Member 4 sent two different shares (its own and the impostor's): rejected
    # even though one is valid. With members 1, 3 and 5 valid, t = 3 decide.
    rest = [wrong_context, stranger, honest[4], honest[2], honest[0], impostor, honest[3]]
    combined = evaluation.combine_evaluation_shares(public, y, rest, REDEEM)
    assert combined.signers == (1, 3, 5)
    assert combined.rejected == (2, 4, 9)
    assert combined.value == point_mul(y, 424242)


def test_an_equivocating_member_is_rejected_even_with_a_valid_share(
    dealt: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = dealt
    y = bdhke.secret_point("note")
    shares = [evaluation.evaluate(k, y, REDEEM, rng) for k in keys]
    second = evaluation.evaluate(keys[0], y, REDEEM, rng)  # same value, another proof
    assert second != shares[0]
    combined = evaluation.combine_evaluation_shares(public, y, [*shares, second], REDEEM)
    assert combined.rejected == (1,)
    assert combined.signers == (2, 3, 4)
    assert combined.value == point_mul(y, 424242)
    # The same share sent twice is not equivocation.
    again = evaluation.combine_evaluation_shares(public, y, [*shares, shares[0]], REDEEM)
    assert again.rejected == () and again.signers == (1, 2, 3)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    subset=st.lists(st.integers(1, 5), min_size=0, max_size=5, unique=True),
    corrupt=st.lists(st.integers(1, 5), max_size=5, unique=True),
    seed=st.integers(0, 2**32),
)
def test_any_t_valid_shares_decide_and_fewer_cannot(
    dealt: tuple[list[KeyPackage], PublicKeyPackage],
    subset: list[int],
    corrupt: list[int],
    seed: int,
) -> None:
    keys, public = dealt
    rng = seeded_rng(seed)
    y = bdhke.secret_point(f"note {seed}")
    shares = []
    for i in subset:
        share = evaluation.evaluate(keys[i - 1], y, REDEEM, rng)
        if i in corrupt:
            share = replace(share, value=point_mul(share.value, 2))
        shares.append(share)
    valid = sorted(set(subset) - set(corrupt))
    bad = tuple(sorted(set(subset) & set(corrupt)))
    if len(valid) < public.threshold:
        with pytest.raises(NotEnoughShares) as raised:
            evaluation.combine_evaluation_shares(public, y, shares, REDEEM)
        assert raised.value.rejected == bad
        # Interpolating the valid ones anyway gives a wrong value.
        if valid:
            guess = evaluation.interpolate_values(
                {s.identifier: s.value for s in shares if s.identifier in valid}
            )
            assert guess != point_mul(y, 424242)
        return
    combined = evaluation.combine_evaluation_shares(public, y, shares[::-1], REDEEM)
    assert combined.value == point_mul(y, 424242)
    assert combined.signers == tuple(valid[: public.threshold])
    assert combined.rejected == bad


def test_equal_log_proofs_bind_every_input(rng: RandomBytes) -> None:
    secret, base = 1234, bdhke.secret_point("x")
    proof = evaluation.prove_equal_logs(secret, base, b"tag", b"ctx", rng)
    public_g, public_b = base_mul(secret), point_mul(base, secret)
    assert evaluation.verify_equal_logs(base, public_g, public_b, proof, b"tag", b"ctx")
    other = bdhke.secret_point("y")
    for args in (
        (other, public_g, public_b, proof, b"tag", b"ctx"),
        (base, base_mul(secret + 1), public_b, proof, b"tag", b"ctx"),
        (base, public_g, point_mul(base, secret + 1), proof, b"tag", b"ctx"),
        (
            base,
            public_g,
            public_b,
            EqualLogProof(proof.challenge, proof.response + 1),
            b"tag",
            b"ctx",
        ),
        (
            base,
            public_g,
            public_b,
            EqualLogProof(proof.challenge + 1, proof.response),
            b"tag",
            b"ctx",
        ),
        (base, public_g, public_b, proof, b"other tag", b"ctx"),
        (base, public_g, public_b, proof, b"tag", b"other ctx"),
        (base, public_g, public_b.__class__(b"\x00"), proof, b"tag", b"ctx"),
    ):
        assert not evaluation.verify_equal_logs(*args)
    with pytest.raises(InvalidParameters):
        evaluation.prove_equal_logs(0, base, b"tag", b"ctx", rng)
    with pytest.raises(InvalidParameters):
        EqualLogProof(ORDER, 1)
    with pytest.raises(InvalidParameters):
        evaluation.evaluate(
            trusted_dealer_keygen(5, 2, 2, rng)[0][0], base.__class__(b"\x00"), b"", rng
        )
