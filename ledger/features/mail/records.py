"""The mix's state records: batches, their cells and decryption shares,
mailboxes with their expiry index, and the faults recorded against
validators. Reads and writes only; the rules are in ``batches``,
``mailboxes`` and ``execution``.

State keys (prefix ``m``; numbers big-endian)::

    mc                         -> the settings (config.py)
    mk                         -> the mail key (key.py)
    mm                         -> [next batch id, open batch id, [in-flight batch ids]]
    mb || batch (8)            -> a batch (``Batch.to_value``)
    md || batch (8) || i (2)   -> cell i of the batch as it stands (66 W bytes)
    ms || batch (8) || id (4)  -> [epoch, decryption share bytes] of holder id
    mn || address (20)         -> [next sequence, first sequence held]
    mr || address (20) || seq (8)  -> [batch, sealed letter, delivered at]
    mx || height (8)           -> [[address, seq], ...] letters that expire then
    mf || validator key (33)   -> [bad shuffles, timeouts, bad shares, last height]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from ledger import codec
from ledger.fields import check_bytes, check_uint, ensure
from ledger.state import State

META_KEY: Final = b"mm"
BATCH_PREFIX: Final = b"mb"
CELL_PREFIX: Final = b"md"
SHARE_PREFIX: Final = b"ms"
MAILBOX_META_PREFIX: Final = b"mn"
MAILBOX_PREFIX: Final = b"mr"
EXPIRY_PREFIX: Final = b"mx"
FAULT_PREFIX: Final = b"mf"

OPEN: Final = 0
SHUFFLING: Final = 1
DECRYPTING: Final = 2
DELIVERED: Final = 3
FAILED: Final = 4
STATUS_NAMES: Final = ("open", "shuffling", "decrypting", "delivered", "failed")


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch of letters from its first submission to its delivery.

    ``schedule`` is the shufflers in turn order (validator keys) with their
    voting power, fixed when the batch closes; ``turn`` indexes it and
    ``turn_started`` is the height the current turn began. ``shufflers`` are
    the validators whose shuffles the chain accepted, in order; ``skipped``
    the ones passed over, with the reason ("timeout" or "bad proof").
    """

    batch_id: int
    status: int = OPEN
    cells: int = 0
    opened_at: int = 0  # height of the first letter (0: none yet)
    closed_at: int = 0
    schedule: tuple[tuple[bytes, int], ...] = ()
    turn: int = 0
    turn_started: int = 0
    shufflers: tuple[bytes, ...] = ()
    skipped: tuple[tuple[bytes, str], ...] = ()
    decrypting_since: int = 0
    finished_at: int = 0
    delivered: int = 0
    undeliverable: int = 0
    reason: str = ""  # why it failed
    share_ids: tuple[int, ...] = ()  # holders with a decryption share stored (any epoch)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    @property
    def step(self) -> int:
        """The number of shuffles accepted: the step the next one proves."""
        return len(self.shufflers)

    def current_shuffler(self) -> bytes | None:
        """The validator key whose turn it is, or None past the schedule."""
        if self.status != SHUFFLING or self.turn >= len(self.schedule):
            return None
        return self.schedule[self.turn][0]

    def shuffled_power(self) -> int:
        power = dict(self.schedule)
        return sum(power[key] for key in self.shufflers)

    def total_power(self) -> int:
        return sum(power for _, power in self.schedule)

    def shuffled_enough(self) -> bool:
        """More than a third of the schedule's voting power has shuffled, so
        at least one shuffler is honest while faulty power stays below a third."""
        return 3 * self.shuffled_power() > self.total_power()

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.batch_id,
            self.status,
            self.cells,
            self.opened_at,
            self.closed_at,
            self.schedule,
            self.turn,
            self.turn_started,
            self.shufflers,
            self.skipped,
            self.decrypting_since,
            self.finished_at,
            self.delivered,
            self.undeliverable,
            self.reason,
            self.share_ids,
        )


