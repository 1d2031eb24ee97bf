"""Host and Origin checks: a web page in the operator's browser cannot drive the node.

Two browser attacks reach an RPC server on loopback:

- **cross-origin requests**: a page from ``https://evil.example`` posts to
  ``http://127.0.0.1:8545/`` or opens ``ws://127.0.0.1:8545/ws``. The
  browser sends the page's origin in the ``Origin`` header (for every POST
  and every WebSocket handshake), so the server refuses any Origin other
  than its own (``scheme://`` + the request's Host) and the configured
  ``allowed_origins``;
- **DNS rebinding**: ``evil.example`` resolves first to the attacker, then to
  127.0.0.1, so the page's requests are same-origin in the browser's eyes
  but carry ``Host: evil.example:8545``. The server accepts as Host only
  the loopback names, the address it listens on, IP literals (a page whose
  origin is an IP literal was served by that address, so no rebinding is
  possible) and the configured ``allowed_hosts``.

Requests without an Origin header (curl, the CLI, the Python client, a
browser's own navigation to the page) pass the Origin check; every request
passes the Host check first. ``"*"`` in either list turns that check off.
The explorer page (consensus.node.rpc.explorer) calls ``POST /`` and ``/ws``
from the server's own origin, so it passes both.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES: Final = ("0.0.0.0", "::", "")
ANY: Final = "*"
_NAME: Final = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\Z")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Refusal = Callable[[web.Request, str], web.StreamResponse]


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(hostname, port)`` of a Host header value (``name``, ``name:port``,
    ``[v6]:port``), the name lower-cased without a trailing dot; None if it
    is not of that shape."""
    try:
        parts = urlsplit("//" + value)
        hostname, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not hostname or parts.username is not None or parts.path or parts.query:
        return None
    hostname = hostname.rstrip(".")
    if not (_NAME.match(hostname) or is_ip_literal(hostname)):
        return None
    return hostname, port


def is_ip_literal(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Which Host and Origin header values the server accepts."""

    hosts: frozenset[str]  # hostnames, lower case; ANY accepts every one
    origins: frozenset[str]  # scheme://host[:port], lower case; ANY accepts every one

    @classmethod
    def of(
        cls, listen_host: str, allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...]
    ) -> AccessPolicy:
        """The defaults (loopback names, the listening address) plus the configured lists."""
        hosts = {*LOOPBACK_NAMES, *(h.lower().rstrip(".") for h in allowed_hosts)}
        if listen_host not in WILDCARD_ADDRESSES:
            hosts.add(listen_host.lower().strip("[]"))
        return cls(frozenset(hosts), frozenset(o.lower().rstrip("/") for o in allowed_origins))

    def host_problem(self, host: str | None) -> str | None:
        """Why a request with this Host header is refused, or None."""
        if host is None or ANY in self.hosts:
            return None  # no Host header: not a browser (browsers always send one)
        split = split_host(host)
        if split is None:
            return f"malformed Host header {host[:100]!r}"
        hostname = split[0]
        if hostname in self.hosts or is_ip_literal(hostname):
            return None
        return (
            f"Host {hostname[:100]!r} is not allowed (a page using another name for this "
            "node is refused; add the name to rpc.allowed_hosts if you serve it under it)"
        )

    def origin_problem(self, origin: str | None, host: str | None) -> str | None:
        """Why a request with this Origin header is refused, or None."""
        if origin is None or ANY in self.origins:
            return None
        normalized = origin.lower().rstrip("/")
        if normalized in self.origins:
            return None
        parts = urlsplit(normalized)
        same_origin = (
            host is not None
            and parts.scheme in ("http", "https")
            and bool(parts.netloc)
            and _authority(parts.netloc, parts.scheme) == _authority(host.lower(), parts.scheme)
        )
        if same_origin:
            return None  # the server's own origin: its explorer page
        return (
            f"Origin {origin[:100]!r} is not allowed (pages from other origins cannot use "
            "this node; add it to rpc.allowed_origins to allow one)"
        )

    def middleware(self, refuse: Refusal) -> Middleware:
        """An aiohttp middleware that answers ``refuse(request, reason)``
        to a request failing either check, before any route runs."""

        @web.middleware
        async def check_access(request: web.Request, handler: Handler) -> web.StreamResponse:
            host = request.headers.get("Host")
            problem = self.host_problem(host) or self.origin_problem(
                request.headers.get("Origin"), host
            )
            if problem is not None:
                return refuse(request, problem)
            return await handler(request)

        return check_access


def _authority(netloc: str, scheme: str) -> str:
    """``host:port`` with the scheme's default port made explicit."""
    split = split_host(netloc)
    if split is None:
        return netloc
    hostname, port = split
    if port is None:
        port = 443 if scheme == "https" else 80
    shown = f"[{hostname}]" if ":" in hostname else hostname
    return f"{shown}:{port}"
