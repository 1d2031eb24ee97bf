"""The block explorer: a read-only web page served by the RPC server.

The page (``static/``: HTML, CSS and ES modules, no third-party code) runs
entirely in the browser on the node's public API: JSON-RPC over ``POST /``
and subscriptions over ``/ws``, the same calls any client makes. It verifies
headers, commit certificates and account proofs itself (``static/verify.js``)
rather than trusting the answers.

Routes, added to the RPC server's own application (so every check the server
applies to its requests applies here too):

- ``GET /``           303 to ``/explorer/``;
- ``GET /explorer``   301 to ``/explorer/``;
- ``GET /explorer/``  the page; ``GET /explorer/<file>`` its assets.

Only the files present in ``static/`` when the server starts are served
(read once into memory, a few tens of KiB); any other name is 404, so no
request can reach outside the folder. Answers carry a Content-Security-Policy
that allows scripts, styles and connections to this origin only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aiohttp import web

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
EXPLORER_PATH: Final = "/explorer/"
CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Same-origin only: no CDN, no inline script, no framing by other pages.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the page, held in memory."""

    body: bytes
    content_type: str


def load_assets(folder: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every servable file of ``folder`` by name. Raises OSError if it is unreadable."""
    assets = {}
    for path in sorted(folder.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and content_type is not None:
            assets[path.name] = Asset(path.read_bytes(), content_type)
    return assets


def explorer_url(rpc_url: str) -> str:
    """The page's address on the RPC server at ``rpc_url`` (http://host:port)."""
    return rpc_url.rstrip("/") + EXPLORER_PATH


class ExplorerRoutes:
    """The page's GET handlers over the assets loaded at start."""

    def __init__(self, assets: dict[str, Asset]) -> None:
        self.assets = assets

    async def handle_root(self, request: web.Request) -> web.Response:
        raise web.HTTPSeeOther(EXPLORER_PATH)

    async def handle_bare(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(EXPLORER_PATH)

    async def handle_file(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name", "") or "index.html"
        asset = self.assets.get(name)
        if asset is None:
            raise web.HTTPNotFound(text="no such file\n")
        response = web.Response(body=asset.body)
        response.headers["Content-Type"] = asset.content_type
        response.headers.update(SECURITY_HEADERS)
        return response


def add_explorer_routes(app: web.Application) -> None:
    """Register the page's routes on the RPC server's application."""
    routes = ExplorerRoutes(load_assets())
    app.router.add_get("/", routes.handle_root)
    app.router.add_get("/explorer", routes.handle_bare)
    app.router.add_get("/explorer/", routes.handle_file)
    app.router.add_get("/explorer/{name}", routes.handle_file)
