"""Typed failures of the mint's data formats.

The cryptographic functions raise the ``ledger.threshold.errors`` types
(``InvalidEncoding``, ``InvalidParameters``, ``InvalidRandomness``,
``InvalidCommitment``, ``InvalidShare``), as the rest of the threshold
library does, so a caller catches ``ThresholdError`` for all of them; the
classes here cover what is specific to the mint: keysets and tokens.
"""

from __future__ import annotations

from ledger.threshold.errors import ThresholdError


class MintError(ThresholdError):
    """Base class of the errors defined by ledger.features.mint."""


class InvalidKeyset(MintError):
    """A keyset that is malformed: no keys, an amount that is not a positive
    integer, an identity key, a unit or keyset id of the wrong form."""


class NotEnoughShares(MintError):
    """Fewer than ``threshold`` valid evaluation shares; ``rejected`` names
    the members whose shares failed verification."""

    def __init__(self, message: str, rejected: tuple[int, ...]) -> None:
        detail = f" (rejected: {', '.join(str(i) for i in rejected)})" if rejected else ""
        super().__init__(message + detail)
        self.rejected = rejected


class InvalidToken(MintError):
    """A serialized token that is not a well-formed Cashu token we accept."""


class TokenTooLarge(InvalidToken):
    """A token, or a part of it, beyond the size bounds (tokens.MAX_*)."""


class HashToCurveFailed(MintError):
    """hash_to_curve found no point in 2^16 tries (probability 2^-65536:
    only a broken hash function gets here)."""
