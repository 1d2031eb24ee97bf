"""One worker thread that runs a validator service's duties after commits.

The mint's and the mail's duties read the committed state and do
cryptography; neither may hold up the event loop. A ``DutyPasses`` runs
``work(height)`` on its own thread after a commit (one pass at a time; a
pass that falls behind runs once for the newest height heard of), then hands
each body it made to ``send`` back on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

log = logging.getLogger("consensus.node.duty_passes")

Body = TypeVar("Body")

CLOSE_WAIT_SECONDS = 30.0


class DutyPasses(Generic[Body]):
    """Passes of ``work`` on one worker thread, their bodies ``send`` on the loop."""

    def __init__(
        self, name: str, work: Callable[[int], list[Body]], send: Callable[[Body], None]
    ) -> None:
        self._name = name
        self._work = work
        self._send = send
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-duties")
        self._running: asyncio.Future[list[Body]] | None = None
        self._latest = 0  # the newest committed height heard of
        self._closed = False

    def on_committed(self, committed: Any) -> None:
        """EventHub listener: a block was committed. Starts a pass on the
        worker thread unless one is running. Never raises."""
        self._latest = max(self._latest, committed.block.height)
        if self._running is None and not self._closed:
            self._start_pass()

    def _start_pass(self) -> None:
        loop = asyncio.get_running_loop()
        height = self._latest
        self._running = loop.run_in_executor(self._worker, self._pass, height)
        self._running.add_done_callback(lambda done: self._finish_pass(done, height))

    def _pass(self, height: int) -> list[Body]:
        """On the worker thread: the bodies to submit for ``height``."""
        try:
            return self._work(height)
        except Exception:
            log.exception("%s: the duties of height %d failed", self._name, height)
            return []

    def _finish_pass(self, done: asyncio.Future[list[Body]], height: int) -> None:
        """Back on the event loop: submit what the pass made, start the next."""
        self._running = None
        bodies = done.result() if not done.cancelled() else []
        for body in bodies:
            self._send(body)
        if self._latest > height and not self._closed:
            self._start_pass()

    async def close(self) -> None:
        """Wait for the pass in progress (it reads the store), then stop the worker."""
        self._closed = True
        running = self._running
        if running is not None:
            await asyncio.wait([running], timeout=CLOSE_WAIT_SECONDS)
        self._worker.shutdown(wait=True)
