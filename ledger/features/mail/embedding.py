"""Bytes to curve points and back: how a letter rides in ElGamal.

A 31-byte chunk becomes the point with x = ctr || chunk (32 bytes, the
counter byte first) and even y, for the smallest counter ctr in 0..254 that
puts x on the curve (try-and-increment). About half of all x are on the
curve, so the expected counter is 1 and the chance that all 255 fail is
2^-255. With the counter in the top byte x stays below 0xFF * 2^248, so
below the field prime, whatever the chunk.

Extraction is strict: it accepts only the one point embedding would have
produced (even y, and no smaller counter that works), so every chunk has a
single encoding and decrypted garbage is recognised as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ledger.features.mail.errors import InvalidLetter
from ledger.features.mail.params import CHUNK_SIZE
from ledger.threshold.group import FIELD_PRIME, Point

MAX_COUNTER: Final = 254
_COUNTER_UNIT: Final = 1 << (8 * CHUNK_SIZE)


def _on_curve(x: int) -> bool:
    """True if x^3 + 7 is a nonzero square mod p (secp256k1 has no point with y = 0)."""
    return pow((pow(x, 3, FIELD_PRIME) + 7) % FIELD_PRIME, (FIELD_PRIME - 1) // 2, FIELD_PRIME) == 1


def embed_chunk(chunk: bytes) -> Point:
    """The point carrying a 31-byte chunk.

    Raises InvalidLetter for a chunk of another length, or (with probability
    2^-255) if no counter works.
    """
    if len(chunk) != CHUNK_SIZE:
        raise InvalidLetter(f"a chunk is {CHUNK_SIZE} bytes")
    low = int.from_bytes(chunk, "big")
    for counter in range(MAX_COUNTER + 1):
        x = counter * _COUNTER_UNIT + low
        if _on_curve(x):
            return Point(b"\x02" + x.to_bytes(32, "big"))
    raise InvalidLetter("no counter embeds this chunk")


def extract_chunk(point: Point) -> bytes:
    """The chunk a point carries.

    Raises InvalidLetter unless the point is exactly what embed_chunk makes
    for some chunk: not the identity, even y, a counter of at most 254 and
    none smaller that would have worked.
    """
    if point.is_identity() or point.sec[0] != 2:
        raise InvalidLetter("not an embedded chunk: identity or odd y")
    counter = point.sec[1]
    if counter > MAX_COUNTER:
        raise InvalidLetter("not an embedded chunk: counter out of range")
    low = int.from_bytes(point.sec[2:], "big")
    if any(_on_curve(c * _COUNTER_UNIT + low) for c in range(counter)):
        raise InvalidLetter("not an embedded chunk: a smaller counter works")
    return point.sec[2:]


def embed_bytes(data: bytes) -> tuple[Point, ...]:
    """The points carrying data, 31 bytes each.

    Raises InvalidLetter if the length is not a multiple of 31.
    """
    if len(data) % CHUNK_SIZE:
        raise InvalidLetter(f"embedded data is a multiple of {CHUNK_SIZE} bytes")
    return tuple(embed_chunk(data[i : i + CHUNK_SIZE]) for i in range(0, len(data), CHUNK_SIZE))


def extract_bytes(points: Sequence[Point]) -> bytes:
    """The bytes the points carry. Raises InvalidLetter for any point that
    is not an embedded chunk."""
    return b"".join(extract_chunk(p) for p in points)
