"""What a faulty link does to a TCP byte stream: the pure model behind the
fault-injecting proxy (tests/process/faulty_network.py).

This machine has no netem qdisc, so faults are injected by a proxy that
relays each TCP connection between two nodes. The nodes' p2p frames are
sealed WebSocket messages, so the proxy cannot drop or reorder a frame: it
works on the byte stream, and everything it does is something TCP itself
would show the application on a bad link:

- **delay and jitter**: each chunk of bytes read from one side is written to
  the other ``delay ± jitter`` seconds later (uniform), never before the
  chunk ahead of it (TCP delivers in order, so jitter shows up as bursts);
- **bandwidth**: a direction of a link serializes its chunks at
  ``bandwidth_bps``; a chunk starts when the one ahead has left;
- **loss**: the stream is cut into segments of ``MSS`` bytes; each is lost
  with probability ``loss`` and retransmitted one retransmission timeout
  later (doubling for each further loss of the same segment), and
  everything behind it waits (head-of-line blocking). So "5% loss" over TCP
  is *not* 5% of frames missing: it is delay spikes of an RTO (at least
  200 ms, as Linux's minimum) on about 5% of segments, seen as latency by
  the application. Connection resets are a separate fault
  (``resets_per_minute``): real TCP rarely gives up at 5% loss, but NATs,
  middleboxes and restarts do cut connections;
- **partition** (``blocked``): nothing is delivered; bytes already sent stay
  in flight (bounded by the proxy's window, which then stops reading:
  backpressure, as a full TCP window) and arrive after the partition heals,
  at the sender's next retransmission (exponential backoff from the first
  loss, as TCP does), unless an endpoint has given up on the connection
  first (the nodes' keepalive closes it after about 1.5 heartbeats).

Every function here is pure: time is passed in, randomness comes from an
injected ``random.Random``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

MSS: Final = 1448  # bytes of payload per TCP segment (Ethernet MTU, timestamps on)
MIN_RTO_S: Final = 0.2  # Linux's minimum retransmission timeout
MAX_RTO_S: Final = 120.0  # Linux's maximum retransmission timeout
MAX_RETRANSMISSIONS: Final = 15  # tcp_retries2: then the sender gives up on the connection


@dataclass(frozen=True)
class LinkFaults:
    """The faults of one link between two nodes, the same in both directions."""

    delay_s: float = 0.0  # one-way delay (half the round trip)
    jitter_s: float = 0.0  # each chunk's delay is delay_s ± jitter_s, uniform
    bandwidth_bps: int = 0  # bits per second in each direction; 0 = unlimited
    loss: float = 0.0  # probability that a segment is lost (and retransmitted)
    resets_per_minute: float = 0.0  # mean rate of connection resets (Poisson)
    blocked: bool = False  # partitioned: nothing gets through

    def __post_init__(self) -> None:
        if min(self.delay_s, self.jitter_s, self.bandwidth_bps, self.resets_per_minute) < 0:
            raise ValueError("delays, bandwidth and reset rate are not negative")
        if not 0.0 <= self.loss < 1.0:
            raise ValueError("loss is a probability below 1")

    @property
    def rtt_s(self) -> float:
        return 2 * self.delay_s

    @property
    def rto_s(self) -> float:
        """The retransmission timeout a TCP sender would use on this link:
        smoothed RTT plus four times its variation, the variation term at
        least the minimum RTO (as Linux computes it)."""
        return min(MAX_RTO_S, self.rtt_s + max(MIN_RTO_S, 4 * self.jitter_s))

    def to_json(self) -> dict[str, object]:
        return {
            "delay_s": self.delay_s,
            "jitter_s": self.jitter_s,
            "bandwidth_bps": self.bandwidth_bps,
            "loss": self.loss,
            "resets_per_minute": self.resets_per_minute,
            "blocked": self.blocked,
        }

    @classmethod
    def from_json(cls, value: dict[str, object]) -> LinkFaults:
        known = set(cls().to_json())
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown link settings {sorted(unknown)}")
        return cls(**value)  # type: ignore[arg-type]


def wan(rtt_ms: float, jitter_ms: float = 0.0, bandwidth_mbit: float = 0.0) -> LinkFaults:
    """A healthy wide-area link: ``rtt_ms`` round trip, ± ``jitter_ms`` per direction."""
    return LinkFaults(
        delay_s=rtt_ms / 2000,
        jitter_s=jitter_ms / 1000,
        bandwidth_bps=int(bandwidth_mbit * 1_000_000),
    )


def retransmission_penalty(rng: random.Random, size: int, loss: float, rto_s: float) -> float:
    """Extra seconds before the last of ``size`` bytes arrives when each of
    their segments is lost with probability ``loss``: the worst segment's
    retransmission waits (``rto_s``, then doubling, capped at MAX_RTO_S)."""
    if loss <= 0.0 or size <= 0:
        return 0.0
    worst = 0.0
    for _ in range(math.ceil(size / MSS)):
        penalty, wait, tries = 0.0, rto_s, 0
        while tries < MAX_RETRANSMISSIONS and rng.random() < loss:
            penalty += wait
            wait = min(MAX_RTO_S, 2 * wait)
            tries += 1
        worst = max(worst, penalty)
    return worst


def retransmission_after_heal(sent_at: float, healed_at: float, rto_s: float) -> float | None:
    """When a sender that first sent a segment at ``sent_at`` sends it again
    after the partition that swallowed it healed at ``healed_at``: the first
    retransmission (``sent_at + rto, + 2 rto, + 4 rto, ...``, each wait capped
    at MAX_RTO_S) at or after the heal. None if the sender gives up first
    (MAX_RETRANSMISSIONS retransmissions)."""
    at, wait = sent_at, rto_s
    for _ in range(MAX_RETRANSMISSIONS):
        at += wait
        if at >= healed_at:
            return at
        wait = min(MAX_RTO_S, 2 * wait)
    return None


class DirectionShaper:
    """One direction of one link: the serializer that bandwidth limits, and
    the random draws of delay, jitter and loss (all connections of the link
    in this direction share it, as they would share a wire)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.free_at = 0.0  # when the serializer has sent everything queued so far
        self.retransmitted_chunks = 0  # chunks held back by a lost segment

    def departure(self, now: float, size: int, faults: LinkFaults) -> float:
        """When the last byte of a chunk of ``size`` bytes read at ``now`` has left."""
        start = max(now, self.free_at)
        if faults.bandwidth_bps > 0:
            start += size * 8 / faults.bandwidth_bps
        self.free_at = start
        return start

    def transit(self, size: int, faults: LinkFaults) -> float:
        """Seconds from departure to arrival: delay, jitter and retransmissions."""
        latency = faults.delay_s
        if faults.jitter_s > 0:
            latency = max(0.0, latency + self.rng.uniform(-faults.jitter_s, faults.jitter_s))
        penalty = retransmission_penalty(self.rng, size, faults.loss, faults.rto_s)
        if penalty > 0:
            self.retransmitted_chunks += 1
        return latency + penalty


class StreamOrder:
    """One direction of one connection: TCP never delivers a byte before the
    bytes ahead of it, so a chunk arrives no earlier than the chunk before."""

    def __init__(self) -> None:
        self.last_arrival = 0.0

    def arrival(self, earliest: float) -> float:
        self.last_arrival = max(self.last_arrival, earliest)
        return self.last_arrival


def schedule_chunk(
    now: float, size: int, faults: LinkFaults, shaper: DirectionShaper
) -> tuple[float, float]:
    """(departure, earliest arrival) of a chunk of ``size`` bytes read at
    ``now``; the stream's order (StreamOrder) may hold it back further."""
    departed = shaper.departure(now, size, faults)
    return departed, departed + shaper.transit(size, faults)


def next_reset_in(rng: random.Random, faults: LinkFaults) -> float | None:
    """Seconds until the link's next connection reset (exponential), or None."""
    if faults.resets_per_minute <= 0:
        return None
    return rng.expovariate(faults.resets_per_minute / 60.0)
