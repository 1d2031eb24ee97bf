"""Notes and Cashu tokens: V4 ``cashuB`` (CBOR) and V3 ``cashuA`` (JSON),
both base64url, as NUT-00 defines them, so that Cashu tools read ours and
we read theirs.

A note (Cashu's "Proof") is (amount, keyset id, secret, C) with optional
NUT-12 proof (e, s, r) and witness. A token is notes of one mint and unit,
with an optional memo. V3 can name several mints; we accept only tokens of
one mint (the chain's), V3 or V4.

Decoding is strict and bounded: the text is at most MAX_TOKEN_LENGTH
characters before anything is decoded; base64url alphabet only (padding
optional, as NUT-00 says); every field is type-checked, points are
validated, scalars range-checked; a token holds 1..MAX_NOTES notes; strings
have length bounds. Unknown fields are ignored, as NUT-00 requires for V4
("receivers MUST ignore unknown fields"), within the same size bound. Every
failure raises InvalidToken (TokenTooLarge for a bound).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.threshold.errors import InvalidEncoding
from ledger.threshold.group import ORDER, SCALAR_SIZE, Point, decode_element

from .cbor import CborValue, decode_cbor, encode_cbor
from .dleq import DleqProof
from .errors import InvalidKeyset, InvalidToken, TokenTooLarge
from .keysets import check_keyset_id, check_unit

V4_PREFIX = "cashuB"
V3_PREFIX = "cashuA"
URI_PREFIX = "cashu:"
MAX_TOKEN_LENGTH = 128 * 1024
MAX_NOTES = 256
MAX_AMOUNT = 2**64 - 1
MAX_SECRET_LENGTH = 1024
MAX_WITNESS_LENGTH = 4096
MAX_MINT_URL_LENGTH = 512
MAX_MEMO_LENGTH = 1024
_MAX_DEPTH = 16
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class NoteDleq:
    """The NUT-12 proof carried by a note: the mint's (e, s) and the
    wallet's blinding factor r (0 < r < ORDER), which lets the receiver
    check the proof and which links the note to its issue: never show it to
    the mint or the chain."""

    proof: DleqProof
    blinding_factor: int

    def __post_init__(self) -> None:
        if not 0 < self.blinding_factor < ORDER:
            raise InvalidToken("a blinding factor is a nonzero scalar below the group order")


@dataclass(frozen=True)
class Note:
    """One note: amount, keyset id, secret, the mint's signature C = k*Y,
    and optionally its NUT-12 proof and a witness (NUT-10 spending conditions).

    Raises InvalidToken on construction for a field out of its bounds.
    """

    amount: int
    keyset_id: str
    secret: str
    signature: Point
    dleq: NoteDleq | None = None
    witness: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not 0 < self.amount <= MAX_AMOUNT:
            raise InvalidToken(f"a note amount is 1..{MAX_AMOUNT}")
        try:
            check_keyset_id(self.keyset_id)
        except InvalidKeyset as e:
            raise InvalidToken(str(e)) from None
        _check_text(self.secret, "secret", MAX_SECRET_LENGTH, empty=False)
        if self.signature.is_identity():
            raise InvalidToken("a note's signature cannot be the identity")
        if self.witness is not None:
            _check_text(self.witness, "witness", MAX_WITNESS_LENGTH, empty=True)


@dataclass(frozen=True)
class Token:
    """Notes of one mint and unit, with an optional memo.

    Raises InvalidToken on construction for no notes, too many, a mint URL
    that is empty, too long or ends in "/", a bad unit or a memo too long.
    """

    mint_url: str
    unit: str
    notes: tuple[Note, ...]
    memo: str | None = None

    def __post_init__(self) -> None:
        _check_text(self.mint_url, "mint URL", MAX_MINT_URL_LENGTH, empty=False)
        if self.mint_url.endswith("/"):
            raise InvalidToken("a mint URL carries no trailing slash")
        try:
            check_unit(self.unit)
        except InvalidKeyset as e:
            raise InvalidToken(str(e)) from None
        if not self.notes:
            raise InvalidToken("a token holds at least one note")
        if len(self.notes) > MAX_NOTES:
            raise TokenTooLarge(f"a token holds at most {MAX_NOTES} notes")
        if self.memo is not None:
            _check_text(self.memo, "memo", MAX_MEMO_LENGTH, empty=True)

    @property
    def amount(self) -> int:
        """The sum of the notes' amounts."""
        return sum(note.amount for note in self.notes)


