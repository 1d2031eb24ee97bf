"""The consensus write-ahead log: what the engine saw and what it signed, on disk
before anything is sent (persist before send).

The log is a directory of segments, one per height: ``start_height(h)``
begins segment ``h``; records appended after it belong to height ``h``. On
restart the node replays the segment of the height in progress and resumes
it. ``prune_below(h)`` deletes whole segments of older heights, which keeps
the log small once their blocks are committed.

Each record carries its length, a checksum, and how many bytes of its
segment were known to be durable (fsynced) when it was written. That last
field lets recovery tell a torn tail from corruption exactly: a crash can
only damage what was written after the last completed fsync, so a bad
record is a torn tail if and only if no valid record after it says that the
bad record's bytes had already been synced. A torn tail is truncated on
open; anything else raises ``WalCorrupted`` and the node refuses to start
(it never skips or guesses). The byte format and the rules are in
docs/spec/wal.md.

One process at a time: the directory is locked (``flock``) while open.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, NamedTuple

log = logging.getLogger("consensus.wal")

SEGMENT_MAGIC: Final = b"LGWALSEG"
SEGMENT_VERSION: Final = 1
SEGMENT_HEADER_SIZE: Final = 24  # magic 8 | version 2 | reserved 2 | height 8 | check 4
RECORD_MAGIC: Final = b"\xa5\x1e"
RECORD_HEADER_SIZE: Final = 24  # magic 2 | length 4 | synced 8 | head check 2 | check 8
DEFAULT_MAX_RECORD_SIZE: Final = 32 * 1024 * 1024
SEGMENT_SUFFIX: Final = ".wal"
LOCK_NAME: Final = "LOCK"

RECOVERY_ADVICE: Final = (
    "This is not a torn write at the end of the log, so the node will not guess "
    "which records to trust. To recover: stop the node, move the WAL directory "
    "aside (e.g. `mv {directory} {directory}.corrupt`) and start again. The node "
    "then resumes the current height without its WAL and catches up from its "
    "peers; the double-sign guard, kept in its own file, still refuses to sign "
    "anything that conflicts with what this validator signed before."
)


class WalError(Exception):
    """The WAL cannot be used as asked (locked by another process, misuse, I/O)."""


class WalCorrupted(WalError):
    """Damage that a crash cannot explain; the message tells the operator what to do."""

    def __init__(self, directory: Path, segment: Path, offset: int, reason: str) -> None:
        self.directory = directory
        self.segment = segment
        self.offset = offset
        self.reason = reason
        super().__init__(
            f"WAL segment {segment} is corrupted at byte {offset}: {reason}. "
            + RECOVERY_ADVICE.format(directory=directory)
        )


class WalEntry(NamedTuple):
    """One replayed record and the height whose segment holds it."""

    height: int
    record: bytes


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What opening the log found: segments, records of the last one, tail truncated."""

    segments: int
    last_height: int | None
    records_in_last_segment: int
    truncated_bytes: int
    truncated_at: int = 0  # offset in the last segment where the cut tail began
    truncated_reason: str = ""  # what made the tail unreadable


# -- byte format ---------------------------------------------------------------


def encode_segment_header(height: int) -> bytes:
    """The 24 bytes that open segment ``height``."""
    body = SEGMENT_MAGIC + SEGMENT_VERSION.to_bytes(2, "big") + bytes(2) + height.to_bytes(8, "big")
    return body + hashlib.sha256(body).digest()[:4]


def decode_segment_header(data: bytes) -> int:
    """The height in a segment header. Raises ValueError."""
    if len(data) < SEGMENT_HEADER_SIZE:
        raise ValueError("segment header is incomplete")
    body, check = data[:20], data[20:SEGMENT_HEADER_SIZE]
    if body[:8] != SEGMENT_MAGIC or hashlib.sha256(body).digest()[:4] != check:
        raise ValueError("segment header is not a WAL segment header (bad magic or checksum)")
    if int.from_bytes(body[8:10], "big") != SEGMENT_VERSION:
        raise ValueError(f"unsupported segment version {int.from_bytes(body[8:10], 'big')}")
    return int.from_bytes(body[12:20], "big")


def encode_record(payload: bytes, synced: int) -> bytes:
    """One record: header (magic, length, durable offset, checks) and payload."""
    head = RECORD_MAGIC + len(payload).to_bytes(4, "big") + synced.to_bytes(8, "big")
    head_check = hashlib.sha256(head).digest()[:2]
    check = hashlib.sha256(head + payload).digest()[:8]
    return head + head_check + check + payload


class _Record(NamedTuple):
    offset: int
    end: int
    synced: int
    payload: bytes


