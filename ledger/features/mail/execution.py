"""The mix on chain: letters in, batches closed, shuffled by validators in
turn, decrypted by the key holders, delivered to mailboxes.

1. **Letters.** A remailer contract passes a letter on as a message to
   ``MIX_ADDRESS`` (``accept_letter``). The chain checks the postage the
   message carries (``postage_terms`` x ``gas_per_term`` gas, burned from
   the remailer's cpu), decodes the submission and verifies its proof of
   knowledge of the encryption randomness against the *origin*: the
   transaction that called the remailer, by signer and nonce. A copy or
   re-encryption of someone else's cell, or a cell the batch already holds,
   is refused. The letter joins the open batch.
2. **Closing.** The open batch closes when it holds ``batch_cells`` letters
   or its first letter has waited ``batch_blocks`` blocks, and fewer than
   ``max_batches_in_flight`` batches are still in flight. Its shuffle
   schedule is the validator set of that block, in address order rotated by
   the batch id, with their voting power.
3. **Shuffles** (``submit_shuffle``, kind 70). The validator whose turn it
   is posts the batch re-encrypted and permuted, with its proof; the chain
   verifies it (``shuffle_verification_cost`` terms) and replaces the batch.
   A bad proof is refused and recorded against its author, and so is a
   validator that lets ``shuffle_timeout_blocks`` pass (``advance_batches``);
   either way the turn passes on. Once shufflers holding more than a third
   of the voting power (with equal powers: f + 1 of them) have shuffled, the
   batch goes to decryption; if the schedule runs out first, it fails.
4. **Decryption** (``submit_decryption``, kind 71). Each holder of the mail
   key posts its decryption share of the shuffled batch, with its
   Chaum-Pedersen proof, made with its share of the key's current epoch.
   When t verified shares of that epoch are in, the chain combines them and
   delivers each letter, ``(recipient, sealed)``, to its recipient's
   mailbox; cells that do not decrypt to a well-formed letter are counted
   undeliverable. A batch not decrypted within
   ``decryption_timeout_blocks`` fails.

Every verification is priced in terms of scalar multiplication (the pure
modules' cost functions) times ``gas_per_term``; the receipts report it as
``gas_used``. The letters' postage pays for their batch's verifications in
advance, so the validators' transactions pay only their fee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from ledger.address import address_of
from ledger.context import BlockContext, Delivery, Outcome
from ledger.exceptions import (
    AlreadyExists,
    ExecutionFailure,
    InvalidOperation,
    NotAuthorized,
    UnknownRecord,
)
from ledger.features.mail.bodies import MailDecrypt, MailShuffle
from ledger.features.mail.config import MailConfig, get_config
from ledger.features.mail.decryption import (
    DecryptionContext,
    DecryptionShare,
    combination_cost,
    combine_verified_shares,
    decryption_share_verification_cost,
    verify_decryption_share,
)
from ledger.features.mail.elgamal import EncryptedCell, decode_cell, encode_cell
from ledger.features.mail.errors import InvalidLetter, MailError
from ledger.features.mail.key import MailKey, mail_key
from ledger.features.mail.letters import letter_from_points
from ledger.features.mail.mailboxes import deliver_letters, expire_letters
from ledger.features.mail.records import (
    DECRYPTING,
    DELIVERED,
    FAILED,
    OPEN,
    SHUFFLING,
    Batch,
    delete_cells,
    delete_shares,
    get_batch,
    get_cells,
    get_meta,
    get_share,
    open_batch,
    record_fault,
    set_batch,
    set_cell,
    set_cells,
    set_meta,
    set_share,
)
from ledger.features.mail.shuffle_proof import (
    ShuffleContext,
    shuffle_verification_cost,
    verify_shuffle,
)
from ledger.features.mail.submission import (
    SubmissionContext,
    cell_fingerprint,
    submission_verification_cost,
    verify_submission,
)
from ledger.features.mail.wire import (
    decode_decryption_share,
    decode_shuffle,
    decode_submission,
)
from ledger.features.validators.interface import Validator, validator_set_at
from ledger.state import State
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import Point
from ledger.types import Event, Transaction

from .bodies import SUBMIT_ENTRY


class MixProofRejected(ExecutionFailure):
    """A shuffle whose proof does not verify, or a decryption share whose
    proof does not: refused, and recorded against the validator who sent it."""

    status = 70


TIMEOUT: Final = "timeout"
BAD_PROOF: Final = "bad proof"


def mail_event(kind: str, attributes: Sequence[tuple[str, object]]) -> Event:
    """An event with its attributes in key order (docs/spec/transactions.md)."""
    return Event(kind, tuple(sorted(attributes)))


def _require_config(state: State) -> MailConfig:
    config = get_config(state)
    if config is None:
        raise UnknownRecord("this chain has no mail")
    return config


def _require_key(state: State) -> MailKey:
    key = mail_key(state)
    if key is None:
        raise InvalidOperation("the validators have not made the mail key yet")
    return key


# -- postage --------------------------------------------------------------------
def most_shuffles(validators: Sequence[Validator]) -> int:
    """How many shuffles a batch may need at most: the fewest validators
    whose power is more than a third of the total, counted from the weakest
    (with equal powers: f + 1)."""
    total = sum(v.power for v in validators)
    power = 0
    for count, validator in enumerate(sorted(v.power for v in validators), start=1):
        power += validator
        if 3 * power > total:
            return count
    return len(validators)


def postage_terms(config: MailConfig, shuffles: int, threshold: int) -> int:
    """Terms of scalar multiplication one letter costs the chain: its own
    submission, its share of every shuffle, of every decryption share and of
    combining them (docs/spec/mail.md)."""
    width = config.cell_width
    return (
        submission_verification_cost(width)
        + shuffles * (4 * width + 5)
        + threshold * 2 * width
        + width * (threshold + 1)
    )


def postage_gas(state: State, config: MailConfig, key: MailKey, height: int) -> int:
    """The gas a letter's message must carry to the mix at ``height``."""
    shuffles = most_shuffles(validator_set_at(state, height))
    return postage_terms(config, shuffles, key.threshold) * config.gas_per_term


