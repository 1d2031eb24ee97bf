"""Threshold keys, in process: a 7-of-10 FROST signing ceremony, a 10-member
DKG and a 10 -> 10 resharing, all members run one after another on one core.

    python -m bench.threshold [--quick]

The headline is the median wall time of a whole signing ceremony (7 commits,
7 signature shares, aggregation that verifies every share, final verify).
The reference, measured in the same run, is raw libsecp256k1 ECDSA
verifications per second through coincurve. Progress goes to stderr; the
last line of stdout is the JSON result (see ../shared/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from coincurve import PrivateKey

from ledger.threshold import ceremony, dkg, frost, reshare
from ledger.threshold.ceremony import CeremonyResult, SecretShare
from ledger.threshold.group import encode_element
from ledger.threshold.keys import KeyPackage

MEMBERS = 10
THRESHOLD = 7
MESSAGE = b"bench: transfer 1 coin from the threshold bank"


def log(line: str) -> None:
    """Progress to stderr."""
    print(line, file=sys.stderr, flush=True)


def measure_ecdsa_verify_per_s(seconds: float) -> float:
    """Raw coincurve ECDSA verifications per second on this core."""
    key = PrivateKey(os.urandom(32))
    signature = key.sign(MESSAGE)
    public = key.public_key
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            public.verify(signature, MESSAGE)
        count += 200
    return count / elapsed


def run_dkg(n: int, t: int) -> dict[int, CeremonyResult]:
    """A complete honest DKG, every member in turn, with the agreement check."""
    session = dkg.DkgSession(os.urandom(16), t, tuple(range(1, n + 1)))
    round1 = {i: dkg.dkg_round1(session, i, os.urandom) for i in session.participants}
    packages = [p for _, p in round1.values()]
    round2 = {i: dkg.dkg_round2(round1[i][0], packages) for i in session.participants}
    shares = [s for _, sent in round2.values() for s in sent]
    round3 = {i: dkg.dkg_round3(round2[i][0], _inbox(shares, i)) for i in session.participants}
    complaints = [c for _, mine in round3.values() for c in mine]
    assert not complaints
    results = {i: dkg.dkg_finalize(state, complaints, []) for i, (state, _) in round3.items()}
    _agree(results)
    return results


def run_reshare(keys: Sequence[KeyPackage], n: int, t: int) -> dict[int, CeremonyResult]:
    """A complete honest resharing from keys to members 1..n, threshold t."""
    session = reshare.ReshareSession(os.urandom(16), keys[0].public, t, tuple(range(1, n + 1)))
    dealt = [reshare.reshare_deal(session, k, os.urandom) for k in keys]
    packages = [p for _, p, _ in dealt]
    shares = [s for _, _, sent in dealt for s in sent]
    results = {}
    for j in session.new_members:
        state, complaints = reshare.reshare_receive(session, j, packages, _inbox(shares, j))
        assert not complaints
        results[j] = reshare.reshare_finalize(state, [], [])
    _agree(results)
    return results


def _inbox(shares: Sequence[SecretShare], receiver: int) -> list[SecretShare]:
    return [s for s in shares if s.receiver == receiver]


def _agree(results: dict[int, CeremonyResult]) -> None:
    confirmations = [ceremony.confirm(r, os.urandom) for r in results.values()]
    for r in results.values():
        ceremony.check_agreement(r, confirmations)


def run_signing(keys: Sequence[KeyPackage]) -> bytes:
    """A complete signing ceremony among keys; returns the checked signature."""
    round1 = [frost.commit(k, os.urandom) for k in keys]
    commitments = [c for _, c in round1]
    shares = [
        frost.sign(k, n, MESSAGE, commitments) for k, (n, _) in zip(keys, round1, strict=True)
    ]
    signature = frost.encode_signature(
        frost.aggregate(commitments, MESSAGE, keys[0].public, shares)
    )
    assert frost.verify_signature(encode_element(keys[0].group_public_key), MESSAGE, signature)
    return signature


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of action over repeats runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_verify_per_s(group_key: bytes, signature: bytes, seconds: float) -> float:
    """FROST signature verifications per second (the on-chain check)."""
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            frost.verify_signature(group_key, MESSAGE, signature)
        count += 100
    return count / elapsed


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the JSON result as the last stdout line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short run (under 60 s)")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 21
    window = 0.5 if args.quick else 2.0

    log(f"reference: coincurve ECDSA verify for {window} s ...")
    ecdsa_per_s = measure_ecdsa_verify_per_s(window)

    log(f"DKG {THRESHOLD}-of-{MEMBERS}, {repeats} runs ...")
    results = run_dkg(MEMBERS, THRESHOLD)
    dkg_s = median_seconds(lambda: run_dkg(MEMBERS, THRESHOLD), repeats)

    keys = [results[i].key_package for i in range(1, MEMBERS + 1)]
    signers = keys[:THRESHOLD]
    log(f"signing ceremony {THRESHOLD}-of-{MEMBERS}, {repeats * 4} runs ...")
    sign_s = median_seconds(lambda: run_signing(signers), repeats * 4)

    log(f"resharing {THRESHOLD}-of-{MEMBERS} -> {THRESHOLD}-of-{MEMBERS}, {repeats} runs ...")
    reshare_s = median_seconds(lambda: run_reshare(signers, MEMBERS, THRESHOLD), repeats)

    group_key = encode_element(keys[0].group_public_key)
    signature = run_signing(signers)
    frost_verify_per_s = measure_verify_per_s(group_key, signature, window)

    log("")
    log(f"{'figure':<44}{'value':>14}")
    log(f"{'signing ceremony 7-of-10 (s)':<44}{sign_s:>14.4f}")
    log(f"{'DKG 10 members, threshold 7 (s)':<44}{dkg_s:>14.4f}")
    log(f"{'reshare 7 dealers -> 10 members (s)':<44}{reshare_s:>14.4f}")
    log(f"{'FROST verify_signature (verify/s)':<44}{frost_verify_per_s:>14.0f}")
    log(f"{'reference: coincurve ECDSA verify (verify/s)':<44}{ecdsa_per_s:>14.0f}")

    result = {
        "bench": "threshold",
        "value": round(sign_s, 6),
        "unit": "s",
        "reference": {
            "name": "secp256k1_verify_per_core",
            "value": round(ecdsa_per_s, 1),
            "unit": "verify/s",
        },
        "ratio": round(sign_s / ecdsa_per_s, 12),
        "params": {
            "members": MEMBERS,
            "threshold": THRESHOLD,
            "signers": THRESHOLD,
            "repeats": repeats,
            "quick": args.quick,
            "in_process": True,
            "statistic": "median",
        },
        "extra": {
            "dkg_10_s": round(dkg_s, 6),
            "reshare_10_s": round(reshare_s, 6),
            "signing_ceremony_in_ecdsa_verifies": round(sign_s * ecdsa_per_s, 1),
            "frost_verify_per_s": round(frost_verify_per_s, 1),
            "frost_verify_vs_ecdsa": round(frost_verify_per_s / ecdsa_per_s, 4),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
