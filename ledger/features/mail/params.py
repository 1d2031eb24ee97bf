"""The fixed sizes of the mix: how many points a cell holds, how many bytes
a point carries, how large a batch may be.

A cell is W points. Each point carries CHUNK_SIZE = 31 bytes (the x
coordinate is one counter byte followed by the chunk; see ``embedding``), so
a cell carries 31 * W bytes: the letter header (version, recipient address),
the ephemeral key of the end-to-end seal, the AEAD tag, a 2-byte message
length and the message padded with zeros (see ``letters``). Every cell of a
chain has the same W, so every cell looks alike.
"""

from __future__ import annotations

from typing import Final

from ledger.features.mail.errors import InvalidParameters

CHUNK_SIZE: Final = 31
"""Bytes of letter carried by one point."""

LETTER_VERSION: Final = 1
ADDRESS_SIZE: Final = 20
EPHEMERAL_KEY_SIZE: Final = 33
AEAD_TAG_SIZE: Final = 16
LENGTH_PREFIX_SIZE: Final = 2

LETTER_OVERHEAD: Final = 1 + ADDRESS_SIZE + EPHEMERAL_KEY_SIZE + AEAD_TAG_SIZE + LENGTH_PREFIX_SIZE
"""Bytes of a cell that are not message: 72."""

MIN_WIDTH: Final = 3
"""The smallest width whose cell holds the overhead and a message (21 bytes)."""

MAX_WIDTH: Final = 32
DEFAULT_WIDTH: Final = 8
"""Eight points: 248 bytes, of which 176 are message (docs/adr/0021-verifiable-mix.md)."""

MAX_BATCH: Final = 1024
"""The most cells one shuffle may hold: bounds every loop a verifier runs."""


def check_width(width: int) -> int:
    """Return width if MIN_WIDTH <= width <= MAX_WIDTH; raise InvalidParameters otherwise."""
    if type(width) is not int or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise InvalidParameters(f"cell width {width!r} is not in {MIN_WIDTH}..{MAX_WIDTH}")
    return width


def check_batch_size(count: int) -> int:
    """Return count if 1 <= count <= MAX_BATCH; raise InvalidParameters otherwise."""
    if type(count) is not int or not 1 <= count <= MAX_BATCH:
        raise InvalidParameters(f"batch size {count!r} is not in 1..{MAX_BATCH}")
    return count


def cell_bytes(width: int) -> int:
    """How many letter bytes a cell of this width carries (31 per point)."""
    return CHUNK_SIZE * check_width(width)


def message_capacity(width: int) -> int:
    """The longest message a cell of this width can seal (31 * W - 72 bytes)."""
    return cell_bytes(width) - LETTER_OVERHEAD
