"""Every case of ../shared/vectors/cashu/nut00_nut12.json (NUT-00 and NUT-12
test vectors from cashubtc/nuts): hash_to_curve, blinded messages, blind
signatures, the DLEQ challenge hash, the deterministic nonce, and valid
proofs on a blind signature and on an unblinded note."""

from __future__ import annotations

from typing import Any

from ledger.features.mint import bdhke, dleq
from ledger.threshold.group import Point, decode_element

KNOWN_SECTIONS = {
    "source",
    "hash_to_curve",
    "blinded_messages",
    "blind_signatures",
    "dleq_hash_e",
    "dleq_deterministic_nonce",
    "dleq_valid",
}


def point(hex_text: str) -> Point:
    return decode_element(bytes.fromhex(hex_text))


def scalar(hex_text: str) -> int:
    return int(hex_text, 16)


def test_every_section_is_checked(cashu_vectors: dict[str, Any]) -> None:
    # A section added to the file must get a test here, not be skipped silently.
    assert set(cashu_vectors) == KNOWN_SECTIONS


def test_hash_to_curve(cashu_vectors: dict[str, Any]) -> None:
    cases = cashu_vectors["hash_to_curve"]
    assert cases
    for case in cases:
        assert bdhke.hash_to_curve(bytes.fromhex(case["message"])) == point(case["point"])


def test_blinded_messages(cashu_vectors: dict[str, Any]) -> None:
    cases = cashu_vectors["blinded_messages"]
    assert cases
    for case in cases:
        blinded = bdhke.blind_message(bytes.fromhex(case["x"]), scalar(case["r"]))
        assert blinded == point(case["B_"])


def test_blind_signatures(cashu_vectors: dict[str, Any]) -> None:
    cases = cashu_vectors["blind_signatures"]
    assert cases
    for case in cases:
        signature = bdhke.sign_blinded_message(scalar(case["k"]), point(case["B_"]))
        assert signature == point(case["C_"])


def test_dleq_hash_e(cashu_vectors: dict[str, Any]) -> None:
    cases = cashu_vectors["dleq_hash_e"]
    assert cases
    for case in cases:
        points = [point(case[name]) for name in ("R1", "R2", "K", "C_")]
        assert dleq.hash_e(*points).hex() == case["e"]


def test_dleq_deterministic_nonce(cashu_vectors: dict[str, Any]) -> None:
    cases = cashu_vectors["dleq_deterministic_nonce"]
    assert cases
    for case in cases:
        a = scalar(case["a"])
        blinded = point(case["B_"])
        signature, proof = dleq.prove_blind_signature(a, blinded)
        assert bdhke.sign_blinded_message(a, blinded) == signature == point(case["C_"])
        assert dleq.verify_blind_signature_proof(point(case["A"]), blinded, signature, proof)
        assert proof.challenge_bytes().hex() == case["e"]
        assert proof.response_bytes().hex() == case["s"]


def test_dleq_valid_proofs(cashu_vectors: dict[str, Any]) -> None:
    cases = cashu_vectors["dleq_valid"]
    assert {"C_" in c for c in cases} == {True, False}  # both kinds present
    for case in cases:
        mint_key = point(case["A"])
        proof = dleq.DleqProof(scalar(case["dleq"]["e"]), scalar(case["dleq"]["s"]))
        if "C_" in case:  # a BlindSignature: Alice's check
            blinded, signature = point(case["B_"]), point(case["C_"])
            assert dleq.verify_blind_signature_proof(mint_key, blinded, signature, proof)
            tampered = dleq.DleqProof(proof.challenge, (proof.response + 1))
            assert not dleq.verify_blind_signature_proof(mint_key, blinded, signature, tampered)
        else:  # a Proof (note) with r: Carol's check, secret hashed as UTF-8 text
            r = scalar(case["dleq"]["r"])
            message = case["secret"].encode("utf-8")
            assert dleq.verify_note_proof(mint_key, message, point(case["C"]), proof, r)
            assert not dleq.verify_note_proof(mint_key, message, point(case["C"]), proof, r + 1)
            assert not dleq.verify_note_proof(mint_key, b"other", point(case["C"]), proof, r)
