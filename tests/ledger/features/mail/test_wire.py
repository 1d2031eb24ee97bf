"""Wire encodings: every message round-trips, and decoding refuses any
other bytes: wrong shapes and sizes, scalars not below the order, points
off the curve or the identity, non-canonical msgpack, oversized input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger import codec
from ledger.features.mail import wire
from ledger.features.mail.decryption import DecryptionContext, make_decryption_share
from ledger.features.mail.elgamal import decode_cell, encode_cell
from ledger.features.mail.errors import InvalidEncoding, InvalidParameters
from ledger.features.mail.letters import seal_letter
from ledger.features.mail.shuffle import shuffle_cells
from ledger.features.mail.shuffle_proof import ShuffleContext, prove_shuffle
from ledger.features.mail.submission import SubmissionContext, submit_letter
from ledger.threshold.group import FIELD_PRIME, ORDER

from .conftest import CHAIN_ID, MailKey, letter_batch, make_people, seeded_rng

WIDTH = 3
PEOPLE = make_people(3, seeded_rng(31))


def _bad_point() -> bytes:
    x = 5
    while pow((x**3 + 7) % FIELD_PRIME, (FIELD_PRIME - 1) // 2, FIELD_PRIME) == 1:
        x += 1
    return b"\x02" + x.to_bytes(32, "big")


BAD_POINT = _bad_point()
BAD_SCALAR = ORDER.to_bytes(32, "big")


def _mutations(value: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Shape-breaking variants of a decoded message: each field truncated,
    extended, or replaced by a value of another type; the array shortened
    and lengthened."""
    variants: list[tuple[Any, ...]] = [value[:-1], (*value, b"")]
    for i, field in enumerate(value):
        if isinstance(field, bytes):
            variants.append((*value[:i], field[:-1], *value[i + 1 :]))
            variants.append((*value[:i], field + b"\x00", *value[i + 1 :]))
        other = b"x" if isinstance(field, int) else 7
        variants.append((*value[:i], other, *value[i + 1 :]))
    return variants


def _assert_all_refused(data: bytes, decode: Callable[[bytes], object]) -> None:
    value = codec.decode(data)
    for variant in _mutations(value):
        with pytest.raises(InvalidEncoding):
            decode(codec.encode(list(variant)))
    with pytest.raises(InvalidEncoding):
        decode(data + b"\x00")
    with pytest.raises(InvalidEncoding):
        decode(data[:-1])
    with pytest.raises(InvalidEncoding):
        decode(b"")


def test_cells(mail_key: MailKey) -> None:
    cell = letter_batch(mail_key.public_key, PEOPLE[:1], PEOPLE[1:2], WIDTH, seeded_rng(1))[0]
    data = encode_cell(cell)
    assert len(data) == 66 * WIDTH and decode_cell(data, WIDTH) == cell
    for bad in (data[:-1], data + b"\x02", BAD_POINT + data[33:], b"\x04" + data[1:]):
        with pytest.raises(InvalidEncoding):
            decode_cell(bad, WIDTH)
    with pytest.raises(InvalidParameters):
        decode_cell(data, 2)


def test_submissions(mail_key: MailKey) -> None:
    rng = seeded_rng(2)
    letter = seal_letter(PEOPLE[1].public_key, b"x", WIDTH, rng)
    context = SubmissionContext(CHAIN_ID, PEOPLE[0].address, 1)
    submission = submit_letter(mail_key.public_key, letter, context, rng).submission
    data = wire.encode_submission(submission)
    assert wire.decode_submission(data, WIDTH) == submission

    def decode(b: bytes) -> object:
        return wire.decode_submission(b, WIDTH)

    _assert_all_refused(data, decode)
    cell, challenge, responses = codec.decode(data)
    for bad in (
        [cell, BAD_SCALAR, responses],
        [cell, challenge, BAD_SCALAR + responses[32:]],
        [BAD_POINT + cell[33:], challenge, responses],
    ):
        with pytest.raises(InvalidEncoding):
            decode(codec.encode(bad))
    with pytest.raises(InvalidEncoding):
        wire.decode_submission(data, WIDTH + 1)


