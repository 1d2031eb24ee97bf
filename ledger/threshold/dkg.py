"""Distributed key generation with no dealer: PedPop (Pedersen's DKG over
Feldman VSS, with proofs of possession), in the style of ChillDKG and of the
FROST paper's key generation, with GJKR-style complaints.

Every member is a dealer. The steps, for each member ``me``:

1. ``dkg_round1``: sample a random polynomial f_me of degree t-1; broadcast
   its Feldman commitment and a Schnorr proof of knowledge of f_me(0) bound to
   the session and to ``me``.
2. ``dkg_round2``: given every broadcast package, exclude dealers whose
   package is missing, malformed, equivocated or has a bad proof; send
   f_me(j) privately to every other accepted member j.
3. ``dkg_round3``: check each share received against its dealer's
   commitment; broadcast a complaint against each dealer whose share is
   missing or invalid.
4. ``dkg_justify``: answer each complaint against ``me`` by broadcasting the
   accuser's share.
5. ``dkg_finalize``: disqualify dealers with an unanswered complaint
   (ceremony.resolve_complaints); the qualified set QUAL holds the key:
   group key = sum of C_i0, my share = sum of f_i(me), verification shares
   from the summed commitments, over i in QUAL.
6. ``ceremony.confirm`` / ``ceremony.check_agreement``: every member
   broadcasts a proof bound to the transcript hash; all honest members hold
   the same group key iff every member's confirmation checks.

The members of the resulting group are QUAL. A dealer disqualified after
round 2 still received shares from the others, so it knows its own point of
the final polynomial: count it among the t-1 members the adversary may hold,
and reshare to drop it for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.threshold.ceremony import (
    CeremonyResult,
    Complaint,
    Justification,
    SecretShare,
    check_received_shares,
    deal_shares,
    justify,
    resolve_complaints,
)
from ledger.threshold.errors import CeremonyFailed, InvalidCommitment, InvalidParameters
from ledger.threshold.group import (
    ORDER,
    Point,
    RandomBytes,
    encode_element,
    encode_scalar,
    random_scalar,
)
from ledger.threshold.hashing import ceremony_digest
from ledger.threshold.keys import KeyPackage, derive_public_key_package
from ledger.threshold.polynomial import (
    check_identifiers,
    check_threshold,
    polynomial_evaluate,
    random_polynomial,
)
from ledger.threshold.proofs import ProofOfKnowledge, prove_knowledge, verify_knowledge
from ledger.threshold.vss import Commitment, check_commitment, sum_commitments, vss_commit

_POP_TAG = b"dkg-pop"


@dataclass(frozen=True)
class DkgSession:
    """The public parameters of one DKG, agreed before it starts.

    session_id must be unique per ceremony (e.g. chain id, height and purpose
    hashed together): proofs and transcripts are bound to it, so nothing from
    one ceremony can be replayed into another. participants is stored sorted.

    Raises InvalidParameters for an empty session id, bad or duplicate
    identifiers, or a threshold outside 1..len(participants).
    """

    session_id: bytes
    threshold: int
    participants: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.session_id:
            raise InvalidParameters("empty session id")
        object.__setattr__(self, "participants", check_identifiers(self.participants))
        check_threshold(self.threshold, len(self.participants))

    def context(self) -> bytes:
        """A digest binding everything in the session."""
        return ceremony_digest(
            b"dkg-session",
            [
                self.session_id,
                encode_scalar(self.threshold),
                *(encode_scalar(i) for i in self.participants),
            ],
        )

    def check_member(self, identifier: int) -> None:
        """Raises InvalidParameters unless identifier is a participant."""
        if identifier not in self.participants:
            raise InvalidParameters(f"{identifier} is not a participant of this DKG")


@dataclass(frozen=True)
class DkgRound1Package:
    """Broadcast by every member in round 1."""

    sender: int
    commitment: Commitment
    proof: ProofOfKnowledge


@dataclass(frozen=True)
class DkgRound1Secret:
    """A member's secret state after round 1: its polynomial. Keep private."""

    session: DkgSession
    identifier: int
    polynomial: tuple[int, ...] = field(repr=False)


@dataclass(frozen=True)
class DkgRound2State:
    """A member's state after round 2: the dealers accepted from round 1
    (with their commitments) and the ones excluded, with the reason."""

    secret: DkgRound1Secret
    commitments: Mapping[int, Commitment]
    excluded: Mapping[int, str]


@dataclass(frozen=True)
class DkgRound3State:
    """A member's state after checking its shares: the valid ones by dealer."""

    round2: DkgRound2State
    received: Mapping[int, int] = field(repr=False)


def _pop_context(session: DkgSession, identifier: int) -> bytes:
    return session.context() + encode_scalar(identifier)


def dkg_round1(
    session: DkgSession, identifier: int, rng: RandomBytes
) -> tuple[DkgRound1Secret, DkgRound1Package]:
    """Round 1: sample this member's polynomial; return the secret state and
    the package to broadcast.

    Raises InvalidParameters if identifier is not a participant,
    InvalidRandomness if rng misbehaves.
    """
    session.check_member(identifier)
    polynomial = random_polynomial(random_scalar(rng), session.threshold - 1, rng)
    proof = prove_knowledge(polynomial[0], _POP_TAG, _pop_context(session, identifier), rng)
    package = DkgRound1Package(identifier, vss_commit(polynomial), proof)
    return DkgRound1Secret(session, identifier, polynomial), package


