"""A relay that swaps block bodies, against real node processes (issue 13
section 1).

A block's id is its header's hash, and the proposer's signature and the
commit certificate cover only that id. A hostile peer (fresh key, the real
p2p protocol, tests/process/hostile_peer.py) takes genuine signed material
and swaps the body under it:

- on the consensus path, it relays every proposal it hears with another
  body (its last commit altered) to every validator;
- on the block-sync path, it serves a node that is behind the genuine
  block's header and certificate with another body.

Each time: the chain keeps committing, the relay is banned and cut off by
every node it tried it on, the node fed the swapped body commits nothing
from it, and every node stores the genuine body (the bytes each node
serves for a height are the same everywhere).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from cli.node.node_commands import free_local_ports
from consensus.engine.wire import ProposalMessage, decode_message, encode_message
from consensus.node.blocksync import (
    BlockMessage,
    GetBlock,
    StatusMessage,
    decode_sync_message,
    encode_sync_message,
)
from consensus.node.config import encode_config, load_config
from consensus.node.p2p import BLOCKSYNC_CHANNEL, CLOSE_PROTOCOL, CONSENSUS_CHANNEL
from ledger.crypto import SigningKey, sha256
from ledger.types import Block, decode_block

from .devnet_harness import Devnet, wait_until
from .hostile_peer import HostilePeer, banned_in_logs, hostile_peer, peer_name

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = Devnet(tmp_path_factory.mktemp("swapped") / "devnet", validators=4)
    devnet.start_all()
    try:
        devnet.wait_height(2, timeout=90)
        yield devnet
    finally:
        devnet.stop_all()


def swapped(block: bytes) -> bytes:
    """The same header (the same id, so the same signatures) over another body."""
    decoded = decode_block(block)
    return Block(decoded.header, decoded.transactions, decoded.last_commit + b"\x00").encode()


async def served_block(peer: HostilePeer, height: int) -> bytes:
    """The block bytes a node serves for ``height`` over block sync."""
    await peer.send(BLOCKSYNC_CHANNEL, encode_sync_message(GetBlock(height)))
    while True:
        frame = await peer.receive(20)
        assert frame is not None, "the node closed the connection"
        channel, payload = frame
        if channel != BLOCKSYNC_CHANNEL:
            continue
        message = decode_sync_message(payload)
        if isinstance(message, BlockMessage) and message.height == height:
            return message.block


def assert_genuine_bodies(net: Devnet, heights: range, indexes: list[int]) -> None:
    """Every node in ``indexes`` serves the same bytes for each height, and
    those bytes match their header (so they are the block that was signed)."""

    async def collect() -> list[list[bytes]]:
        served = []
        async with aiohttp.ClientSession() as client:
            for index in indexes:
                key = SigningKey(sha256(b"auditor %d" % index))
                port = net.nodes[index]["p2p_port"]
                async with hostile_peer(port, key, net.genesis.chain_id, client) as peer:
                    served.append([await served_block(peer, h) for h in heights])
        return served

    served = asyncio.run(collect())
    for blocks in served[1:]:
        assert blocks == served[0]
    for raw in served[0]:
        block = decode_block(raw)
        assert block.header.last_commit_hash == sha256(block.last_commit)


def test_invalid_relayed_proposals_with_swapped_bodies(net: Devnet) -> None:
    key = SigningKey(sha256(b"body swapping relay"))
    start = max(net.heights())

    async def attack() -> dict[int, int | None]:
        """Relay every proposal heard, swapped, to the other nodes, until
        every connection is closed; each connection's close code."""
        codes: dict[int, int | None] = {}
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(aiohttp.ClientSession())
            peers = {
                index: await stack.enter_async_context(
                    hostile_peer(node["p2p_port"], key, net.genesis.chain_id, client)
                )
                for index, node in enumerate(net.nodes)
            }
            relayed = 0

            async def listen(index: int, peer: HostilePeer) -> None:
                nonlocal relayed
                while True:
                    frame = await peer.receive(45)
                    if frame is None:
                        codes[index] = peer.ws.close_code
                        return
                    channel, payload = frame
                    if channel != CONSENSUS_CHANNEL or not isinstance(payload, bytes):
                        continue
                    message = decode_message(payload)
                    if not isinstance(message, ProposalMessage):
                        continue
                    fake = ProposalMessage(message.proposal, swapped(message.block))
                    for other, target in peers.items():  # its proposer included
                        if other not in codes:
                            with contextlib.suppress(ConnectionError, RuntimeError):
                                await target.send(CONSENSUS_CHANNEL, encode_message(fake))
                    relayed += 1

            with contextlib.suppress(TimeoutError):  # a node that never cut it off
                async with asyncio.timeout(45):
                    await asyncio.gather(*(listen(i, p) for i, p in peers.items()))
            assert relayed >= 1
        return codes

    codes = asyncio.run(attack())
    assert codes == {index: CLOSE_PROTOCOL for index in range(4)}  # banned everywhere
    logs = net.logs()
    assert all(peer_name(key) in text for text in logs.values())
    assert peer_name(key) in banned_in_logs(logs)
    assert "the last commit does not match the header" in "".join(logs.values())
    net.wait_height(start + 3, timeout=60)  # the chain went on
    assert_genuine_bodies(net, range(start, start + 3), [0, 1, 2, 3])


