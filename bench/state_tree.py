"""State tree update cost: keys updated per second in block-sized batches.

Builds trees of 1,000, 100,000 and 1,000,000 keys (SHA-256 keys, 40-byte
values, like account records) in a dict-backed node store, then updates
batches of min(10,000, n) existing keys with new values, as a block of 5,000
transfers would, passing the old values as the state layer does. Only
``StateTree.update`` is timed; the caller's write of
the new nodes (a dict update here, a LevelDB batch in the node) is not.
The reference is SHA-256 of 65-byte inputs per second, the floor of the
update cost. Store reads per key are reported to estimate the cost with
LevelDB behind the tree (reads the cache did not absorb).

    python -m bench.state_tree [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time

from ledger.state_tree import CountingNodeStore, StateTree, encode_proof

VALUE_SIZE = 40
BATCH = 10_000
SEED = 20240601


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256_per_second(seconds: float = 0.5) -> float:
    data = bytes(65)
    sha256 = hashlib.sha256
    count = 0
    start = time.perf_counter()
    while True:
        for _ in range(10_000):
            sha256(data).digest()
        count += 10_000
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def measure(size: int, rounds: int, rng: random.Random) -> dict[str, float]:
    """Build a tree of ``size`` keys, then time ``rounds`` batch updates."""
    keys = [hashlib.sha256(b"account %d" % i).digest() for i in range(size)]
    store = CountingNodeStore()
    tree = StateTree(store)
    start = time.perf_counter()
    values = {key: rng.randbytes(VALUE_SIZE) for key in keys}
    result = tree.update(values)
    build_s = time.perf_counter() - start
    store.write_nodes(result.new_nodes)
    log(f"  built {size:,} keys in {build_s:.2f} s ({len(result.new_nodes):,} nodes)")

    batch = min(BATCH, size)
    elapsed = 0.0
    nodes_written = 0
    store.reads = 0
    for round_number in range(rounds):
        changes = {key: rng.randbytes(VALUE_SIZE) for key in rng.sample(keys, batch)}
        old_values = {key: values[key] for key in changes}  # as the state layer passes them
        start = time.perf_counter()
        result = tree.update(changes, old_values)
        took = time.perf_counter() - start
        elapsed += took
        nodes_written += len(result.new_nodes)
        store.write_nodes(result.new_nodes)
        values.update(changes)
        log(f"  round {round_number + 1}/{rounds}: {batch:,} keys in {took * 1000:.1f} ms")

    proof_sizes = [len(encode_proof(tree.prove(key))) for key in rng.sample(keys, 200)]
    updated = batch * rounds
    return {
        "size": size,
        "batch": batch,
        "keys_per_s": updated / elapsed,
        "per_key_us": elapsed / updated * 1e6,
        "batch_ms": elapsed / rounds * 1000,
        "nodes_written_per_key": nodes_written / updated,
        "store_reads_per_key": store.reads / updated,
        "proof_bytes_mean": sum(proof_sizes) / len(proof_sizes),
        "build_s": build_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (1M case shrunk)")
    args = parser.parse_args()
    rng = random.Random(SEED)
    sizes = (1_000, 100_000, 200_000 if args.quick else 1_000_000)
    rounds = 3 if args.quick else 8

    reference = sha256_per_second()
    log(f"reference: {reference:,.0f} sha256/s (65-byte inputs)")
    figures = {}
    for size in sizes:
        log(f"tree of {size:,} keys")
        figures[size] = measure(size, rounds, rng)

    log(
        f"{'keys':>10} {'batch':>6} {'keys/s':>9} {'us/key':>7} {'ms/batch':>9} "
        f"{'nodes/key':>9} {'reads/key':>9} {'proof B':>7}"
    )
    for f in figures.values():
        log(
            f"{f['size']:>10,} {f['batch']:>6,} {f['keys_per_s']:>9,.0f} {f['per_key_us']:>7.2f} "
            f"{f['batch_ms']:>9.1f} {f['nodes_written_per_key']:>9.2f} "
            f"{f['store_reads_per_key']:>9.2f} {f['proof_bytes_mean']:>7.0f}"
        )

    headline = figures[100_000]
    largest = figures[sizes[-1]]
    print(
        json.dumps(
            {
                "bench": "state_tree",
                "value": round(headline["keys_per_s"], 1),
                "unit": "keys/s",
                "reference": {
                    "name": "sha256_per_second",
                    "value": round(reference, 1),
                    "unit": "hash/s",
                },
                "ratio": round(headline["keys_per_s"] / reference, 5),
                "params": {
                    "sizes": list(sizes),
                    "batch": BATCH,
                    "rounds": rounds,
                    "value_size": VALUE_SIZE,
                    "seed": SEED,
                    "store": "memory",
                    "quick": args.quick,
                },
                "extra": {
                    "per_key_us_1k": round(figures[1_000]["per_key_us"], 2),
                    "per_key_us_100k": round(headline["per_key_us"], 2),
                    "per_key_us_1m": None if args.quick else round(largest["per_key_us"], 2),
                    "per_key_us_largest": round(largest["per_key_us"], 2),
                    "batch_ms_100k": round(headline["batch_ms"], 1),
                    "store_reads_per_key": {
                        str(s): round(f["store_reads_per_key"], 2) for s, f in figures.items()
                    },
                    "nodes_written_per_key": {
                        str(s): round(f["nodes_written_per_key"], 2) for s, f in figures.items()
                    },
                    "proof_bytes_mean": {
                        str(s): round(f["proof_bytes_mean"]) for s, f in figures.items()
                    },
                    "build_s": {str(s): round(f["build_s"], 2) for s, f in figures.items()},
                },
            }
        )
    )


if __name__ == "__main__":
    main()
