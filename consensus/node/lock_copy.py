"""The lock copy: the validator's lock (lockedRound, lockedValue and its proof),
kept with the double-sign guard, apart from the WAL.

The guard (consensus.node.privval) keeps the last signed position, not the
lock. A node whose WAL is lost (moved aside after corruption, as the WAL's
recovery advice says) would otherwise restart unlocked and could prevote or
precommit a value conflicting with its earlier precommit in a later round of
the same height. The engine marks the ``Persist`` whose record carries a new
lock (``Persist.lock_changed``: the validator is about to send a precommit
for a value); the node writes that record here, durably, before the
precommit leaves, and resumes the height in progress from it when the WAL
has no record of that height (docs/spec/wal.md, "The lock outlives the WAL").

File ``HOME/data/signer_lock.bin``, replaced atomically (the guard's write:
temporary file, fsync, rename, fsync of the directory)::

    magic "LGLOCK01" (8) | sha256(payload) (32) | payload

The payload is the engine's encoded ``ConsensusRecord`` (empty when no lock
was taken yet: the file then only says that this validator keeps copies).
A file that is damaged is refused (``LockCopyError``) when it is needed,
never silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from consensus.engine.record import ConsensusRecord, RecordError, decode_record
from consensus.node.privval import replace_durably
from ledger import crypto

LOCK_COPY_MAGIC: Final = b"LGLOCK01"
HEADER_SIZE: Final = len(LOCK_COPY_MAGIC) + 32


class LockCopyError(Exception):
    """The lock copy cannot be read or written; the message says what to do."""


class LockCopy:
    """The latest record that carried a new lock, on disk beside the guard."""

    def __init__(self, path: str | Path) -> None:
        """Open the copy at ``path``; create an empty one if missing
        (``existed`` says whether it was there: a validator that ran without
        lock copies cannot know its lock without its WAL). Raises
        LockCopyError if it cannot be created."""
        self.path = Path(path)
        self.existed = self.path.exists()
        if not self.existed:
            self._write(b"")

    def save(self, record: bytes) -> None:
        """Keep ``record`` (an encoded ConsensusRecord), durable on return.
        Raises LockCopyError."""
        self._write(record)

    def load(self) -> ConsensusRecord | None:
        """The kept record (None if no lock was kept yet). Raises LockCopyError."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise LockCopyError(f"cannot read the lock copy {self.path}: {exc}") from exc
        payload = data[HEADER_SIZE:]
        intact = data[: len(LOCK_COPY_MAGIC)] == LOCK_COPY_MAGIC and data[
            len(LOCK_COPY_MAGIC) : HEADER_SIZE
        ] == crypto.sha256(payload)
        if not intact:
            raise LockCopyError(self._damaged("its checksum does not match"))
        if not payload:
            return None
        try:
            return decode_record(payload)
        except RecordError as exc:
            raise LockCopyError(self._damaged(str(exc))) from exc

    def _damaged(self, why: str) -> str:
        return (
            f"the lock copy {self.path} is damaged ({why}) and the WAL has no record of "
            "the height in progress, so this validator cannot know its lock. Restore it "
            "from a backup, or move it aside: the node then abstains for the rest of the "
            "height it last signed at (the double-sign guard still refuses conflicts)."
        )

    def _write(self, payload: bytes) -> None:
        data = LOCK_COPY_MAGIC + crypto.sha256(payload) + payload
        try:
            replace_durably(self.path, data)
        except OSError as exc:
            raise LockCopyError(f"cannot write the lock copy {self.path}: {exc}") from exc
