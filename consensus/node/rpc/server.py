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
remote listening. Every request first passes the Host and Origin checks
(consensus.node.rpc.access; 403 otherwise). Open connections are bounded
and each may wait on its client only so long (consensus.node.rpc.connections):
a new connection beyond ``max_connections`` evicts the one that has waited
longest, and gets a 503 only when every slot is busy. Replies are bounded
by ``max_reply_bytes`` (consensus.node.rpc.dispatch).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final

from aiohttp import web

from ledger.rpc_errors import Forbidden, InvalidRequest, RpcError

from .access import AccessPolicy
from .config import RpcConfig
from .connections import EVICTED, ConnectionTable, Phase
from .dispatch import Dispatcher
from .explorer import add_explorer_routes
from .methods import LedgerMethods, status_json
from .metrics import CONTENT_TYPE, RpcMetrics
from .node_view import NodeView
from .websocket import WebSocketSession

log = logging.getLogger("ledger.rpc.server")  # the name its log lines have always carried

JSON_CONTENT_TYPE: Final = "application/json"
_REFUSAL_TEXT: Final = b"too many open connections\n"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REFUSAL: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_REFUSAL_TEXT), _REFUSAL_TEXT)
)


def _error_response(status: int, error: RpcError) -> web.Response:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error.to_json()})
    return web.Response(status=status, text=body, content_type=JSON_CONTENT_TYPE)


def _forbidden(request: web.Request, reason: str) -> web.Response:
    """403: a JSON-RPC error body for ``POST /``, a line of text elsewhere."""
    if request.method == "POST" and request.path == "/":
        return _error_response(403, Forbidden(reason))
    return web.Response(status=403, text=f"forbidden: {reason}\n")


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
        self.dispatcher = Dispatcher(
            table,
            self.config.max_batch_size,
            self.metrics.observe_rpc,
            max_reply_bytes=self.config.max_reply_bytes,
        )
        self.access = AccessPolicy.of(
            self.config.host, self.config.allowed_hosts, self.config.allowed_origins
        )
        self.app = web.Application(
            client_max_size=self.config.max_body_bytes,
            middlewares=[self._track_phase, self.access.middleware(_forbidden)],
        )
        self.app.router.add_post("/", self.handle_rpc)
        self.app.router.add_get("/ws", self.handle_ws)
        self.app.router.add_get("/health", self.handle_health)
        self.app.router.add_get("/status", self.handle_status)
        self.app.router.add_get("/metrics", self.handle_metrics)
        add_explorer_routes(self.app)
        self._runner: web.AppRunner | None = None
        self._listening: asyncio.Server | None = None
        self._port: int | None = None
        self._listener: int | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.connections: ConnectionTable | None = None

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
        loop = asyncio.get_running_loop()
        config = self.config
        table = ConnectionTable(
            config.max_connections,
            config.idle_timeout,
            config.io_timeout,
            loop.time,
            lambda reason: (
                self.metrics.http_evicted if reason == EVICTED else self.metrics.http_expired
            ).inc(),
        )
        self.connections = table
        # aiohttp's own keep-alive timer is only a backstop behind the table's deadlines.
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=2.0,
            keepalive_timeout=2 * config.idle_timeout + config.io_timeout,
        )
        await runner.setup()
        self._runner = runner
        server = runner.server
        assert server is not None
        remember, forget = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            remember(handler, transport)
            if not table.admit(handler, transport.abort):
                self.metrics.http_refused.inc()
                transport.write(_REFUSAL)
                transport.close()

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            table.forget(handler)
            forget(handler, exc)

        # aiohttp's Server hears of every connection's start and end (with its
        # transport, so an evicted connection can always be closed): track them there.
        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

        try:
            self._listening = await loop.create_server(
                server, config.host, config.port, reuse_address=True
            )
        except OSError:
            await self.stop()
            raise
        self._port = self._listening.sockets[0].getsockname()[1]
        self._sweeper = loop.create_task(self._sweep_forever(table), name="rpc-sweeper")
        log.info("JSON-RPC listening on %s", self.url)

    async def _sweep_forever(self, table: ConnectionTable) -> None:
        while True:
            await asyncio.sleep(table.sweep_interval)
            table.sweep()

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
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

    # -- connection phases --------------------------------------------------------
    @web.middleware
    async def _track_phase(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The node works for a request from its headers on; once the handler
        is done, the connection waits for the client's next request."""
        table, key = self.connections, request.protocol
        assert table is not None
        if table.phase(key) is None:  # closed (evicted, expired) before its request ran
            return web.Response(status=400)  # never sent: nobody is there to read it
        table.working(key)
        try:
            return await handler(request)
        finally:
            if table.phase(key) is not Phase.PINNED:
                table.wait_for_request(key)

    # -- routes ---------------------------------------------------------------
    async def handle_rpc(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != JSON_CONTENT_TYPE:
            return _error_response(415, InvalidRequest(f"Content-Type must be {JSON_CONTENT_TYPE}"))
        table, key = self.connections, request.protocol
        assert table is not None
        table.wait_for_io(key)  # the body comes at the client's pace
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = self.config.max_body_bytes
            return _error_response(
                413, InvalidRequest(f"request body exceeds {limit} bytes", {"limit": limit})
            )
        except ConnectionError:
            return web.Response(status=400)  # closed by its deadline or its client: not sent
        table.working(key)
        reply = await self.dispatcher.handle_body(body)
        response = (
            web.Response(status=204)
            if reply is None
            else web.Response(text=reply, content_type=JSON_CONTENT_TYPE)
        )
        table.wait_for_io(key)  # and the reply leaves at the pace the client reads it
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            await response.write_eof()
        return response

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        table, key = self.connections, request.protocol
        assert table is not None
        limit = self.config.max_ws_connections
        if table.count(Phase.PINNED) >= limit:
            self.metrics.http_refused.inc()
            return web.Response(status=503, text=f"too many WebSocket sessions (at most {limit})\n")
        table.pin(key)
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
