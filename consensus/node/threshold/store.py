"""A validator's threshold secrets at rest: key shares, signing nonces, and
the ceremony attempts it has joined, under ``HOME/data/threshold/``.

Every secret is encrypted with AES-256-GCM under a storage key derived with
HKDF-SHA256 from the node's validator key, with the file's role and name as
associated data (a file renamed or swapped for another does not open). So
the files are useless without the validator key: a copied data directory,
a backup or a disk image without ``validator_key.json`` leaks nothing. They
protect nothing against whoever holds the validator key file too (it is
stored in the clear, as in CometBFT); that is the honest limit.

Writes are atomic and durable (temporary file, fsync, rename, fsync of the
directory) and happen *before* the caller sends anything that depends on
them. A lock file keeps a second process off the directory.

Rules kept here for the service:

- ``save_nonces`` before a commitment is sent; ``spend_nonces`` (a durable
  delete) before the signature share is sent; ``open`` deletes every nonce
  file left by a crash, unread: nonces are never used across a restart.
- ``join`` records an attempt durably before the first message of it is
  sent; after a restart the node sits out every attempt it had joined (it
  never sends two different first messages in one session).
- key shares are kept per ceremony attempt with their transcript hash and
  key set (one share per key of the set); the service erases those the
  chain did not adopt, the previous epoch's once a resharing is final, and
  those of retired key sets.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger import codec
from ledger.crypto import SigningKey
from ledger.threshold.errors import ThresholdError
from ledger.threshold.frost import SigningNonces, decode_signing_nonces, encode_signing_nonces
from ledger.threshold.group import decode_scalar, encode_scalar
from ledger.threshold.keys import KeyPackage
from ledger.threshold.transport import decode_public_key_package, encode_public_key_package

STORAGE_KEY_INFO: Final = b"ledger/threshold/storage-key/v1"
FORMAT_VERSION: Final = 2  # 2: key files hold a key set name and a share per key
_NAME = re.compile(r"^c(\d+)-a(\d+)\.bin\Z")


@dataclass(frozen=True)
class SavedKeys:
    """The key shares one ceremony attempt made: its transcript hash, the key
    set they belong to ("": the group) and one share per key."""

    transcript_hash: bytes
    key_set: str
    keys: tuple[KeyPackage, ...]


class ThresholdStoreError(Exception):
    """The store cannot be opened, read or written; the node must not take part."""


def storage_key(validator_key: SigningKey) -> bytes:
    """The at-rest encryption key: HKDF-SHA256 of the validator secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=STORAGE_KEY_INFO)
    return hkdf.derive(validator_key.secret)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def _attempt_name(ceremony_id: int, attempt: int) -> str:
    return f"c{ceremony_id}-a{attempt}.bin"


