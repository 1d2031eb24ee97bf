"""The subset of CBOR (RFC 8949) that Cashu V4 tokens use, decoded strictly
and within bounds.

Accepted: unsigned and negative integers up to 64 bits, byte strings, UTF-8
text strings, arrays and maps of definite length, false, true and null.
Refused with InvalidToken: tags, floats, other simple values, indefinite
lengths, invalid UTF-8, map keys that are not text or that repeat, nesting
deeper than ``max_depth``, declared lengths beyond the remaining input, and
trailing bytes. Since every item takes at least one byte, a declared count
can never make the decoder allocate more than the input's size.

A general CBOR library decodes tags into arbitrary objects (regular
expressions, shared references that make cycles, big integers of any size);
none of that belongs in a token, so this module does not go near it.
Encoding writes the shortest length forms, maps in the order given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .errors import InvalidToken

CborValue = int | bytes | str | bool | None | list["CborValue"] | dict[str, "CborValue"]

_UINT, _NINT, _BYTES, _TEXT, _ARRAY, _MAP, _TAG, _SIMPLE = range(8)
_FALSE, _TRUE, _NULL = 20, 21, 22


class _Reader:
    def __init__(self, data: bytes, max_depth: int) -> None:
        self.data = data
        self.position = 0
        self.max_depth = max_depth

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.position:
            raise InvalidToken("CBOR item runs past the end of the input")
        chunk = self.data[self.position : self.position + n]
        self.position += n
        return chunk

    def head(self) -> tuple[int, int, int]:
        """(major type, additional info, argument) of the next item."""
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info, info
        if info in (24, 25, 26, 27):
            size = 1 << (info - 24)
            return major, info, int.from_bytes(self.take(size), "big")
        raise InvalidToken("CBOR indefinite lengths and reserved forms are not accepted")

    def length(self, argument: int) -> int:
        if argument > len(self.data) - self.position:
            raise InvalidToken("CBOR length exceeds the remaining input")
        return argument

    def item(self, depth: int) -> CborValue:
        if depth > self.max_depth:
            raise InvalidToken("CBOR nesting is too deep")
        major, info, argument = self.head()
        if major == _UINT:
            return argument
        if major == _NINT:
            return -1 - argument
        if major == _BYTES:
            return self.take(self.length(argument))
        if major == _TEXT:
            try:
                return self.take(self.length(argument)).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidToken("CBOR text is not valid UTF-8") from None
        if major == _ARRAY:
            return [self.item(depth + 1) for _ in range(self.length(argument))]
        if major == _MAP:
            result: dict[str, CborValue] = {}
            for _ in range(self.length(argument)):
                key = self.item(depth + 1)
                if not isinstance(key, str):
                    raise InvalidToken("CBOR map keys must be text")
                if key in result:
                    raise InvalidToken(f"CBOR map key {key!r} repeats")
                result[key] = self.item(depth + 1)
            return result
        if major == _SIMPLE and info in (_FALSE, _TRUE, _NULL):
            return {_FALSE: False, _TRUE: True, _NULL: None}[info]
        raise InvalidToken("CBOR tags, floats and other simple values are not accepted")


def decode_cbor(data: bytes, max_depth: int) -> CborValue:
    """Decode exactly one CBOR item filling data.

    Raises InvalidToken for anything outside the subset (see the module
    docstring), for truncated input and for trailing bytes.
    """
    reader = _Reader(data, max_depth)
    value = reader.item(0)
    if reader.position != len(data):
        raise InvalidToken("trailing bytes after the CBOR item")
    return value


def _head(major: int, argument: int) -> bytes:
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise ValueError("CBOR integers and lengths are below 2^64")


def encode_cbor(value: object) -> bytes:
    """Encode a value of the subset with the shortest length forms.

    Raises ValueError for anything else (a caller's bug, not bad input).
    """
    if value is None or isinstance(value, bool):
        return bytes([_SIMPLE << 5 | {False: _FALSE, True: _TRUE, None: _NULL}[value]])
    if isinstance(value, int):
        return _head(_UINT, value) if value >= 0 else _head(_NINT, -1 - value)
    if isinstance(value, bytes):
        return _head(_BYTES, len(value)) + value
    if isinstance(value, str):
        encoded = value.encode("utf-8")
        return _head(_TEXT, len(encoded)) + encoded
    if isinstance(value, Mapping):
        parts = [_head(_MAP, len(value))]
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("CBOR map keys must be text here")
            parts += [encode_cbor(key), encode_cbor(item)]
        return b"".join(parts)
    if isinstance(value, Sequence):
        return _head(_ARRAY, len(value)) + b"".join(encode_cbor(v) for v in value)
    raise ValueError(f"cannot encode {type(value).__name__} as CBOR")
