"""The notes wallet file: a user's e-cash notes and the mint operations in
flight, encrypted like the keystore (docs/spec/keystore.md, "Notes wallet
file").

A note is a bearer token: whoever reads the file can spend its notes. So
the file holds one AES-256-GCM ciphertext under a key derived from a
passphrase by scrypt, with the format, version, chain id and KDF parameters
bound as associated data; it is written atomically (temporary file, fsync,
rename) with mode 0600 in a 0700 directory, and an open wallet holds an
exclusive lock (``NAME.lock``) so two commands never interleave their
writes.

Besides the notes it keeps what a crash must not lose: the secrets and
blinding factors of outputs waiting for their blind signatures
(``PendingIssue``, written *before* the deposit or swap is sent), and the
redemptions in flight with their secrets, target and salt
(``PendingRedemption``, written before the commitment is sent), so that a
later command finishes them (ledger.client.mint_session).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger import codec
from ledger.features.mint.bodies import RedeemTarget
from ledger.features.mint.interface import DleqProof, Note, NoteDleq
from ledger.fields import DecodeError
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import decode_element

from .keystore import DEFAULT_SCRYPT_N, MAX_SCRYPT_N, NONCE_SIZE, SALT_SIZE, SCRYPT_P, SCRYPT_R
from .mint_wallet import PendingOutput

FORMAT: Final = "ledger-notes"
VERSION: Final = 1
AAD_TAG: Final = "ledger/notes/v1"
MAX_FILE_SIZE: Final = 32 * 1024 * 1024
MAX_SENT: Final = 256  # the tokens sent last, kept so that an unused one can be taken back
DEFAULT_WALLET: Final = "default"


class WalletFileError(Exception):
    """The wallet file is missing, malformed, for another chain, or locked."""


class WrongWalletPassphrase(WalletFileError):
    """The passphrase does not open the wallet file (or the file was modified)."""


# -- the plaintext -------------------------------------------------------------------


@dataclass
class PendingIssue:
    """Outputs waiting for their blind signatures: a deposit (``tx`` its
    transaction) or a swap (``tx`` empty until the swap's request is known)."""

    keyset_id: str
    outputs: tuple[PendingOutput, ...]
    tx: bytes = b""
    request_id: int = 0

    @property
    def value(self) -> int:
        return sum(o.amount for o in self.outputs)


@dataclass
class PendingRedemption:
    """A redemption or swap in flight: the notes it spends, the commitment's
    transaction and id, the target and salt the reveal needs, the reveal's
    transaction, and for a swap the outputs its new notes will answer."""

    sender: bytes  # the account that commits and reveals
    key_name: str  # its key in the keystore
    notes: tuple[Note, ...]
    target: RedeemTarget
    salt: bytes
    commit_tx: bytes
    commitment_id: int = 0
    reveal_tx: bytes = b""
    swap_keyset_id: str = ""
    swap_outputs: tuple[PendingOutput, ...] = ()

    @property
    def value(self) -> int:
        return sum(n.amount for n in self.notes)


@dataclass
class NoteWallet:
    """Everything the wallet file holds."""

    chain_id: str
    notes: list[Note] = field(default_factory=list)
    issues: list[PendingIssue] = field(default_factory=list)
    redemptions: list[PendingRedemption] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # tokens, oldest first

    @property
    def balance(self) -> int:
        return sum(n.amount for n in self.notes)

    def remember_sent(self, token: str) -> None:
        self.sent = [*self.sent, token][-MAX_SENT:]


def note_json(note: Note) -> dict[str, Any]:
    dleq = None
    if note.dleq is not None:
        dleq = {
            "e": note.dleq.proof.challenge.to_bytes(32, "big").hex(),
            "s": note.dleq.proof.response.to_bytes(32, "big").hex(),
            "r": note.dleq.blinding_factor.to_bytes(32, "big").hex(),
        }
    return {
        "amount": str(note.amount),
        "id": note.keyset_id,
        "secret": note.secret,
        "C": note.signature.sec.hex(),
        "dleq": dleq,
    }


def note_from_json(value: Any) -> Note:
    dleq = None
    if value["dleq"] is not None:
        proof = DleqProof(int(value["dleq"]["e"], 16), int(value["dleq"]["s"], 16))
        dleq = NoteDleq(proof, int(value["dleq"]["r"], 16))
    return Note(
        int(value["amount"]),
        value["id"],
        value["secret"],
        decode_element(bytes.fromhex(value["C"])),
        dleq,
    )


def _output_json(output: PendingOutput) -> dict[str, Any]:
    return {
        "amount": str(output.amount),
        "secret": output.secret,
        "r": output.blinding_factor.to_bytes(32, "big").hex(),
        "B_": output.blinded.hex(),
    }


def _output_from_json(value: Any) -> PendingOutput:
    return PendingOutput(
        int(value["amount"]), value["secret"], int(value["r"], 16), bytes.fromhex(value["B_"])
    )


def wallet_json(wallet: NoteWallet) -> dict[str, Any]:
    return {
        "chainId": wallet.chain_id,
        "notes": [note_json(n) for n in wallet.notes],
        "issues": [
            {
                "keysetId": i.keyset_id,
                "outputs": [_output_json(o) for o in i.outputs],
                "tx": i.tx.hex(),
                "requestId": i.request_id,
            }
            for i in wallet.issues
        ],
        "redemptions": [
            {
                "sender": r.sender.hex(),
                "keyName": r.key_name,
                "notes": [note_json(n) for n in r.notes],
                "target": codec.encode(r.target.to_value()).hex(),
                "salt": r.salt.hex(),
                "commitTx": r.commit_tx.hex(),
                "commitmentId": r.commitment_id,
                "revealTx": r.reveal_tx.hex(),
                "swapKeysetId": r.swap_keyset_id,
                "swapOutputs": [_output_json(o) for o in r.swap_outputs],
            }
            for r in wallet.redemptions
        ],
        "sent": list(wallet.sent),
    }


def wallet_from_json(value: Any) -> NoteWallet:
    """Raises WalletFileError for a malformed document."""
    try:
        return NoteWallet(
            value["chainId"],
            [note_from_json(n) for n in value["notes"]],
            [
                PendingIssue(
                    i["keysetId"],
                    tuple(_output_from_json(o) for o in i["outputs"]),
                    bytes.fromhex(i["tx"]),
                    int(i["requestId"]),
                )
                for i in value["issues"]
            ],
            [
                PendingRedemption(
                    bytes.fromhex(r["sender"]),
                    r["keyName"],
                    tuple(note_from_json(n) for n in r["notes"]),
                    RedeemTarget.from_value(codec.decode(bytes.fromhex(r["target"]))),
                    bytes.fromhex(r["salt"]),
                    bytes.fromhex(r["commitTx"]),
                    int(r["commitmentId"]),
                    bytes.fromhex(r["revealTx"]),
                    r["swapKeysetId"],
                    tuple(_output_from_json(o) for o in r["swapOutputs"]),
                )
                for r in value["redemptions"]
            ],
            [str(t) for t in value["sent"]],
        )
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        codec.CodecError,
        DecodeError,
        ThresholdError,  # a point that does not decode, a note field out of range
    ) as exc:
        raise WalletFileError(f"malformed wallet contents: {exc!r:.200}") from None


# -- the encrypted file ---------------------------------------------------------------


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode()
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _aad(chain_id: str, n: int, r: int, p: int, salt: bytes) -> bytes:
    return codec.encode((AAD_TAG, chain_id, n, r, p, salt))


@dataclass(frozen=True)
class _FileKey:
    """The derived key of one open wallet: writes reuse it with fresh nonces."""

    key: bytes
    n: int
    r: int
    p: int
    salt: bytes


def encrypt_wallet(wallet: NoteWallet, file_key: _FileKey) -> dict[str, Any]:
    plaintext = json.dumps(wallet_json(wallet), separators=(",", ":")).encode()
    nonce = secrets.token_bytes(NONCE_SIZE)
    aad = _aad(wallet.chain_id, file_key.n, file_key.r, file_key.p, file_key.salt)
    ciphertext = AESGCM(file_key.key).encrypt(nonce, plaintext, aad)
    return {
        "format": FORMAT,
        "version": VERSION,
        "chainId": wallet.chain_id,
        "crypto": {
            "kdf": "scrypt",
            "kdfparams": {
                "n": file_key.n,
                "r": file_key.r,
                "p": file_key.p,
                "salt": file_key.salt.hex(),
            },
            "cipher": "aes-256-gcm",
            "nonce": nonce.hex(),
            "ciphertext": ciphertext.hex(),
        },
    }


def decrypt_wallet(document: Any, passphrase: str) -> tuple[NoteWallet, _FileKey]:
    """Raises WrongWalletPassphrase, WalletFileError."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise WalletFileError("not a ledger notes wallet file")
    if document.get("version") != VERSION:
        raise WalletFileError(f"unsupported wallet file version {document.get('version')!r}")
    try:
        chain_id = document["chainId"]
        crypto = document["crypto"]
        params = crypto["kdfparams"]
        n, r, p = params["n"], params["r"], params["p"]
        salt = bytes.fromhex(params["salt"])
        nonce = bytes.fromhex(crypto["nonce"])
        ciphertext = bytes.fromhex(crypto["ciphertext"])
        supported = crypto["kdf"] == "scrypt" and crypto["cipher"] == "aes-256-gcm"
    except (KeyError, TypeError, ValueError) as exc:
        raise WalletFileError(f"malformed wallet file: {exc!r}") from None
    if not supported or not isinstance(chain_id, str):
        raise WalletFileError("unsupported wallet file: expected scrypt and aes-256-gcm")
    if not all(type(x) is int for x in (n, r, p)):
        raise WalletFileError("malformed wallet file: scrypt parameters must be integers")
    if not (2 <= n <= MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise WalletFileError("wallet file asks for scrypt parameters out of range")
    if len(salt) != SALT_SIZE or len(nonce) != NONCE_SIZE:
        raise WalletFileError("malformed wallet file: salt or nonce has the wrong size")
    file_key = _FileKey(_derive(passphrase, salt, n, r, p), n, r, p, salt)
    try:
        plaintext = AESGCM(file_key.key).decrypt(nonce, ciphertext, _aad(chain_id, n, r, p, salt))
    except InvalidTag:
        raise WrongWalletPassphrase("wrong passphrase (or the wallet file was modified)") from None
    try:
        contents = json.loads(plaintext)
    except ValueError:
        raise WalletFileError("the wallet file decrypts to something that is not JSON") from None
    wallet = wallet_from_json(contents)
    if wallet.chain_id != chain_id:
        raise WalletFileError("the wallet's chain id does not match its file")
    return wallet, file_key


class OpenWallet:
    """A wallet file opened for one command: ``wallet`` to read and change,
    ``save()`` to write it back (atomically), ``close()`` to release the lock."""

    def __init__(self, path: Path, wallet: NoteWallet, file_key: _FileKey, lock_fd: int) -> None:
        self.path = path
        self.wallet = wallet
        self._file_key = file_key
        self._lock_fd = lock_fd

    def save(self) -> None:
        """Write the wallet: temporary file (0600), fsync, rename, fsync the directory."""
        document = encrypt_wallet(self.wallet, self._file_key)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(document, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    def __enter__(self) -> OpenWallet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wallet_path(home: Path, name: str = DEFAULT_WALLET) -> Path:
    """``HOME/notes/NAME.json``. Raises WalletFileError for a bad name."""
    if not name or len(name) > 64 or not all(c.isalnum() or c in "_.-" for c in name):
        raise WalletFileError(f"invalid wallet name {name!r}: 1-64 of letters, digits, _ . -")
    if not name[0].isalnum():
        raise WalletFileError(f"invalid wallet name {name!r}: it starts with a letter or digit")
    return home / "notes" / f"{name}.json"


def _lock(path: Path) -> int:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WalletFileError(f"{path} is in use by another command") from None
    return fd


def open_wallet(path: Path, passphrase: str, chain_id: str) -> OpenWallet:
    """Open (and lock) the wallet at ``path`` for ``chain_id``. Raises
    WalletFileError if it does not exist, is locked, malformed or for
    another chain; WrongWalletPassphrase."""
    if not path.exists():
        raise WalletFileError(f"no wallet at {path} (`ledger bank deposit` creates one)")
    fd = _lock(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_SIZE + 1)
        if len(data) > MAX_FILE_SIZE:
            raise WalletFileError(f"{path} is too large to be a wallet file")
        try:
            document = json.loads(data)
        except ValueError:
            raise WalletFileError(f"{path} is not valid JSON") from None
        wallet, file_key = decrypt_wallet(document, passphrase)
        if wallet.chain_id != chain_id:
            raise WalletFileError(
                f"the wallet {path} holds notes of chain {wallet.chain_id!r}, not {chain_id!r}"
            )
    except BaseException:
        os.close(fd)
        raise
    return OpenWallet(path, wallet, file_key, fd)


def create_wallet(
    path: Path, passphrase: str, chain_id: str, scrypt_n: int | None = None
) -> OpenWallet:
    """Create (and lock) an empty wallet at ``path``. Raises WalletFileError
    if one exists, ValueError for a bad scrypt cost."""
    n = scrypt_n if scrypt_n is not None else DEFAULT_SCRYPT_N
    if n < 2 or n & (n - 1) or n > MAX_SCRYPT_N:
        raise ValueError("scrypt n must be a power of two in [2, 2^20]")
    fd = _lock(path)
    if path.exists():
        os.close(fd)
        raise WalletFileError(f"a wallet already exists at {path}")
    salt = secrets.token_bytes(SALT_SIZE)
    derived = _derive(passphrase, salt, n, SCRYPT_R, SCRYPT_P)
    file_key = _FileKey(derived, n, SCRYPT_R, SCRYPT_P, salt)
    opened = OpenWallet(path, NoteWallet(chain_id), file_key, fd)
    opened.save()
    return opened

