"""Benchmark: committed transfers per second on a devnet of node processes,
and commit latency under a fixed offered load.

A devnet of ``--validators`` separate node processes runs on 127.0.0.1 with
the default consensus settings and a genesis that funds ``--senders`` bench
accounts. Every transaction is signed before its timed window. The load
generator submits them in JSON-RPC batches (``ledger_sendRawTransaction``,
100 per batch) at a fixed offered rate, each sender always through the same
node (so its nonces come from one mempool), spread over all nodes. A
watcher follows node 0's blocks and timestamps each committed transaction.

Two phases: latency at ``--latency-rate`` tx/s (p50/p99 from submission to
the block being visible over RPC), then throughput at ``--offered`` tx/s
for ``--duration`` seconds (committed transactions per second within the
window). The reference is the signature-bound limit: raw secp256k1
verifications per second on one core, times the cores, divided by the
validators (every node verifies every transaction once).

Proposals travel whole, or with ``--compact on`` as their transactions'
hashes (``[p2p] compact_proposals``, ADR 0027); the bytes the nodes sent
for proposals (broadcasts, re-gossip, fetches served) per proposal made
are read from the traffic line each node logs when it stops.

    python -m bench.devnet_throughput [--quick] [--compact on|off]

``--profile-node I --profile-out FILE`` samples node I with py-spy
(``pip install -e '.[profile]'``) for the whole throughput window, in
py-spy's raw (collapsed-stack) format (py-spy 0.3.14 cannot read some
processes' memory layouts here; then the next node it can read is taken,
and the log says which); ``python -m bench.profile_shares
FILE`` turns that into the table of where the node's CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench.report import emit, log, secp256k1_verify_per_core
from cli.node.node_commands import free_local_ports, launch_devnet, prepare_devnet, stop_devnet
from consensus.node.config import encode_config, load_config
from ledger.address import address_of, encode_address
from ledger.client.devnet import devnet_genesis_document, insecure_key
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.types import NATIVE_ASSET, Transaction

BATCH = 100
TICK_S = 0.05
FEE = 1000


@dataclass
class Phase:
    """One timed window of offered load and what came of it."""

    name: str
    rate: int
    duration: float
    raw: list[tuple[int, str]]  # (node index, hex tx) in submission order
    hashes: list[str]
    submitted_at: dict[str, float] = field(default_factory=dict)
    committed_at: dict[str, float] = field(default_factory=dict)
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0


def bench_genesis(validators: int, senders: int) -> tuple[dict[str, Any], list[SigningKey]]:
    """The devnet genesis with ``senders`` funded bench accounts instead of the test accounts."""
    document = devnet_genesis_document(validators)
    keys = [insecure_key(f"bench/{i}") for i in range(senders)]
    document["accounts"] = [
        {
            "name": f"bench-{i}",
            "address": encode_address(address_of(key.public_key)),
            "balances": {"coin": str(10**24)},
        }
        for i, key in enumerate(keys)
    ]
    return document, keys


def sign_phase(
    name: str,
    keys: list[SigningKey],
    nonces: list[int],
    rate: int,
    duration: float,
    nodes: int,
    chain_id: str,
) -> Phase:
    """Pre-sign ``rate * duration`` transfers round-robin over the senders."""
    count = int(rate * duration)
    raw: list[tuple[int, str]] = []
    hashes: list[str] = []
    for i in range(count):
        sender = i % len(keys)
        key = keys[sender]
        recipient = address_of(keys[(sender + 1) % len(keys)].public_key)
        body = Transfer(NATIVE_ASSET, 1 + i % 1000, recipient)
        tx = Transaction(chain_id, key.public_key, nonces[sender], FEE, body).signed(key)
        nonces[sender] += 1
        raw.append((sender % nodes, tx.encode().hex()))
        hashes.append(tx.hash.hex())
    return Phase(name, rate, duration, raw, hashes)


async def rpc(session: aiohttp.ClientSession, url: str, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    async with session.post(url, json=body) as response:
        reply = await response.json()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


async def submit(phase: Phase, urls: list[str], session: aiohttp.ClientSession) -> None:
    """Send the phase's transactions at its rate: every tick, each node's share
    goes into that node's queue, which one worker per node sends in order
    (a sender's nonces should arrive in order: a nonce beyond a gap waits in
    the mempool's queue, and one more than 64 beyond is refused)."""
    per_tick = max(1, round(phase.rate * TICK_S))
    loop = asyncio.get_running_loop()
    queues: list[asyncio.Queue[list[tuple[int, str]] | None]] = [asyncio.Queue() for _ in urls]
    workers = [
        loop.create_task(node_worker(phase, url, queue, session))
        for url, queue in zip(urls, queues, strict=True)
    ]
    next_at = loop.time()
    phase.start = time.monotonic()
    for offset in range(0, len(phase.raw), per_tick):
        by_node: dict[int, list[tuple[int, str]]] = {}
        for index in range(offset, min(offset + per_tick, len(phase.raw))):
            node, raw = phase.raw[index]
            by_node.setdefault(node, []).append((index, raw))
        for node, items in by_node.items():
            for start in range(0, len(items), BATCH):
                queues[node].put_nowait(items[start : start + BATCH])
        next_at += TICK_S
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    phase.end = time.monotonic()
    for queue in queues:
        queue.put_nowait(None)
    await asyncio.gather(*workers)


async def node_worker(
    phase: Phase,
    url: str,
    queue: asyncio.Queue[list[tuple[int, str]] | None],
    session: aiohttp.ClientSession,
) -> None:
    while (items := await queue.get()) is not None:
        await send_batch(phase, url, items, session)


async def send_batch(
    phase: Phase, url: str, items: list[tuple[int, str]], session: aiohttp.ClientSession
) -> None:
    body = [
        {"jsonrpc": "2.0", "id": index, "method": "ledger_sendRawTransaction", "params": [raw]}
        for index, raw in items
    ]
    now = time.monotonic()
    for index, _ in items:
        phase.submitted_at[phase.hashes[index]] = now
    async with session.post(url, json=body) as response:
        replies = await response.json()
    for reply in replies:
        if "error" in reply:
            phase.rejected += 1
            reason = str(reply["error"].get("message", "?"))[:80]
            phase.reasons[reason] = phase.reasons.get(reason, 0) + 1


async def watch(
    phases: list[Phase], url: str, session: aiohttp.ClientSession, stop: asyncio.Event
) -> None:
    """Timestamp every committed transaction of the phases (node 0's view)."""
    wanted = {h: phase for phase in phases for h in phase.hashes}
    height = await rpc(session, url, "ledger_blockNumber", [])
    while not stop.is_set():
        tip = await rpc(session, url, "ledger_blockNumber", [])
        while height < tip:
            height += 1
            block = await rpc(session, url, "ledger_getBlockByNumber", [height, False])
            now = time.monotonic()
            for tx_hash in block.get("transactions", []):
                phase = wanted.get(tx_hash)
                if phase is not None:
                    phase.committed_at[tx_hash] = now
        await asyncio.sleep(0.02)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarize(phase: Phase) -> dict[str, Any]:
    latencies = [
        phase.committed_at[h] - phase.submitted_at[h]
        for h in phase.hashes
        if h in phase.committed_at and h in phase.submitted_at
    ]
    in_window = sum(1 for t in phase.committed_at.values() if phase.start <= t <= phase.end)
    return {
        "committed": len(phase.committed_at),
        "offered": len(phase.hashes),
        "rejected": phase.rejected,
        "reasons": dict(phase.reasons),
        "tx_per_s": in_window / max(phase.end - phase.start, 1e-9),
        "latency_p50_s": percentile(latencies, 0.50),
        "latency_p99_s": percentile(latencies, 0.99),
    }


def node_rss_mb(pid: int) -> float:
    """Peak resident set size of a process (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def py_spy_program() -> str:
    """The venv's py-spy (from the ``profile`` extra), else the one on PATH."""
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"


def py_spy_command(pid: int, duration: float, out: Path) -> list[str]:
    """py-spy sampling ``pid`` for ``duration`` seconds at 100 Hz, without
    pausing it (--nonblocking), into ``out`` as collapsed stacks."""
    return [
        py_spy_program(),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(duration))),
        "--rate",
        "100",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
    ]