def _package_fault(session: DkgSession, package: DkgRound1Package) -> str | None:
    """Why a round-1 package must be excluded, or None if it is acceptable."""
    try:
        check_commitment(package.commitment, session.threshold, package.sender)
    except InvalidCommitment as e:
        return str(e)
    context = _pop_context(session, package.sender)
    if not verify_knowledge(package.commitment[0], package.proof, _POP_TAG, context):
        return "invalid proof of possession"
    return None


def _screen_round1(
    session: DkgSession, packages: Iterable[DkgRound1Package]
) -> tuple[dict[int, Commitment], dict[int, str]]:
    by_sender: dict[int, set[DkgRound1Package]] = {}
    for package in packages:
        session.check_member(package.sender)
        by_sender.setdefault(package.sender, set()).add(package)
    accepted: dict[int, Commitment] = {}
    excluded: dict[int, str] = {}
    for member in session.participants:
        sent = by_sender.get(member, set())
        if not sent:
            excluded[member] = "no round-1 package"
        elif len(sent) > 1:
            excluded[member] = "conflicting round-1 packages"
        else:
            (package,) = sent
            fault = _package_fault(session, package)
            if fault is None:
                accepted[member] = package.commitment
            else:
                excluded[member] = fault
    return accepted, excluded


def dkg_round2(
    secret: DkgRound1Secret, packages: Sequence[DkgRound1Package]
) -> tuple[DkgRound2State, tuple[SecretShare, ...]]:
    """Round 2: screen every member's broadcast round-1 package (including
    this member's own) and deal a private share to each other accepted member.

    Raises InvalidParameters for a package from a non-participant or if this
    member's own package is not among the accepted ones; CeremonyFailed if
    fewer than ``threshold`` members remain.
    """
    session = secret.session
    accepted, excluded = _screen_round1(session, packages)
    if accepted.get(secret.identifier) != vss_commit(secret.polynomial):
        raise InvalidParameters("this member's own round-1 package is missing or altered")
    if len(accepted) < session.threshold:
        raise CeremonyFailed(
            f"only {len(accepted)} valid dealers, threshold {session.threshold}",
            tuple(sorted(excluded)),
        )
    receivers = [j for j in sorted(accepted) if j != secret.identifier]
    shares = deal_shares(secret.identifier, secret.polynomial, receivers)
    return DkgRound2State(secret, accepted, excluded), shares


def dkg_round3(
    state: DkgRound2State, shares: Sequence[SecretShare]
) -> tuple[DkgRound3State, tuple[Complaint, ...]]:
    """Round 3: check the private shares received against the dealers'
    commitments; return the new state and the complaints to broadcast.

    Raises InvalidParameters for a share addressed to another member.
    """
    me = state.secret.identifier
    others = {d: c for d, c in state.commitments.items() if d != me}
    received, complaints = check_received_shares(me, others, shares)
    return DkgRound3State(state, received), complaints


def dkg_justify(
    state: DkgRound3State, complaints: Sequence[Complaint]
) -> tuple[Justification, ...]:
    """Answer every broadcast complaint against this member by revealing the
    accuser's share; returns the justifications to broadcast."""
    secret = state.round2.secret
    return justify(secret.identifier, secret.polynomial, complaints)


def dkg_finalize(
    state: DkgRound3State,
    complaints: Sequence[Complaint],
    justifications: Sequence[Justification],
) -> CeremonyResult:
    """Resolve all broadcast complaints and compute this member's key package.

    Raises CeremonyFailed if this member was disqualified or fewer than
    ``threshold`` qualified dealers remain.
    """
    round2 = state.round2
    session, me = round2.secret.session, round2.secret.identifier
    outcome = resolve_complaints(
        round2.commitments, tuple(round2.commitments), complaints, justifications
    )
    disqualified = {**round2.excluded, **outcome.disqualified}
    qualified = tuple(d for d in sorted(round2.commitments) if d not in outcome.disqualified)
    if me not in qualified:
        raise CeremonyFailed("this member was disqualified", tuple(sorted(disqualified)))
    if len(qualified) < session.threshold:
        raise CeremonyFailed(
            f"only {len(qualified)} qualified dealers, threshold {session.threshold}",
            tuple(sorted(disqualified)),
        )
    values = {
        **{d: v for (d, a), v in outcome.revealed.items() if a == me},
        **state.received,
        me: polynomial_evaluate(me, round2.secret.polynomial),
    }
    assert all(d in values for d in qualified), "a qualified dealer left a share unresolved"
    secret_share = sum(values[d] for d in qualified) % ORDER
    group_commitment = sum_commitments(round2.commitments[d] for d in qualified)
    public = derive_public_key_package(group_commitment, qualified)
    transcript = _transcript_hash(session, qualified, round2.commitments, public.group_public_key)
    return CeremonyResult(
        KeyPackage(me, secret_share, public), transcript, disqualified, outcome.false_accusers
    )


def _transcript_hash(
    session: DkgSession,
    qualified: Sequence[int],
    commitments: Mapping[int, Commitment],
    group_public_key: Point,
) -> bytes:
    parts = [session.context(), encode_element(group_public_key)]
    for dealer in qualified:
        parts.append(encode_scalar(dealer))
        parts.extend(encode_element(c) for c in commitments[dealer])
    return ceremony_digest(b"dkg-transcript", parts)
