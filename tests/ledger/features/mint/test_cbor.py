"""The strict CBOR subset: round trips, and everything outside it refused
without unbounded work."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.features.mint.cbor import decode_cbor, encode_cbor
from ledger.features.mint.errors import InvalidToken

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(value=values)
def test_round_trip(value: object) -> None:
    assert decode_cbor(encode_cbor(value), max_depth=64) == value


def test_shortest_forms_as_rfc_8949_examples() -> None:
    # Encodings from RFC 8949 Appendix A.
    assert encode_cbor(0) == bytes.fromhex("00")
    assert encode_cbor(23) == bytes.fromhex("17")
    assert encode_cbor(24) == bytes.fromhex("1818")
    assert encode_cbor(1000) == bytes.fromhex("1903e8")
    assert encode_cbor(1000000000000) == bytes.fromhex("1b000000e8d4a51000")
    assert encode_cbor(-1000) == bytes.fromhex("3903e7")
    assert encode_cbor(-(2**64)) == bytes.fromhex("3bffffffffffffffff")
    assert encode_cbor("IETF") == bytes.fromhex("6449455446")
    assert encode_cbor([1, [2, 3], [4, 5]]) == bytes.fromhex("8301820203820405")
    assert encode_cbor({"a": 1, "b": [2, 3]}) == bytes.fromhex("a26161016162820203")
    assert encode_cbor(None) == bytes.fromhex("f6")
    for bad in (2**64, -(2**64) - 1, 1.5, {1: 2}, object()):
        with pytest.raises(ValueError):
            encode_cbor(bad)


@pytest.mark.parametrize(
    "hex_input",
    [
        "c11a514b67b0",  # tag 1 (epoch time)
        "d8258568656c6c6f",  # tag 37 (UUID) over garbage
        "f93c00",  # half float
        "fb3ff199999999999a",  # double
        "f7",  # undefined
        "f820",  # simple value 32
        "5f42010243030405ff",  # indefinite byte string
        "9fff",  # indefinite array
        "bf6161ff",  # indefinite map
        "1c",  # reserved additional info
        "a201020304",  # integer map keys
        "a2616101616102",  # repeated key
        "62c328",  # invalid UTF-8
        "1b",  # truncated argument
        "5a7fffffff",  # byte string longer than the input
        "9b00000000ffffffff",  # array count beyond the input
        "0000",  # trailing byte
        "",
    ],
)
def test_outside_the_subset_is_refused(hex_input: str) -> None:
    with pytest.raises(InvalidToken):
        decode_cbor(bytes.fromhex(hex_input), max_depth=16)


def test_nesting_is_bounded() -> None:
    assert decode_cbor(bytes.fromhex("81" * 16 + "00"), max_depth=16) == eval(
        "[" * 16 + "0" + "]" * 16
    )
    with pytest.raises(InvalidToken, match="deep"):
        decode_cbor(bytes.fromhex("81" * 17 + "00"), max_depth=16)
    with pytest.raises(InvalidToken):
        decode_cbor(b"\x81" * 100_000, max_depth=16)
