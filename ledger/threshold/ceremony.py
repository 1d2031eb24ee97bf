"""What the DKG and resharing have in common: dealing secret shares against
a Feldman commitment, checking the shares received, complaints against
dealers and the dealers' public justifications, and the final agreement
check.

Complaints follow Pedersen/GJKR: a receiver whose share is missing or fails
its check broadcasts a complaint; the accused dealer must answer by
broadcasting that share in the clear. Everyone checks the revealed share
against the dealer's commitment: a dealer that does not answer, or answers
with a share that fails, is disqualified by every honest member alike; a
valid answer clears the dealer, names the accuser as a false accuser, and
gives the accuser its share. So a malicious member cannot exclude an honest
dealer, and a malicious dealer cannot stay in while an honest member lacks a
valid share from it.

This relies on a reliable broadcast channel (the chain, in the node): every
honest member sees the same round-one packages, complaints and
justifications, and so computes the same qualified set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ledger.threshold.errors import AgreementFailed, InvalidParameters
from ledger.threshold.group import Point, RandomBytes
from ledger.threshold.keys import KeyPackage
from ledger.threshold.polynomial import polynomial_evaluate
from ledger.threshold.proofs import ProofOfKnowledge, prove_knowledge, verify_knowledge
from ledger.threshold.vss import Commitment, vss_verify

_CONFIRMATION_TAG = b"confirm"


@dataclass(frozen=True)
class SecretShare:
    """f_dealer(receiver): sent privately (encrypted, authenticated) from
    dealer to receiver, never broadcast."""

    dealer: int
    receiver: int
    value: int = field(repr=False)


@dataclass(frozen=True)
class Complaint:
    """Broadcast by accuser: the share from dealer is missing or invalid."""

    accuser: int
    dealer: int


@dataclass(frozen=True)
class Justification:
    """Broadcast by dealer in answer to a complaint: the accuser's share in the clear."""

    dealer: int
    accuser: int
    value: int


@dataclass(frozen=True)
class Confirmation:
    """Broadcast by each member at the end: the transcript hash it computed,
    with a proof of knowledge of its new secret share bound to that hash."""

    sender: int
    transcript_hash: bytes
    proof: ProofOfKnowledge


@dataclass(frozen=True)
class CeremonyResult:
    """A member's outcome of a DKG or resharing: its key package, the hash of
    the public transcript (equal at every honest member), the dealers
    disqualified with the reason, and members whose complaints were answered
    with a valid share (false accusers, or victims of a broken link)."""

    key_package: KeyPackage
    transcript_hash: bytes
    disqualified: Mapping[int, str]
    false_accusers: tuple[int, ...]


@dataclass(frozen=True)
class ComplaintOutcome:
    """The public result of the complaint phase."""

    disqualified: Mapping[int, str]
    false_accusers: tuple[int, ...]
    revealed: Mapping[tuple[int, int], int]
    """(dealer, accuser) -> the share the dealer revealed to answer a complaint."""


def deal_shares(
    dealer: int, polynomial: Sequence[int], receivers: Sequence[int]
) -> tuple[SecretShare, ...]:
    """The private share f(j) of each receiver j."""
    return tuple(SecretShare(dealer, j, polynomial_evaluate(j, polynomial)) for j in receivers)


def check_received_shares(
    receiver: int, commitments: Mapping[int, Commitment], shares: Sequence[SecretShare]
) -> tuple[dict[int, int], tuple[Complaint, ...]]:
    """Check the shares this receiver got against each dealer's commitment.

    Returns the valid share values by dealer, and a complaint against every
    dealer in ``commitments`` whose share is missing, invalid, or sent twice
    with different values. Shares from dealers not in ``commitments``
    (already excluded) are ignored. Raises InvalidParameters for a share
    addressed to another receiver (a routing mistake by the caller).
    """
    values: dict[int, set[int]] = {}
    for share in shares:
        if share.receiver != receiver:
            raise InvalidParameters(
                f"share from {share.dealer} is for {share.receiver}, not {receiver}"
            )
        if share.dealer in commitments:
            values.setdefault(share.dealer, set()).add(share.value)
    valid: dict[int, int] = {}
    complaints = []
    for dealer in sorted(commitments):
        received = values.get(dealer, set())
        if len(received) == 1:
            (value,) = received
            if vss_verify(value, receiver, commitments[dealer]):
                valid[dealer] = value
                continue
        complaints.append(Complaint(receiver, dealer))
    return valid, tuple(complaints)


