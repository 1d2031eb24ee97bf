"""The explorer's routes on the RPC server: the page and its assets with a
same-origin Content-Security-Policy, redirects to it, nothing outside its
folder, and JSON-RPC on POST / unchanged."""

from __future__ import annotations

import http.client
import re
from pathlib import Path

import pytest

from consensus.node.rpc.explorer import STATIC_DIR, explorer_url

from .server_thread import ServerThread


def request(served: ServerThread, method: str, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", served.server.port, timeout=10)
    conn.request(method, path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_the_page_and_its_assets_are_served(served: ServerThread) -> None:
    status, content_type, body = served.get("/explorer/")
    assert status == 200 and content_type.startswith("text/html")
    referenced = re.findall(r'(?:src|href)="([\w.]+\.(?:js|css|svg))"', body)
    assert set(referenced) == {"app.js", "explorer.css", "favicon.svg"}
    modules = set()
    for path in STATIC_DIR.glob("*.js"):
        modules.update(re.findall(r'from "\./([\w.]+)"', path.read_text()))
    for name in {*referenced, *modules}:
        status, content_type, _ = served.get(f"/explorer/{name}")
        assert status == 200, name
        expected = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
        assert content_type.startswith(expected[name.rsplit(".", 1)[1]]), name
    response = request(served, "GET", "/explorer/app.js")
    policy = response.getheader("Content-Security-Policy", "")
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert explorer_url(served.url) == served.url + "/explorer/"


# Any URL but the SVG namespace and loopback (named in comments) would be a fetch from elsewhere.
ELSEWHERE = re.compile(r"https?://(?!www\.w3\.org/2000/svg|127\.0\.0\.1|localhost)")


def test_the_page_uses_nothing_from_elsewhere() -> None:
    for path in STATIC_DIR.iterdir():
        text = path.read_text()
        assert not ELSEWHERE.search(text), path.name
        assert "@import" not in text and "url(" not in text, path.name


def test_redirects_to_the_page(served: ServerThread) -> None:
    root = request(served, "GET", "/")
    assert root.status == 303 and root.getheader("Location") == "/explorer/"
    bare = request(served, "GET", "/explorer")
    assert bare.status == 301 and bare.getheader("Location") == "/explorer/"


@pytest.mark.parametrize(
    "path",
    [
        "/explorer/__init__.py",
        "/explorer/../__init__.py",
        "/explorer/%2e%2e/__init__.py",
        "/explorer/..%2f__init__.py",
        "/explorer/static/app.js",
        "/explorer/nothing.js",
        "/explorer/app.js/",
    ],
)
def test_nothing_outside_the_folder(served: ServerThread, path: str) -> None:
    assert request(served, "GET", path).status == 404


def test_json_rpc_still_answers_on_post(served: ServerThread) -> None:
    status, answer = served.post({"jsonrpc": "2.0", "id": 1, "method": "ledger_chainId"})
    assert status == 200 and answer["result"] == "ledger-devnet-1"
    assert request(served, "POST", "/explorer/").status == 405


def test_static_folder_holds_only_servable_files() -> None:
    suffixes = {p.suffix for p in Path(STATIC_DIR).iterdir()}
    assert suffixes <= {".html", ".js", ".css", ".svg"}
