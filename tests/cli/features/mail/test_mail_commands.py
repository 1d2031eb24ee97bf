"""`ledger mail ...` against a single LocalNode on the devnet genesis. A
LocalNode runs no threshold ceremonies, so the mail key is never made
there: these tests cover what happens before it exists, the public key
lookup, and bad input; the devnet test (tests/docs/test_mail_guide.py)
covers sending and reading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.address import address_of, encode_address
from ledger.client import LedgerClient
from ledger.client.devnet import account_key
from ledger.features.mail.bodies import MIX_ADDRESS
from tests.cli.test_cli import Ledger
from tests.consensus.node.rpc.server_thread import ServerThread

ALICE = encode_address(address_of(account_key("alice").public_key))
NOBODY = encode_address(bytes(range(20)))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path, block_interval=0.05, empty_blocks=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ledger(tmp_path: Path, node: ServerThread) -> Ledger:
    runner = Ledger(tmp_path / "home", node.url)
    runner("keys", "devnet", "alice", "bob")
    return runner


def test_status_before_the_mail_key_exists(ledger: Ledger) -> None:
    text = ledger("mail", "status")
    assert "mail key        not made yet" in text and "open batch      none" in text
    data = ledger.json("mail", "status")
    assert isinstance(data, dict)
    assert data["key"] is None and data["postage_gas"] is None
    assert data["mix_address"] == encode_address(MIX_ADDRESS)
    assert data["message_capacity"] == 176 and data["batch_cells"] == 16


def test_invalid_sending_before_the_mail_key_exists(ledger: Ledger) -> None:
    error = ledger.stderr(
        "-y", "mail", "send", "--to", "devnet:bob", "--via", ALICE,
        "--message", "hello", "--from", "devnet:alice", code=1,
    )  # fmt: skip
    assert "have not made the mail key yet" in error


def test_invalid_message_and_file_together_or_neither(ledger: Ledger, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("x")
    for extra in (["--message", "a", "--file", str(note)], []):
        error = ledger.stderr(
            "-y", "mail", "send", "--to", "devnet:bob", "--via", ALICE, *extra,
            "--from", "devnet:alice", code=1,
        )  # fmt: skip
        assert "either --message or --file" in error


def test_invalid_batch_and_remailer(ledger: Ledger) -> None:
    assert "no batch 7" in ledger.stderr("mail", "status", "--batch", "7", code=1)
    error = ledger.stderr("mail", "postage", "--via", "nope", "--from", "devnet:alice", code=1)
    assert "not a remailer address" in error


def test_the_public_key_of_an_address_comes_from_its_transactions(
    ledger: Ledger, node: ServerThread
) -> None:
    client = LedgerClient(node.url)
    assert client.find_public_key(ALICE) is None
    ledger("-y", "tx", "send", "--from", "devnet:alice", "--to", "devnet:bob", "--amount", "1")
    assert client.find_public_key(ALICE) == account_key("alice").public_key
    assert client.find_public_key(NOBODY) is None
    client.close()
