"""`ledger contract ...` and `ledger query events` against a LocalNode server
(CliRunner). The end-to-end relay story runs here on a single LocalNode;
tests/process/test_batch_relay_devnet.py runs it on a devnet of four processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.main import app
from ledger.address import address_of, decode_address, encode_address
from ledger.client.devnet import account_key
from tests.cli.test_cli import Ledger
from tests.consensus.node.rpc.server_thread import ServerThread

RELAY_ASM = Path(__file__).resolve().parents[4] / "vm" / "contracts" / "batch_relay.asm"
BOB = encode_address(address_of(account_key("bob").public_key))
CAROL = encode_address(address_of(account_key("carol").public_key))
COUNTER_ASM = """
.entry bump -> int
    PUSH "count"
    SLOAD
    BTOI
    PUSH 1
    ADD
    PUSH "count"
    DUP 2
    ITOB
    SSTORE
    RET
.entry echo int bytes -> int bytes
    RET
"""


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    """A LocalNode that makes a block (every 50 ms) only when a transaction
    waits, so the number of blocks, and so the rent paid, is predictable."""
    server = ServerThread(tmp_path, block_interval=0.05, empty_blocks=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ledger(tmp_path: Path, node: ServerThread) -> Ledger:
    runner = Ledger(tmp_path / "home", node.url)
    runner("keys", "devnet", "alice", "bob", "carol")
    return runner


def packet(hop: str, postage: int, payload: bytes) -> str:
    """A relay routing header and payload, as a call argument."""
    hop_bytes = decode_address(hop)
    data = bytes([len(hop_bytes)]) + hop_bytes + postage.to_bytes(8, "big") + payload
    return "hex:" + data.hex()


def deploy_relay(ledger: Ledger, disk: str) -> dict[str, Any]:
    deployed = ledger.json(
        "-y",
        "contract",
        "deploy",
        str(RELAY_ASM),
        "--from",
        "devnet:alice",
        "--cpu",
        "100_000_000",
        "--disk",
        disk,
        "--net",
        "10_000_000",
        "--schedule",
        "tick:2:500000",
    )
    assert isinstance(deployed, dict) and deployed["receipt"]["status"] == 0
    (event,) = deployed["receipt"]["events"]
    assert event["kind"] == "contract_deployed"
    assert event["attributes"]["address"] == deployed["address"]
    return deployed


def wait_for_eviction(ledger: Ledger, address: str, since: int) -> dict[str, Any]:
    """Watch `ledger query events` until ``address`` is evicted."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = ledger.json("query", "events", str(since), "--to", "1000")
        assert isinstance(found, dict)
        for block in found["blocks"]:
            for event in block["events"]:
                if (
                    event["kind"] == "contract_evicted"
                    and event["attributes"]["address"] == address
                ):
                    return {**event["attributes"], "block": block["height"]}
        time.sleep(0.1)
    raise AssertionError(f"{address} was not evicted")


