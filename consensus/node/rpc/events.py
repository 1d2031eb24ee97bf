"""The in-process event hub: a node publishes each commit, listeners react.

The node calls ``EventHub.publish_block(block, receipts, rounds)`` once per
committed block, after ``Chain.commit_block`` has returned (so a listener
that queries the chain sees the block), on the event loop's thread.
Listeners (WebSocket subscriptions, metrics) are plain callables run
synchronously in registration order; they must not block: a slow consumer
queues and drops, it never delays the node. A listener that raises is
logged and removed; the node never sees its error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.types import Block, Receipt

log = logging.getLogger("ledger.rpc.events")  # the name its log lines have always carried


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    """One commit as listeners see it. ``rounds`` is the number of consensus
    rounds the height took (1 when the first proposal was committed)."""

    block: Block
    receipts: tuple[Receipt, ...]
    rounds: int = 1
    # Rendered JSON shared by every listener of this commit (see cached_json).
    _json_cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def cached_json(self, key: str, render: Callable[[], Any]) -> Any:
        """``render()`` once per commit and key, shared by every listener."""
        if key not in self._json_cache:
            self._json_cache[key] = render()
        return self._json_cache[key]


Listener = Callable[[CommittedBlock], None]


class EventHub:
    """Fan-out of committed blocks to in-process listeners."""

    def __init__(self) -> None:
        self._listeners: dict[int, Listener] = {}
        self._next_id = 0
        self.last: CommittedBlock | None = None

    def add_listener(self, listener: Listener) -> int:
        """Register a listener; returns a handle for remove_listener."""
        self._next_id += 1
        self._listeners[self._next_id] = listener
        return self._next_id

    def remove_listener(self, handle: int) -> None:
        self._listeners.pop(handle, None)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def publish_block(
        self, block: Block, receipts: tuple[Receipt, ...] | list[Receipt], rounds: int = 1
    ) -> None:
        """Tell every listener about a committed block. Never raises."""
        assert len(receipts) == len(block.transactions), "one receipt per transaction"
        event = CommittedBlock(block, tuple(receipts), rounds)
        self.last = event
        for handle, listener in list(self._listeners.items()):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %d failed and was removed", handle)
                self._listeners.pop(handle, None)
