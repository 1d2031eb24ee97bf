"""A linking adversary against the pure mix: it names the sender of every
delivered letter no better than chance while one shuffler is honest.

Setting: 4 validators, f = 1, mail key 3-of-4 (t = 3 > f). Each batch holds
N = 8 letters from 8 senders, submitted one after the other (so the input
order is the submission order and timing), to recipients in a secret random
order; 2 = f + 1 validators shuffle in turn with proofs; 3 key holders
decrypt and the letters are delivered. The adversary holds everything
public (submissions in order, every cell, shuffle and proof, decryption
shares, delivered letters and their positions, sizes) and the secret state
of one validator: its shuffle witness (it is the first shuffler in even
batches, the second in odd ones) and its key share.

For each delivered letter it names a sender, with each of these strategies
(each names a different sender for every letter, i.e. a permutation):
  order       output i came from input i (timing and order);
  insider     undo the corrupted shuffle exactly, assume the honest one kept order;
  nonce-leak  recover the honest shuffle from its proof as if its nonces
              leaked (u'_i = s'_i / c), matched against the challenges u_j;
  no-reencrypt match outputs of the honest shuffle to inputs by equal components;
  public-seed assume the honest shuffle is the old remailer's public
              SHA-256 Fisher-Yates of the batch digest;
  sizes       match by encoded sizes (all equal, so it degenerates to order).

The test. If the honest shuffle hides its permutation, each strategy's
guess is a permutation independent of the truth, so its number of correct
names in a batch is the number of fixed points of a uniformly random
permutation of N (mean 1, the chance level 1/N per letter), independently
across batches. Over B = 120 batches the total S has an exactly computable
distribution (sum of B rencontres distributions). A strategy passes if S is
in neither tail: P(S >= s) and P(S <= s) both above alpha / (2 * 6), with
alpha = 0.001 (Bonferroni over the six strategies, two-sided: doing worse
than chance would also show information). So an honest mix fails this test
with probability below 0.1% over seeds; the seed is fixed, so the run is
reproducible. The power tests run the same adversary against broken mixes
(every shuffler corrupted; a shuffler that skips re-encryption; one that
uses the public seed) and must catch each within 10 batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from math import comb, factorial

import pytest

from ledger.features.mail import wire
from ledger.features.mail.decryption import (
    DecryptionContext,
    combine_verified_shares,
    make_decryption_share,
)
from ledger.features.mail.elgamal import EncryptedCell
from ledger.features.mail.letters import letter_from_points, seal_letter
from ledger.features.mail.shuffle import ShuffleWitness, apply_shuffle, random_permutation
from ledger.features.mail.shuffle_proof import (
    ShuffleContext,
    ShuffleProof,
    _statement_digest,
    prove_shuffle,
)
from ledger.features.mail.submission import SubmissionContext, submit_letter
from ledger.features.mail.transcript import indexed_scalars, random_scalar
from ledger.threshold.group import ORDER, RandomBytes
from ledger.threshold.keys import KeyPackage

from .conftest import CHAIN_ID, MailKey, Person, make_mail_key, make_people, seeded_rng

N = 8
WIDTH = 3
BATCHES = 120
ALPHA = 0.001
CORRUPTED_VALIDATOR = 1  # its key share is mail key member 1


@dataclass(frozen=True)
class Step:
    """One shuffle as the chain records it, plus the witness if the adversary holds it."""

    context: ShuffleContext
    inputs: tuple[EncryptedCell, ...]
    outputs: tuple[EncryptedCell, ...]
    proof: ShuffleProof
    known_witness: ShuffleWitness | None


@dataclass(frozen=True)
class View:
    """What the adversary holds about one batch."""

    mail_key: MailKey
    submissions: tuple[bytes, ...]  # in submission order
    senders: tuple[bytes, ...]  # their addresses, same order
    steps: tuple[Step, ...]
    delivered: tuple[bytes, ...]  # recipient address of each output position
    delivered_sizes: tuple[int, ...]
    key_share: KeyPackage


ShuffleMaker = Callable[[int, RandomBytes, tuple[EncryptedCell, ...], int], ShuffleWitness]


def honest_witness(
    step: int, rng: RandomBytes, inputs: tuple[EncryptedCell, ...], batch: int
) -> ShuffleWitness:
    permutation = random_permutation(len(inputs), rng)
    randomness = tuple(tuple(random_scalar(rng) for _ in range(WIDTH)) for _ in inputs)
    return ShuffleWitness(permutation, randomness)


def run_batch(
    batch: int,
    mail_key: MailKey,
    senders: list[Person],
    recipients: list[Person],
    corrupted_steps: set[int],
    make_witness: ShuffleMaker = honest_witness,
) -> tuple[View, tuple[int, ...]]:
    """Run one batch; return the adversary's view and the truth (the input
    position of every output position)."""
    rng = seeded_rng(1_000_003 * batch + 17)
    order = random_permutation(N, rng)  # sender n writes to recipients[order[n]]
    submissions, cells = [], []
    for n, sender in enumerate(senders):
        letter = seal_letter(recipients[order[n]].public_key, b"hello %d" % n, WIDTH, rng)
        context = SubmissionContext(CHAIN_ID, sender.address, batch)
        submission = submit_letter(mail_key.public_key, letter, context, rng).submission
        submissions.append(wire.encode_submission(submission))
        cells.append(submission.cell)
    current = tuple(cells)
    truth = tuple(range(N))
    steps = []
    for step in range(2):
        witness = make_witness(step, rng, current, batch)
        outputs = apply_shuffle(mail_key.public_key, current, witness)
        context = ShuffleContext(CHAIN_ID, batch, step, b"validator-%d" % step)
        proof = prove_shuffle(mail_key.public_key, current, outputs, witness, context, rng)
        known = witness if step in corrupted_steps else None
        steps.append(Step(context, current, outputs, proof, known))
        truth = tuple(truth[j] for j in witness.permutation)
        current = outputs
    context = DecryptionContext(CHAIN_ID, batch)
    shares = [make_decryption_share(key, current, context, rng) for key in mail_key.keys[:3]]
    letters = [
        letter_from_points(points)
        for points in combine_verified_shares(mail_key.public, current, shares)
    ]
    view = View(
        mail_key,
        tuple(submissions),
        tuple(s.address for s in senders),
        tuple(steps),
        tuple(letter.recipient for letter in letters),
        tuple(len(letter.sealed) for letter in letters),
        mail_key.keys[CORRUPTED_VALIDATOR - 1],
    )
    # Sanity: the delivered recipient of each output is the truth's recipient.
    assert all(view.delivered[i] == recipients[order[truth[i]]].address for i in range(N))
    return view, truth


# -- the adversary's strategies: each returns guess[i] = input position of output i --


def _compose(guesses: list[tuple[int, ...]]) -> tuple[int, ...]:
    result = tuple(range(N))
    for permutation in guesses:
        result = tuple(result[j] for j in permutation)
    return result


def _per_step(view: View, honest_guess: Callable[[Step], tuple[int, ...]]) -> tuple[int, ...]:
    guesses = [
        step.known_witness.permutation if step.known_witness else honest_guess(step)
        for step in view.steps
    ]
    return _compose(guesses)


def _complete(partial: dict[int, int]) -> tuple[int, ...]:
    """A permutation extending a partial injective map, the rest in order."""
    free = [j for j in range(N) if j not in partial.values()]
    return tuple(partial[i] if i in partial else free.pop(0) for i in range(N))


def order_strategy(view: View) -> tuple[int, ...]:
    return tuple(range(N))


def insider_strategy(view: View) -> tuple[int, ...]:
    return _per_step(view, lambda step: tuple(range(N)))


def nonce_leak_strategy(view: View) -> tuple[int, ...]:
    def guess(step: Step) -> tuple[int, ...]:
        statement = _statement_digest(
            view.mail_key.public_key,
            step.inputs,
            step.outputs,
            step.context,
            step.proof.permutation_commitment,
        )
        u = indexed_scalars(b"shuffle-u", statement, N)
        inverse_c = pow(step.proof.challenge, -1, ORDER)
        position = {value: j for j, value in enumerate(u)}
        partial: dict[int, int] = {}
        for i, s in enumerate(step.proof.s_prime):
            j = position.get(s * inverse_c % ORDER)
            if j is not None and j not in partial.values():
                partial[i] = j
        return _complete(partial)

    return _per_step(view, guess)


def no_reencrypt_strategy(view: View) -> tuple[int, ...]:
    def guess(step: Step) -> tuple[int, ...]:
        partial: dict[int, int] = {}
        for i, out in enumerate(step.outputs):
            for j, cell in enumerate(step.inputs):
                shared = {c.a for c in out.components} & {c.a for c in cell.components}
                if shared and j not in partial.values():
                    partial[i] = j
                    break
        return _complete(partial)

    return _per_step(view, guess)


def public_seed_permutation(inputs: tuple[EncryptedCell, ...], batch: int) -> tuple[int, ...]:
    """The old remailer's order: Fisher-Yates driven by SHA-256 of public data."""
    seed = hashlib.sha256(wire.encode_batch(inputs) + batch.to_bytes(8, "big")).digest()
    items = list(range(len(inputs)))
    for i in range(len(items) - 1, 0, -1):
        j = int.from_bytes(hashlib.sha256(seed + i.to_bytes(4, "big")).digest(), "big") % (i + 1)
        items[i], items[j] = items[j], items[i]
    return tuple(items)


