"""Transactions and blocks: canonical round trips and strict decoding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec, crypto
from ledger.features.bank.bodies import Transfer
from ledger.types import (
    MAX_AMOUNT,
    Block,
    BlockHeader,
    DecodeError,
    Transaction,
    decode_block,
    decode_transaction,
    merkle_root,
)

KEY = crypto.SigningKey(crypto.sha256(b"types test key"))


def make_tx(nonce: int = 0, amount: int = 5, asset: str = "coin") -> Transaction:
    return Transaction(
        "chain", KEY.public_key, nonce, 10, Transfer(asset, amount, b"\x01" * 20)
    ).signed(KEY)


@given(
    st.integers(0, (1 << 64) - 1),
    st.integers(0, MAX_AMOUNT),
    st.from_regex(r"\A[a-z][a-z0-9.\-]{0,31}\Z"),
)
@settings(max_examples=100)
def test_transaction_round_trip(nonce: int, amount: int, asset: str) -> None:
    tx = make_tx(nonce, amount, asset)
    decoded = decode_transaction(tx.encode())
    assert decoded == tx
    assert decoded.hash == tx.hash
    assert decoded.signature_valid()


@given(st.binary(max_size=300))
@settings(max_examples=1000)
def test_arbitrary_bytes_give_decode_error_or_a_transaction(data: bytes) -> None:
    try:
        tx = decode_transaction(data)
    except DecodeError:
        return
    assert tx.encode() == data


@given(st.data())
@settings(max_examples=300)
def test_any_single_byte_change_is_rejected_or_breaks_the_signature(data: st.DataObject) -> None:
    raw = bytearray(make_tx().encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    try:
        tx = decode_transaction(bytes(raw))
    except DecodeError:
        return
    assert not tx.signature_valid()


def _fields() -> list[object]:
    return list(codec.decode(make_tx().encode()))


@pytest.mark.parametrize(
    "index, value",
    [
        (0, 2),  # version
        (1, "Bad Chain"),
        (2, b"\x02" * 32),  # short sender
        (3, -1),  # negative nonce
        (3, 1 << 64),
        (4, MAX_AMOUNT + 1),  # fee overflow
        (5, (99, "x")),  # unknown kind
        (5, (1, "coin", 5)),  # too few fields
        (5, (1, "COIN", 5, b"\x01" * 20)),  # bad asset id
        (5, (1, "coin", MAX_AMOUNT + 1, b"\x01" * 20)),  # amount overflow
        (5, (1, "coin", True, b"\x01" * 20)),  # bool is not an amount
        (5, (1, "coin", 5, b"\x01" * 19)),  # short recipient
        (6, b"\x00" * 63),  # short signature
    ],
)
def test_invalid_transaction_fields(index: int, value: object) -> None:
    fields = _fields()
    fields[index] = value
    with pytest.raises(DecodeError):
        decode_transaction(codec.encode(tuple(fields)))


def test_invalid_oversized_transaction() -> None:
    with pytest.raises(DecodeError):
        decode_transaction(b"\x00" * (64 * 1024 + 1))


def test_block_round_trip() -> None:
    txs = (make_tx(0), make_tx(1))
    header = BlockHeader(
        "chain",
        1,
        5,
        bytes(32),
        bytes(32),
        merkle_root([t.hash for t in txs]),
        bytes(32),
        bytes(32),
        b"\x02" * 20,
    )
    block = Block(header, txs, b"")
    decoded = decode_block(block.encode())
    assert decoded == block
    assert decoded.hash == block.hash


def test_merkle_root_shape() -> None:
    a, b, c = (crypto.sha256(bytes([i])) for i in range(3))
    leaf = [crypto.sha256(b"\x00" + x) for x in (a, b, c)]
    assert merkle_root([]) == bytes(32)
    assert merkle_root([a]) == leaf[0]
    ab = crypto.sha256(b"\x01" + leaf[0] + leaf[1])
    assert merkle_root([a, b]) == ab
    assert merkle_root([a, b, c]) == crypto.sha256(b"\x01" + ab + leaf[2])
    assert merkle_root([b, a]) != merkle_root([a, b])
