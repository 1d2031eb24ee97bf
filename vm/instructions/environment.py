"""Facts about the execution: CALLER, CALLVALUE, ADDRESS, HEIGHT, TIME, BALANCE."""

from __future__ import annotations

from vm.limits import MAX_ADDRESS_BYTES, MAX_UINT
from vm.machine import Machine, allocate_bytes
from vm.stack import pop_bytes, push


def caller(vm: Machine, immediate: int) -> None:
    """Address of whoever started this execution."""
    # OPERATION
    address = vm.host.caller()
    assert type(address) is bytes and 1 <= len(address) <= MAX_ADDRESS_BYTES
    # GAS
    allocate_bytes(vm, len(address))
    # STACK
    push(vm.stack, address)
    # PROGRAM COUNTER
    vm.pc += 1


def call_value(vm: Machine, immediate: int) -> None:
    """Coin paid to the contract with the call that started this execution
    (0 for a plain call, a message or a scheduled run)."""
    # OPERATION
    value = vm.host.call_value()
    assert type(value) is int and 0 <= value <= MAX_UINT
    # STACK
    push(vm.stack, value)
    # GAS: base.
    # PROGRAM COUNTER
    vm.pc += 1


def address(vm: Machine, immediate: int) -> None:
    """Address of the running contract."""
    # OPERATION
    own = vm.host.contract_address()
    assert type(own) is bytes and 1 <= len(own) <= MAX_ADDRESS_BYTES
    # GAS
    allocate_bytes(vm, len(own))
    # STACK
    push(vm.stack, own)
    # PROGRAM COUNTER
    vm.pc += 1


def height(vm: Machine, immediate: int) -> None:
    """Height of the current block."""
    # OPERATION
    value = vm.host.block_height()
    assert type(value) is int and 0 <= value <= MAX_UINT
    # STACK
    push(vm.stack, value)
    # GAS: base.
    # PROGRAM COUNTER
    vm.pc += 1


def time(vm: Machine, immediate: int) -> None:
    """Timestamp of the current block (from its header, not a clock)."""
    # OPERATION
    value = vm.host.block_time()
    assert type(value) is int and 0 <= value <= MAX_UINT
    # STACK
    push(vm.stack, value)
    # GAS: base.
    # PROGRAM COUNTER
    vm.pc += 1


def balance(vm: Machine, immediate: int) -> None:
    """`address BALANCE`: coin balance, including this execution's transfers."""
    # STACK
    who = pop_bytes(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, current_balance(vm, who))
    # PROGRAM COUNTER
    vm.pc += 1


def current_balance(vm: Machine, who: bytes) -> int:
    """The host's balance of `who` adjusted by transfers buffered so far."""
    settled = vm.host.balance(who)
    assert type(settled) is int and 0 <= settled <= MAX_UINT
    return settled + vm.journal.balance_deltas.get(who, 0)
