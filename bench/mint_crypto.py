"""The mint's cryptography on one core: what a share, a verification and a
whole threshold issuance cost.

    python -m bench.mint_crypto [--quick] [--members 4] [--threshold 3]

In process, one core, keys from a trusted dealer (key generation is not
measured; bench.threshold measures the DKG). Per operation, the rate over a
bounded timed loop:

- issuance share: ``issuance_commit`` (C_i = k_i*B_ with its equal-log
  proof, a fresh nonce pair with its proof): what each validator computes
  per blinded message in round 1;
- issuance share check: ``verify_issuance_commitment``;
- response: ``issuance_respond`` (challenge over the t commitments, s_i);
- aggregation: ``aggregate_issuance`` (checks t commitments and t responses);
- redemption share and its check: ``evaluate_note`` / ``verify_evaluation_share``;
- combined proof check: NUT-12 ``verify_blind_signature_proof`` (what a
  wallet does), and ``verify_note_proof`` (with r, what a receiver does);
- hash_to_curve.

The headline is notes issued per second when one core runs the whole
ceremony of t members (t commits, t responses, one aggregation): the
crypto ceiling of issuance before any network or chain cost. The reference,
measured in the same run, is raw libsecp256k1 ECDSA verifications per
second through coincurve (bench/report.py). Progress on stderr, the JSON
line last on stdout (../shared/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from bench.report import emit, log, secp256k1_verify_per_core
from ledger.features.mint import bdhke, dleq, evaluation, issuance, redemption
from ledger.threshold.keys import trusted_dealer_keygen

MINT_SECRET = 0x6D696E74  # known only to this benchmark: dealer-made keys
CONTEXT = b"bench.mint_crypto"


def rate(action: Callable[[], object], seconds: float, max_count: int) -> float:
    """Calls of action per second over about ``seconds`` (at most max_count calls)."""
    action()  # warm up
    count = 0
    start = time.perf_counter()
    while count < max_count:
        action()
        count += 1
        if time.perf_counter() - start >= seconds:
            break
    return count / (time.perf_counter() - start)


def crypto_costs(
    members: int, threshold: int, seconds: float, max_count: int = 50_000
) -> dict[str, float]:
    """Operations per second on this core (see the module docstring), by name."""
    rng = random.Random(2024).randbytes
    keys, public = trusted_dealer_keygen(MINT_SECRET, members, threshold, rng)
    signers = keys[:threshold]
    r = bdhke.random_blinding_factor(rng)
    blinded = bdhke.blind_message(b"bench note", r)
    rounds = [issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in signers]
    commitments = [c for _, c in rounds]
    responses = [
        issuance.issuance_respond(k, n, blinded, commitments, CONTEXT)
        for k, (n, _) in zip(signers, rounds, strict=True)
    ]
    signed = issuance.aggregate_issuance(public, blinded, commitments, responses, CONTEXT)
    mint_key = public.group_public_key
    note = bdhke.unblind_signature(signed.blind_signature, r, mint_key)
    secret = "bench note"
    y = bdhke.secret_point(secret)
    redemption_share = redemption.evaluate_note(keys[0], secret, CONTEXT, rng)

    def whole_issuance() -> None:
        made = [issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in signers]
        listed = [c for _, c in made]
        answers = [
            issuance.issuance_respond(k, n, blinded, listed, CONTEXT)
            for k, (n, _) in zip(signers, made, strict=True)
        ]
        issuance.aggregate_issuance(public, blinded, listed, answers, CONTEXT)

    measures: dict[str, Callable[[], object]] = {
        "issuance_share": lambda: issuance.issuance_commit(signers[0], blinded, CONTEXT, rng),
        "issuance_share_check": lambda: issuance.verify_issuance_commitment(
            public, blinded, commitments[0], CONTEXT
        ),
        "issuance_response": lambda: issuance.issuance_respond(
            signers[0], rounds[0][0], blinded, commitments, CONTEXT
        ),
        "issuance_aggregation": lambda: issuance.aggregate_issuance(
            public, blinded, commitments, responses, CONTEXT
        ),
        "redemption_share": lambda: redemption.evaluate_note(keys[0], secret, CONTEXT, rng),
        "redemption_share_check": lambda: evaluation.verify_evaluation_share(
            public, y, redemption_share, CONTEXT
        ),
        "nut12_blind_signature_check": lambda: dleq.verify_blind_signature_proof(
            mint_key, blinded, signed.blind_signature, signed.proof
        ),
        "nut12_note_check": lambda: dleq.verify_note_proof(
            mint_key, secret.encode(), note, signed.proof, r
        ),
        "hash_to_curve": lambda: bdhke.hash_to_curve(rng(32)),
        "whole_issuance": whole_issuance,
    }
    rates = {}
    for name, action in measures.items():
        rates[name] = rate(action, seconds, max_count)
        log(f"{name:30s} {rates[name]:10.0f} /s  {1e6 / rates[name]:8.0f} us")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--threshold", type=int, default=3)
    args = parser.parse_args()
    seconds = 0.4 if args.quick else 2.0
    log("measuring the reference (raw coincurve ECDSA verification)...")
    reference = secp256k1_verify_per_core(seconds=seconds)
    rates = crypto_costs(args.members, args.threshold, seconds)
    log(f"{'reference ECDSA verify':30s} {reference:10.0f} /s  {1e6 / reference:8.0f} us")
    emit(
        "mint_crypto",
        rates["whole_issuance"],
        "notes/s",
        {"name": "secp256k1_verify_per_core", "value": round(reference, 1), "unit": "verify/s"},
        {
            "members": args.members,
            "threshold": args.threshold,
            "seconds_per_measure": seconds,
            "quick": args.quick,
            "keys": "trusted dealer",
        },
        {
            **{f"{name}_per_s": round(value, 1) for name, value in rates.items()},
            **{f"{name}_us": round(1e6 / value, 1) for name, value in rates.items()},
            **{f"{name}_in_verifies": round(reference / value, 2) for name, value in rates.items()},
        },
    )


if __name__ == "__main__":
    main()
