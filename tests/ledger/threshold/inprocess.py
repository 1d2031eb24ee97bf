"""Whole ceremonies run in one process for the tests, with hooks where a
test plays a dishonest member: it may rewrite the broadcast packages, the
private shares, the complaints or the justifications before delivery."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TypeVar

from ledger.threshold import ceremony, dkg, frost, reshare
from ledger.threshold.ceremony import CeremonyResult, SecretShare
from ledger.threshold.group import RandomBytes
from ledger.threshold.keys import KeyPackage

T = TypeVar("T")
Hook = Callable[[list[T]], list[T]]


def seeded_rng(seed: int) -> RandomBytes:
    """A deterministic random source for tests (never for production)."""
    return random.Random(seed).randbytes


def _identity(items: list[T]) -> list[T]:
    return items


def _inbox(shares: Iterable[SecretShare], receiver: int) -> list[SecretShare]:
    return [s for s in shares if s.receiver == receiver]


def run_dkg(
    session: dkg.DkgSession,
    rng: RandomBytes,
    *,
    packages_hook: Hook[dkg.DkgRound1Package] = _identity,
    shares_hook: Hook[SecretShare] = _identity,
    complaints_hook: Hook[ceremony.Complaint] = _identity,
    justifications_hook: Hook[ceremony.Justification] = _identity,
    dishonest: Collection[int] = (),
) -> dict[int, CeremonyResult]:
    """Run a DKG among all participants; return the honest members' results
    after checking their agreement."""
    round1 = {i: dkg.dkg_round1(session, i, rng) for i in session.participants}
    packages = packages_hook([p for _, p in round1.values()])
    honest = [i for i in session.participants if i not in dishonest]
    round2 = {}
    all_shares: list[SecretShare] = []
    for i in session.participants:
        if i in dishonest:
            # A dishonest member deals from its honest view; the hooks distort it.
            own = [p for p in packages if p.sender != i] + [round1[i][1]]
            state, shares = dkg.dkg_round2(round1[i][0], own)
        else:
            state, shares = dkg.dkg_round2(round1[i][0], packages)
        round2[i] = state
        all_shares.extend(shares)
    all_shares = shares_hook(all_shares)
    round3 = {}
    complaints: list[ceremony.Complaint] = []
    for i in session.participants:
        state3, mine = dkg.dkg_round3(round2[i], _inbox(all_shares, i))
        round3[i] = state3
        complaints.extend(mine)
    complaints = complaints_hook(complaints)
    justifications = justifications_hook(
        [j for i in session.participants for j in dkg.dkg_justify(round3[i], complaints)]
    )
    results = {i: dkg.dkg_finalize(round3[i], complaints, justifications) for i in honest}
    _check_agreement(results, rng)
    return results


def run_reshare(
    session: reshare.ReshareSession,
    dealers: Sequence[KeyPackage],
    rng: RandomBytes,
    *,
    packages_hook: Hook[reshare.ResharePackage] = _identity,
    shares_hook: Hook[SecretShare] = _identity,
    justifications_hook: Hook[ceremony.Justification] = _identity,
) -> dict[int, CeremonyResult]:
    """Run a resharing from the given old key packages to every new member;
    return the new members' results after checking their agreement."""
    dealt = [reshare.reshare_deal(session, key, rng) for key in dealers]
    packages = packages_hook([package for _, package, _ in dealt])
    all_shares = shares_hook([s for _, _, shares in dealt for s in shares])
    states = {}
    complaints: list[ceremony.Complaint] = []
    for j in session.new_members:
        state, mine = reshare.reshare_receive(session, j, packages, _inbox(all_shares, j))
        states[j] = state
        complaints.extend(mine)
    justifications = justifications_hook(
        [x for secret, _, _ in dealt for x in reshare.reshare_justify(secret, complaints)]
    )
    results = {
        j: reshare.reshare_finalize(states[j], complaints, justifications)
        for j in session.new_members
    }
    _check_agreement(results, rng)
    return results


def _check_agreement(results: dict[int, CeremonyResult], rng: RandomBytes) -> None:
    confirmations = [ceremony.confirm(r, rng) for r in results.values()]
    for result in results.values():
        ceremony.check_agreement(result, confirmations)


def sign(keys: Sequence[KeyPackage], message: bytes, rng: RandomBytes) -> bytes:
    """A full FROST ceremony among keys (sorted by identifier); returns the
    encoded signature."""
    keys = sorted(keys, key=lambda k: k.identifier)
    round1 = [frost.commit(k, rng) for k in keys]
    commitments = [c for _, c in round1]
    shares = [
        frost.sign(k, n, message, commitments) for k, (n, _) in zip(keys, round1, strict=True)
    ]
    signature = frost.aggregate(commitments, message, keys[0].public, shares)
    return frost.encode_signature(signature)
