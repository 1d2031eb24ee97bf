"""Canonical encoding: round trips, uniqueness, and every rejection rule."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.codec import CodecError, decode, encode
from tests.hypothesis_profiles import examples

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 256) + 1, max_value=(1 << 256) - 1)
    | st.binary(max_size=64)
    | st.text(max_size=32)
)


def _sorted_dict(items: dict[str, object]) -> dict[str, object]:
    return {k: items[k] for k in sorted(items, key=lambda k: k.encode())}


values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6).map(tuple)
        | st.dictionaries(st.text(max_size=8), children, max_size=6).map(_sorted_dict)
    ),
    max_leaves=30,
)


@given(values)
def test_round_trip(value: object) -> None:
    assert decode(encode(value)) == value


@given(values)
def test_encoding_is_a_function_of_the_value(value: object) -> None:
    assert encode(value) == encode(decode(encode(value)))


def _wide_encoding(value: object, draw_width: st.DrawFn) -> bytes:
    """Another valid msgpack encoding of ``value``: integers, strings, bytes,
    arrays and maps in a randomly chosen, possibly non-minimal, width."""
    import struct

    if isinstance(value, bool) or value is None:
        return msgpack.packb(value)
    if isinstance(value, int):
        if 0 <= value < 1 << 64:
            fits = [
                (b"\xcc", "B", 8),
                (b"\xcd", ">H", 16),
                (b"\xce", ">I", 32),
                (b"\xcf", ">Q", 64),
            ]
            options = [(p, f) for p, f, bits in fits if value < 1 << bits]
        elif -(1 << 63) <= value < 0:
            fits = [
                (b"\xd0", "b", 8),
                (b"\xd1", ">h", 16),
                (b"\xd2", ">i", 32),
                (b"\xd3", ">q", 64),
            ]
            options = [(p, f) for p, f, bits in fits if value >= -(1 << (bits - 1))]
        else:
            return encode(value)
        prefix, fmt = draw_width(st.sampled_from(options))
        return prefix + struct.pack(fmt, value)
    if isinstance(value, str | bytes):
        raw = value.encode() if isinstance(value, str) else value
        heads = (
            [b"\xd9", b"\xda", b"\xdb"] if isinstance(value, str) else [b"\xc4", b"\xc5", b"\xc6"]
        )
        head = draw_width(st.sampled_from(heads))
        size = {0: 1, 1: 2, 2: 4}[heads.index(head)]
        return head + len(raw).to_bytes(size, "big") + raw
    if isinstance(value, tuple):
        head = draw_width(st.sampled_from([b"\xdc", b"\xdd"]))
        size = 2 if head == b"\xdc" else 4
        return (
            head
            + len(value).to_bytes(size, "big")
            + b"".join(_wide_encoding(v, draw_width) for v in value)
        )
    assert isinstance(value, dict)
    head = draw_width(st.sampled_from([b"\xde", b"\xdf"]))
    size = 2 if head == b"\xde" else 4
    body = b"".join(
        _wide_encoding(k, draw_width) + _wide_encoding(v, draw_width) for k, v in value.items()
    )
    return head + len(value).to_bytes(size, "big") + body


@given(values, st.data())
@settings(max_examples=examples(400))
def test_no_second_encoding_of_a_value_is_accepted(value: object, data: st.DataObject) -> None:
    alternative = _wide_encoding(value, data.draw)
    if alternative == encode(value):
        return
    with pytest.raises(CodecError):
        decode(alternative)


@given(st.binary(max_size=200))
@settings(max_examples=examples(2000))
def test_arbitrary_bytes_decode_or_raise_codec_error(data: bytes) -> None:
    try:
        value = decode(data)
    except CodecError:
        return
    assert encode(value) == data


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\xcc\x01", "uint8 for a fixint"),
        (b"\xd0\x01", "int8 for a positive fixint"),
        (b"\xcd\x00\x10", "uint16 for a fixint"),
        (b"\xd9\x01a", "str8 for a fixstr"),
        (b"\xc5\x00\x01a", "bin16 for a short bin"),
        (b"\xdc\x00\x01\x01", "array16 for a fixarray"),
        (b"\x82\xa1b\x01\xa1a\x02", "unsorted map keys"),
        (b"\x82\xa1a\x01\xa1a\x02", "duplicate map keys"),
        (b"\x81\x01\x02", "integer map key"),
        (b"\xca\x00\x00\x00\x00", "float32"),
        (b"\xcb" + bytes(8), "float64"),
        (b"\x01\x02", "trailing bytes"),
        (b"", "empty input"),
        (b"\xc4\x05ab", "truncated bin"),
        (b"\xd4\x05\x00", "unknown ext type"),
        (b"\xd5\x01\x00\x01", "bigint with a leading zero"),
        (b"\xd4\x01\x05", "bigint ext for a value that fits a fixint"),
        (b"\xc7\x08\x01" + b"\xff" * 8, "bigint ext for a value that fits uint64"),
        (b"\xc1", "reserved byte"),
        (b"\x91" * (codec.MAX_DEPTH + 2) + b"\x01", "nesting too deep"),
    ],
)
def test_invalid_encodings_are_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(CodecError):
        decode(data)


def test_invalid_size_limit() -> None:
    data = encode(b"x" * 100)
    with pytest.raises(CodecError):
        decode(data, max_size=50)


@pytest.mark.parametrize("value", [1.5, {1: 2}, {"b": 1, "a": 2}, object(), 1 << 256, -(1 << 256)])
def test_invalid_values_cannot_be_encoded(value: object) -> None:
    with pytest.raises(CodecError):
        encode(value)


def test_known_answers() -> None:
    """Fixed bytes for fixed values: a change here breaks every client."""
    assert encode(0).hex() == "00"
    assert encode(-1).hex() == "ff"
    assert encode((1 << 64) - 1).hex() == "cfffffffffffffffff"
    assert encode(1 << 64).hex() == "c70901010000000000000000"
    assert encode(-(1 << 63) - 1).hex() == "d7028000000000000001"
    assert encode(b"ab").hex() == "c4026162"
    assert encode("x").hex() == "a178"
    assert encode({"a": 1, "b": (1, 2)}).hex() == "82a16101a162920102"
