"""Block sync: how a node that is behind fetches committed blocks from peers.

Every node announces its committed height on the block-sync channel (at
start, after each commit and every few seconds). A node that learns that a
peer has committed beyond its own tip asks that peer for the next block; the
answer carries the block and the commit certificate the peer stored for it.
The node verifies the certificate against the validator set of that height,
executes the block, and commits it like any other; it keeps fetching until
no peer is ahead, and consensus carries on from the new tip. A node that
falls behind again (a partition, a restart) switches back by itself, since
the announcements keep coming.

Wire payloads on the channel (canonical arrays):

    ["status", height]                     my committed height
    ["get", height]                        send me block ``height``
    ["block", height, block, certificate]  block bytes and its certificate bytes
    ["none", height]                       I do not have it

A peer's announced height is a claim, not a fact (anyone can announce
2^63-1). It only decides whom to ask: every block fetched is verified
against its certificate, a peer that answers "none" for a height it claimed
loses the claim, and a request that times out goes to the next peer ahead.
What would change the node's behaviour (reporting that it is catching up,
sitting out threshold ceremonies, pausing its consensus rounds while it
fetches) uses ``corroborated_height``: a height claimed by validators with
more than a third of the voting power (so by at least one honest one), or
by at least two of the operator's persistent peers.

This module holds the bookkeeping (peer heights, outstanding requests with
deadlines); the node does the verifying and committing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ledger import codec

STATUS: Final = "status"
GET: Final = "get"
BLOCK: Final = "block"
NONE: Final = "none"
MAX_HEIGHT: Final = (1 << 63) - 1


class SyncMessageError(ValueError):
    """A block-sync payload that is not one of the four messages."""


@dataclass(frozen=True, slots=True)
class StatusMessage:
    height: int


@dataclass(frozen=True, slots=True)
class GetBlock:
    height: int


@dataclass(frozen=True, slots=True)
class BlockMessage:
    height: int
    block: bytes
    certificate: bytes


@dataclass(frozen=True, slots=True)
class NoBlock:
    height: int


SyncMessage = StatusMessage | GetBlock | BlockMessage | NoBlock


def encode_sync_message(message: SyncMessage) -> codec.Value:
    """The payload of a message (a tuple the p2p layer encodes)."""
    if isinstance(message, StatusMessage):
        return (STATUS, message.height)
    if isinstance(message, GetBlock):
        return (GET, message.height)
    if isinstance(message, BlockMessage):
        return (BLOCK, message.height, message.block, message.certificate)
    return (NONE, message.height)


def decode_sync_message(payload: object) -> SyncMessage:
    """Parse a payload. Raises SyncMessageError."""
    if not isinstance(payload, tuple) or len(payload) < 2:
        raise SyncMessageError("a block-sync message is [kind, height, ...]")
    kind, height = payload[0], payload[1]
    if type(height) is not int or not 0 <= height <= MAX_HEIGHT:
        raise SyncMessageError("height out of range")
    if kind == STATUS and len(payload) == 2:
        return StatusMessage(height)
    if kind == GET and len(payload) == 2:
        return GetBlock(height)
    if kind == NONE and len(payload) == 2:
        return NoBlock(height)
    if kind == BLOCK and len(payload) == 4:
        block, certificate = payload[2], payload[3]
        if isinstance(block, bytes) and isinstance(certificate, bytes):
            return BlockMessage(height, block, certificate)
    raise SyncMessageError(f"unknown block-sync message {kind!r}")


class SyncTracker:
    """Who is how far ahead, and which block we are waiting for from whom."""

    def __init__(self, request_timeout: float = 5.0) -> None:
        self.request_timeout = request_timeout
        self.peer_heights: dict[bytes, int] = {}
        self._pending: tuple[int, bytes, float] | None = None  # (height, peer, deadline)

    def on_status(self, peer: bytes, height: int) -> None:
        """A connected peer's claim (the table holds one entry per connected
        peer: ``forget`` runs when it leaves)."""
        self.peer_heights[peer] = max(height, self.peer_heights.get(peer, 0))

    def on_no_block(self, peer: bytes, height: int) -> None:
        """``peer`` has no block ``height``: it has not committed that far."""
        if self.peer_heights.get(peer, 0) >= height:
            self.peer_heights[peer] = height - 1
        self.answered(height)

    def corroborated_height(
        self,
        tip_height: int,
        voting_power: Callable[[bytes], int],
        total_power: int,
        persistent: Callable[[bytes], bool],
    ) -> int:
        """The highest height believed committed by the network: claimed by
        peers with more than a third of ``total_power`` (``voting_power(peer)``
        is 0 for a non-validator), or by two persistent peers; at least
        ``tip_height``."""
        height = tip_height
        backing = 0
        for claimed, peer in sorted(((h, p) for p, h in self.peer_heights.items()), reverse=True):
            backing += voting_power(peer)
            if 3 * backing > total_power:
                height = max(height, claimed)
                break
        persistent_claims = sorted(
            (h for p, h in self.peer_heights.items() if persistent(p)), reverse=True
        )
        if len(persistent_claims) >= 2:
            height = max(height, persistent_claims[1])
        return height

    def forget(self, peer: bytes) -> None:
        self.peer_heights.pop(peer, None)
        if self._pending is not None and self._pending[1] == peer:
            self._pending = None

    def best_height(self) -> int:
        """The highest claim (only for choosing whom to ask)."""
        return max(self.peer_heights.values(), default=0)

    def next_request(
        self,
        tip_height: int,
        now: float,
        preferred: Callable[[bytes], bool] = lambda peer: False,
    ) -> tuple[int, bytes] | None:
        """(height, peer) to ask next, or None (nothing to fetch or one in flight).
        Peers are tried in order of address among those that are ahead,
        rotating with the height so one slow peer does not stall sync; the
        ``preferred`` ones (validators, persistent peers) first, so that
        fresh keys claiming heights they lack cannot hold sync up."""
        wanted = tip_height + 1
        if self._pending is not None:
            height, asked, deadline = self._pending
            if height == wanted and now < deadline:
                return None
            self._pending = None
            if height == wanted and self.peer_heights.get(asked, 0) >= wanted:
                # No answer in time: its claim counts for nothing until it
                # announces again (an honest peer does every few seconds).
                self.peer_heights[asked] = tip_height
        ahead = sorted(peer for peer, h in self.peer_heights.items() if h >= wanted)
        ahead = [peer for peer in ahead if preferred(peer)] or ahead
        if not ahead:
            return None
        peer = ahead[(wanted + int(now)) % len(ahead)]
        self._pending = (wanted, peer, now + self.request_timeout)
        return wanted, peer

    def answered(self, height: int) -> None:
        """A block (or a refusal) for ``height`` arrived: ask again when needed."""
        if self._pending is not None and self._pending[0] == height:
            self._pending = None
