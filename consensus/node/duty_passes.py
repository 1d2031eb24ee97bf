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
        if self._closed:
            return
        bodies = done.result() if not done.cancelled() else []
        for body in bodies:
            self._send(body)
        if self._latest > height and not self._closed:
            self._start_pass()

    async def close(self) -> None:
        """Start no more passes and wait, off the event loop, for the worker
        to finish the one in progress (it reads the store, which closes
        next). Bodies it makes are not sent. The wait is on the thread, not
        on the pass's future: that future belongs to the loop that started
        the pass, which may be gone (a node driven by several event loops,
        as in tests, used to wait 30 s here for nothing)."""
        self._closed = True
        await asyncio.to_thread(self._worker.shutdown, wait=True)
