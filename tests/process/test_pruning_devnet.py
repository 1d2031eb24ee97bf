"""A devnet validator with aggressive pruning, as real processes (issue 18 §1).

Node 0 keeps the states of its last 4 heights and of every 10th, and the
blocks of its last 6; the other three are archive nodes. Under transfer
load it must: answer old heights with the typed error (RPC -32006, CLI exit
7) while recent and kept-for-good heights answer exactly what an archive
node answers; survive SIGKILL and restart, catch up and keep committing
with the others; and leave a store holding exactly what its policy keeps
(every kept state whole, nothing of a forgotten one but pinned nodes, no
block, receipt or index entry below the retain height).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from consensus.node.config import PruningConfig, encode_config, load_config
from ledger.address import address_of, encode_address
from ledger.client import HeightPrunedError
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key
from ledger.state_tree import EMPTY_ROOT, INTERNAL, child_hashes
from ledger.store import Store

from .devnet_harness import ROOT, Devnet

pytestmark = pytest.mark.timeout(300)

PRUNING = PruningConfig(keep_recent=4, keep_every=10, retain_blocks=6, heights_per_pass=8)
KEYS = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]
BOB = address_of(account_key("bob").public_key)


@pytest.fixture
def devnet(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = Devnet(tmp_path / "devnet", validators=4)
    path = Path(net.nodes[0]["home"]) / "config.toml"
    path.write_text(encode_config(replace(load_config(path), pruning=PRUNING)))
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        yield net
    finally:
        net.stop_all()
        logs = net.logs()
        assert not any("evidence of equivocation" in text for text in logs.values()), "double sign"
        assert not any("Traceback" in text for text in logs.values()), "a node raised"


def _send_transfers(net: Devnet, node: int, count: int, rng: random.Random) -> list[bytes]:
    client = net.clients[node]
    return [
        client.send_transfer(
            KEYS[2 * node + i % 2],
            address_of(KEYS[rng.randrange(8)].public_key),
            rng.randrange(1, 10_000),
            wait=False,
        ).hash
        for i in range(count)
    ]


def _cli(net: Devnet, node: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "--node", net.nodes[node]["rpc_url"], *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _check_queries(net: Devnet) -> int:
    """Old heights refused with the typed error, recent and kept ones equal
    to the archive node's answers; returns the tip it checked at."""
    pruned, archive = net.clients[0], net.clients[1]
    tip = pruned.block_number()
    with pytest.raises(HeightPrunedError) as caught:
        pruned.get_balance(BOB, height=2)
    assert caught.value.data["what"] == "state" and caught.value.data["earliest"] > 2
    with pytest.raises(HeightPrunedError) as caught:
        pruned.get_block(2)
    assert caught.value.data["what"] == "block"
    # The window (states of tip - 3 .. tip, blocks of tip - 5 .. tip; a margin of
    # two for blocks committed meanwhile) and two states kept for good.
    for height in (tip - 1, 10, 20):
        assert pruned.get_balance(BOB, height=height) == archive.get_balance(BOB, height=height)
        assert pruned.get_proof(BOB, height).verify()
    assert pruned.get_block(tip - 3) == archive.get_block(tip - 3)
    refused = _cli(net, 0, "query", "balance", encode_address(BOB), "--height", "2")
    assert refused.returncode == 7, (refused.returncode, refused.stdout, refused.stderr)
    assert "pruned" in refused.stderr and refused.stdout == ""
    answered = _cli(net, 0, "query", "balance", encode_address(BOB), "--height", "20")
    assert answered.returncode == 0, answered.stderr
    return tip


def test_a_pruning_validator_answers_typed_errors_restarts_and_keeps_committing(
    devnet: Devnet,
) -> None:
    rng = random.Random(18)
    hashes = _send_transfers(devnet, 1, 20, rng)
    devnet.wait_height(24, timeout=120)
    hashes += _send_transfers(devnet, 2, 20, rng)
    first_check = _check_queries(devnet)

    devnet.kill(0)
    hashes += _send_transfers(devnet, 1, 10, rng)
    devnet.wait_height(first_check + 3, indexes=[1, 2, 3], timeout=120)
    devnet.start(0)
    target = max(devnet.heights([1, 2, 3])) + 5
    devnet.wait_height(target, timeout=120)  # node 0 caught up, and all keep committing
    for tx_hash in hashes:  # node 0 forgot the old blocks: ask an archive node
        assert devnet.clients[1].wait_for_receipt(tx_hash, timeout=60).status == 0
    assert _check_queries(devnet) >= target
    devnet.assert_same_chain()

    devnet.stop_all()
    _check_store(Path(devnet.nodes[0]["home"]) / "data" / "chain")


def _check_store(path: Path) -> None:
    """What the stopped node's store holds is exactly what its policy keeps."""
    policy = PRUNING.policy()
    store = Store(path)
    try:
        tip = store.load_tip().height
        # The pass after the last commit may not have run before the node stopped.
        assert policy.state_horizon(tip - 1) <= store.state_from() <= policy.state_horizon(tip)
        assert policy.retain_height(tip - 1) <= store.blocks_from() <= policy.retain_height(tip)
        kept = [h for h in range(tip + 1) if store.load_state_root(h) is not None]
        expected = [h for h in range(tip + 1) if h >= store.state_from() or policy.kept_for_good(h)]
        assert kept == expected
        needed: set[bytes] = set()
        for height in kept:
            root = store.load_state_root(height)
            assert root is not None
            needed |= _reachable(store, root)
        stored = _keys(store, b"N")
        assert needed <= stored, "a node of a kept state is missing"
        assert stored - needed <= _keys(store, b"P"), "a node no kept state holds was left"
        first = store.blocks_from()
        assert store.load_block(first) is not None and store.load_block(first - 1) is None
        for prefix in (b"B", b"C", b"R", b"L"):
            heights = {int.from_bytes(key[:8], "big") for key in _keys(store, prefix)}
            assert not heights or min(heights) >= first, prefix
        history = {int.from_bytes(key[20:28], "big") for key in _keys(store, b"I")}
        assert not history or min(history) >= first
        assert store.load_history_start() == first
    finally:
        store.close()


def _reachable(store: Store, root: bytes) -> set[bytes]:
    found: set[bytes] = set()
    pending = [root] if root != EMPTY_ROOT else []
    while pending:
        node = pending.pop()
        if node in found:
            continue
        found.add(node)
        record = store.get_node(node)
        assert record is not None, f"node {node.hex()} of a kept state is missing"
        if record[0] == INTERNAL:
            pending.extend(child for child in child_hashes(record) if child != EMPTY_ROOT)
    return found


def _keys(store: Store, prefix: bytes) -> set[bytes]:
    with store._db.iterator(prefix=prefix, include_value=False) as keys:
        return {key[1:] for key in keys}


def test_an_older_store_format_stops_the_node_with_a_clear_message(tmp_path: Path) -> None:
    net = Devnet(tmp_path / "devnet", validators=1)
    home = Path(net.nodes[0]["home"])
    net.start(0)
    try:
        net.wait_height(1, timeout=60)
    finally:
        net.stop_all()
    store = Store(home / "data" / "chain")
    store._db.put(b"Mformat", b"2")  # what a data directory of the previous version holds
    store.close()
    started = subprocess.run(
        [sys.executable, "-m", "cli.main", "start", "--home", str(home)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1, (started.returncode, started.stderr)
    assert "store format 2" in started.stderr and "format 3" in started.stderr
    assert "Traceback" not in started.stderr
