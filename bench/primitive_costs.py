"""Benchmark: the least a changed state key can cost, and whether apply_block's targets fit.

``bench.apply_block`` has three targets: at least 5,000 tx/s, a ratio of at
least 0.4 against raw signature verification at 100,000 accounts, and at
most 1.5x between the per-transaction cost at 1,000,000 and at 1,000
accounts. Part of a transfer's cost grows with the state: every account a
block changes is read from LevelDB, decoded, encoded, hashed into the state
tree along its path and written back. This benchmark measures those
primitives alone, in tight loops with no ledger logic around them (plyvel
with the Store's options, msgpack through ledger.codec, hashlib), on a
LevelDB laid out like a node's store at each size, and counts from a
simulation of apply_block's workload how many keys, tree nodes, node reads
and records a block of transfers needs. That gives A(n), the least state
cost per transaction at n accounts, whatever the code around the
primitives.

With V the verification cost (1 / reference) and F the part of a
transaction that does not depend on the state (decode, checks, receipts),
the 1.5x target needs V + F >= 2 A(1M) - 3 A(1k) and the ratio target
needs V + F <= 2.5 V - A(100k). Both hold for some F only if

    slack = 2.5 V - (2 A(1M) + A(100k) - 3 A(1k)) >= 0,

which does not depend on F. ``target_slack_us`` reports it: negative means
no implementation over these primitives meets both targets
(docs/adr/0014-apply-block-targets.md).

    python -m bench.primitive_costs [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import plyvel

from bench.report import emit, log, secp256k1_verify_per_core
from ledger import codec
from ledger.chain import paused_gc
from ledger.state import Account, encode_account
from ledger.state_tree import INTERNAL_RECORD_SIZE, PINNED_LEVELS
from ledger.store import LEVELDB_COMPRESSION, open_leveldb

TXS_PER_BLOCK = 5_000
MAX_SENDERS = 5_000  # bench.apply_block signs with min(accounts, 5,000) senders
# An account as the benchmark funds it: a balance above 2^64 is a msgpack ext type.
ACCOUNT = encode_account(Account(3, (("coin", 10**20),)))
SEED = 7


def workload_keys(accounts: int, rng: random.Random) -> int:
    """Distinct accounts one block of apply_block's workload changes: each
    transfer has a random sender among the first min(accounts, 5,000) and a
    random recipient among all accounts; the proposer (sender 0) earns the fees."""
    senders = min(accounts, MAX_SENDERS)
    touched = {0}
    for _ in range(TXS_PER_BLOCK):
        touched.add(rng.randrange(senders))
        touched.add(rng.randrange(accounts))
    return len(touched)


def tree_counts(accounts: int, changed: int, rng: random.Random) -> tuple[int, list[int]]:
    """``(internal nodes in the tree, internal nodes a block recomputes at
    each depth)`` for ``changed`` random keys among ``accounts``. Tree
    positions are uniform (keys are SHA-256 hashes), so 64 random bits
    stand for a key's first 16 nibbles."""
    keys = [rng.getrandbits(64) for _ in range(accounts)]
    changed_keys = rng.sample(keys, changed)
    total = 0
    recomputed_by_depth: list[int] = []
    for depth in range(16):
        shift = 64 - 4 * depth
        counts = Counter(key >> shift for key in keys)
        internal = {prefix for prefix, count in counts.items() if count >= 2}
        if not internal:
            break
        total += len(internal)
        recomputed_by_depth.append(len({key >> shift for key in changed_keys} & internal))
    return total, recomputed_by_depth


def per_call_us(count: int, action: Callable[[], object]) -> float:
    """Microseconds per item of one call of ``action`` that handles ``count`` items."""
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) / count * 1e6


def sparse_internal_record(rng: random.Random) -> bytes:
    """An internal node's record as below the pinned levels: 3 of its 16
    children occupied on average, the others EMPTY (zero bytes)."""
    children = (rng.randbytes(32) if rng.randrange(16) < 3 else bytes(32) for _ in range(16))
    return b"\x01" + b"".join(children)


def fill(db: plyvel.DB, accounts: int, internal_nodes: int, rng: random.Random) -> list[bytes]:
    """A store-like database: per account a flat state record and a leaf
    record; ``internal_nodes`` internal node records. Returns the state keys."""
    state_keys = [b"Sa" + hashlib.sha256(b"account %d" % i).digest()[:20] for i in range(accounts)]
    for lo in range(0, accounts, 100_000):
        with db.write_batch() as batch:
            for key in state_keys[lo : lo + 100_000]:
                tree_key = hashlib.sha256(key[1:]).digest()
                batch.put(key, ACCOUNT)
                batch.put(b"N" + hashlib.sha256(tree_key).digest(), b"\x00" + tree_key + ACCOUNT)
    for lo in range(0, internal_nodes, 100_000):
        with db.write_batch() as batch:
            for i in range(lo, min(lo + 100_000, internal_nodes)):
                record = sparse_internal_record(rng)
                batch.put(b"N" + hashlib.sha256(b"node %d" % i).digest(), record)
    db.compact_range()
    return state_keys


