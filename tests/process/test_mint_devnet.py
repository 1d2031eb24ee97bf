"""The mint on a devnet of four real node processes: the keyset made by the
validators' DKG at block 1, a deposit issued by their key holder services
in two rounds of transactions, notes whose NUT-12 proofs verify, and a
redemption by commit and reveal that pays the target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger.address import address_of
from ledger.client import LedgerClient
from ledger.client.devnet import account_key
from ledger.client.mint_wallet import (
    address_target,
    deposit_body,
    notes_from_signatures,
    prepare_redemption,
)
from ledger.features.mint.interface import secret_point

from .devnet_harness import Devnet, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def devnet(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = Devnet(tmp_path / "devnet", validators=4)
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        yield net
    finally:
        net.stop_all()
        logs = net.logs()
        assert not any("Traceback" in text for text in logs.values()), [
            text[text.index("Traceback") - 300 : text.index("Traceback") + 3000]
            for text in logs.values()
            if "Traceback" in text
        ]


def _active_keyset(client: LedgerClient) -> dict | None:  # type: ignore[type-arg]
    keysets = client.request("ledger_getMintKeys", [])["keysets"]
    return keysets[0] if keysets else None


def test_a_deposit_is_issued_and_redeemed_on_a_devnet(devnet: Devnet) -> None:
    client = LedgerClient(devnet.nodes[0]["rpc_url"], timeout=10.0)
    wait_until(lambda: _active_keyset(client) is not None, 120, "the mint's keyset")
    info = client.request("ledger_getMintKeysets", [])["keysets"][0]
    keys = _active_keyset(client)
    assert keys is not None and keys["id"] == info["id"] and len(keys["keys"]) == 21
    alice, bob = account_key("alice"), account_key("bob")
    body, pending = deposit_body(1000, info["epoch"], 20, os.urandom)
    sent = client.send_body(alice, body, timeout=60)
    assert sent.receipt is not None and sent.receipt.status == 0, sent.receipt
    request_id = int(sent.receipt.events[0].attributes["request_id"])

    def issued() -> bool:
        return client.request("ledger_getMintIssue", [request_id])["status"] == "issued"

    wait_until(issued, 60, "the deposit's notes")
    answer = client.request("ledger_getMintIssue", [request_id])
    signatures = [
        bytes.fromhex(s["C_"] + s["dleq"]["e"] + s["dleq"]["s"]) for s in answer["signatures"]
    ]
    public_keys = [bytes.fromhex(keys["keys"][str(1 << i)]) for i in range(21)]
    notes = notes_from_signatures(pending, signatures, keys["id"], public_keys)  # proofs checked
    assert sum(n.amount for n in notes) == 1000
    bob_address = address_of(bob.public_key)
    before = client.get_balance(bob_address, "coin")
    redemption = prepare_redemption(
        client.chain_id(),
        address_of(alice.public_key),
        notes,
        {keys["id"]: info["epoch"]},
        address_target(bob_address),
        os.urandom,
    )
    committed = client.send_body(alice, redemption.commit, timeout=60)
    assert committed.receipt is not None and committed.receipt.status == 0, committed.receipt
    commitment_id = int(committed.receipt.events[0].attributes["commitment_id"])
    revealed = client.send_body(alice, redemption.reveal(commitment_id), timeout=60)
    assert revealed.receipt is not None and revealed.receipt.status == 0, revealed.receipt
    wait_until(lambda: client.get_balance(bob_address, "coin") == before + 1000, 60, "payout")
    ys = [secret_point(n.secret).sec.hex() for n in notes]
    states = client.request("ledger_checkNoteStates", [ys])["states"]
    assert {s["state"] for s in states} == {"SPENT"}
    mint = client.request("ledger_getMint", [])
    assert mint["reserve"] == "0" and mint["inFlight"] == "0"
