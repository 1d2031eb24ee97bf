"""Encrypted key files: one JSON file per key under ``HOME/keys``.

A key file holds the 32-byte secret encrypted with AES-256-GCM under a key
derived from the passphrase by scrypt; the address, public key and KDF
parameters are bound to the ciphertext as associated data, so a file whose
metadata was edited does not decrypt. Files are created with mode 0600 in a
0700 directory, written atomically and never overwritten. The byte-exact
format is in docs/spec/keystore.md.

Devnet keys (ledger.client.devnet, INSECURE by design) live apart, in
``HOME/keys/devnet``, as files that name the public derivation label
instead of holding a secret and carry ``"insecure": true``. They are always
referred to as ``devnet:NAME`` and never listed among the real keys.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger import codec
from ledger.address import AddressError, address_of, decode_address, encode_address
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, insecure_key
from ledger.crypto import CryptoError, SigningKey

FORMAT: Final = "ledger-keystore"
VERSION: Final = 1
AAD_TAG: Final = "ledger/keystore/v1"
CIPHER: Final = "aes-256-gcm"
KDF: Final = "scrypt"
DEFAULT_SCRYPT_N = 1 << 17  # 128 MiB, ~0.7 s here: slow for guessing, fine for a CLI
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
MAX_SCRYPT_N: Final = 1 << 20  # reading a file never costs more than 1 GiB
SALT_SIZE: Final = 16
NONCE_SIZE: Final = 12
DEVNET_PREFIX: Final = "devnet:"
MAX_FILE_SIZE: Final = 64 * 1024
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}\Z")


class KeystoreError(Exception):
    """A key file is missing, exists already, or is malformed; or a name is invalid."""


class WrongPassphrase(KeystoreError):
    """The passphrase does not open the key file (or the file was tampered with)."""


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """What can be said about a key without its passphrase."""

    name: str  # as the user refers to it: "alice", or "devnet:alice"
    address: str
    public_key: bytes
    insecure: bool
    path: Path


def check_name(name: str) -> str:
    """Raises KeystoreError unless ``name`` is 1-64 of [A-Za-z0-9_.-], starting alphanumeric."""
    if not _NAME_RE.match(name):
        raise KeystoreError(
            f"invalid key name {name!r}: use 1-64 letters, digits, '_', '.', '-' "
            "(starting with a letter or digit)"
        )
    return name


def _normalize(passphrase: str) -> bytes:
    return unicodedata.normalize("NFC", passphrase).encode()


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(_normalize(passphrase))


def _aad(address: bytes, public_key: bytes, n: int, r: int, p: int, salt: bytes) -> bytes:
    return codec.encode((AAD_TAG, address, public_key, n, r, p, salt))


def encrypt_key(key: SigningKey, passphrase: str, scrypt_n: int | None = None) -> dict[str, Any]:
    """The key file document of ``key`` under ``passphrase`` (scrypt cost
    ``scrypt_n``, default DEFAULT_SCRYPT_N). Raises ValueError for a bad cost."""
    scrypt_n = scrypt_n if scrypt_n is not None else DEFAULT_SCRYPT_N
    if scrypt_n < 2 or scrypt_n & (scrypt_n - 1) or scrypt_n > MAX_SCRYPT_N:
        raise ValueError("scrypt n must be a power of two in [2, 2^20]")
    address = address_of(key.public_key)
    salt = secrets.token_bytes(SALT_SIZE)
    nonce = secrets.token_bytes(NONCE_SIZE)
    derived = _derive(passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
    aad = _aad(address, key.public_key, scrypt_n, SCRYPT_R, SCRYPT_P, salt)
    ciphertext = AESGCM(derived).encrypt(nonce, key.secret, aad)
    return {
        "format": FORMAT,
        "version": VERSION,
        "address": encode_address(address),
        "publicKey": key.public_key.hex(),
        "insecure": False,
        "crypto": {
            "kdf": KDF,
            "kdfparams": {"n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()},
            "cipher": CIPHER,
            "nonce": nonce.hex(),
            "ciphertext": ciphertext.hex(),
        },
    }


def decrypt_key(document: Any, passphrase: str) -> SigningKey:
    """The key in a key file document. Raises WrongPassphrase, KeystoreError."""
    address, public_key = _identity(document)
    if document.get("insecure") is not False:
        raise KeystoreError("not an encrypted key file")
    try:
        crypto = document["crypto"]
        params = crypto["kdfparams"]
        n, r, p = params["n"], params["r"], params["p"]
        salt = bytes.fromhex(params["salt"])
        nonce = bytes.fromhex(crypto["nonce"])
        ciphertext = bytes.fromhex(crypto["ciphertext"])
        supported = crypto["kdf"] == KDF and crypto["cipher"] == CIPHER
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"malformed key file: {exc!r}") from None
    if not supported:
        raise KeystoreError("unsupported key file: expected scrypt and aes-256-gcm")
    if not all(type(x) is int for x in (n, r, p)):
        raise KeystoreError("malformed key file: scrypt parameters must be integers")
    if not (2 <= n <= MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise KeystoreError("key file asks for scrypt parameters out of range")
    if len(salt) != SALT_SIZE or len(nonce) != NONCE_SIZE or len(ciphertext) != 48:
        raise KeystoreError("malformed key file: salt, nonce or ciphertext has the wrong size")
    derived = _derive(passphrase, salt, n, r, p)
    try:
        secret = AESGCM(derived).decrypt(
            nonce, ciphertext, _aad(address, public_key, n, r, p, salt)
        )
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase (or the key file was modified)") from None
    try:
        key = SigningKey(secret)
    except CryptoError:
        raise KeystoreError("the key file decrypts to an invalid key") from None
    if key.public_key != public_key:
        raise KeystoreError("the key file's secret does not match its public key")
    return key


def _identity(document: Any) -> tuple[bytes, bytes]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeystoreError("not a ledger key file")
    if document.get("version") != VERSION:
        raise KeystoreError(f"unsupported key file version {document.get('version')!r}")
    try:
        address = decode_address(document["address"])
        public_key = bytes.fromhex(document["publicKey"])
    except (KeyError, TypeError, ValueError, AddressError) as exc:
        raise KeystoreError(f"malformed key file: {exc!r}") from None
    if len(public_key) != 33 or address_of(public_key) != address:
        raise KeystoreError("key file address does not match its public key")
    return address, public_key


class Keystore:
    """The key files under one home directory."""

    def __init__(self, home: Path) -> None:
        self.directory = home / "keys"
        self.devnet_directory = self.directory / "devnet"

    # -- paths ---------------------------------------------------------------
    def path_of(self, ref: str) -> Path:
        """The file of ``NAME`` or ``devnet:NAME``. Raises KeystoreError for a bad name."""
        if ref.startswith(DEVNET_PREFIX):
            return self.devnet_directory / f"{check_name(ref[len(DEVNET_PREFIX) :])}.json"
        return self.directory / f"{check_name(ref)}.json"

    def _read(self, ref: str) -> Any:
        path = self.path_of(ref)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_SIZE + 1)
        except FileNotFoundError:
            raise KeystoreError(f"no key named {ref!r} in {self.directory}") from None
        except OSError as exc:
            raise KeystoreError(f"cannot read {path}: {exc.strerror}") from None
        if len(data) > MAX_FILE_SIZE:
            raise KeystoreError(f"{path} is too large to be a key file")
        try:
            return json.loads(data)
        except ValueError:
            raise KeystoreError(f"{path} is not valid JSON") from None

    def _write_new(self, path: Path, document: dict[str, Any]) -> None:
        """Write atomically with mode 0600; never replace an existing file."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            raise KeystoreError(f"a key named {path.stem!r} already exists ({path})")
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(document, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)  # fails if the name was taken meanwhile
            except FileExistsError:
                raise KeystoreError(f"a key named {path.stem!r} already exists ({path})") from None
        finally:
            temporary.unlink(missing_ok=True)

    # -- operations -------------------------------------------------------------
    def create(
        self,
        name: str,
        passphrase: str,
        key: SigningKey | None = None,
        scrypt_n: int | None = None,
    ) -> KeyEntry:
        """Store ``key`` (default: a new random key) under ``name``. Raises KeystoreError."""
        if name.startswith(DEVNET_PREFIX):
            raise KeystoreError("devnet keys are added with `keys devnet`, not created")
        path = self.path_of(name)
        key = key if key is not None else SigningKey.generate()
        document = encrypt_key(key, passphrase, scrypt_n)
        self._write_new(path, document)
        return KeyEntry(name, document["address"], key.public_key, False, path)

    def add_devnet(self, account: str) -> KeyEntry:
        """Add the devnet account ``account`` (e.g. "alice") as ``devnet:account``.
        Raises KeystoreError for an unknown devnet account or an existing file."""
        if account not in DEVNET_ACCOUNT_NAMES:
            raise KeystoreError(
                f"unknown devnet account {account!r}; known: {', '.join(DEVNET_ACCOUNT_NAMES)}"
            )
        label = f"account/{account}"
        key = insecure_key(label)
        address = encode_address(address_of(key.public_key))
        document: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "address": address,
            "publicKey": key.public_key.hex(),
            "insecure": True,
            "devnetLabel": label,
        }
        ref = DEVNET_PREFIX + account
        path = self.path_of(ref)
        self._write_new(path, document)
        return KeyEntry(ref, address, key.public_key, True, path)

    def entry(self, ref: str) -> KeyEntry:
        """A key's public facts. Raises KeystoreError."""
        document = self._read(ref)
        address, public_key = _identity(document)
        insecure = document.get("insecure") is True
        if insecure != ref.startswith(DEVNET_PREFIX):
            raise KeystoreError(f"{self.path_of(ref)}: insecure flag does not match its place")
        return KeyEntry(ref, encode_address(address), public_key, insecure, self.path_of(ref))

    def is_insecure(self, ref: str) -> bool:
        return self.entry(ref).insecure

    def load(self, ref: str, passphrase: str | None) -> SigningKey:
        """The signing key of ``ref``. Devnet keys need no passphrase.
        Raises WrongPassphrase, KeystoreError."""
        document = self._read(ref)
        if ref.startswith(DEVNET_PREFIX):
            _, public_key = _identity(document)
            label = document.get("devnetLabel")
            if document.get("insecure") is not True or not isinstance(label, str):
                raise KeystoreError(f"{self.path_of(ref)} is not a devnet key file")
            key = insecure_key(label)
            if key.public_key != public_key:
                raise KeystoreError(f"{self.path_of(ref)}: label does not match the public key")
            return key
        if passphrase is None:
            raise WrongPassphrase("a passphrase is required")
        return decrypt_key(document, passphrase)

    def list(self, devnet: bool = False) -> list[KeyEntry]:
        """The real keys (or, with ``devnet``, the devnet keys), sorted by name;
        unreadable files are skipped."""
        directory = self.devnet_directory if devnet else self.directory
        if not directory.is_dir():
            return []
        out = []
        for path in sorted(directory.glob("*.json")):
            ref = (DEVNET_PREFIX if devnet else "") + path.stem
            try:
                out.append(self.entry(ref))
            except KeystoreError:
                continue
        return out

    def delete(self, ref: str) -> Path:
        """Remove a key file. Raises KeystoreError if there is none."""
        path = self.path_of(ref)
        try:
            path.unlink()
        except FileNotFoundError:
            raise KeystoreError(f"no key named {ref!r} in {self.directory}") from None
        return path
