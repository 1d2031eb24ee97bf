"""Resharing: the holders of a t-of-n key hand it to a new member set with a
new threshold; the group public key does not change.

Each dealing old member i shares its own secret share s_i with a fresh
random polynomial g_i of degree t'-1 (g_i(0) = s_i), broadcasts the Feldman
commitment D_i and sends g_i(j) privately to every new member j. A new member
accepts dealer i only if D_i0 equals i's old verification share Y_i, so a
dealer cannot change what it contributes. After the complaint phase (as in
the DKG), with Q the qualified dealers (at least the old threshold t) and
lambda_i their Lagrange coefficients over Q:

    new share      s'_j = sum_{i in Q} lambda_i * g_i(j)
    new commitment D'_k = sum_{i in Q} lambda_i * D_ik
    group key      D'_0 = sum_{i in Q} lambda_i * Y_i = Y (checked, not assumed)

The Lagrange weights are applied by the receivers, after Q is known, rather
than by the dealers: a dealer excluded late then changes nothing for the
others. The new polynomial is fresh, so old shares are useless with new
ones; old holders should erase their shares once the new group confirms.

Steps: old members ``reshare_deal``; new members ``reshare_receive`` (check,
complain); accused dealers ``reshare_justify``; new members
``reshare_finalize`` and then ``ceremony.confirm`` / ``check_agreement``.
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
from ledger.threshold.group import ORDER, RandomBytes, encode_element, encode_scalar
from ledger.threshold.hashing import ceremony_digest
from ledger.threshold.keys import KeyPackage, PublicKeyPackage, derive_public_key_package
from ledger.threshold.polynomial import (
    check_identifiers,
    check_threshold,
    derive_interpolating_value,
    random_polynomial,
)
from ledger.threshold.vss import (
    Commitment,
    check_commitment,
    scale_commitment,
    sum_commitments,
    vss_commit,
)


@dataclass(frozen=True)
class ReshareSession:
    """The public parameters of one resharing, agreed before it starts: the
    old group's public data, the new threshold and the new members (stored
    sorted). session_id must be unique per ceremony.

    Raises InvalidParameters for an empty session id, bad or duplicate new
    member identifiers, or a new threshold outside 1..len(new_members).
    """

    session_id: bytes
    old: PublicKeyPackage
    new_threshold: int
    new_members: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.session_id:
            raise InvalidParameters("empty session id")
        object.__setattr__(self, "new_members", check_identifiers(self.new_members))
        check_threshold(self.new_threshold, len(self.new_members))

    def context(self) -> bytes:
        """A digest binding everything in the session, old and new."""
        old = self.old
        parts = [
            self.session_id,
            encode_element(old.group_public_key),
            encode_scalar(old.threshold),
        ]
        for member in old.members:
            parts += [encode_scalar(member), encode_element(old.verification_share(member))]
        parts.append(encode_scalar(self.new_threshold))
        parts.extend(encode_scalar(j) for j in self.new_members)
        return ceremony_digest(b"reshare-session", parts)

    def check_new_member(self, identifier: int) -> None:
        """Raises InvalidParameters unless identifier is a new member."""
        if identifier not in self.new_members:
            raise InvalidParameters(f"{identifier} is not a new member of this resharing")


@dataclass(frozen=True)
class ResharePackage:
    """Broadcast by each dealing old member: the commitment to its polynomial."""

    sender: int
    commitment: Commitment


@dataclass(frozen=True)
class ReshareDealerSecret:
    """A dealer's secret state: its resharing polynomial. Keep private until
    the complaint phase is over, then erase with the old share."""

    session: ReshareSession
    identifier: int
    polynomial: tuple[int, ...] = field(repr=False)


@dataclass(frozen=True)
class ReshareReceiverState:
    """A new member's state after checking the dealings: accepted dealers
    with their commitments, excluded ones with the reason, and the valid
    shares received."""

    session: ReshareSession
    identifier: int
    commitments: Mapping[int, Commitment]
    excluded: Mapping[int, str]
    received: Mapping[int, int] = field(repr=False)


def reshare_deal(
    session: ReshareSession, key: KeyPackage, rng: RandomBytes
) -> tuple[ReshareDealerSecret, ResharePackage, tuple[SecretShare, ...]]:
    """An old member deals its share to the new members: returns its secret
    state, the package to broadcast and one private share per new member.

    Raises InvalidParameters if key is not a key of the session's old group,
    InvalidRandomness if rng misbehaves.
    """
    if key.public != session.old:
        raise InvalidParameters("the key package is not of this resharing's old group")
    polynomial = random_polynomial(key.secret_share, session.new_threshold - 1, rng)
    commitment = vss_commit(polynomial)
    shares = deal_shares(key.identifier, polynomial, session.new_members)
    return (
        ReshareDealerSecret(session, key.identifier, polynomial),
        ResharePackage(key.identifier, commitment),
        shares,
    )


def _package_fault(session: ReshareSession, package: ResharePackage) -> str | None:
    """Why a dealing must be excluded, or None if it is acceptable."""
    try:
        check_commitment(package.commitment, session.new_threshold, package.sender)
    except InvalidCommitment as e:
        return str(e)
    if package.commitment[0] != session.old.verification_share(package.sender):
        return "commitment does not match the dealer's old verification share"
    return None


def _screen_dealings(
    session: ReshareSession, packages: Iterable[ResharePackage]
) -> tuple[dict[int, Commitment], dict[int, str]]:
    by_sender: dict[int, set[ResharePackage]] = {}
    for package in packages:
        if package.sender not in session.old.verification_shares:
            raise InvalidParameters(f"dealing from {package.sender}, not an old member")
        by_sender.setdefault(package.sender, set()).add(package)
    accepted: dict[int, Commitment] = {}
    excluded: dict[int, str] = {}
    for dealer, sent in sorted(by_sender.items()):
        if len(sent) > 1:
            excluded[dealer] = "conflicting dealings"
            continue
        (package,) = sent
        fault = _package_fault(session, package)
        if fault is None:
            accepted[dealer] = package.commitment
        else:
            excluded[dealer] = fault
    return accepted, excluded


def reshare_receive(
    session: ReshareSession,
    identifier: int,
    packages: Sequence[ResharePackage],
    shares: Sequence[SecretShare],
) -> tuple[ReshareReceiverState, tuple[Complaint, ...]]:
    """A new member checks the broadcast dealings and its private shares;
    returns its state and the complaints to broadcast.

    Old members that sent no dealing simply do not take part. Raises
    InvalidParameters if identifier is not a new member or for a dealing from
    a non-member or a share addressed to someone else; CeremonyFailed if fewer
    than the old threshold of dealings are acceptable.
    """
    session.check_new_member(identifier)
    accepted, excluded = _screen_dealings(session, packages)
    _require_enough(session, accepted, excluded)
    received, complaints = check_received_shares(identifier, accepted, shares)
    return ReshareReceiverState(session, identifier, accepted, excluded, received), complaints


def reshare_justify(
    secret: ReshareDealerSecret, complaints: Sequence[Complaint]
) -> tuple[Justification, ...]:
    """A dealer answers every complaint against it by revealing the
    accuser's share; returns the justifications to broadcast."""
    return justify(secret.identifier, secret.polynomial, complaints, dealers_are_members=False)


