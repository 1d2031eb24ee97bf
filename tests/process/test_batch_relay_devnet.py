"""The relay end to end on a devnet of four validator processes, driven by
the `ledger` CLI (as tests/cli/test_contract_commands.py does on one
LocalNode): deploy two relays, send four letters through both, read the
mailboxes from another node than the one the letters went to, run a third
relay out of rent and watch its eviction (`ledger query events`) and
`contract info` report it gone on every node; at the end every node has the
same block hash and state root.

Each sender submits through one node only (its nonces then come from one
mempool); what another node reports is read once that node has the block.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.address import address_of, encode_address
from ledger.client.devnet import account_key
from tests.cli.features.contracts.test_contract_commands import RELAY_ASM, packet
from tests.cli.test_cli import Ledger

from .devnet_harness import Devnet

pytestmark = pytest.mark.timeout(300)

BOB = encode_address(address_of(account_key("bob").public_key))
CAROL = encode_address(address_of(account_key("carol").public_key))
ALICE = encode_address(address_of(account_key("alice").public_key))


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[Devnet]:
    net = Devnet(tmp_path / "devnet", validators=4)
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        yield net
    finally:
        net.stop_all()
        logs = net.logs()
        assert not any("evidence of equivocation" in text for text in logs.values())
        assert not any("Traceback" in text for text in logs.values())


@pytest.fixture
def cli(tmp_path: Path, devnet: Devnet) -> list[Ledger]:
    """One `ledger` per node: the same keystore, each with --node of its node."""
    home = tmp_path / "home"
    ledgers = [Ledger(home, node["rpc_url"]) for node in devnet.nodes]
    ledgers[0]("keys", "devnet")
    return ledgers


def deploy(ledger: Ledger, sender: str, disk: str, *extra: str) -> dict[str, Any]:
    deployed = ledger.json(
        "-y", "contract", "deploy", str(RELAY_ASM), "--from", sender,
        "--cpu", "100_000_000", "--disk", disk, "--net", "10_000_000", *extra,
    )  # fmt: skip
    assert isinstance(deployed, dict) and deployed["receipt"]["status"] == 0, deployed
    return deployed


def find_eviction(ledger: Ledger, address: str, since: int, timeout: float) -> dict[str, Any]:
    """Poll `ledger query events SINCE --to ...` until ``address`` is evicted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = ledger.json("query", "events", str(since), "--to", str(since + 999))
        assert isinstance(found, dict)
        for block in found["blocks"]:
            for event in block["events"]:
                attributes = event["attributes"]
                if event["kind"] == "contract_evicted" and attributes["address"] == address:
                    return {**attributes, "block": block["height"]}
        time.sleep(0.2)
    raise AssertionError(f"{address} was not evicted within {timeout} s")


def test_batch_relay_end_to_end_on_a_devnet(devnet: Devnet, cli: list[Ledger]) -> None:
    # Two relays, deployed through node 0.
    first = deploy(cli[0], "devnet:alice", "1_000_000_000", "--schedule", "tick:2:500000")
    second = deploy(cli[0], "devnet:alice", "1_000_000_000", "--schedule", "tick:2:500000")
    first_address, second_address = first["address"], second["address"]
    devnet.wait_height(second["receipt"]["block_height"], timeout=60)
    for ledger in cli:  # every node has both
        info = ledger("contract", "info", first_address)
        assert "deliver, pending, send, tick" in info and "tick() every 2 blocks" in info
        assert ledger.json("contract", "info", second_address)

    # Four letters into the first, each wrapped for the second, from heidi through node 1.
    letters = [(BOB, b"to bob 1"), (CAROL, b"to carol"), (BOB, b"to bob 2"), (BOB, b"to bob 3")]
    held, last = [], None
    for to, letter in letters:
        last = cli[1].json(
            "-y", "contract", "call", first_address, "send", packet(to, 1_000, letter),
            second_address, "300000", "--from", "devnet:heidi", "--gas", "2_000_000",
        )  # fmt: skip
        assert isinstance(last, dict) and last["receipt"]["status"] == 0, last
        held.append(last["returns"])
    assert held == [[{"type": "int", "value": str(n)}] for n in (1, 2, 3, 0)]
    assert last is not None
    delivered_at = last["receipt"]["block_height"]
    kinds = [event["kind"] for event in last["receipt"]["events"]]
    assert kinds.count("message") >= 8, kinds  # 4 into the second relay, 4 out of it

    # Read the mail from nodes 3 and 2, which the letters were not sent to.
    devnet.wait_height(delivered_at, timeout=60)
    mailbox = cli[3].json("contract", "mailbox", "devnet:bob", "--height", str(delivered_at))
    assert isinstance(mailbox, dict) and mailbox["received"] == 3
    assert sorted(bytes.fromhex(m["payload"]) for m in mailbox["messages"]) == [
        b"to bob 1",
        b"to bob 2",
        b"to bob 3",
    ]
    assert {m["sender"] for m in mailbox["messages"]} == {second_address}
    text = cli[2]("contract", "mailbox", CAROL)
    assert 'deliver("to carol")' in text and f"from {second_address}" in text
    assert "no storage entries" in cli[3]("contract", "storage", first_address)

    # A third relay, without a schedule (so a lone letter stays held), with
    # disk for a few dozen blocks; frank deploys it and mails it through node 2.
    rent = int(cli[2].json("contract", "info", first_address)["rent_bytes"])  # type: ignore[index]
    doomed = deploy(cli[2], "devnet:frank", str(40 * rent))
    doomed_address, deployed_at = doomed["address"], doomed["receipt"]["block_height"]
    sent = cli[2].json(
        "-y", "contract", "call", doomed_address, "send", "str:lost letter", BOB, "1000",
        "--from", "devnet:frank",
    )  # fmt: skip
    assert isinstance(sent, dict) and sent["returns"] == [{"type": "int", "value": "1"}]
    info = cli[2].json("contract", "info", doomed_address)
    assert isinstance(info, dict) and info["storage_keys"] > 0

    # It runs out of rent: node 1 reports the eviction among the end-of-block events ...
    evicted = find_eviction(cli[1], doomed_address, deployed_at, timeout=120)
    assert evicted["reason"] == "cannot pay rent"
    frank = encode_address(address_of(account_key("frank").public_key))
    assert evicted["beneficiary"] == frank
    assert "contract_evicted" in cli[1]("query", "events", str(evicted["block"]))
    # ... and once they have that block, no node knows the contract any more.
    devnet.wait_height(evicted["block"], timeout=60)
    for ledger in cli:
        gone = ledger.stderr("contract", "info", doomed_address, code=1)
        assert gone.startswith(f"error: no contract at {doomed_address}")
        stored = ledger.stderr("contract", "storage", doomed_address, code=1)  # as `info`
        assert stored.startswith(f"error: no contract at {doomed_address}")
        assert ledger.json("contract", "info", doomed_address, "--height", str(deployed_at))
        final = ledger.json("contract", "mailbox", BOB, "--height", str(evicted["block"]))
        assert isinstance(final, dict) and final["received"] == 3, "the letter died with it"
    assert "no contract" in cli[0].stderr(
        "-y", "contract", "call", doomed_address, "send", "str:x", BOB, "1",
        "--from", "devnet:alice", code=1,
    )  # fmt: skip

    # Every node on the same chain: the same block hash and state root at one height.
    target = max(devnet.heights())
    devnet.wait_height(target, timeout=60)
    assert devnet.assert_same_chain() >= target
