"""Limits and listening address of the RPC server."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8545


@dataclass(frozen=True, slots=True)
class RpcConfig:
    """How the server listens and what it accepts.

    Every limit answers the question "what can one client make the node
    hold in memory or spend time on": bodies, batches, open connections,
    WebSocket subscriptions and their undelivered messages.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False  # listening on a non-loopback address needs this explicitly
    max_body_bytes: int = 1024 * 1024  # a request body (HTTP) or message (WebSocket)
    max_batch_size: int = 100  # requests in one batch
    max_connections: int = 256  # open TCP connections (HTTP keep-alive and WebSocket)
    max_ws_subscriptions: int = 32  # per WebSocket connection
    max_ws_queue: int = 1024  # undelivered notifications per WebSocket before it is closed

    def check(self) -> None:
        """Raises ValueError for limits that make no sense or a remote address
        without ``allow_remote``."""
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not in [0, 65535]")
        for name in ("max_body_bytes", "max_batch_size", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_ws_subscriptions < 0 or self.max_ws_queue < 1:
            raise ValueError("max_ws_subscriptions must be >= 0 and max_ws_queue >= 1")
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
