"""Issue 14 section 1 on real processes: one burst of big transactions must
not halt the chain.

The attack (found at 5c56ce1): 130 contract calls of about 60 KiB each from
one funded account (130 minimum fees) made the proposer build a 7.8 MB block
that no p2p frame could carry; the broadcast raised inside the node's action
loop, every action after it was lost, and every next proposer built the same
block from the same mempool, so the chain stopped for good.

Now a proposer only builds blocks that fit a frame with room for their
envelope, the node's frame limit is checked against the chain's block limit
at start, and a block near the maximum size is also served by block sync.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ledger.address import address_of
from ledger.client import calls
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key
from ledger.types import MAX_TX_SIZE
from vm.limits import MAX_BYTES_LENGTH

from .devnet_harness import Devnet, wait_until
from .hostile_peer import banned_in_logs, peak_memory_mib

MEMORY_BOUND_MIB = 400  # per node, peak: an 8 MB block passes through several copies

pytestmark = pytest.mark.timeout(240)

ATTACKER = account_key(DEVNET_ACCOUNT_NAMES[5])
CALLS = 130
ARGS = 15  # byte strings of the VM's maximum length: 60 KiB per call


def big_calls(net: Devnet, count: int, first_nonce: int) -> list[bytes]:
    """``count`` signed calls of about 60 KiB each (a call to an address with
    no contract: a valid transaction that pays its fee and fails), as raw bytes."""
    fee = net.clients[0].get_params().min_fee
    nowhere = address_of(b"\x02" + bytes(32))
    raws = []
    for i in range(count):
        filler = (bytes([i % 256]) * MAX_BYTES_LENGTH,) * ARGS
        tx = calls.sign_call(
            ATTACKER, net.genesis.chain_id, first_nonce + i, nowhere, "f", filler, 1, fee
        )
        raw = tx.encode()
        assert 60 * 1024 < len(raw) <= MAX_TX_SIZE
        raws.append(raw)
    return raws


@pytest.fixture
def devnet(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = Devnet(tmp_path / "devnet", validators=4)
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        yield net
    finally:
        net.stop_all()


def test_a_burst_of_big_transactions_does_not_halt_the_chain(devnet: Devnet) -> None:
    client = devnet.clients[0]
    nonce = client.get_transaction_count(address_of(ATTACKER.public_key), "pending")
    raws = big_calls(devnet, CALLS, nonce)
    # With two nodes down the chain waits, so the whole burst is pending
    # when it resumes; node 3 stays down through it, so the big blocks also
    # reach it later through block sync.
    devnet.kill(2)
    devnet.kill(3)
    hashes = [client.send_raw_transaction(raw) for raw in raws]
    wait_until(
        lambda: devnet.clients[1].mempool_info().size >= CALLS, 30, "the burst to reach node 1"
    )
    start = max(devnet.heights([0, 1]))
    devnet.start(2)
    # Every call is committed (in blocks that fit a frame) and the chain goes on.
    receipts = [client.wait_for_receipt(tx_hash, timeout=60) for tx_hash in hashes]
    devnet.wait_height(max(devnet.heights([0, 1, 2])) + 2, indexes=[0, 1, 2], timeout=60)
    assert max(devnet.heights([0, 1, 2])) > start
    per_block = Counter(receipt.block_height for receipt in receipts)
    biggest = max(per_block.values()) * len(raws[0])
    assert biggest > 4 * 1024 * 1024, "no block above the old 4 MiB frame limit was built"
    # The node that was down fetches those blocks from its peers.
    devnet.start(3)
    target = max(devnet.heights([0, 1, 2]))
    devnet.wait_height(target, indexes=[3], timeout=90)
    devnet.assert_same_chain()
    for process in devnet.processes:
        assert process is not None
        assert peak_memory_mib(process.pid) < MEMORY_BOUND_MIB
    logs = devnet.logs()
    assert banned_in_logs(logs) == set()
    assert not any("FrameTooLarge" in text for text in logs.values())
    assert not any("Traceback" in text for text in logs.values())
    wait_until(lambda: devnet.clients[3].status().peers == 3, 30, "node 3 to keep its peers")
