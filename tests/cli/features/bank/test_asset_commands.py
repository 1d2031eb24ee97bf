"""`ledger asset | barter | swap | policy` against a LocalNode server (CliRunner)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.client.devnet import DEVNET_BALANCE, DEVNET_CREDITS
from ledger.crypto import SigningKey
from tests.cli.test_cli import Ledger
from tests.consensus.node.rpc.server_thread import ServerThread

FEE = 1000
BANK = "lg1964xudq6swwn4e7tquvw5lelqm5p42sn4dhhev"
GOVERNANCE = "lg1mypl97v7ssnlug5qq5el9pm64uvn57wcnau0qj"
VALIDATOR_KEY = SigningKey(bytes(31) + b"\x42").public_key.hex()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path, block_interval=0.05)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ledger(tmp_path: Path, node: ServerThread) -> Ledger:
    ledger = Ledger(tmp_path / "home", node.url)
    ledger("keys", "devnet")
    return ledger


def balance(ledger: Ledger, account: str, asset: str = "coin") -> int:
    answer: Any = ledger.json("query", "balance", account, "--asset", asset)
    return int(answer["balance"])


def test_issue_mint_burn_and_info(ledger: Ledger) -> None:
    issued: Any = ledger.json(
        "-y", "asset", "issue", "gold", "--max-supply", "1_000_000", "--decimals", "2",
        "--from", "devnet:alice",
    )  # fmt: skip
    assert issued["receipt"]["status"] == 0
    alice = ledger.json("keys", "show", "devnet:alice")["address"]  # type: ignore[index]
    info: Any = ledger.json("asset", "info", "gold")
    assert (info["issuer"], info["decimals"], info["supply"], info["max_supply"]) == (
        alice,
        2,
        0,
        1_000_000,
    )
    assert alice in ledger("asset", "info", "gold")
    out = ledger("-y", "asset", "mint", "gold", "5000", "--from", "devnet:alice")
    assert "event mint" in out
    ledger("-y", "asset", "mint", "gold", "100", "--to", "devnet:bob", "--from", "devnet:alice")
    ledger("-y", "asset", "burn", "gold", "1000", "--from", "devnet:alice")
    assert balance(ledger, "devnet:alice", "gold") == 4000
    assert balance(ledger, "devnet:bob", "gold") == 100
    assert ledger.json("asset", "info", "gold")["supply"] == 4100  # type: ignore[index]
    # Only the issuer mints: included, failed (exit 5, status 21).
    failed = ledger.stderr("-y", "asset", "mint", "gold", "1", "--from", "devnet:bob", code=5)
    assert "failed in block" in failed
    assert "already exists" in ledger.stderr(
        "-y", "asset", "issue", "gold", "--max-supply", "5", "--from", "devnet:bob", code=1
    )
    assert "invalid asset id" in ledger.stderr("asset", "info", "Gold", code=1)
    assert "no asset" in ledger.stderr("asset", "info", "silver", code=1)
    assert "no asset" in ledger.stderr("asset", "info", "gold", "--height", "0", code=1)


def test_offer_take_book_cancel(ledger: Ledger) -> None:
    alice_cpu = balance(ledger, "devnet:alice", "cpu")
    made: Any = ledger.json(
        "-y", "barter", "offer", "--from", "devnet:alice", "--sell", "cpu", "--amount", "1000",
        "--for", "coin", "--price", "5",
    )  # fmt: skip
    assert made["offer_id"] == 1
    assert balance(ledger, "devnet:alice", "cpu") == alice_cpu - 1000
    bob_coin = balance(ledger, "devnet:bob")
    out = ledger("-y", "barter", "take", "1", "--amount", "300", "--from", "devnet:bob")
    assert "event fill" in out
    assert balance(ledger, "devnet:bob", "cpu") == DEVNET_CREDITS + 300
    assert balance(ledger, "devnet:bob") == bob_coin - 1500 - FEE
    book: Any = ledger.json("barter", "book", "cpu", "coin")
    assert [(o["offer_id"], o["remaining"]) for o in book["asks"]["offers"]] == [(1, 700)]
    assert book["bids"]["offers"] == []
    text = ledger("barter", "book", "cpu", "coin")
    assert "#1" in text and "700 cpu at 5 coin each" in text and "(no offers)" in text
    offers: Any = ledger.json("barter", "offers", "devnet:alice")
    assert [o["offer_id"] for o in offers["offers"]] == [1]
    # Only the maker cancels; the escrow comes back.
    assert "only its maker" in ledger.stderr(
        "-y", "barter", "cancel", "1", "--from", "devnet:bob", code=1
    )
    assert "your own" in ledger.stderr(
        "-y", "barter", "take", "1", "--amount", "1", "--from", "devnet:alice", code=1
    )
    # Declining the confirmation sends nothing; --no-wait returns with the hash.
    assert "cancelled" in ledger.stderr(
        "barter", "cancel", "1", "--from", "devnet:alice", input="n\n", code=1
    )
    assert ledger.json("barter", "offers", "devnet:alice")["offers"] != []  # type: ignore[index]
    out = ledger("-y", "barter", "cancel", "1", "--from", "devnet:alice", "--no-wait")
    assert out.startswith("submitted ")
    deadline = time.monotonic() + 10
    while ledger.json("barter", "offers", "devnet:alice")["offers"]:  # type: ignore[index]
        assert time.monotonic() < deadline, "the --no-wait cancel was never included"
        time.sleep(0.05)
    assert balance(ledger, "devnet:alice", "cpu") == alice_cpu - 300
    assert ledger.json("barter", "book", "cpu", "coin")["asks"]["offers"] == []  # type: ignore[index]
    assert "not open" in ledger.stderr(
        "-y", "barter", "cancel", "1", "--from", "devnet:alice", code=1
    )


def test_take_best_within_a_price(ledger: Ledger) -> None:
    for price in ("7/2", "3"):
        ledger(
            "-y", "barter", "offer", "--from", "devnet:carol", "--sell", "disk", "--amount",
            "100", "--for", "coin", "--price", price,
        )  # fmt: skip
    best = ("-y", "barter", "take", "--buy", "disk", "--pay", "coin", "--from", "devnet:bob")
    # Nothing at or below 2 coin per disk: status 25, exit 5.
    ledger.stderr(*best, "--amount", "10", "--max-price", "2", code=5)
    out = ledger(*best, "--amount", "150", "--max-price", "7/2")
    assert out.count("event fill") == 2
    book: Any = ledger.json("barter", "book", "disk", "coin")
    assert [(o["offer_id"], o["remaining"]) for o in book["asks"]["offers"]] == [(1, 50)]
    assert "not both" in ledger.stderr(*best, "1", "--amount", "1", code=1)
    assert "all of --buy" in ledger.stderr("-y", "barter", "take", "--amount", "1",
                                           "--from", "devnet:bob", code=1)  # fmt: skip


def test_swap_sign_then_submit(ledger: Ledger, tmp_path: Path) -> None:
    terms = tmp_path / "swap.hex"
    signed: Any = ledger.json(
        "-y", "swap", "sign", "--from", "devnet:bob", "--with", "devnet:alice", "--give", "70",
        "--give-asset", "cpu", "--get", "5000", "--get-asset", "coin", "--out", str(terms),
    )  # fmt: skip
    assert signed["file"] == str(terms) and signed["counterpartyNonce"] == 0
    alice_coin, bob_coin = balance(ledger, "devnet:alice"), balance(ledger, "devnet:bob")
    # Only the named initiator can submit them.
    assert "for lg1" in ledger.stderr(
        "-y", "swap", "submit", str(terms), "--from", "devnet:carol", code=1
    )
    out = ledger("-y", "swap", "submit", str(terms), "--from", "devnet:alice")
    assert "event swap" in out
    assert balance(ledger, "devnet:alice") == alice_coin - 5000 - FEE
    assert balance(ledger, "devnet:bob") == bob_coin + 5000
    assert balance(ledger, "devnet:alice", "cpu") == DEVNET_CREDITS + 70
    assert balance(ledger, "devnet:bob", "cpu") == DEVNET_CREDITS - 70
    # Used once: the counterparty's nonce moved on.
    assert "spent or revoked" in ledger.stderr(
        "-y", "swap", "submit", str(terms), "--from", "devnet:alice", code=1
    )
    # The hex itself works too; a tampered blob does not.
    blob = ledger(
        "-y", "swap", "sign", "--from", "devnet:carol", "--with", "devnet:alice", "--give", "1",
        "--give-asset", "net", "--get", "1", "--get-asset", "coin",
    ).splitlines()[0]  # fmt: skip
    tampered = blob[:-4] + ("0000" if not blob.endswith("0000") else "1111")
    assert "not" in ledger.stderr("-y", "swap", "submit", tampered, "--from", "devnet:alice",
                                  code=1)  # fmt: skip
    ledger("-y", "swap", "submit", blob, "--from", "devnet:alice")
    assert balance(ledger, "devnet:carol") == DEVNET_BALANCE + 1


def test_policy_create_show_and_errors(ledger: Ledger) -> None:
    created: Any = ledger.json(
        "-y", "policy", "create", "--from", "devnet:heidi", "--member", "devnet:heidi",
        "--member", "devnet:grace", "--threshold", "1", "--limit", "coin:1000000:100",
    )  # fmt: skip
    address = created["policy_address"]
    shown: Any = ledger.json("policy", "show", address)
    assert shown["threshold"] == 1 and len(shown["members"]) == 2
    assert shown["limits"] == [{"asset": "coin", "amount": 1_000_000, "window": 100}]
    ledger("-y", "tx", "send", "--from", "devnet:grace", "--to", address, "--amount", "5000000")
    # 1-of-2: proposing executes at once; the limit stops the second withdrawal.
    out: Any = ledger.json(
        "-y", "policy", "propose", "transfer", address, "--to", "devnet:heidi", "--amount",
        "600000", "--from", "devnet:grace",
    )  # fmt: skip
    assert out["executed"] == "yes"
    ledger.stderr(
        "-y", "policy", "propose", "transfer", address, "--to", "devnet:heidi", "--amount",
        "600000", "--from", "devnet:grace", code=5,
    )  # fmt: skip
    assert "not a policy account" in ledger.stderr("policy", "show", "devnet:alice", code=1)
    assert "exceeds" in ledger.stderr(
        "-y", "policy", "create", "--from", "devnet:heidi", "--member", "devnet:heidi",
        "--threshold", "2", code=1,
    )  # fmt: skip
    assert "listed twice" in ledger.stderr(
        "-y", "policy", "create", "--from", "devnet:heidi", "--member", "devnet:heidi",
        "--member", "devnet:heidi", "--threshold", "1", code=1,
    )  # fmt: skip
    assert "ASSET:AMOUNT:WINDOW" in ledger.stderr(
        "-y", "policy", "create", "--from", "devnet:heidi", "--member", "devnet:heidi",
        "--threshold", "1", "--limit", "coin:5", code=1,
    )  # fmt: skip
    assert "not the governance policy" in ledger.stderr(
        "-y", "policy", "propose", "validator", BANK, "--public-key", VALIDATOR_KEY,
        "--power", "1", "--name", "x", "--from", "devnet:alice", code=1,
    )  # fmt: skip


def test_governance_adds_a_validator(ledger: Ledger) -> None:
    bad = ledger.stderr(
        "-y", "policy", "propose", "validator", GOVERNANCE, "--public-key", "02" + "11" * 32,
        "--power", "10", "--name", "val-4", "--from", "devnet:dave", code=1,
    )  # fmt: skip
    assert "not a point" in bad
    args = ("--public-key", VALIDATOR_KEY, "--power", "10", "--name", "val-4")
    proposed: Any = ledger.json(
        "-y", "policy", "propose", "validator", GOVERNANCE, *args, "--from", "devnet:dave"
    )
    assert proposed["proposal_id"] == 1 and proposed["executed"].startswith("no")
    text = ledger("policy", "governance")
    assert "set validator val-4" in text and "approvals 1 of 3" in text
    ledger("-y", "policy", "approve", GOVERNANCE, "1", "--from", "devnet:erin")
    done: Any = ledger.json("-y", "policy", "approve", GOVERNANCE, "1", "--from", "devnet:frank")
    assert done["executed"] == "yes"
    schedule: Any = ledger.json("policy", "governance")
    assert schedule["proposals"] == []
    assert "val-4" in {v["name"] for v in schedule["schedule"][-1]["validators"]}
