"""Cashu tokens V3 (cashuA) and V4 (cashuB): the spec's examples decode and
re-encode byte for byte, every token round-trips, and malformed or
oversized input is refused with a typed error, whatever it holds."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.mint import cbor, tokens
from ledger.features.mint.dleq import DleqProof
from ledger.features.mint.errors import InvalidToken, TokenTooLarge
from ledger.features.mint.tokens import Note, NoteDleq, Token
from ledger.threshold.group import ORDER, base_mul

V2_ID = "01" + "ab" * 32


def spec_note(proof: dict[str, Any], keyset_id: str) -> tuple[int, str, str, str]:
    return proof["a"], keyset_id, proof["s"], proof["c"]


def test_spec_v4_examples_decode_and_reencode(spec_vectors: dict[str, Any]) -> None:
    cases = spec_vectors["token_v4"]
    assert len(cases) == 2
    for case in cases:
        token = tokens.decode_token(case["token"])
        body = case["json"]
        assert token.mint_url == body["m"] and token.unit == body["u"]
        assert token.memo == body.get("d")
        expected = [spec_note(p, group["i"]) for group in body["t"] for p in group["p"]]
        got = [(n.amount, n.keyset_id, n.secret, n.signature.sec.hex()) for n in token.notes]
        assert got == expected
        assert tokens.encode_token_v4(token) == case["token"].rstrip("=")


def test_spec_v3_examples(spec_vectors: dict[str, Any]) -> None:
    (case,) = spec_vectors["token_v3"]
    token = tokens.decode_token(case["token"])
    body = case["json"]
    assert (token.mint_url, token.unit, token.memo) == (
        body["token"][0]["mint"],
        body["unit"],
        body["memo"],
    )
    expected = [(p["amount"], p["id"], p["secret"], p["C"]) for p in body["token"][0]["proofs"]]
    assert [
        (n.amount, n.keyset_id, n.secret, n.signature.sec.hex()) for n in token.notes
    ] == expected
    assert tokens.encode_token_v3(token) == case["token"]
    padded, unpadded = spec_vectors["token_v3_also_valid"][1:]
    assert tokens.decode_token(padded) == tokens.decode_token(unpadded)
    for text in spec_vectors["token_v3_also_valid"]:
        assert tokens.decode_token(text).amount == 10
    for text in spec_vectors["token_invalid"]:
        with pytest.raises(InvalidToken):
            tokens.decode_token(text)


texts = st.text(min_size=1, max_size=30)
scalars = st.integers(1, ORDER - 1)


@st.composite
def notes(draw: st.DrawFn) -> Note:
    dleq = None
    if draw(st.booleans()):
        proof = DleqProof(draw(st.integers(0, 2**256 - 1)), draw(st.integers(0, ORDER - 1)))
        dleq = NoteDleq(proof, draw(scalars))
    keyset_id = draw(st.sampled_from([V2_ID, V2_ID[:16], "00" + "cd" * 7]))
    return Note(
        amount=draw(st.integers(1, 2**64 - 1)),
        keyset_id=keyset_id,
        secret=draw(texts),
        signature=base_mul(draw(scalars)),
        dleq=dleq,
        witness=draw(st.none() | st.text(max_size=20)),
    )


@st.composite
def token_values(draw: st.DrawFn) -> Token:
    return Token(
        mint_url=draw(st.sampled_from(["http://127.0.0.1:8545", "https://mint.example"])),
        unit=draw(st.sampled_from(["sat", "coin", "usd"])),
        notes=tuple(draw(st.lists(notes(), min_size=1, max_size=6))),
        memo=draw(st.none() | st.text(max_size=20)),
    )


@settings(max_examples=60, deadline=None)
@given(token=token_values())
def test_tokens_round_trip_in_both_versions(token: Token) -> None:
    v4 = tokens.encode_token_v4(token)
    v3 = tokens.encode_token_v3(token)
    assert v4.startswith("cashuB") and v3.startswith("cashuA")
    # V4 groups notes by keyset: the same notes, possibly in another order.
    decoded = tokens.decode_token(v4)
    assert sorted(decoded.notes, key=repr) == sorted(token.notes, key=repr)
    assert (decoded.mint_url, decoded.unit, decoded.memo) == (
        token.mint_url,
        token.unit,
        token.memo,
    )
    assert tokens.decode_token(v3) == token
    assert tokens.decode_token("cashu:" + v3) == token


def v4_text(body: object) -> str:
    return "cashuB" + base64.urlsafe_b64encode(cbor.encode_cbor(body)).decode().rstrip("=")


def v3_text(body: object) -> str:
    return "cashuA" + base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


GOOD_C = base_mul(7).sec


def v4_body(**proof_changes: object) -> dict[str, object]:
    proof: dict[str, object] = {"a": 2, "s": "secret", "c": GOOD_C}
    proof.update(proof_changes)
    proof = {k: v for k, v in proof.items() if v is not DELETE}
    return {"t": [{"i": bytes.fromhex(V2_ID), "p": [proof]}], "m": "http://m", "u": "sat"}


DELETE = object()


def test_v4_accepts_unknown_fields_and_a_trailing_slash() -> None:
    body = v4_body(x=[1, {"y": None}], w="witness")
    body["future"] = {"anything": [True, False, -5, b"\x00"]}
    body["m"] = "http://m/"
    token = tokens.decode_token(v4_text(body))
    assert token.mint_url == "http://m" and token.notes[0].witness == "witness"


@pytest.mark.parametrize(
    "changes",
    [
        {"a": 0},
        {"a": -1},
        {"a": -(2**64)},
        {"a": True},
        {"a": "2"},
        {"a": DELETE},
        {"s": ""},
        {"s": b"secret"},
        {"s": "x" * 1025},
        {"c": GOOD_C[:-1]},
        {"c": b"\x04" + GOOD_C[1:]},
        {"c": b"\x02" + b"\xff" * 32},
        {"c": GOOD_C.hex()},
        {"d": {"e": b"\x00" * 32, "s": b"\x00" * 32}},
        {"d": {"e": b"\x00" * 32, "s": b"\xff" * 32, "r": b"\x01" * 32}},
        {"d": {"e": b"\x00" * 32, "s": b"\x00" * 32, "r": b"\x00" * 32}},
        {"d": {"e": b"\x00" * 31, "s": b"\x00" * 32, "r": b"\x01" * 32}},
        {"d": "proof"},
        {"w": 5},
    ],
)
def test_invalid_v4_notes_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidToken):
        tokens.decode_token(v4_text(v4_body(**changes)))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(t=[]),
        lambda b: b.update(t={}),
        lambda b: b.pop("m"),
        lambda b: b.update(m=""),
        lambda b: b.update(u="SAT"),
        lambda b: b.update(u=""),
        lambda b: b.update(d=7),
        lambda b: b.update(d="x" * 1025),
        lambda b: b["t"][0].update(i=b"\x02" * 8),
        lambda b: b["t"][0].update(i=b"\x01" * 9),
        lambda b: b["t"][0].update(p=[]),
        lambda b: b["t"][0].update(p=["note"]),
    ],
)
def test_invalid_v4_tokens_are_refused(mutate: Any) -> None:
    body = v4_body()
    mutate(body)
    with pytest.raises(InvalidToken):
        tokens.decode_token(v4_text(body))


def test_v4_bounds() -> None:
    proof = {"a": 1, "s": "s", "c": GOOD_C}
    many = {"t": [{"i": bytes.fromhex(V2_ID), "p": [proof] * 257}], "m": "http://m", "u": "sat"}
    with pytest.raises(TokenTooLarge):
        tokens.decode_token(v4_text(many))
    split = {
        "t": [{"i": bytes.fromhex(V2_ID), "p": [proof] * 200}] * 2,
        "m": "http://m",
        "u": "sat",
    }
    with pytest.raises(TokenTooLarge):
        tokens.decode_token(v4_text(split))
    with pytest.raises(TokenTooLarge):
        tokens.decode_token("cashuB" + "A" * (tokens.MAX_TOKEN_LENGTH + 1))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "cashuC" + "AAAA",
        "cashuB",
        "cashuB!!!!",
        "cashuBo2F0+/8",
        "cashuBA",
        "cashuBAAAA===",
        "cashuA" + base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "cashuA" + base64.urlsafe_b64encode(b"[" * 100_000).decode(),
        "cashuB" + base64.urlsafe_b64encode(b"\x81" * 60_000).decode(),
        "cashuB" + base64.urlsafe_b64encode(cbor.encode_cbor({"t": 1}) + b"\x00").decode(),
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.decode_token(text)


def v3_body(**proof_changes: object) -> dict[str, Any]:
    proof: dict[str, object] = {"amount": 2, "id": V2_ID, "secret": "s", "C": GOOD_C.hex()}
    proof.update(proof_changes)
    return {"token": [{"mint": "http://m", "proofs": [proof]}], "unit": "sat"}


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 1.0},
        {"amount": True},
        {"amount": 2**64},
        {"id": "9mlfd5vCzgGl"},
        {"C": GOOD_C.hex().upper()},
        {"C": GOOD_C.hex()[:-1]},
        {"dleq": {"e": "00" * 32, "s": "00" * 32}},
        {"dleq": {"e": "zz" * 32, "s": "00" * 32, "r": "01" * 32}},
        {"witness": ["w"]},
        {"secret": "\ud800"},
    ],
)
def test_invalid_v3_notes_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidToken):
        tokens.decode_token(v3_text(v3_body(**changes)))


def test_v3_strictness() -> None:
    two_mints = v3_body()
    two_mints["token"].append({"mint": "http://other", "proofs": two_mints["token"][0]["proofs"]})
    with pytest.raises(InvalidToken, match="several mints"):
        tokens.decode_token(v3_text(two_mints))
    duplicate = '{"token":[],"token":[]}'
    with pytest.raises(InvalidToken, match="repeats"):
        tokens.decode_token("cashuA" + base64.urlsafe_b64encode(duplicate.encode()).decode())
    with pytest.raises(InvalidToken):
        tokens.decode_token("cashuA" + base64.urlsafe_b64encode(b'{"token": NaN}').decode())
    huge = '{"token":[{"mint":"http://m","proofs":[{"amount":' + "9" * 5000 + "}]}]}"
    with pytest.raises(InvalidToken):  # Python refuses 4300+ digit integers: typed, not a crash
        tokens.decode_token("cashuA" + base64.urlsafe_b64encode(huge.encode()).decode())
    no_unit = v3_body()
    del no_unit["unit"]
    assert tokens.decode_token(v3_text(no_unit)).unit == "sat"  # as Nutshell reads it


def test_token_construction_checks() -> None:
    note = Note(1, V2_ID, "s", base_mul(3))
    with pytest.raises(InvalidToken):
        Token("http://m/", "sat", (note,))
    with pytest.raises(InvalidToken):
        Token("http://m", "sat", ())
    with pytest.raises(TokenTooLarge):
        Token("http://m", "sat", (note,) * 257)
    with pytest.raises(InvalidToken):
        Note(1, "zz", "s", base_mul(3))
    with pytest.raises(InvalidToken):
        NoteDleq(DleqProof(0, 0), 0)
