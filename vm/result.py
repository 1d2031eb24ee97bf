"""The outcome of an execution and its canonical encoding (for receipts)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import msgpack

from vm.effects import Event, Message, StorageWrite, Transfer
from vm.errors import HaltReason
from vm.values import Value, encode_value


class Status(StrEnum):
    """SUCCESS: effects apply. REVERT: nothing applies, unused gas returns.
    HALT: nothing applies, all gas is consumed.
    """

    SUCCESS = "success"
    REVERT = "revert"
    HALT = "halt"


@dataclass(frozen=True)
class ExecutionResult:
    """What an execution did.

    `return_values` are the entry function's results on SUCCESS and the
    single REVERT operand on REVERT. The effect tuples are empty unless the
    status is SUCCESS. `halt_reason` is set only for HALT.
    """

    status: Status
    gas_used: int
    return_values: tuple[Value, ...] = ()
    halt_reason: HaltReason | None = None
    storage_writes: tuple[StorageWrite, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    events: tuple[Event, ...] = ()
    messages: tuple[Message, ...] = ()


def encode_result(result: ExecutionResult) -> bytes:
    """Canonical msgpack encoding of a result (receipts, cross-node checks)."""
    obj = [
        result.status.value,
        result.gas_used,
        [encode_value(v) for v in result.return_values],
        None if result.halt_reason is None else result.halt_reason.value,
        [[w.key, w.value] for w in result.storage_writes],
        [[t.recipient, encode_value(t.amount)] for t in result.transfers],
        [[e.topic, e.data] for e in result.events],
        [[m.recipient, m.entry, [encode_value(a) for a in m.args], m.gas] for m in result.messages],
    ]
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed
