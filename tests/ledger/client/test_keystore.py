"""Key files: round trip, wrong passphrase, 0600, tamper detection, devnet keys apart."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.address import address_of, encode_address
from ledger.client import keystore as ks
from ledger.client.devnet import account_key
from ledger.crypto import SigningKey

FAST_N = 1 << 4  # scrypt cost for tests only; files record their own n


@pytest.fixture
def store(tmp_path: Path) -> ks.Keystore:
    return ks.Keystore(tmp_path / "home")


def test_round_trip(store: ks.Keystore) -> None:
    key = SigningKey(bytes(31) + b"\x2a")
    entry = store.create("main", "correct horse", key, scrypt_n=FAST_N)
    assert entry.address == encode_address(address_of(key.public_key))
    assert not entry.insecure
    loaded = store.load("main", "correct horse")
    assert loaded.secret == key.secret
    assert store.entry("main") == entry
    assert [e.name for e in store.list()] == ["main"]


def test_default_cost_is_recorded(store: ks.Keystore) -> None:
    document = ks.encrypt_key(SigningKey(bytes(31) + b"\x01"), "pw", scrypt_n=FAST_N)
    assert document["crypto"]["kdfparams"] == {
        "n": FAST_N,
        "r": 8,
        "p": 1,
        "salt": document["crypto"]["kdfparams"]["salt"],
    }
    assert ks.DEFAULT_SCRYPT_N == 1 << 17


def test_wrong_passphrase(store: ks.Keystore) -> None:
    store.create("k", "one", scrypt_n=FAST_N)
    with pytest.raises(ks.WrongPassphrase):
        store.load("k", "two")
    with pytest.raises(ks.WrongPassphrase):
        store.load("k", None)


def test_unicode_passphrases_are_normalized(store: ks.Keystore) -> None:
    store.create("u", "caf\u00e9", scrypt_n=FAST_N)
    assert store.load("u", "cafe\u0301")  # the same text, decomposed


def test_files_are_private(store: ks.Keystore) -> None:
    entry = store.create("k", "pw", scrypt_n=FAST_N)
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.path.parent.stat().st_mode) == 0o700
    assert not [p for p in entry.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_never_overwrites(store: ks.Keystore) -> None:
    store.create("k", "pw", scrypt_n=FAST_N)
    with pytest.raises(ks.KeystoreError, match="already exists"):
        store.create("k", "pw", scrypt_n=FAST_N)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["crypto"].update(ciphertext=_flip(d["crypto"]["ciphertext"])),
        lambda d: d["crypto"].update(nonce=_flip(d["crypto"]["nonce"])),
        lambda d: d["crypto"]["kdfparams"].update(salt=_flip(d["crypto"]["kdfparams"]["salt"])),
        lambda d: d["crypto"]["kdfparams"].update(n=32),
    ],
)
def test_tampering_is_detected(store: ks.Keystore, edit) -> None:  # type: ignore[no-untyped-def]
    entry = store.create("k", "pw", scrypt_n=FAST_N)
    document = json.loads(entry.path.read_text())
    edit(document)
    entry.path.write_text(json.dumps(document))
    with pytest.raises(ks.WrongPassphrase):
        store.load("k", "pw")


def test_swapped_identity_is_detected(store: ks.Keystore) -> None:
    entry = store.create("k", "pw", scrypt_n=FAST_N)
    other = SigningKey(bytes(31) + b"\x03")
    document = json.loads(entry.path.read_text())
    document["publicKey"] = other.public_key.hex()
    document["address"] = encode_address(address_of(other.public_key))
    entry.path.write_text(json.dumps(document))
    with pytest.raises(ks.WrongPassphrase):  # the AAD binds the identity
        store.load("k", "pw")
    document["address"] = encode_address(bytes(20))
    entry.path.write_text(json.dumps(document))
    with pytest.raises(ks.KeystoreError, match="does not match"):
        store.load("k", "pw")


@pytest.mark.parametrize(
    "params", [{"n": 1 << 30, "r": 8, "p": 1}, {"n": 3, "r": 8, "p": 1}, {"n": 16, "r": 0, "p": 1}]
)
def test_costly_or_invalid_kdf_params_are_refused(
    store: ks.Keystore, params: dict[str, int]
) -> None:
    entry = store.create("k", "pw", scrypt_n=FAST_N)
    document = json.loads(entry.path.read_text())
    document["crypto"]["kdfparams"].update(params)
    entry.path.write_text(json.dumps(document))
    with pytest.raises(ks.KeystoreError, match="out of range"):
        store.load("k", "pw")


@pytest.mark.parametrize(
    "text", ["", "{}", "[]", '{"format": "ledger-keystore", "version": 9}', "x" * 70000]
)
def test_malformed_files(store: ks.Keystore, text: str) -> None:
    path = store.path_of("bad")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(ks.KeystoreError):
        store.load("bad", "pw")
    assert store.list() == []  # unreadable files are not listed


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65, "devnet:", "alice\n"])
def test_bad_names(store: ks.Keystore, name: str) -> None:
    with pytest.raises(ks.KeystoreError):
        store.path_of(name)


def test_devnet_keys_are_apart_and_flagged(store: ks.Keystore) -> None:
    store.create("real", "pw", scrypt_n=FAST_N)
    entry = store.add_devnet("alice")
    assert entry.name == "devnet:alice" and entry.insecure
    assert entry.path.parent == store.devnet_directory
    assert json.loads(entry.path.read_text())["insecure"] is True
    assert "crypto" not in json.loads(entry.path.read_text())  # no secret on disk
    assert store.load("devnet:alice", None).secret == account_key("alice").secret
    assert [e.name for e in store.list()] == ["real"]
    assert [e.name for e in store.list(devnet=True)] == ["devnet:alice"]
    with pytest.raises(ks.KeystoreError):
        store.add_devnet("mallory")
    with pytest.raises(ks.KeystoreError):
        store.create("devnet:bob", "pw", scrypt_n=FAST_N)


def test_a_devnet_file_in_the_real_directory_is_refused(store: ks.Keystore) -> None:
    entry = store.add_devnet("bob")
    real = store.path_of("bob")
    real.write_bytes(entry.path.read_bytes())
    with pytest.raises(ks.KeystoreError):
        store.load("bob", "pw")
    with pytest.raises(ks.KeystoreError):
        store.entry("bob")


def _flip(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]