def readable_by_py_spy(pid: int) -> bool:
    """Whether py-spy can read this process (``py-spy dump`` succeeds)."""
    command = [py_spy_program(), "dump", "--pid", str(pid)]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def pick_profiled(processes: list[subprocess.Popen[bytes]], first: int) -> int:
    """The first node from ``first`` on (wrapping) that py-spy can read."""
    for offset in range(len(processes)):
        index = (first + offset) % len(processes)
        if readable_by_py_spy(processes[index].pid):
            return index
    raise RuntimeError("py-spy can read none of the node processes")


async def drive(
    urls: list[str],
    phases: list[Phase],
    drain_s: float,
    profile: tuple[int, Path] | None = None,
) -> None:
    """Run the phases in order; with ``profile`` (pid, file), py-spy samples
    that process during the throughput phase."""
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        stop = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(watch(phases, urls[0], session, stop))
        for phase in phases:
            log(f"phase {phase.name}: {phase.rate} tx/s offered for {phase.duration:.0f} s")
            spy = None
            if profile is not None and phase.name == "throughput":
                command = py_spy_command(profile[0], phase.duration, profile[1])
                spy = await asyncio.create_subprocess_exec(*command)
            await submit(phase, urls, session)
            if spy is not None and await spy.wait() != 0:
                raise RuntimeError(f"py-spy failed ({' '.join(command)})")
            deadline = time.monotonic() + drain_s
            while len(phase.committed_at) < len(phase.hashes) - phase.rejected:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            log(f"  {json.dumps(summarize(phase))}")
        stop.set()
        await watcher


