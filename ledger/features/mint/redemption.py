"""The validators' check of a note at redemption: is C == k*hash_to_curve(secret)?

Nobody holds k, so each key holder evaluates its share k_i*Y with a proof
(``evaluation``), and any t valid shares combine to k*Y, compared with the
note's C. Y is always computed here from the secret, never taken from the
request: only hash outputs are evaluated.

Evaluating k*Y *is* signing the secret: the combined value is a valid note
for that secret whatever the presented C was. So the caller must mark the
secret spent (or locked) before any share is published, and keep it spent
whether or not the check succeeds; otherwise a request with a fresh secret
and a garbage C would make the validators mint a note for free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.threshold.group import Point, RandomBytes
from ledger.threshold.keys import KeyPackage, PublicKeyPackage

from .bdhke import secret_point
from .evaluation import EvaluationShare, combine_evaluation_shares, evaluate


@dataclass(frozen=True)
class RedemptionVerdict:
    """The outcome of a note check: ``valid`` if k*Y equals the note's C;
    ``signers`` are the members whose shares were combined, ``rejected`` those
    whose shares failed (to be recorded against them)."""

    valid: bool
    signers: tuple[int, ...]
    rejected: tuple[int, ...]


def evaluate_note(
    key: KeyPackage, secret: str, context: bytes, rng: RandomBytes
) -> EvaluationShare:
    """This holder's share k_i*Y for the note secret, with its proof bound to
    context (chain id, redemption request, keyset, amount).

    Raises InvalidRandomness if rng misbehaves.
    """
    return evaluate(key, secret_point(secret), context, rng)


def check_note(
    public: PublicKeyPackage,
    secret: str,
    signature: Point,
    shares: Iterable[EvaluationShare],
    context: bytes,
) -> RedemptionVerdict:
    """Combine the valid shares of k*Y and compare with the note's C.

    Raises NotEnoughShares (naming the rejected members) if fewer than t
    shares are valid: the note is then neither accepted nor refused.
    """
    combined = combine_evaluation_shares(public, secret_point(secret), shares, context)
    valid = not signature.is_identity() and combined.value == signature
    return RedemptionVerdict(valid, combined.signers, combined.rejected)