def _parse_record(data: bytes, offset: int, max_record_size: int) -> _Record | str:
    """The record at ``offset``, or why there is none."""
    if len(data) - offset < RECORD_HEADER_SIZE:
        return "incomplete record header"
    head = data[offset : offset + 14]
    if head[:2] != RECORD_MAGIC:
        return "bad record magic"
    if hashlib.sha256(head).digest()[:2] != data[offset + 14 : offset + 16]:
        return "bad record header checksum"
    length = int.from_bytes(head[2:6], "big")
    if not 0 < length <= max_record_size:
        return f"record length {length} out of range"
    end = offset + RECORD_HEADER_SIZE + length
    if end > len(data):
        return "incomplete record payload"
    payload = data[offset + RECORD_HEADER_SIZE : end]
    if hashlib.sha256(head + payload).digest()[:8] != data[offset + 16 : offset + 24]:
        return "bad record checksum"
    return _Record(offset, end, int.from_bytes(head[6:14], "big"), payload)


class _Scan(NamedTuple):
    records: list[_Record]
    valid_end: int  # where the good prefix ends
    problem: str | None  # why the record at valid_end is bad (None: clean to EOF)
    torn: bool  # the bad part can be explained by a crash (see module docstring)


def scan_segment(data: bytes, max_record_size: int = DEFAULT_MAX_RECORD_SIZE) -> _Scan:
    """Parse a segment's records after its header and classify any damage."""
    records: list[_Record] = []
    offset = SEGMENT_HEADER_SIZE
    while offset < len(data):
        parsed = _parse_record(data, offset, max_record_size)
        if isinstance(parsed, str):
            return _Scan(records, offset, parsed, _is_torn(data, offset, max_record_size))
        records.append(parsed)
        offset = parsed.end
    return _Scan(records, offset, None, True)


def _is_torn(data: bytes, bad_offset: int, max_record_size: int) -> bool:
    """True unless a valid record after ``bad_offset`` was written when the bad
    bytes were already durable (then no crash can have damaged them)."""
    position = data.find(RECORD_MAGIC, bad_offset + 1)
    while position != -1:
        parsed = _parse_record(data, position, max_record_size)
        if isinstance(parsed, _Record) and parsed.synced > bad_offset:
            return False
        position = data.find(RECORD_MAGIC, position + 1)
    return True


