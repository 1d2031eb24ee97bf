"""`ledger contract call --pay`: a payment that comes with the call (a
pay_call), against a LocalNode server, with the bundled remailer, whose
``buy()`` sells prepaid letters for the coin paid with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.address import address_of, encode_address
from ledger.client.devnet import account_key
from tests.cli.test_cli import Ledger
from tests.consensus.node.rpc.server_thread import ServerThread

REMAILER_ASM = Path(__file__).resolve().parents[4] / "vm" / "contracts" / "remailer.asm"
ALICE = encode_address(address_of(account_key("alice").public_key))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    server = ServerThread(tmp_path, block_interval=0.05, empty_blocks=False)
    try:
        runner = Ledger(tmp_path / "home", server.url)
        runner("keys", "devnet", "alice")
        yield runner
    finally:
        server.close()


def test_a_paid_call_buys_letters_and_returns_the_change(ledger: Ledger) -> None:
    deployed = ledger.json(
        "-y", "contract", "deploy", str(REMAILER_ASM), "--from", "devnet:alice",
        "--cpu", "10_000_000", "--disk", "10_000_000", "--net", "10_000_000",
    )  # fmt: skip
    assert isinstance(deployed, dict) and deployed["receipt"]["status"] == 0
    remailer = deployed["address"]
    bought = ledger.json(
        "-y", "contract", "call", remailer, "buy", "--pay", "2500", "--from", "devnet:alice"
    )
    assert isinstance(bought, dict) and bought["receipt"]["status"] == 0
    assert bought["returns"] == [{"type": "int", "value": "2"}]
    balance = ledger.json("contract", "info", remailer)
    assert isinstance(balance, dict) and balance["balances"]["coin"] == "2000"
    held = ledger.json("mail", "status", "--via", remailer, "--address", ALICE)
    assert held == {"remailer": remailer, "address": ALICE, "letters": 2}


def test_invalid_a_call_paid_nothing(ledger: Ledger) -> None:
    deployed = ledger.json(
        "-y", "contract", "deploy", str(REMAILER_ASM), "--from", "devnet:alice",
        "--cpu", "10_000_000", "--disk", "10_000_000", "--net", "10_000_000",
    )  # fmt: skip
    assert isinstance(deployed, dict)
    error = ledger.stderr(
        "-y", "contract", "call", deployed["address"], "buy", "--pay", "0",
        "--from", "devnet:alice", code=1,
    )  # fmt: skip
    assert "--pay must be at least 1" in error
    error = ledger.stderr(
        "-y", "contract", "call", deployed["address"], "buy", "--from", "devnet:alice", code=5
    )
    assert "postage is 1000 coin a letter" in error