class ThresholdStore:
    """The encrypted files of one validator's threshold work."""

    def __init__(self, directory: Path, validator_key: SigningKey) -> None:
        """Open (creating) the store and lock it. Raises ThresholdStoreError."""
        self.directory = directory
        self._aead = AESGCM(storage_key(validator_key))
        try:
            for sub in ("keys", "nonces"):
                (directory / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock_fd: int | None = self._lock()
        except OSError as exc:
            raise ThresholdStoreError(f"cannot open {directory}: {exc}") from exc
        self.joined: set[tuple[int, int]] = self._load_joined()
        self.discarded_nonces = self._discard_nonces()

    def _lock(self) -> int:
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise ThresholdStoreError(f"{self.directory} is in use by another process") from exc
            raise
        return fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- sealing ------------------------------------------------------------
    def _seal(self, role: str, name: str, plain: bytes) -> bytes:
        nonce = os.urandom(12)
        aad = codec.encode((role, name, FORMAT_VERSION))
        return codec.encode((FORMAT_VERSION, nonce, self._aead.encrypt(nonce, plain, aad)))

    def _open(self, role: str, name: str, data: bytes) -> bytes:
        try:
            version, nonce, ciphertext = codec.decode(data)
            aad = codec.encode((role, name, version))
            plain: bytes = self._aead.decrypt(nonce, ciphertext, aad)
        except (codec.CodecError, ValueError, TypeError, InvalidTag) as exc:
            raise ThresholdStoreError(
                f"{role}/{name} does not open with this validator key ({exc!r})"
            ) from exc
        return plain

    # -- joined attempts ----------------------------------------------------
    def _load_joined(self) -> set[tuple[int, int]]:
        path = self.directory / "joined.bin"
        if not path.exists():
            return set()
        plain = self._open("joined", path.name, path.read_bytes())
        return {(c, a) for c, a in codec.decode(plain)}

    def join(self, ceremony_id: int, attempt: int) -> None:
        """Record durably that this node takes part in the attempt."""
        self.joined.add((ceremony_id, attempt))
        self._save_joined()

    def forget_ceremonies(self, keep: set[int]) -> None:
        """Drop the joined records of ceremonies not in ``keep`` (finished)."""
        kept = {(c, a) for c, a in self.joined if c in keep}
        if kept != self.joined:
            self.joined = kept
            self._save_joined()

    def _save_joined(self) -> None:
        plain = codec.encode(tuple(sorted(self.joined)))
        path = self.directory / "joined.bin"
        _write_atomic(path, self._seal("joined", path.name, plain))

    # -- nonces -------------------------------------------------------------
    def _discard_nonces(self) -> int:
        """Delete every nonce file a previous run left: never used again."""
        count = 0
        for path in (self.directory / "nonces").iterdir():
            path.unlink()
            count += 1
        if count:
            _fsync_directory(self.directory / "nonces")
        return count

    def save_nonces(self, ceremony_id: int, attempt: int, nonces: SigningNonces) -> None:
        name = _attempt_name(ceremony_id, attempt)
        sealed = self._seal("nonces", name, encode_signing_nonces(nonces))
        _write_atomic(self.directory / "nonces" / name, sealed)

    def load_nonces(self, ceremony_id: int, attempt: int) -> SigningNonces | None:
        """The nonces saved for an attempt (None once spent). For checks and tests."""
        name = _attempt_name(ceremony_id, attempt)
        path = self.directory / "nonces" / name
        if not path.exists():
            return None
        try:
            return decode_signing_nonces(self._open("nonces", name, path.read_bytes()))
        except ThresholdError as exc:
            raise ThresholdStoreError(f"nonces/{name}: {exc}") from exc

    def spend_nonces(self, ceremony_id: int, attempt: int) -> None:
        """Erase an attempt's nonces durably (before its share is sent)."""
        path = self.directory / "nonces" / _attempt_name(ceremony_id, attempt)
        path.unlink(missing_ok=True)
        _fsync_directory(path.parent)

    # -- key shares ---------------------------------------------------------
    def save_key(
        self,
        ceremony_id: int,
        attempt: int,
        transcript_hash: bytes,
        keys: tuple[KeyPackage, ...],
        key_set: str = "",
    ) -> None:
        """Save the shares one ceremony attempt made (one per key of the group,
        "", or of a named key set)."""
        name = _attempt_name(ceremony_id, attempt)
        shares = tuple(
            (key.identifier, encode_scalar(key.secret_share), encode_public_key_package(key.public))
            for key in keys
        )
        plain = codec.encode((transcript_hash, key_set, shares))
        _write_atomic(self.directory / "keys" / name, self._seal("key", name, plain))

    def load_keys(self) -> dict[tuple[int, int], SavedKeys]:
        """Every saved set of key shares by (ceremony id, attempt).
        Raises ThresholdStoreError for a file that does not open."""
        out = {}
        for path in sorted((self.directory / "keys").iterdir()):
            match = _NAME.match(path.name)
            if match is None:
                continue
            plain = self._open("key", path.name, path.read_bytes())
            try:
                transcript, key_set, shares = codec.decode(plain)
                keys = tuple(
                    KeyPackage(identifier, decode_scalar(secret), decode_public_key_package(public))
                    for identifier, secret, public in shares
                )
                if not isinstance(key_set, str) or not keys:
                    raise ValueError("a key set name and at least one share")
            except (codec.CodecError, ValueError, TypeError, ThresholdError) as exc:
                raise ThresholdStoreError(f"keys/{path.name} is malformed: {exc}") from exc
            out[(int(match[1]), int(match[2]))] = SavedKeys(transcript, key_set, keys)
        return out

    def erase_key(self, ceremony_id: int, attempt: int) -> None:
        """Delete a key share durably (an attempt the chain did not adopt, or
        the previous epoch's after a resharing)."""
        path = self.directory / "keys" / _attempt_name(ceremony_id, attempt)
        path.unlink(missing_ok=True)
        _fsync_directory(path.parent)