def batch_from_value(value: object) -> Batch:
    ensure(isinstance(value, tuple) and len(value) == 16, "batch record has 16 fields")
    assert isinstance(value, tuple)
    batch_id, status, cells, opened, closed, schedule, turn, started = value[:8]
    shufflers, skipped, decrypting, finished, delivered, undeliverable, reason, shares = value[8:]
    return Batch(
        batch_id=check_uint(batch_id, "batch"),
        status=check_uint(status, "status", FAILED),
        cells=check_uint(cells, "cells"),
        opened_at=check_uint(opened, "opened_at"),
        closed_at=check_uint(closed, "closed_at"),
        schedule=tuple((check_bytes(k, "key", 33), check_uint(p, "power")) for k, p in schedule),
        turn=check_uint(turn, "turn"),
        turn_started=check_uint(started, "turn_started"),
        shufflers=tuple(check_bytes(k, "shuffler", 33) for k in shufflers),
        skipped=tuple((check_bytes(k, "skipped", 33), str(r)) for k, r in skipped),
        decrypting_since=check_uint(decrypting, "decrypting_since"),
        finished_at=check_uint(finished, "finished_at"),
        delivered=check_uint(delivered, "delivered"),
        undeliverable=check_uint(undeliverable, "undeliverable"),
        reason=str(reason),
        share_ids=tuple(check_uint(i, "share id") for i in shares),
    )


def _batch_key(batch_id: int) -> bytes:
    return BATCH_PREFIX + batch_id.to_bytes(8, "big")


def get_batch(state: State, batch_id: int) -> Batch | None:
    raw = state.get_raw(_batch_key(batch_id))
    return None if raw is None else batch_from_value(codec.decode(raw))


def set_batch(state: State, batch: Batch) -> None:
    state.set_raw(_batch_key(batch.batch_id), codec.encode(batch.to_value()))


# -- the batch list -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Meta:
    """The next batch id, the open batch, and the closed batches in flight
    (ascending: shuffling or decrypting)."""

    next_id: int = 1
    open_id: int = 0
    in_flight: tuple[int, ...] = ()


def get_meta(state: State) -> Meta:
    raw = state.get_raw(META_KEY)
    if raw is None:
        return Meta()
    next_id, open_id, in_flight = codec.decode(raw)
    return Meta(next_id, open_id, tuple(in_flight))


def set_meta(state: State, meta: Meta) -> None:
    state.set_raw(META_KEY, codec.encode((meta.next_id, meta.open_id, meta.in_flight)))


def open_batch(state: State) -> Batch:
    """The open batch, made (empty) if there is none."""
    meta = get_meta(state)
    if meta.open_id:
        batch = get_batch(state, meta.open_id)
        assert batch is not None and batch.status == OPEN
        return batch
    batch = Batch(meta.next_id)
    set_batch(state, batch)
    set_meta(state, replace(meta, next_id=meta.next_id + 1, open_id=batch.batch_id))
    return batch


# -- cells and shares -----------------------------------------------------------
def _cell_key(batch_id: int, index: int) -> bytes:
    return CELL_PREFIX + batch_id.to_bytes(8, "big") + index.to_bytes(2, "big")


def get_cells(state: State, batch: Batch) -> tuple[bytes, ...]:
    """The batch's cells as they stand, in order (wire bytes)."""
    cells = []
    for index in range(batch.cells):
        raw = state.get_raw(_cell_key(batch.batch_id, index))
        assert raw is not None, "a batch cell is missing"
        cells.append(raw)
    return tuple(cells)


def set_cell(state: State, batch_id: int, index: int, cell: bytes) -> None:
    state.set_raw(_cell_key(batch_id, index), cell)


def set_cells(state: State, batch_id: int, cells: Sequence[bytes]) -> None:
    for index, cell in enumerate(cells):
        set_cell(state, batch_id, index, cell)


def delete_cells(state: State, batch: Batch) -> None:
    for index in range(batch.cells):
        state.set_raw(_cell_key(batch.batch_id, index), None)


