"""Byte strings: LEN, CONCAT, SLICE, ITOB, BTOI.

Every instruction that creates a byte string meters it with
`allocate_bytes` (gas per word, length and allocation limits).
"""

from __future__ import annotations

from vm.errors import ExceptionalHalt, HaltReason
from vm.machine import Machine, allocate_bytes
from vm.stack import pop_bytes, pop_int, push


def len_(vm: Machine, immediate: int) -> None:
    """Length of a byte string."""
    # STACK
    data = pop_bytes(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, len(data))
    # PROGRAM COUNTER
    vm.pc += 1


def concat(vm: Machine, immediate: int) -> None:
    """a followed by b."""
    # STACK
    b = pop_bytes(vm.stack)
    a = pop_bytes(vm.stack)
    # GAS
    allocate_bytes(vm, len(a) + len(b))
    # OPERATION
    push(vm.stack, a + b)
    # PROGRAM COUNTER
    vm.pc += 1


def slice_(vm: Machine, immediate: int) -> None:
    """`data start length SLICE`: data[start:start+length].

    Halts with SLICE_OUT_OF_RANGE unless start + length <= len(data).
    """
    # STACK
    length = pop_int(vm.stack)
    start = pop_int(vm.stack)
    data = pop_bytes(vm.stack)
    # GAS (a slice is never longer than its source, so the limits hold)
    if start + length > len(data):
        raise ExceptionalHalt(HaltReason.SLICE_OUT_OF_RANGE)
    allocate_bytes(vm, length)
    # OPERATION
    push(vm.stack, data[start : start + length])
    # PROGRAM COUNTER
    vm.pc += 1


def itob(vm: Machine, immediate: int) -> None:
    """An integer as 32 bytes, big-endian."""
    # STACK
    a = pop_int(vm.stack)
    # GAS
    allocate_bytes(vm, 32)
    # OPERATION
    push(vm.stack, a.to_bytes(32, "big"))
    # PROGRAM COUNTER
    vm.pc += 1


def btoi(vm: Machine, immediate: int) -> None:
    """A byte string of at most 32 bytes read as a big-endian integer.

    The empty string is 0. Halts with BYTES_TOO_LONG for longer input.
    """
    # STACK
    data = pop_bytes(vm.stack)
    # GAS: base.
    # OPERATION
    if len(data) > 32:
        raise ExceptionalHalt(HaltReason.BYTES_TOO_LONG, "BTOI takes at most 32 bytes")
    push(vm.stack, int.from_bytes(data, "big"))
    # PROGRAM COUNTER
    vm.pc += 1
