"""Benchmark: the verifiable mix's cryptography on one core.

    python -m bench.mix [--quick]

Measures, in this process on one core, with cells of the default width
(W = 8, 176-byte messages) and a mail key shared 3-of-4:

- shuffle with proof (re-encrypt, permute, prove) for batches of 16, 64
  and 256 cells;
- verifying a proof of shuffle for the same sizes; the headline is the
  64-cell verification (issue 17's target: at most 0.5 s on one core),
  reported as cells verified per second, so the ratio to the reference is
  cells per multiplication time (1 / ratio: what a cell's share of a
  proof costs, in raw multiplications);
- a submission proof's verification, a decryption share's making and
  verification, and combining 3 shares, for 64 cells;
- the first computation of the generators H_1..H_256 (cached afterwards);
- end to end on a devnet of 4 node processes (bench.mix_devnet, unless
  ``--no-devnet``): blocks from a full batch's closing to its delivery
  (issue 17's target: at most 10 blocks), over 3 batches (1 with
  ``--quick``, which then takes longer than 60 s: the devnet's DKG alone
  takes tens of seconds).

The reference, measured in the same run, is raw libsecp256k1 point
multiplications per second (coincurve ``PublicKey.multiply``), the
operation verification is made of: ``extra.verify_64_efficiency`` is the
counted terms of scalar multiplication (``shuffle_verification_cost``)
divided by what that many raw multiplications take, i.e. the share of
verification time spent in libsecp256k1. Each figure is the median of
several runs (fewer with --quick). Progress goes to stderr; the last line
of stdout is the JSON result (../shared/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from coincurve import PublicKey

from bench.mix_devnet import measure_delivery
from bench.report import emit, log, rss_mb
from ledger.features.mail.decryption import (
    DecryptionContext,
    combination_cost,
    combine_verified_shares,
    decryption_share_verification_cost,
    make_decryption_share,
    verify_decryption_share,
)
from ledger.features.mail.elgamal import EncryptedCell
from ledger.features.mail.hash_to_curve import independent_generators
from ledger.features.mail.letters import seal_letter
from ledger.features.mail.params import DEFAULT_WIDTH, MAX_BATCH
from ledger.features.mail.shuffle import shuffle_cells
from ledger.features.mail.shuffle_proof import (
    ShuffleContext,
    prove_shuffle,
    shuffle_verification_cost,
    verify_shuffle,
)
from ledger.features.mail.submission import (
    Submission,
    SubmissionContext,
    submission_verification_cost,
    submit_letter,
    verify_submission,
)
from ledger.threshold.group import Point
from ledger.threshold.keys import trusted_dealer_keygen

SEED = 17
SIZES = (16, 64, 256)
HEADLINE_SIZE = 64
TARGET_VERIFY_64_S = 0.5
CHAIN_ID = "bench-mix"


def point_mul_per_s(seconds: float = 1.0) -> float:
    """Raw libsecp256k1 point multiplications per second on this core."""
    rng = random.Random(SEED)
    point = PublicKey.from_valid_secret(rng.randbytes(31).rjust(32, b"\x01"))
    scalars = [rng.randbytes(31).rjust(32, b"\x01") for _ in range(256)]
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for k in scalars:
            point.multiply(k)
        count += len(scalars)
    return count / (time.perf_counter() - start)


def median_time(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def letter_cells(
    count: int, mail_key: Point, rng: random.Random
) -> tuple[tuple[EncryptedCell, ...], Submission, SubmissionContext]:
    """count encrypted letters (to one recipient), and the last submission with its context."""
    recipient = PublicKey.from_valid_secret(b"\x01" * 32).format()
    cells = []
    submission = None
    context = SubmissionContext(CHAIN_ID, b"\x07" * 20, 1)
    for n in range(count):
        letter = seal_letter(recipient, b"bench letter %d" % n, DEFAULT_WIDTH, rng.randbytes)
        submission = submit_letter(mail_key, letter, context, rng.randbytes).submission
        cells.append(submission.cell)
    assert submission is not None
    return tuple(cells), submission, context


SHUFFLE_CONTEXT = ShuffleContext(CHAIN_ID, 1, 0, b"bench-validator")


def measure_shuffle(
    size: int, mail_key: Point, rng: random.Random, repeats: int
) -> tuple[dict[str, object], tuple[EncryptedCell, ...]]:
    """Shuffle-with-proof and verification times for one batch size; also
    returns a shuffled batch for the decryption figures."""
    inputs = letter_cells(size, mail_key, rng)[0]

    def shuffle_and_prove() -> object:
        outputs, witness = shuffle_cells(mail_key, inputs, rng.randbytes)
        return prove_shuffle(mail_key, inputs, outputs, witness, SHUFFLE_CONTEXT, rng.randbytes)

    prove_s = median_time(shuffle_and_prove, repeats)
    outputs, witness = shuffle_cells(mail_key, inputs, rng.randbytes)
    proof = prove_shuffle(mail_key, inputs, outputs, witness, SHUFFLE_CONTEXT, rng.randbytes)
    verify_s = median_time(
        lambda: verify_shuffle(mail_key, inputs, outputs, proof, SHUFFLE_CONTEXT), repeats
    )
    terms = shuffle_verification_cost(size, DEFAULT_WIDTH)
    log(
        f"  {size:>3} cells: shuffle+prove {prove_s:.3f} s, verify {verify_s:.3f} s "
        f"({terms} multiplication terms, {verify_s / size * 1e3:.2f} ms/cell)"
    )
    figures: dict[str, object] = {
        f"shuffle_prove_{size}_s": round(prove_s, 4),
        f"verify_{size}_s": round(verify_s, 4),
        f"verify_{size}_terms": terms,
    }
    return figures, outputs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument(
        "--no-devnet", action="store_true", help="skip the end-to-end devnet figure"
    )
    args = parser.parse_args()
    repeats = {16: 2, 64: 2, 256: 1} if args.quick else {16: 5, 64: 5, 256: 3}
    rng = random.Random(SEED)

    reference = point_mul_per_s(0.5 if args.quick else 2.0)
    mul_us = 1e6 / reference
    log(f"reference: {reference:,.0f} point multiplications/s on one core ({mul_us:.1f} us)")

    start = time.perf_counter()
    independent_generators(max(SIZES))
    generators_s = time.perf_counter() - start
    log(f"generators H_1..H_{max(SIZES)} computed once in {generators_s * 1e3:.0f} ms (cached)")

    keys, public = trusted_dealer_keygen(rng.randrange(1, 2**255), 4, 3, rng.randbytes)
    mail_key = public.group_public_key
    extra: dict[str, object] = {"generators_256_cold_s": round(generators_s, 4)}
    shuffled: dict[int, tuple[EncryptedCell, ...]] = {}
    for size in SIZES:
        figures, shuffled[size] = measure_shuffle(size, mail_key, rng, repeats[size])
        extra.update(figures)
    _, submission, submission_context = letter_cells(1, mail_key, rng)
    extra["verify_submission_s"] = round(
        median_time(
            lambda: verify_submission(mail_key, submission, submission_context, DEFAULT_WIDTH), 20
        ),
        6,
    )
    extra["verify_submission_terms"] = submission_verification_cost(DEFAULT_WIDTH)

    verify_headline = float(extra[f"verify_{HEADLINE_SIZE}_s"])  # type: ignore[arg-type]
    cells = shuffled[HEADLINE_SIZE]
    decryption_context = DecryptionContext(CHAIN_ID, 1)
    shares = [make_decryption_share(k, cells, decryption_context, rng.randbytes) for k in keys[:3]]
    make_share_s = median_time(
        lambda: make_decryption_share(keys[0], cells, decryption_context, rng.randbytes), 3
    )
    verify_share_s = median_time(
        lambda: verify_decryption_share(public, cells, shares[0], decryption_context), 3
    )
    combine_s = median_time(lambda: combine_verified_shares(public, cells, shares), 3)
    log(
        f"  decryption of {HEADLINE_SIZE} cells: make a share {make_share_s:.3f} s, verify one "
        f"{verify_share_s:.3f} s, combine 3 {combine_s:.3f} s"
    )
    efficiency = shuffle_verification_cost(HEADLINE_SIZE, DEFAULT_WIDTH) * mul_us / 1e6
    efficiency /= verify_headline
    extra.update(
        {
            "make_decryption_share_64_s": round(make_share_s, 4),
            "verify_decryption_share_64_s": round(verify_share_s, 4),
            "verify_decryption_share_64_terms": decryption_share_verification_cost(
                HEADLINE_SIZE, DEFAULT_WIDTH
            ),
            "combine_3_shares_64_s": round(combine_s, 4),
            "combine_3_shares_64_terms": combination_cost(HEADLINE_SIZE, DEFAULT_WIDTH, 3),
            "verify_64_target_s": TARGET_VERIFY_64_S,
            "verify_64_meets_target": verify_headline <= TARGET_VERIFY_64_S,
            "verify_64_efficiency": round(efficiency, 3),
            "point_mul_us": round(mul_us, 2),
            "rss_mb_max": round(rss_mb(), 1),
        }
    )
    if not args.no_devnet:
        log("end to end on a 4-node devnet ...")
        extra.update(measure_delivery(1 if args.quick else 3))
    log(
        f"verify {HEADLINE_SIZE} cells: {verify_headline:.3f} s "
        f"(target <= {TARGET_VERIFY_64_S} s); "
        f"{efficiency:.0%} of it in libsecp256k1 multiplications"
    )
    emit(
        "mix",
        HEADLINE_SIZE / verify_headline,
        "cells/s",
        {"name": "secp256k1_point_mul_per_core", "value": round(reference, 1), "unit": "mul/s"},
        {
            "width": DEFAULT_WIDTH,
            "sizes": list(SIZES),
            "headline_size": HEADLINE_SIZE,
            "mail_key": "3-of-4",
            "repeats": {str(size): n for size, n in repeats.items()},
            "quick": args.quick,
            "devnet": not args.no_devnet,
            "max_batch": MAX_BATCH,
        },
        extra,
    )


if __name__ == "__main__":
    main()
