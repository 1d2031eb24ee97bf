"""State sync's two sides on a node: ``SnapshotServer`` (every node: offers
snapshots and answers requests, bounded per request and rate-limited per
peer) and ``StateSyncClient`` (a joining node: verifies the header chain,
fetches the tree, imports). The protocol and its checks are in
consensus.node.statesync; docs/adr/0025-state-sync.md has the design.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from consensus.engine.validators import ValidatorSet
from consensus.node.p2p import PeerMisbehaved
from consensus.node.serve_budget import ServeBudget
from consensus.node.statesync import (
    MAX_HEADERS,
    MAX_OFFERS,
    MAX_REPLY_BYTES,
    SERVE_READ_BYTES,
    GetHeaders,
    GetNodes,
    HeaderChain,
    HeaderEntry,
    HeaderRequests,
    Headers,
    NodeFetcher,
    Nodes,
    Offers,
    OfferTable,
    StateSyncError,
    StateSyncMessage,
    flat_state,
    payload_bytes,
)
from ledger import codec
from ledger.chain import Chain, proven_schedule
from ledger.state_tree import StateTree
from ledger.store import Store
from ledger.transition import ChainTip
from ledger.types import MAX_BLOCK_SIZE

log = logging.getLogger("consensus.statesync")

OFFERED_SNAPSHOTS: Final = 2  # heights a server offers (of MAX_OFFERS allowed)
Send = Callable[[bytes, StateSyncMessage], None]


class SnapshotServer:
    """Offers the newest kept states at multiples of ``interval`` and answers
    GetHeaders / GetNodes. Reads at most SERVE_READ_BYTES per request and
    answers at most ``rate`` requests per peer and second, within the node's
    serving ``budget`` (bytes read and sent, per peer and in total; shared
    with block sync). The rest are dropped: the asker times out and asks
    another peer."""

    def __init__(
        self, chain: Chain, send: Send, interval: int, rate: int, budget: ServeBudget
    ) -> None:
        self.chain = chain
        self.send = send
        self.interval = interval
        self.budget = budget
        unbounded = float("inf")
        self._requests = ServeBudget(rate, unbounded, unbounded)  # state sync's own rate

    @property
    def dropped(self) -> int:
        """Requests dropped past the per-peer request rate."""
        return self._requests.dropped

    def offers(self) -> Offers:
        """The snapshots this node can serve now (none unless it can serve
        the header chain from genesis, ``serves_headers``); the oldest one
        also becomes the chain's ``state_floor``, so pruning keeps it while
        it is offered."""
        store = self.chain.store
        found: list[tuple[int, bytes]] = []
        if self.interval > 0 and self.serves_headers():
            height = self.chain.tip.height // self.interval * self.interval
            while height > 0 and len(found) < OFFERED_SNAPSHOTS:
                block_hash = store.load_kept_block_hash(height)
                if block_hash is None or store.load_certificate(height) is None:
                    break
                found.append((height, block_hash))
                height -= self.interval
        self.chain.state_floor = found[-1][0] if found else None
        return Offers(tuple(found[:MAX_OFFERS]))

    def serves_headers(self) -> bool:
        """Whether this node holds, for every height from 1 to its tip, the
        block, its certificate and the proven validator schedule: a joiner
        verifies the header chain from genesis. The schedule comes from the
        block's ``V`` record, or, below the first one (a store from before
        they were written), from the state, which must then all be kept."""
        store = self.chain.store
        if store.blocks_from() > 1:
            return False
        return store.schedule_from() <= 1 or store.state_from() == 0

    def forget(self, peer: bytes) -> None:
        self._requests.forget(peer)

    def on_request(self, peer: bytes, message: GetHeaders | GetNodes, now: float) -> None:
        if not self._requests.allow(peer, now) or not self.budget.allow(peer, now):
            return
        if isinstance(message, GetHeaders):
            headers, cost = self._headers(message)
            self.send(peer, headers)
        else:
            nodes = self.nodes(message)
            self.send(peer, nodes)
            cost = sum(len(record) + len(preimage) for record, preimage in nodes.entries)
        self.budget.charge(peer, cost)

    def headers(self, request: GetHeaders) -> Headers:
        """Headers from ``request.first`` on, each with its certificate and
        the proven validator schedule of its state (the block's ``V``
        record, or the state if kept); stops at the first height this node
        cannot serve whole, or past its read budget."""
        return self._headers(request)[0]

    def _headers(self, request: GetHeaders) -> tuple[Headers, int]:
        """``headers`` and the bytes it read and will send."""
        store = self.chain.store
        entries: list[HeaderEntry] = []
        read = size = 0
        tree = StateTree(store, cache_size=0)
        for height in range(request.first, request.first + min(request.count, MAX_HEADERS)):
            if height > self.chain.tip.height or read > SERVE_READ_BYTES:
                break
            raw = store.load_block_bytes(height)
            certificate = store.load_certificate(height)
            proven = store.load_schedule(height) or _schedule_from_state(store, tree, height)
            if raw is None or certificate is None or proven is None:
                break
            read += len(raw)
            header = codec.encode(codec.decode(raw, max_size=MAX_BLOCK_SIZE)[0])
            entry = HeaderEntry(header, certificate, *proven)
            entries.append(entry)
            size += len(header) + len(certificate) + len(entry.schedule) + len(entry.proof)
            if size > MAX_REPLY_BYTES:
                break
        return Headers(request.first, tuple(entries)), read + size

    def nodes(self, request: GetNodes) -> Nodes:
        """The records (with a leaf's state key) of the nodes asked for, in
        order, up to the first one not stored or past MAX_REPLY_BYTES."""
        store = self.chain.store
        entries: list[tuple[bytes, bytes]] = []
        size = 0
        for node_hash in request.hashes:
            entry = store.get_node_entry(node_hash)
            if entry is None or size > MAX_REPLY_BYTES:
                break
            entries.append((entry.record, entry.preimage))
            size += len(entry.record) + len(entry.preimage)
        return Nodes(tuple(entries))


def _schedule_from_state(store: Store, tree: StateTree, height: int) -> tuple[bytes, bytes] | None:
    """The validator schedule after block ``height`` and its encoded proof,
    read from that height's state (None if the state is pruned or holds no
    schedule): for heights stored before ``V`` records were written."""
    root = store.load_state_root(height)
    return proven_schedule(tree.at_root(root)) if root is not None else None


@dataclass
class SyncReport:
    """What a state sync did (logged, and read by bench.state_sync)."""

    height: int = 0
    headers: int = 0
    header_bytes: int = 0
    nodes_fetched: int = 0
    nodes_local: int = 0
    node_bytes: int = 0
    requests: int = 0
    state_entries: int = 0
    seconds: float = 0.0


class StateSyncClient:
    """A joining node's state sync, driven by ``step`` (the node's sync loop,
    and after every reply) and the ``on_*`` handlers, which raise
    PeerMisbehaved for a reply that is provably wrong (the peer is banned)."""

    def __init__(
        self,
        chain: Chain,
        genesis_set: ValidatorSet,
        send: Send,
        record_key: Callable[[int], bytes],
        request_timeout: float,
        offer_wait: float,
        punish: Callable[[bytes, str], None],
    ) -> None:
        """``punish(peer, reason)`` bans a peer whose reply proved bad after
        its handler returned (a reply that waited for its turn)."""
        self.chain = chain
        self.send = send
        self.punish = punish
        self.record_key = record_key
        self.request_timeout = request_timeout
        self.offer_wait = offer_wait
        store = chain.store
        self.headers = HeaderChain(chain.chain_id, store.load_genesis_hash(), genesis_set)
        self.offers = OfferTable()
        self.phase = "offers"
        self._first_offer_at: float | None = None
        self._started_at: float | None = None
        self._header_requests = HeaderRequests()
        self._resting: dict[bytes, float] = {}
        self._turn = 0
        self.snapshot: tuple[int, bytes] | None = None  # (height, block hash)
        self.fetcher: NodeFetcher | None = None
        self.report = SyncReport()

    # -- messages ---------------------------------------------------------------
    def on_offers(self, peer: bytes, message: Offers, now: float) -> None:
        self.offers.on_offers(peer, message)
        if message.snapshots and self._first_offer_at is None:
            self._first_offer_at = now
            self._started_at = now

    def forget(self, peer: bytes) -> None:
        self.offers.forget(peer)
        self._resting.pop(peer, None)
        self._header_requests.forget(peer)
        if self.fetcher is not None:
            self.fetcher.forget(peer)

    def on_headers(self, peer: bytes, message: Headers) -> None:
        """Take a reply (late or unasked ones are ignored) and verify, in
        order, every reply whose turn has come. Raises PeerMisbehaved for an
        entry that fails its checks: the sender of that reply is banned
        (when the reply waited, it may not be ``peer``: then the node bans
        the right one through ``punish``)."""
        requests = self._header_requests
        if not requests.answered(peer, message.first, message.entries):
            return
        if not message.entries:
            self.offers.lacks_above(peer, message.first)
            return
        self.report.header_bytes += payload_bytes(message)
        while (ready := requests.ready(self.headers.height)) is not None:
            sender, entries = ready
            end = self.headers.height + 1 + len(entries)
            try:
                for entry in entries:
                    self.headers.verify(entry)
                    self.report.headers += 1
            except StateSyncError as exc:
                failed = self.headers.height + 1
                requests.gaps.append((failed, end - failed))  # asked again, elsewhere
                if sender == peer:
                    raise PeerMisbehaved(f"state sync: {exc}") from exc
                self.punish(sender, f"state sync: {exc}")
                return

    def on_nodes(self, peer: bytes, message: Nodes) -> None:
        if self.fetcher is None or self.snapshot is None:
            return
        try:
            checked = self.fetcher.on_nodes(peer, message)
        except StateSyncError as exc:
            raise PeerMisbehaved(f"state sync: {exc}") from exc
        if checked:
            self.chain.store.put_synced_nodes(checked, self.snapshot[0])

    # -- progress ---------------------------------------------------------------
    def step(self, now: float) -> bool:
        """Send what is due; True once the snapshot is imported."""
        if self.phase == "offers":
            if self._first_offer_at is None or now - self._first_offer_at < self.offer_wait:
                return False
            self.phase = "headers"
        if self.phase == "headers":
            self._step_headers(now)
        if self.phase == "nodes":
            return self._step_nodes(now)
        return False

    def _step_headers(self, now: float) -> None:
        chain = self.headers
        for height in self.offers.heights():
            if height > chain.height:
                chain.wanted.add(height)
        if chain.height >= self.offers.best_height() > 0:
            for height in sorted(chain.kept, reverse=True):
                verified = chain.kept[height]
                if self.offers.serving(height, verified.header.hash):
                    self._choose(height, now)
                    return
        requests = self._header_requests
        for peer in requests.expired(now):
            self._resting[peer] = now + 2 * self.request_timeout
        while (wanted := requests.next_range(chain.height, self.offers.best_height())) is not None:
            first, count = wanted
            peers = [
                p
                for p in self.offers.reaching(first + count - 1)
                if self._resting.get(p, 0.0) <= now and not requests.busy(p)
            ]
            if not peers:
                return
            self._turn += 1
            peer = peers[self._turn % len(peers)]
            requests.ask(first, count, peer, now + self.request_timeout)
            self.send(peer, GetHeaders(first, count))

    def _choose(self, height: int, now: float) -> None:
        verified = self.headers.kept[height]
        self.snapshot = (height, verified.header.hash)
        self.fetcher = NodeFetcher(
            verified.header.state_root, self.chain.store.get_node_entry, self.request_timeout
        )
        self.phase = "nodes"
        log.info(
            "height=0 state sync: snapshot %d (%s) chosen, %d headers verified; fetching its state",
            height,
            verified.header.hash.hex()[:16],
            self.headers.height,
        )

    def _step_nodes(self, now: float) -> bool:
        fetcher = self.fetcher
        assert fetcher is not None and self.snapshot is not None
        fetcher.expire(now)
        fetcher.look_locally()
        for peer, request in fetcher.next_requests(self.offers.serving(*self.snapshot), now):
            self.send(peer, request)
        if not fetcher.done():
            return False
        self._import(now)
        return True

    def _import(self, now: float) -> None:
        assert self.snapshot is not None and self.fetcher is not None
        height, _ = self.snapshot
        verified = self.headers.kept[height]
        header = verified.header
        store = self.chain.store
        tip = ChainTip(height, header.hash, header.time_ms, header.state_root)
        records = {
            self.record_key(height): verified.validators.encode(),
            self.record_key(height + 1): verified.next_validators.encode(),
        }
        entries = store.finish_snapshot(
            tip,
            flat_state(header.state_root, store.get_node_entry),
            verified.certificate,
            records,
        )
        self.chain.reload_tip()
        report = self.report
        report.height = height
        report.nodes_fetched = self.fetcher.fetched
        report.nodes_local = self.fetcher.local
        report.node_bytes = self.fetcher.bytes
        report.requests = self.fetcher.requests
        report.state_entries = entries
        report.seconds = now - (self._started_at if self._started_at is not None else now)
        self.phase = "done"
        log.info(
            "height=%d state sync: imported snapshot=%d headers=%d header_bytes=%d nodes=%d "
            "nodes_local=%d node_bytes=%d requests=%d state_entries=%d seconds=%.3f",
            height,
            height,
            report.headers,
            report.header_bytes,
            report.nodes_fetched,
            report.nodes_local,
            report.node_bytes,
            report.requests,
            report.state_entries,
            report.seconds,
        )
