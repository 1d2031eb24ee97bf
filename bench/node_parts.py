"""Benchmark: the node's building blocks outside consensus.

Headline: mempool admissions per second (CheckTx through the ledger with a
signature verification each, on a LevelDB-backed chain), against raw
libsecp256k1 verification on this core. Extra figures: the recheck after a
commit, reaping, WAL appends (fsynced one by one, unsynced, and in fsynced
batches), double-sign guard records per second (two fsyncs and a rename
each), and p2p frames per second between two nodes on loopback (vote-sized
frames, and MiB/s of block-sized ones; both encrypted and authenticated
since the transport of docs/adr/0018).

    python -m bench.node_parts [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import emit, log, rss_mb, secp256k1_verify_per_core
from consensus.node.mempool import Mempool, MempoolConfig
from consensus.node.p2p import CONSENSUS_CHANNEL, P2PConfig, P2PNode
from consensus.node.privval import DoubleSignGuard, Step
from consensus.node.wal import WriteAheadLog
from ledger import crypto
from ledger.address import address_of
from ledger.chain import Chain
from ledger.features.bank.bodies import Transfer
from ledger.genesis import Genesis, GenesisAccount, GenesisValidator
from ledger.params import Params
from ledger.types import NATIVE_ASSET, Transaction

CHAIN_ID = "bench-chain"
FEE = 1


def mempool_figures(workdir: Path, senders: int, per_sender: int) -> dict[str, float]:
    keys = [crypto.SigningKey(crypto.sha256(b"mempool sender %d" % i)) for i in range(senders)]
    addresses = [address_of(k.public_key) for k in keys]
    genesis = Genesis(
        chain_id=CHAIN_ID,
        genesis_time_ms=0,
        params=Params(min_fee=FEE, max_block_txs=100_000, max_block_bytes=1 << 28),
        validators=(GenesisValidator("bench", keys[0].public_key, 1),),
        accounts=tuple(
            GenesisAccount(f"a{i}", a, ((NATIVE_ASSET, 10**20),)) for i, a in enumerate(addresses)
        ),
    )
    chain = Chain.open(workdir / "chain", genesis)
    txs = [
        Transaction(
            CHAIN_ID, key.public_key, nonce, FEE, Transfer(NATIVE_ASSET, 1, addresses[0])
        ).signed(key)
        for nonce in range(per_sender)
        for key in keys
    ]
    total = len(txs)
    mempool = Mempool(chain, MempoolConfig(max_txs=total, max_bytes=1 << 30))
    start = time.perf_counter()
    for tx in txs:
        mempool.add(tx)
    add_s = time.perf_counter() - start
    start = time.perf_counter()
    reaped = mempool.reap(total // 2, 1 << 28)
    reap_s = time.perf_counter() - start
    block, result, skipped = chain.build_block(
        reaped, addresses[0], 1, verified=mempool.verified_hashes()
    )
    assert not skipped
    chain.commit_block(block, result)
    start = time.perf_counter()
    dropped = mempool.update(block.transactions)
    update_s = time.perf_counter() - start
    assert not dropped and len(mempool) == total - len(reaped)
    chain.close()
    return {
        "mempool_add_per_s": total / add_s,
        "mempool_pending": total,
        "mempool_reap_ms": reap_s * 1e3,
        "mempool_recheck_ms": update_s * 1e3,
        "mempool_recheck_txs": total - len(reaped),
    }


def wal_figures(workdir: Path, count: int) -> dict[str, float]:
    record = b"r" * 1024
    figures = {}
    with WriteAheadLog(workdir / "wal") as wal:
        wal.start_height(1)
        for name, sync, batch in [
            ("wal_synced_appends_per_s", True, 1),
            ("wal_unsynced_appends_per_s", False, 1),
            ("wal_batched_synced_records_per_s", True, 100),
        ]:
            rounds = count if batch == 1 else max(1, count // 10)
            start = time.perf_counter()
            for _ in range(rounds):
                wal.append_many([record] * batch, sync=sync)
            wal.sync()
            figures[name] = rounds * batch / (time.perf_counter() - start)
    start = time.perf_counter()
    with WriteAheadLog(workdir / "wal") as wal:
        replayed = sum(1 for _ in wal.replay())
    figures["wal_open_and_replay_records_per_s"] = replayed / (time.perf_counter() - start)
    return figures


def guard_figures(workdir: Path, count: int) -> dict[str, float]:
    with DoubleSignGuard(workdir / "guard.json") as guard:
        start = time.perf_counter()
        for height in range(1, count + 1):
            guard.check_and_record(height, 0, Step.PREVOTE, crypto.sha256(b"%d" % height))
        return {"guard_records_per_s": count / (time.perf_counter() - start)}


async def p2p_figures(frames: int, bulk_frames: int) -> dict[str, float]:
    """Frames per second of vote-sized frames, and MiB/s of 256 KiB frames,
    from one node to another on loopback."""
    received = 0
    wanted = frames
    done = asyncio.Event()

    def count(peer: bytes, channel: int, payload: Any) -> None:
        nonlocal received
        received += 1
        if received == wanted:
            done.set()

    keys = [crypto.SigningKey(crypto.sha256(b"p2p bench %d" % i)) for i in range(2)]
    a = P2PNode(P2PConfig(keys[0], CHAIN_ID, send_queue_size=frames), count)
    await a.start()
    b = P2PNode(
        P2PConfig(keys[1], CHAIN_ID, persistent_peers=(a.listen_address,), send_queue_size=frames),
        count,
    )
    await b.start()
    figures: dict[str, float] = {}
    try:
        assert await b.wait_for_peers(1, 10)
        for name, payload, how_many in (
            ("p2p_frames_per_s", {"vote": b"v" * 150}, frames),
            ("p2p_bulk_mib_per_s", b"b" * (256 * 1024), bulk_frames),
        ):
            received, wanted = 0, how_many
            done.clear()
            start = time.perf_counter()
            for _ in range(how_many):
                await b.send_wait(a.peer_id, CONSENSUS_CHANNEL, payload, 60)
            await asyncio.wait_for(done.wait(), 60)
            per_s = how_many / (time.perf_counter() - start)
            figures[name] = per_s / 4 if name == "p2p_bulk_mib_per_s" else per_s
        return figures
    finally:
        await b.stop()
        await a.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    args = parser.parse_args()
    senders, per_sender = (200, 10) if args.quick else (500, 20)
    wal_count = 300 if args.quick else 2000
    frames = 5_000 if args.quick else 20_000
    bulk_frames = 400 if args.quick else 2_000
    reference = secp256k1_verify_per_core()
    log(f"reference: {reference:,.0f} secp256k1 verifications/s on one core")
    workdir = Path(tempfile.mkdtemp(prefix="bench-node-parts-", dir=Path.cwd()))
    try:
        extra: dict[str, float] = {}
        extra.update(mempool_figures(workdir, senders, per_sender))
        extra.update(wal_figures(workdir, wal_count))
        extra.update(guard_figures(workdir, wal_count // 2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    extra.update(asyncio.run(p2p_figures(frames, bulk_frames)))
    extra["rss_mb_max"] = rss_mb()
    for name, value in extra.items():
        log(f"  {name:38} {value:>14,.1f}")
    emit(
        "node_parts",
        extra["mempool_add_per_s"],
        "tx/s",
        {"name": "secp256k1_verify_per_core", "value": round(reference, 1), "unit": "verify/s"},
        {
            "senders": senders,
            "per_sender": per_sender,
            "wal_records": wal_count,
            "frames": frames,
            "bulk_frames": bulk_frames,
        },
        {k: round(v, 1) for k, v in extra.items()},
    )


if __name__ == "__main__":
    main()
