"""Hostile peers against the compact-proposal channel of real node
processes (issue 21, ADR 0027): a fresh key speaking the real p2p protocol
(tests/process/hostile_peer.py) to a devnet whose validators send their
proposals compact.

- A compact proposal whose signature does not verify gets its sender
  banned, and the chain goes on.
- Fetches for a block the node does not hold get an empty answer (or, for
  the whole proposal, nothing), and cost the asker nothing.
- A fetch for a transaction beyond a block the node serves gets the asker
  banned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from consensus.engine.messages import Proposal
from consensus.node.compact_proposals import (
    CompactProposal,
    GetProposal,
    GetTxs,
    Txs,
    decode_compact_message,
    encode_compact_message,
)
from consensus.node.config import encode_config, load_config
from consensus.node.p2p import CLOSE_PROTOCOL, COMPACT_CHANNEL
from ledger.crypto import SigningKey, sha256

from .devnet_harness import Devnet
from .hostile_peer import HostilePeer, banned_in_logs, hostile_peer, peer_name

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = Devnet(tmp_path_factory.mktemp("compact-attacks") / "devnet", validators=4)
    for node in devnet.nodes:
        path = Path(node["home"]) / "config.toml"
        config = load_config(path)
        path.write_text(
            encode_config(replace(config, p2p=replace(config.p2p, compact_proposals=True)))
        )
    devnet.start_all()
    try:
        devnet.wait_height(2, timeout=90)
        yield devnet
    finally:
        devnet.stop_all()


async def next_compact(peer: HostilePeer, timeout: float = 30) -> CompactProposal:
    """The next compact proposal the node sends this peer (its own proposals)."""
    while True:
        frame = await peer.receive(timeout)
        assert frame is not None, "the node closed the connection"
        channel, payload = frame
        if channel == COMPACT_CHANNEL:
            message = decode_compact_message(payload)
            if isinstance(message, CompactProposal):
                return message


async def next_answer(peer: HostilePeer, timeout: float = 10) -> object | None:
    """The next compact-channel or consensus-channel proposal answer, or None
    if the connection closed."""
    while True:
        frame = await peer.receive(timeout)
        if frame is None:
            return None
        channel, payload = frame
        if channel == COMPACT_CHANNEL:
            message = decode_compact_message(payload)
            if not isinstance(message, CompactProposal):
                return message


def test_invalid_compact_proposal_with_a_forged_signature_is_banned(net: Devnet) -> None:
    key = SigningKey(sha256(b"compact forger"))
    start = max(net.heights())

    async def attack() -> int | None:
        async with aiohttp.ClientSession() as client:
            port = net.nodes[1]["p2p_port"]
            async with hostile_peer(port, key, net.genesis.chain_id, client) as peer:
                genuine = await next_compact(peer)
                height = net.height(1) + 1  # the height node 1 is deciding
                proposer = genuine.proposal.proposer
                forged = Proposal(height, 0, -1, sha256(b"no such block"), proposer, bytes(64))
                compact = replace(genuine, proposal=forged)
                await peer.send(COMPACT_CHANNEL, encode_compact_message(compact))
                return await peer.cut_off(30)

    assert asyncio.run(attack()) == CLOSE_PROTOCOL
    log = net.logs()["val-1"]
    assert "a compact proposal with an invalid signature" in log
    assert peer_name(key) in banned_in_logs({"val-1": log})
    net.wait_height(start + 3, timeout=60)  # the chain went on


def test_fetches_for_unknown_blocks_get_nothing_and_cost_nothing(net: Devnet) -> None:
    key = SigningKey(sha256(b"curious peer"))
    unknown = sha256(b"a block nobody has")

    async def ask() -> list[object | None]:
        answers = []
        async with aiohttp.ClientSession() as client:
            port = net.nodes[2]["p2p_port"]
            async with hostile_peer(port, key, net.genesis.chain_id, client) as peer:
                for _ in range(3):
                    await peer.send(COMPACT_CHANNEL, encode_compact_message(GetProposal(unknown)))
                    request = GetTxs(unknown, tuple(range(4096)))
                    await peer.send(COMPACT_CHANNEL, encode_compact_message(request))
                    answers.append(await next_answer(peer))
        return answers

    assert asyncio.run(ask()) == [Txs(unknown, (), ())] * 3  # and still connected
    assert peer_name(key) not in banned_in_logs(net.logs())


def test_invalid_fetch_beyond_a_served_block_is_banned(net: Devnet) -> None:
    key = SigningKey(sha256(b"index prober"))

    async def probe() -> int | None:
        async with aiohttp.ClientSession() as client:
            port = net.nodes[3]["p2p_port"]
            async with hostile_peer(port, key, net.genesis.chain_id, client) as peer:
                async with asyncio.timeout(60):
                    while True:
                        compact = await next_compact(peer)  # node 3's own proposal
                        beyond = (len(compact.tx_hashes),)
                        request = GetTxs(compact.proposal.block_hash, beyond)
                        await peer.send(COMPACT_CHANNEL, encode_compact_message(request))
                        answer = await next_answer(peer)
                        if answer is None:
                            return peer.ws.close_code
                        # Empty: the height was committed before the request
                        # arrived, and the block is no longer served. Next one.
                        assert answer == Txs(compact.proposal.block_hash, (), ())

    assert asyncio.run(probe()) == CLOSE_PROTOCOL
    log = net.logs()["val-3"]
    assert "asked for a transaction beyond the block" in log
    assert peer_name(key) in banned_in_logs({"val-3": log})
