"""Anonymous mail on a devnet of four real node processes.

The mail key comes from the validators' DKG; Joe (heidi) deploys the
remailer; 16 senders buy postage and send one letter each through it to 16
recipients; one validator is killed after the first eight letters (the
batch then closes on its size or its block limit, so the letters may span two
batches; if the dead validator's turn to shuffle comes, it times out and is
skipped); the others shuffle, decrypt and deliver all 16, and each recipient
opens its own. Then,
with every node stopped, the letters' plaintexts are searched for in every
file each node wrote (logs, WAL, LevelDB files) and in every record of its
store read back through LevelDB (blocks, receipts, events, state, tree
nodes): they appear nowhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import plyvel
import pytest

from ledger.address import address_of, decode_address
from ledger.client import LedgerClient
from ledger.client.devnet import account_key
from ledger.client.mail_letters import BUNDLED_REMAILER_PRICE, letter_call, postage_call
from ledger.crypto import SigningKey, sha256
from ledger.features.bank.bodies import Transfer
from ledger.features.mail.interface import Letter, open_letter
from ledger.types import Transaction
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.module import encode_module

from .devnet_harness import Devnet, wait_until

pytestmark = pytest.mark.timeout(600)

LETTERS = 16
TAG = os.urandom(6).hex()  # makes every run's plaintexts new: no stale file can match


def _keys(kind: str) -> list[SigningKey]:
    return [SigningKey(sha256(f"mail devnet {kind} {i} {TAG}".encode())) for i in range(LETTERS)]


def _text(i: int) -> bytes:
    return f"letter {i:02d} {TAG}: meet at the old mill".encode()


@pytest.fixture
def devnet(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = Devnet(tmp_path / "devnet", validators=4)
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        yield net
    finally:
        net.stop_all()


def _mail(client: LedgerClient) -> dict:  # type: ignore[type-arg]
    status = client.request("ledger_getMailStatus", [])
    assert status is not None, "the devnet genesis has a mail section"
    return status  # type: ignore[no-any-return]


def _send_all(client: LedgerClient, txs: list[Transaction]) -> None:
    """Submit without waiting, then wait for every receipt; all must succeed."""
    hashes = [client.send_raw_transaction(tx.encode()) for tx in txs]
    for tx_hash in hashes:
        receipt = client.wait_for_receipt(tx_hash, timeout=60)
        assert receipt.status == 0, receipt


def test_sixteen_letters_through_a_remailer_with_a_validator_killed(devnet: Devnet) -> None:
    client = LedgerClient(devnet.nodes[1]["rpc_url"], timeout=10.0)
    wait_until(lambda: _mail(client)["key"] is not None, 240, "the mail key from the DKG")
    mix = _mail(client)
    chain = client.chain_id()
    fee = client.get_params().min_fee

    joe = account_key("heidi")
    module = encode_module(assemble(contract_source("remailer")))
    deployed = client.send_deploy(joe, module, cpu=10**10, disk=10**10, net=10**10, timeout=60)
    assert deployed.receipt is not None and deployed.receipt.status == 0, deployed.receipt
    remailer = decode_address(deployed.address)

    senders, recipients = _keys("sender"), _keys("recipient")
    alice = account_key("alice")
    nonce = client.get_transaction_count(address_of(alice.public_key), "pending")
    funding = []
    for i, sender in enumerate(senders):
        for j, (asset, amount) in enumerate((("coin", 10**18), ("cpu", 10**8))):
            body = Transfer(asset, amount, address_of(sender.public_key))
            funding.append(Transaction(chain, alice.public_key, nonce + 2 * i + j, fee, body))
    _send_all(client, [tx.signed(alice) for tx in funding])
    buys = [
        Transaction(chain, s.public_key, 0, fee, postage_call(remailer, 1, BUNDLED_REMAILER_PRICE))
        for s in senders
    ]
    _send_all(client, [tx.signed(s) for tx, s in zip(buys, senders, strict=True)])

    mail_key = bytes.fromhex(mix["key"]["publicKey"])
    letters = []
    for i, (sender, recipient) in enumerate(zip(senders, recipients, strict=True)):
        body = letter_call(
            remailer,
            recipient.public_key,
            _text(i),
            mail_key,
            mix["cellWidth"],
            chain,
            address_of(sender.public_key),
            1,
        )
        letters.append(Transaction(chain, sender.public_key, 1, fee, body).signed(sender))
    # Half the letters, then a validator dies, then the other half: the batch
    # fills, is scheduled, shuffled and decrypted with one validator dead.
    victim = 3  # not node 1, the one the letters go through
    victim_key = devnet.genesis.validators[victim].public_key
    receipts = [client.wait_for_receipt(client.send_raw_transaction(tx.encode()), timeout=60)
                for tx in letters[: LETTERS // 2]]  # fmt: skip
    devnet.kill(victim)
    receipts += [client.wait_for_receipt(client.send_raw_transaction(tx.encode()), timeout=60)
                 for tx in letters[LETTERS // 2 :]]  # fmt: skip
    batches = set()
    for receipt in receipts:
        assert receipt.status == 0, receipt
        accepted = [e for e in receipt.events if e.kind == "mail_letter_accepted"]
        assert accepted, [e.attributes for e in receipt.events if e.kind == "message"]
        batches.add(int(accepted[0].attributes["batch"]))
    # With a validator dead, blocks come slower and a batch may close on its
    # block limit before all 16 arrive: the letters then span two batches.
    reader = client

    def delivered(batch_id: int) -> bool:
        found = reader.request("ledger_getMailBatch", [batch_id])
        assert found["status"] != "failed", found
        return found["status"] == "delivered"  # type: ignore[no-any-return]

    total = 0
    for batch_id in sorted(batches):
        wait_until(lambda b=batch_id: delivered(b), 180, f"batch {batch_id} delivered")
        batch = reader.request("ledger_getMailBatch", [batch_id])
        assert batch["undeliverable"] == 0 and batch["delivered"] == batch["cells"]
        total += batch["delivered"]
        scheduled = [bytes.fromhex(v["publicKey"]) for v in batch["schedule"]]
        shufflers = [bytes.fromhex(v["publicKey"]) for v in batch["shufflers"]]
        assert victim_key not in shufflers  # dead before any batch closed
        # The victim never shuffles; if its turn came before enough others had
        # shuffled, it was skipped for its silence, and nobody else was.
        assert {s["reason"] for s in batch["skipped"]} <= {"timeout"}
        assert {bytes.fromhex(s["publicKey"]) for s in batch["skipped"]} <= {victim_key}
        assert set(shufflers) <= set(scheduled)

    assert total == LETTERS

    for i, recipient in enumerate(recipients):
        page = reader.get_mail_letters(address_of(recipient.public_key))
        assert len(page.letters) == 1
        letter = Letter(address_of(recipient.public_key), page.letters[0].sealed)
        assert open_letter(letter, recipient.secret) == _text(i)
        with pytest.raises(Exception, match="someone else"):
            open_letter(letter, recipients[(i + 1) % LETTERS].secret)

    reader.close()
    client.close()
    devnet.stop_all()
    _assert_plaintexts_nowhere(devnet)


def _assert_plaintexts_nowhere(devnet: Devnet) -> None:
    needles = [_text(i) for i in range(LETTERS)]
    needles += [n.hex().encode() for n in needles]
    needles.append(TAG.encode())
    searched_files = searched_records = 0
    for node in devnet.nodes:
        home = Path(node["home"])
        for path in home.rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            searched_files += 1
            assert not any(n in data for n in needles), f"a plaintext is in {path}"
        for current in home.rglob("CURRENT"):
            database = plyvel.DB(str(current.parent), create_if_missing=False)
            try:
                for key, value in database.iterator():
                    searched_records += 1
                    assert not any(n in value or n in key for n in needles), (
                        f"a plaintext is in {current.parent} under {key[:40]!r}"
                    )
            finally:
                database.close()
    assert searched_files > 10 and searched_records > 1000
