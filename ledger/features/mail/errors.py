"""Typed failures of the mix's cryptography.

Every bad input raises a subclass of MailError. Errors that can be blamed on
a key holder carry its identifier(s); a proof that fails carries the reason.
"""

from __future__ import annotations


class MailError(Exception):
    """Base class of every error raised by ledger.features.mail."""


class InvalidEncoding(MailError):
    """Bytes that are not the one canonical encoding of a point, scalar, cell,
    letter, proof or share of the expected shape."""


class InvalidParameters(MailError):
    """A cell width, batch size, member list or threshold the mix cannot accept,
    or inputs of mismatched shapes (cells of different widths, a witness of
    the wrong length)."""


class InvalidRandomness(MailError):
    """The injected random source returned the wrong length or a degenerate value."""


class InvalidLetter(MailError):
    """A message too long for a cell, or decrypted points that are not the
    embedding of a well-formed letter."""


class UnreadableLetter(MailError):
    """A sealed letter that does not open with the given key (another
    recipient's letter, or bytes changed on the way)."""


class InvalidProof(MailError):
    """A proof of knowledge of encryption randomness, or a proof of shuffle,
    that does not verify; ``reason`` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidDecryptionShare(MailError):
    """Decryption shares that failed verification, or too few valid ones;
    ``identifiers`` names the key holders who sent the bad shares."""

    def __init__(self, message: str, identifiers: tuple[int, ...]) -> None:
        names = ", ".join(str(i) for i in identifiers)
        super().__init__(f"{message}: {names}" if identifiers else message)
        self.identifiers = identifiers
