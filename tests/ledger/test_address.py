"""Addresses: derivation, bech32m text form, and mistyped characters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.address import AddressError, address_of, decode_address, encode_address
from ledger.crypto import SigningKey, sha256
from tests.hypothesis_profiles import examples

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


@given(st.binary(min_size=20, max_size=20))
def test_round_trip(address: bytes) -> None:
    text = encode_address(address)
    assert text.startswith("lg1")
    assert decode_address(text) == address
    assert decode_address(text.upper()) == address


@given(st.binary(min_size=20, max_size=20), st.data())
@settings(max_examples=examples(300))
def test_any_single_mistyped_character_is_caught(address: bytes, data: st.DataObject) -> None:
    text = encode_address(address)
    position = data.draw(st.integers(3, len(text) - 1))  # after the "lg1" prefix
    replacement = data.draw(st.sampled_from([c for c in CHARSET if c != text[position]]))
    mistyped = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(AddressError):
        decode_address(mistyped)


def test_address_is_the_hash_of_the_compressed_key() -> None:
    key = SigningKey(bytes(31) + b"\x07")
    assert address_of(key.public_key) == sha256(key.public_key)[:20]
    assert encode_address(address_of(key.public_key)) == "lg15gpeg2w295hjhnq8yksks2hwavavrw88r7xxcq"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "lg1",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # another prefix
        "Lg15gpeg2w295hjhnq8yksks2hwavavrw88r7xxcq",  # mixed case
        "lg15gpeg2w295hjhnq8yksks2hwavavrw88r7xxcb",  # bad checksum
        "lg15gpeg2w295hjhnq8yksks2hwavavrw88r7xxc",  # truncated
        "lg1ibpeg2w295hjhnq8yksks2hwavavrw88r7xxcq",  # 'i' and 'b' are not bech32
        "lg1" + "q" * 100,
    ],
)
def test_invalid_addresses(text: str) -> None:
    with pytest.raises(AddressError):
        decode_address(text)


def test_invalid_address_length_is_rejected_on_encode() -> None:
    with pytest.raises(AddressError):
        encode_address(b"\x00" * 19)
