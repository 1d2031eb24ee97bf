"""State sync: how a new node joins from a snapshot of the state that peers
serve, instead of executing every block since genesis (issue 18 section 2;
design in docs/adr/0025-state-sync.md, wire format in docs/spec/p2p.md).

A serving node offers, every few seconds, the newest heights that are
multiples of ``[state_sync] snapshot_interval`` whose state, block and
certificate it still holds. A joining node (``[state_sync] enabled`` and an
empty chain) then:

1. **verifies the header chain from genesis** up to the highest offered
   height: for each height h it gets the header, the commit certificate and
   the validator schedule (state key ``V``) with its Merkle proof against
   the header's ``state_root``. The certificate must carry more than two
   thirds of the power of the set of h, which the node already derived
   (genesis for h = 1, else the schedule proven at h - 1); the proven
   schedule gives the set of h + 1, with proposer priorities evolved
   exactly as consensus evolves them. No peer's word is taken for a header.
2. **fetches the state tree** under the verified header's ``state_root``:
   it asks peers for batches of node hashes; every record must hash to the
   hash asked for (a leaf's state key must hash to its tree key), so a
   record is either right or its sender is banned. Children are asked for
   next; nodes already in the store (an interrupted sync) are not fetched.
3. **imports**: the flat state is rebuilt from the stored tree, and the
   tip, the certificate, the validator sets of H and H + 1 and the markers
   ("nothing below H here") go to the store in one synced batch.

Then block sync fetches the heights above the snapshot and consensus starts
as after any catch-up.

Wire payloads on the STATESYNC channel (canonical arrays):

    ["offers", [[height, block hash], ...]]                  at most MAX_OFFERS
    ["get_headers", first height, count]                     count <= MAX_HEADERS
    ["headers", first height, [[header, certificate, schedule, proof], ...]]
    ["get_nodes", [node hash, ...]]                          at most MAX_NODE_HASHES
    ["nodes", [[record, state key], ...]]                    in the order asked

A reply may stop early (what the server lacks, or its byte budget); the
entries before the last of a reply hold at most MAX_REPLY_BYTES.

This module holds the messages, the checks and the bookkeeping; the node
(consensus.node.node) does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from consensus.engine.certificate import (
    InvalidCertificate,
    check_certificate_for,
    decode_certificate,
    verify_certificate,
)
from consensus.engine.validators import Validator, ValidatorSet, ValidatorSetError
from ledger import codec
from ledger.features.validators.interface import validator_set_for_height
from ledger.features.validators.schedule import Validator as ScheduledValidator
from ledger.state import SCHEDULE_KEY, SCHEDULE_TREE_KEY, tree_key
from ledger.state_tree import (
    EMPTY_ROOT,
    HASH_SIZE,
    INTERNAL,
    ProofError,
    StateTreeError,
    check_record,
    child_hashes,
    decode_proof,
    record_hash,
    verify_proof,
)
from ledger.store import NodeEntry
from ledger.types import BlockHeader, DecodeError, header_from_value

OFFERS: Final = "offers"
GET_HEADERS: Final = "get_headers"
HEADERS: Final = "headers"
GET_NODES: Final = "get_nodes"
NODES: Final = "nodes"
MAX_HEIGHT: Final = (1 << 63) - 1
MAX_OFFERS: Final = 4  # snapshot heights one peer offers
MAX_HEADERS: Final = 64  # headers asked for at once
HEADER_WINDOW: Final = 8  # header requests in flight (to different peers)
MAX_NODE_HASHES: Final = 256  # tree nodes asked for at once
MAX_REPLY_BYTES: Final = 1 << 20  # a reply's entries before its last one
MAX_HEADER_BYTES: Final = 1024  # a header is ~330 bytes
MAX_STATE_KEY: Final = 1024  # a leaf's state key (preimage)
SERVE_READ_BYTES: Final = 8 << 20  # what a server reads from its store for one request
HEADER_LIMITS: Final = codec.DecodeLimits(
    max_objects=11, max_depth=1, max_array=10, max_str=64, max_bin=HASH_SIZE
)


class StateSyncMessageError(ValueError):
    """A state-sync payload that is not one of the five messages."""


class StateSyncError(Exception):
    """A peer's reply that is provably wrong (its sender is banned)."""