# -- letters --------------------------------------------------------------------
def accept_letter(state: State, ctx: BlockContext, delivery: Delivery) -> Outcome:
    """The mix's system address: take one letter from a remailer into the
    open batch. Raises ExecutionFailure to refuse it (see the module
    docstring); a refused proof still burns its verification's gas."""
    config = _require_config(state)
    if delivery.entry != SUBMIT_ENTRY or len(delivery.args) != 1:
        raise InvalidOperation(f"the mix takes {SUBMIT_ENTRY}(submission bytes)")
    (data,) = delivery.args
    if not isinstance(data, bytes):
        raise InvalidOperation(f"the mix takes {SUBMIT_ENTRY}(submission bytes)")
    if delivery.origin.nonce is None:
        raise InvalidOperation("a letter must come from a transaction, not a scheduled run")
    key = _require_key(state)
    postage = postage_gas(state, config, key, ctx.height)
    if delivery.gas < postage:
        raise InvalidOperation(
            f"postage: the mix needs {postage} gas, the message carries {delivery.gas}"
        )
    try:
        submission = decode_submission(data, config.cell_width)
    except (MailError, ThresholdError) as exc:
        raise InvalidOperation(f"not a submission: {exc}") from None
    batch = open_batch(state)
    if batch.cells >= config.batch_cells:
        raise InvalidOperation("the open batch is full while earlier batches are in flight")
    fingerprint = cell_fingerprint(submission.cell)
    if any(cell[:33] == fingerprint for cell in get_cells(state, batch)):
        raise AlreadyExists("the open batch already holds this cell")
    context = SubmissionContext(ctx.chain_id, delivery.origin.address, delivery.origin.nonce)
    try:
        verify_submission(key.public_key, submission, context, config.cell_width)
    except MailError as exc:
        used = submission_verification_cost(config.cell_width) * config.gas_per_term
        raise InvalidOperation(f"submission refused: {exc}", gas_used=used) from None
    set_cell(state, batch.batch_id, batch.cells, encode_cell(submission.cell))
    batch = replace(batch, cells=batch.cells + 1, opened_at=batch.opened_at or ctx.height)
    set_batch(state, batch)
    events = [
        mail_event("mail_letter_accepted", (("batch", batch.batch_id), ("cells", batch.cells)))
    ]
    if batch.cells >= config.batch_cells:
        events.extend(_close_if_room(state, ctx, config, batch))
    return Outcome(tuple(events), postage)


