"""What a node spends answering its peers' requests for stored data.

A request is a few bytes; its answer may be megabytes read from the store,
encoded and encrypted on the event loop (a block for block sync, headers or
tree nodes for state sync). Unbounded, any peer could make a validator spend
its time serving and miss its consensus deadlines. ``ServeBudget`` bounds it
with token buckets refilled continuously: per peer, requests per second and
bytes per second; for all peers together, bytes per second. A request is
answered only while the peer has a request token and both byte buckets
are positive; its bytes are charged after it is answered (a large answer
may take a bucket below zero: the following requests wait until it refills).
A refused request is dropped: the asker times out and asks another peer.

Every bucket starts full and holds at most one second of its rate. The
table of peers has one entry per connected peer (``forget`` on disconnect;
a peer that reconnects starts with full buckets, so the total bucket is
what bounds the node's work) and is cleared if it ever reaches
``MAX_TRACKED_PEERS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAX_TRACKED_PEERS: Final = 4096  # never reached with the p2p layer's peer limits


@dataclass
class _Bucket:
    tokens: float
    at: float

    def refill(self, rate: float, now: float) -> None:
        self.tokens = min(rate, self.tokens + max(0.0, now - self.at) * rate)
        self.at = now


@dataclass
class _PeerBudget:
    requests: _Bucket
    data: _Bucket


class ServeBudget:
    """Token buckets bounding what is served, per peer and in total."""

    def __init__(self, requests_per_s: float, peer_bytes_per_s: float, total_bytes_per_s: float):
        if min(requests_per_s, peer_bytes_per_s, total_bytes_per_s) <= 0:
            raise ValueError("serving rates must be positive")
        self.requests_per_s = requests_per_s
        self.peer_bytes_per_s = peer_bytes_per_s
        self.total_bytes_per_s = total_bytes_per_s
        self._total = _Bucket(total_bytes_per_s, 0.0)
        self._total_started = False
        self._peers: dict[bytes, _PeerBudget] = {}
        self.dropped = 0  # requests refused
        self.served_bytes = 0

    def allow(self, peer: bytes, now: float) -> bool:
        """Whether a request of ``peer`` at ``now`` is answered; takes one
        request token if so."""
        budget = self._peer(peer, now)
        budget.requests.refill(self.requests_per_s, now)
        budget.data.refill(self.peer_bytes_per_s, now)
        self._total.refill(self.total_bytes_per_s, now)
        if budget.requests.tokens < 1.0 or budget.data.tokens <= 0 or self._total.tokens <= 0:
            self.dropped += 1
            return False
        budget.requests.tokens -= 1.0
        return True

    def charge(self, peer: bytes, size: int) -> None:
        """Count ``size`` bytes served (read and sent) to ``peer``."""
        self.served_bytes += size
        self._total.tokens -= size
        budget = self._peers.get(peer)
        if budget is not None:
            budget.data.tokens -= size

    def forget(self, peer: bytes) -> None:
        self._peers.pop(peer, None)

    def _peer(self, peer: bytes, now: float) -> _PeerBudget:
        if not self._total_started:
            self._total.at, self._total_started = now, True
        budget = self._peers.get(peer)
        if budget is None:
            if len(self._peers) >= MAX_TRACKED_PEERS:  # a missed forget: start over
                self._peers.clear()
            budget = _PeerBudget(
                _Bucket(self.requests_per_s, now), _Bucket(self.peer_bytes_per_s, now)
            )
            self._peers[peer] = budget
        return budget
