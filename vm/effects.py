"""What an execution does to the world, and the journal that buffers it.

Nothing an instruction does reaches the host while the machine runs: writes,
transfers, events and messages collect in a `Journal`, and reads of storage
and balances look through it. Only when the entry point returns
successfully does the interpreter hand the journal to the host, in order
(see `apply_effects`). A halt or a revert simply drops the journal, so
failure can never leave a partial change behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vm.values import Value

if TYPE_CHECKING:
    from vm.host import Host


@dataclass(frozen=True)
class StorageWrite:
    """A storage change: `value` None means the key was deleted."""

    key: bytes
    value: bytes | None


@dataclass(frozen=True)
class Transfer:
    """Native coin moved from the contract to `recipient`."""

    recipient: bytes
    amount: int


@dataclass(frozen=True)
class Event:
    """A log record: a short topic and opaque data."""

    topic: bytes
    data: bytes


@dataclass(frozen=True)
class Message:
    """A message for the ledger to deliver after this execution finishes.

    The ledger runs entry point `entry` of the contract at `recipient` with
    `args` and a fresh gas limit `gas` (actor style: no reentrancy), or puts
    the message in the mailbox of a plain account. A reply is just a message
    sent back to the caller.
    """

    recipient: bytes
    entry: str
    args: tuple[Value, ...]
    gas: int


@dataclass(eq=False)
class Journal:
    """Buffered effects of one execution, in the order they happened."""

    storage: dict[bytes, bytes | None] = field(default_factory=dict)
    storage_writes: int = 0
    balance_deltas: dict[bytes, int] = field(default_factory=dict)
    transfers: list[Transfer] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def final_storage_writes(self) -> tuple[StorageWrite, ...]:
        """The net storage changes, sorted by key (one per key)."""
        return tuple(StorageWrite(key, self.storage[key]) for key in sorted(self.storage))


def apply_effects(
    host: Host,
    storage_writes: tuple[StorageWrite, ...],
    transfers: tuple[Transfer, ...],
    events: tuple[Event, ...],
    messages: tuple[Message, ...],
) -> None:
    """Hand a successful execution's effects to the host, in a fixed order:
    storage (by key), transfers, events, messages (each in execution order).
    """
    for write in storage_writes:
        if write.value is None:
            host.storage_delete(write.key)
        else:
            host.storage_set(write.key, write.value)
    for transfer in transfers:
        host.transfer(transfer.recipient, transfer.amount)
    for event in events:
        host.emit_event(event)
    for message in messages:
        host.send_message(message)
