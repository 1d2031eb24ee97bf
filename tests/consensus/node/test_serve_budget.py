"""The serving budget (consensus.node.serve_budget): token buckets per peer
and in total bound what peers can make a node read and send, whatever
they ask and however often."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.node.serve_budget import MAX_TRACKED_PEERS, ServeBudget

A, B = b"peer a", b"peer b"


def test_a_peer_gets_its_request_rate() -> None:
    budget = ServeBudget(requests_per_s=5, peer_bytes_per_s=1e9, total_bytes_per_s=1e9)
    assert sum(budget.allow(A, 0.0) for _ in range(20)) == 5
    assert budget.dropped == 15
    assert sum(budget.allow(A, 1.0) for _ in range(20)) == 5  # one second refills five
    assert sum(budget.allow(B, 1.0) for _ in range(20)) == 5  # each peer has its own
    assert sum(budget.allow(A, 100.0) for _ in range(20)) == 5  # idle time is not saved up


def test_a_large_answer_puts_the_peer_in_debt_until_it_refills() -> None:
    budget = ServeBudget(requests_per_s=100, peer_bytes_per_s=1_000, total_bytes_per_s=1e9)
    assert budget.allow(A, 0.0)
    budget.charge(A, 5_000)  # one 5 KB block: served, but it costs five seconds
    assert not budget.allow(A, 3.9)
    assert budget.allow(A, 4.1)
    assert budget.allow(B, 0.0)  # another peer is not held back
    served = 0
    while budget.allow(A, 1_000.0):  # long idle: at most one second's worth at once
        budget.charge(A, 100)
        served += 100
    assert served == 1_000


def test_the_total_bounds_every_peer_together() -> None:
    budget = ServeBudget(requests_per_s=100, peer_bytes_per_s=1_000, total_bytes_per_s=1_500)
    for peer in (A, B):
        assert budget.allow(peer, 0.0)
        budget.charge(peer, 800)
    assert not budget.allow(b"peer c", 0.0)  # its own bucket is full, the total is not
    assert budget.allow(b"peer c", 0.2)


def test_forgetting_a_peer_and_a_full_table() -> None:
    budget = ServeBudget(requests_per_s=1, peer_bytes_per_s=1_000, total_bytes_per_s=1e12)
    assert budget.allow(A, 0.0) and not budget.allow(A, 0.0)
    budget.forget(A)
    assert budget.allow(A, 0.0)  # a reconnecting peer starts full: the total still bounds it
    for index in range(MAX_TRACKED_PEERS + 10):
        budget.allow(index.to_bytes(4, "big"), 0.0)
    assert len(budget._peers) <= MAX_TRACKED_PEERS


def test_invalid_rates_are_refused() -> None:
    for rates in [(0, 1, 1), (1, 0, 1), (1, 1, -1)]:
        with pytest.raises(ValueError, match="positive"):
            ServeBudget(*rates)


TOTAL = 10_000
_events = st.lists(
    st.tuples(
        st.sampled_from([A, B, b"c", b"d"]),
        st.integers(0, 5),  # hundredths of a second since the previous event
        st.integers(0, 4_000),  # bytes the answer costs
    ),
    max_size=300,
)


@given(_events)
def test_what_is_served_never_exceeds_the_total_rate(events: list[tuple[bytes, int, int]]) -> None:
    """Whatever peers ask and when: bytes served up to time t are at most
    TOTAL * (1 + t) (the bucket starts full) plus one answer's bytes (the
    last one may overdraw)."""
    budget = ServeBudget(requests_per_s=50, peer_bytes_per_s=TOTAL / 2, total_bytes_per_s=TOTAL)
    now = 0.0
    largest = 0
    for peer, step, size in events:
        now += step / 100
        if budget.allow(peer, now):
            budget.charge(peer, size)
            largest = max(largest, size)
        assert budget.served_bytes <= TOTAL * (1 + now) + largest
