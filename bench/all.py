"""Run every benchmark, one after the other: `python -m bench.all [--quick]`.

Each benchmark's progress goes to stderr as it runs; its JSON result line
is echoed on stdout as soon as it finishes, and the last stdout line is one
JSON object holding all of them (``{"bench": "all", "results": [...]}``).
A benchmark that fails is reported with its exit code and the others still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

BENCHMARKS = (
    "apply_block",
    "primitive_costs",
    "state_tree",
    "vm_interpreter",
    "contract_calls",
    "rpc_query",
    "node_parts",
    "compact_proposals",
    "threshold",
    "mix",
    "mint_crypto",
    "mint",
    "devnet_throughput",
    "devnet_wan",
    "attack_throughput",
    "block_sync",
    "store_growth",
)


def run(name: str, quick: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    print(f"== bench.{name}", file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        return {"bench": name, "error": f"exit code {done.returncode}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short version of each")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run just these")
    args = parser.parse_args()
    results = []
    for name in args.only or BENCHMARKS:
        result = run(name, args.quick)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(json.dumps({"bench": "all", "quick": args.quick, "results": results}), flush=True)


if __name__ == "__main__":
    main()
