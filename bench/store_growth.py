"""Benchmark: store bytes per block under sustained load, with and without pruning.

One chain builds and commits blocks of signed transfers among a fixed set
of accounts (the state does not grow: every transfer changes balances of
existing accounts) on an archive store; a second chain replays the same
blocks on a store that prunes (``POLICY``: the states of the last 8
heights, the blocks of the last 16). Every ``WINDOW`` blocks both stores
are compacted until their size stops shrinking (``settled_bytes``:
LevelDB drops deleted records only when it compacts, which it does in the
background on its own schedule, and one manual compaction can leave
overlapping tables side by side) and their size on disk is recorded.

The headline is the pruned store's growth in bytes per block from the
checkpoint at twice the retain window (the window full and turned over
once) to the last: the target is ~0 (a
flat size once past the window, issue 18). The reference is the archive
store's growth over the same blocks, measured in the same run, so the
ratio says what share of the archive's growth pruning leaves.

    python -m bench.store_growth [--quick]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.apply_block import make_genesis
from bench.report import emit, log, rss_mb
from ledger import crypto
from ledger.address import address_of
from ledger.chain import Chain
from ledger.features.bank.bodies import Transfer
from ledger.pruning import PruningPolicy
from ledger.types import NATIVE_ASSET, Transaction, decode_block

CHAIN_ID = "bench-chain"
FEE = 1
WINDOW: Final = 16  # blocks between checkpoints, and the retain window
POLICY: Final = PruningPolicy(keep_recent=8, retain_blocks=WINDOW)
MIB: Final = 1024 * 1024


def transfers(
    senders: list[crypto.SigningKey],
    nonces: list[int],
    recipients: list[bytes],
    count: int,
    rng: random.Random,
) -> list[Transaction]:
    """``count`` signed transfers from random senders to random accounts."""
    txs = []
    for _ in range(count):
        i = rng.randrange(len(senders))
        body = Transfer(NATIVE_ASSET, rng.randrange(1, 1000), rng.choice(recipients))
        txs.append(
            Transaction(CHAIN_ID, senders[i].public_key, nonces[i], FEE, body).signed(senders[i])
        )
        nonces[i] += 1
    return txs


def settled_bytes(chain: Chain, rounds: int = 4) -> int:
    """The store's size on disk once compacting no longer shrinks it (at most ``rounds``)."""
    size = chain.store.disk_bytes()
    for _ in range(rounds):
        chain.store.compact()
        compacted = chain.store.disk_bytes()
        if compacted >= size:
            return compacted
        size = compacted
    return size


@dataclass(frozen=True)
class Growth:
    """Sizes on disk: (height, archive bytes, pruned bytes) at each compacted
    checkpoint, and (archive, pruned) bytes after every block, uncompacted."""

    checkpoints: list[tuple[int, int, int]]
    uncompacted: list[tuple[int, int]]
    pruned_tx_per_s: float  # the pruning chain's replay, pruning passes included


def run(accounts: int, blocks: int, per_block: int, seed: int, workdir: Path) -> Growth:
    """Commit ``blocks`` blocks on an archive and on a pruning store; sizes at checkpoints."""
    rng = random.Random(seed)
    senders = [crypto.SigningKey(crypto.sha256(b"sender %d" % i)) for i in range(2_000)]
    genesis = make_genesis(accounts, senders)
    recipients = [a.address for a in genesis.accounts]
    log(f"  {accounts:,} accounts: writing genesis twice ...")
    archive = Chain.open(workdir / "archive", genesis)
    pruned = Chain.open(workdir / "pruned", genesis, POLICY)
    nonces = [0] * len(senders)
    proposer = address_of(senders[0].public_key)
    checkpoints: list[tuple[int, int, int]] = []  # (height, archive bytes, pruned bytes)
    uncompacted: list[tuple[int, int]] = []
    pruned_seconds = 0.0
    try:
        checkpoints.append((0, settled_bytes(archive), settled_bytes(pruned)))
        for _ in range(blocks):
            txs = transfers(senders, nonces, recipients, per_block, rng)
            block, result, skipped = archive.build_block(txs, proposer, archive.tip.time_ms + 1)
            assert not skipped
            archive.commit_block(block, result)
            start = time.perf_counter()
            replayed = decode_block(block.encode())
            pruned.commit_block(replayed, pruned.execute_block(replayed))
            pruned_seconds += time.perf_counter() - start
            height = block.height
            uncompacted.append((archive.store.disk_bytes(), pruned.store.disk_bytes()))
            if height % WINDOW == 0:
                checkpoints.append((height, settled_bytes(archive), settled_bytes(pruned)))
                log(
                    f"    block {height}: archive {checkpoints[-1][1] / MIB:,.1f} MiB, "
                    f"pruned {checkpoints[-1][2] / MIB:,.1f} MiB (compacted)"
                )
    finally:
        archive.close()
        pruned.close()
    return Growth(checkpoints, uncompacted, blocks * per_block / pruned_seconds)


def growth_per_block(checkpoints: list[tuple[int, int, int]], column: int) -> float:
    """Bytes per block from the checkpoint at twice the retain window to the last."""
    first = next(point for point in checkpoints if point[0] >= 2 * WINDOW)
    last = checkpoints[-1]
    return (last[column] - first[column]) / (last[0] - first[0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    accounts = 10_000 if args.quick else 100_000
    per_block = 500 if args.quick else 2_000
    blocks = 4 * WINDOW if args.quick else 8 * WINDOW
    log(f"store_growth: {blocks} blocks of {per_block} transfers among {accounts:,} accounts")
    workdir = Path(tempfile.mkdtemp(prefix="bench-store-growth-"))
    try:
        measured = run(accounts, blocks, per_block, args.seed, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    checkpoints, uncompacted = measured.checkpoints, measured.uncompacted
    pruned_growth = growth_per_block(checkpoints, 2)
    archive_growth = growth_per_block(checkpoints, 1)
    log(
        f"result: past the window the pruned store grows {pruned_growth:,.0f} bytes per block, "
        f"the archive {archive_growth:,.0f}; final {checkpoints[-1][2] / MIB:,.1f} MiB pruned, "
        f"{checkpoints[-1][1] / MIB:,.1f} MiB archive"
    )
    emit(
        "store_growth",
        pruned_growth,
        "bytes/block",
        {"name": "archive_store_growth", "value": round(archive_growth, 1), "unit": "bytes/block"},
        {
            "accounts": accounts,
            "blocks": blocks,
            "txs_per_block": per_block,
            "keep_recent": POLICY.keep_recent,
            "retain_blocks": POLICY.retain_blocks,
            "checkpoint_every": WINDOW,
            "seed": args.seed,
            "quick": args.quick,
        },
        {
            "pruned_mib_at_checkpoints": [round(p[2] / MIB, 2) for p in checkpoints],
            "archive_mib_at_checkpoints": [round(p[1] / MIB, 2) for p in checkpoints],
            "checkpoint_heights": [p[0] for p in checkpoints],
            "pruned_mib_uncompacted_max": round(max(p for _, p in uncompacted) / MIB, 2),
            "archive_mib_uncompacted_last": round(uncompacted[-1][0] / MIB, 2),
            "pruned_replay_tx_per_s": round(measured.pruned_tx_per_s, 1),
            "rss_mb_max": round(rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()
