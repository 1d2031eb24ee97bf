"""Threshold secrets at rest: sealed under the validator key, nonces never
survive a restart, joined attempts do; the signed p2p envelope is strict."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from consensus.node.threshold.service import EnvelopeError, decode_envelope, sign_envelope
from consensus.node.threshold.store import SavedKeys, ThresholdStore, ThresholdStoreError
from ledger import codec, crypto
from ledger.crypto import SigningKey, sha256
from ledger.threshold import dkg, frost
from tests.ledger.threshold.inprocess import run_dkg, seeded_rng

KEY = SigningKey(sha256(b"store test validator"))
OTHER = SigningKey(sha256(b"store test other validator"))


def _key_package():  # type: ignore[no-untyped-def]
    results = run_dkg(dkg.DkgSession(b"store", 2, (1, 2, 3)), seeded_rng(1))
    return results[2]


def test_keys_and_joined_attempts_survive_a_restart_nonces_do_not(tmp_path: Path) -> None:
    store = ThresholdStore(tmp_path / "t", KEY)
    result = _key_package()
    store.save_key(4, 1, result.transcript_hash, (result.key_package,), "mint/1")
    nonces, _ = frost.commit(result.key_package, seeded_rng(2))
    store.save_nonces(5, 0, nonces)
    store.join(5, 0)
    assert store.load_nonces(5, 0) == nonces
    for path in (tmp_path / "t").rglob("*.bin"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert nonces.hiding.to_bytes(32, "big") not in path.read_bytes()
        assert result.key_package.secret_share.to_bytes(32, "big") not in path.read_bytes()
    with pytest.raises(ThresholdStoreError):
        ThresholdStore(tmp_path / "t", KEY)  # locked by the first
    store.close()

    reopened = ThresholdStore(tmp_path / "t", KEY)
    assert reopened.discarded_nonces == 1 and reopened.load_nonces(5, 0) is None
    assert reopened.joined == {(5, 0)}
    saved = SavedKeys(result.transcript_hash, "mint/1", (result.key_package,))
    assert reopened.load_keys() == {(4, 1): saved}
    reopened.erase_key(4, 1)
    assert reopened.load_keys() == {}
    reopened.forget_ceremonies(set())
    assert reopened.joined == set()
    reopened.close()


def test_files_do_not_open_under_another_validator_key_or_another_name(tmp_path: Path) -> None:
    store = ThresholdStore(tmp_path / "t", KEY)
    result = _key_package()
    store.save_key(4, 1, result.transcript_hash, (result.key_package,), "mint/1")
    store.close()
    with pytest.raises(ThresholdStoreError):
        ThresholdStore(tmp_path / "t", OTHER).load_keys()
    keys = tmp_path / "t" / "keys"
    (keys / "c4-a1.bin").rename(keys / "c9-a1.bin")
    with pytest.raises(ThresholdStoreError):
        ThresholdStore(tmp_path / "t", KEY).load_keys()


def test_spending_nonces_erases_them(tmp_path: Path) -> None:
    store = ThresholdStore(tmp_path / "t", KEY)
    nonces, _ = frost.commit(_key_package().key_package, seeded_rng(3))
    store.save_nonces(1, 2, nonces)
    store.spend_nonces(1, 2)
    assert store.load_nonces(1, 2) is None
    assert not list((tmp_path / "t" / "nonces").iterdir())
    store.spend_nonces(1, 2)  # idempotent


def test_envelopes_are_signed_and_strict() -> None:
    envelope = sign_envelope(KEY, "chain", 3, 1, 21, b"body")
    decoded = decode_envelope(envelope.encode())
    assert decoded == envelope
    assert crypto.verify_digest(KEY.public_key, decoded.digest("chain"), decoded.signature)
    assert not crypto.verify_digest(KEY.public_key, decoded.digest("other"), decoded.signature)
    fields = codec.decode(envelope.encode())
    bad_values = [
        b"\xc1",
        codec.encode(fields[:5]),
        codec.encode((0, *fields[1:])),
        codec.encode((*fields[:2], 99, *fields[3:])),
        codec.encode((*fields[:3], b"\x02" * 32, *fields[4:])),
        codec.encode((*fields[:5], b"\x00" * 63)),
        "text",
    ]
    for bad in bad_values:
        with pytest.raises(EnvelopeError):
            decode_envelope(bad)
