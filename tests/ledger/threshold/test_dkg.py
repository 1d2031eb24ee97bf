"""PedPop DKG: honest runs for n = 2..10, and every way a dealer can cheat
ending with that dealer excluded and the honest members agreeing."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.threshold import ceremony, dkg, frost
from ledger.threshold.ceremony import CeremonyResult, Complaint, Justification, SecretShare
from ledger.threshold.errors import AgreementFailed, CeremonyFailed, InvalidParameters
from ledger.threshold.group import ORDER, RandomBytes, base_mul, encode_element, point_sum
from ledger.threshold.polynomial import interpolate_constant

from .inprocess import Hook, run_dkg, seeded_rng, sign

SESSION_ID = b"chain-7/height-1200/dkg"


def _session(n: int, t: int) -> dkg.DkgSession:
    return dkg.DkgSession(SESSION_ID, t, tuple(range(1, n + 1)))


def _check_group(
    results: dict[int, CeremonyResult], members: tuple[int, ...], rng: RandomBytes
) -> None:
    """All honest members hold the same working key over exactly members."""
    publics = [r.key_package.public for r in results.values()]
    assert all(p == publics[0] for p in publics)
    public = publics[0]
    assert public.members == members
    assert len({r.transcript_hash for r in results.values()}) == 1
    keys = [results[i].key_package for i in members if i in results]
    t = public.threshold
    # Any t shares interpolate to the discrete log of the group key; t-1 do not.
    secret = interpolate_constant([(k.identifier, k.secret_share) for k in keys[:t]])
    assert base_mul(secret) == public.group_public_key
    if t > 1:
        below = interpolate_constant([(k.identifier, k.secret_share) for k in keys[: t - 1]])
        assert base_mul(below) != public.group_public_key
    signature = sign(keys[-t:], b"hello", rng)
    assert frost.verify_signature(encode_element(public.group_public_key), b"hello", signature)


def _corrupt_share(dealer: int, receiver: int) -> Hook[SecretShare]:
    def hook(shares: list[SecretShare]) -> list[SecretShare]:
        return [
            dataclasses.replace(s, value=(s.value + 1) % ORDER)
            if (s.dealer, s.receiver) == (dealer, receiver)
            else s
            for s in shares
        ]

    return hook


def _silence(dealer: int) -> Hook[Justification]:
    def hook(justifications: list[Justification]) -> list[Justification]:
        return [j for j in justifications if j.dealer != dealer]

    return hook


@pytest.mark.parametrize(
    ("n", "t"),
    [(2, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 5), (8, 5), (9, 6), (10, 7), (10, 10)],
)
def test_honest_dkg(n: int, t: int) -> None:
    rng = seeded_rng(n * 100 + t)
    results = run_dkg(_session(n, t), rng)
    assert sorted(results) == list(range(1, n + 1))
    assert all(not r.disqualified and not r.false_accusers for r in results.values())
    _check_group(results, tuple(range(1, n + 1)), rng)


def test_group_key_is_the_sum_of_the_dealers_constant_terms(rng: RandomBytes) -> None:
    session = _session(4, 3)
    round1 = [dkg.dkg_round1(session, i, rng) for i in session.participants]
    secret = sum(s.polynomial[0] for s, _ in round1) % ORDER
    assert base_mul(secret) == point_sum(p.commitment[0] for _, p in round1)


def test_bad_share_dealer_that_stays_silent_is_excluded(rng: RandomBytes) -> None:
    results = run_dkg(
        _session(5, 3),
        rng,
        shares_hook=_corrupt_share(3, 1),
        justifications_hook=_silence(3),
        dishonest={3},
    )
    for r in results.values():
        assert set(r.disqualified) == {3}
        assert "complaint of 1" in r.disqualified[3]
    _check_group(results, (1, 2, 4, 5), rng)


def test_bad_share_dealer_that_answers_with_a_bad_share_is_excluded(rng: RandomBytes) -> None:
    def lie(justifications: list[Justification]) -> list[Justification]:
        return [
            dataclasses.replace(j, value=j.value + 1) if j.dealer == 4 else j
            for j in justifications
        ]

    results = run_dkg(
        _session(6, 4),
        rng,
        shares_hook=_corrupt_share(4, 2),
        justifications_hook=lie,
        dishonest={4},
    )
    assert all(set(r.disqualified) == {4} for r in results.values())
    _check_group(results, (1, 2, 3, 5, 6), rng)


def test_missing_share_is_complained_about(rng: RandomBytes) -> None:
    def drop(shares: list[SecretShare]) -> list[SecretShare]:
        return [s for s in shares if (s.dealer, s.receiver) != (2, 5)]

    results = run_dkg(
        _session(5, 2), rng, shares_hook=drop, justifications_hook=_silence(2), dishonest={2}
    )
    assert all(set(r.disqualified) == {2} for r in results.values())
    _check_group(results, (1, 3, 4, 5), rng)


def test_bad_share_answered_correctly_keeps_the_dealer(rng: RandomBytes) -> None:
    # The dealer's link to member 1 corrupted the share, but the dealer answers
    # the complaint in public: it stays, and member 1 uses the revealed share.
    results = run_dkg(_session(4, 3), rng, shares_hook=_corrupt_share(2, 1))
    for r in results.values():
        assert not r.disqualified
        assert r.false_accusers == (1,)
    _check_group(results, (1, 2, 3, 4), rng)


def test_false_complaint_does_not_exclude_an_honest_dealer(rng: RandomBytes) -> None:
    def accuse(complaints: list[Complaint]) -> list[Complaint]:
        return [*complaints, Complaint(accuser=5, dealer=1), Complaint(accuser=5, dealer=1)]

    results = run_dkg(_session(5, 3), rng, complaints_hook=accuse)
    for r in results.values():
        assert not r.disqualified
        assert r.false_accusers == (5,)
    _check_group(results, (1, 2, 3, 4, 5), rng)


def test_invalid_proof_of_possession_is_excluded(rng: RandomBytes) -> None:
    def replay(packages: list[dkg.DkgRound1Package]) -> list[dkg.DkgRound1Package]:
        # Member 4 copies member 1's commitment and proof: the proof is bound to
        # member 1's identifier, so it fails for 4 (no rogue-key copying).
        copied = dataclasses.replace(packages[0], sender=4)
        return [copied if p.sender == 4 else p for p in packages]

    results = run_dkg(_session(5, 3), rng, packages_hook=replay, dishonest={4})
    for r in results.values():
        assert r.disqualified == {4: "invalid proof of possession"}
    _check_group(results, (1, 2, 3, 5), rng)


def test_proof_from_another_session_is_excluded(rng: RandomBytes) -> None:
    other = dkg.DkgSession(b"another session", 3, (1, 2, 3, 4))
    _, foreign = dkg.dkg_round1(other, 2, rng)

    def swap(packages: list[dkg.DkgRound1Package]) -> list[dkg.DkgRound1Package]:
        return [foreign if p.sender == 2 else p for p in packages]

    results = run_dkg(_session(4, 3), rng, packages_hook=swap, dishonest={2})
    assert all(r.disqualified == {2: "invalid proof of possession"} for r in results.values())
    _check_group(results, (1, 3, 4), rng)


def test_malformed_and_equivocating_packages_are_excluded(rng: RandomBytes) -> None:
    def garble(packages: list[dkg.DkgRound1Package]) -> list[dkg.DkgRound1Package]:
        by = {p.sender: p for p in packages}
        short = dataclasses.replace(by[2], commitment=by[2].commitment[:-1])
        twin = dataclasses.replace(by[3], commitment=(*by[3].commitment[:-1], base_mul(9)))
        return [short if p.sender == 2 else p for p in packages if p.sender != 6] + [twin]

    results = run_dkg(_session(7, 3), rng, packages_hook=garble, dishonest={2, 3, 6})
    for r in results.values():
        assert set(r.disqualified) == {2, 3, 6}
        assert r.disqualified[3] == "conflicting round-1 packages"
        assert r.disqualified[6] == "no round-1 package"
        assert "coefficients" in r.disqualified[2]
    _check_group(results, (1, 4, 5, 7), rng)


def test_too_many_bad_dealers_fail_the_ceremony(rng: RandomBytes) -> None:
    with pytest.raises(CeremonyFailed) as caught:
        run_dkg(
            _session(4, 3),
            rng,
            packages_hook=lambda ps: [p for p in ps if p.sender in (1, 2)],
            dishonest={3, 4},
        )
    assert caught.value.disqualified == (3, 4)
    with pytest.raises(CeremonyFailed):
        run_dkg(
            _session(4, 3),
            rng,
            shares_hook=lambda ss: _corrupt_share(3, 1)(_corrupt_share(4, 2)(ss)),
            justifications_hook=lambda js: [j for j in js if j.dealer not in (3, 4)],
            dishonest={3, 4},
        )


def _run_to_round3(
    session: dkg.DkgSession, rng: RandomBytes
) -> tuple[dict[int, dkg.DkgRound3State], list[dkg.DkgRound1Package], list[SecretShare]]:
    round1 = {i: dkg.dkg_round1(session, i, rng) for i in session.participants}
    packages = [p for _, p in round1.values()]
    round2 = {i: dkg.dkg_round2(round1[i][0], packages) for i in session.participants}
    shares = [s for _, sent in round2.values() for s in sent]
    round3 = {
        i: dkg.dkg_round3(round2[i][0], [s for s in shares if s.receiver == i])[0]
        for i in session.participants
    }
    return round3, packages, shares


def test_agreement_check_names_divergent_and_silent_members(rng: RandomBytes) -> None:
    session = _session(4, 2)
    round3, _, _ = _run_to_round3(session, rng)
    results = {i: dkg.dkg_finalize(round3[i], [], []) for i in session.participants}
    good = {i: ceremony.confirm(results[i], rng) for i in session.participants}
    assert ceremony.check_agreement(results[1], list(good.values())) == (1, 2, 3, 4)
    # Member 4 is silent: fails by default, passes with a quorum of 3.
    with pytest.raises(AgreementFailed) as caught:
        ceremony.check_agreement(results[1], [good[1], good[2], good[3]])
    assert caught.value.identifiers == (4,)
    assert ceremony.check_agreement(results[1], [good[1], good[2], good[3]], quorum=3) == (1, 2, 3)
    with pytest.raises(AgreementFailed):
        ceremony.check_agreement(results[1], [good[1], good[2]], quorum=3)
    # Member 2 confirms another transcript: always a failure, whatever the quorum.
    forged = ceremony.confirm(dataclasses.replace(results[2], transcript_hash=b"x" * 32), rng)
    with pytest.raises(AgreementFailed) as caught:
        ceremony.check_agreement(results[1], [good[1], forged, good[3], good[4]], quorum=2)
    assert caught.value.identifiers == (2,)
    # A proof made with another member's secret share fails too.
    stolen = ceremony.confirm(
        dataclasses.replace(results[1], key_package=results[3].key_package), rng
    )
    impostor = dataclasses.replace(stolen, sender=1)
    with pytest.raises(AgreementFailed) as caught:
        ceremony.check_agreement(results[1], [impostor, good[2], good[3], good[4]])
    assert caught.value.identifiers == (1,)
    with pytest.raises(InvalidParameters):
        ceremony.check_agreement(results[1], [dataclasses.replace(forged, sender=9)])
    for quorum in (1, 5):
        with pytest.raises(InvalidParameters):
            ceremony.check_agreement(results[1], list(good.values()), quorum=quorum)


def test_divergent_view_of_complaints_is_caught_by_the_agreement_check(
    rng: RandomBytes,
) -> None:
    # Without a reliable broadcast, members 1 and 2 might see different
    # complaint records; the final check catches it.
    session = _session(4, 2)
    round3, _, _ = _run_to_round3(session, rng)
    complaint = [Complaint(accuser=3, dealer=4)]
    results = {i: dkg.dkg_finalize(round3[i], complaint if i == 2 else [], []) for i in (1, 2, 3)}
    confirmations = [ceremony.confirm(r, rng) for r in results.values()]
    with pytest.raises(AgreementFailed):
        ceremony.check_agreement(results[1], confirmations)


def test_invalid_sessions() -> None:
    for session_id, t, members in (
        (b"", 2, (1, 2)),
        (b"s", 3, (1, 2)),
        (b"s", 0, (1, 2)),
        (b"s", 1, (1, 1)),
        (b"s", 1, (0, 1)),
        (b"s", 1, (ORDER,)),
    ):
        with pytest.raises(InvalidParameters):
            dkg.DkgSession(session_id, t, members)
    assert dkg.DkgSession(b"s", 2, (3, 1, 2)).participants == (1, 2, 3)


def test_invalid_round_inputs(rng: RandomBytes) -> None:
    session = _session(3, 2)
    with pytest.raises(InvalidParameters):
        dkg.dkg_round1(session, 4, rng)
    round1 = {i: dkg.dkg_round1(session, i, rng) for i in session.participants}
    packages = [p for _, p in round1.values()]
    outsider = dataclasses.replace(packages[0], sender=9)
    with pytest.raises(InvalidParameters):
        dkg.dkg_round2(round1[1][0], [*packages, outsider])
    # This member's own package altered (or missing) in the broadcast record.
    with pytest.raises(InvalidParameters):
        dkg.dkg_round2(round1[1][0], packages[1:])
    state, shares = dkg.dkg_round2(round1[1][0], packages)
    with pytest.raises(InvalidParameters):
        dkg.dkg_round3(state, list(shares))  # addressed to 2 and 3, not to 1


def test_excluded_dealers_shares_are_ignored(rng: RandomBytes) -> None:
    session = _session(3, 2)
    round1 = {i: dkg.dkg_round1(session, i, rng) for i in session.participants}
    packages = [p for _, p in round1.values() if p.sender != 3]
    state, _ = dkg.dkg_round2(round1[1][0], packages)
    _, from_2 = dkg.dkg_round2(round1[2][0], packages)
    stray = SecretShare(dealer=3, receiver=1, value=5)
    state3, complaints = dkg.dkg_round3(state, [*from_2, stray])
    assert complaints == ()
    result = dkg.dkg_finalize(state3, [], [])
    assert result.key_package.public.members == (1, 2)
    assert result.disqualified == {3: "no round-1 package"}


def test_disqualified_member_cannot_finalize(rng: RandomBytes) -> None:
    session = _session(3, 2)
    round3, _, _ = _run_to_round3(session, rng)
    with pytest.raises(CeremonyFailed):
        dkg.dkg_finalize(round3[2], [Complaint(accuser=1, dealer=2)], [])
