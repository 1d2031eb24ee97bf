"""Logical time for the engine: ticks of a fixed length, and timeouts due at a tick.

The engine counts in ticks and never reads a clock; this is the edge where
wall time becomes ticks. ``Ticker`` keeps the scheduled timeouts in a heap
and hands back, in due order, those whose tick has come.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(order=True)
class _Due(Generic[T]):
    tick: int
    sequence: int
    item: T = field(compare=False)


class Ticker(Generic[T]):
    """Timeouts keyed by the tick at which they fire (FIFO among equal ticks)."""

    def __init__(self) -> None:
        self.now = 0
        self._heap: list[_Due[T]] = []
        self._sequence = 0

    def schedule(self, after_ticks: int, item: T) -> None:
        """Fire ``item`` ``after_ticks`` ticks from now (at least one)."""
        self._sequence += 1
        heapq.heappush(self._heap, _Due(self.now + max(1, after_ticks), self._sequence, item))

    def advance(self, ticks: int = 1) -> list[T]:
        """Move time forward and return every item now due, in order."""
        self.now += ticks
        due: list[T] = []
        while self._heap and self._heap[0].tick <= self.now:
            due.append(heapq.heappop(self._heap).item)
        return due

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
