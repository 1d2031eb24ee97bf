"""Bitwise logic on 256-bit integers: AND, OR, XOR, NOT, SHL, SHR.

`a n SHL` shifts a left by n bits (result 0 for n >= 256).
"""

from __future__ import annotations

from vm.limits import MAX_UINT, WORD_BITS
from vm.machine import Machine
from vm.stack import pop_int, push


def and_(vm: Machine, immediate: int) -> None:
    """a & b."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, a & b)
    # PROGRAM COUNTER
    vm.pc += 1


def or_(vm: Machine, immediate: int) -> None:
    """a | b."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, a | b)
    # PROGRAM COUNTER
    vm.pc += 1


def xor(vm: Machine, immediate: int) -> None:
    """a ^ b."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, a ^ b)
    # PROGRAM COUNTER
    vm.pc += 1


def not_(vm: Machine, immediate: int) -> None:
    """Every bit of a flipped."""
    # STACK
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, a ^ MAX_UINT)
    # PROGRAM COUNTER
    vm.pc += 1


def shl(vm: Machine, immediate: int) -> None:
    """a << n, keeping the low 256 bits."""
    # STACK
    n = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, (a << n) & MAX_UINT if n < WORD_BITS else 0)
    # PROGRAM COUNTER
    vm.pc += 1


def shr(vm: Machine, immediate: int) -> None:
    """a >> n (logical)."""
    # STACK
    n = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, a >> n if n < WORD_BITS else 0)
    # PROGRAM COUNTER
    vm.pc += 1
