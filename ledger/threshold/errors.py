"""Typed failures of the threshold-key protocols.

Every bad input raises a subclass of ThresholdError; errors that can be
blamed on a member carry that member's identifier(s).
"""

from __future__ import annotations


class ThresholdError(Exception):
    """Base class of every error raised by ledger.threshold."""


class InvalidEncoding(ThresholdError):
    """Bytes that are not the canonical encoding of a scalar, point or message."""


class InvalidParameters(ThresholdError):
    """Thresholds, identifiers or member lists that the protocol cannot accept
    (duplicates, zero or out-of-range identifiers, too few signers, a message
    routed to the wrong member, a secret from another session)."""


class InvalidRandomness(ThresholdError):
    """The injected random source returned the wrong length or a degenerate value."""


class InvalidCommitment(ThresholdError):
    """A signing commitment list or a polynomial commitment that is malformed,
    unsorted, or inconsistent with what it must match."""

    def __init__(self, message: str, identifiers: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.identifiers = identifiers


class InvalidShare(ThresholdError):
    """One or more shares (signature shares or secret shares) failed
    verification; ``identifiers`` names the members who sent them."""

    def __init__(self, message: str, identifiers: tuple[int, ...]) -> None:
        super().__init__(f"{message}: {', '.join(str(i) for i in identifiers)}")
        self.identifiers = identifiers


class CeremonyFailed(ThresholdError):
    """A DKG or resharing ceremony cannot produce a key: too few qualified
    dealers remain, or the caller itself was disqualified."""

    def __init__(self, message: str, disqualified: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.disqualified = disqualified


class AgreementFailed(ThresholdError):
    """The final equality check failed: ``identifiers`` names the members whose
    confirmation is missing, invalid, or for a different transcript."""

    def __init__(self, message: str, identifiers: tuple[int, ...]) -> None:
        super().__init__(f"{message}: {', '.join(str(i) for i in identifiers)}")
        self.identifiers = identifiers
