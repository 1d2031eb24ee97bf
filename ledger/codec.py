"""Canonical msgpack encoding: exactly one byte string per value.

Values are built from ``None``, ``bool``, ``int``, ``bytes``, ``str``,
``list``/``tuple`` (encoded as arrays) and ``dict`` with ``str`` keys
(encoded as maps with keys sorted by their UTF-8 bytes). Integers that fit
msgpack's 64-bit formats use the smallest format; larger ones (up to 256 bits
of magnitude) use ext type 1 (non-negative) or ext type 2 (negative) holding
the minimal big-endian magnitude. Floats are never produced or accepted.

Decoding is strict: it accepts a byte string only if re-encoding the decoded
value gives back exactly the same bytes, so non-minimal integers, str8 used
for a short string, unsorted or duplicate map keys, bin used for text and so
on are all rejected. Trailing bytes, nesting deeper than ``MAX_DEPTH`` and
inputs over the size limit are rejected too. Decoded arrays are tuples.

Bytes from the network are bounded *before* they are unpacked:
``check_limits`` walks the msgpack headers without building any value and
refuses more objects, deeper nesting or longer strings, byte strings,
arrays and maps than a ``DecodeLimits`` allows (``decode`` applies one when
given). Its cost is bounded by the limits, not by the input: 4 MiB of empty
maps is refused after ``max_objects`` steps instead of becoming millions of
dicts.

The byte-level rules are written out in docs/spec/encoding.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Final

import msgpack

MAX_DEPTH: Final = 32
DEFAULT_MAX_SIZE: Final = 4 * 1024 * 1024
EXT_POSITIVE_BIGINT: Final = 1
EXT_NEGATIVE_BIGINT: Final = 2
MAX_BIGINT_BYTES: Final = 32
_UINT64_MAX: Final = (1 << 64) - 1
_INT64_MIN: Final = -(1 << 63)

Value = Any  # None | bool | int | bytes | str | tuple[Value, ...] | dict[str, Value]


class CodecError(ValueError):
    """Raised for any value that cannot be encoded or any non-canonical bytes."""


def encode(value: Value) -> bytes:
    """Return the one canonical encoding of ``value``.

    Raises CodecError for unsupported types (floats included), non-str map
    keys, maps not in sorted key order, integers beyond 256 bits of
    magnitude and nesting beyond MAX_DEPTH.
    """
    if type(value) in _CONTAINERS:
        _check_tree(value, 0)
    elif type(value) is float:
        raise CodecError("floats are not allowed")
    return _pack(value)


def _pack(value: Value) -> bytes:
    try:
        packed: bytes = _packer().pack(value)
    except CodecError:
        raise
    except (OverflowError, TypeError, ValueError) as exc:
        raise CodecError(f"cannot encode value: {exc}") from exc
    return packed


def decode(
    data: bytes, max_size: int = DEFAULT_MAX_SIZE, limits: DecodeLimits | None = None
) -> Value:
    """Decode canonical bytes into a value (arrays become tuples).

    Raises CodecError if ``data`` is larger than ``max_size``, over
    ``limits`` (checked before unpacking, see ``check_limits``), malformed,
    has trailing bytes, contains floats or unknown ext types, nests deeper
    than MAX_DEPTH, or is not the canonical encoding of what it decodes to.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CodecError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise CodecError(f"input of {len(data)} bytes exceeds the limit of {max_size}")
    if not data:
        raise CodecError("empty input")
    if limits is not None:
        check_limits(data, limits)
    try:
        value = _unpackb(data, raw=False, use_list=False, strict_map_key=True, ext_hook=_decode_ext)
    except CodecError:
        raise
    except msgpack.ExtraData as exc:
        raise CodecError("trailing bytes after the encoded value") from exc
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        raise CodecError(f"malformed msgpack: {exc}") from exc
    if type(value) in _CONTAINERS:
        _check_tree(value, 0)
    elif type(value) is float:
        raise CodecError("floats are not allowed")
    if _pack(value) != data:
        raise CodecError("non-canonical encoding")
    return value


_unpackb = msgpack.unpackb
_local = threading.local()


def _packer() -> msgpack.Packer:
    """This thread's msgpack Packer (one per thread: a Packer holds a buffer).
    Reusing it saves building a Packer per value as msgpack.packb does; it
    packs exactly as packb and empties its buffer after a failure too."""
    try:
        packer: msgpack.Packer = _local.packer
    except AttributeError:
        packer = _local.packer = msgpack.Packer(use_bin_type=True, default=_encode_bigint)
    return packer
