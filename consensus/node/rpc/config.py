"""Limits, timeouts, listening address and Host/Origin allowlists of the RPC server."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8545
_ORIGIN: Final = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#\s]+\Z")


@dataclass(frozen=True, slots=True)
class RpcConfig:
    """How the server listens and what it accepts.

    Every limit answers the question "what can one client make the node
    hold in memory or spend time on": bodies, replies, batches, open
    connections and how long each may wait on its client, WebSocket
    sessions, their subscriptions and undelivered messages.

    ``allowed_hosts`` and ``allowed_origins`` extend the Host and Origin
    allowlists (consensus.node.rpc.access): by default only the loopback
    names, the listening address and IP literals are accepted as Host, and
    only the server's own origin as Origin; ``"*"`` accepts any.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False  # listening on a non-loopback address needs this explicitly
    max_body_bytes: int = 1024 * 1024  # a request body (HTTP) or message (WebSocket)
    max_batch_size: int = 100  # requests in one batch
    max_connections: int = 256  # open TCP connections (HTTP keep-alive and WebSocket)
    max_ws_subscriptions: int = 32  # per WebSocket connection
    max_ws_queue: int = 1024  # undelivered notifications per WebSocket before it is closed
    max_ws_connections: int = 64  # open WebSocket sessions (part of max_connections)
    max_reply_bytes: int = 32 * 1024 * 1024  # one answer (a batch's answers together)
    idle_timeout: float = 10.0  # seconds to send whole request headers (after connect, a reply)
    io_timeout: float = 60.0  # seconds to send a request body, or to read a reply
    allowed_hosts: tuple[str, ...] = ()  # more names accepted in the Host header ("*": any)
    allowed_origins: tuple[str, ...] = ()  # more origins accepted besides the server's own

    def check(self) -> None:
        """Raises ValueError for limits that make no sense or a remote address
        without ``allow_remote``."""
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not in [0, 65535]")
        for name in (
            "max_body_bytes",
            "max_batch_size",
            "max_connections",
            "max_ws_connections",
            "max_reply_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_ws_subscriptions < 0 or self.max_ws_queue < 1:
            raise ValueError("max_ws_subscriptions must be >= 0 and max_ws_queue >= 1")
        if self.max_ws_connections >= self.max_connections:
            raise ValueError("max_ws_connections must leave room for HTTP: below max_connections")
        if not (self.idle_timeout > 0 and self.io_timeout > 0):
            raise ValueError("idle_timeout and io_timeout must be positive")
        for origin in self.allowed_origins:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f'allowed origin {origin!r} is not scheme://host[:port] (or "*")')
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(
                f"refusing to listen on {self.host!r}: not a loopback address "
                "(pass allow_remote / --rpc-allow-remote to expose the RPC server)"
            )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