def public_seed_strategy(view: View) -> tuple[int, ...]:
    return _per_step(view, lambda step: public_seed_permutation(step.inputs, step.context.batch))


def sizes_strategy(view: View) -> tuple[int, ...]:
    by_input = sorted(range(N), key=lambda j: (len(view.submissions[j]), j))
    by_output = sorted(range(N), key=lambda i: (view.delivered_sizes[i], i))
    guess = dict(zip(by_output, by_input, strict=True))
    return tuple(guess[i] for i in range(N))


STRATEGIES: dict[str, Callable[[View], tuple[int, ...]]] = {
    "order": order_strategy,
    "insider": insider_strategy,
    "nonce-leak": nonce_leak_strategy,
    "no-reencrypt": no_reencrypt_strategy,
    "public-seed": public_seed_strategy,
    "sizes": sizes_strategy,
}


# -- the null distribution --------------------------------------------------------


def fixed_point_distribution(n: int) -> list[float]:
    """P(a uniformly random permutation of n has exactly k fixed points), k = 0..n."""
    derangements = [1, 0]
    for m in range(2, n + 1):
        derangements.append((m - 1) * (derangements[-1] + derangements[-2]))
    return [comb(n, k) * derangements[n - k] / factorial(n) for k in range(n + 1)]


def sum_distribution(n: int, batches: int) -> list[float]:
    """The distribution of the total fixed points over independent batches."""
    single = fixed_point_distribution(n)
    total = [1.0]
    for _ in range(batches):
        convolved = [0.0] * (len(total) + n)
        for s, p in enumerate(total):
            for k, q in enumerate(single):
                convolved[s + k] += p * q
        total = convolved
    return total


