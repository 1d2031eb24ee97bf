"""Effects on the world: TRANSFER, EMIT, SEND.

All three are buffered in the journal and reach the host only if the
execution succeeds.
"""

from __future__ import annotations

from vm.effects import Event, Message, Transfer
from vm.errors import ExceptionalHalt, HaltReason
from vm.gas import charge_gas
from vm.instructions.environment import current_balance
from vm.limits import (
    MAX_ADDRESS_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENTS,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_GAS,
    MAX_MESSAGES,
    MAX_TOPIC_BYTES,
)
from vm.machine import Machine
from vm.stack import pop, pop_bytes, pop_int
from vm.validator import NAME_PATTERN
from vm.values import Value


def transfer(vm: Machine, immediate: int) -> None:
    """`recipient amount TRANSFER`: pay coin from the contract's balance.

    Halts with INSUFFICIENT_BALANCE if the contract cannot pay.
    """
    # STACK
    amount = pop_int(vm.stack)
    recipient = pop_bytes(vm.stack)
    _check_address(recipient)
    # GAS: base.
    # OPERATION
    own = vm.host.contract_address()
    if current_balance(vm, own) < amount:
        raise ExceptionalHalt(HaltReason.INSUFFICIENT_BALANCE)
    deltas = vm.journal.balance_deltas
    deltas[own] = deltas.get(own, 0) - amount
    deltas[recipient] = deltas.get(recipient, 0) + amount
    vm.journal.transfers.append(Transfer(recipient, amount))
    # PROGRAM COUNTER
    vm.pc += 1


def emit(vm: Machine, immediate: int) -> None:
    """`topic data EMIT`: record an event."""
    # STACK
    data = pop_bytes(vm.stack)
    topic = pop_bytes(vm.stack)
    size = len(topic) + len(data)
    if len(topic) > MAX_TOPIC_BYTES or size > MAX_EVENT_BYTES:
        raise ExceptionalHalt(HaltReason.EVENT_LIMIT, f"event of {size} bytes")
    if len(vm.journal.events) >= MAX_EVENTS:
        raise ExceptionalHalt(HaltReason.EVENT_LIMIT, f"more than {MAX_EVENTS} events")
    # GAS: per byte.
    charge_gas(vm, vm.schedule.emit_per_byte * size)
    # OPERATION
    vm.journal.events.append(Event(topic, data))
    # PROGRAM COUNTER
    vm.pc += 1


def send(vm: Machine, immediate: int) -> None:
    """`recipient entry gas arg1 .. argN SEND N`: queue a message.

    The message runs after this execution, with its own gas (paid by the
    contract when the ledger delivers it).
    """
    # STACK
    args = tuple(reversed([pop(vm.stack) for _ in range(immediate)]))
    gas = pop_int(vm.stack)
    entry = pop_bytes(vm.stack)
    recipient = pop_bytes(vm.stack)
    _check_address(recipient)
    name = _entry_name(entry)
    if gas > MAX_MESSAGE_GAS:
        raise ExceptionalHalt(HaltReason.MESSAGE_INVALID, "gas above the message limit")
    size = len(recipient) + len(entry) + sum(_size(arg) for arg in args)
    if size > MAX_MESSAGE_BYTES or len(vm.journal.messages) >= MAX_MESSAGES:
        raise ExceptionalHalt(HaltReason.MESSAGE_LIMIT)
    # GAS: per byte sent.
    charge_gas(vm, vm.schedule.send_per_byte * size)
    # OPERATION
    vm.journal.messages.append(Message(recipient, name, args, gas))
    # PROGRAM COUNTER
    vm.pc += 2


def _check_address(address: bytes) -> None:
    if not 1 <= len(address) <= MAX_ADDRESS_BYTES:
        raise ExceptionalHalt(
            HaltReason.ADDRESS_INVALID, f"address must be 1..{MAX_ADDRESS_BYTES} bytes"
        )


def _entry_name(entry: bytes) -> str:
    name = entry.decode("ascii", errors="replace")
    if NAME_PATTERN.fullmatch(name) is None:
        raise ExceptionalHalt(HaltReason.MESSAGE_INVALID, "entry is not a valid name")
    return name


def _size(value: Value) -> int:
    return 32 if isinstance(value, int) else len(value)
