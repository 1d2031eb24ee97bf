"""The mempool against real node processes: a peer relaying frames of
forged transactions is banned while RPC keeps answering; an accepted
transaction survives kill -9; a sender's burst through several nodes
commits in nonce order.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from consensus.node.p2p import MEMPOOL_CHANNEL, P2PConfig, P2PNode
from consensus.node.wire_limits import MAX_GOSSIP_TXS
from ledger import codec
from ledger.address import address_of
from ledger.client import LedgerClient
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.types import NATIVE_ASSET, Transaction

from .devnet_harness import Devnet, wait_until

pytestmark = pytest.mark.timeout(300)

KEYS = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]
FEE = 1000
FRAME_LIMIT = 4 * 1024 * 1024  # the nodes' p2p.max_frame_bytes (the default)


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
        assert not any("evidence of equivocation" in text for text in logs.values()), "double sign"
        assert not any("Traceback" in text for text in logs.values())


def signed_transfer(key: SigningKey, nonce: int, amount: int = 1) -> Transaction:
    recipient = address_of(KEYS[0].public_key)
    body = Transfer(NATIVE_ASSET, amount, recipient)
    return Transaction("ledger-devnet-1", key.public_key, nonce, FEE, body).signed(key)


def forged_stream(valid: list[Transaction], forged: Transaction) -> list[tuple[bytes, ...]]:
    """25,000 transactions in mempool frames of at most MAX_GOSSIP_TXS (the
    transport's limit): unfunded senders with random signatures (refused on
    the balance, before any verification), the ``valid`` ones spread among
    them, and ``forged`` last."""
    count = 25_000 - len(valid) - 1
    every = count // len(valid)
    stream: list[bytes] = []
    for index in range(count):
        if index % every == 0 and index // every < len(valid):
            stream.append(valid[index // every].encode())
        stream.append(_junk().encode())
    stream.append(forged.encode())
    frames = [
        tuple(stream[start : start + MAX_GOSSIP_TXS])
        for start in range(0, len(stream), MAX_GOSSIP_TXS)
    ]
    assert all(len(codec.encode((MEMPOOL_CHANNEL, f))) <= FRAME_LIMIT for f in frames)
    return frames


def _junk() -> Transaction:
    body = Transfer(NATIVE_ASSET, 1, os.urandom(20))
    return Transaction("ledger-devnet-1", b"\x02" + os.urandom(32), 0, FEE, body, os.urandom(64))


class Poller(threading.Thread):
    """Asks a node for its mempool size, again and again, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = LedgerClient(url, timeout=30.0)
        self.sizes: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.sizes.append(self.client.mempool_info().size)


async def attack(port: int, frames: list[tuple[bytes, ...]], refused: Callable[[], bool]) -> bool:
    """Connect to the node as a fresh peer, send ``frames`` on the mempool
    channel, and wait for the node to hang up. True if it did; then keep
    redialing until ``refused()`` (the node's log says it refused us)."""
    attacker = P2PNode(
        P2PConfig(
            node_key=SigningKey(os.urandom(32)),
            chain_id="ledger-devnet-1",
            listen_port=0,
            persistent_peers=(f"127.0.0.1:{port}",),
            max_frame_size=2 * FRAME_LIMIT,
            backoff_initial=1.0,
        ),
        lambda peer, channel, message: None,
    )
    await attacker.start()
    try:
        assert await attacker.wait_for_peers(1, timeout=30)
        (victim,) = attacker.peers()
        for frame in frames:
            if not await attacker.send_wait(victim.peer_id, MEMPOOL_CHANNEL, frame, timeout=30):
                break  # already cut off
        for _ in range(600):  # at most 60 s
            if not attacker.peers():
                break
            await asyncio.sleep(0.1)
        else:
            return False
        for _ in range(300):  # the dialer redials after its backoff
            if refused():
                break
            await asyncio.sleep(0.1)
        return True
    finally:
        await attacker.stop()


