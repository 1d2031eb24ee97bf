"""Run by Nutshell's interpreter (.venv-nutshell), not by pytest: reads a
JSON request on stdin, answers with Nutshell's own crypto and token code on
stdout. It imports nothing from this project. See test_nutshell.py."""

from __future__ import annotations

import json
import sys
from typing import Any

from cashu.core.base import DLEQWallet, Proof, TokenV3, TokenV3Token, TokenV4
from cashu.core.crypto import b_dhke
from cashu.core.crypto.secp import PrivateKey, PublicKey


def point(hex_text: str) -> PublicKey:
    return PublicKey(bytes.fromhex(hex_text))


def scalar(hex_text: str) -> PrivateKey:
    return PrivateKey(bytes.fromhex(hex_text))


def check_issued(case: dict[str, Any]) -> dict[str, Any]:
    mint_key, blinded, blind_signature = point(case["A"]), point(case["B_"]), point(case["C_"])
    e, s, r = scalar(case["e"]), scalar(case["s"]), scalar(case["r"])
    blinded_again, _ = b_dhke.step1_alice(case["secret"], r)
    return {
        "alice": b_dhke.alice_verify_dleq(blinded, blind_signature, e, s, mint_key),
        "carol": b_dhke.carol_verify_dleq(case["secret"], r, point(case["C"]), e, s, mint_key),
        "B_": blinded_again.format().hex(),
        "C": b_dhke.step3_alice(blind_signature, r, mint_key).format().hex(),
    }


def parse_token(text: str) -> dict[str, Any]:
    try:
        token = (
            TokenV4.deserialize(text) if text.startswith("cashuB") else TokenV3.deserialize(text)
        )
    except Exception as e:  # report Nutshell's refusal instead of dying
        return {"error": f"{type(e).__name__}: {e}"}
    proofs = [
        {
            "id": p.id,
            "amount": p.amount,
            "secret": p.secret,
            "C": p.C,
            "dleq": None if p.dleq is None else {"e": p.dleq.e, "s": p.dleq.s, "r": p.dleq.r},
        }
        for p in token.proofs
    ]
    return {"mint": token.mint, "unit": token.unit, "memo": token.memo, "proofs": proofs}


def serialize(spec: dict[str, Any]) -> dict[str, str]:
    proofs = [
        Proof(
            id=p["id"],
            amount=p["amount"],
            secret=p["secret"],
            C=p["C"],
            dleq=DLEQWallet(**p["dleq"]),
        )
        for p in spec["proofs"]
    ]
    v3 = TokenV3(token=[TokenV3Token(mint=spec["mint"], proofs=proofs)], _unit=spec["unit"])
    return {
        "v3": v3.serialize(include_dleq=True),
        "v4": TokenV4.from_tokenv3(v3).serialize(include_dleq=True),
    }


def main() -> None:
    request = json.load(sys.stdin)
    answer = {
        "issued": [check_issued(c) for c in request["issued"]],
        "hash_to_curve": [
            b_dhke.hash_to_curve(bytes.fromhex(m)).format().hex() for m in request["hash_to_curve"]
        ],
        "tokens": [parse_token(t) for t in request["tokens"]],
        "serialized": [serialize(s) for s in request["serialize"]],
    }
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
