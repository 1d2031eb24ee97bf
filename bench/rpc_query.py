"""Benchmark: ledger_getBalance requests per second answered by one node.

A single-node chain (LocalNode + RpcServer, committing a block every 200 ms
while a trickle of signed transfers arrives over RPC) runs in its own
process; this process drives it over ``--connections`` keep-alive HTTP/1.1
connections, each sending one single (unbatched) request at a time and
waiting for the answer. The load generator writes pre-encoded requests on
raw asyncio streams so that it is not the bottleneck; every answer is
checked to be a JSON-RPC result. The queries cycle over the 8 funded devnet
accounts, so the server's address and decoded-account caches are warm (a
cold query costs about 65 us more: bech32 checksum and strict decoding).
The reference is the same server, in the same run, answering
``ledger_chainId`` (a no-op method: the cost of HTTP, JSON-RPC dispatch and
metrics alone). Phases alternate reference / balance
twice and the better of each pair is reported.

    python -m bench.rpc_query [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import emit, log, rss_mb
from ledger.address import address_of, encode_address
from ledger.client import AsyncLedgerClient, ClientError, RpcError
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key

HOST = "127.0.0.1"
BLOCK_INTERVAL = 0.2
MAX_REQUESTS_PER_PHASE = 2_000_000


# -- the node process ----------------------------------------------------------


def serve(directory: Path, port_file: Path) -> None:
    """Run the node and its RPC server until stdin closes (the parent exits)."""
    from consensus.node.local_node import LocalNode
    from consensus.node.rpc.config import RpcConfig
    from consensus.node.rpc.server import RpcServer
    from ledger.chain import Chain
    from ledger.client.devnet import devnet_genesis_document
    from ledger.genesis import parse_genesis

    genesis = parse_genesis(devnet_genesis_document())
    chain = Chain.open(directory, genesis)

    async def main() -> None:
        node = LocalNode(chain, genesis, block_interval=BLOCK_INTERVAL)
        server = RpcServer(node, RpcConfig(port=0, max_connections=1024))
        await server.start()
        node.start()
        port_file.write_text(str(server.port))
        loop = asyncio.get_running_loop()
        # Stop when the parent closes our stdin (also if it dies).
        await loop.run_in_executor(None, sys.stdin.read)
        await node.stop()
        await server.stop()

    try:
        asyncio.run(main())
    finally:
        chain.close()


# -- the load generator ---------------------------------------------------------


def http_request(port: int, method: str, params: list[Any], request_id: int) -> bytes:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
        separators=(",", ":"),
    ).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def drive_connection(
    port: int,
    requests: list[bytes],
    deadline: float,
    budget: list[int],
    latencies: list[float],
) -> tuple[int, int]:
    """Send requests one at a time on one keep-alive connection; (answered, errors)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    answered = errors = 0
    index = random.randrange(len(requests))
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(requests[index % len(requests)])
            index += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or b'"result"' not in body:
                errors += 1
            answered += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return answered, errors


