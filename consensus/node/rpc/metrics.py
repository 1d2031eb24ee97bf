"""Prometheus metrics of the node as the RPC server sees it (GET /metrics).

Each server has its own registry, so several servers (tests) can live in
one process. Block metrics come from the event hub (one observation per
commit); mempool and peer gauges are read from the node at scrape time.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .events import CommittedBlock
from .node_view import NodeView

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
_RPC_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
_INTERVAL_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_TX_BUCKETS: Final = (0, 1, 10, 100, 1000, 10000)
_ROUND_BUCKETS: Final = (1, 2, 3, 5, 10, 20)


class RpcMetrics:
    """The metric families and how they are fed."""

    def __init__(self, node: NodeView, known_methods: list[str]) -> None:
        self.node = node
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.height = Gauge("ledger_height", "Height of the last committed block", registry=r)
        self.rounds = Histogram(
            "ledger_consensus_rounds",
            "Consensus rounds needed per committed height",
            buckets=_ROUND_BUCKETS,
            registry=r,
        )
        self.block_interval = Histogram(
            "ledger_block_interval_seconds",
            "Time between consecutive block headers (header times)",
            buckets=_INTERVAL_BUCKETS,
            registry=r,
        )
        self.block_txs = Histogram(
            "ledger_block_transactions",
            "Transactions per committed block",
            buckets=_TX_BUCKETS,
            registry=r,
        )
        self.mempool_size = Gauge("ledger_mempool_size", "Transactions in the mempool", registry=r)
        self.mempool_bytes = Gauge("ledger_mempool_bytes", "Bytes in the mempool", registry=r)
        self.peers = Gauge("ledger_peers", "Connected peers", registry=r)
        self.rpc_duration = Histogram(
            "ledger_rpc_request_duration_seconds",
            "Time to answer one JSON-RPC call, by method",
            ["method"],
            buckets=_RPC_BUCKETS,
            registry=r,
        )
        self.http_refused = Counter(
            "ledger_rpc_connections_refused",
            "Connections closed at once because the connection limit was reached",
            registry=r,
        )
        self.ws_subscriptions = Gauge(
            "ledger_rpc_ws_subscriptions", "Open WebSocket subscriptions", registry=r
        )
        # Children resolved once: a label lookup per call costs more than the observation.
        self._by_method = {name: self.rpc_duration.labels(name) for name in known_methods}
        self._last_time_ms: int | None = None
        self.height.set(node.chain.tip.height)

    def observe_rpc(self, method: str, seconds: float) -> None:
        child = self._by_method.get(method)
        if child is None:
            child = self.rpc_duration.labels(method)
            self._by_method[method] = child
        child.observe(seconds)

    def on_block(self, event: CommittedBlock) -> None:
        header = event.block.header
        self.height.set(header.height)
        self.rounds.observe(event.rounds)
        self.block_txs.observe(len(event.block.transactions))
        if self._last_time_ms is not None:
            self.block_interval.observe(max(0, header.time_ms - self._last_time_ms) / 1000)
        self._last_time_ms = header.time_ms

    def render(self) -> bytes:
        """The exposition text, with the gauges read from the node now."""
        info = self.node.mempool_info()
        self.mempool_size.set(info.size)
        self.mempool_bytes.set(info.bytes)
        self.peers.set(self.node.status().peers)
        self.height.set(self.node.chain.tip.height)
        data: bytes = generate_latest(self.registry)
        return data
