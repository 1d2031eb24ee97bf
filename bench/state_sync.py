"""Benchmark: the time a new validator takes to join a devnet by state sync.

Four validator processes (fast timings, no threshold key, mint or mail) run
the chain to ``--height``; a fifth validator, in the genesis set with power 1
(tests/process/test_state_sync_devnet.py), then starts with ``[state_sync]
enabled``. The headline is the seconds from its start to its snapshot
imported (headers verified from genesis, state fetched and stored); the
extras hold the time to its first precommit in a commit certificate, the
snapshot height, the state entries, the requests ("chunks") and the bytes
it received (headers, certificates, proofs, tree nodes). The devnet's
state is tens of keys; ``--accounts N`` adds N funded accounts to the
genesis and ``--changed M`` has M of them each pay a new account before
the snapshot: the joiner holds the genesis state already (tree nodes are
content-addressed, so it fetches only what changed since), so M is what
makes it fetch a large state. The
four validators keep only their last 100 states (the joiner's header walk
runs on the schedule proofs stored with the blocks). Only 127.0.0.1.

    python -m bench.state_sync [--quick] [--accounts N [--changed M]]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.report import emit, log
from ledger.address import address_of, encode_address
from ledger.client.devnet import validator_key
from ledger.crypto import sha256
from ledger.features.bank.bodies import Transfer
from ledger.types import NATIVE_ASSET, Transaction
from tests.process.devnet_harness import Devnet, wait_until
from tests.process.test_state_sync_devnet import JOINER, extra_account_key, state_sync_devnet

FEE = 1_000  # the devnet's minimum fee
BATCH = 100  # transactions per JSON-RPC batch

IMPORTED = re.compile(r"state sync: imported (.*)")


def new_accounts_transfers(chain_id: str, count: int) -> list[str]:
    """One transfer from each of the first ``count`` extra genesis accounts
    to a fresh address: ``count`` accounts changed and ``count`` created."""
    raws = []
    for index in range(count):
        key = extra_account_key(index)
        recipient = sha256(b"state sync recipient %d" % index)[:20]
        body = Transfer(NATIVE_ASSET, 1, recipient)
        raws.append(Transaction(chain_id, key.public_key, 0, FEE, body).signed(key).encode().hex())
    return raws


async def submit(urls: list[str], raws: list[str]) -> int:
    """Send ``raws`` in batches, round-robin over the nodes; the rejected count."""
    rejected = 0
    async with aiohttp.ClientSession() as session:
        for start in range(0, len(raws), BATCH):
            body = [
                {"jsonrpc": "2.0", "id": i, "method": "ledger_sendRawTransaction", "params": [r]}
                for i, r in enumerate(raws[start : start + BATCH])
            ]
            url = urls[start // BATCH % len(urls)]
            async with session.post(url, json=body) as response:
                rejected += sum("error" in reply for reply in await response.json())
    return rejected


def change_state(net: Devnet, count: int) -> None:
    """Create and change ``count`` accounts each by transfers, and wait for them."""
    raws = new_accounts_transfers(net.genesis.chain_id, count)
    urls = [net.clients[i].url for i in range(4)]
    rejected = asyncio.run(submit(urls, raws))
    last = encode_address(address_of(extra_account_key(count - 1).public_key))
    wait_until(lambda: net.clients[0].get_transaction_count(last) == 1, 600, "the transfers")
    log(f"  {count:,} transfers sent ({rejected} rejected) and committed")


def run(
    height: int, interval: int, accounts: int, changed: int, workdir: Path
) -> dict[str, float]:
    net = state_sync_devnet(workdir / "devnet", interval, accounts)
    try:
        started = time.monotonic()
        net.start_all()
        net.wait_height(1, list(range(4)), timeout=300)
        if changed:
            change_state(net, changed)
        net.wait_height(height, list(range(4)), timeout=1200)
        chain_seconds = time.monotonic() - started
        log(f"devnet at height {height} after {chain_seconds:.1f} s; starting the joiner")
        joined = time.monotonic()
        net.start(JOINER)
        log_path = Path(net.nodes[JOINER]["home"]) / "node.log"
        found: list[dict[str, float]] = []

        def imported() -> bool:
            match = IMPORTED.search(log_path.read_text(errors="replace"))
            if match:
                pairs = (item.split("=") for item in match.group(1).split())
                found.append({key: float(value) for key, value in pairs})
            return bool(found)

        wait_until(imported, 300, "the snapshot imported", step=0.05)
        import_seconds = time.monotonic() - joined
        address = address_of(validator_key(JOINER).public_key)
        seen: list[float] = []

        def signed() -> bool:
            top = net.height(0) - 1
            for h in range(max(1, top - 5), top):
                if address in {s.validator for s in net.certificate(0, h).signatures}:
                    seen.append(time.monotonic() - joined)
                    return True
            return False

        wait_until(signed, 300, "a certificate with the joiner's precommit", step=0.05)
        return {
            **found[0],
            "import_seconds": import_seconds,
            "first_precommit_seconds": seen[0],
            "chain_seconds": chain_seconds,
        }
    finally:
        net.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="height 300, snapshots every 100")
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--interval", type=int, default=500)
    parser.add_argument(
        "--accounts", type=int, default=0, help="funded accounts added to the genesis state"
    )
    parser.add_argument(
        "--changed",
        type=int,
        default=0,
        help="of those, how many send a transfer to a new account before the snapshot",
    )
    args = parser.parse_args()
    height, interval = (300, 100) if args.quick else (args.height, args.interval)
    with tempfile.TemporaryDirectory(prefix="bench-state-sync-") as workdir:
        if args.changed > args.accounts:
            parser.error("--changed is at most --accounts")
        result = run(height, interval, args.accounts, args.changed, Path(workdir))
    received = result["header_bytes"] + result["node_bytes"]
    log(
        f"snapshot {int(result['snapshot'])}: imported in {result['import_seconds']:.2f} s, "
        f"first precommit in a certificate after {result['first_precommit_seconds']:.2f} s, "
        f"{int(received)} bytes received"
    )
    emit(
        "state_sync",
        round(result["import_seconds"], 3),
        "s",
        {"name": "devnet_to_height", "value": round(result["chain_seconds"], 1), "unit": "s"},
        {
            "height": height,
            "snapshot_interval": interval,
            "extra_accounts": args.accounts,
            "changed_accounts": args.changed,
            "quick": args.quick,
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        {
            "snapshot_height": int(result["snapshot"]),
            "state_entries": int(result["state_entries"]),
            "headers": int(result["headers"]),
            "tree_nodes": int(result["nodes"]),
            "tree_nodes_local": int(result["nodes_local"]),
            "chunks": int(result["requests"]),
            "header_bytes": int(result["header_bytes"]),
            "node_bytes": int(result["node_bytes"]),
            "bytes_received": int(received),
            "sync_seconds_in_node": round(result["seconds"], 3),
            "join_to_first_precommit_s": round(result["first_precommit_seconds"], 3),
        },
    )


if __name__ == "__main__":
    main()
