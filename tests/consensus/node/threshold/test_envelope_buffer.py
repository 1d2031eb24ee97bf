"""The threshold channel's early-envelope buffer (issue 14 section 5): caps
per sender and in total, and expiry."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consensus.node.threshold.buffer import EnvelopeBuffer


def test_invalid_one_sender_cannot_fill_the_buffer() -> None:
    buffer: EnvelopeBuffer[str] = EnvelopeBuffer(
        max_envelopes=100, max_bytes=10_000, max_bytes_per_sender=3_000
    )
    kept = [buffer.add((1, 0), f"e{i}", b"mallory", 1_000, 5) for i in range(10)]
    assert kept == [True] * 3 + [False] * 7
    assert buffer.add((1, 0), "honest", b"alice", 1_000, 5)
    assert buffer.size == 4_000 and len(buffer) == 4
    assert buffer.take((1, 0)) == ["e0", "e1", "e2", "honest"]
    assert buffer.size == 0 and len(buffer) == 0
    assert buffer.add((1, 0), "again", b"mallory", 3_000, 6)  # room again after take


def test_what_is_not_used_expires() -> None:
    buffer: EnvelopeBuffer[str] = EnvelopeBuffer(expiry_blocks=3)
    buffer.add((7, 0), "old", b"a", 10, 1)
    buffer.add((7, 0), "new", b"a", 10, 3)
    buffer.add((99, 0), "invented", b"b", 10, 1)
    buffer.expire(3)
    assert len(buffer) == 3
    buffer.expire(4)
    assert buffer.runs() == [(7, 0)] and buffer.size == 10
    buffer.expire(6)
    assert buffer.runs() == [] and len(buffer) == 0 and buffer.size == 0


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from([b"a", b"b", b"c"]),
            st.integers(1, 500),
            st.integers(0, 30),
        ),
        max_size=60,
    ),
    st.integers(0, 40),
)
def test_caps_hold_whatever_arrives(
    arrivals: list[tuple[int, bytes, int, int]], expire_at: int
) -> None:
    buffer: EnvelopeBuffer[int] = EnvelopeBuffer(
        max_envelopes=20, max_bytes=4_000, max_bytes_per_sender=1_500, expiry_blocks=10
    )
    for index, (run, sender, size, height) in enumerate(arrivals):
        buffer.add((run, 0), index, sender, size, height)
        assert len(buffer) <= 20 and buffer.size <= 4_000
    buffer.expire(expire_at)
    taken = [item for run in buffer.runs() for item in buffer.take(run)]
    assert len(taken) <= 20 and buffer.size == 0 and len(buffer) == 0
