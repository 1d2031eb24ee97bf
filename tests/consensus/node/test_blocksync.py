"""Block-sync bookkeeping (issue 14 section 6): a peer's claimed height only
says whom to ask; what changes the node's behaviour needs more than a third
of the voting power or two persistent peers behind it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consensus.node.blocksync import MAX_HEIGHT, SyncTracker

VALIDATORS = {b"v%d" % i: 10 for i in range(4)}  # total 40: one third is 13.3
TOTAL = 40


def power(peer: bytes) -> int:
    return VALIDATORS.get(peer, 0)


def corroborated(tracker: SyncTracker, tip: int, persistent: frozenset[bytes] = frozenset()) -> int:
    return tracker.corroborated_height(tip, power, TOTAL, persistent.__contains__)


def test_invalid_one_peer_claiming_the_largest_height_changes_nothing() -> None:
    tracker = SyncTracker()
    tracker.on_status(b"fresh key", MAX_HEIGHT)
    tracker.on_status(b"v0", MAX_HEIGHT)  # even a validator alone: a third at most
    assert corroborated(tracker, 10) == 10
    # ... but it is asked for the next block (the answer is verified).
    assert tracker.next_request(10, now=0.0) is not None


def test_more_than_a_third_of_the_power_or_two_persistent_peers_corroborate() -> None:
    tracker = SyncTracker()
    tracker.on_status(b"v0", 50)
    tracker.on_status(b"v1", 30)
    assert corroborated(tracker, 10) == 30  # v0 and v1: 20 of 40 claim at least 30
    other = SyncTracker()
    other.on_status(b"p1", 40)
    other.on_status(b"p2", 25)
    other.on_status(b"stranger", 99)
    assert corroborated(other, 10, frozenset({b"p1", b"p2"})) == 25
    assert corroborated(other, 10, frozenset({b"p1"})) == 10


def test_a_peer_without_the_block_it_claimed_loses_the_claim() -> None:
    tracker = SyncTracker()
    tracker.on_status(b"liar", MAX_HEIGHT)
    request = tracker.next_request(10, now=0.0)
    assert request == (11, b"liar")
    tracker.on_no_block(b"liar", 11)
    assert tracker.peer_heights[b"liar"] == 10
    assert tracker.next_request(10, now=1.0) is None
    tracker.forget(b"liar")
    assert tracker.peer_heights == {}


def test_preferred_peers_are_asked_before_fresh_keys() -> None:
    tracker = SyncTracker()
    for i in range(50):
        tracker.on_status(b"fresh %d" % i, MAX_HEIGHT)
    tracker.on_status(b"v0", 11)
    for now in range(20):
        tracker.answered(11)
        assert tracker.next_request(10, float(now), preferred=lambda p: p == b"v0") == (11, b"v0")


PEERS = st.sampled_from([b"v0", b"v1", b"v2", b"v3", b"x", b"y"])


def test_a_peer_that_does_not_answer_in_time_loses_its_claim_until_it_announces() -> None:
    tracker = SyncTracker(request_timeout=5.0)
    tracker.on_status(b"silent", MAX_HEIGHT)
    tracker.on_status(b"honest", 12)
    first = tracker.next_request(10, now=0.0)
    assert first is not None
    assert tracker.next_request(10, now=1.0) is None  # one request in flight
    second = tracker.next_request(10, now=6.0)
    assert second is not None and second[1] != first[1]
    assert tracker.peer_heights[first[1]] == 10
    tracker.on_status(first[1], 15)  # announcing again restores a claim
    assert tracker.peer_heights[first[1]] == 15


@given(st.dictionaries(PEERS, st.integers(0, 1000)), st.integers(0, 1000))
def test_the_corroborated_height_is_one_an_honest_validator_claimed(
    claims: dict[bytes, int], tip: int
) -> None:
    tracker = SyncTracker()
    for peer, height in claims.items():
        tracker.on_status(peer, height)
    height = corroborated(tracker, tip)
    assert height >= tip
    if height > tip:
        # Any one validator (a Byzantine third at most) removed, the rest
        # still back the height: at least one honest validator claims it.
        backers = [p for p, h in claims.items() if h >= height and power(p)]
        assert 3 * sum(power(p) for p in backers) > TOTAL
        assert len(backers) >= 2