def _check_text(value: object, name: str, limit: int, *, empty: bool) -> str:
    if not isinstance(value, str):
        raise InvalidToken(f"{name} must be a string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can carry
        raise InvalidToken(f"{name} is not valid Unicode text") from None
    if size > limit:
        raise TokenTooLarge(f"{name} is longer than {limit} bytes")
    if not value and not empty:
        raise InvalidToken(f"{name} cannot be empty")
    return value


# -- Encoding -----------------------------------------------------------------


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _dleq_fields(dleq: NoteDleq) -> tuple[bytes, bytes, bytes]:
    return (
        dleq.proof.challenge_bytes(),
        dleq.proof.response_bytes(),
        dleq.blinding_factor.to_bytes(SCALAR_SIZE, "big"),
    )


def encode_token_v4(token: Token) -> str:
    """``cashuB`` + base64url(CBOR), notes grouped by keyset id in order of
    first appearance, keys as NUT-00 names them (t, d, m, u)."""
    groups: dict[str, list[dict[str, object]]] = {}
    for note in token.notes:
        proof: dict[str, object] = {"a": note.amount, "s": note.secret, "c": note.signature.sec}
        if note.dleq is not None:
            e, s, r = _dleq_fields(note.dleq)
            proof["d"] = {"e": e, "s": s, "r": r}
        if note.witness is not None:
            proof["w"] = note.witness
        groups.setdefault(note.keyset_id, []).append(proof)
    body: dict[str, object] = {
        "t": [{"i": bytes.fromhex(i), "p": proofs} for i, proofs in groups.items()]
    }
    if token.memo is not None:
        body["d"] = token.memo
    body["m"] = token.mint_url
    body["u"] = token.unit
    return V4_PREFIX + _base64url(encode_cbor(body))


def encode_token_v3(token: Token) -> str:
    """``cashuA`` + base64url(compact JSON), one entry for the token's mint."""
    proofs = []
    for note in token.notes:
        proof: dict[str, object] = {
            "amount": note.amount,
            "id": note.keyset_id,
            "secret": note.secret,
            "C": note.signature.sec.hex(),
        }
        if note.dleq is not None:
            e, s, r = _dleq_fields(note.dleq)
            proof["dleq"] = {"e": e.hex(), "s": s.hex(), "r": r.hex()}
        if note.witness is not None:
            proof["witness"] = note.witness
        proofs.append(proof)
    body: dict[str, object] = {"token": [{"mint": token.mint_url, "proofs": proofs}]}
    body["unit"] = token.unit
    if token.memo is not None:
        body["memo"] = token.memo
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return V3_PREFIX + _base64url(text.encode("utf-8"))


# -- Decoding -----------------------------------------------------------------


def decode_token(text: str) -> Token:
    """Decode a ``cashuB`` or ``cashuA`` token (optionally after ``cashu:``).

    Raises TokenTooLarge beyond MAX_TOKEN_LENGTH characters or another
    bound, InvalidToken for anything malformed.
    """
    if not isinstance(text, str):
        raise InvalidToken("a token is text")
    if len(text) > MAX_TOKEN_LENGTH:
        raise TokenTooLarge(f"a token is at most {MAX_TOKEN_LENGTH} characters")
    text = text.strip()
    if text.startswith(URI_PREFIX):
        text = text[len(URI_PREFIX) :]
    if text.startswith(V4_PREFIX):
        data = decode_cbor(_unbase64url(text[len(V4_PREFIX) :]), _MAX_DEPTH)
        return _token_from_v4(data)
    if text.startswith(V3_PREFIX):
        return _token_from_v3(_parse_json(_unbase64url(text[len(V3_PREFIX) :])))
    raise InvalidToken("not a cashuA or cashuB token")


def _unbase64url(body: str) -> bytes:
    stripped = body.rstrip("=")
    if len(body) - len(stripped) > 2 or not set(stripped) <= _BASE64URL:
        raise InvalidToken("a token body is base64url")
    if len(stripped) % 4 == 1:
        raise InvalidToken("a token body has an impossible base64 length")
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_", validate=True)
    except binascii.Error:
        raise InvalidToken("a token body is base64url") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidToken(f"JSON key {key!r} repeats")
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise InvalidToken(f"JSON constant {name} is not accepted")


def _parse_json(data: bytes) -> Any:
    try:
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=lambda _: _reject_constant("float"),
        )
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, or an integer of 4300+ digits
        raise InvalidToken("a cashuA body is UTF-8 JSON") from None