def tails(distribution: list[float], observed: int) -> tuple[float, float]:
    """(P(S <= observed), P(S >= observed))."""
    return sum(distribution[: observed + 1]), sum(distribution[observed:])


def correct_names(views: list[tuple[View, tuple[int, ...]]]) -> dict[str, int]:
    totals = dict.fromkeys(STRATEGIES, 0)
    for view, truth in views:
        for name, strategy in STRATEGIES.items():
            guess = strategy(view)
            assert sorted(guess) == list(range(N)), f"{name} does not name a permutation"
            totals[name] += sum(g == t for g, t in zip(guess, truth, strict=True))
    return totals


def run_batches(
    count: int, corrupted: Callable[[int], set[int]], make_witness: ShuffleMaker = honest_witness
) -> list[tuple[View, tuple[int, ...]]]:
    mail_key = make_mail_key(404)
    people = make_people(2 * N, seeded_rng(405))
    senders, recipients = people[:N], people[N:]
    return [
        run_batch(batch, mail_key, senders, recipients, corrupted(batch), make_witness)
        for batch in range(count)
    ]


def one_insider(batch: int) -> set[int]:
    return {batch % 2}


def test_fixed_point_distribution_is_exact() -> None:
    distribution = fixed_point_distribution(N)
    assert abs(sum(distribution) - 1) < 1e-12
    assert abs(sum(k * p for k, p in enumerate(distribution)) - 1) < 1e-12
    assert distribution[N - 1] == 0  # N - 1 fixed points force the last one
    total = sum_distribution(N, 3)
    assert abs(sum(s * p for s, p in enumerate(total)) - 3) < 1e-9


def test_one_honest_shuffler_hides_every_sender() -> None:
    views = run_batches(BATCHES, one_insider)
    assert len({len(s) for view, _ in views for s in view.submissions}) == 1
    assert len({size for view, _ in views for size in view.delivered_sizes}) == 1
    distribution = sum_distribution(N, BATCHES)
    bound = ALPHA / (2 * len(STRATEGIES))
    report = []
    for name, correct in correct_names(views).items():
        low, high = tails(distribution, correct)
        report.append(
            f"{name}: {correct} of {N * BATCHES} (chance {BATCHES}), tails {low:.3g} {high:.3g}"
        )
        assert low > bound and high > bound, "\n".join(report)


@pytest.mark.parametrize(
    ("broken", "strategy"),
    [
        ("every shuffler corrupted", "insider"),
        ("no re-encryption", "no-reencrypt"),
        ("public seed", "public-seed"),
    ],
)
def test_the_test_catches_broken_mixes(broken: str, strategy: str) -> None:
    batches = 10

    def corrupted(batch: int) -> set[int]:
        return {0, 1} if broken == "every shuffler corrupted" else one_insider(batch)

    def make_witness(
        step: int, rng: RandomBytes, inputs: tuple[EncryptedCell, ...], batch: int
    ) -> ShuffleWitness:
        witness = honest_witness(step, rng, inputs, batch)
        if broken == "no re-encryption":
            return ShuffleWitness(witness.permutation, tuple((0,) * WIDTH for _ in inputs))
        if broken == "public seed":
            return ShuffleWitness(public_seed_permutation(inputs, batch), witness.randomness)
        return witness

    views = run_batches(batches, corrupted, make_witness)
    correct = correct_names(views)[strategy]
    _, high = tails(sum_distribution(N, batches), correct)
    assert high < ALPHA / (2 * len(STRATEGIES)), f"{strategy} named {correct} of {N * batches}"
