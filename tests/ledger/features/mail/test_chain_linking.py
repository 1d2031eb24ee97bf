"""The linking adversary of test_linking.py, against the mix as the chain
runs it: letters through a remailer, shuffles and decryption shares posted
by the validators' own duties (consensus.node.mail.duties), all of it read
back from the blocks.

Setting: the MailChain's 4 equal validators (f = 1), mail key 3-of-4 from
the DKG, batches of N = 8 letters of width 3. Each batch: 8 senders send in
one block, in a fixed order (so input position = transaction order and
timing), to 8 recipients in a secret random order; the chain closes the
batch, two validators shuffle in turn (the schedule rotates with the batch
id), three decrypt, the chain delivers. The adversary holds every block
(each letter's transaction and sender, every shuffle with its proof, every
decryption share), the mailboxes, and the complete secret state of
validator 0: it is corrupted and keeps the witness of every shuffle it
makes (it is a shuffler in half of the batches, first or second) and its
key share.

It names a sender for every delivered letter with the six strategies of
test_linking.py; each total over the batches must fall inside the two-sided
acceptance region of the exact null distribution (sums of rencontres
distributions), family-wise false alarm below 0.1% (see test_linking.py).
Its power on chain data: with every validator keeping its witnesses, the
insider strategy names every sender (test_linking.py shows the other
broken mixes caught on the pure pipeline).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import SimpleNamespace

from consensus.node.mail.duties import Body, MailDuties
from ledger.features.contracts.bodies import Call
from ledger.features.mail.bodies import MailDecrypt, MailShuffle
from ledger.features.mail.config import MailConfig
from ledger.features.mail.decryption import combine_verified_shares
from ledger.features.mail.elgamal import EncryptedCell, decode_cell
from ledger.features.mail.key import MailKey
from ledger.features.mail.letters import letter_from_points
from ledger.features.mail.records import DELIVERED, Batch, get_cells
from ledger.features.mail.shuffle import ShuffleWitness, shuffle_cells
from ledger.features.mail.shuffle_proof import ShuffleContext, prove_shuffle
from ledger.features.mail.wire import (
    decode_decryption_share,
    decode_shuffle,
    decode_submission,
    encode_shuffle,
)
from ledger.state import State
from tests.ledger.features.mail.mail_chain import (
    CHAIN,
    VALIDATOR_KEYS,
    MailChain,
    address,
)
from tests.ledger.features.mail.test_linking import (
    ALPHA,
    STRATEGIES,
    Step,
    View,
    correct_names,
    sum_distribution,
    tails,
)

N = 8
WIDTH = 3
BATCHES = 60
SENDERS = range(0, N)
RECIPIENTS = range(N, 2 * N)
CORRUPTED = VALIDATOR_KEYS[0].public_key
CONFIG = MailConfig(cell_width=WIDTH, batch_cells=N, batch_blocks=50, shuffle_timeout_blocks=3)


@dataclass
class LeakyDuties(MailDuties):
    """A corrupted validator's duties: it shuffles honestly but keeps every witness."""

    witnesses: dict[tuple[int, int], ShuffleWitness] = field(default_factory=dict)

    def _shuffle(self, state: State, key: MailKey, batch: Batch, width: int) -> Body | None:
        run = (batch.batch_id, batch.step)
        if run in self.shuffled:
            return None
        self.shuffled.add(run)
        inputs = tuple(decode_cell(cell, width) for cell in get_cells(state, batch))
        outputs, witness = shuffle_cells(key.public_key, inputs, self.rng)
        self.witnesses[run] = witness
        context = ShuffleContext(self.chain_id, batch.batch_id, batch.step, self.me)
        proof = prove_shuffle(key.public_key, inputs, outputs, witness, context, self.rng)
        return MailShuffle(batch.batch_id, batch.step, encode_shuffle(outputs, proof))


