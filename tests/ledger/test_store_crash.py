"""Atomicity and durability: SIGKILL a writer at chosen moments; the store
always reopens at a fully committed block, with a state that matches its
root, and never before the last block the writer acknowledged."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Crash:
    """One SIGKILLed writer: the highest block it had started to commit and
    the highest it had acknowledged (both the previous tip if none), and the
    tip the store reopened at."""

    started: int
    acknowledged: int
    tip: int


def _crash_writer(home: Path, line: str, count: int, previous_tip: int) -> Crash:
    """Start a writer, SIGKILL it right after its ``count``-th ``line`` line
    (``commit``: as it writes a block; ``done``: just after a block is
    acknowledged), and check the store it leaves."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger.store_crash_writer", str(home)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == b"ready"
    seen: list[bytes] = []
    while sum(1 for text in seen if text.startswith(line.encode())) < count:
        text = writer.stdout.readline()
        assert text, "the writer stopped by itself"
        seen.append(text)
    writer.send_signal(signal.SIGKILL)
    seen += writer.stdout.read().split(b"\n")[:-1]  # the last line may be cut
    writer.wait(timeout=30)
    writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL, "the writer was not killed"
    heights = {b"commit": [previous_tip], b"done": [previous_tip]}
    for text in seen:
        kind, height = text.split()
        heights[kind].append(int(height))
    return Crash(max(heights[b"commit"]), max(heights[b"done"]), _check_store(home))


KILLS = 12
MAX_KILLS = 40


def test_sigkill_at_random_moments_never_leaves_a_partial_block_nor_loses_one(
    tmp_path: Path,
) -> None:
    """Kill the writer just after it acknowledged a block or just as it starts
    writing one, a seeded number of blocks in. The store reopens at a whole
    block: never before the last acknowledged one, never past the last one
    started. At least one kill must land inside a commit (started, not yet
    acknowledged); until one has, more kills follow (at most MAX_KILLS)."""
    rng = random.Random(20261121)
    home = tmp_path / "store"
    crashes: list[Crash] = []
    while len(crashes) < KILLS or not any(c.started > c.acknowledged for c in crashes):
        assert len(crashes) < MAX_KILLS, "no kill landed inside a commit"
        line = "done" if len(crashes) % 2 == 0 else "commit"
        previous_tip = crashes[-1].tip if crashes else 0
        crash = _crash_writer(home, line, rng.randint(1, 4), previous_tip)
        assert crash.tip >= crash.acknowledged, f"acknowledged block lost: {crash}"
        assert crash.tip <= crash.started, f"a block that was never written: {crash}"
        crashes.append(crash)
    tips = [c.tip for c in crashes]
    assert tips == sorted(tips)
    assert tips[-1] >= KILLS // 2, "the writer committed fewer blocks than it acknowledged"