def test_forged_transactions_get_their_peer_banned_while_rpc_answers(devnet: Devnet) -> None:
    # 25,000 relayed transactions (the transport takes at most 4,096 in one
    # frame, so they come in 7), the last one forged. Halt the chain (two of
    # four validators down), so node 0's mempool only grows: a size between 0
    # and all of the valid transactions, read over RPC, was read while node 0
    # was still working through them.
    devnet.kill(2)
    devnet.kill(3)
    senders = KEYS[2:7]
    valid = [signed_transfer(key, nonce) for nonce in range(40) for key in senders]
    forged = signed_transfer(KEYS[1], 0)
    forged = Transaction(forged.chain_id, forged.sender, 0, FEE, forged.body, bytes(63) + b"\x01")
    frames = forged_stream(valid, forged)
    poller = Poller(devnet.nodes[0]["rpc_url"])
    poller.start()
    try:
        wait_until(lambda: len(poller.sizes) > 0, 30, "the poller's first answer")

        def refused() -> bool:
            return "banned for misbehaving" in devnet.logs()["val-0"]

        assert asyncio.run(attack(devnet.nodes[0]["p2p_port"], frames, refused)), "peer stayed"
    finally:
        poller.stop.set()
        poller.join(timeout=30)
    sizes = poller.sizes
    base = sizes[0]  # validators' own pending transactions, if any
    assert sizes[-1] == base + len(valid)
    assert any(base < size < base + len(valid) for size in sizes), "RPC waited for the frame"
    log = devnet.logs()["val-0"]
    assert "relayed a transaction with an invalid signature" in log
    assert "banned for misbehaving" in log
    assert forged.hash not in {tx.hash for tx in valid}
    assert devnet.clients[0].get_transaction(forged.hash) is None
    # The same 25,000 in one frame: the transport cuts that peer off before
    # anything is decoded.
    one_frame = [tuple(raw for frame in frames for raw in frame)]
    assert asyncio.run(attack(devnet.nodes[0]["p2p_port"], one_frame, lambda: True))
    assert devnet.clients[0].mempool_info().size == sizes[-1]
    # The honest peer stayed; the chain resumes with the valid transactions.
    assert devnet.clients[0].status().peers >= 1
    devnet.start(2)
    devnet.start(3)
    for tx in valid[:: len(senders) * 8] + valid[-1:]:
        receipt = devnet.clients[1].wait_for_receipt(tx.hash, timeout=90)
        assert receipt.status == 0
    devnet.assert_same_chain()


def test_an_accepted_transaction_survives_kill_9(devnet: Devnet) -> None:
    # Only node 0 runs, so the transaction is nowhere else when it dies.
    for index in (1, 2, 3):
        devnet.kill(index)
    client = devnet.clients[0]
    key = KEYS[1]
    tx = signed_transfer(key, client.get_transaction_count(address_of(key.public_key), "pending"))
    submission = client.submit_transaction(tx.encode())
    assert submission.hash == tx.hash and not submission.queued
    devnet.kill(0)  # right after the answer
    devnet.start_all()
    wait_until(lambda: devnet.clients[1].get_receipt(tx.hash) is not None, 120, "the receipt")
    receipt = devnet.clients[1].get_receipt(tx.hash)
    assert receipt is not None and receipt.status == 0
    recovered = re.search(r"mempool: recovered (\d+) of \d+ journaled", devnet.logs()["val-0"])
    assert recovered is not None and int(recovered.group(1)) >= 1
    devnet.assert_same_chain()


def test_a_burst_through_several_nodes_commits_in_nonce_order(devnet: Devnet) -> None:
    key = KEYS[3]
    start = devnet.clients[0].get_transaction_count(address_of(key.public_key))
    txs = [signed_transfer(key, start + n, amount=n + 1) for n in range(12)]
    queued = []
    for n, tx in reversed(list(enumerate(txs))):  # the highest nonce first
        queued.append(devnet.clients[n % 4].submit_transaction(tx.encode()).queued)
    assert queued[0] and not queued[-1]  # waited for the gap; filled it
    for tx in txs:
        assert devnet.clients[2].wait_for_receipt(tx.hash, timeout=90).status == 0
    assert devnet.clients[0].get_transaction_count(address_of(key.public_key)) == start + 12
    devnet.assert_same_chain()
