"""Contract records, code, storage, the contract list, mailboxes and burn
counters: how contracts live in the state map.

Everything lives under the one-byte prefix ``x`` (``CONTRACT_PREFIX``), then
a one-byte sub-namespace. Addresses are 20 bytes, so every key below parses
unambiguously:

======================================  =====================================
key                                     value
======================================  =====================================
``x 01 address``                        contract record (``ContractRecord``)
``x 02 address``                        module bytes (the code)
``x 03 address key``                    storage entry ``[slot, value]``
``x 04 address slot(4, big-endian)``    storage key index: slot -> key
``x 05``                                the contract list: sorted addresses
``x 06 address``                        mailbox head: messages ever received
``x 07 address seq mod cap (8)``        mailbox entry ``[sender, height, entry, args]``
``x 08 asset``                          credits burned so far (int)
``x 09``                                messages delivered in this block
                                        (transient: back to absent at the
                                        end of every block, so never in a
                                        root)
======================================  =====================================

The key index makes deleting a contract's storage complete and deterministic
without scanning the store (the state reader cannot iterate): the storage
entries of a contract sit in slots ``0 .. storage_keys - 1``, and deleting a
key moves the last slot into its place. The record keeps running totals of
keys and bytes, so rent is O(1) per contract per block.

Contract storage is part of the state map, so the state root commits to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from ledger import codec
from ledger.address import ADDRESS_SIZE
from ledger.features.contracts.bodies import Schedule, schedule_from_value, value_from_fields
from ledger.fields import (
    check_asset,
    check_bytes,
    check_text,
    check_uint,
    ensure,
)
from ledger.state import State, StateReader
from vm.values import Value, encode_value

CONTRACT_PREFIX: Final = b"x"
RECORD_SPACE: Final = CONTRACT_PREFIX + b"\x01"
CODE_SPACE: Final = CONTRACT_PREFIX + b"\x02"
STORAGE_SPACE: Final = CONTRACT_PREFIX + b"\x03"
KEY_INDEX_SPACE: Final = CONTRACT_PREFIX + b"\x04"
CONTRACT_LIST_KEY: Final = CONTRACT_PREFIX + b"\x05"
MAILBOX_HEAD_SPACE: Final = CONTRACT_PREFIX + b"\x06"
MAILBOX_ENTRY_SPACE: Final = CONTRACT_PREFIX + b"\x07"
BURNED_SPACE: Final = CONTRACT_PREFIX + b"\x08"
BLOCK_MESSAGES_KEY: Final = CONTRACT_PREFIX + b"\x09"

RECORD_OVERHEAD_BYTES: Final = 128
"""Bytes of rent a contract pays for its record, whatever its size."""
ENTRY_OVERHEAD_BYTES: Final = 32
"""Bytes of rent per storage entry on top of its key and value (the index)."""
MAILBOX_CAPACITY: Final = 64
"""A mailbox keeps the newest MAILBOX_CAPACITY messages; older ones are overwritten."""


@dataclass(frozen=True, slots=True)
class ContractRecord:
    """What the ledger keeps about a contract besides its code and storage."""

    code_hash: bytes  # SHA-256 of the module bytes
    code_size: int
    deployer: bytes  # receives what is left when the contract is evicted
    created: int  # height of the deploying block
    storage_keys: int = 0
    storage_bytes: int = 0  # sum of len(key) + len(value) over the storage
    schedule: Schedule | None = None
    next_run: int = 0  # height of the next scheduled run (0: none)

    @property
    def rent_bytes(self) -> int:
        """The bytes a contract pays rent for, every block."""
        return (
            RECORD_OVERHEAD_BYTES
            + self.code_size
            + self.storage_bytes
            + ENTRY_OVERHEAD_BYTES * self.storage_keys
        )

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.code_hash,
            self.code_size,
            self.deployer,
            self.created,
            self.storage_keys,
            self.storage_bytes,
            None if self.schedule is None else self.schedule.to_value(),
            self.next_run,
        )


def encode_record(record: ContractRecord) -> bytes:
    """``[code_hash, code_size, deployer, created, storage_keys, storage_bytes,
    schedule | nil, next_run]``, schedule = ``[entry, interval, gas]``."""
    return codec.encode(record.to_value())


def decode_record(data: bytes) -> ContractRecord:
    """Decode a stored contract record. Raises DecodeError."""
    value = codec.decode(data)
    ensure(isinstance(value, tuple) and len(value) == 8, "contract record has 8 fields")
    code_hash, code_size, deployer, created, keys, size, schedule, next_run = value
    return ContractRecord(
        code_hash=check_bytes(code_hash, "code_hash", 32),
        code_size=check_uint(code_size, "code_size"),
        deployer=check_bytes(deployer, "deployer", ADDRESS_SIZE),
        created=check_uint(created, "created"),
        storage_keys=check_uint(keys, "storage_keys"),
        storage_bytes=check_uint(size, "storage_bytes"),
        schedule=None if schedule is None else schedule_from_value(schedule),
        next_run=check_uint(next_run, "next_run"),
    )


# -- keys ---------------------------------------------------------------------
def record_key(address: bytes) -> bytes:
    return RECORD_SPACE + address


def code_key(address: bytes) -> bytes:
    return CODE_SPACE + address


def storage_key(address: bytes, key: bytes) -> bytes:
    return STORAGE_SPACE + address + key


def key_index_key(address: bytes, slot: int) -> bytes:
    return KEY_INDEX_SPACE + address + slot.to_bytes(4, "big")


def mailbox_head_key(address: bytes) -> bytes:
    return MAILBOX_HEAD_SPACE + address


def mailbox_entry_key(address: bytes, sequence: int) -> bytes:
    return MAILBOX_ENTRY_SPACE + address + (sequence % MAILBOX_CAPACITY).to_bytes(8, "big")


def burned_key(asset: str) -> bytes:
    return BURNED_SPACE + asset.encode()


# -- records and code ---------------------------------------------------------
def read_record(reader: StateReader | State, address: bytes) -> ContractRecord | None:
    """The record of the contract at ``address``, or None if there is none."""
    raw = _get(reader, record_key(address))
    return None if raw is None else decode_record(raw)


def write_record(state: State, address: bytes, record: ContractRecord) -> None:
    state.set_raw(record_key(address), encode_record(record))


def read_code(reader: StateReader | State, address: bytes) -> bytes | None:
    """The module bytes of the contract at ``address``."""
    return _get(reader, code_key(address))


def create_contract(state: State, address: bytes, record: ContractRecord, code: bytes) -> None:
    """Store a new contract's record and code and add it to the contract list."""
    assert read_record(state, address) is None, "a contract already lives there"
    write_record(state, address, record)
    state.set_raw(code_key(address), code)
    addresses = list_contracts(state)
    addresses.append(address)
    _write_contract_list(state, sorted(addresses))


