"""Real validator processes on 127.0.0.1: transfers, SIGKILL and restart,
a killed proposer, a halted chain, a long outage healed by block sync, and
garbage on the p2p and RPC ports.

After every scenario: equal block hashes and state roots on every node, no
committed transaction lost, and no equivocation (the engines report any
double vote they see as evidence in the logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import socket
import time
from pathlib import Path

import aiohttp
import pytest

from ledger.address import address_of
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key

from .devnet_harness import Devnet, wait_until

pytestmark = pytest.mark.timeout(300)

KEYS = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]


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
        assert not any("Traceback" in text for text in logs.values()), _first_traceback(logs)


def _first_traceback(logs: dict[str, str]) -> str:
    for name, text in logs.items():
        if "Traceback" in text:
            start = text.index("Traceback")
            return f"{name}:\n{text[start - 500 : start + 3000]}"
    return ""


def _send_transfers(net: Devnet, node: int, count: int, rng: random.Random) -> list[bytes]:
    """Submit ``count`` transfers through node ``node`` from that node's own two
    test accounts (one sender's transactions go through one node, so their
    nonces come from one mempool); returns their hashes."""
    client = net.clients[node]
    hashes = []
    for i in range(count):
        sender = KEYS[2 * node + i % 2]
        recipient = address_of(KEYS[rng.randrange(8)].public_key)
        sent = client.send_transfer(sender, recipient, rng.randrange(1, 10_000), wait=False)
        hashes.append(sent.hash)
    return hashes


def _assert_all_committed(net: Devnet, hashes: list[bytes], timeout: float = 60) -> None:
    """Every transaction has a successful receipt on every running node."""
    for index in net.running():
        client = net.clients[index]
        for tx_hash in hashes:
            receipt = client.wait_for_receipt(tx_hash, timeout=timeout)
            assert receipt.status == 0, receipt


def _balances(net: Devnet, index: int) -> list[int]:
    return [net.clients[index].get_balance(address_of(k.public_key)) for k in KEYS]


def test_transfers_commit_and_balances_match_on_every_node(devnet: Devnet) -> None:
    rng = random.Random(1)
    hashes = []
    for node in range(4):
        hashes += _send_transfers(devnet, node, 10, rng)
    _assert_all_committed(devnet, hashes)
    height = max(devnet.heights())
    devnet.wait_height(height)
    common = devnet.assert_same_chain()
    assert common >= height
    assert len({tuple(_balances(devnet, i)) for i in range(4)}) == 1


def test_sigkill_a_validator_and_the_proposer_then_restart(devnet: Devnet) -> None:
    rng = random.Random(2)
    devnet.kill(1)
    hashes = _send_transfers(devnet, 0, 12, rng)
    _assert_all_committed(devnet, hashes)
    devnet.start(1)
    devnet.wait_height(max(devnet.heights([0, 2, 3])), indexes=[1], timeout=90)

    proposer = devnet.next_proposer()
    devnet.kill(proposer)
    others = [i for i in range(4) if i != proposer]
    before = max(devnet.heights(others))
    hashes += _send_transfers(devnet, others[0], 8, rng)
    devnet.wait_height(before + 3, indexes=others, timeout=90)
    devnet.start(proposer)
    target = max(devnet.heights(others))
    devnet.wait_height(target, timeout=90)
    _assert_all_committed(devnet, hashes)
    devnet.assert_same_chain()


def test_two_nodes_down_halts_the_chain_and_it_resumes(devnet: Devnet) -> None:
    devnet.kill(2)
    devnet.kill(3)
    time.sleep(1.0)
    halted = max(devnet.heights([0, 1]))
    time.sleep(3.0)
    assert max(devnet.heights([0, 1])) <= halted + 1, "committed without a quorum"
    hashes = _send_transfers(devnet, 0, 4, random.Random(3))  # accepted, waiting
    devnet.start(2)
    devnet.start(3)
    devnet.wait_height(halted + 3, timeout=120)
    _assert_all_committed(devnet, hashes)
    devnet.assert_same_chain()


def test_a_node_down_for_many_blocks_catches_up_by_sync(devnet: Devnet) -> None:
    devnet.kill(3)
    start = max(devnet.heights([0, 1, 2]))
    hashes = _send_transfers(devnet, 0, 20, random.Random(4))
    devnet.wait_height(start + 25, indexes=[0, 1, 2], timeout=120)
    devnet.start(3)
    target = max(devnet.heights([0, 1, 2]))
    devnet.wait_height(target, indexes=[3], timeout=120)
    log = (Path(devnet.nodes[3]["home"]) / "node.log").read_text()
    assert "synced from a peer" in log
    # While fetching, it ran no rounds for the heights it fetched (issue 13 section 6).
    synced = {int(h) for h in re.findall(r"height=(\d+) synced from a peer", log)}
    proposed = {int(h) for h in re.findall(r"height=(\d+) round=\d+ proposing", log)}
    assert not synced & proposed, f"proposed at heights it was fetching: {synced & proposed}"
    _assert_all_committed(devnet, hashes)
    devnet.assert_same_chain()


def _garbage_tcp(port: int, rng: random.Random) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(bytes(rng.randrange(256) for _ in range(4096)))
        s.settimeout(1)
        with contextlib.suppress(OSError):
            s.recv(100)


async def _garbage_websocket(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        for frame in (os.urandom(64), b"\xc1", b"\x92\x20\xc4\x01", os.urandom(200_000)):
            try:
                async with session.ws_connect(
                    f"ws://127.0.0.1:{port}/p2p", timeout=aiohttp.ClientWSTimeout(ws_close=5)
                ) as ws:
                    await ws.send_bytes(frame)
                    await asyncio.wait_for(ws.receive(), timeout=5)
            except (TimeoutError, aiohttp.ClientError):
                pass


def test_garbage_on_p2p_and_rpc_ports_changes_nothing(devnet: Devnet) -> None:
    rng = random.Random(5)
    node = devnet.nodes[0]
    for _ in range(5):
        _garbage_tcp(node["p2p_port"], rng)
        _garbage_tcp(node["rpc_port"], rng)
    asyncio.run(_garbage_websocket(node["p2p_port"]))
    before = devnet.height(0)
    hashes = _send_transfers(devnet, 0, 5, rng)
    devnet.wait_height(before + 3, timeout=60)
    _assert_all_committed(devnet, hashes)
    assert devnet.running() == [0, 1, 2, 3]
    wait_until(lambda: devnet.clients[0].status().peers == 3, 30, "node 0 to keep its peers")
    devnet.assert_same_chain()
