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

The byte-level rules are written out in docs/spec/encoding.md.
"""

from __future__ import annotations

import threading
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


def decode(data: bytes, max_size: int = DEFAULT_MAX_SIZE) -> Value:
    """Decode canonical bytes into a value (arrays become tuples).

    Raises CodecError if ``data`` is larger than ``max_size``, malformed,
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