def _close_if_room(
    state: State, ctx: BlockContext, config: MailConfig, batch: Batch
) -> list[Event]:
    meta = get_meta(state)
    if len(meta.in_flight) >= config.max_batches_in_flight:
        return []
    schedule = _schedule(validator_set_at(state, ctx.height), batch.batch_id)
    closed = replace(
        batch, status=SHUFFLING, closed_at=ctx.height, schedule=schedule, turn_started=ctx.height
    )
    set_batch(state, closed)
    set_meta(state, replace(meta, open_id=0, in_flight=(*meta.in_flight, batch.batch_id)))
    attributes = (("batch", batch.batch_id), ("cells", batch.cells), ("shufflers", len(schedule)))
    return [mail_event("mail_batch_closed", attributes)]


def _schedule(validators: Sequence[Validator], batch_id: int) -> tuple[tuple[bytes, int], ...]:
    """The validators (in address order) rotated by the batch id."""
    ordered = [(v.public_key, v.power) for v in validators]
    start = batch_id % len(ordered)
    return tuple(ordered[start:] + ordered[:start])


# -- shuffles -------------------------------------------------------------------
def _batch_in(state: State, batch_id: int, status: int) -> Batch:
    batch = get_batch(state, batch_id)
    if batch is None:
        raise UnknownRecord(f"no batch {batch_id}")
    if batch.status != status:
        raise InvalidOperation(f"batch {batch_id} is {batch.status_name}")
    return batch


def _decode_cells(cells: Sequence[bytes], width: int) -> tuple[EncryptedCell, ...]:
    return tuple(decode_cell(cell, width) for cell in cells)


