"""Bytes in points: every chunk embeds, extraction gives it back, and only
the one canonical point per chunk is accepted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.mail import embedding
from ledger.features.mail.errors import InvalidLetter
from ledger.features.mail.params import CHUNK_SIZE
from ledger.threshold import group
from ledger.threshold.group import FIELD_PRIME, IDENTITY, Point, decode_element

chunks = st.binary(min_size=CHUNK_SIZE, max_size=CHUNK_SIZE)


@settings(max_examples=200, deadline=None)
@given(chunk=chunks)
def test_every_chunk_embeds_on_the_curve_and_comes_back(chunk: bytes) -> None:
    point = embedding.embed_chunk(chunk)
    assert decode_element(point.sec) == point
    assert point.sec[0] == 2 and point.sec[2:] == chunk
    assert embedding.extract_chunk(point) == chunk


def test_extreme_chunks() -> None:
    for chunk in (bytes(CHUNK_SIZE), b"\xff" * CHUNK_SIZE, b"\x00" * 30 + b"\x01"):
        point = embedding.embed_chunk(chunk)
        assert decode_element(point.sec) == point
        assert embedding.extract_chunk(point) == chunk


def test_bytes_round_trip() -> None:
    data = bytes(range(CHUNK_SIZE * 3))
    points = embedding.embed_bytes(data)
    assert len(points) == 3
    assert embedding.extract_bytes(points) == data


def _chunk_with_counter_at_least(minimum: int) -> tuple[bytes, Point]:
    for n in range(10_000):
        chunk = n.to_bytes(CHUNK_SIZE, "big")
        point = embedding.embed_chunk(chunk)
        if point.sec[1] >= minimum:
            return chunk, point
    raise AssertionError("no chunk needs that many tries")


def test_invalid_non_minimal_counter() -> None:
    chunk, point = _chunk_with_counter_at_least(1)
    counter = point.sec[1]
    # The same chunk under a larger counter that is also on the curve.
    for bigger in range(counter + 1, 255):
        x = bytes([bigger]) + chunk
        if (
            pow(
                (int.from_bytes(x, "big") ** 3 + 7) % FIELD_PRIME,
                (FIELD_PRIME - 1) // 2,
                FIELD_PRIME,
            )
            == 1
        ):
            other = decode_element(b"\x02" + x)
            with pytest.raises(InvalidLetter, match="smaller counter"):
                embedding.extract_chunk(other)
            return
    raise AssertionError("no larger counter found")


def test_invalid_odd_y_and_identity() -> None:
    point = embedding.embed_chunk(bytes(CHUNK_SIZE))
    with pytest.raises(InvalidLetter):
        embedding.extract_chunk(group.point_neg(point))
    with pytest.raises(InvalidLetter):
        embedding.extract_chunk(IDENTITY)


def test_invalid_counter_255() -> None:
    for n in range(1000):
        x = b"\xff" + n.to_bytes(CHUNK_SIZE, "big")
        try:
            point = decode_element(b"\x02" + x)
        except Exception:
            continue
        with pytest.raises(InvalidLetter, match="counter out of range"):
            embedding.extract_chunk(point)
        return
    raise AssertionError("no point with counter byte 0xff found")


@pytest.mark.parametrize("size", [0, CHUNK_SIZE - 1, CHUNK_SIZE + 1])
def test_invalid_chunk_lengths(size: int) -> None:
    with pytest.raises(InvalidLetter):
        embedding.embed_chunk(bytes(size))
    if size:
        with pytest.raises(InvalidLetter):
            embedding.embed_bytes(bytes(size))


def test_random_points_are_rarely_embeddings() -> None:
    # A random point is an embedding only if its y is even and no smaller
    # counter works: decrypting with a wrong key is caught most of the time.
    rejected = 0
    for k in range(1, 41):
        try:
            embedding.extract_chunk(group.base_mul(k))
        except InvalidLetter:
            rejected += 1
    assert rejected >= 25
