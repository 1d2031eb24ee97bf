"""Addresses: 20 bytes derived from a public key, written as bech32m text.

``address_of(public_key) = SHA-256(compressed public key)[:20]``. The text
form is bech32m (BIP-350) with the human-readable part ``lg``, e.g.
``lg1...``: its BCH checksum detects every single mistyped character (and
any error burst up to four characters), and it is case-insensitive but never
mixed-case. Contract and policy-account addresses are derived the same way
from their own preimages (documented where they are defined).
"""

from __future__ import annotations

from typing import Final

from ledger.crypto import sha256
from ledger.fields import check_bytes

ADDRESS_SIZE: Final = 20
HRP: Final = "lg"
_CHARSET: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST: Final = 0x2BC830A3
_GENERATORS: Final = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class AddressError(ValueError):
    """Raised for text that is not a valid address (bad checksum, prefix, length, characters)."""


def address_of(public_key: bytes) -> bytes:
    """The 20-byte address of a 33-byte compressed public key."""
    return sha256(public_key)[:ADDRESS_SIZE]


def check_address(value: object, name: str) -> bytes:
    """A 20-byte address field of a decoded body, or DecodeError."""
    return check_bytes(value, name, ADDRESS_SIZE)


def derive_address(domain: str, preimage: bytes) -> bytes:
    """A 20-byte address for a non-key account (contract, policy): SHA-256 of
    a domain string, a zero byte and the preimage, truncated."""
    return sha256(domain.encode() + b"\x00" + preimage)[:ADDRESS_SIZE]


def encode_address(address: bytes) -> str:
    """The bech32m text form of a 20-byte address."""
    if len(address) != ADDRESS_SIZE:
        raise AddressError(f"an address is {ADDRESS_SIZE} bytes")
    data = _convert_bits(address, 8, 5, pad=True)
    checksum = _create_checksum(HRP, data)
    return HRP + "1" + "".join(_CHARSET[d] for d in data + checksum)


def decode_address(text: str) -> bytes:
    """The 20 bytes behind a bech32m address. Raises AddressError."""
    if not isinstance(text, str) or not 8 <= len(text) <= 90:
        raise AddressError("an address is a string of 8 to 90 characters")
    if text.lower() != text and text.upper() != text:
        raise AddressError("mixed-case address")
    text = text.lower()
    hrp, sep, rest = text.rpartition("1")
    if not sep or hrp != HRP:
        raise AddressError(f"address must start with '{HRP}1'")
    if len(rest) < 6 or any(c not in _CHARSET for c in rest):
        raise AddressError("address has characters outside the bech32 alphabet")
    data = [_CHARSET.index(c) for c in rest]
    if _polymod(_expand_hrp(hrp) + data) != _BECH32M_CONST:
        raise AddressError("address checksum mismatch (a character is mistyped)")
    decoded = _convert_bits(data[:-6], 5, 8, pad=False)
    if len(decoded) != ADDRESS_SIZE:
        raise AddressError(f"an address is {ADDRESS_SIZE} bytes")
    return bytes(decoded)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATORS):
            if (top >> i) & 1:
                chk ^= generator
    return chk


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int]) -> list[int]:
    polymod = _polymod(_expand_hrp(hrp) + data + [0] * 6) ^ _BECH32M_CONST
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad and bits:
        out.append((acc << (to_bits - bits)) & max_value)
    elif not pad and (bits >= from_bits or (acc << (to_bits - bits)) & max_value):
        raise AddressError("address has invalid padding")
    return out
