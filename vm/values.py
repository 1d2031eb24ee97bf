"""Machine values: unsigned 256-bit integers and byte strings.

A value is a Python `int` in [0, 2**256) or a `bytes` of at most
MAX_BYTES_LENGTH bytes. Nothing else ever sits on the stack (no bool, no
bytearray, no float). Both kinds are immutable, so copies are free.

Outside the machine (module constants, events, messages, results) a value is
written as a two-element msgpack array `[tag, bytes]`: tag 0 for an integer
in minimal big-endian form (zero is the empty string), tag 1 for bytes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from vm.limits import MAX_BYTES_LENGTH, MAX_UINT

Value: TypeAlias = int | bytes

TAG_INT = 0
TAG_BYTES = 1


class ValueType(StrEnum):
    """The static type of a stack slot; the value is its assembly name."""

    INT = "int"
    BYTES = "bytes"

    @property
    def letter(self) -> str:
        """The one-letter code used in the module encoding ('i' or 'b')."""
        return "i" if self is ValueType.INT else "b"


TYPE_BY_LETTER = {"i": ValueType.INT, "b": ValueType.BYTES}


def is_value(obj: object) -> bool:
    """Whether `obj` is exactly a machine value (type and range)."""
    if type(obj) is int:
        return 0 <= obj <= MAX_UINT
    if type(obj) is bytes:
        return len(obj) <= MAX_BYTES_LENGTH
    return False


def type_of(value: Value) -> ValueType:
    """The ValueType of a machine value."""
    return ValueType.INT if type(value) is int else ValueType.BYTES


def encode_value(value: Value) -> list[int | bytes]:
    """The msgpack-ready `[tag, bytes]` form of a value."""
    if type(value) is int:
        return [TAG_INT, value.to_bytes((value.bit_length() + 7) // 8, "big")]
    assert type(value) is bytes
    return [TAG_BYTES, value]


def decode_value(obj: object) -> Value:
    """The value held by a decoded `[tag, bytes]` form.

    Raises ValueError if `obj` is not a canonical tagged value.
    """
    if type(obj) is not list or len(obj) != 2:
        raise ValueError("a value must be a [tag, bytes] pair")
    tag, payload = obj
    if type(payload) is not bytes:
        raise ValueError("a value's payload must be bytes")
    if tag == TAG_INT and type(tag) is int:
        if len(payload) > 32 or payload[:1] == b"\x00":
            raise ValueError("an integer must be at most 32 bytes, minimal big-endian")
        return int.from_bytes(payload, "big")
    if tag == TAG_BYTES and type(tag) is int:
        if len(payload) > MAX_BYTES_LENGTH:
            raise ValueError(f"a byte string must be at most {MAX_BYTES_LENGTH} bytes")
        return payload
    raise ValueError(f"unknown value tag {tag!r}")