# -- files ---------------------------------------------------------------------


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _datasync(fd: int) -> None:
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover - macOS
        os.fsync(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def segment_name(height: int) -> str:
    return f"{height:020d}{SEGMENT_SUFFIX}"


class WriteAheadLog:
    """An append-only, checksummed, fsynced log of records, segmented by height."""

    def __init__(
        self, directory: str | Path, max_record_size: int = DEFAULT_MAX_RECORD_SIZE
    ) -> None:
        """Open (creating if needed) the WAL in ``directory``, lock it, check every
        segment and truncate a torn tail. Raises WalCorrupted for damage a crash
        cannot explain, WalError if another process holds the lock."""
        self.directory = Path(directory)
        self.max_record_size = max_record_size
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = self._lock()
        self._fd: int | None = None
        self._height: int | None = None
        self._size = 0
        self._synced = 0
        try:
            self.recovery = self._recover()
        except BaseException:
            self._release()
            raise

    # -- opening ------------------------------------------------------------
    def _lock(self) -> int:
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise WalError(f"WAL {self.directory} is in use by another process") from exc
            raise WalError(f"cannot lock WAL {self.directory}: {exc}") from exc
        return fd

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _segment_paths(self) -> list[tuple[int, Path]]:
        found = []
        for path in list(self.directory.iterdir()):
            if path.suffix == SEGMENT_SUFFIX and path.stem.isdigit():
                found.append((int(path.stem), path))
            elif path.name.endswith(SEGMENT_SUFFIX + ".tmp"):
                path.unlink()  # a segment whose creation did not finish: never used
        return sorted(found)

    def _recover(self) -> RecoveryReport:
        segments = self._segment_paths()
        truncated = 0
        cut_at, cut_reason = 0, ""
        records_in_last = 0
        for index, (height, path) in enumerate(segments):
            data = path.read_bytes()
            self._check_header(path, height, data)
            scan = scan_segment(data, self.max_record_size)
            is_last = index == len(segments) - 1
            if scan.problem is not None:
                if not (is_last and scan.torn):
                    raise WalCorrupted(self.directory, path, scan.valid_end, scan.problem)
                truncated = len(data) - scan.valid_end
                self._truncate(path, scan.valid_end)
                cut_at, cut_reason = scan.valid_end, scan.problem
                log.warning(
                    "WAL: cut a torn tail of %d bytes from %s at offset %d (%s); %d "
                    "records before it are kept: a crash interrupted the last write",
                    truncated,
                    path,
                    scan.valid_end,
                    scan.problem,
                    len(scan.records),
                )
            if is_last:
                records_in_last = len(scan.records)
                self._open_segment(height, path, scan.valid_end)
                # What a crashed process wrote may sit in the page cache only;
                # make it durable so new records may truthfully say so.
                assert self._fd is not None
                os.fsync(self._fd)
        last = segments[-1][0] if segments else None
        return RecoveryReport(
            len(segments), last, records_in_last, truncated, cut_at, cut_reason
        )

    def _check_header(self, path: Path, height: int, data: bytes) -> None:
        try:
            stored = decode_segment_header(data)
        except ValueError as exc:
            raise WalCorrupted(self.directory, path, 0, str(exc)) from exc
        if stored != height:
            raise WalCorrupted(
                self.directory, path, 0, f"header says height {stored}, file name {height}"
            )

    def _truncate(self, path: Path, size: int) -> None:
        fd = os.open(path, os.O_RDWR)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _open_segment(self, height: int, path: Path, size: int) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._height = height
        self._size = size
        self._synced = size  # it was read back whole, and truncation was fsynced

    # -- writing --------------------------------------------------------------
    @property
    def height(self) -> int | None:
        """The height of the current segment (None before the first start_height)."""
        return self._height

    def start_height(self, height: int) -> None:
        """Begin the segment of ``height`` (durably, before returning); later
        records belong to it. A no-op if it is the current height. Raises
        WalError for a height below the current one."""
        self._ensure_open()
        if height == self._height:
            return
        if self._height is not None and height < self._height:
            raise WalError(f"height {height} is below the current WAL height {self._height}")
        if self._height is not None:
            self.sync()  # everything in older segments is durable: damage there is corruption
        path = self.directory / segment_name(height)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, encode_segment_header(height))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        _fsync_directory(self.directory)
        self._open_segment(height, path, SEGMENT_HEADER_SIZE)

    def append(self, record: bytes, sync: bool = True) -> None:
        """Append one record to the current height's segment; with ``sync``,
        it (and everything before it) is on disk when this returns.
        Raises ValueError for an empty or oversized record, WalError before
        any start_height."""
        self.append_many((record,), sync)

    def append_many(self, records: Iterable[bytes], sync: bool = True) -> None:
        """Append several records with one write (and one fsync with ``sync``)."""
        self._ensure_open()
        if self._fd is None:
            raise WalError("call start_height before appending to the WAL")
        chunks = []
        for record in records:
            if not 0 < len(record) <= self.max_record_size:
                raise ValueError(
                    f"a WAL record is 1 to {self.max_record_size} bytes, got {len(record)}"
                )
            chunks.append(encode_record(bytes(record), self._synced))
        data = b"".join(chunks)
        if not data:
            return
        _write_all(self._fd, data)
        self._size += len(data)
        if sync:
            self.sync()

    def sync(self) -> None:
        """Make every appended record durable."""
        if self._fd is not None and self._synced < self._size:
            _datasync(self._fd)
            self._synced = self._size

    def prune_below(self, height: int) -> int:
        """Delete the segments of heights below ``height`` (never the current
        one); returns how many were deleted."""
        self._ensure_open()
        removed = 0
        for segment_height, path in self._segment_paths():
            if segment_height < height and segment_height != self._height:
                path.unlink()
                removed += 1
        if removed:
            _fsync_directory(self.directory)
        return removed

    # -- reading --------------------------------------------------------------
    def heights(self) -> list[int]:
        """The heights that have a segment, ascending."""
        return [height for height, _ in self._segment_paths()]

    def replay(self, from_height: int | None = None) -> Iterator[WalEntry]:
        """Every record of the segments at or above ``from_height`` (default:
        the current height only), in append order. Raises WalCorrupted if a
        segment was damaged since the log was opened."""
        self._ensure_open()
        start = self._height if from_height is None else from_height
        if start is None:
            return
        for height, path in self._segment_paths():
            if height < start:
                continue
            data = path.read_bytes()
            self._check_header(path, height, data)
            if height == self._height:
                data = data[: self._size]
            scan = scan_segment(data, self.max_record_size)
            if scan.problem is not None:
                raise WalCorrupted(self.directory, path, scan.valid_end, scan.problem)
            for record in scan.records:
                yield WalEntry(height, record.payload)

    # -- closing --------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self._lock_fd is None:
            raise WalError("the WAL is closed")

    def close(self) -> None:
        """Sync and release the log (idempotent)."""
        if self._lock_fd is None:
            return
        try:
            self.sync()
        finally:
            self._release()

    def __enter__(self) -> WriteAheadLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
