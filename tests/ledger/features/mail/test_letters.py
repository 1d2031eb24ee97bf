"""Letters sealed end-to-end: only the recipient opens them, every letter of
a width has the same size, and a letter survives embedding in points."""

from __future__ import annotations

import coincurve
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.mail import letters
from ledger.features.mail.errors import (
    InvalidLetter,
    InvalidParameters,
    InvalidRandomness,
    UnreadableLetter,
)
from ledger.features.mail.letters import Letter
from ledger.features.mail.params import (
    DEFAULT_WIDTH,
    MAX_WIDTH,
    MIN_WIDTH,
    cell_bytes,
    message_capacity,
)
from ledger.threshold.group import RandomBytes

from .conftest import make_people, seeded_rng

ALICE, BOB = make_people(2, seeded_rng(1))


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(min_value=MIN_WIDTH, max_value=12),
    data=st.data(),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_the_recipient_opens_its_letter(width: int, data: st.DataObject, seed: int) -> None:
    message = data.draw(st.binary(max_size=message_capacity(width)))
    letter = letters.seal_letter(BOB.public_key, message, width, seeded_rng(seed))
    assert letter.recipient == BOB.address and letter.width == width
    assert len(letters.encode_letter(letter)) == cell_bytes(width)
    assert letters.open_letter(letter, BOB.secret) == message
    points = letters.letter_to_points(letter)
    assert len(points) == width
    assert letters.letter_from_points(points) == letter


def test_every_letter_of_a_width_has_the_same_size(rng: RandomBytes) -> None:
    sizes = {
        len(letters.encode_letter(letters.seal_letter(BOB.public_key, m, DEFAULT_WIDTH, rng)))
        for m in (b"", b"x", b"y" * message_capacity(DEFAULT_WIDTH))
    }
    assert sizes == {cell_bytes(DEFAULT_WIDTH)}
    assert message_capacity(DEFAULT_WIDTH) == 176 and message_capacity(MIN_WIDTH) == 21


def test_invalid_someone_else_cannot_open(rng: RandomBytes) -> None:
    letter = letters.seal_letter(BOB.public_key, b"for bob", DEFAULT_WIDTH, rng)
    with pytest.raises(UnreadableLetter, match="someone else"):
        letters.open_letter(letter, ALICE.secret)
    # Even readdressed to Alice, her key does not open it.
    readdressed = Letter(ALICE.address, letter.sealed)
    with pytest.raises(UnreadableLetter):
        letters.open_letter(readdressed, ALICE.secret)


def test_invalid_changed_letters_do_not_open(rng: RandomBytes) -> None:
    letter = letters.seal_letter(BOB.public_key, b"for bob", DEFAULT_WIDTH, rng)
    for position in (0, 5, 33, 40, len(letter.sealed) - 1):
        sealed = bytearray(letter.sealed)
        sealed[position] ^= 1
        with pytest.raises(UnreadableLetter):
            letters.open_letter(Letter(letter.recipient, bytes(sealed)), BOB.secret)


def test_invalid_malformed_sealed_payloads(rng: RandomBytes) -> None:
    letter = letters.seal_letter(BOB.public_key, b"for bob", DEFAULT_WIDTH, rng)
    ephemeral = letter.sealed[:33]
    for sealed in (
        b"",
        ephemeral[:20],
        ephemeral,
        ephemeral + b"short",
        b"\x05" + letter.sealed[1:],
    ):
        with pytest.raises(UnreadableLetter):
            letters.open_letter(Letter(BOB.address, sealed), BOB.secret)


def test_sealing_is_randomized(rng: RandomBytes) -> None:
    a = letters.seal_letter(BOB.public_key, b"same", DEFAULT_WIDTH, rng)
    b = letters.seal_letter(BOB.public_key, b"same", DEFAULT_WIDTH, rng)
    assert a.sealed != b.sealed


def test_invalid_message_too_long(rng: RandomBytes) -> None:
    with pytest.raises(InvalidLetter, match="does not fit"):
        letters.seal_letter(BOB.public_key, bytes(message_capacity(4) + 1), 4, rng)


@pytest.mark.parametrize("width", [0, MIN_WIDTH - 1, MAX_WIDTH + 1])
def test_invalid_widths(width: int, rng: RandomBytes) -> None:
    with pytest.raises(InvalidParameters):
        letters.seal_letter(BOB.public_key, b"", width, rng)


@pytest.mark.parametrize("key", [b"", b"\x02" + bytes(32), b"\x04" + bytes(64), b"\x05" * 33])
def test_invalid_recipient_keys(key: bytes, rng: RandomBytes) -> None:
    with pytest.raises(InvalidParameters):
        letters.seal_letter(key, b"", DEFAULT_WIDTH, rng)


def test_invalid_secret_key(rng: RandomBytes) -> None:
    letter = letters.seal_letter(BOB.public_key, b"", DEFAULT_WIDTH, rng)
    with pytest.raises(InvalidParameters):
        letters.open_letter(letter, bytes(32))


def test_invalid_random_source() -> None:
    with pytest.raises(InvalidRandomness):
        letters.seal_letter(BOB.public_key, b"", DEFAULT_WIDTH, lambda n: bytes(n - 1))


def test_invalid_letter_bytes(rng: RandomBytes) -> None:
    letter = letters.seal_letter(BOB.public_key, b"x", 4, rng)
    data = letters.encode_letter(letter)
    assert letters.decode_letter(data, 4) == letter
    with pytest.raises(InvalidLetter, match="version"):
        letters.decode_letter(b"\x02" + data[1:], 4)
    with pytest.raises(InvalidLetter):
        letters.decode_letter(data[:-1], 4)
    with pytest.raises(InvalidLetter):
        letters.encode_letter(Letter(letter.recipient[:19], letter.sealed))
    with pytest.raises(InvalidLetter):
        letters.encode_letter(Letter(letter.recipient, letter.sealed[:-1]))
    with pytest.raises(InvalidLetter):
        letters.letter_from_points(letters.letter_to_points(letter)[:2])


def test_invalid_padding_is_refused(rng: RandomBytes) -> None:
    # A sender that seals a body with a wrong length field: it opens, but is refused.
    width = MIN_WIDTH
    ephemeral_secret = 7
    ephemeral = coincurve.PrivateKey.from_int(ephemeral_secret).public_key.format()
    shared = letters._shared_secret(BOB.public_key, ephemeral_secret.to_bytes(32, "big"))
    key, nonce = letters._seal_key(shared, ephemeral, BOB.public_key)
    header = bytes([1]) + BOB.address
    body = (50).to_bytes(2, "big") + bytes(message_capacity(width))
    sealed = ephemeral + AESGCM(key).encrypt(nonce, body, header)
    with pytest.raises(InvalidLetter, match="padding"):
        letters.open_letter(Letter(BOB.address, sealed), BOB.secret)
