"""The RPC server: aiohttp routes over a NodeView.

Routes:

- ``POST /``       JSON-RPC 2.0 (``Content-Type: application/json``); HTTP 200
  for every JSON-RPC answer, errors included; 204 with an empty body when
  nothing is to be answered (notifications only); 413 for a body over the
  limit, 415 for another content type (both with a JSON-RPC error body);
- ``GET /ws``      WebSocket: JSON-RPC and subscriptions (consensus.node.rpc.websocket);
- ``GET /health``  200 ``{"status": "ok", ...}`` while the node answers;
- ``GET /status``  the same object as ``ledger_status``;
- ``GET /metrics`` Prometheus exposition;
- ``GET /``, ``GET /explorer/...`` the block explorer page (consensus.node.rpc.explorer).

The server binds 127.0.0.1 unless the config says otherwise *and* allows
remote listening. Connections beyond ``max_connections`` get a 503 and are
closed at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from types import TracebackType
from typing import Any, Final

from aiohttp import web

from ledger.rpc_errors import InvalidRequest, RpcError

from .config import RpcConfig
from .dispatch import Dispatcher
from .explorer import add_explorer_routes
from .methods import LedgerMethods, status_json
from .metrics import CONTENT_TYPE, RpcMetrics
from .node_view import NodeView
from .websocket import WebSocketSession

log = logging.getLogger("ledger.rpc.server")  # the name its log lines have always carried

JSON_CONTENT_TYPE: Final = "application/json"
_REFUSAL_TEXT: Final = b"too many open connections\n"
_REFUSAL: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_REFUSAL_TEXT), _REFUSAL_TEXT)
)


class _RefuseConnection(asyncio.Protocol):
    """Answers 503 and hangs up: what a connection beyond the limit gets."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_REFUSAL)
        transport.close()


def _error_response(status: int, error: RpcError) -> web.Response:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error.to_json()})
    return web.Response(status=status, text=body, content_type=JSON_CONTENT_TYPE)


class RpcServer:
    """JSON-RPC, WebSocket, health, status and metrics for one node."""

    def __init__(self, node: NodeView, config: RpcConfig | None = None) -> None:
        """Raises ValueError for an invalid config (see RpcConfig.check)."""
        self.config = config if config is not None else RpcConfig()
        self.config.check()
        self.node = node
        self.methods = LedgerMethods(node)
        table = self.methods.table()
        known = [*table, "ledger_subscribe", "ledger_unsubscribe"]
        self.metrics = RpcMetrics(node, known)
        self.dispatcher = Dispatcher(table, self.config.max_batch_size, self.metrics.observe_rpc)
        self.app = web.Application(client_max_size=self.config.max_body_bytes)
        self.app.router.add_post("/", self.handle_rpc)
        self.app.router.add_get("/ws", self.handle_ws)
        self.app.router.add_get("/health", self.handle_health)
        self.app.router.add_get("/status", self.handle_status)
        self.app.router.add_get("/metrics", self.handle_metrics)
        add_explorer_routes(self.app)
        self._runner: web.AppRunner | None = None
        self._listening: asyncio.Server | None = None
        self._port: int | None = None
        self._open_connections = 0
        self._listener: int | None = None

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        assert self._port is not None, "server not started"
        return self._port

    @property
    def url(self) -> str:
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve. Raises OSError if the address is taken."""
        self._listener = self.node.events.add_listener(self.metrics.on_block)
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await runner.setup()
        self._runner = runner
        server = runner.server
        assert server is not None
        forget = server.connection_lost

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            self._open_connections -= 1
            forget(handler, exc)

        # aiohttp's Server is told of every connection's end: count them down there.
        server.connection_lost = connection_lost  # type: ignore[method-assign]

        def protocol_factory() -> asyncio.BaseProtocol:
            if self._open_connections >= self.config.max_connections:
                self.metrics.http_refused.inc()
                return _RefuseConnection()
            self._open_connections += 1
            return server()

        loop = asyncio.get_running_loop()
        try:
            self._listening = await loop.create_server(
                protocol_factory, self.config.host, self.config.port, reuse_address=True
            )
        except OSError:
            await self.stop()
            raise
        self._port = self._listening.sockets[0].getsockname()[1]
        log.info("JSON-RPC listening on %s", self.url)

    async def stop(self) -> None:
        if self._listener is not None:
            self.node.events.remove_listener(self._listener)
            self._listener = None
        if self._listening is not None:
            self._listening.close()
            self._listening = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RpcServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- routes ---------------------------------------------------------------
    async def handle_rpc(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != JSON_CONTENT_TYPE:
            return _error_response(415, InvalidRequest(f"Content-Type must be {JSON_CONTENT_TYPE}"))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = self.config.max_body_bytes
            return _error_response(
                413, InvalidRequest(f"request body exceeds {limit} bytes", {"limit": limit})
            )
        reply = await self.dispatcher.handle_body(body)
        if reply is None:
            return web.Response(status=204)
        return web.Response(text=reply, content_type=JSON_CONTENT_TYPE)

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=self.config.max_body_bytes, heartbeat=30.0)
        await ws.prepare(request)
        await WebSocketSession(self, ws).run()
        return ws

    async def handle_health(self, request: web.Request) -> web.Response:
        try:
            status = self.node.status()
            height = self.node.chain.tip.height
        except Exception:
            log.exception("health check failed")
            return web.json_response({"status": "error"}, status=503)
        return web.json_response(
            {"status": "ok", "height": height, "catchingUp": status.catching_up}
        )

    async def handle_status(self, request: web.Request) -> web.Response:
        return web.json_response(status_json(self.node))

    async def handle_metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response
