"""Atomicity: SIGKILL a writer at random moments; the store always reopens
at the last fully committed block with a state that matches its root."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger.state import tree_changes
from ledger.state_tree import MemoryNodeStore, StateTree
from ledger.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _check_store(path: Path) -> int:
    with Store(path) as store:
        tip = store.load_tip()
        if tip.height > 0:
            block = store.load_block(tip.height)
            assert block is not None, "tip points at a missing block"
            assert block.hash == tip.block_hash
            assert block.header.state_root == tip.state_root
            for index in range(len(block.transactions)):
                assert store.load_receipt(tip.height, index) is not None
        assert store.load_block(tip.height + 1) is None, "a block beyond the tip was stored"
        flat = dict(store.iter_state())
        rebuilt = StateTree(MemoryNodeStore()).update(tree_changes(flat)).root
        assert rebuilt == tip.state_root, "flat state does not match the tip's state root"
        stored_tree = StateTree(store, tip.state_root)
        for key, value in list(flat.items())[:20]:
            assert stored_tree.get(tree_changes({key: value}).popitem()[0]) == value
        return tip.height


def test_sigkill_at_random_moments_never_leaves_a_partial_block(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    home = tmp_path / "store"
    heights = []
    deadline = time.monotonic() + 60
    for _ in range(12):
        if time.monotonic() > deadline:
            break
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.ledger.store_crash_writer", str(home)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        writer.stdout.close()
        heights.append(_check_store(home))
    assert len(heights) >= 5
    assert heights == sorted(heights), "a restart lost committed blocks"
    assert heights[-1] > 0, "the writer never committed a block"
