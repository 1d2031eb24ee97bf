"""Headless Chromium for the explorer's tests, through Playwright for Python.

The browser is Debian's ``chromium`` package (``/usr/bin/chromium``; .ci/run
installs it with apt-get when it is missing), never a browser Playwright
downloads: only the package registries are reachable here. Set
``LEDGER_CHROMIUM`` to use another Chromium binary. Where neither Playwright
nor a Chromium can be found, the tests that need them are skipped with a
message that says what to install.

Screenshots go to ``test-artifacts/explorer/`` under the project root (or
``$LEDGER_TEST_ARTIFACTS/explorer``); the folder is git-ignored and kept
after the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What machines/python.md says a root, network-less Chromium needs: no sandbox
# (root), no GPU, and none of the background connections to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The Chromium binary to drive, or None if there is none."""
    configured = os.environ.get("LEDGER_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def artifacts_dir() -> Path:
    """Where screenshots are kept (created)."""
    base = Path(os.environ.get("LEDGER_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    folder = base / "explorer"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class ConsoleLog:
    """Every console message and uncaught page error of a page."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: Any) -> None:
        text = f"{message.type}: {message.text}"
        self.messages.append(text)
        if message.type == "error":
            self.errors.append(text)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright Browser) with a fresh profile; skips
    the test where Playwright or Chromium is not installed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no Chromium found: install Debian's chromium package "
            "(apt-get install chromium; .ci/run does) or set LEDGER_CHROMIUM"
        )
    with tempfile.TemporaryDirectory(prefix="ledger-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
