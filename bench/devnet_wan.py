"""Benchmark: what users see on a wide-area network. Committed transfers per
second and commit latency p50/p99 on a devnet whose validators talk to each
other over links of ``--rtt-ms`` round trip (default 100 ms).

The devnet and the load are bench.devnet_throughput's: ``--validators``
separate node processes with the default consensus settings (what an
operator runs), pre-signed transfers sent in JSON-RPC batches at a fixed
offered rate, each sender always through the same node, every committed
transaction timestamped as node 0 shows its block. Latency is from
submission to that block (the client sits next to its node; the wide area
is between the validators). Two phases: latency at ``--latency-rate`` tx/s
(the p50/p99 reported: what a user sees), then throughput at ``--offered``
tx/s (the headline: transactions committed within that window per second;
the default is bench.devnet_throughput's, so the two compare; offered far
above capacity, mempools fill and refuse, counted in ``rejected``).

Every link between two validators goes through the fault-injecting proxy
of the tests (tests/process/faulty_network.py, docs/adr/0026): half the
round trip each way, ± ``--jitter-ms``, ``--bandwidth-mbit`` each way (0:
unlimited), ``--loss`` (segment loss, seen as retransmission delay).
``--compact on`` sends proposals as transaction hashes (``[p2p]
compact_proposals``, ADR 0027), which matters most on narrow links. The
reference is the same devnet with the same load through the same proxies
at 0 ms, measured first in the same run: the ratio is what the distance
costs.

    python -m bench.devnet_wan [--quick] [--rtt-ms 100] [--bandwidth-mbit B] [--compact on|off]
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.devnet_throughput import (
    bench_genesis,
    drive,
    node_rss_mb,
    set_compact,
    sign_phase,
    summarize,
    wait_ready,
)
from bench.report import emit, log
from cli.node.node_commands import free_local_ports, launch_devnet, prepare_devnet, stop_devnet
from consensus.node.config import encode_config, load_config
from tests.process.faulty_network import FaultyNetwork
from tests.process.link_model import LinkFaults


@dataclass
class Run:
    """One devnet run: its links and what the two phases gave."""

    links: LinkFaults
    latency: dict[str, Any]
    throughput: dict[str, Any]
    rss_mb: list[float]


def route_through(nodes: list[dict[str, Any]], network: FaultyNetwork) -> None:
    """Point every node's persistent peers at its proxies to the others."""
    for index, node in enumerate(nodes):
        path = Path(node["home"]) / "config.toml"
        config = load_config(path)
        peers = network.peers_of(index)
        path.write_text(
            encode_config(replace(config, p2p=replace(config.p2p, persistent_peers=peers)))
        )


def run_devnet(args: argparse.Namespace, links: LinkFaults) -> Run:
    """Start a devnet behind the proxies with ``links``, run both phases, stop it."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-wan-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = free_local_ports(2 * args.validators)
        nodes = prepare_devnet(workdir, args.validators, ports[0], ports[args.validators])
        document, keys = bench_genesis(args.validators, args.senders)
        for node in nodes:
            (Path(node["home"]) / "genesis.json").write_text(json.dumps(document))
            set_compact(Path(node["home"]), args.compact == "on")
        p2p_ports = [int(node["p2p_address"].rsplit(":", 1)[1]) for node in nodes]
        with FaultyNetwork(p2p_ports, links, seed=args.seed) as network:
            route_through(nodes, network)
            processes = launch_devnet(workdir, nodes)
            urls = [node["rpc_url"] for node in nodes]
            asyncio.run(wait_ready(urls, 120))
            nonces = [0] * len(keys)
            chain_id = document["chain_id"]
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
            asyncio.run(drive(urls, [latency, throughput], drain_s=args.drain))
            rss = [round(node_rss_mb(p.pid), 1) for p in processes]
    finally:
        stop_devnet(processes)
        shutil.rmtree(workdir, ignore_errors=True)
    return Run(links, summarize(latency), summarize(throughput), rss)


def describe(run: Run) -> str:
    rtt_ms = run.links.rtt_s * 1000
    latency = run.latency
    return (
        f"{rtt_ms:.0f} ms RTT: {run.throughput['tx_per_s']:,.0f} committed tx/s; latency at "
        f"low load p50 {latency['latency_p50_s']:.2f} s p99 {latency['latency_p99_s']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--rtt-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=5.0, help="± per direction")
    parser.add_argument("--bandwidth-mbit", type=float, default=0.0, help="each way; 0: unlimited")
    parser.add_argument("--loss", type=float, default=0.0, help="segment loss probability")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument(
        "--compact", choices=("on", "off"), default="off", help="[p2p] compact_proposals"
    )
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--offered", type=int, default=2000, help="tx/s in the throughput phase")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--latency-rate", type=int, default=200)
    parser.add_argument("--latency-duration", type=float, default=30.0)
    parser.add_argument("--drain", type=float, default=30.0, help="s to wait for stragglers")
    parser.add_argument("--seed", type=int, default=26)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.latency_duration, args.senders, args.drain = 8.0, 5.0, 500, 10.0
    wide = LinkFaults(
        delay_s=args.rtt_ms / 2000,
        jitter_s=args.jitter_ms / 1000,
        bandwidth_bps=int(args.bandwidth_mbit * 1_000_000),
        loss=args.loss,
    )
    local = LinkFaults(bandwidth_bps=wide.bandwidth_bps)
    log("reference: the same devnet through the same proxies at 0 ms ...")
    reference = run_devnet(args, local)
    log(f"  {describe(reference)}")
    log(f"the devnet at {args.rtt_ms:.0f} ms round trip ...")
    result = run_devnet(args, wide)
    log(f"  {describe(result)}")
    rss = result.rss_mb + reference.rss_mb
    emit(
        "devnet_wan",
        result.throughput["tx_per_s"],
        "tx/s",
        {
            "name": "devnet_throughput_at_0ms_rtt",
            "value": round(reference.throughput["tx_per_s"], 1),
            "unit": "tx/s",
        },
        {
            "validators": args.validators,
            "rtt_ms": args.rtt_ms,
            "jitter_ms": args.jitter_ms,
            "bandwidth_mbit": args.bandwidth_mbit,
            "loss": args.loss,
            "compact_proposals": args.compact == "on",
            "duration_s": args.duration,
            "offered_tx_s": args.offered,
            "latency_rate_tx_s": args.latency_rate,
            "latency_duration_s": args.latency_duration,
            "senders": args.senders,
            "consensus": "defaults",
            "quick": args.quick,
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        {
            "latency_p50_s": round(result.latency["latency_p50_s"], 3),
            "latency_p99_s": round(result.latency["latency_p99_s"], 3),
            "throughput_phase_latency_p50_s": round(result.throughput["latency_p50_s"], 3),
            "throughput_phase_latency_p99_s": round(result.throughput["latency_p99_s"], 3),
            "reference_latency_p50_s": round(reference.latency["latency_p50_s"], 3),
            "reference_latency_p99_s": round(reference.latency["latency_p99_s"], 3),
            "committed": result.throughput["committed"],
            "offered": result.throughput["offered"],
            "rejected": result.throughput["rejected"],
            "latency_phase_rejected": result.latency["rejected"],
            "rss_mb_max": max(rss) if rss else None,
        },
    )


if __name__ == "__main__":
    main()