_CONTAINERS: Final = frozenset((tuple, list, dict))
_PLAIN: Final = frozenset((int, bytes, str, bool, type(None)))
PLAIN_TYPES: Final = _PLAIN  # the scalar types encode's tree walk lets through


# -- fast paths for fixed-shape records ------------------------------------------
#
# A record decoder that knows its shape (a transaction, an account) may skip
# decode's generic tree walk: it unpacks with ``unpack_unchecked``, checks the
# exact shape and every field itself, and accepts only if ``is_canonical``
# holds. It must fall back to the strict decode for anything else, so that
# every rejection (and its message) stays the strict path's.


def unpack_unchecked(data: bytes) -> Value | None:
    """``data`` unpacked exactly as ``decode`` unpacks it, but with none of
    decode's checks: None if msgpack cannot unpack it (or it is nil).

    Only for fast paths that then check the value's exact shape (scalars in
    tuples, no maps, no floats) and call ``is_canonical``."""
    try:
        return _unpackb(data, raw=False, use_list=False, strict_map_key=True, ext_hook=_decode_ext)
    except Exception:  # any failure sends the caller to the strict path
        return None


def is_canonical(value: Value, data: bytes) -> bool:
    """True iff ``data`` is exactly the packing of ``value``, a value whose
    shape the caller has checked (see ``unpack_unchecked``)."""
    try:
        packed: bytes = _packer().pack(value)
    except Exception:  # e.g. an integer beyond 256 bits: the strict path says why
        return False
    return packed == data


def pack_plain(value: Value) -> bytes:
    """``encode(value)`` for a value the caller has checked to hold only
    PLAIN_TYPES in tuples nested fewer than MAX_DEPTH deep (so encode's tree
    walk could not object). Raises CodecError as encode does, e.g. for an
    integer beyond 256 bits."""
    return _pack(value)


def _check_tree(value: Value, depth: int) -> None:
    """Reject floats, badly keyed or unsorted maps and nesting beyond MAX_DEPTH.
    Unsupported types and oversized integers are caught while packing."""
    if depth >= MAX_DEPTH:
        raise CodecError(f"nesting deeper than {MAX_DEPTH}")
    if type(value) is dict:
        _check_map_keys(value)
        items: Any = value.values()
    else:
        items = value
    for item in items:
        kind = type(item)
        if kind in _PLAIN:
            continue
        if kind in _CONTAINERS:
            _check_tree(item, depth + 1)
        elif kind is float:
            raise CodecError("floats are not allowed")


def _encode_bigint(obj: object) -> msgpack.ExtType:
    if isinstance(obj, int) and not isinstance(obj, bool):
        if obj > _UINT64_MAX:
            return msgpack.ExtType(EXT_POSITIVE_BIGINT, _magnitude(obj))
        if obj < _INT64_MIN:
            return msgpack.ExtType(EXT_NEGATIVE_BIGINT, _magnitude(-obj))
    if isinstance(obj, int) and not isinstance(obj, bool):
        raise CodecError("integer out of range")  # pragma: no cover - msgpack packs these
    raise CodecError(f"cannot encode {type(obj).__name__}")


