"""The mix's settings: the genesis document's ``mail`` section, stored in
state at genesis and read by every mail rule.

    "mail": {"cell_width": 8, "batch_cells": 16, "batch_blocks": 20,
             "shuffle_timeout_blocks": 4, "decryption_timeout_blocks": 100,
             "retention_blocks": 1000, "gas_per_term": 1000,
             "max_batches_in_flight": 4, "mailbox_capacity": 256}

- ``cell_width``: W, the points of a cell (3..32; 8 carries 176 message bytes);
- ``batch_cells``: N, a batch closes when it holds this many letters;
- ``batch_blocks``: T, or when its first letter has waited this many blocks;
- ``shuffle_timeout_blocks``: a shuffler whose shuffle is not in within this
  many blocks of its turn is skipped;
- ``decryption_timeout_blocks``: a batch not decrypted within this many
  blocks after its last shuffle fails (its letters are lost);
- ``retention_blocks``: a delivered letter leaves its mailbox (and the
  state) this many blocks after delivery;
- ``gas_per_term``: the gas one term of scalar multiplication costs, the
  unit every verification is priced in;
- ``max_batches_in_flight``: closed batches not yet delivered or failed; while
  this many are in flight the open batch does not close (it holds at most N);
- ``mailbox_capacity``: letters one mailbox holds; a new one pushes the
  oldest out.

Bounds: every shuffle and decryption share of a batch of N cells of width W
must fit in one transaction (``check_config``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final

from ledger import codec
from ledger.features.mail.errors import MailError
from ledger.features.mail.key import request_mail_key
from ledger.features.mail.params import DEFAULT_WIDTH, check_width
from ledger.fields import DecodeError, ensure
from ledger.genesis import Genesis, GenesisError, check_only_keys, parse_object
from ledger.state import State
from ledger.types import MAX_TX_SIZE

CONFIG_KEY: Final = b"mc"
MAX_BLOCKS: Final = 10_000_000
MAX_GAS_PER_TERM: Final = 1_000_000
MAX_IN_FLIGHT: Final = 64
MAX_MAILBOX: Final = 4096
TRANSACTION_ROOM: Final = 1024
"""Bytes of a transaction that are not its mail body's data (envelope, fields)."""


@dataclass(frozen=True, slots=True)
class MailConfig:
    """The mix's settings (see the module docstring)."""

    cell_width: int = DEFAULT_WIDTH
    batch_cells: int = 16
    batch_blocks: int = 20
    shuffle_timeout_blocks: int = 4
    decryption_timeout_blocks: int = 100
    retention_blocks: int = 1000
    gas_per_term: int = 1000
    max_batches_in_flight: int = 4
    mailbox_capacity: int = 256

    def to_value(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


def shuffle_body_size(count: int, width: int) -> int:
    """Bytes of an encoded shuffle of ``count`` cells of ``width`` points:
    the outputs and the proof (docs/spec/mail.md, wire encodings)."""
    outputs = count * (66 * width + 3) + 5
    proof = 66 * count + 32 * (4 + width) + 64 * count + 7 * 3 + 5
    return outputs + proof + 8


def decryption_share_body_size(count: int, width: int) -> int:
    """Bytes of an encoded decryption share of ``count`` cells of ``width`` points."""
    return 33 * count * width + 3 + 2 * (32 + 3) + 8


def check_config(config: MailConfig) -> MailConfig:
    """Return ``config`` if every setting is in range and a batch's shuffle
    fits in a transaction. Raises DecodeError naming the setting."""
    try:
        check_width(config.cell_width)
    except MailError as exc:
        raise DecodeError(f"cell_width: {exc}") from None
    for name, low, high in (
        ("batch_cells", 1, 1024),
        ("batch_blocks", 1, MAX_BLOCKS),
        ("shuffle_timeout_blocks", 1, MAX_BLOCKS),
        ("decryption_timeout_blocks", 1, MAX_BLOCKS),
        ("retention_blocks", 1, MAX_BLOCKS),
        ("gas_per_term", 1, MAX_GAS_PER_TERM),
        ("max_batches_in_flight", 1, MAX_IN_FLIGHT),
        ("mailbox_capacity", 1, MAX_MAILBOX),
    ):
        value = getattr(config, name)
        ensure(type(value) is int and low <= value <= high, f"{name} must be in [{low}, {high}]")
    size = shuffle_body_size(config.batch_cells, config.cell_width)
    ensure(
        size + TRANSACTION_ROOM <= MAX_TX_SIZE,
        f"a shuffle of {config.batch_cells} cells of width {config.cell_width} takes {size} "
        f"bytes: more than a transaction holds; lower batch_cells",
    )
    return config


def config_from_value(value: object) -> MailConfig:
    """Raises DecodeError."""
    count = len(fields(MailConfig))
    ensure(isinstance(value, tuple) and len(value) == count, f"mail config has {count} fields")
    assert isinstance(value, tuple)
    ensure(all(type(v) is int for v in value), "mail settings are integers")
    return check_config(MailConfig(*value))


def get_config(state: State) -> MailConfig | None:
    """The mix's settings, or None on a chain without mail."""
    raw = state.get_raw(CONFIG_KEY)
    return None if raw is None else config_from_value(codec.decode(raw))


def set_config(state: State, config: MailConfig) -> None:
    state.set_raw(CONFIG_KEY, codec.encode(check_config(config).to_value()))


def genesis_mail(state: State, genesis: Genesis) -> None:
    """Genesis step: store the settings of the document's ``mail`` section
    and ask the validators for the mail key; nothing without the section."""
    section = genesis.section("mail")
    if section is None:
        return
    set_config(state, config_from_value(tuple(section)))
    request_mail_key(state, len(genesis.validators))


def parse_genesis_mail(document: dict[str, Any]) -> tuple[int, ...]:
    """The document's ``mail`` section as MailConfig's value. Raises GenesisError."""
    doc = parse_object(document.get("mail"), "mail")
    names = [f.name for f in fields(MailConfig)]
    check_only_keys(doc, "mail", set(names))
    defaults = MailConfig()
    values = {name: doc.get(name, getattr(defaults, name)) for name in names}
    for name, value in values.items():
        if type(value) is not int:
            raise GenesisError(f"mail.{name}: an integer")
    try:
        return check_config(MailConfig(**values)).to_value()
    except DecodeError as exc:
        raise GenesisError(f"mail: {exc}") from None