def measure(accounts: int, workdir: Path, rng: random.Random) -> dict[str, float]:
    """Primitive costs and workload counts at one size; ``A`` is the least
    state cost per transaction in microseconds."""
    keys = workload_keys(accounts, rng)
    internal_total, by_depth = tree_counts(accounts, keys, rng)
    recomputed = sum(by_depth)
    unpinned = sum(by_depth[PINNED_LEVELS:])  # read from the store (hints spare the leaves)
    unpinned_one_more = sum(by_depth[PINNED_LEVELS + 1 :])
    path = workdir / f"db-{accounts}"
    db = open_leveldb(path)
    state_keys = fill(db, accounts, internal_total, rng)
    db.close()
    db = open_leveldb(path)  # an empty block cache: the block's reads are cold
    get = db.get
    reads = rng.sample(state_keys, min(keys, accounts))
    read_account = per_call_us(len(reads), lambda: [get(key) for key in reads])
    node_keys = [
        b"N" + hashlib.sha256(b"node %d" % rng.randrange(internal_total)).digest()
        for _ in range(max(unpinned, 1))
    ]
    read_node = per_call_us(len(node_keys), lambda: [get(key) for key in node_keys])
    loops = 50_000
    unpack = codec.unpack_unchecked
    decode = per_call_us(loops, lambda: [unpack(ACCOUNT) for _ in range(loops)])
    value = unpack(ACCOUNT)
    pack = codec.pack_plain
    encode = per_call_us(loops, lambda: [pack(value) for _ in range(loops)])
    sha256 = hashlib.sha256
    key32 = bytes(range(32))
    leaf_hash = per_call_us(
        loops,
        lambda: [sha256(b"\x00" + key32 + sha256(ACCOUNT).digest()).digest() for _ in range(loops)],
    )
    record = sparse_internal_record(rng)
    assert len(record) == INTERNAL_RECORD_SIZE
    child = rng.randbytes(32)
    internal_node = per_call_us(
        loops, lambda: [sha256(record[:33] + child + record[65:]).digest() for _ in range(loops)]
    )
    records = [(b"Sa" + rng.randbytes(20), ACCOUNT) for _ in range(keys)]
    records += [(b"N" + rng.randbytes(32), b"\x00" + key32 + ACCOUNT) for _ in range(keys)]
    records += [(b"N" + rng.randbytes(32), record) for _ in range(recomputed)]

    def write() -> None:
        with db.write_batch(sync=True) as batch:
            for key, data in records:
                batch.put(key, data)

    write_record = per_call_us(len(records), write)
    db.close()
    shutil.rmtree(path, ignore_errors=True)
    common = (
        read_account
        + decode
        + encode
        + leaf_hash
        + recomputed / keys * internal_node
        + len(records) / keys * write_record
    )
    node_read = read_node + internal_node  # a record read is checked by its hash
    per_key = common + unpinned / keys * node_read
    per_key_one_more = common + unpinned_one_more / keys * node_read
    return {
        "changed_keys": keys,
        "internal_nodes_recomputed": recomputed,
        "node_reads": unpinned,
        "us_read_account": round(read_account, 2),
        "us_read_node": round(read_node, 2),
        "us_decode_account": round(decode, 2),
        "us_encode_account": round(encode, 2),
        "us_leaf_hash": round(leaf_hash, 2),
        "us_internal_node": round(internal_node, 2),
        "us_write_record": round(write_record, 2),
        "us_per_changed_key": round(per_key, 2),
        "A_us_per_tx": round(per_key * keys / TXS_PER_BLOCK, 2),
        "A_us_per_tx_pinning_one_more_level": round(per_key_one_more * keys / TXS_PER_BLOCK, 2),
        "internal_nodes_total": internal_total,
    }


def target_slack(
    verify_us: float, results: dict[int, dict[str, float]], sizes: tuple[int, int, int], name: str
) -> float:
    """2.5 V - (2 A(large) + A(main) - 3 A(small)) in microseconds (module docstring)."""
    small, main_size, large = (results[n][name] for n in sizes)
    return 2.5 * verify_us - (2 * large + main_size - 3 * small)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    args = parser.parse_args()
    small, main_size, large = (1_000, 20_000, 50_000) if args.quick else (1_000, 100_000, 1_000_000)
    reference = secp256k1_verify_per_core()
    verify_us = 1e6 / reference
    log(f"reference: {reference:,.0f} secp256k1 verifications/s on one core ({verify_us:.1f} us)")
    rng = random.Random(SEED)
    workdir = Path(tempfile.mkdtemp(prefix="bench-primitive-costs-"))
    results: dict[int, dict[str, float]] = {}
    try:
        for accounts in (small, main_size, large):
            with paused_gc():  # as during a block's execution
                results[accounts] = measure(accounts, workdir, rng)
            log(f"  {accounts:>9,} accounts: {results[accounts]}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    slack = target_slack(verify_us, results, (small, main_size, large), "A_us_per_tx")
    slack_one_more = target_slack(
        verify_us, results, (small, main_size, large), "A_us_per_tx_pinning_one_more_level"
    )
    log(
        "least state cost per tx: "
        + " / ".join(f"{results[n]['A_us_per_tx']:.1f}" for n in (small, main_size, large))
        + f" us at {small:,} / {main_size:,} / {large:,} accounts; target slack {slack:.1f} us"
        f" ({slack_one_more:.1f} us with tree level {PINNED_LEVELS} pinned too):"
        f" {'both targets can hold' if slack >= 0 else 'no F meets both targets'}"
        + (" (quick sizes: a rehearsal, not the issue's targets)" if args.quick else "")
    )
    extra: dict[str, object] = {
        "target_slack_us": round(slack, 2),
        "target_slack_us_pinning_one_more_level": round(slack_one_more, 2),
        "verify_us": round(verify_us, 2),
        "compression": LEVELDB_COMPRESSION,
    }
    for accounts, figures in results.items():
        for name, figure in figures.items():
            extra[f"{name}_{accounts}"] = figure
    emit(
        "primitive_costs",
        1e6 / results[large]["us_per_changed_key"],
        "changed keys/s",
        {"name": "secp256k1_verify_per_core", "value": round(reference, 1), "unit": "verify/s"},
        {
            "accounts": [small, main_size, large],
            "txs_per_block": TXS_PER_BLOCK,
            "seed": SEED,
            "quick": args.quick,
        },
        extra,
    )


if __name__ == "__main__":
    main()
