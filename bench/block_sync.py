"""Benchmark: transactions per second replayed by a node catching up by block sync.

A devnet of ``--validators`` node processes commits ``--txs`` pre-signed
transfers (submitted as in bench.devnet_throughput). Then a fresh full node
(no validator key) with the same genesis joins with the validators as
peers and catches up: it fetches every block with its certificate, checks
the certificate, verifies every signature (none are in its mempool),
executes and commits. The headline is the transactions it replayed per
second, timed from its first synced block to the tip; the reference is
bench.apply_block's figure in the same run (one core applying blocks with
no network), so the ratio is the cost of sync over bare execution.

    python -m bench.block_sync [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.apply_block import run_case
from bench.devnet_throughput import bench_genesis, drive, node_rss_mb, rpc, sign_phase, wait_ready
from bench.report import emit, log
from cli.node.node_commands import free_local_ports, launch_devnet, prepare_devnet, stop_devnet
from consensus.node.config import NodeConfig, P2PConfig, RPCConfig, encode_config, save_key_file
from ledger.crypto import SigningKey


def add_full_node(workdir: Path, peers: list[str], genesis: dict[str, object]) -> dict[str, str]:
    """A home for a node that follows the chain without a validator key."""
    home = workdir / "follower"
    (home / "data").mkdir(parents=True)
    p2p_port, rpc_port = free_local_ports(2)
    config = NodeConfig(
        moniker="follower",
        p2p=P2PConfig(listen_port=p2p_port, persistent_peers=tuple(peers)),
        rpc=RPCConfig(listen_port=rpc_port),
    )
    (home / "config.toml").write_text(encode_config(config))
    (home / "genesis.json").write_text(json.dumps(genesis))
    save_key_file(home / "node_key.json", SigningKey.generate())
    return {"name": "follower", "home": str(home), "rpc_url": f"http://127.0.0.1:{rpc_port}"}


async def count_txs(url: str, first: int, last: int) -> int:
    async with aiohttp.ClientSession() as session:
        total = 0
        for height in range(first, last + 1):
            block = await rpc(session, url, "ledger_getBlockByNumber", [height, False])
            total += len(block["transactions"])
        return total


async def follow(url: str, target: int, timeout: float) -> tuple[float, float, int]:
    """Poll the follower: times of its first synced block and of reaching the
    target, and its first observed height."""
    deadline = time.monotonic() + timeout
    first_at = first_height = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            try:
                height = await rpc(session, url, "ledger_blockNumber", [])
            except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError):
                await asyncio.sleep(0.05)
                continue
            now = time.monotonic()
            if height > 0 and first_at is None:
                first_at, first_height = now, height
            if height >= target:
                assert first_at is not None and first_height is not None
                return first_at, now, first_height
            await asyncio.sleep(0.02)
    raise RuntimeError(f"the follower did not reach height {target} in {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--txs", type=int, default=60_000)
    parser.add_argument("--rate", type=int, default=1500, help="offered tx/s while building")
    parser.add_argument("--senders", type=int, default=2000)
    args = parser.parse_args()
    if args.quick:
        args.txs, args.senders = 12_000, 500
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    log("reference: bench.apply_block on one core, same run ...")
    reference = run_case(20_000, 2, 2_000, workdir / "apply", seed=1)["tx_per_s"]
    log(f"reference: {reference:,.0f} tx/s")
    processes: list[subprocess.Popen[bytes]] = []
    follower: list[subprocess.Popen[bytes]] = []
    try:
        ports = free_local_ports(2 * args.validators)
        nodes = prepare_devnet(workdir, args.validators, ports[0], ports[args.validators])
        document, keys = bench_genesis(args.validators, args.senders)
        for node in nodes:
            (Path(node["home"]) / "genesis.json").write_text(json.dumps(document))
        processes = launch_devnet(workdir, nodes)
        urls = [node["rpc_url"] for node in nodes]
        asyncio.run(wait_ready(urls, 60))
        phase = sign_phase(
            "build",
            keys,
            [0] * len(keys),
            args.rate,
            args.txs / args.rate,
            args.validators,
            document["chain_id"],
        )
        asyncio.run(drive(urls, [phase], drain_s=60.0))
        target = asyncio.run(_height(urls[0]))
        log(f"chain built: height {target}, {len(phase.committed_at)} transfers committed")
        peers = [node["p2p_address"] for node in nodes]
        follower_node = add_full_node(workdir, peers, document)
        follower = launch_devnet(workdir, [follower_node])
        first_at, done_at, first_height = asyncio.run(follow(follower_node["rpc_url"], target, 600))
        replayed = asyncio.run(count_txs(urls[0], first_height + 1, target))
        rss = node_rss_mb(follower[0].pid)
    finally:
        stop_devnet(follower + processes)
        shutil.rmtree(workdir, ignore_errors=True)
    seconds = max(done_at - first_at, 1e-9)
    rate = replayed / seconds
    log(
        f"result: {replayed} transactions in {target - first_height} blocks replayed in "
        f"{seconds:.1f} s: {rate:,.0f} tx/s (apply_block reference {reference:,.0f} tx/s)"
    )
    emit(
        "block_sync",
        rate,
        "tx/s",
        {"name": "apply_block", "value": round(reference, 1), "unit": "tx/s"},
        {
            "validators": args.validators,
            "txs": args.txs,
            "build_rate_tx_s": args.rate,
            "senders": args.senders,
            "quick": args.quick,
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        {
            "blocks_replayed": target - first_height,
            "txs_replayed": replayed,
            "seconds": round(seconds, 2),
            "follower_rss_mb": round(rss, 1),
        },
    )


async def _height(url: str) -> int:
    async with aiohttp.ClientSession() as session:
        height: int = await rpc(session, url, "ledger_blockNumber", [])
        return height


if __name__ == "__main__":
    main()