async def wait_ready(urls: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while True:
            try:
                heights = [await rpc(session, url, "ledger_blockNumber", []) for url in urls]
                if min(heights) >= 1:
                    return
            except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the devnet did not start")
            await asyncio.sleep(0.25)


def set_compact(home: Path, compact: bool) -> None:
    """Write ``[p2p] compact_proposals`` into a node's config."""
    path = home / "config.toml"
    config = load_config(path)
    p2p = replace(config.p2p, compact_proposals=compact)
    path.write_text(encode_config(replace(config, p2p=p2p)))


TRAFFIC = re.compile(r"proposal traffic: (\{.*\})")
PROPOSING = re.compile(r"round=\d+ proposing a block")


def proposal_traffic(homes: list[Path]) -> dict[str, Any]:
    """The nodes' proposal traffic (summed from the line each logs at stop)
    and the bytes sent for proposals per proposal made."""
    totals: dict[str, int] = {}
    proposals = 0
    for home in homes:
        text = (home / "node.log").read_text(errors="replace")
        proposals += len(PROPOSING.findall(text))
        for found in TRAFFIC.findall(text)[-1:]:
            for key, value in json.loads(found).items():
                totals[key] = totals.get(key, 0) + value
    sent = totals.get("proposal_bytes", 0) + totals.get("served_bytes", 0)
    return {
        **totals,
        "proposals_made": proposals,
        "bytes_per_proposal": round(sent / proposals) if proposals else None,
        "broadcast_bytes_per_proposal": (
            round(totals.get("proposal_bytes", 0) / proposals) if proposals else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--offered", type=int, default=2000, help="tx/s in the throughput phase")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--latency-rate", type=int, default=200)
    parser.add_argument("--latency-duration", type=float, default=30.0)
    parser.add_argument(
        "--profile-node", type=int, default=None, help="sample this node with py-spy"
    )
    parser.add_argument(
        "--profile-out", type=Path, default=Path("devnet-profile.txt"), help="py-spy's output"
    )
    parser.add_argument(
        "--compact", choices=("on", "off"), default="off", help="[p2p] compact_proposals"
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.latency_duration, args.senders = 15.0, 8.0, 500
    reference_per_core = secp256k1_verify_per_core()
    cores = os.cpu_count() or 1
    reference = reference_per_core * cores / args.validators
    log(f"reference: {reference_per_core:,.0f} verify/s per core x {cores} / {args.validators}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-devnet-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = free_local_ports(2 * args.validators)
        nodes = prepare_devnet(workdir, args.validators, ports[0], ports[args.validators])
        document, keys = bench_genesis(args.validators, args.senders)
        for node in nodes:
            (Path(node["home"]) / "genesis.json").write_text(json.dumps(document))
            set_compact(Path(node["home"]), args.compact == "on")
        processes = launch_devnet(workdir, nodes)
        urls = [node["rpc_url"] for node in nodes]
        asyncio.run(wait_ready(urls, 60))
        nonces = [0] * len(keys)
        chain_id = document["chain_id"]
        log("signing ...")
        latency = sign_phase(
            "latency",
            keys,
            nonces,
            args.latency_rate,
            args.latency_duration,
            args.validators,
            chain_id,
        )
        throughput = sign_phase(
            "throughput", keys, nonces, args.offered, args.duration, args.validators, chain_id
        )
        profile = None
        if args.profile_node is not None:
            index = pick_profiled(processes, args.profile_node)
            log(f"profiling node {index} (pid {processes[index].pid}) into {args.profile_out}")
            profile = (processes[index].pid, args.profile_out)
        asyncio.run(drive(urls, [latency, throughput], drain_s=30.0, profile=profile))
        rss = [round(node_rss_mb(p.pid), 1) for p in processes]
    finally:
        stop_devnet(processes)
        traffic = proposal_traffic([workdir / f"val-{i}" for i in range(args.validators)])
        shutil.rmtree(workdir, ignore_errors=True)
    low, high = summarize(latency), summarize(throughput)
    log(
        f"result: {high['tx_per_s']:,.0f} committed tx/s at {args.offered} offered; "
        f"latency at {args.latency_rate} tx/s p50 {low['latency_p50_s']:.2f} s "
        f"p99 {low['latency_p99_s']:.2f} s; RSS per node {rss} MiB; "
        f"compact {args.compact}: {traffic['bytes_per_proposal']} bytes sent per proposal"
    )
    log(f"proposal traffic: {json.dumps(traffic)}")
    emit(
        "devnet_throughput",
        high["tx_per_s"],
        "tx/s",
        {
            "name": "secp256k1_verify_per_core_x_cores_per_validator",
            "value": round(reference, 1),
            "unit": "verify/s",
        },
        {
            "validators": args.validators,
            "duration_s": args.duration,
            "offered_tx_s": args.offered,
            "latency_rate_tx_s": args.latency_rate,
            "latency_duration_s": args.latency_duration,
            "senders": args.senders,
            "compact_proposals": args.compact == "on",
            "batch": BATCH,
            "quick": args.quick,
            "cores": cores,
            "python": sys.version.split()[0],
        },
        {
            "latency_p50_s": round(low["latency_p50_s"], 3),
            "latency_p99_s": round(low["latency_p99_s"], 3),
            "throughput_phase_latency_p50_s": round(high["latency_p50_s"], 3),
            "throughput_phase_latency_p99_s": round(high["latency_p99_s"], 3),
            "committed": high["committed"],
            "offered": high["offered"],
            "rejected": high["rejected"],
            "latency_phase_rejected": low["rejected"],
            "rss_mb_per_node": rss,
            "rss_mb_max": max(rss) if rss else None,
            "proposal_bytes_per_proposal": traffic["bytes_per_proposal"],
            "proposal_broadcast_bytes_per_proposal": traffic["broadcast_bytes_per_proposal"],
            "proposal_traffic": traffic,
        },
    )


if __name__ == "__main__":
    main()
