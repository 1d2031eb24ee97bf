"""The mempool journal: accepted transactions on disk, so a restart keeps them.

The mempool (consensus.node.mempool) is memory only; this file beside the
store (HOME/data/mempool.journal) records every transaction it accepts,
before the node answers the client that sent it. On start the node reads
the journal back, offers every transaction to the fresh mempool again (in
the order they were accepted; those already committed or no longer valid
are refused as any other), and rewrites the journal with what was kept.

Format: records ``[length: 4 bytes big-endian][transaction bytes]``,
appended with one ``write`` per accepted batch. A record is read back only
if it is whole and at most MAX_TX_SIZE bytes; reading stops at the first
that is not (the tail a crash cut short), and the rewrite drops it.

Durability: an append reaches the kernel before the node answers, so a
transaction survives the node process dying at any instant (kill -9). The
journal is fsynced once per committed block (``sync``) and on every
rewrite, so an operating-system crash or power loss loses at most what was
accepted since the last commit.

Bounded: after a commit the journal is rewritten with the mempool's
contents once it holds more than twice their bytes plus REWRITE_SLACK, so
it stays within about twice the mempool's byte limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from ledger.types import MAX_TX_SIZE, Transaction

HEADER_SIZE: Final = 4
REWRITE_SLACK: Final = 1024 * 1024


class MempoolJournal:
    """An append-only file of accepted transactions (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the journal at ``path``. Raises OSError."""
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        """Bytes in the journal file."""
        return self._size

    def recover(self) -> list[bytes]:
        """The transactions recorded, oldest first, up to the first record
        that is cut short or too long."""
        data = self.path.read_bytes()
        out: list[bytes] = []
        offset = 0
        while offset + HEADER_SIZE <= len(data):
            length = int.from_bytes(data[offset : offset + HEADER_SIZE], "big")
            end = offset + HEADER_SIZE + length
            if length > MAX_TX_SIZE or end > len(data):
                break
            out.append(data[offset + HEADER_SIZE : end])
            offset = end
        return out

    def append(self, txs: Sequence[Transaction]) -> None:
        """Record ``txs`` (one write). Raises OSError."""
        record = b"".join(len(raw).to_bytes(HEADER_SIZE, "big") + raw for raw in _raw(txs))
        written = 0
        while written < len(record):  # a short write on a full disk raises on the next call
            written += os.write(self._fd, record[written:])
        self._size += len(record)

    def sync(self) -> None:
        """fsync what was appended (once per committed block). Raises OSError."""
        os.fsync(self._fd)

    def needs_rewrite(self, held_bytes: int) -> bool:
        """Is the journal much larger than the ``held_bytes`` the mempool holds?"""
        return self._size > 2 * held_bytes + REWRITE_SLACK

    def rewrite(self, txs: Iterable[Transaction]) -> None:
        """Replace the journal with ``txs`` (what the mempool holds now):
        written to a temporary file, fsynced, renamed over. Raises OSError."""
        temporary = self.path.with_name(self.path.name + ".tmp")
        record = b"".join(len(raw).to_bytes(HEADER_SIZE, "big") + raw for raw in _raw(txs))
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            written = 0
            while written < len(record):
                written += os.write(fd, record[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = len(record)

    def close(self) -> None:
        os.close(self._fd)


def _raw(txs: Iterable[Transaction]) -> Iterable[bytes]:
    return (tx.encode() for tx in txs)
