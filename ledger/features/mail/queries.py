"""Read-only views of the mix for the RPC server and the client: the
settings, the mail key, the open batch and the batches in flight, the
postage a letter needs now, a batch, a mailbox, and the faults recorded
against validators."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.features.mail.config import MailConfig, get_config
from ledger.features.mail.execution import postage_gas
from ledger.features.mail.key import MailKey, mail_key
from ledger.features.mail.mailboxes import read_mailbox
from ledger.features.mail.records import (
    Batch,
    Faults,
    MailboxLetter,
    get_batch,
    get_faults,
    get_meta,
)
from ledger.features.validators.interface import validator_set_at
from ledger.state import State, StateReader


@dataclass(frozen=True, slots=True)
class MailStatus:
    """Everything about the mix at one height."""

    config: MailConfig
    key: MailKey | None
    postage_gas: int | None  # None until the mail key exists
    open_batch: Batch | None
    in_flight: tuple[Batch, ...]
    faults: tuple[tuple[bytes, Faults], ...]  # current validators with a fault


def mail_status(reader: StateReader, height: int) -> MailStatus | None:
    """The mix at the state after block ``height``, or None on a chain without mail."""
    state = State(reader)
    config = get_config(state)
    if config is None:
        return None
    key = mail_key(state)
    meta = get_meta(state)
    open_batch = get_batch(state, meta.open_id) if meta.open_id else None
    in_flight = tuple(b for b in (get_batch(state, i) for i in meta.in_flight) if b is not None)
    validators = validator_set_at(state, height + 1)
    faults = tuple(
        (v.public_key, f) for v in validators if (f := get_faults(state, v.public_key)) != Faults()
    )
    postage = None if key is None else postage_gas(state, config, key, height + 1)
    return MailStatus(config, key, postage, open_batch, in_flight, faults)


def mail_batch(reader: StateReader, batch_id: int) -> Batch | None:
    return get_batch(State(reader), batch_id)


def mail_letters(
    reader: StateReader, address: bytes, start: int, limit: int
) -> tuple[list[tuple[int, MailboxLetter]], int, int]:
    """A page of a mailbox: letters with sequence >= start, the next
    sequence and the first held (see mailboxes.read_mailbox)."""
    return read_mailbox(State(reader), address, start, limit)
