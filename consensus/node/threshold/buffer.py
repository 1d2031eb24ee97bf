"""Envelopes that arrived before this node started their attempt.

Nodes commit at slightly different moments, so a member's first messages
of an attempt can arrive before this node has started it. They are kept
here, bounded (issue 14 section 5): the service only offers envelopes from
the ceremony's members (or, for a ceremony this node has not seen yet, from
validators and for the next few ceremony ids), and this buffer caps what
one sender and everyone together may hold, in envelopes and in bytes, and
forgets what it kept for ``expiry_blocks`` without use.

Pure bookkeeping: no I/O, no clock (heights are passed in).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

MAX_ENVELOPES: Final = 4096
MAX_BYTES: Final = 32 * 1024 * 1024
MAX_BYTES_PER_SENDER: Final = 4 * 1024 * 1024
EXPIRY_BLOCKS: Final = 20

RunId = tuple[int, int]  # (ceremony id, attempt)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Kept(Generic[T]):
    item: T
    sender: bytes
    size: int
    height: int  # when it arrived


class EnvelopeBuffer(Generic[T]):
    """Items (envelopes) by run, with caps per sender and in total, and expiry."""

    def __init__(
        self,
        max_envelopes: int = MAX_ENVELOPES,
        max_bytes: int = MAX_BYTES,
        max_bytes_per_sender: int = MAX_BYTES_PER_SENDER,
        expiry_blocks: int = EXPIRY_BLOCKS,
    ) -> None:
        self.max_envelopes = max_envelopes
        self.max_bytes = max_bytes
        self.max_bytes_per_sender = max_bytes_per_sender
        self.expiry_blocks = expiry_blocks
        self._runs: dict[RunId, list[_Kept[T]]] = {}
        self._count = 0
        self._bytes = 0
        self._by_sender: Counter[bytes] = Counter()

    def __len__(self) -> int:
        return self._count

    @property
    def size(self) -> int:
        """Bytes kept."""
        return self._bytes

    def runs(self) -> list[RunId]:
        return sorted(self._runs)

    def add(self, run_id: RunId, item: T, sender: bytes, size: int, height: int) -> bool:
        """Keep ``item`` unless a cap would be exceeded; whether it was kept."""
        if (
            self._count >= self.max_envelopes
            or self._bytes + size > self.max_bytes
            or self._by_sender[sender] + size > self.max_bytes_per_sender
        ):
            return False
        self._runs.setdefault(run_id, []).append(_Kept(item, sender, size, height))
        self._count += 1
        self._bytes += size
        self._by_sender[sender] += size
        return True

    def take(self, run_id: RunId) -> list[T]:
        """Everything kept for ``run_id``, in arrival order (and forget it)."""
        return [kept.item for kept in self._remove(run_id)]

    def drop(self, run_id: RunId) -> None:
        self._remove(run_id)

    def expire(self, height: int) -> None:
        """Forget what arrived ``expiry_blocks`` or more before ``height``."""
        for run_id in list(self._runs):
            kept = self._runs[run_id]
            fresh = [k for k in kept if height - k.height < self.expiry_blocks]
            if len(fresh) == len(kept):
                continue
            self._remove(run_id)
            if fresh:
                self._runs[run_id] = fresh
                for k in fresh:
                    self._count += 1
                    self._bytes += k.size
                    self._by_sender[k.sender] += k.size

    def _remove(self, run_id: RunId) -> list[_Kept[T]]:
        kept = self._runs.pop(run_id, [])
        for k in kept:
            self._count -= 1
            self._bytes -= k.size
            self._by_sender[k.sender] -= k.size
            if self._by_sender[k.sender] <= 0:
                del self._by_sender[k.sender]
        return kept