def reshare_finalize(
    state: ReshareReceiverState,
    complaints: Sequence[Complaint],
    justifications: Sequence[Justification],
) -> CeremonyResult:
    """Resolve all broadcast complaints and compute this new member's key
    package under the unchanged group public key.

    Raises CeremonyFailed if fewer than the old threshold of dealers remain
    qualified, or if the qualified dealings do not reconstruct the old group
    key (which means the old public data given to the session is inconsistent).
    """
    session = state.session
    outcome = resolve_complaints(
        state.commitments,
        session.new_members,
        complaints,
        justifications,
        dealers_are_members=False,  # old member i and new member i are different roles
    )
    qualified = {d: c for d, c in state.commitments.items() if d not in outcome.disqualified}
    disqualified = {**state.excluded, **outcome.disqualified}
    _require_enough(session, qualified, disqualified)
    dealers = tuple(sorted(qualified))
    weights = {d: derive_interpolating_value(dealers, d) for d in dealers}
    me = state.identifier
    values = {**{d: v for (d, a), v in outcome.revealed.items() if a == me}, **state.received}
    assert all(d in values for d in dealers), "a qualified dealer left a share unresolved"
    secret_share = sum(weights[d] * values[d] for d in dealers) % ORDER
    commitment = sum_commitments(scale_commitment(qualified[d], weights[d]) for d in dealers)
    if commitment[0] != session.old.group_public_key:
        raise CeremonyFailed(
            "the dealings do not reconstruct the group public key", tuple(sorted(disqualified))
        )
    public = derive_public_key_package(commitment, session.new_members)
    transcript = _transcript_hash(session, qualified)
    return CeremonyResult(
        KeyPackage(me, secret_share, public), transcript, disqualified, outcome.false_accusers
    )


def _require_enough(
    session: ReshareSession, dealers: Mapping[int, Commitment], disqualified: Mapping[int, str]
) -> None:
    if len(dealers) < session.old.threshold:
        raise CeremonyFailed(
            f"only {len(dealers)} acceptable dealers, old threshold {session.old.threshold}",
            tuple(sorted(disqualified)),
        )


def _transcript_hash(session: ReshareSession, qualified: Mapping[int, Commitment]) -> bytes:
    parts = [session.context()]
    for dealer in sorted(qualified):
        parts.append(encode_scalar(dealer))
        parts.extend(encode_element(c) for c in qualified[dealer])
    return ceremony_digest(b"reshare-transcript", parts)
