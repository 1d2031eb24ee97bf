"""Field validation shared by every decoder: ranges, sizes, identifiers.

Every check raises ``DecodeError`` with the field named, so a malformed
transaction, block or record gets one clear, typed error.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

MAX_AMOUNT: Final = (1 << 128) - 1
MAX_NONCE: Final = (1 << 64) - 1
NATIVE_ASSET: Final = "coin"
_ASSET_RE: Final = re.compile(r"^[a-z][a-z0-9.\-]{0,31}\Z")
_CHAIN_ID_RE: Final = re.compile(r"^[a-z0-9][a-z0-9.\-]{0,63}\Z")


class DecodeError(ValueError):
    """Raised for bytes that are not a well-formed canonical transaction, block or record."""


def ensure(condition: bool, message: str) -> None:
    """Raise DecodeError(message) unless condition holds."""
    if not condition:
        raise DecodeError(message)


def check_amount(value: object, name: str) -> int:
    """An integer in [0, 2**128 - 1] or DecodeError."""
    ensure(type(value) is int and 0 <= value <= MAX_AMOUNT, f"{name} must be in [0, 2^128-1]")
    return value  # type: ignore[return-value]


def check_positive(value: object, name: str) -> int:
    """An amount in [1, 2**128 - 1] or DecodeError."""
    amount = check_amount(value, name)
    ensure(amount > 0, f"{name} must be positive")
    return amount


def check_uint(value: object, name: str, maximum: int = MAX_NONCE) -> int:
    """An integer in [0, maximum] or DecodeError."""
    ensure(type(value) is int and 0 <= value <= maximum, f"{name} must be in [0, {maximum}]")
    return value  # type: ignore[return-value]


def check_bytes(
    value: object, name: str, size: int | None = None, max_size: int = 1 << 20
) -> bytes:
    """Bytes of an exact size (or at most max_size) or DecodeError."""
    ensure(isinstance(value, bytes), f"{name} must be bytes")
    assert isinstance(value, bytes)
    if size is not None:
        ensure(len(value) == size, f"{name} must be {size} bytes")
    ensure(len(value) <= max_size, f"{name} exceeds {max_size} bytes")
    return value


def check_text(value: object, name: str, max_length: int = 256) -> str:
    """A string of at most max_length characters or DecodeError."""
    ensure(isinstance(value, str) and len(value) <= max_length, f"{name} must be text")
    return value  # type: ignore[return-value]


# A chain sees one chain id and a few asset ids over and over: remembering the
# answers for recent strings saves a regular-expression match per field.
@lru_cache(maxsize=1024)
def valid_asset(value: str) -> bool:
    """True iff the string ``value`` is an asset id (the rule of check_asset)."""
    return _ASSET_RE.match(value) is not None


@lru_cache(maxsize=64)
def valid_chain_id(value: str) -> bool:
    """True iff the string ``value`` is a chain id (the rule of check_chain_id)."""
    return _CHAIN_ID_RE.match(value) is not None


def check_asset(value: object) -> str:
    """An asset id: 1-32 chars of [a-z0-9.-], starting with a letter, or DecodeError."""
    ensure(isinstance(value, str) and valid_asset(value), "invalid asset id")
    return value  # type: ignore[return-value]


def check_chain_id(value: object) -> str:
    """A chain id: 1-64 chars of [a-z0-9.-], or DecodeError."""
    ensure(isinstance(value, str) and valid_chain_id(value), "invalid chain id")
    return value  # type: ignore[return-value]