def _magnitude(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(raw) > MAX_BIGINT_BYTES:
        raise CodecError(f"integer of {n.bit_length()} bits exceeds 256 bits")
    return raw


def _decode_ext(code: int, payload: bytes) -> int:
    if code not in (EXT_POSITIVE_BIGINT, EXT_NEGATIVE_BIGINT):
        raise CodecError(f"unknown ext type {code}")
    if not payload or len(payload) > MAX_BIGINT_BYTES or payload[0] == 0:
        raise CodecError("big integer magnitude is empty, too long or has a leading zero")
    magnitude = int.from_bytes(payload, "big")
    # Canonicality (the value must not fit a native format) is checked by re-encoding.
    return magnitude if code == EXT_POSITIVE_BIGINT else -magnitude


def _check_map_keys(value: dict[Any, Any]) -> None:
    keys = list(value.keys())
    if not all(isinstance(k, str) for k in keys):
        raise CodecError("map keys must be strings")
    encoded = [k.encode() for k in keys]
    if encoded != sorted(encoded):
        # Encoding must not depend on insertion order: callers pass sorted maps.
        raise CodecError("map keys must be inserted in sorted order")


# -- limits checked before unpacking ---------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """What one message of a type may hold, checked by ``check_limits``.

    ``max_objects`` counts every value (containers and scalars); ``max_depth``
    nested containers (a flat array is depth 1); ``max_array`` and
    ``max_map`` the entries of any one array or map; ``max_str``, ``max_bin``
    the bytes of any one string or byte string."""

    max_objects: int
    max_depth: int = MAX_DEPTH
    max_array: int = DEFAULT_MAX_SIZE
    max_map: int = 0
    max_str: int = DEFAULT_MAX_SIZE
    max_bin: int = DEFAULT_MAX_SIZE


# Bytes after the first byte of a fixed-size scalar, by first byte.
_SCALAR_TAIL: Final = {
    0xC0: 0, 0xC2: 0, 0xC3: 0,  # nil, false, true
    0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8,  # uint 8-64
    0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8,  # int 8-64
    0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17,  # fixext 1-16 (type byte included)
}  # fmt: skip
# First byte -> (bytes of the length field, is a str) for str8-32 and bin8-32.
_SIZED: Final = {0xC4: (1, False), 0xC5: (2, False), 0xC6: (4, False),
                 0xD9: (1, True), 0xDA: (2, True), 0xDB: (4, True)}  # fmt: skip
# First byte -> (bytes of the count field, is a map) for array16/32 and map16/32.
_CONTAINER: Final = {0xDC: (2, False), 0xDD: (4, False), 0xDE: (2, True), 0xDF: (4, True)}
_EXT: Final = {0xC7: 1, 0xC8: 2, 0xC9: 4}  # ext8-32: bytes of the length field


def check_limits(data: bytes | memoryview, limits: DecodeLimits) -> None:
    """Walk the msgpack headers of ``data`` without building any value and
    raise CodecError if it holds more than ``limits`` allows, is truncated,
    has trailing bytes, or uses a float or the reserved byte 0xc1.

    Costs at most ``limits.max_objects`` steps whatever ``data`` holds."""
    size = len(data)
    position = 0
    objects = 0
    remaining = 1  # values still to read in the innermost open container
    open_containers: list[int] = []  # what is left to read in each enclosing one
    while True:
        if remaining == 0:
            if not open_containers:
                break
            remaining = open_containers.pop()
            continue
        remaining -= 1
        objects += 1
        if objects > limits.max_objects:
            raise CodecError(f"more than {limits.max_objects} values")
        if position >= size:
            raise CodecError("truncated input")
        first = data[position]
        position += 1
        if first < 0x80 or first >= 0xE0:  # positive or negative fixint
            continue
        count = -1
        is_map = False
        if first < 0x90:
            count, is_map = first & 0x0F, True
        elif first < 0xA0:
            count = first & 0x0F
        elif first < 0xC0:
            length = first & 0x1F
            if length > limits.max_str:
                raise CodecError(f"a string longer than {limits.max_str} bytes")
            position += length
        elif first in _SCALAR_TAIL:
            position += _SCALAR_TAIL[first]
        elif first in _SIZED:
            width, is_str = _SIZED[first]
            length = int.from_bytes(data[position : position + width], "big")
            limit = limits.max_str if is_str else limits.max_bin
            if length > limit:
                kind = "string" if is_str else "byte string"
                raise CodecError(f"a {kind} longer than {limit} bytes")
            position += width + length
        elif first in _CONTAINER:
            width, is_map = _CONTAINER[first]
            count = int.from_bytes(data[position : position + width], "big")
            position += width
        elif first in _EXT:
            width = _EXT[first]
            length = int.from_bytes(data[position : position + width], "big")
            if length > MAX_BIGINT_BYTES:  # the only ext values are big integers
                raise CodecError(f"an ext value longer than {MAX_BIGINT_BYTES} bytes")
            position += width + 1 + length
        else:  # 0xc1 (never used) and the floats 0xca, 0xcb
            raise CodecError(f"byte {first:#04x} starts no allowed value")
        if count < 0:
            continue
        limit = limits.max_map if is_map else limits.max_array
        if count > limit:
            kind = "map" if is_map else "array"
            raise CodecError(f"a {kind} of more than {limit} entries")
        if count:
            if len(open_containers) + 1 > limits.max_depth:
                raise CodecError(f"nesting deeper than {limits.max_depth}")
            open_containers.append(remaining)
            remaining = 2 * count if is_map else count
    if position != size:
        raise CodecError("truncated input" if position > size else "trailing bytes")
