"""Denominations, amount splitting and keyset ids (NUT-02).

A keyset is one public key per amount (the denominations: powers of two up
to a chain parameter) under a unit. Its id is derived from public data, so a
wallet recomputes it to check what the mint says:

- V2 (NUT-02's current version, byte 01): "01" || hex SHA-256 of
  "amount:pubkey_hex" pairs in ascending amount joined by ",", then
  "|unit:<unit>", then "|input_fee_ppk:<n>" if n is nonzero, then
  "|final_expiry:<t>" if t is given and nonzero (66 hex characters).
- V1 (deprecated by NUT-02, still what Nutshell 0.19 derives): "00" || the
  first 14 hex characters of SHA-256 over the compressed keys concatenated in
  ascending amount (16 hex characters).

V4 tokens may carry a V2 id in short form: its first 8 bytes (16 hex
characters, starting "01"); the receiver resolves it against the keysets it
knows and must fail on an ambiguous one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledger.threshold.errors import InvalidParameters
from ledger.threshold.group import Point

from .errors import InvalidKeyset

MAX_EXPONENT = 63
"""The largest denomination is 2^63: amounts stay below 2^64."""
MAX_UNIT_LENGTH = 32
KEYSET_ID_V1_LENGTH = 16
KEYSET_ID_V2_LENGTH = 66
SHORT_KEYSET_ID_LENGTH = 16


def denominations(max_exponent: int) -> tuple[int, ...]:
    """The amounts 1, 2, 4, ..., 2^max_exponent.

    Raises InvalidParameters unless 0 <= max_exponent <= MAX_EXPONENT.
    """
    if not 0 <= max_exponent <= MAX_EXPONENT:
        raise InvalidParameters(f"max_exponent must be in 0..{MAX_EXPONENT}")
    return tuple(1 << e for e in range(max_exponent + 1))


def split_amount(amount: int, max_exponent: int, max_notes: int) -> tuple[int, ...]:
    """The fewest notes of denominations up to 2^max_exponent that add up to
    amount, ascending: the binary digits, plus as many of the largest
    denomination as the amount needs beyond them.

    Raises InvalidParameters for a non-positive amount, a bad max_exponent,
    or if more than max_notes notes would be needed.
    """
    largest = denominations(max_exponent)[-1]
    if amount <= 0:
        raise InvalidParameters("an amount to split must be positive")
    whole, rest = divmod(amount, largest)
    count = whole + rest.bit_count()
    if count > max_notes:
        raise InvalidParameters(f"{amount} needs {count} notes, more than {max_notes}")
    small = tuple(1 << e for e in range(rest.bit_length()) if rest >> e & 1)
    return small + (largest,) * whole


def check_unit(unit: str) -> str:
    """Return unit if it is 1..MAX_UNIT_LENGTH lowercase ASCII letters,
    digits or underscores. Raises InvalidKeyset otherwise."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789_")
    if not 0 < len(unit) <= MAX_UNIT_LENGTH or not set(unit) <= allowed:
        raise InvalidKeyset(f"unit {unit!r} is not 1..{MAX_UNIT_LENGTH} of [a-z0-9_]")
    return unit


def _sorted_keys(keys: Mapping[int, Point]) -> list[tuple[int, Point]]:
    if not keys:
        raise InvalidKeyset("a keyset has at least one key")
    for amount, key in keys.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidKeyset(f"amount {amount!r} is not a positive integer")
        if key.is_identity():
            raise InvalidKeyset(f"the key for amount {amount} is the identity")
    return sorted(keys.items())


def keyset_id_v1(keys: Mapping[int, Point]) -> str:
    """The deprecated V1 keyset id (NUT-02): 16 hex characters, "00" first.

    Raises InvalidKeyset for an empty keyset, a non-positive amount or an
    identity key.
    """
    concatenated = b"".join(key.sec for _, key in _sorted_keys(keys))
    return "00" + hashlib.sha256(concatenated).hexdigest()[:14]


