"""Nutshell (the `cashu` package, Cashu's Python wallet and mint) checks our
work: its DLEQ code verifies the proofs our threshold issuance produces
(as Alice, on the blind signature, and as Carol, on the note with r), its
hash_to_curve and blinding agree with ours, its token parser reads our
cashuA and cashuB tokens, and we read the tokens it writes.

Nutshell runs in its own venv (.venv-nutshell, made by `make install`; see
pyproject.toml for why) and in a subprocess, which also keeps its global
patching of coincurve's PublicKey away from our process.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ledger.features.mint import bdhke, keysets, tokens
from ledger.features.mint.tokens import Note, NoteDleq, Token
from ledger.threshold import dkg
from ledger.threshold.group import SCALAR_SIZE
from tests.conftest import PROJECT_ROOT
from tests.ledger.threshold.inprocess import run_dkg, seeded_rng

from .threshold_mint import run_issuance

NUTSHELL_PYTHON = PROJECT_ROOT / ".venv-nutshell" / "bin" / "python"
PROBE = Path(__file__).with_name("nutshell_probe.py")


def hex32(value: int) -> str:
    return value.to_bytes(SCALAR_SIZE, "big").hex()


def ask_nutshell(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    if not NUTSHELL_PYTHON.exists():
        pytest.fail(f"{NUTSHELL_PYTHON} is missing: `make install` creates it")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir)}
    done = subprocess.run(
        [str(NUTSHELL_PYTHON), str(PROBE)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture(scope="module")
def issued() -> tuple[Token, list[dict[str, str]]]:
    """Notes of amounts 1, 2, 2 issued by 3-of-4 DKG keys (one key per
    amount), with everything Nutshell needs to check each."""
    dkg_rng = seeded_rng(1900)
    groups = {}
    for amount in (1, 2):
        session = dkg.DkgSession(b"nutshell check/amount %d" % amount, 3, (1, 2, 3, 4))
        groups[amount] = [r.key_package for _, r in sorted(run_dkg(session, dkg_rng).items())]
    mint_keys = {a: keys[0].public.group_public_key for a, keys in groups.items()}
    keyset_id = keysets.keyset_id_v2(mint_keys, "sat")
    rng = seeded_rng(1901)
    notes, cases = [], []
    for index, amount in enumerate((1, 2, 2)):
        keys = groups[amount]
        secret = rng(32).hex()  # the usual Cashu secret: 32 random bytes in hex
        r = bdhke.random_blinding_factor(rng)
        blinded = bdhke.blind_message(secret.encode(), r)
        signers = keys[index % 2 : index % 2 + 3]
        signed = run_issuance(signers, keys[0].public, blinded, b"deposit %d" % index, rng)
        mint_key = mint_keys[amount]
        signature = bdhke.unblind_signature(signed.blind_signature, r, mint_key)
        notes.append(Note(amount, keyset_id, secret, signature, NoteDleq(signed.proof, r)))
        cases.append(
            {
                "A": mint_key.sec.hex(),
                "B_": blinded.sec.hex(),
                "C_": signed.blind_signature.sec.hex(),
                "e": signed.proof.challenge_bytes().hex(),
                "s": signed.proof.response_bytes().hex(),
                "secret": secret,
                "r": hex32(r),
                "C": signature.sec.hex(),
            }
        )
    return Token("http://127.0.0.1:8545", "sat", tuple(notes), "from the validators"), cases


def tampered(case: dict[str, str]) -> dict[str, str]:
    s = (int(case["s"], 16) + 1).to_bytes(SCALAR_SIZE, "big").hex()
    return {**case, "s": s}


def note_json(note: Note) -> dict[str, Any]:
    assert note.dleq is not None
    return {
        "id": note.keyset_id,
        "amount": note.amount,
        "secret": note.secret,
        "C": note.signature.sec.hex(),
        "dleq": {
            "e": note.dleq.proof.challenge_bytes().hex(),
            "s": note.dleq.proof.response_bytes().hex(),
            "r": hex32(note.dleq.blinding_factor),
        },
    }


@pytest.fixture(scope="module")
def nutshell(
    issued: tuple[Token, list[dict[str, str]]],
    cashu_vectors: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Nutshell's answers to everything below, in one subprocess."""
    token, cases = issued
    request = {
        "issued": [*cases, tampered(cases[0])],
        "hash_to_curve": [c["message"] for c in cashu_vectors["hash_to_curve"]]
        + [c["secret"].encode().hex() for c in cases],
        "tokens": [tokens.encode_token_v3(token), tokens.encode_token_v4(token)],
        "serialize": [
            {
                "mint": token.mint_url,
                "unit": token.unit,
                "proofs": [note_json(n) for n in token.notes],
            }
        ],
    }
    return ask_nutshell(request, tmp_path_factory.mktemp("nutshell"))


def test_nutshell_verifies_our_threshold_dleq_proofs(
    issued: tuple[Token, list[dict[str, str]]], nutshell: dict[str, Any]
) -> None:
    _, cases = issued
    *genuine, forged = nutshell["issued"]
    assert len(genuine) == len(cases) == 3
    for case, answer in zip(cases, genuine, strict=True):
        assert answer["alice"] is True  # on the blind signature (B_, C_, e, s)
        assert answer["carol"] is True  # on the note (secret, C, e, s, r)
        assert answer["B_"] == case["B_"]  # its blinding of our secret with our r
        assert answer["C"] == case["C"]  # its unblinding
    assert forged["alice"] is False and forged["carol"] is False


def test_nutshell_hash_to_curve_agrees(
    issued: tuple[Token, list[dict[str, str]]],
    nutshell: dict[str, Any],
    cashu_vectors: dict[str, Any],
) -> None:
    _, cases = issued
    messages = [bytes.fromhex(c["message"]) for c in cashu_vectors["hash_to_curve"]]
    messages += [c["secret"].encode() for c in cases]
    assert nutshell["hash_to_curve"] == [bdhke.hash_to_curve(m).sec.hex() for m in messages]


def test_nutshell_parses_our_tokens(
    issued: tuple[Token, list[dict[str, str]]], nutshell: dict[str, Any]
) -> None:
    token, _ = issued
    expected = [note_json(n) for n in token.notes]
    for parsed in nutshell["tokens"]:
        assert "error" not in parsed, parsed
        assert parsed["mint"] == token.mint_url
        assert parsed["unit"] == token.unit
        assert parsed["memo"] == token.memo
        assert sorted(parsed["proofs"], key=repr) == sorted(expected, key=repr)


def test_we_parse_nutshells_tokens(
    issued: tuple[Token, list[dict[str, str]]], nutshell: dict[str, Any]
) -> None:
    token, _ = issued
    (written,) = nutshell["serialized"]
    for text in (written["v3"], written["v4"]):
        decoded = tokens.decode_token(text)
        assert decoded.mint_url == token.mint_url and decoded.unit == token.unit
        assert sorted(decoded.notes, key=repr) == sorted(token.notes, key=repr)
    # Nutshell's V4 is byte for byte what we write for the same token (no memo).
    assert written["v4"] == tokens.encode_token_v4(replace(token, memo=None))