def justify(
    dealer: int,
    polynomial: Sequence[int],
    complaints: Sequence[Complaint],
    dealers_are_members: bool = True,
) -> tuple[Justification, ...]:
    """The dealer's answers to the complaints against it: each accuser's
    share, in the clear. Complaints against other dealers are skipped, and,
    when the dealers are the members (a DKG), a complaint of the dealer
    against itself; in a resharing dealer i (an old member) and accuser i (a
    new member) are different roles, so that complaint is answered."""
    accusers = sorted(
        {
            c.accuser
            for c in complaints
            if c.dealer == dealer and not (dealers_are_members and c.accuser == dealer)
        }
    )
    return tuple(Justification(dealer, a, polynomial_evaluate(a, polynomial)) for a in accusers)


def resolve_complaints(
    commitments: Mapping[int, Commitment],
    members: Sequence[int],
    complaints: Sequence[Complaint],
    justifications: Sequence[Justification],
    dealers_are_members: bool = True,
) -> ComplaintOutcome:
    """Decide every complaint from the public record, identically at every
    honest member.

    A complaint counts if its accuser is in ``members`` and its dealer in
    ``commitments`` (and, when the dealers are the members, as in a DKG,
    they differ); others are ignored. The dealer is disqualified unless
    some justification for that accuser verifies.
    """
    answers: dict[tuple[int, int], list[int]] = {}
    for j in justifications:
        answers.setdefault((j.dealer, j.accuser), []).append(j.value)
    disqualified: dict[int, str] = {}
    false_accusers: set[int] = set()
    revealed: dict[tuple[int, int], int] = {}
    pairs = {(c.dealer, c.accuser) for c in complaints}
    for dealer, accuser in sorted(pairs):
        if dealer not in commitments or accuser not in members:
            continue
        if dealers_are_members and dealer == accuser:
            continue
        valid = [
            v
            for v in answers.get((dealer, accuser), [])
            if vss_verify(v, accuser, commitments[dealer])
        ]
        if valid:
            revealed[(dealer, accuser)] = valid[0]
            false_accusers.add(accuser)
        else:
            disqualified.setdefault(dealer, f"no valid answer to the complaint of {accuser}")
    return ComplaintOutcome(disqualified, tuple(sorted(false_accusers)), revealed)


def confirm(result: CeremonyResult, rng: RandomBytes) -> Confirmation:
    """This member's confirmation of the ceremony's transcript hash.

    Raises InvalidRandomness if rng misbehaves.
    """
    key = result.key_package
    proof = prove_knowledge(
        key.secret_share,
        _CONFIRMATION_TAG,
        _confirmation_context(key.identifier, result.transcript_hash),
        rng,
    )
    return Confirmation(key.identifier, result.transcript_hash, proof)


def check_agreement(
    result: CeremonyResult, confirmations: Sequence[Confirmation], quorum: int | None = None
) -> tuple[int, ...]:
    """The final check that the members hold the same group key: a member's
    confirmation counts if it is for this member's transcript hash (which
    covers the group key and every dealer's commitment) and its proof checks
    against its own verification share. Returns the confirmed members.

    By default every member must confirm. With ``quorum`` (at least the
    threshold), members that sent nothing are tolerated as long as quorum
    members confirm, so a member that died mid-ceremony does not block it.

    Raises AgreementFailed naming every member whose confirmation is for
    another transcript or has an invalid proof, or, when too few confirmed,
    the silent ones; InvalidParameters for a confirmation from a non-member or
    a quorum outside threshold..members.
    """
    public = result.key_package.public
    if quorum is not None and not public.threshold <= quorum <= len(public.members):
        raise InvalidParameters(
            f"quorum {quorum} is not in {public.threshold}..{len(public.members)}"
        )
    by_sender: dict[int, list[Confirmation]] = {}
    for c in confirmations:
        if c.sender not in public.verification_shares:
            raise InvalidParameters(f"confirmation from {c.sender}, not a member")
        by_sender.setdefault(c.sender, []).append(c)
    confirmed = tuple(
        member
        for member in public.members
        if any(
            _confirms(c, result.transcript_hash, public.verification_share(member))
            for c in by_sender.get(member, [])
        )
    )
    invalid = tuple(m for m in sorted(by_sender) if m not in confirmed)
    if invalid:
        raise AgreementFailed(
            "confirmation of another transcript or invalid proof from member", invalid
        )
    silent = tuple(m for m in public.members if m not in by_sender)
    needed = len(public.members) if quorum is None else quorum
    if len(confirmed) < needed:
        raise AgreementFailed(f"only {len(confirmed)} of {needed} confirmations; silent", silent)
    return confirmed


def _confirms(
    confirmation: Confirmation, transcript_hash: bytes, verification_share: Point
) -> bool:
    if confirmation.transcript_hash != transcript_hash:
        return False
    context = _confirmation_context(confirmation.sender, transcript_hash)
    return verify_knowledge(verification_share, confirmation.proof, _CONFIRMATION_TAG, context)


def _confirmation_context(identifier: int, transcript_hash: bytes) -> bytes:
    return identifier.to_bytes(32, "big") + transcript_hash