def _batch_view(
    chain: MailChain, leaky: dict[bytes, LeakyDuties], batch_id: int, start: int
) -> View:
    """The adversary's view of one batch, from the transactions included since ``start``."""
    submissions, senders, steps, shares = [], [], [], []
    cells: tuple[EncryptedCell, ...] = ()
    for tx, receipt in chain.included[start:]:
        if receipt.status != 0:
            continue
        body = tx.body
        accepted = [e for e in receipt.events if e.kind == "mail_letter_accepted"]
        if (
            isinstance(body, Call)
            and accepted
            and dict(accepted[0].attributes)["batch"] == batch_id
        ):
            (data,) = body.args
            assert isinstance(data, bytes)
            submissions.append(data)
            senders.append(tx.sender_address)
            cells = (*cells, decode_submission(data, WIDTH).cell)
        elif isinstance(body, MailShuffle) and body.batch_id == batch_id:
            outputs, proof = decode_shuffle(body.shuffle, N, WIDTH)
            context = ShuffleContext(CHAIN, batch_id, body.step, tx.sender)
            keeper = leaky.get(tx.sender)
            known = keeper.witnesses.get((batch_id, body.step)) if keeper else None
            steps.append(Step(context, cells, outputs, proof, known))
            cells = outputs
        elif isinstance(body, MailDecrypt) and body.batch_id == batch_id:
            shares.append(decode_decryption_share(body.share, N, WIDTH))
    plaintexts = combine_verified_shares(chain.key.public_package(), cells, shares)
    letters = [letter_from_points(points) for points in plaintexts]
    return View(
        SimpleNamespace(public_key=chain.key.public_key),  # type: ignore[arg-type]
        tuple(submissions),
        tuple(senders),
        tuple(steps),
        tuple(letter.recipient for letter in letters),
        tuple(len(letter.sealed) for letter in letters),
        chain.shares[CORRUPTED],
    )


def run_chain_batches(
    batches: int, corrupted: tuple[bytes, ...]
) -> list[tuple[View, tuple[int, ...]]]:
    """``batches`` batches through the chain with the validators ``corrupted``
    keeping their witnesses; the adversary's view and the truth of each."""
    chain = MailChain(CONFIG, seed=31)
    leaky = {key: LeakyDuties(CHAIN, key, random.Random(key).randbytes) for key in corrupted}
    chain.duties.update(leaky)
    chain.deploy_remailer()
    chain.block(*(chain.buy_postage(i, batches) for i in SENDERS))
    rng = random.Random(20251204)
    views = []
    for batch_id in range(1, batches + 1):
        order = list(RECIPIENTS)
        rng.shuffle(order)  # sender SENDERS[n] writes to order[n]
        start = len(chain.included)
        pairs = enumerate(zip(SENDERS, order, strict=True))
        letters = [chain.letter(s, r, b"hello %d" % n) for n, (s, r) in pairs]
        chain.block(*(letter.tx for letter in letters))
        for _ in range(12):
            chain.run(1)
            if chain.batch(batch_id).status == DELIVERED:
                break
        assert chain.batch(batch_id).status == DELIVERED
        view = _batch_view(chain, leaky, batch_id, start)
        assert list(view.senders) == [address(s) for s in SENDERS]
        intended = {address(r): n for n, r in enumerate(order)}
        truth = tuple(intended[recipient] for recipient in view.delivered)
        views.append((view, truth))
    return views


def test_a_corrupted_validator_and_every_block_name_senders_no_better_than_chance() -> None:
    views = run_chain_batches(BATCHES, (CORRUPTED,))
    corrupted_batches = sum(1 for view, _ in views if any(s.known_witness for s in view.steps))
    assert BATCHES // 3 <= corrupted_batches <= 2 * BATCHES // 3
    distribution = sum_distribution(N, BATCHES)
    bound = ALPHA / (2 * len(STRATEGIES))
    report = []
    for name, correct in correct_names(views).items():
        low, high = tails(distribution, correct)
        report.append(
            f"{name}: {correct} of {N * BATCHES} (chance {BATCHES}), tails {low:.3g} {high:.3g}"
        )
        assert low > bound and high > bound, "\n".join(report)


def test_the_chain_test_catches_every_shuffler_corrupted() -> None:
    """Its power: with every validator keeping its witness, the insider names
    every sender within a few batches."""
    batches = 5
    views = run_chain_batches(batches, tuple(k.public_key for k in VALIDATOR_KEYS))
    correct = correct_names(views)["insider"]
    assert correct == N * batches
    _, high = tails(sum_distribution(N, batches), correct)
    assert high < ALPHA / (2 * len(STRATEGIES))
