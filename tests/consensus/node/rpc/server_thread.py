"""A LocalNode and its RPC server on 127.0.0.1 (a free port), on an event
loop in a background thread, for tests that talk to a running server."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from consensus.node.local_node import LocalNode
from consensus.node.rpc.config import RpcConfig
from consensus.node.rpc.events import CommittedBlock
from consensus.node.rpc.server import RpcServer
from ledger.chain import Chain
from ledger.client.devnet import devnet_genesis_document
from ledger.genesis import Genesis, parse_genesis

T = TypeVar("T")
TIMEOUT = 30.0


def devnet_genesis() -> Genesis:
    return parse_genesis(devnet_genesis_document())


class ServerThread:
    """Start with ``ServerThread(path)``; stop with ``close()``. Blocks are
    produced only when a test calls ``produce()`` unless ``block_interval`` is given."""

    def __init__(
        self,
        path: Path,
        config: RpcConfig | None = None,
        block_interval: float | None = None,
        **node_options: Any,
    ) -> None:
        self.genesis = devnet_genesis()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.chain = Chain.open(path / "chain", self.genesis)
        self.config = config if config is not None else RpcConfig(port=0)

        async def setup() -> tuple[LocalNode, RpcServer]:
            node = LocalNode(
                self.chain, self.genesis, block_interval=block_interval or 1.0, **node_options
            )
            server = RpcServer(node, self.config)
            await server.start()
            if block_interval is not None:
                node.start()
            return node, server

        try:
            self.node, self.server = self.call(setup())
        except BaseException:
            self._shutdown_loop()
            self.chain.close()
            raise
        self.url = self.server.url

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT)

    def run(self, function: Callable[[], T]) -> T:
        """Run a plain function on the server's loop thread."""

        async def wrapper() -> T:
            return function()

        return self.call(wrapper())

    def post(self, body: bytes | Any, content_type: str = "application/json") -> tuple[int, Any]:
        """POST a body (bytes sent as is, anything else as JSON) to / and
        return the HTTP status and the decoded JSON answer (None if empty)."""
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=TIMEOUT)
        try:
            conn.request("POST", "/", body, {"Content-Type": content_type})
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return response.status, json.loads(data) if data else None

    def get(self, path: str) -> tuple[int, str, str]:
        """GET a path; returns status, content type and body text."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=TIMEOUT)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read().decode()
        finally:
            conn.close()

    def snapshot(self) -> tuple[int, bytes, int, int]:
        """What bad input must not change: height, state root, mempool size and bytes."""

        def read() -> tuple[int, bytes, int, int]:
            info = self.node.mempool_info()
            return self.chain.tip.height, self.chain.tip.state_root, info.size, info.bytes

        return self.run(read)

    def produce(self) -> CommittedBlock:
        event = self.run(self.node.produce_block)
        assert event is not None
        return event

    def close(self) -> None:
        async def teardown() -> None:
            await self.node.stop()
            await self.server.stop()

        try:
            self.call(teardown())
        finally:
            self._shutdown_loop()
            self.chain.close()

    def _shutdown_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(TIMEOUT)
        self.loop.close()
