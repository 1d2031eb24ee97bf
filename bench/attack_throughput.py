"""Benchmark: committed transfers per second on a devnet while hostile peers
attack it, against the same load without an attack (issue 14 section 10).

The devnet and the load are those of bench.devnet_throughput (separate node
processes on 127.0.0.1, pre-signed transfers offered at a fixed rate over
JSON-RPC). One phase runs without an attack, then one phase per attack,
each with the attack running for the whole window and until the phase's
transactions are committed (so no phase inherits another's backlog), from
tests/process/hostile_peer.py (the real p2p protocol, fresh keys):

- ``empty_maps``: 4 MiB frames of empty maps, one per fresh key, round-robin
  on every node, as fast as the nodes cut them off;
- ``slots``: 70 throwaway keys and 12 stalled handshakes held on every node;
- ``threshold_flood``: 1 MiB threshold envelopes, streamed to every node;
- ``fake_height``: ``["status", 2^63-1]`` from a new key every 50 ms.

Headline: committed tx/s under the attack that hurts most; the reference
is committed tx/s without an attack, so ``ratio`` is the worst attack's
ratio. ``extra`` has every phase's figure and ratio and the nodes' peak
memory.

    python -m bench.attack_throughput [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench.devnet_throughput import (
    Phase,
    bench_genesis,
    node_rss_mb,
    sign_phase,
    submit,
    summarize,
    wait_ready,
    watch,
)
from bench.report import emit, log
from cli.node.node_commands import free_local_ports, launch_devnet, prepare_devnet, stop_devnet
from consensus.node.blocksync import MAX_HEIGHT, StatusMessage, encode_sync_message
from consensus.node.p2p import BLOCKSYNC_CHANNEL, CONSENSUS_CHANNEL, THRESHOLD_CHANNEL
from consensus.node.p2p_handshake import HandshakeError
from consensus.node.threshold.runs import DKG_PACKAGE
from consensus.node.threshold.service import sign_envelope
from ledger.crypto import SigningKey
from tests.process.hostile_peer import empty_maps_frame, hostile_peer

Attack = Callable[[list[int], str, asyncio.Event], Awaitable[None]]
REFUSALS = (HandshakeError, aiohttp.ClientError, TimeoutError, ConnectionError)


async def empty_maps(ports: list[int], chain_id: str, stop: asyncio.Event) -> None:
    frame = empty_maps_frame(CONSENSUS_CHANNEL)
    async with aiohttp.ClientSession() as client:
        turn = 0
        while not stop.is_set():
            port = ports[turn % len(ports)]
            turn += 1
            with contextlib.suppress(*REFUSALS):
                async with hostile_peer(port, SigningKey.generate(), chain_id, client) as peer:
                    await peer.send_frame(frame)
                    await peer.cut_off(5)


async def slots(ports: list[int], chain_id: str, stop: asyncio.Event) -> None:
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(aiohttp.ClientSession())
        for port in ports:
            for _ in range(12):
                with contextlib.suppress(*REFUSALS):
                    await stack.enter_async_context(
                        await client.ws_connect(f"ws://127.0.0.1:{port}/p2p")
                    )
            for _ in range(70):
                with contextlib.suppress(*REFUSALS):
                    await stack.enter_async_context(
                        hostile_peer(port, SigningKey.generate(), chain_id, client)
                    )
        await stop.wait()


async def threshold_flood(ports: list[int], chain_id: str, stop: asyncio.Event) -> None:
    body = os.urandom(1024 * 1024)
    key = SigningKey.generate()
    async with aiohttp.ClientSession() as client:
        streams = [hostile_peer(port, key, chain_id, client) for port in ports]
        peers = [await stream.__aenter__() for stream in streams]
        try:
            sent = 0
            while not stop.is_set():
                envelope = sign_envelope(key, chain_id, 1 + sent % 7, sent, DKG_PACKAGE, body)
                for peer in peers:
                    with contextlib.suppress(*REFUSALS):
                        await peer.send(THRESHOLD_CHANNEL, (envelope.encode(),))
                sent += 1
                await asyncio.sleep(0.02)
        finally:
            for stream in streams:
                with contextlib.suppress(Exception):
                    await stream.__aexit__(None, None, None)


async def fake_height(ports: list[int], chain_id: str, stop: asyncio.Event) -> None:
    lie = encode_sync_message(StatusMessage(MAX_HEIGHT))
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(aiohttp.ClientSession())
        turn = 0
        while not stop.is_set():
            with contextlib.suppress(*REFUSALS):
                peer = await stack.enter_async_context(
                    hostile_peer(ports[turn % len(ports)], SigningKey.generate(), chain_id, client)
                )
                await peer.send(BLOCKSYNC_CHANNEL, lie)
            turn += 1
            await asyncio.sleep(0.05)


ATTACKS: dict[str, Attack] = {
    "empty_maps": empty_maps,
    "slots": slots,
    "threshold_flood": threshold_flood,
    "fake_height": fake_height,
}


async def run_phases(
    urls: list[str],
    ports: list[int],
    chain_id: str,
    phases: list[tuple[str, Phase]],
    drain_s: float,
    pids: list[int],
) -> dict[str, float]:
    """Run the phases in order; the nodes' largest peak memory (MiB) after each."""
    peaks: dict[str, float] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        stop_watch = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(
            watch([phase for _, phase in phases], urls[0], session, stop_watch)
        )
        for attack_name, phase in phases:
            log(f"phase {attack_name}: {phase.rate} tx/s offered for {phase.duration:.0f} s")
            stop_attack = asyncio.Event()
            attacker = None
            if attack_name in ATTACKS:
                attacker = asyncio.get_running_loop().create_task(
                    ATTACKS[attack_name](ports, chain_id, stop_attack)
                )
                await asyncio.sleep(1.0)  # the attack is under way before the window
            await submit(phase, urls, session)
            deadline = time.monotonic() + drain_s
            while len(phase.committed_at) < len(phase.hashes) - phase.rejected:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            stop_attack.set()
            if attacker is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(attacker, 15)
            log(f"  {json.dumps(summarize(phase))}")
            peaks[attack_name] = max(round(node_rss_mb(pid), 1) for pid in pids)
        stop_watch.set()
        await watcher
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--senders", type=int, default=1000)
    parser.add_argument("--offered", type=int, default=1000, help="tx/s in every phase")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.senders, args.offered = 6.0, 300, 1200
    workdir = Path(tempfile.mkdtemp(prefix="bench-attack-"))
    processes = []
    names = ["none", *ATTACKS]
    try:
        ports = free_local_ports(2 * args.validators)
        nodes = prepare_devnet(workdir, args.validators, ports[0], ports[args.validators])
        document, keys = bench_genesis(args.validators, args.senders)
        for node in nodes:
            (Path(node["home"]) / "genesis.json").write_text(json.dumps(document))
        processes = launch_devnet(workdir, nodes)
        urls = [node["rpc_url"] for node in nodes]
        asyncio.run(wait_ready(urls, 60))
        nonces = [0] * len(keys)
        chain_id = document["chain_id"]
        log("signing ...")
        phases = [
            (
                name,
                sign_phase(
                    name, keys, nonces, args.offered, args.duration, args.validators, chain_id
                ),
            )
            for name in names
        ]
        pids = [p.pid for p in processes]
        peaks = asyncio.run(
            run_phases(urls, ports[: args.validators], chain_id, phases, 120.0, pids)
        )
        rss = [round(node_rss_mb(p.pid), 1) for p in processes]
    finally:
        stop_devnet(processes)
        shutil.rmtree(workdir, ignore_errors=True)
    figures = {name: summarize(phase) for name, phase in phases}
    baseline = figures["none"]["tx_per_s"]
    ratios = {
        name: round(figures[name]["tx_per_s"] / baseline, 3) if baseline else 0.0
        for name in ATTACKS
    }
    worst = min(figures[name]["tx_per_s"] for name in ATTACKS)
    log(f"without an attack {baseline:,.0f} tx/s; under attack (ratio): {ratios}; RSS {rss} MiB")
    emit(
        "attack_throughput",
        worst,
        "tx/s",
        {"name": "committed_tx_per_s_without_attack", "value": round(baseline, 1), "unit": "tx/s"},
        {
            "validators": args.validators,
            "duration_s": args.duration,
            "offered_tx_s": args.offered,
            "senders": args.senders,
            "attacks": list(ATTACKS),
            "quick": args.quick,
        },
        {
            "tx_per_s": {name: round(f["tx_per_s"], 1) for name, f in figures.items()},
            "ratio": ratios,
            "latency_p50_s": {name: round(f["latency_p50_s"], 3) for name, f in figures.items()},
            "rss_mb_per_node": rss,
            "rss_mb_max_after_phase": peaks,
            "rss_mb_max": max(rss) if rss else None,
        },
    )


if __name__ == "__main__":
    main()