def _field(container: Mapping[str, Any], key: str, kind: type, *, optional: bool = False) -> Any:
    value = container.get(key)
    if value is None and optional:
        return None
    if kind is int and isinstance(value, bool):
        raise InvalidToken(f"field {key!r} must be an integer")
    if not isinstance(value, kind):
        raise InvalidToken(f"field {key!r} must be {kind.__name__}")
    return value


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidToken(f"{what} must be a map")
    return value


def _items(value: object, what: str, limit: int) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise InvalidToken(f"{what} must be a non-empty list")
    if len(value) > limit:
        raise TokenTooLarge(f"{what} has more than {limit} entries")
    return value


def _point(data: bytes) -> Point:
    try:
        return decode_element(data)
    except InvalidEncoding as e:
        raise InvalidToken(f"a note signature is not a valid point: {e}") from None


def _dleq(e: bytes, s: bytes, r: bytes) -> NoteDleq:
    if not len(e) == len(s) == len(r) == SCALAR_SIZE:
        raise InvalidToken("DLEQ fields e, s, r are 32 bytes each")
    try:
        proof = DleqProof(int.from_bytes(e, "big"), int.from_bytes(s, "big"))
    except InvalidEncoding as error:
        raise InvalidToken(str(error)) from None
    return NoteDleq(proof, int.from_bytes(r, "big"))


def _hex_bytes(value: object, what: str) -> bytes:
    if not isinstance(value, str) or len(value) % 2 or value != value.lower():
        raise InvalidToken(f"{what} must be lowercase hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise InvalidToken(f"{what} must be lowercase hex") from None


def _token_from_v4(data: CborValue) -> Token:
    body = _mapping(data, "a cashuB token")
    notes: list[Note] = []
    for group in _items(body.get("t"), "the keyset list", MAX_NOTES):
        group = _mapping(group, "a keyset entry")
        keyset_id = _field(group, "i", bytes).hex()
        for proof in _items(group.get("p"), "a keyset's notes", MAX_NOTES):
            proof = _mapping(proof, "a note")
            dleq = _field(proof, "d", dict, optional=True)
            notes.append(
                Note(
                    amount=_field(proof, "a", int),
                    keyset_id=keyset_id,
                    secret=_field(proof, "s", str),
                    signature=_point(_field(proof, "c", bytes)),
                    dleq=None
                    if dleq is None
                    else _dleq(
                        _field(dleq, "e", bytes), _field(dleq, "s", bytes), _field(dleq, "r", bytes)
                    ),
                    witness=_field(proof, "w", str, optional=True),
                )
            )
            if len(notes) > MAX_NOTES:
                raise TokenTooLarge(f"a token holds at most {MAX_NOTES} notes")
    mint_url = _field(body, "m", str).rstrip("/")
    return Token(
        mint_url, _field(body, "u", str), tuple(notes), _field(body, "d", str, optional=True)
    )


def _token_from_v3(data: Any) -> Token:
    body = _mapping(data, "a cashuA token")
    notes: list[Note] = []
    mints = set()
    for entry in _items(body.get("token"), "the mint list", MAX_NOTES):
        entry = _mapping(entry, "a mint entry")
        mints.add(_field(entry, "mint", str).rstrip("/"))
        for proof in _items(entry.get("proofs"), "a mint's notes", MAX_NOTES):
            proof = _mapping(proof, "a note")
            dleq = _field(proof, "dleq", dict, optional=True)
            notes.append(
                Note(
                    amount=_field(proof, "amount", int),
                    keyset_id=_field(proof, "id", str),
                    secret=_field(proof, "secret", str),
                    signature=_point(_hex_bytes(proof.get("C"), "C")),
                    dleq=None
                    if dleq is None
                    else _dleq(*(_hex_bytes(dleq.get(k), f"dleq {k}") for k in ("e", "s", "r"))),
                    witness=_field(proof, "witness", str, optional=True),
                )
            )
            if len(notes) > MAX_NOTES:
                raise TokenTooLarge(f"a token holds at most {MAX_NOTES} notes")
    if len(mints) != 1:
        raise InvalidToken("a token of several mints is not accepted")
    unit = _field(body, "unit", str, optional=True) or "sat"
    return Token(mints.pop(), unit, tuple(notes), _field(body, "memo", str, optional=True))
