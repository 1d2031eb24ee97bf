"""The mix end to end on a devnet of separate node processes: how many blocks
(and seconds) after a batch closes its letters are in their mailboxes.

Used by bench.mix (``measure_delivery``). A devnet of 4 validators with the
default consensus settings starts from the devnet genesis (mail on,
batches of 16); once the validators' DKG has made the mail key, Joe deploys
the remailer, 16 fresh senders are funded, buy postage and send one letter
each, which fills a batch; the batch closes in the block of its 16th letter,
and the figure is ``finishedAt - closedAt`` of the delivered batch (exact,
from the chain), with the wall time from the closing block to delivery as
the validators' nodes saw it. Repeated for ``batches`` batches.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import log
from cli.node.node_commands import free_local_ports, launch_devnet, prepare_devnet, stop_devnet
from ledger.address import address_of, decode_address
from ledger.client import LedgerClient, TransportError
from ledger.client.devnet import account_key
from ledger.client.mail_letters import BUNDLED_REMAILER_PRICE, letter_call, postage_call
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.types import Transaction
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.module import encode_module

LETTERS = 16
TARGET_BLOCKS = 10


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, TransportError):
            pass  # the node is not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _send_all(client: LedgerClient, txs: list[Transaction]) -> list[Any]:
    hashes = [client.send_raw_transaction(tx.encode()) for tx in txs]
    receipts = [client.wait_for_receipt(h, timeout=120) for h in hashes]
    for receipt in receipts:
        if receipt.status != 0:
            raise RuntimeError(f"a bench transaction failed: {receipt.error}")
    return receipts


def _one_batch(client: LedgerClient, remailer: bytes, round_: int) -> dict[str, float]:
    chain, fee = client.chain_id(), client.get_params().min_fee
    mix = client.request("ledger_getMailStatus", [])
    senders = [SigningKey.generate() for _ in range(LETTERS)]
    recipients = [SigningKey.generate() for _ in range(LETTERS)]
    alice = account_key("alice")
    nonce = client.get_transaction_count(address_of(alice.public_key), "pending")
    funding = []
    for i, sender in enumerate(senders):
        for j, (asset, amount) in enumerate((("coin", 10**18), ("cpu", 10**8))):
            body = Transfer(asset, amount, address_of(sender.public_key))
            tx = Transaction(chain, alice.public_key, nonce + 2 * i + j, fee, body)
            funding.append(tx.signed(alice))
    _send_all(client, funding)
    buy = postage_call(remailer, 1, BUNDLED_REMAILER_PRICE)
    _send_all(client, [Transaction(chain, s.public_key, 0, fee, buy).signed(s) for s in senders])
    letters = []
    for i, (sender, recipient) in enumerate(zip(senders, recipients, strict=True)):
        body = letter_call(
            remailer,
            recipient.public_key,
            b"bench letter %d of round %d" % (i, round_),
            bytes.fromhex(mix["key"]["publicKey"]),
            mix["cellWidth"],
            chain,
            address_of(sender.public_key),
            1,
        )
        letters.append(Transaction(chain, sender.public_key, 1, fee, body).signed(sender))
    receipts = _send_all(client, letters)
    closed = [e for r in receipts for e in r.events if e.kind == "mail_batch_closed"]
    if not closed:
        raise RuntimeError("the 16 letters did not close a batch")
    batch_id = int(closed[0].attributes["batch"])
    closed_seen = time.monotonic()

    def delivered() -> bool:
        batch = client.request("ledger_getMailBatch", [batch_id])
        if batch["status"] == "failed":
            raise RuntimeError(f"batch {batch_id} failed: {batch['reason']}")
        return batch["status"] == "delivered"  # type: ignore[no-any-return]

    _wait(delivered, 300, f"batch {batch_id}")
    seconds = time.monotonic() - closed_seen
    batch = client.request("ledger_getMailBatch", [batch_id])
    blocks = batch["finishedAt"] - batch["closedAt"]
    log(f"  batch {batch_id}: delivered {blocks} blocks ({seconds:.1f} s) after it closed")
    return {"blocks": blocks, "seconds": seconds, "shufflers": len(batch["shufflers"])}


def measure_delivery(batches: int) -> dict[str, object]:
    """Run the devnet, deliver ``batches`` full batches; the figures for bench.mix."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-mix-devnet-"))
    processes = []
    try:
        ports = free_local_ports(8)
        nodes = prepare_devnet(workdir, 4, ports[0], ports[4])
        processes = launch_devnet(workdir, nodes)
        client = LedgerClient(nodes[0]["rpc_url"], timeout=10.0)
        started = time.monotonic()

        def keyed() -> bool:
            status = client.request("ledger_getMailStatus", [])
            return status is not None and status["key"] is not None

        _wait(keyed, 300, "the mail key")
        key_s = time.monotonic() - started
        log(f"devnet: mail key after {key_s:.0f} s (height {client.block_number()})")
        joe = account_key("heidi")
        module = encode_module(assemble(contract_source("remailer")))
        deployed = client.send_deploy(joe, module, cpu=10**10, disk=10**10, net=10**10, timeout=120)
        if deployed.receipt is None or deployed.receipt.status != 0:
            raise RuntimeError(f"the remailer was not deployed: {deployed.receipt}")
        remailer = decode_address(deployed.address)
        rounds = [_one_batch(client, remailer, n) for n in range(batches)]
        client.close()
    finally:
        stop_devnet(processes)
        shutil.rmtree(workdir, ignore_errors=True)
    blocks = [r["blocks"] for r in rounds]
    return {
        "delivery_blocks_after_close": max(blocks),
        "delivery_blocks_after_close_each": blocks,
        "delivery_s_after_close_median": round(statistics.median(r["seconds"] for r in rounds), 2),
        "delivery_target_blocks": TARGET_BLOCKS,
        "delivery_meets_target": max(blocks) <= TARGET_BLOCKS,
        "delivery_batch_letters": LETTERS,
        "devnet_mail_key_s": round(key_s, 1),
    }
