"""The validators' threshold key on a devnet of 4 real validator processes
(3-of-4): the DKG of block 1 completes and the key appears over RPC; the
governance asks the validators to sign a transaction from the funded group
account, one validator is SIGKILLed as soon as the ceremony is pending, and
the transaction still commits; a resharing keeps the group key with the
validator still down, and after its restart another resharing gives it a
share again; anyone's message signature then verifies.

Every wait is bounded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ledger.address import address_of, decode_address, encode_address
from ledger.client import CeremonyInfo, LedgerClient, ThresholdKey
from ledger.client.devnet import account_key, validator_key
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.features.policy.bodies import ApproveProposal, ProposeAction, encode_action
from ledger.features.threshold.bodies import (
    ThresholdReshare,
    ThresholdSignMessage,
    ThresholdSignTransaction,
)
from ledger.features.threshold.ceremonies import encode_unsigned_transaction, message_to_sign
from ledger.threshold import frost
from ledger.types import Body, Transaction

from .devnet_harness import Devnet, wait_until

pytestmark = pytest.mark.timeout(300)

GOVERNORS = ("dave", "erin", "frank")


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
        assert not any("Traceback" in text for text in logs.values()), _traceback(logs)
        assert not any("evidence of equivocation" in text for text in logs.values())


def _traceback(logs: dict[str, str]) -> str:
    for name, text in logs.items():
        if "Traceback" in text:
            start = text.index("Traceback")
            return f"{name}:\n{text[start - 500 : start + 3000]}"
    return ""


def _send(client: LedgerClient, key: SigningKey, body: Body) -> int:
    """Sign and send ``body`` from ``key``; wait for success; the block height."""
    nonce = client.get_transaction_count(address_of(key.public_key), "pending")
    fee = client.get_params().min_fee
    tx = Transaction(client.chain_id(), key.public_key, nonce, fee, body).signed(key)
    receipt = client.send_transaction(tx, timeout=60).receipt
    assert receipt is not None and receipt.status == 0, receipt
    return receipt.block_height


def _govern(net: Devnet, client: LedgerClient, action: Body) -> None:
    """Propose ``action`` from the governance policy and have two more governors approve."""
    governance = net.genesis.policy("governance").address
    proposal = ProposeAction(governance, encode_action(action), client.block_number() + 200)
    key = account_key(GOVERNORS[0])
    nonce = client.get_transaction_count(address_of(key.public_key), "pending")
    tx = Transaction(client.chain_id(), key.public_key, nonce, 1000, proposal).signed(key)
    receipt = client.send_transaction(tx, timeout=60).receipt
    assert receipt is not None and receipt.status == 0, receipt
    proposal_id = int(receipt.events[0].attributes["proposal_id"])
    for name in GOVERNORS[1:]:
        _send(client, account_key(name), ApproveProposal(governance, proposal_id))


def _group(client: LedgerClient) -> ThresholdKey:
    group = client.get_threshold_key()
    assert group is not None
    return group


def _wait_ceremony(client: LedgerClient, kind: str, after: int, timeout: float) -> CeremonyInfo:
    """The first ceremony of ``kind`` with an id above ``after`` once it is finished."""
    found: list[CeremonyInfo] = []

    def finished() -> bool:
        ceremonies = client.get_ceremonies()
        for c in (*ceremonies.pending, *ceremonies.recent):
            if c.kind == kind and c.id > after and c.status != "pending":
                found.append(c)
                return True
        return False

    wait_until(finished, timeout, f"a {kind} ceremony after {after} to finish")
    return found[0]


def _last_id(client: LedgerClient) -> int:
    ceremonies = client.get_ceremonies()
    return max((c.id for c in (*ceremonies.pending, *ceremonies.recent)), default=0)


def _node_of(net: Devnet, validator_address: str) -> int:
    address = decode_address(validator_address)
    return next(i for i in range(net.count) if address_of(validator_key(i).public_key) == address)


def test_dkg_signing_with_a_validator_killed_and_resharing(devnet: Devnet) -> None:
    # 1. The DKG requested at block 1 completes; the key is on every node.
    wait_until(lambda: devnet.clients[0].get_threshold_key() is not None, 60, "the group key")
    group = _group(devnet.clients[0])
    assert group.threshold == 3 and len(group.members) == 4 and group.epoch == 1
    assert group.address == encode_address(address_of(group.public_key))
    for client in devnet.clients[1:]:
        wait_until(lambda c=client: c.get_threshold_key() == group, 30, "the same key everywhere")

    # 2. Fund the group account; the governance asks for a spend from it.
    victim = _node_of(devnet, group.members[0].validator)  # the first signer and aggregator
    client = devnet.clients[(victim + 1) % devnet.count]
    _send(client, account_key("alice"), Transfer("coin", 10**18, decode_address(group.address)))
    bob = address_of(account_key("bob").public_key)
    bob_before = client.get_balance(bob)
    spend = Transaction(client.chain_id(), group.public_key, 0, 1000, Transfer("coin", 12345, bob))
    before = _last_id(client)
    governance = devnet.genesis.policy("governance").address
    request = encode_action(ThresholdSignTransaction(encode_unsigned_transaction(spend)))
    key = account_key(GOVERNORS[0])
    nonce = client.get_transaction_count(address_of(key.public_key), "pending")
    proposal = ProposeAction(governance, request, client.block_number() + 200)
    tx = Transaction(client.chain_id(), key.public_key, nonce, 1000, proposal).signed(key)
    receipt = client.send_transaction(tx, timeout=60).receipt
    assert receipt is not None and receipt.status == 0
    proposal_id = int(receipt.events[0].attributes["proposal_id"])
    _send(client, account_key(GOVERNORS[1]), ApproveProposal(governance, proposal_id))
    # The last approval opens the ceremony: SIGKILL the first signer as soon as it is pending.
    approver = account_key(GOVERNORS[2])
    nonce = client.get_transaction_count(address_of(approver.public_key), "pending")
    last = Transaction(
        client.chain_id(),
        approver.public_key,
        nonce,
        1000,
        ApproveProposal(governance, proposal_id),
    ).signed(approver)
    client.send_transaction(last, wait=False)
    wait_until(
        lambda: any(c.id > before for c in client.get_ceremonies().pending),
        60,
        "the signing ceremony to be pending",
        step=0.02,
    )
    devnet.kill(victim)
    signing = _wait_ceremony(client, "sign", before, 90)
    assert signing.status == "completed", signing
    assert signing.result is not None
    assert frost.verify_signature(group.public_key, spend.signing_digest(), signing.result)
    wait_until(lambda: client.get_balance(bob) == bob_before + 12345, 60, "the group's spend")
    assert client.get_transaction_count(group.address) == 1

    # 3. A resharing with the victim still down keeps the key (3 deal, 3 confirm).
    before = _last_id(client)
    _govern(devnet, client, ThresholdReshare(0))
    resharing = _wait_ceremony(client, "reshare", before, 120)
    assert resharing.status == "completed", resharing
    after = _group(client)
    assert after.public_key == group.public_key and after.epoch == 2

    # 4. The victim comes back; another resharing gives it a share again.
    devnet.start(victim)
    devnet.wait_height(client.block_number(), indexes=[victim], timeout=90)
    before = _last_id(client)
    _govern(devnet, client, ThresholdReshare(0))
    again = _wait_ceremony(client, "reshare", before, 120)
    assert again.status == "completed" and _group(client).epoch == 3
    wait_until(
        lambda: "epoch 3 adopted" in (Path(devnet.nodes[victim]["home"]) / "node.log").read_text(),
        30,
        "the restarted validator to adopt epoch 3",
    )

    # 5. Anyone's message: signed by the group, the victim among the members again.
    before = _last_id(client)
    alice = account_key("alice")
    started = time.monotonic()
    _send(client, alice, ThresholdSignMessage(b"the validators attest this"))
    message = _wait_ceremony(client, "sign", before, 60)
    assert message.status == "completed" and message.result is not None
    expected = message_to_sign(
        client.chain_id(), address_of(alice.public_key), b"the validators attest this"
    )
    assert message.message == expected
    assert frost.verify_signature(group.public_key, expected, message.result)
    assert time.monotonic() - started < 60
