"""Fixtures: a running LocalNode + RPC server on 127.0.0.1, devnet keys and txs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.address import address_of, encode_address
from ledger.client.devnet import account_key
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.types import NATIVE_ASSET, Transaction

from .server_thread import ServerThread

FEE = 1000


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerThread]:
    """A server whose node commits a block only when the test calls produce()."""
    server = ServerThread(tmp_path)
    try:
        yield server
    finally:
        server.close()


def address_text(key: SigningKey) -> str:
    return encode_address(address_of(key.public_key))


def transfer(
    sender: SigningKey,
    recipient: SigningKey,
    amount: int,
    nonce: int,
    fee: int = FEE,
    chain_id: str = "ledger-devnet-1",
    asset: str = NATIVE_ASSET,
) -> Transaction:
    body = Transfer(asset, amount, address_of(recipient.public_key))
    return Transaction(chain_id, sender.public_key, nonce, fee, body).signed(sender)


ALICE = account_key("alice")
BOB = account_key("bob")