def delete_contract(state: State, address: bytes) -> None:
    """Delete a contract's storage (every key, through the index), code and
    record, and take it off the contract list. Its account is left alone."""
    record = read_record(state, address)
    assert record is not None
    for slot in range(record.storage_keys):
        index = key_index_key(address, slot)
        key = state.get_raw(index)
        assert key is not None, "storage index has a hole"
        state.set_raw(storage_key(address, key), None)
        state.set_raw(index, None)
    state.set_raw(code_key(address), None)
    state.set_raw(record_key(address), None)
    _write_contract_list(state, [a for a in list_contracts(state) if a != address])


def list_contracts(reader: StateReader | State) -> list[bytes]:
    """Every live contract's address, ascending."""
    raw = _get(reader, CONTRACT_LIST_KEY)
    if raw is None:
        return []
    value = codec.decode(raw)
    ensure(isinstance(value, tuple), "contract list must be an array")
    return [check_bytes(a, "contract address", ADDRESS_SIZE) for a in value]


def _write_contract_list(state: State, addresses: list[bytes]) -> None:
    state.set_raw(CONTRACT_LIST_KEY, codec.encode(tuple(addresses)) if addresses else None)


# -- storage ------------------------------------------------------------------
def storage_get(reader: StateReader | State, address: bytes, key: bytes) -> bytes | None:
    """The stored value at ``key``, or None."""
    raw = _get(reader, storage_key(address, key))
    return None if raw is None else _decode_entry(raw)[1]


def storage_set(state: State, address: bytes, key: bytes, value: bytes) -> None:
    """Store ``value`` (non-empty) at ``key``, keeping index and totals right."""
    assert value, "empty values are deletions"
    record = read_record(state, address)
    assert record is not None
    raw = state.get_raw(storage_key(address, key))
    if raw is None:
        slot = record.storage_keys
        state.set_raw(key_index_key(address, slot), key)
        record = replace(
            record,
            storage_keys=slot + 1,
            storage_bytes=record.storage_bytes + len(key) + len(value),
        )
    else:
        slot, old = _decode_entry(raw)
        record = replace(record, storage_bytes=record.storage_bytes - len(old) + len(value))
    state.set_raw(storage_key(address, key), codec.encode((slot, value)))
    write_record(state, address, record)


def storage_delete(state: State, address: bytes, key: bytes) -> None:
    """Remove ``key`` if present: the last slot moves into its slot."""
    raw = state.get_raw(storage_key(address, key))
    if raw is None:
        return
    record = read_record(state, address)
    assert record is not None
    slot, old = _decode_entry(raw)
    last = record.storage_keys - 1
    if slot != last:
        moved_key = state.get_raw(key_index_key(address, last))
        assert moved_key is not None
        moved_raw = state.get_raw(storage_key(address, moved_key))
        assert moved_raw is not None
        state.set_raw(key_index_key(address, slot), moved_key)
        state.set_raw(
            storage_key(address, moved_key), codec.encode((slot, _decode_entry(moved_raw)[1]))
        )
    state.set_raw(key_index_key(address, last), None)
    state.set_raw(storage_key(address, key), None)
    write_record(
        state,
        address,
        replace(
            record,
            storage_keys=last,
            storage_bytes=record.storage_bytes - len(key) - len(old),
        ),
    )


