"""The link model behind the faulty network (tests/process/link_model.py):
delays, order, bandwidth, loss as retransmission delay, and retransmission
after a partition, checked as properties over seeded randomness."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .link_model import (
    MAX_RETRANSMISSIONS,
    MIN_RTO_S,
    MSS,
    DirectionShaper,
    LinkFaults,
    StreamOrder,
    next_reset_in,
    retransmission_after_heal,
    retransmission_penalty,
    schedule_chunk,
    wan,
)

sizes = st.lists(st.integers(1, 200_000), min_size=1, max_size=40)
gaps = st.lists(st.floats(0, 0.5), min_size=40, max_size=40)


def test_a_clean_link_delays_every_chunk_by_its_one_way_delay() -> None:
    faults = wan(100)
    shaper = DirectionShaper(random.Random(1))
    for now, size in [(0.0, 10), (0.3, 65_536), (0.31, 1)]:
        departed, arrival = schedule_chunk(now, size, faults, shaper)
        assert (departed, arrival) == (now, pytest.approx(now + 0.05))


@given(sizes, gaps, st.integers(0, 2**32))
def test_jitter_stays_within_its_bounds_and_the_stream_keeps_its_order(
    chunk_sizes: list[int], pauses: list[float], seed: int
) -> None:
    faults = wan(100, jitter_ms=20)
    shaper, order = DirectionShaper(random.Random(seed)), StreamOrder()
    now, last = 0.0, 0.0
    for size, pause in zip(chunk_sizes, pauses, strict=False):
        now += pause
        departed, earliest = schedule_chunk(now, size, faults, shaper)
        assert departed == now
        assert 0.03 - 1e-9 <= earliest - departed <= 0.07 + 1e-9
        arrival = order.arrival(earliest)
        assert arrival >= last and arrival >= earliest
        last = arrival


@given(sizes, st.integers(1_000, 100_000_000))
def test_bandwidth_serializes_the_chunks_of_a_direction(chunk_sizes: list[int], bps: int) -> None:
    faults = LinkFaults(bandwidth_bps=bps)
    shaper = DirectionShaper(random.Random(0))
    departures = [schedule_chunk(0.0, size, faults, shaper)[0] for size in chunk_sizes]
    total = 0
    for size, departed in zip(chunk_sizes, departures, strict=True):
        total += size
        assert departed == pytest.approx(total * 8 / bps)


def test_loss_delays_about_that_share_of_segments_by_retransmission_timeouts() -> None:
    rng = random.Random(18)
    faults = LinkFaults(delay_s=0.05, loss=0.05)
    rto = faults.rto_s
    assert rto == pytest.approx(0.1 + MIN_RTO_S)
    penalties = [retransmission_penalty(rng, MSS, faults.loss, rto) for _ in range(20_000)]
    delayed = [p for p in penalties if p > 0]
    assert 0.04 < len(delayed) / len(penalties) < 0.06
    # A segment lost k times waits rto * (1 + 2 + ... + 2^(k-1)).
    allowed = {round(rto * (2**k - 1), 9) for k in range(1, 6)}
    assert {round(p, 9) for p in delayed} <= allowed
    assert round(rto, 9) in {round(p, 9) for p in delayed}


@given(st.lists(st.integers(1, 20_000), min_size=1, max_size=60), st.integers(0, 2**32))
def test_a_shaper_counts_the_chunks_that_a_lost_segment_held_back(
    chunk_sizes: list[int], seed: int
) -> None:
    faults = LinkFaults(delay_s=0.05, loss=0.2)
    shaper = DirectionShaper(random.Random(seed))
    held_back = sum(1 for size in chunk_sizes if shaper.transit(size, faults) > faults.delay_s)
    assert shaper.retransmitted_chunks == held_back
    assert DirectionShaper(random.Random(seed)).retransmitted_chunks == 0


@given(st.integers(1, 1_000_000), st.integers(0, 2**32))
def test_no_loss_means_no_penalty_and_a_chunk_waits_for_its_worst_segment(
    size: int, seed: int
) -> None:
    assert retransmission_penalty(random.Random(seed), size, 0.0, 0.3) == 0.0
    always = retransmission_penalty(random.Random(seed), size, 0.999999, 0.3)
    assert always > 0.3  # every segment lost at least once


@given(st.floats(0, 100), st.floats(0, 400), st.sampled_from([0.2, 0.3, 1.0]))
def test_after_a_partition_the_sender_retransmits_on_its_backoff_schedule(
    sent_at: float, outage: float, rto: float
) -> None:
    healed_at = sent_at + outage
    retry = retransmission_after_heal(sent_at, healed_at, rto)
    schedule, at, wait = [], sent_at, rto
    for _ in range(MAX_RETRANSMISSIONS):
        at += wait
        schedule.append(at)
        wait = min(120.0, 2 * wait)
    if retry is None:
        assert schedule[-1] < healed_at  # gave up before the heal
        return
    assert retry >= healed_at and retry in schedule
    earlier = [t for t in schedule if t < retry]
    assert all(t < healed_at for t in earlier)


def test_resets_come_at_the_asked_mean_rate_or_never() -> None:
    rng = random.Random(3)
    assert next_reset_in(rng, LinkFaults()) is None
    waits = [next_reset_in(rng, LinkFaults(resets_per_minute=6.0)) for _ in range(5000)]
    mean = sum(w for w in waits if w is not None) / len(waits)
    assert 9.0 < mean < 11.0


@settings(max_examples=50)
@given(
    st.floats(0, 1),
    st.floats(0, 1),
    st.integers(0, 10**9),
    st.floats(0, 0.99),
    st.floats(0, 100),
    st.booleans(),
)
def test_link_settings_survive_their_json_form(
    delay: float, jitter: float, bps: int, loss: float, resets: float, blocked: bool
) -> None:
    faults = LinkFaults(delay, jitter, bps, loss, resets, blocked)
    assert LinkFaults.from_json(faults.to_json()) == faults


@pytest.mark.parametrize(
    "settings_",
    [{"delay_s": -0.1}, {"loss": 1.0}, {"loss": -0.01}, {"bandwidth_bps": -1}, {"typo": 1}],
)
def test_invalid_link_settings_are_refused(settings_: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        LinkFaults.from_json(settings_)
