"""Every external signature vector, through coincurve and python-ecdsa alike.

Rule for Wycheproof ``acceptable`` cases (docs/spec/transactions.md): they
are rejected. Consensus needs one answer on every node, so anything the
strict rules do not call valid is invalid.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from coincurve import PublicKey

from ledger import crypto, crypto_reference
from ledger.der import DerError, decode_der_signature


def _wycheproof_cases(directory: Path, name: str) -> list[tuple[bytes, dict[str, object]]]:
    data = json.loads((directory / name).read_text())
    cases = []
    for group in data["testGroups"]:
        public_key = bytes.fromhex(group["publicKey"]["uncompressed"])
        for test in group["tests"]:
            cases.append((public_key, test))
    assert len(cases) == data["numberOfTests"]
    return cases


def _expected(test: dict[str, object]) -> bool:
    assert test["result"] in ("valid", "invalid", "acceptable")
    return test["result"] == "valid"


def _der_to_compact(der: bytes) -> bytes | None:
    try:
        r, s = decode_der_signature(der)
    except DerError:
        return None
    if r >= 1 << 256 or s >= 1 << 256:
        return None
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _both_any_s(public_key: bytes, message: bytes, compact: bytes | None) -> tuple[bool, bool]:
    if compact is None:
        return False, False
    digest = crypto.sha256(message)
    return (
        crypto.verify_digest_any_s(public_key, digest, compact),
        crypto_reference.verify_digest_any_s(public_key, digest, compact),
    )


@pytest.mark.parametrize(
    "name",
    [
        "wycheproof-ecdsa_secp256k1_sha256_test.json",
        "wycheproof-ecdsa_secp256k1_sha256_p1363_test.json",
    ],
)
def test_wycheproof_textbook_ecdsa(vectors_dir: Path, name: str) -> None:
    p1363 = "p1363" in name
    failures = []
    for public_key, test in _wycheproof_cases(vectors_dir, name):
        sig = bytes.fromhex(str(test["sig"]))
        compact = (sig if len(sig) == 64 else None) if p1363 else _der_to_compact(sig)
        fast, reference = _both_any_s(public_key, bytes.fromhex(str(test["msg"])), compact)
        if not fast == reference == _expected(test):
            failures.append((test["tcId"], test["result"], fast, reference))
    assert failures == []


def test_wycheproof_bitcoin_rules_are_the_ledger_rules(vectors_dir: Path) -> None:
    """The ledger's own verify (compact, low S only) on the Bitcoin-rules file."""
    failures = []
    for public_key, test in _wycheproof_cases(
        vectors_dir, "wycheproof-ecdsa_secp256k1_sha256_bitcoin_test.json"
    ):
        compressed = PublicKey(public_key).format(compressed=True)
        compact = _der_to_compact(bytes.fromhex(str(test["sig"])))
        digest = crypto.sha256(bytes.fromhex(str(test["msg"])))
        if compact is None:
            fast = reference = False
        else:
            fast = crypto.verify_digest(compressed, digest, compact)
            reference = crypto_reference.verify_digest(compressed, digest, compact)
        if not fast == reference == _expected(test):
            failures.append((test["tcId"], test["result"], fast, reference))
    assert failures == []


def test_wycheproof_files_exercise_both_outcomes(vectors_dir: Path) -> None:
    for name in (
        "wycheproof-ecdsa_secp256k1_sha256_test.json",
        "wycheproof-ecdsa_secp256k1_sha256_bitcoin_test.json",
        "wycheproof-ecdsa_secp256k1_sha256_p1363_test.json",
    ):
        results = {str(t["result"]) for _, t in _wycheproof_cases(vectors_dir, name)}
        assert {"valid", "invalid"} <= results


BIP340_ROWS = 19  # bip-0340/test-vectors.csv: indexes 0-18
BIP340_SIGNING_ROWS = 8  # the rows with a secret key: 0-3 and 15-18


def _bip340_rows(directory: Path) -> list[dict[str, str]]:
    with (directory / "bip340-test-vectors.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_bip340_verification(vectors_dir: Path) -> None:
    rows = _bip340_rows(vectors_dir)
    assert len(rows) == BIP340_ROWS, "the BIP-340 vector file is not the published one"
    assert [int(row["index"]) for row in rows] == list(range(BIP340_ROWS))
    for row in rows:
        public_key = bytes.fromhex(row["public key"])
        message = bytes.fromhex(row["message"])
        signature = bytes.fromhex(row["signature"])
        expected = row["verification result"] == "TRUE"
        assert crypto.verify_schnorr(public_key, message, signature) is expected, row["index"]
        assert crypto_reference.verify_schnorr(public_key, message, signature) is expected, row[
            "index"
        ]


def test_bip340_signing(vectors_dir: Path) -> None:
    signed = 0
    for row in _bip340_rows(vectors_dir):
        if not row["secret key"]:
            continue
        secret = bytes.fromhex(row["secret key"])
        message = bytes.fromhex(row["message"])
        aux = bytes.fromhex(row["aux_rand"])
        expected = bytes.fromhex(row["signature"])
        assert crypto.sign_schnorr(secret, message, aux) == expected, row["index"]
        assert crypto_reference.sign_schnorr(secret, message, aux) == expected, row["index"]
        signed += 1
    assert signed == BIP340_SIGNING_ROWS, "the BIP-340 vector file is not the published one"