def storage_keys(reader: StateReader | State, address: bytes) -> list[bytes]:
    """Every storage key of a contract, ascending (empty if there is no contract)."""
    record = read_record(reader, address)
    if record is None:
        return []
    keys = []
    for slot in range(record.storage_keys):
        key = _get(reader, key_index_key(address, slot))
        assert key is not None, "storage index has a hole"
        keys.append(key)
    return sorted(keys)


class StateScanner(Protocol):
    """A state that can be read in key order (the store's flat copy of the latest state)."""

    def iter_state(
        self, prefix: bytes = b"", start: bytes = b""
    ) -> Iterator[tuple[bytes, bytes]]: ...


def scan_storage(
    scanner: StateScanner, address: bytes, start: bytes, limit: int
) -> list[tuple[bytes, bytes]]:
    """Up to ``limit`` storage entries of ``address`` with key >= ``start``,
    in key order, reading only those entries (not the whole key index)."""
    prefix = storage_key(address, b"")
    items: list[tuple[bytes, bytes]] = []
    for state_key, raw in scanner.iter_state(prefix, start):
        if len(items) == limit:
            break
        items.append((state_key[len(prefix) :], _decode_entry(raw)[1]))
    return items


def _decode_entry(raw: bytes) -> tuple[int, bytes]:
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 2, "storage entry is [slot, value]")
    slot, stored = value
    return check_uint(slot, "slot"), check_bytes(stored, "value")


# -- mailboxes ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MailboxEntry:
    """A message delivered to an address that holds no contract."""

    sender: bytes
    height: int
    entry: str
    args: tuple[Value, ...]

    def to_value(self) -> tuple[Any, ...]:
        return (self.sender, self.height, self.entry, tuple(encode_value(a) for a in self.args))


def append_mail(state: State, address: bytes, mail: MailboxEntry) -> int:
    """Append ``mail`` to the mailbox of ``address``; returns its sequence number.
    Past MAILBOX_CAPACITY messages the oldest is overwritten."""
    sequence = mailbox_count(state, address)
    state.set_raw(mailbox_entry_key(address, sequence), codec.encode(mail.to_value()))
    state.set_raw(mailbox_head_key(address), codec.encode(sequence + 1))
    return sequence


def mailbox_count(reader: StateReader | State, address: bytes) -> int:
    """How many messages the mailbox of ``address`` has ever received."""
    raw = _get(reader, mailbox_head_key(address))
    return 0 if raw is None else check_uint(codec.decode(raw), "mailbox count")


def read_mailbox(reader: StateReader | State, address: bytes) -> list[tuple[int, MailboxEntry]]:
    """The messages the mailbox still holds, oldest first, with sequence numbers."""
    count = mailbox_count(reader, address)
    out = []
    for sequence in range(max(0, count - MAILBOX_CAPACITY), count):
        raw = _get(reader, mailbox_entry_key(address, sequence))
        assert raw is not None, "mailbox entry missing"
        out.append((sequence, _decode_mail(raw)))
    return out


def _decode_mail(raw: bytes) -> MailboxEntry:
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 4, "mail is [sender, height, entry, args]")
    sender, height, entry, args = value
    ensure(isinstance(args, tuple), "mail args must be an array")
    return MailboxEntry(
        check_bytes(sender, "sender", ADDRESS_SIZE),
        check_uint(height, "height"),
        check_text(entry, "entry", 32),
        tuple(value_from_fields(a) for a in args),
    )


# -- burned credits -----------------------------------------------------------
def burned(reader: StateReader | State, asset: str) -> int:
    """How much of ``asset`` contracts have burned since genesis."""
    raw = _get(reader, burned_key(check_asset(asset)))
    return 0 if raw is None else check_uint(codec.decode(raw), "burned", 1 << 256)


def add_burned(state: State, asset: str, amount: int) -> None:
    if amount:
        state.set_raw(burned_key(asset), codec.encode(burned(state, asset) + amount))


# -- the per-block message counter --------------------------------------------
def block_messages(state: State) -> int:
    raw = state.get_raw(BLOCK_MESSAGES_KEY)
    return 0 if raw is None else check_uint(codec.decode(raw), "block messages")


def set_block_messages(state: State, count: int) -> None:
    """Set the block's delivery count (0 removes the key: it never reaches a root)."""
    state.set_raw(BLOCK_MESSAGES_KEY, codec.encode(count) if count else None)


def _get(reader: StateReader | State, key: bytes) -> bytes | None:
    if isinstance(reader, State):
        return reader.get_raw(key)
    return reader.get_state(key)