def keyset_id_v2(
    keys: Mapping[int, Point], unit: str, input_fee_ppk: int = 0, final_expiry: int | None = None
) -> str:
    """The V2 keyset id (NUT-02): 66 hex characters, "01" first.

    Raises InvalidKeyset for an empty keyset, a non-positive amount, an
    identity key, a bad unit, or a negative fee or expiry.
    """
    check_unit(unit)
    if input_fee_ppk < 0 or (final_expiry is not None and final_expiry < 0):
        raise InvalidKeyset("fee and expiry cannot be negative")
    preimage = ",".join(f"{amount}:{key.sec.hex()}" for amount, key in _sorted_keys(keys))
    preimage += f"|unit:{unit}"
    if input_fee_ppk:
        preimage += f"|input_fee_ppk:{input_fee_ppk}"
    if final_expiry:
        preimage += f"|final_expiry:{final_expiry}"
    return "01" + hashlib.sha256(preimage.encode("utf-8")).hexdigest()


def check_keyset_id(keyset_id: str) -> str:
    """Return keyset_id if it has the form of a V1 id, a V2 id or a short V2
    id: lowercase hex, "00" with 16 characters, or "01" with 66 or 16.
    Raises InvalidKeyset otherwise (including the pre-V1 base64 ids)."""
    is_hex = all(c in "0123456789abcdef" for c in keyset_id)
    v1 = keyset_id.startswith("00") and len(keyset_id) == KEYSET_ID_V1_LENGTH
    v2 = keyset_id.startswith("01") and len(keyset_id) in (
        KEYSET_ID_V2_LENGTH,
        SHORT_KEYSET_ID_LENGTH,
    )
    if not (is_hex and (v1 or v2)):
        raise InvalidKeyset(f"{keyset_id!r} is not a V1, V2 or short V2 keyset id")
    return keyset_id


def short_keyset_id(keyset_id: str) -> str:
    """The short form of a V2 id (its first 8 bytes); a V1 id is its own
    short form. Raises InvalidKeyset for a malformed id."""
    return check_keyset_id(keyset_id)[:SHORT_KEYSET_ID_LENGTH]


def resolve_keyset_id(keyset_id: str, known: Iterable[str]) -> str:
    """The full id among ``known`` that keyset_id names (itself, or the one
    V2 id it is the short form of).

    Raises InvalidKeyset if it names none or, as NUT-02 requires, more than one.
    """
    check_keyset_id(keyset_id)
    matches = sorted(
        {k for k in known if k == keyset_id or k[:SHORT_KEYSET_ID_LENGTH] == keyset_id}
    )
    if len(matches) != 1:
        reason = "an unknown" if not matches else "an ambiguous"
        raise InvalidKeyset(f"{keyset_id} is {reason} keyset id")
    return matches[0]


@dataclass(frozen=True)
class Keyset:
    """The public side of a mint keyset: unit, one key per amount (sorted
    ascending), fee and final expiry; ``id`` is its V2 keyset id.

    Raises InvalidKeyset on construction for anything keyset_id_v2 rejects.
    """

    unit: str
    keys: tuple[tuple[int, Point], ...]
    input_fee_ppk: int = 0
    final_expiry: int | None = None

    def __post_init__(self) -> None:
        mapping = dict(self.keys)
        if len(mapping) != len(self.keys):
            raise InvalidKeyset("an amount appears twice in the keyset")
        object.__setattr__(self, "keys", tuple(_sorted_keys(mapping)))
        keyset_id_v2(mapping, self.unit, self.input_fee_ppk, self.final_expiry)

    @property
    def id(self) -> str:
        """The V2 keyset id."""
        return keyset_id_v2(dict(self.keys), self.unit, self.input_fee_ppk, self.final_expiry)

    @property
    def amounts(self) -> tuple[int, ...]:
        """The amounts, ascending."""
        return tuple(amount for amount, _ in self.keys)

    def key_for(self, amount: int) -> Point:
        """The public key for an amount. Raises InvalidKeyset if there is none."""
        for a, key in self.keys:
            if a == amount:
                return key
        raise InvalidKeyset(f"no key for amount {amount} in this keyset")
