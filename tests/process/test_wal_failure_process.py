"""A failed persist stops a real node process before anything that depended
on it leaves (issue 13 section 4).

Node 3 of a four-validator devnet runs with the test-only fault injection
``LEDGER_TEST_WAL_FAIL_AFTER`` (consensus.node.fault_injection): after some
appends its WAL raises ENOSPC, as a full disk would. By then the guard has
recorded, and the key signed, the message that append was to cover (the
guard is written before signing, the WAL after). An observer connected to
node 3 over the real p2p protocol records everything node 3 signed and
sent. The checks: node 3 exits with status 1 and says why; the message at
the guard's last position (the one whose persist failed) never left; the
other three go on committing; node 3, restarted without the fault, catches
up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from consensus.engine.messages import Vote
from consensus.engine.wire import ProposalMessage, decode_message
from consensus.node.fault_injection import WAL_FAIL_AFTER_ENV
from consensus.node.p2p import CONSENSUS_CHANNEL
from ledger.address import address_of
from ledger.client.devnet import validator_key
from ledger.crypto import SigningKey, sha256

from .devnet_harness import Devnet, wait_until
from .hostile_peer import hostile_peer

pytestmark = pytest.mark.timeout(180)

FAILING = 3
APPENDS_BEFORE_FAILURE = 40  # a few heights of prevotes and precommits


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Devnet]:
    devnet = Devnet(tmp_path / "devnet", validators=4)
    try:
        yield devnet
    finally:
        devnet.stop_all()


async def observe(net: Devnet) -> dict[bytes, tuple[int, int]]:
    """Everything node FAILING signs and sends, until it goes away: the
    signing digest of each of its messages -> (height, round)."""
    chain_id = net.genesis.chain_id
    own = address_of(validator_key(FAILING).public_key)
    sent: dict[bytes, tuple[int, int]] = {}
    key = SigningKey(sha256(b"observer"))
    async with (
        aiohttp.ClientSession() as client,
        hostile_peer(net.nodes[FAILING]["p2p_port"], key, chain_id, client) as peer,
    ):
        deadline = asyncio.get_running_loop().time() + 60  # a node that never stops
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                frame = await peer.receive(max(left, 0.0))
            except (TimeoutError, aiohttp.ClientError):
                return sent
            if frame is None:
                return sent
            channel, payload = frame
            if channel != CONSENSUS_CHANNEL or not isinstance(payload, bytes):
                continue
            message = decode_message(payload)
            if isinstance(message, Vote) and message.validator == own:
                sent[message.signing_digest(chain_id)] = (message.height, message.round)
            elif isinstance(message, ProposalMessage) and message.proposal.proposer == own:
                proposal = message.proposal
                sent[proposal.signing_digest(chain_id)] = (proposal.height, proposal.round)


def test_invalid_a_failing_wal_stops_the_node_before_its_message_leaves(net: Devnet) -> None:
    for index in range(FAILING):
        net.start(index)
    net.start(FAILING, env={WAL_FAIL_AFTER_ENV: str(APPENDS_BEFORE_FAILURE)})
    wait_until(lambda: net.height(FAILING) >= 0, 60, "node 3's RPC")
    sent = asyncio.run(observe(net))
    process = net.processes[FAILING]
    assert process is not None
    assert process.wait(timeout=30) == 1  # fail-stop, and the exit status says so
    net.processes[FAILING] = None
    log = (Path(net.nodes[FAILING]["home"]) / "node.log").read_text(errors="replace")
    assert "stopping the node: Persist failed" in log and "injected" in log
    guard = json.loads(
        (Path(net.nodes[FAILING]["home"]) / "data" / "signer_guard.json").read_text()
    )
    last = bytes.fromhex(guard["message_hash"])
    # The observer was listening at the failing height...
    assert any(height == guard["height"] - 1 for height, _ in sent.values()), sent
    # ... and the message signed last (whose persist failed) never left.
    assert last not in sent
    running = [0, 1, 2]
    start = max(net.heights(running))
    net.wait_height(start + 3, indexes=running, timeout=60)  # 3 of 4: the chain goes on
    net.start(FAILING)  # no fault: it resumes and catches up
    net.wait_height(start + 3, indexes=[FAILING], timeout=90)
    net.assert_same_chain()