def wait_for_height(ledger: Ledger, height: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = ledger.json("query", "status")
        assert isinstance(status, dict)
        if status["height"] >= height:
            return
        time.sleep(0.1)
    raise AssertionError(f"the chain did not reach height {height}")


def test_batch_relay_end_to_end_on_a_local_node(ledger: Ledger, node: ServerThread) -> None:
    """Deploy two relays with the CLI, send mail through both, read the
    mailboxes, then run a third one out of credits and watch it go, with the
    letter it held. (On LocalNode; the devnet version is
    tests/process/test_batch_relay_devnet.py.)"""
    first = deploy_relay(ledger, "1_000_000_000")["address"]
    second = deploy_relay(ledger, "1_000_000_000")["address"]
    info = ledger("contract", "info", first)
    assert "deliver, pending, send, tick" in info and "tick() every 2 blocks" in info
    # Four letters into the first relay, each wrapped for the second one.
    letters = [(BOB, b"to bob 1"), (CAROL, b"to carol"), (BOB, b"to bob 2"), (BOB, b"to bob 3")]
    held = []
    for to, letter in letters:
        sent = ledger.json(
            "-y",
            "contract",
            "call",
            first,
            "send",
            packet(to, 1_000, letter),
            second,
            "300000",
            "--from",
            "devnet:alice",
            "--gas",
            "2_000_000",
        )
        assert isinstance(sent, dict) and sent["receipt"]["status"] == 0
        held.append(sent["returns"])
    # The fourth flushed the first relay into the second, and that into the mailboxes.
    assert held == [[{"type": "int", "value": str(n)}] for n in (1, 2, 3, 0)]
    mailbox = ledger.json("contract", "mailbox", "devnet:bob")
    assert isinstance(mailbox, dict) and mailbox["received"] == 3
    payloads = sorted(bytes.fromhex(m["payload"]) for m in mailbox["messages"])
    assert payloads == [b"to bob 1", b"to bob 2", b"to bob 3"]
    assert {m["sender"] for m in mailbox["messages"]} == {second}
    text = ledger("contract", "mailbox", CAROL)
    assert 'deliver("to carol")' in text and f"from {second}" in text
    assert "no storage entries" in ledger("contract", "storage", first)
    # Fund the second one: its disk goes up.
    before = ledger.json("contract", "info", second)
    ledger("-y", "contract", "fund", second, "--disk", "5_000", "--from", "devnet:bob")
    after = ledger.json("contract", "info", second)
    assert isinstance(before, dict) and isinstance(after, dict)
    # Only the fund's block went by (no empty blocks yet): one block of rent.
    disk_before, disk_after = int(before["balances"]["disk"]), int(after["balances"]["disk"])
    assert disk_after == disk_before + 5_000 - int(after["rent_per_block"])
    # A third relay with disk for three blocks of rent holds one letter ...
    rent = before["rent_bytes"]
    short = deploy_relay(ledger, str(3 * rent))
    doomed = short["address"]
    deployed_at = short["receipt"]["block_height"]
    ledger(
        "-y", "contract", "call", doomed, "send", "str:lost letter", BOB, "1000",
        "--from", "devnet:alice",
    )  # fmt: skip
    assert ledger("contract", "storage", doomed, "str:n").strip() == 'x"' + "00" * 31 + '01"'
    # ... and dies once blocks go by (empty ones from now on), before its tick would deliver it.
    node.run(lambda: setattr(node.node, "empty_blocks", True))
    evicted = wait_for_eviction(ledger, doomed, deployed_at)
    assert evicted["reason"] == "cannot pay rent"
    assert evicted["beneficiary"] == encode_address(address_of(account_key("alice").public_key))
    assert evicted["height"] == str(evicted["block"])
    assert "contract_evicted" in ledger("query", "events", str(evicted["block"]))
    gone = ledger.stderr("contract", "info", doomed, code=1)
    assert gone.startswith(f"error: no contract at {doomed}")
    assert ledger.json("contract", "info", doomed, "--height", str(deployed_at))
    # Its storage went with it: `contract storage` exits 1 as `contract info` does.
    assert ledger.stderr("contract", "storage", doomed, code=1).startswith(
        f"error: no contract at {doomed}"
    )
    assert "no contract at" in ledger.stderr("contract", "storage", doomed, "str:x", code=1)
    wait_for_height(ledger, evicted["block"] + 12)  # past the relay's delay of 10 blocks
    final = ledger.json("contract", "mailbox", BOB)
    assert isinstance(final, dict) and final["received"] == 3, "the held letter died with it"
    assert "no contract" in ledger.stderr(
        "-y", "contract", "call", doomed, "send", "str:x", BOB, "1", "--from", "devnet:alice",
        code=1,
    )  # fmt: skip


def test_deploy_call_and_storage_of_a_module_file(
    ledger: Ledger, node: ServerThread, tmp_path: Path
) -> None:
    source = tmp_path / "counter.asm"
    source.write_text(COUNTER_ASM)
    module = tmp_path / "counter.mod"
    ledger("vm", "asm", str(source), "-o", str(module), "--hex")
    out = ledger(
        "-y", "contract", "deploy", str(module), "--from", "devnet:alice", "--disk", "1_000_000"
    )
    assert "success" in out
    address = next(line.split()[1] for line in out.splitlines() if line.startswith("contract"))
    out = ledger(
        "-y", "contract", "call", address, "bump", "--from", "devnet:alice", "--gas", "50000"
    )
    assert "returned" in out and out.splitlines()[0].split()[-1] == "1"
    echoed = ledger.json(
        "-y", "contract", "call", address, "echo", "0x2a", "str:hi", "--from", "devnet:alice"
    )
    assert isinstance(echoed, dict)
    assert echoed["returns"] == [
        {"type": "int", "value": "42"},
        {"type": "bytes", "value": b"hi".hex()},
    ]
    listing = ledger.json("contract", "storage", address)
    assert isinstance(listing, dict)
    assert listing["items"] == [{"key": b"count".hex(), "value": "00" * 31 + "01"}]
    assert listing["next"] is None
    one = ledger.json("contract", "storage", address, "0x" + b"count".hex())
    assert isinstance(one, dict) and one["value"] == "00" * 31 + "01"
    assert ledger("contract", "storage", address, "str:nothing").strip() == "(absent)"
    info = ledger.json("contract", "info", address)
    assert isinstance(info, dict) and info["entry_points"] == ["bump", "echo"]


def test_storage_listing_pages(ledger: Ledger, node: ServerThread) -> None:
    relay = deploy_relay(ledger, "1_000_000_000")["address"]
    ledger(
        "-y",
        "contract",
        "call",
        relay,
        "send",
        "str:held",
        BOB,
        "1000",
        "--from",
        "devnet:alice",
    )
    # One held message: first, g.., h.., n, p.., seed.
    options = ["--node", node.url, "--home", str(ledger.home)]
    runner_result = ledger.runner.invoke(
        app, [*options, "contract", "storage", relay, "--limit", "4"]
    )
    assert runner_result.exit_code == 0
    assert len(runner_result.stdout.splitlines()) == 4
    assert runner_result.stderr.startswith(f"more: ledger contract storage {relay} --start 0x")
    start = runner_result.stderr.split()[-1]
    rest = ledger.json("contract", "storage", relay, "--start", start)
    assert isinstance(rest, dict) and len(rest["items"]) == 2 and rest["next"] is None
    assert bytes.fromhex(rest["items"][-1]["key"]) == b"seed"


def test_contract_command_errors(ledger: Ledger, node: ServerThread, tmp_path: Path) -> None:
    relay = deploy_relay(ledger, "1_000_000_000")["address"]
    call = ("contract", "call", relay, "send")
    sender = ("--from", "devnet:alice")
    # Bad input: exit 1, one line, nothing sent.
    assert "invalid contract address" in ledger.stderr("contract", "info", "lg1qqqq", code=1)
    assert "no contract at" in ledger.stderr("contract", "info", BOB, code=1)
    assert "use an integer" in ledger.stderr("-y", *call, "what", *sender, code=1)
    assert "did you mean devnet:bob?" in ledger.stderr("-y", *call, "str:x", "bob", *sender, code=1)
    # Key names and _ separators work in call arguments as everywhere else.
    named = ledger.json("-y", *call, "str:named", "devnet:bob", "1_000", *sender)
    assert named["receipt"]["status"] == 0  # type: ignore[index]
    assert "too large" in ledger.stderr("-y", *call, "0x" + "f" * 65, *sender, code=1)
    assert "no entry point 'nope'" in ledger.stderr(
        "-y", "contract", "call", relay, "nope", *sender, code=1
    )
    assert "invalid entry point" in ledger.stderr(
        "-y", "contract", "call", relay, "Bad!", *sender, code=1
    )
    broken = tmp_path / "broken.asm"
    broken.write_text(".entry f -> int\n    PUSH 1\n")
    assert "broken.asm" in ledger.stderr("-y", "contract", "deploy", str(broken), *sender, code=1)
    assert "cannot read" in ledger.stderr(
        "-y", "contract", "deploy", str(tmp_path / "missing.asm"), *sender, code=1
    )
    assert "ENTRY:INTERVAL:GAS" in ledger.stderr(
        "-y", "contract", "deploy", str(RELAY_ASM), "--schedule", "tick", *sender, code=1
    )
    assert "schedule interval" in ledger.stderr(
        "-y", "contract", "deploy", str(RELAY_ASM), "--schedule", "tick:0:5", *sender, code=1
    )
    assert "--salt" in ledger.stderr(
        "-y", "contract", "deploy", str(RELAY_ASM), "--salt", "zz", *sender, code=1
    )
    assert "nothing to fund" in ledger.stderr("-y", "contract", "fund", relay, *sender, code=1)
    assert "str:TEXT" in ledger.stderr("contract", "storage", relay, "count", code=1)
    assert "either a KEY or --start" in ledger.stderr(
        "contract", "storage", relay, "str:n", "--start", "str:a", code=1
    )
    assert "--height needs a KEY" in ledger.stderr(
        "contract", "storage", relay, "--height", "1", code=1
    )
    # Declined: nothing sent. No wait: the hash and the address to be.
    assert "cancelled" in ledger.stderr(*call, "str:x", BOB, "1", *sender, input="n\n", code=1)
    assert "disk does not pay one block of rent" in ledger.stderr(
        "contract", "deploy", str(RELAY_ASM), *sender, input="n\n", code=1
    )
    out = ledger(
        "-y", "contract", "deploy", str(RELAY_ASM), *sender, "--salt", "01", "--no-wait"
    )
    assert out.startswith("submitted") and "(once included)" in out
    # Rejected by the node: exit 4. Included but reverted: exit 5 with the reason.
    assert "transaction rejected" in ledger.stderr(
        "-y", *call, "str:x", BOB, "1", *sender, "--nonce", "99", code=4
    )
    reverted = ledger.stderr("-y", *call, "str:x", BOB, "2000000", *sender, code=5)
    assert "failed in block" in reverted and "postage out of range" in reverted
    # Query errors.
    assert "no block 999" in ledger.stderr("query", "events", "999", code=1)
    assert "mint" in ledger("query", "events", "1")  # the validators' credits
