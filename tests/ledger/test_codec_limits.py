"""codec.check_limits: bounds on what a message may hold, checked before
unpacking (issue 14 section 3). It agrees with the real structure of every
canonical value, refuses anything over a limit, and its cost is bounded by
the limits whatever the input holds."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.codec import CodecError, DecodeLimits, check_limits

from .test_codec import values

GENEROUS = DecodeLimits(max_objects=10_000, max_map=1_000)


def _shape(value: Any, depth: int = 0) -> tuple[int, int, int, int, int, int]:
    """(objects, depth, longest array, largest map, longest str, longest bin)."""
    if isinstance(value, tuple | dict):
        items = list(value.items()) if isinstance(value, dict) else list(value)
        children = [c for item in items for c in (item if isinstance(value, dict) else (item,))]
        shapes = [_shape(child, depth + 1) for child in children]
        nested = 1 + max([s[1] for s in shapes], default=0) if items else 0
        return (
            1 + sum(s[0] for s in shapes),
            nested,
            max([len(items) if isinstance(value, tuple) else 0, *(s[2] for s in shapes)]),
            max([len(items) if isinstance(value, dict) else 0, *(s[3] for s in shapes)]),
            max([0, *(s[4] for s in shapes)]),
            max([0, *(s[5] for s in shapes)]),
        )
    if isinstance(value, str):
        return (1, 0, 0, 0, len(value.encode()), 0)
    if isinstance(value, bytes):
        return (1, 0, 0, 0, 0, len(value))
    return (1, 0, 0, 0, 0, 0)


@settings(max_examples=300)
@given(values)
def test_exact_limits_accept_and_one_less_refuses(value: object) -> None:
    data = codec.encode(value)
    objects, depth, array, map_, string, binary = _shape(value)
    exact = DecodeLimits(objects, max(depth, 1), array, map_, string, binary)
    check_limits(data, exact)
    assert codec.decode(data, limits=exact) == value
    tighter = [
        DecodeLimits(objects - 1, max(depth, 1), array, map_, string, binary),
        DecodeLimits(objects, depth - 1, array, map_, string, binary) if depth > 1 else None,
        DecodeLimits(objects, max(depth, 1), array - 1, map_, string, binary) if array else None,
        DecodeLimits(objects, max(depth, 1), array, map_ - 1, string, binary) if map_ else None,
        DecodeLimits(objects, max(depth, 1), array, map_, string - 1, binary) if string else None,
        DecodeLimits(objects, max(depth, 1), array, map_, string, binary - 1) if binary else None,
    ]
    for limits in tighter:
        if limits is not None:
            with pytest.raises(CodecError):
                check_limits(data, limits)


@given(values, st.data())
def test_invalid_truncated_or_extended_input_is_refused(value: object, data: st.DataObject) -> None:
    encoded = codec.encode(value)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(CodecError):
        check_limits(encoded[:cut], GENEROUS)
    with pytest.raises(CodecError):
        check_limits(encoded + b"\x00", GENEROUS)


@given(st.binary(max_size=300))
def test_any_bytes_give_a_codec_error_or_pass(data: bytes) -> None:
    with contextlib.suppress(CodecError):
        check_limits(data, GENEROUS)


def test_invalid_four_million_empty_maps_cost_a_few_steps() -> None:
    frame = b"\x92\x20\xdd" + (4_000_000).to_bytes(4, "big") + b"\x80" * 4_000_000
    steps = DecodeLimits(max_objects=3, max_map=0)
    with pytest.raises(CodecError, match="more than 3 values"):
        check_limits(frame, steps)
    with pytest.raises(CodecError, match="more than 3 values"):
        codec.decode(frame, max_size=8 << 20, limits=steps)
    nested = b"\x91" * 40 + b"\x80"
    with pytest.raises(CodecError, match="nesting deeper than 32"):
        check_limits(nested, DecodeLimits(max_objects=100, max_map=1))


def test_invalid_floats_and_the_reserved_byte_are_refused() -> None:
    for data in (b"\xca" + bytes(4), b"\xcb" + bytes(8), b"\xc1", b"\x91\xc1"):
        with pytest.raises(CodecError):
            check_limits(data, GENEROUS)
