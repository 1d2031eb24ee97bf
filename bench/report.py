"""What every benchmark shares: the reference measurement and the output contract.

Progress and tables go to stderr; the last line on stdout is one JSON object
(../shared/BENCHMARKS.md).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from coincurve import PrivateKey

from ledger import crypto


def log(message: str) -> None:
    """One line of human-readable progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def secp256k1_verify_per_core(seconds: float = 1.0, max_count: int = 200_000) -> float:
    """Raw libsecp256k1 verifications per second on this core, through coincurve
    with DER parsing and hashing left out: the floor of a transaction's cost."""
    key = PrivateKey(crypto.sha256(b"bench reference key"))
    digest = crypto.sha256(b"bench reference message")
    signature = key.sign(digest, hasher=None)
    public = key.public_key
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while count < max_count:
        for _ in range(500):
            public.verify(signature, digest, hasher=None)
        count += 500
        if time.perf_counter() >= deadline:
            break
    return count / (time.perf_counter() - start)


def rss_mb() -> float:
    """Peak resident set size of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(
    bench: str,
    value: float,
    unit: str,
    reference: dict[str, Any],
    params: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    """Print the result line (the last line of stdout)."""
    ratio = value / reference["value"] if reference.get("value") else None
    line = {
        "bench": bench,
        "value": round(value, 3),
        "unit": unit,
        "reference": reference,
        "ratio": round(ratio, 4) if ratio is not None else None,
        "params": params,
        "extra": extra,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