@dataclass(frozen=True, slots=True)
class Offers:
    snapshots: tuple[tuple[int, bytes], ...]  # (height, block hash)


@dataclass(frozen=True, slots=True)
class GetHeaders:
    first: int
    count: int


@dataclass(frozen=True, slots=True)
class HeaderEntry:
    header: bytes
    certificate: bytes
    schedule: bytes  # the value of state key V after the block
    proof: bytes  # its proof against the header's state root


@dataclass(frozen=True, slots=True)
class Headers:
    first: int
    entries: tuple[HeaderEntry, ...]


@dataclass(frozen=True, slots=True)
class GetNodes:
    hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Nodes:
    entries: tuple[tuple[bytes, bytes], ...]  # (record, state key or b"")


StateSyncMessage = Offers | GetHeaders | Headers | GetNodes | Nodes


def encode_statesync_message(message: StateSyncMessage) -> codec.Value:
    """The payload of a message (a tuple the p2p layer encodes)."""
    if isinstance(message, Offers):
        return (OFFERS, tuple((h, b) for h, b in message.snapshots))
    if isinstance(message, GetHeaders):
        return (GET_HEADERS, message.first, message.count)
    if isinstance(message, Headers):
        entries = tuple((e.header, e.certificate, e.schedule, e.proof) for e in message.entries)
        return (HEADERS, message.first, entries)
    if isinstance(message, GetNodes):
        return (GET_NODES, message.hashes)
    return (NODES, tuple((record, key) for record, key in message.entries))