def submit_shuffle(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Kind 70: the shuffler whose turn it is replaces the batch with its
    shuffle. Raises ExecutionFailure; MixProofRejected (fault recorded, turn
    passed on) for a shuffle that does not decode or verify."""
    body = tx.body
    assert isinstance(body, MailShuffle)
    config = _require_config(state)
    key = _require_key(state)
    batch = _batch_in(state, body.batch_id, SHUFFLING)
    if batch.current_shuffler() != tx.sender:
        raise NotAuthorized(f"it is not this validator's turn to shuffle batch {batch.batch_id}")
    if body.step != batch.step:
        raise InvalidOperation(f"batch {batch.batch_id} is at step {batch.step}, not {body.step}")
    terms = shuffle_verification_cost(batch.cells, config.cell_width)
    gas = terms * config.gas_per_term
    inputs = _decode_cells(get_cells(state, batch), config.cell_width)
    context = ShuffleContext(ctx.chain_id, batch.batch_id, batch.step, tx.sender)
    try:
        outputs, proof = decode_shuffle(body.shuffle, batch.cells, config.cell_width)
        verify_shuffle(key.public_key, inputs, outputs, proof, context)
    except (MailError, ThresholdError) as exc:

        def blame(reverted: State) -> None:
            record_fault(reverted, tx.sender, "bad_shuffles", ctx.height)
            _pass_turn(reverted, ctx, batch, BAD_PROOF)

        raise MixProofRejected(f"shuffle refused: {exc}", gas, kept_charges=blame) from None
    set_cells(state, batch.batch_id, [encode_cell(cell) for cell in outputs])
    shuffled = replace(
        batch, shufflers=(*batch.shufflers, tx.sender), turn=batch.turn + 1, turn_started=ctx.height
    )
    attributes = (
        ("batch", batch.batch_id),
        ("shuffler", address_of(tx.sender)),
        ("step", batch.step),
    )
    events = [mail_event("mail_shuffled", attributes)]
    events.extend(_after_turn(state, ctx, shuffled))
    return Outcome(tuple(events), gas)


def _pass_turn(state: State, ctx: BlockContext, batch: Batch, reason: str) -> list[Event]:
    """Skip the current shuffler (``reason``) and move the batch on."""
    shuffler = batch.schedule[batch.turn][0]
    skipped = replace(
        batch,
        turn=batch.turn + 1,
        turn_started=ctx.height,
        skipped=(*batch.skipped, (shuffler, reason)),
    )
    return _after_turn(state, ctx, skipped)


def _after_turn(state: State, ctx: BlockContext, batch: Batch) -> list[Event]:
    """Store the batch after a turn: on to decryption once it is shuffled
    enough, failed if the schedule has run out, else waiting for the next."""
    if batch.shuffled_enough():
        set_batch(state, replace(batch, status=DECRYPTING, decrypting_since=ctx.height))
        return []
    if batch.turn >= len(batch.schedule):
        return _fail(state, ctx, batch, "too few validators shuffled")
    set_batch(state, batch)
    return []


def _fail(state: State, ctx: BlockContext, batch: Batch, reason: str) -> list[Event]:
    _finish(state, replace(batch, status=FAILED, finished_at=ctx.height, reason=reason))
    return [mail_event("mail_batch_failed", (("batch", batch.batch_id), ("reason", reason)))]


def _finish(state: State, batch: Batch) -> None:
    """Store a delivered or failed batch; its cells and shares leave the state."""
    delete_cells(state, batch)
    delete_shares(state, batch.batch_id, batch.share_ids)
    set_batch(state, replace(batch, share_ids=()))
    meta = get_meta(state)
    in_flight = tuple(i for i in meta.in_flight if i != batch.batch_id)
    set_meta(state, replace(meta, in_flight=in_flight))


# -- decryption -----------------------------------------------------------------
def submit_decryption(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Kind 71: a holder of the mail key posts its decryption share; the t-th
    verified share of the key's epoch delivers the batch. Raises
    ExecutionFailure; MixProofRejected (fault recorded) for a share that does
    not decode or verify."""
    body = tx.body
    assert isinstance(body, MailDecrypt)
    config = _require_config(state)
    key = _require_key(state)
    batch = _batch_in(state, body.batch_id, DECRYPTING)
    if body.epoch != key.epoch:
        raise InvalidOperation(f"the mail key is at epoch {key.epoch}, not {body.epoch}")
    member = key.identifier_of(tx.sender)
    if member is None:
        raise NotAuthorized("this validator holds no share of the mail key")
    held = get_share(state, batch.batch_id, member)
    if held is not None and held[0] == key.epoch:
        raise AlreadyExists(f"holder {member} has posted its share of batch {batch.batch_id}")
    gas = decryption_share_verification_cost(batch.cells, config.cell_width) * config.gas_per_term
    cells = _decode_cells(get_cells(state, batch), config.cell_width)
    context = DecryptionContext(ctx.chain_id, batch.batch_id)

    def blame(reverted: State) -> None:
        record_fault(reverted, tx.sender, "bad_shares", ctx.height)

    try:
        share = decode_decryption_share(body.share, batch.cells, config.cell_width)
    except (MailError, ThresholdError) as exc:
        raise MixProofRejected(f"decryption share refused: {exc}", 0, kept_charges=blame) from None
    if share.member != member:
        raise InvalidOperation(f"the share names holder {share.member}, the sender is {member}")
    try:
        verify_decryption_share(key.public_package(), cells, share, context)
    except (MailError, ThresholdError) as exc:
        raise MixProofRejected(
            f"decryption share refused: {exc}", gas, kept_charges=blame
        ) from None
    set_share(state, batch.batch_id, member, key.epoch, body.share)
    batch = replace(batch, share_ids=tuple(sorted({*batch.share_ids, member})))
    set_batch(state, batch)
    attributes = (("batch", batch.batch_id), ("epoch", key.epoch), ("member", member))
    events = [mail_event("mail_decryption_share", attributes)]
    shares = _current_shares(state, batch, key, config)
    if len(shares) < key.threshold:
        return Outcome(tuple(events), gas)
    gas += combination_cost(batch.cells, config.cell_width, key.threshold) * config.gas_per_term
    plaintexts = combine_verified_shares(key.public_package(), cells, shares)
    events.append(_deliver(state, ctx, config, batch, plaintexts))
    return Outcome(tuple(events), gas)


def _current_shares(
    state: State, batch: Batch, key: MailKey, config: MailConfig
) -> list[DecryptionShare]:
    shares = []
    for member in batch.share_ids:
        held = get_share(state, batch.batch_id, member)
        if held is not None and held[0] == key.epoch:
            shares.append(decode_decryption_share(held[1], batch.cells, config.cell_width))
    return shares


def _deliver(
    state: State,
    ctx: BlockContext,
    config: MailConfig,
    batch: Batch,
    plaintexts: Sequence[tuple[Point, ...]],
) -> Event:
    letters: list[tuple[bytes, bytes]] = []
    undeliverable = 0
    for points in plaintexts:
        try:
            letter = letter_from_points(points)
        except InvalidLetter:
            undeliverable += 1
            continue
        letters.append((letter.recipient, letter.sealed))
    deliver_letters(state, config, ctx.height, batch.batch_id, letters)
    done = replace(
        batch,
        status=DELIVERED,
        finished_at=ctx.height,
        delivered=len(letters),
        undeliverable=undeliverable,
    )
    _finish(state, done)
    attributes = (
        ("batch", batch.batch_id),
        ("delivered", len(letters)),
        ("undeliverable", undeliverable),
    )
    return mail_event("mail_batch_delivered", attributes)


# -- end of block ---------------------------------------------------------------
def advance_batches(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step ``advance_mail_batches``: close the open batch when
    it is full or its first letter has waited ``batch_blocks``; skip
    shufflers whose turn timed out; fail batches not decrypted in time.
    Batches in ascending id order."""
    config = get_config(state)
    if config is None:
        return ()
    events: list[Event] = []
    for batch_id in get_meta(state).in_flight:
        batch = get_batch(state, batch_id)
        assert batch is not None
        events.extend(_check_deadlines(state, ctx, config, batch))
    meta = get_meta(state)
    if meta.open_id:
        batch = get_batch(state, meta.open_id)
        assert batch is not None and batch.status == OPEN
        waited = batch.cells and ctx.height >= batch.opened_at + config.batch_blocks
        if batch.cells >= config.batch_cells or waited:
            events.extend(_close_if_room(state, ctx, config, batch))
    return tuple(events)


def _check_deadlines(
    state: State, ctx: BlockContext, config: MailConfig, batch: Batch
) -> list[Event]:
    """Skip a shuffler whose turn has timed out; fail a batch not decrypted in time."""
    if (
        batch.status == SHUFFLING
        and ctx.height >= batch.turn_started + config.shuffle_timeout_blocks
    ):
        shuffler = batch.schedule[batch.turn][0]
        record_fault(state, shuffler, "timeouts", ctx.height)
        attributes = (
            ("batch", batch.batch_id),
            ("reason", TIMEOUT),
            ("shuffler", address_of(shuffler)),
        )
        return [
            mail_event("mail_shuffler_skipped", attributes),
            *_pass_turn(state, ctx, batch, TIMEOUT),
        ]
    deadline = batch.decrypting_since + config.decryption_timeout_blocks
    if batch.status == DECRYPTING and ctx.height >= deadline:
        return _fail(state, ctx, batch, "not decrypted in time")
    return []


def expire_mail(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step ``expire_mail``: delivered letters whose retention
    period ends at this height leave their mailboxes and the state."""
    if get_config(state) is None:
        return ()
    removed = expire_letters(state, ctx.height)
    if not removed:
        return ()
    return (mail_event("mail_letters_expired", (("count", removed),)),)
