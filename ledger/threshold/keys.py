"""Key packages: what a member of a threshold group holds, and what everyone
may know about the group; plus the trusted-dealer key generation of RFC 9591
Appendix C, kept as the test harness the RFC vectors are built with.

Production keys come from ``dkg`` and ``reshare``, which need no dealer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ledger.threshold.errors import InvalidCommitment, InvalidParameters, InvalidShare
from ledger.threshold.group import ORDER, Point, RandomBytes, base_mul
from ledger.threshold.polynomial import (
    check_identifiers,
    check_threshold,
    polynomial_evaluate,
    random_polynomial,
)
from ledger.threshold.vss import Commitment, commitment_evaluate, vss_commit


@dataclass(frozen=True)
class PublicKeyPackage:
    """The public side of a threshold key: the group public key, the
    threshold, and each member's verification share (share*G).

    Raises InvalidParameters on construction for a bad threshold or member
    identifier.
    """

    group_public_key: Point
    threshold: int
    verification_shares: Mapping[int, Point]

    def __post_init__(self) -> None:
        check_identifiers(self.verification_shares)
        check_threshold(self.threshold, len(self.verification_shares))
        if self.group_public_key.is_identity():
            raise InvalidParameters("the group public key is the identity")

    @property
    def members(self) -> tuple[int, ...]:
        """The member identifiers, ascending."""
        return tuple(sorted(self.verification_shares))

    def verification_share(self, identifier: int) -> Point:
        """The verification share of a member. Raises InvalidParameters if
        identifier is not a member."""
        try:
            return self.verification_shares[identifier]
        except KeyError:
            raise InvalidParameters(f"{identifier} is not a member of this group") from None


@dataclass(frozen=True)
class KeyPackage:
    """One member's secret share with the group's public data.

    Raises InvalidParameters if the identifier is not a member, InvalidShare if
    the secret share does not match the member's verification share.
    """

    identifier: int
    secret_share: int = field(repr=False)
    public: PublicKeyPackage

    def __post_init__(self) -> None:
        expected = self.public.verification_share(self.identifier)
        if not 0 < self.secret_share < ORDER or base_mul(self.secret_share) != expected:
            raise InvalidShare(
                "secret share does not match the verification share", (self.identifier,)
            )

    @property
    def group_public_key(self) -> Point:
        """The group public key."""
        return self.public.group_public_key

    @property
    def threshold(self) -> int:
        """The number of members needed to sign."""
        return self.public.threshold


def secret_share_shard(
    secret: int, coefficients: Sequence[int], max_participants: int
) -> list[tuple[int, int]]:
    """Shamir-share secret with the given non-constant coefficients to members
    1..max_participants (RFC 9591 Appendix C.1 secret_share_shard).

    Raises InvalidParameters if there are fewer members than coefficients + 1.
    """
    check_threshold(len(coefficients) + 1, max_participants)
    polynomial = (secret % ORDER, *coefficients)
    return [(x, polynomial_evaluate(x, polynomial)) for x in range(1, max_participants + 1)]


def derive_public_key_package(
    commitment: Commitment, identifiers: Sequence[int]
) -> PublicKeyPackage:
    """The group key and every member's verification share from the
    commitment to the sharing polynomial (RFC 9591 Appendix C.2
    derive_group_info); the threshold is the commitment length.

    Raises InvalidParameters for bad identifiers, InvalidCommitment for an
    empty commitment.
    """
    if not commitment:
        raise InvalidCommitment("empty polynomial commitment")
    members = check_identifiers(identifiers)
    shares = {i: commitment_evaluate(commitment, i) for i in members}
    return PublicKeyPackage(commitment[0], len(commitment), shares)


def trusted_dealer_keygen(
    secret: int, max_participants: int, min_participants: int, rng: RandomBytes
) -> tuple[list[KeyPackage], PublicKeyPackage]:
    """Split secret into min_participants-of-max_participants shares for
    members 1..max_participants (RFC 9591 Appendix C trusted_dealer_keygen).

    The dealer learns the key: use it only for tests. Raises InvalidParameters
    for a bad threshold or a zero secret.
    """
    check_threshold(min_participants, max_participants)
    if secret % ORDER == 0:
        raise InvalidParameters("the group secret is zero")
    polynomial = random_polynomial(secret, min_participants - 1, rng)
    public = derive_public_key_package(vss_commit(polynomial), range(1, max_participants + 1))
    shares = secret_share_shard(secret, polynomial[1:], max_participants)
    return [KeyPackage(i, s, public) for i, s in shares], public