def _height(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_HEIGHT:
        raise StateSyncMessageError("height out of range")
    return value


def _bytes_tuple(value: object, size: int, limit: int) -> tuple[bytes, ...]:
    if not isinstance(value, tuple) or len(value) > limit:
        raise StateSyncMessageError(f"an array of at most {limit} items")
    if not all(isinstance(item, bytes) and len(item) == size for item in value):
        raise StateSyncMessageError(f"items of {size} bytes")
    return value


def _reply_size_ok(sizes: list[int]) -> bool:
    """The entries before the last hold at most MAX_REPLY_BYTES."""
    return sum(sizes[:-1]) <= MAX_REPLY_BYTES


def decode_statesync_message(payload: object) -> StateSyncMessage:
    """Parse a payload. Raises StateSyncMessageError (the sender misbehaved)."""
    if not isinstance(payload, tuple) or not payload:
        raise StateSyncMessageError("a state-sync message is [kind, ...]")
    kind = payload[0]
    if kind == OFFERS and len(payload) == 2:
        offers = payload[1]
        if not isinstance(offers, tuple) or len(offers) > MAX_OFFERS:
            raise StateSyncMessageError(f"at most {MAX_OFFERS} offers")
        snapshots = []
        for offer in offers:
            if not (isinstance(offer, tuple) and len(offer) == 2):
                raise StateSyncMessageError("an offer is [height, block hash]")
            _bytes_tuple((offer[1],), HASH_SIZE, 1)
            snapshots.append((_height(offer[0]), offer[1]))
        return Offers(tuple(snapshots))
    if kind == GET_HEADERS and len(payload) == 3:
        first, count = _height(payload[1]), payload[2]
        if type(count) is not int or not 1 <= count <= MAX_HEADERS or first < 1:
            raise StateSyncMessageError(f"ask for 1 to {MAX_HEADERS} headers from height 1 on")
        return GetHeaders(first, count)
    if kind == HEADERS and len(payload) == 3:
        first, raw = _height(payload[1]), payload[2]
        if not isinstance(raw, tuple) or len(raw) > MAX_HEADERS:
            raise StateSyncMessageError(f"at most {MAX_HEADERS} headers")
        entries = []
        for item in raw:
            if not (
                isinstance(item, tuple)
                and len(item) == 4
                and all(isinstance(part, bytes) for part in item)
            ):
                raise StateSyncMessageError("a header entry is four byte strings")
            entries.append(HeaderEntry(*item))
        if not _reply_size_ok([sum(len(part) for part in item) for item in raw]):
            raise StateSyncMessageError("a headers reply over the byte cap")
        return Headers(first, tuple(entries))
    if kind == GET_NODES and len(payload) == 2:
        hashes = _bytes_tuple(payload[1], HASH_SIZE, MAX_NODE_HASHES)
        if not hashes:
            raise StateSyncMessageError("ask for at least one node")
        return GetNodes(hashes)
    if kind == NODES and len(payload) == 2:
        raw = payload[1]
        if not isinstance(raw, tuple) or len(raw) > MAX_NODE_HASHES:
            raise StateSyncMessageError(f"at most {MAX_NODE_HASHES} nodes")
        nodes = []
        for item in raw:
            if not (
                isinstance(item, tuple)
                and len(item) == 2
                and isinstance(item[0], bytes)
                and isinstance(item[1], bytes)
                and len(item[1]) <= MAX_STATE_KEY
            ):
                raise StateSyncMessageError("a node entry is [record, state key]")
            nodes.append((item[0], item[1]))
        if not _reply_size_ok([len(record) + len(key) for record, key in nodes]):
            raise StateSyncMessageError("a nodes reply over the byte cap")
        return Nodes(tuple(nodes))
    raise StateSyncMessageError(f"unknown state-sync message {kind!r}")


def payload_bytes(message: Headers | Nodes) -> int:
    """The bytes a reply carried (what the bench reports as transferred)."""
    if isinstance(message, Headers):
        return sum(
            len(e.header) + len(e.certificate) + len(e.schedule) + len(e.proof)
            for e in message.entries
        )
    return sum(len(record) + len(key) for record, key in message.entries)


# -- validator sets ------------------------------------------------------------


def next_validator_set(
    current: ValidatorSet, scheduled: Iterable[ScheduledValidator]
) -> ValidatorSet:
    """The consensus set of the next height: ``current`` after one proposer
    step and the membership the ledger schedules for that height (what the
    node does after every commit; state sync replays it along the headers)."""
    wanted = {v.address: v for v in scheduled}
    changes: list[Validator] = []
    for validator in current.validators:
        new = wanted.get(validator.address)
        if new is None:
            changes.append(Validator(validator.address, validator.public_key, 0))
        elif new.power != validator.power:
            changes.append(Validator(validator.address, validator.public_key, new.power))
    for address, new in sorted(wanted.items()):
        if current.get(address) is None:
            changes.append(Validator.from_public_key(new.public_key, new.power))
    return current.next_height(changes)


class _ScheduleReader:
    """A StateReader holding only the proven validator schedule."""

    def __init__(self, schedule: bytes) -> None:
        self._schedule = schedule

    def get_state(self, key: bytes) -> bytes | None:
        return self._schedule if key == SCHEDULE_KEY else None


# -- the header chain ------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedHeader:
    """A header whose certificate was checked against the set of its height."""

    header: BlockHeader
    certificate: bytes
    validators: ValidatorSet  # the set of this height
    next_validators: ValidatorSet  # the set of the next height


class HeaderChain:
    """The header chain verified so far, from genesis (height 0: the genesis
    hash and set) upwards; keeps the verified headers of the ``wanted``
    heights (the offered snapshots)."""

    def __init__(self, chain_id: str, genesis_hash: bytes, genesis_set: ValidatorSet) -> None:
        self.chain_id = chain_id
        self.height = 0
        self.block_hash = genesis_hash
        self.validators = genesis_set  # the set of height + 1
        self.wanted: set[int] = set()
        self.kept: dict[int, VerifiedHeader] = {}

    def verify(self, entry: HeaderEntry) -> VerifiedHeader:
        """Check the entry of height ``self.height + 1`` and advance.
        Raises StateSyncError (nothing changes)."""
        height = self.height + 1
        current = self.validators
        try:
            header = header_from_value(codec.decode(entry.header, MAX_HEADER_BYTES, HEADER_LIMITS))
        except (codec.CodecError, DecodeError) as exc:
            raise StateSyncError(f"header {height}: {exc}") from exc
        if header.height != height or header.chain_id != self.chain_id:
            raise StateSyncError(f"header {height}: another height or chain")
        if header.prev_hash != self.block_hash:
            raise StateSyncError(f"header {height}: does not follow the verified header")
        try:
            signers = max(2 * len(current.validators), 256)
            limits = codec.DecodeLimits(
                max_objects=8 + 3 * signers,
                max_depth=3,
                max_array=max(4, signers),
                max_str=0,
                max_bin=64,
            )
            codec.check_limits(entry.certificate, limits)
            certificate = decode_certificate(entry.certificate)
            check_certificate_for(certificate, height, header.hash)
            verify_certificate(certificate, current, self.chain_id)
        except (InvalidCertificate, codec.CodecError) as exc:
            raise StateSyncError(f"header {height}: certificate: {exc}") from exc
        try:
            proof = decode_proof(entry.proof)
        except ProofError as exc:
            raise StateSyncError(f"header {height}: {exc}") from exc
        if not verify_proof(header.state_root, SCHEDULE_TREE_KEY, entry.schedule, proof):
            raise StateSyncError(f"header {height}: the schedule's proof does not verify")
        try:
            scheduled = validator_set_for_height(_ScheduleReader(entry.schedule), height + 1)
            following = next_validator_set(current, scheduled)
        except (LookupError, ValueError, TypeError, ValidatorSetError) as exc:
            # A proven value of a certified state: only a broken chain gets here.
            raise StateSyncError(f"header {height}: unreadable schedule: {exc}") from exc
        verified = VerifiedHeader(header, entry.certificate, current, following)
        self.height = height
        self.block_hash = header.hash
        self.validators = following
        if height in self.wanted:
            self.kept[height] = verified
        return verified


class HeaderRequests:
    """Which header ranges are asked, of whom, and which replies wait for
    their turn, so that a joiner keeps up to ``HEADER_WINDOW`` requests in
    flight (one per peer) while it verifies the header chain in order.

    A range is asked of one peer; its reply waits in ``arrived`` until the
    chain reaches its first height. What a reply lacks (a short reply, an
    empty one, a timeout, a peer gone) goes back as a gap, asked again before
    anything new. Nothing is asked beyond ``HEADER_WINDOW`` ranges past the
    verified height, so at most that many replies wait (each within the
    reply cap)."""

    def __init__(self) -> None:
        self.asked: dict[int, tuple[bytes, int, float]] = {}  # first -> (peer, count, deadline)
        self.arrived: dict[int, tuple[bytes, tuple[HeaderEntry, ...], int]] = {}
        self.gaps: list[tuple[int, int]] = []  # (first, count), asked again first
        self.next_first = 1  # the lowest height never asked

    def busy(self, peer: bytes) -> bool:
        return any(asked[0] == peer for asked in self.asked.values())

    def next_range(self, verified: int, best: int) -> tuple[int, int] | None:
        """The range to ask next, or None (nothing left, or the window is full)."""
        if len(self.asked) >= HEADER_WINDOW:
            return None
        if self.gaps:
            return min(self.gaps)
        first = max(self.next_first, verified + 1)
        if first > best or first > verified + HEADER_WINDOW * MAX_HEADERS:
            return None
        return first, min(MAX_HEADERS, best - first + 1)

    def ask(self, first: int, count: int, peer: bytes, deadline: float) -> None:
        if (first, count) in self.gaps:
            self.gaps.remove((first, count))
        self.next_first = max(self.next_first, first + count)
        self.asked[first] = (peer, count, deadline)

    def answered(self, peer: bytes, first: int, entries: tuple[HeaderEntry, ...]) -> bool:
        """Take a reply; False if it was not asked of ``peer`` (ignored)."""
        asked = self.asked.get(first)
        if asked is None or asked[0] != peer:
            return False
        del self.asked[first]
        if entries:
            self.arrived[first] = (peer, entries[: asked[1]], asked[1])
        else:
            self.gaps.append((first, asked[1]))
        return True

    def ready(self, verified: int) -> tuple[bytes, tuple[HeaderEntry, ...]] | None:
        """The waiting reply that starts right after ``verified``, if any;
        what it lacks of its range becomes a gap."""
        found = self.arrived.pop(verified + 1, None)
        if found is None:
            return None
        peer, entries, count = found
        if len(entries) < count:
            self.gaps.append((verified + 1 + len(entries), count - len(entries)))
        return peer, entries

    def expired(self, now: float) -> list[bytes]:
        """Drop the requests past their deadline (their ranges become gaps);
        the peers that did not answer."""
        late = [first for first, (_, _, deadline) in self.asked.items() if now >= deadline]
        peers = []
        for first in late:
            peer, count, _ = self.asked.pop(first)
            self.gaps.append((first, count))
            peers.append(peer)
        return peers

    def forget(self, peer: bytes) -> None:
        """A peer left: what it was asked becomes gaps, what it sent stays."""
        for first in [f for f, asked in self.asked.items() if asked[0] == peer]:
            _, count, _ = self.asked.pop(first)
            self.gaps.append((first, count))


# -- the state tree ------------------------------------------------------------


class NodeFetcher:
    """Which tree nodes of one snapshot are still wanted, and who was asked
    for which. ``have`` reads a node already stored (an interrupted sync
    resumes: a stored node was checked when it was written)."""

    def __init__(
        self,
        root: bytes,
        have: Callable[[bytes], NodeEntry | None],
        request_timeout: float,
    ) -> None:
        self.root = root
        self._have = have
        self.request_timeout = request_timeout
        self._todo: list[bytes] = [] if root == EMPTY_ROOT else [root]  # to look for locally
        self._missing: list[bytes] = []  # to fetch
        # peer -> (hashes asked, deadline)
        self._pending: dict[bytes, tuple[tuple[bytes, ...], float]] = {}
        self._resting: dict[bytes, float] = {}  # peer -> not asked again before
        self.fetched = 0
        self.bytes = 0
        self.requests = 0
        self.local = 0

    def done(self) -> bool:
        return not (self._todo or self._missing or self._pending)

    def _expand(self, record: bytes) -> None:
        if record[0] == INTERNAL:
            self._todo.extend(child for child in child_hashes(record) if child != EMPTY_ROOT)

    def look_locally(self, budget: int = 4096) -> None:
        """Move up to ``budget`` wanted hashes on: a stored node's children
        are wanted next, a node not stored is to be fetched."""
        for _ in range(budget):
            if not self._todo:
                return
            node_hash = self._todo.pop()
            entry = self._have(node_hash)
            if entry is not None:
                self.local += 1
                self._expand(entry.record)
            else:
                self._missing.append(node_hash)

    def expire(self, now: float) -> list[bytes]:
        """Requests past their deadline: their hashes are wanted again and
        the peer rests for a while. Returns the peers that timed out."""
        late = [peer for peer, (_, deadline) in self._pending.items() if now >= deadline]
        for peer in late:
            asked, _ = self._pending.pop(peer)
            self._missing.extend(asked)
            self._resting[peer] = now + 2 * self.request_timeout
        return late

    def forget(self, peer: bytes) -> None:
        """``peer`` left (or was banned): what it was asked is wanted again."""
        pending = self._pending.pop(peer, None)
        if pending is not None:
            self._missing.extend(pending[0])
        self._resting.pop(peer, None)

    def next_requests(self, peers: Iterable[bytes], now: float) -> list[tuple[bytes, GetNodes]]:
        """One request for each idle, rested peer while nodes are missing."""
        requests = []
        for peer in peers:
            if not self._missing:
                break
            if peer in self._pending or self._resting.get(peer, 0.0) > now:
                continue
            asked = tuple(self._missing[-MAX_NODE_HASHES:])
            del self._missing[-MAX_NODE_HASHES:]
            self._pending[peer] = (asked, now + self.request_timeout)
            self.requests += 1
            requests.append((peer, GetNodes(asked)))
        return requests

    def on_nodes(self, peer: bytes, message: Nodes) -> list[tuple[bytes, bytes, bytes]]:
        """Check a reply: entry i must be the node asked for in place i (a
        leaf with the state key its tree key hashes). Returns the checked
        ``(hash, record, state key)``; the hashes not answered are wanted
        again. Raises StateSyncError for a wrong record (nothing is taken
        from the reply); None-like: an unasked reply returns []."""
        pending = self._pending.get(peer)
        if pending is None:
            return []  # late (after its deadline) or unasked: ignored
        asked, _ = pending
        if len(message.entries) > len(asked):
            raise StateSyncError("more nodes than asked for")
        checked = []
        for node_hash, (record, state_key) in zip(asked, message.entries, strict=False):
            try:
                check_record(record)
            except StateTreeError as exc:
                raise StateSyncError(f"node {node_hash.hex()}: {exc}") from exc
            if record_hash(record) != node_hash:
                raise StateSyncError(f"node {node_hash.hex()}: the record hashes otherwise")
            if record[0] == INTERNAL:
                if state_key:
                    raise StateSyncError(f"node {node_hash.hex()}: an internal node has no key")
            elif tree_key(state_key) != record[1:33]:
                raise StateSyncError(f"node {node_hash.hex()}: the state key is not the leaf's")
            checked.append((node_hash, record, state_key))
        del self._pending[peer]
        self._missing.extend(asked[len(checked) :])
        if not checked:
            self._resting[peer] = float("inf")  # it does not have this snapshot
        for _, record, _ in checked:
            self._expand(record)
        self.fetched += len(checked)
        self.bytes += payload_bytes(message)
        return checked


def flat_state(
    root: bytes, have: Callable[[bytes], NodeEntry | None]
) -> Iterator[tuple[bytes, bytes]]:
    """The (state key, value) pairs of the stored tree under ``root``.
    Raises StateSyncError if a node is missing or wrong (the import stops)."""
    stack = [] if root == EMPTY_ROOT else [root]
    while stack:
        node_hash = stack.pop()
        entry = have(node_hash)
        if entry is None:
            raise StateSyncError(f"node {node_hash.hex()} of the snapshot is not stored")
        record = entry.record
        if record_hash(check_record(record)) != node_hash:
            raise StateSyncError(f"stored node {node_hash.hex()} hashes otherwise")
        if record[0] == INTERNAL:
            stack.extend(child for child in child_hashes(record) if child != EMPTY_ROOT)
        else:
            yield entry.preimage, record[33:]


# -- choosing a snapshot ---------------------------------------------------------


@dataclass
class OfferTable:
    """The snapshots connected peers offer (one entry per peer, at most
    MAX_OFFERS heights each: ``forget`` runs when a peer leaves)."""

    offers: dict[bytes, tuple[tuple[int, bytes], ...]] = field(default_factory=dict)

    def on_offers(self, peer: bytes, message: Offers) -> None:
        self.offers[peer] = message.snapshots

    def forget(self, peer: bytes) -> None:
        self.offers.pop(peer, None)

    def lacks_above(self, peer: bytes, height: int) -> None:
        """``peer`` could not serve ``height``: its offers from there on lose."""
        kept = tuple(o for o in self.offers.get(peer, ()) if o[0] < height)
        if peer in self.offers:
            self.offers[peer] = kept

    def best_height(self) -> int:
        return max((h for offers in self.offers.values() for h, _ in offers), default=0)

    def heights(self) -> set[int]:
        return {h for offers in self.offers.values() for h, _ in offers}

    def serving(self, height: int, block_hash: bytes) -> list[bytes]:
        """The peers that offer this snapshot, in a fixed order."""
        return sorted(p for p, offers in self.offers.items() if (height, block_hash) in offers)

    def reaching(self, height: int) -> list[bytes]:
        """The peers whose offers reach ``height`` (they hold its header)."""
        return sorted(p for p, offers in self.offers.items() if any(h >= height for h, _ in offers))