async def phase(
    port: int, name: str, requests: list[bytes], connections: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    budget = [MAX_REQUESTS_PER_PHASE]
    started = time.perf_counter()
    deadline = started + seconds
    results = await asyncio.gather(
        *(drive_connection(port, requests, deadline, budget, latencies) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    answered = sum(a for a, _ in results)
    errors = sum(e for _, e in results)
    latencies.sort()
    rate = answered / elapsed
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0.0
    log(
        f"  {name:22} {rate:9.0f} req/s  p50 {p50 * 1e3:6.2f} ms  "
        f"p99 {p99 * 1e3:6.2f} ms  errors {errors}"
    )
    return {"rate": rate, "p50": p50, "p99": p99, "errors": errors, "count": answered}


async def send_transfers(url: str, stop: asyncio.Event, rate: float) -> int:
    """A trickle of signed transfers so that blocks carry transactions."""
    keys = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]
    sent = 0
    async with AsyncLedgerClient(url) as client:
        while not stop.is_set():
            sender = keys[sent % len(keys)]
            recipient = keys[(sent + 1) % len(keys)]
            try:
                await client.send_transfer(sender, address_of(recipient.public_key), 1, wait=False)
                sent += 1
            except (RpcError, ClientError) as exc:
                log(f"  transfer failed: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1 / rate)
    return sent


async def client_phase(url: str, addresses: list[str], seconds: float, connections: int) -> float:
    """The same query through AsyncLedgerClient (aiohttp), for comparison."""
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: AsyncLedgerClient) -> None:
        nonlocal count
        i = 0
        while time.perf_counter() < deadline and count < MAX_REQUESTS_PER_PHASE:
            await client.get_balance(addresses[i % len(addresses)])
            i += 1
            count += 1

    started = time.perf_counter()
    async with AsyncLedgerClient(url, connections=connections) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    return count / (time.perf_counter() - started)


async def measure(port: int, connections: int, seconds: float) -> dict[str, Any]:
    url = f"http://{HOST}:{port}"
    addresses = [
        encode_address(address_of(account_key(n).public_key)) for n in DEVNET_ACCOUNT_NAMES
    ]
    balance_requests = [
        http_request(port, "ledger_getBalance", [a, "coin"], i) for i, a in enumerate(addresses)
    ]
    noop_requests = [http_request(port, "ledger_chainId", [], 1)]
    async with AsyncLedgerClient(url) as client:
        start_height = await client.block_number()
    stop = asyncio.Event()
    trickle = asyncio.create_task(send_transfers(url, stop, rate=20.0))
    await asyncio.sleep(0.5)
    phases: dict[str, list[dict[str, float]]] = {"noop": [], "balance": []}
    for _ in range(2):
        phases["noop"].append(
            await phase(port, "ledger_chainId", noop_requests, connections, seconds)
        )
        phases["balance"].append(
            await phase(port, "ledger_getBalance", balance_requests, connections, seconds)
        )
    client_rate = await client_phase(url, addresses, min(seconds, 3.0), connections)
    log(f"  {'via AsyncLedgerClient':22} {client_rate:9.0f} req/s (aiohttp client, same query)")
    stop.set()
    transfers = await trickle
    async with AsyncLedgerClient(url) as client:
        end_height = await client.block_number()
        committed = 0
        for height in range(start_height + 1, end_height + 1):
            block = await client.get_block(height)
            committed += block.tx_count if block is not None else 0
    best = {k: max(v, key=lambda p: p["rate"]) for k, v in phases.items()}
    return {
        "best": best,
        "client_rate": client_rate,
        "blocks": end_height - start_height,
        "committed_txs": committed,
        "transfers_sent": transfers,
        "all_balance_rates": [round(p["rate"], 1) for p in phases["balance"]],
        "all_noop_rates": [round(p["rate"], 1) for p in phases["noop"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (under 60 s)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None, help="seconds per phase")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.port_file)
        return
    seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 10.0)
    workdir = Path(tempfile.mkdtemp(prefix="bench-rpc-"))
    port_file = workdir / "port"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.rpc_query",
            "--serve",
            str(workdir / "chain"),
            "--port-file",
            str(port_file),
        ],
        stdin=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the node process did not start")
            time.sleep(0.05)
        port = int(port_file.read_text())
        log(
            f"node on {HOST}:{port}, a block every {BLOCK_INTERVAL * 1000:.0f} ms; "
            f"{args.connections} connections, {seconds:g} s per phase"
        )
        result = asyncio.run(measure(port, args.connections, seconds))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    balance, noop = result["best"]["balance"], result["best"]["noop"]
    log(
        f"getBalance {balance['rate']:.0f} req/s = {balance['rate'] / noop['rate']:.2f} x no-op; "
        f"{result['blocks']} blocks, {result['committed_txs']} txs committed meanwhile"
    )
    emit(
        "rpc_query",
        balance["rate"],
        "req/s",
        {"name": "rpc_noop_chainId", "value": round(noop["rate"], 1), "unit": "req/s"},
        {
            "method": "ledger_getBalance",
            "connections": args.connections,
            "seconds_per_phase": seconds,
            "phases": "2 x (noop, balance), best of each",
            "block_interval_s": BLOCK_INTERVAL,
            "transfer_rate_tx_s": 20,
            "batching": False,
            "quick": args.quick,
        },
        {
            "latency_p50_ms": round(balance["p50"] * 1e3, 3),
            "latency_p99_ms": round(balance["p99"] * 1e3, 3),
            "noop_latency_p50_ms": round(noop["p50"] * 1e3, 3),
            "errors": int(balance["errors"] + noop["errors"]),
            "balance_rates": result["all_balance_rates"],
            "noop_rates": result["all_noop_rates"],
            "async_client_get_balance_rps": round(result["client_rate"], 1),
            "blocks_committed": result["blocks"],
            "txs_committed": result["committed_txs"],
            "rss_mb_max_load_generator": round(rss_mb(), 1),
            "cpus": os.cpu_count(),
        },
    )


if __name__ == "__main__":
    main()