def test_shuffles_and_batches(mail_key: MailKey) -> None:
    rng = seeded_rng(3)
    inputs = letter_batch(mail_key.public_key, PEOPLE, PEOPLE[::-1], WIDTH, rng)
    outputs, witness = shuffle_cells(mail_key.public_key, inputs, rng)
    context = ShuffleContext(CHAIN_ID, 1, 0, b"v1")
    proof = prove_shuffle(mail_key.public_key, inputs, outputs, witness, context, rng)
    assert wire.decode_batch(wire.encode_batch(inputs), 3, WIDTH) == inputs
    assert wire.decode_shuffle_proof(wire.encode_shuffle_proof(proof), 3, WIDTH) == proof
    data = wire.encode_shuffle(outputs, proof)
    assert wire.decode_shuffle(data, 3, WIDTH) == (outputs, proof)

    def decode_proof(b: bytes) -> object:
        return wire.decode_shuffle_proof(b, 3, WIDTH)

    _assert_all_refused(wire.encode_shuffle_proof(proof), decode_proof)
    fields = list(codec.decode(wire.encode_shuffle_proof(proof)))
    for i in range(2, 9):
        bad = list(fields)
        bad[i] = BAD_SCALAR + fields[i][32:]
        with pytest.raises(InvalidEncoding):
            decode_proof(codec.encode(bad))
    for i in range(2):
        bad = list(fields)
        bad[i] = BAD_POINT + fields[i][33:]
        with pytest.raises(InvalidEncoding):
            decode_proof(codec.encode(bad))
    for count in (2, 4):
        with pytest.raises(InvalidEncoding):
            wire.decode_shuffle(data, count, WIDTH)
        with pytest.raises(InvalidEncoding):
            wire.decode_batch(wire.encode_batch(inputs), count, WIDTH)
    with pytest.raises(InvalidEncoding):
        wire.decode_shuffle(data + b"\x00", 3, WIDTH)


def test_decryption_shares(mail_key: MailKey) -> None:
    rng = seeded_rng(4)
    cells = letter_batch(mail_key.public_key, PEOPLE, PEOPLE, WIDTH, rng)
    share = make_decryption_share(mail_key.keys[0], cells, DecryptionContext(CHAIN_ID, 1), rng)
    data = wire.encode_decryption_share(share)
    assert wire.decode_decryption_share(data, 3, WIDTH) == share

    def decode(b: bytes) -> object:
        return wire.decode_decryption_share(b, 3, WIDTH)

    _assert_all_refused(data, decode)
    member, factors, challenge, response = codec.decode(data)
    for bad in (
        [0, factors, challenge, response],
        [2**32, factors, challenge, response],
        [member, BAD_POINT + factors[33:], challenge, response],
        [member, factors, challenge, BAD_SCALAR],
    ):
        with pytest.raises(InvalidEncoding):
            decode(codec.encode(bad))


def test_oversized_input_is_refused_before_parsing() -> None:
    huge = codec.encode([b"\x00" * 100_000, b"", b""])
    with pytest.raises(InvalidEncoding, match="exceeds"):
        wire.decode_submission(huge, WIDTH)
    with pytest.raises(InvalidEncoding, match="exceeds"):
        wire.decode_batch(codec.encode([b"\x00" * 100_000]), 1, WIDTH)


def test_scalar_and_point_lists() -> None:
    assert wire.decode_scalars(wire.encode_scalars([0, 1, ORDER - 1]), 3) == (0, 1, ORDER - 1)
    with pytest.raises(InvalidEncoding):
        wire.encode_scalars([ORDER])
    with pytest.raises(InvalidEncoding):
        wire.decode_scalars(bytes(31), 1)
    with pytest.raises(InvalidEncoding):
        wire.decode_points(BAD_POINT, 1)
    with pytest.raises(InvalidEncoding):
        wire.decode_points(bytes(33), 1)
