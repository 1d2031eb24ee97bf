"""The double-sign guard: a validator never signs two different messages for one
height, round and step, nor anything older than what it last signed, across
crashes and restarts, whatever the WAL says.

``DoubleSignGuard`` keeps the last signed position (height, round, step) and
the hash of the message signed there in its own small file, replaced
atomically (temporary file, fsync, rename, fsync of the directory) *before*
``check_and_record`` returns, so the caller may sign and send afterwards. A
crash between recording and sending is harmless: signing the identical
message again is allowed. ``GuardedSigner`` wraps a ``SigningKey`` so that
nothing is signed without passing the guard.

Steps are ordered propose < prevote < precommit. A missing file means
nothing was signed yet and is created; a file that cannot be read or parsed
refuses to start (never silently reset). The format is in docs/spec/wal.md.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from types import TracebackType
from typing import Final

from ledger import codec
from ledger.crypto import DIGEST_SIZE, SigningKey, signing_digest

GUARD_FORMAT_VERSION: Final = 1


class Step(IntEnum):
    """The signed steps of a round, in the order they happen."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3


class DoubleSignRefused(Exception):
    """Signing this message could equivocate; nothing was signed or recorded."""


class GuardFileError(Exception):
    """The guard file is unreadable, malformed or locked; the node must not sign."""


@dataclass(frozen=True, slots=True)
class SignedPosition:
    """Where a message was signed, and the hash (signing digest) of that message."""

    height: int
    round: int
    step: Step
    message_hash: bytes

    def __post_init__(self) -> None:
        for name in ("height", "round"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if not isinstance(self.message_hash, bytes) or len(self.message_hash) != DIGEST_SIZE:
            raise ValueError(f"message_hash must be {DIGEST_SIZE} bytes")

    @property
    def position(self) -> tuple[int, int, int]:
        return (self.height, self.round, int(self.step))

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": GUARD_FORMAT_VERSION,
                "height": self.height,
                "round": self.round,
                "step": int(self.step),
                "step_name": self.step.name.lower(),
                "message_hash": self.message_hash.hex(),
            },
            indent=2,
        )


def decode_guard_file(text: str) -> SignedPosition | None:
    """Parse guard file contents. Raises ValueError."""
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("version") != GUARD_FORMAT_VERSION:
        raise ValueError(f"expected a version {GUARD_FORMAT_VERSION} guard object")
    if document.get("height") is None and set(document) == {"version", "height"}:
        return None  # nothing signed yet
    expected = {"version", "height", "round", "step", "step_name", "message_hash"}
    if set(document) != expected:
        raise ValueError(f"expected exactly the fields {sorted(expected)}")
    if type(document["step"]) is not int:
        raise ValueError("step must be an integer")
    step = Step(document["step"])
    if document["step_name"] != step.name.lower():
        raise ValueError("step and step_name disagree")
    message_hash = document["message_hash"]
    if not isinstance(message_hash, str):
        raise ValueError("message_hash must be hex text")
    return SignedPosition(document["height"], document["round"], step, bytes.fromhex(message_hash))


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DoubleSignGuard:
    """The last signed position, persisted; refuses anything that conflicts with it."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if missing) the guard file at ``path`` and lock it for
        this process. Raises GuardFileError if it is unreadable, malformed or
        in use by another process."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = self._lock()
        try:
            self._last = self._load()
        except BaseException:
            self.close()
            raise

    def _lock(self) -> int:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise GuardFileError(
                    f"double-sign guard {self.path} is in use by another process: "
                    "two nodes must never run with one validator key"
                ) from exc
            raise GuardFileError(f"cannot lock double-sign guard {self.path}: {exc}") from exc
        return fd

    def _load(self) -> SignedPosition | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            self._save(None)
            return None
        except OSError as exc:
            raise GuardFileError(f"cannot read double-sign guard {self.path}: {exc}") from exc
        try:
            return decode_guard_file(text)
        except (ValueError, TypeError, KeyError) as exc:
            raise GuardFileError(
                f"double-sign guard {self.path} is malformed ({exc}). Do not delete it: "
                "restore it from a backup, or write the last height, round and step this "
                "validator signed (from its WAL or from the chain) before restarting."
            ) from exc

    def _save(self, position: SignedPosition | None) -> None:
        text = (
            position.to_json()
            if position is not None
            else json.dumps({"version": GUARD_FORMAT_VERSION, "height": None})
        )
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            data = (text + "\n").encode()
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
        _fsync_directory(self.path.parent)

    @property
    def last(self) -> SignedPosition | None:
        """The last recorded signature position (None if nothing was signed)."""
        return self._last

    def check(self, height: int, round: int, step: Step, message_hash: bytes) -> bool:
        """True if this exact message was already recorded, False if it may be
        signed (not recorded yet). Raises DoubleSignRefused on a conflict,
        ValueError for malformed arguments."""
        candidate = SignedPosition(height, round, Step(step), message_hash)
        last = self._last
        if last is None or candidate.position > last.position:
            return False
        if candidate.position == last.position:
            if candidate.message_hash == last.message_hash:
                return True
            raise DoubleSignRefused(
                f"already signed a different message at height {height}, round {round}, "
                f"step {candidate.step.name.lower()}"
            )
        raise DoubleSignRefused(
            f"height {height}, round {round}, step {candidate.step.name.lower()} is before "
            f"the last signed position (height {last.height}, round {last.round}, "
            f"step {last.step.name.lower()})"
        )

    def check_and_record(self, height: int, round: int, step: Step, message_hash: bytes) -> None:
        """Allow signing ``message_hash`` at (height, round, step) and persist it
        before returning; the identical message again is allowed without a
        write. Raises DoubleSignRefused (nothing recorded) on a conflict:
        the same position with another hash, or any earlier position.
        Raises GuardFileError if the guard is closed or cannot be written."""
        if self._lock_fd is None:
            raise GuardFileError("the double-sign guard is closed")
        if self.check(height, round, step, message_hash):
            return
        position = SignedPosition(height, round, Step(step), message_hash)
        try:
            self._save(position)
        except OSError as exc:
            raise GuardFileError(f"cannot write double-sign guard {self.path}: {exc}") from exc
        self._last = position

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> DoubleSignGuard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class GuardedSigner:
    """A validator's key that signs consensus messages only through the guard."""

    def __init__(self, key: SigningKey, guard: DoubleSignGuard) -> None:
        self._key = key
        self.guard = guard

    @property
    def public_key(self) -> bytes:
        return self._key.public_key

    def sign_digest(self, height: int, round: int, step: Step, digest: bytes) -> bytes:
        """Record ``digest`` at (height, round, step) in the guard, then sign it.
        Raises DoubleSignRefused (nothing signed) or GuardFileError."""
        self.guard.check_and_record(height, round, step, digest)
        return self._key.sign_digest(digest)

    def sign(
        self,
        height: int,
        round: int,
        step: Step,
        domain_tag: str,
        chain_id: str,
        payload: codec.Value,
    ) -> bytes:
        """Sign ``payload`` under ``domain_tag`` and ``chain_id`` (see
        ledger.crypto.signing_digest) at (height, round, step); the message hash
        the guard keeps is that signing digest."""
        return self.sign_digest(height, round, step, signing_digest(domain_tag, chain_id, payload))