def _share_key(batch_id: int, member: int) -> bytes:
    return SHARE_PREFIX + batch_id.to_bytes(8, "big") + member.to_bytes(4, "big")


def get_share(state: State, batch_id: int, member: int) -> tuple[int, bytes] | None:
    """A holder's decryption share of the batch: (epoch, share bytes)."""
    raw = state.get_raw(_share_key(batch_id, member))
    if raw is None:
        return None
    epoch, data = codec.decode(raw)
    return epoch, data


def set_share(state: State, batch_id: int, member: int, epoch: int, data: bytes) -> None:
    state.set_raw(_share_key(batch_id, member), codec.encode((epoch, data)))


def delete_shares(state: State, batch_id: int, members: Iterable[int]) -> None:
    for member in members:
        state.set_raw(_share_key(batch_id, member), None)


# -- mailboxes ------------------------------------------------------------------
def _mailbox_meta_key(address: bytes) -> bytes:
    return MAILBOX_META_PREFIX + address


def _mailbox_key(address: bytes, sequence: int) -> bytes:
    return MAILBOX_PREFIX + address + sequence.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class MailboxLetter:
    """A delivered letter: its batch, the sealed bytes (ephemeral key,
    ciphertext, tag) only the recipient opens, and the delivery height."""

    batch_id: int
    sealed: bytes
    delivered_at: int


def get_mailbox_range(state: State, address: bytes) -> tuple[int, int]:
    """(next sequence, first sequence held): the mailbox holds [first, next)."""
    raw = state.get_raw(_mailbox_meta_key(address))
    if raw is None:
        return 0, 0
    next_sequence, first = codec.decode(raw)
    return next_sequence, first


def set_mailbox_range(state: State, address: bytes, next_sequence: int, first: int) -> None:
    value = None if next_sequence == first else codec.encode((next_sequence, first))
    state.set_raw(_mailbox_meta_key(address), value)


def get_mailbox_letter(state: State, address: bytes, sequence: int) -> MailboxLetter | None:
    raw = state.get_raw(_mailbox_key(address, sequence))
    if raw is None:
        return None
    batch_id, sealed, delivered_at = codec.decode(raw)
    return MailboxLetter(batch_id, sealed, delivered_at)


def set_mailbox_letter(
    state: State, address: bytes, sequence: int, letter: MailboxLetter | None
) -> None:
    value = (
        None
        if letter is None
        else codec.encode((letter.batch_id, letter.sealed, letter.delivered_at))
    )
    state.set_raw(_mailbox_key(address, sequence), value)


def _expiry_key(height: int) -> bytes:
    return EXPIRY_PREFIX + height.to_bytes(8, "big")


def get_expiring(state: State, height: int) -> tuple[tuple[bytes, int], ...]:
    raw = state.get_raw(_expiry_key(height))
    return () if raw is None else tuple((a, s) for a, s in codec.decode(raw))


def set_expiring(state: State, height: int, letters: Sequence[tuple[bytes, int]]) -> None:
    state.set_raw(_expiry_key(height), codec.encode(tuple(letters)) if letters else None)


# -- faults ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Faults:
    """What the mix holds against one validator."""

    bad_shuffles: int = 0
    timeouts: int = 0
    bad_shares: int = 0
    last_height: int = 0


def _fault_key(validator_key: bytes) -> bytes:
    return FAULT_PREFIX + validator_key


def get_faults(state: State, validator_key: bytes) -> Faults:
    raw = state.get_raw(_fault_key(validator_key))
    return Faults() if raw is None else Faults(*codec.decode(raw))


def record_fault(state: State, validator_key: bytes, kind: str, height: int) -> None:
    """Count one fault ("bad_shuffles", "timeouts" or "bad_shares") at ``height``."""
    faults = get_faults(state, validator_key)
    counted = replace(faults, last_height=height, **{kind: getattr(faults, kind) + 1})
    value = (counted.bad_shuffles, counted.timeouts, counted.bad_shares, counted.last_height)
    state.set_raw(_fault_key(validator_key), codec.encode(value))