def _move_node_3(net: Devnet, port: int, peers: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    """Give node 3 another p2p port and peers to dial; the old ones."""
    path = Path(net.nodes[3]["home"]) / "config.toml"
    config = load_config(path)
    p2p = replace(config.p2p, listen_port=port, persistent_peers=peers)
    path.write_text(encode_config(replace(config, p2p=p2p)))
    return config.p2p.listen_port, config.p2p.persistent_peers


def test_invalid_block_sync_reply_with_a_swapped_body(net: Devnet) -> None:
    """Node 3 is behind, and the relay is its only peer (node 3 restarts on
    another port, where its validators do not dial it, with no peers to
    dial): it asks the relay for the next block and gets the genuine
    header and certificate (fetched from node 0) over a swapped body."""
    net.kill(3)
    behind = max(net.heights([0, 1, 2]))
    net.wait_height(behind + 3, indexes=[0, 1, 2], timeout=60)
    [hidden_port] = free_local_ports(1)
    own_port, own_peers = _move_node_3(net, hidden_port, ())
    key = SigningKey(sha256(b"body swapping block server"))
    try:
        net.start(3)
        wait_until(lambda: net.height(3) >= 0, 60, "node 3's RPC")
        tip = net.height(3)
        code = asyncio.run(_serve_swapped(net, key, tip, hidden_port))
        assert net.height(3) == tip  # nothing from the swapped block was committed
    finally:
        net.kill(3)
        _move_node_3(net, own_port, own_peers)
    assert code == CLOSE_PROTOCOL
    log = net.logs()["val-3"]
    assert f"bad synced block {tip + 1}" in log and "last commit does not match" in log
    assert peer_name(key) in banned_in_logs({"val-3": log})
    net.start(3)  # with its peers again: it catches up, with the genuine bodies
    target = max(net.heights([0, 1, 2]))
    net.wait_height(target, indexes=[3], timeout=90)
    assert_genuine_bodies(net, range(tip + 1, tip + 3), [0, 3])


async def _serve_swapped(net: Devnet, key: SigningKey, tip: int, port: int) -> int | None:
    """Connect to node 3 and to node 0; claim node 0's height to node 3 and
    answer its first request with the genuine block's header and
    certificate over a swapped body. The close code node 3 sends."""
    async with aiohttp.ClientSession() as client:
        source_key = SigningKey(sha256(b"block source"))
        async with (
            hostile_peer(
                net.nodes[0]["p2p_port"], source_key, net.genesis.chain_id, client
            ) as source,
            hostile_peer(port, key, net.genesis.chain_id, client) as relay,
        ):
            network = max(net.heights([0, 1, 2]))
            await relay.send(BLOCKSYNC_CHANNEL, encode_sync_message(StatusMessage(network)))
            while True:
                frame = await relay.receive(30)
                if frame is None:
                    return relay.ws.close_code
                channel, payload = frame
                if channel != BLOCKSYNC_CHANNEL:
                    continue
                request = decode_sync_message(payload)
                if not isinstance(request, GetBlock):
                    continue
                assert request.height == tip + 1
                genuine = await _fetch(source, request.height)
                fake = BlockMessage(request.height, swapped(genuine.block), genuine.certificate)
                await relay.send(BLOCKSYNC_CHANNEL, encode_sync_message(fake))
                return await relay.cut_off(30)


async def _fetch(source: HostilePeer, height: int) -> BlockMessage:
    await source.send(BLOCKSYNC_CHANNEL, encode_sync_message(GetBlock(height)))
    while True:
        frame = await source.receive(20)
        assert frame is not None
        channel, payload = frame
        if channel == BLOCKSYNC_CHANNEL:
            message = decode_sync_message(payload)
            if isinstance(message, BlockMessage) and message.height == height:
                return message
