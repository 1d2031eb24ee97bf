"""Integer arithmetic modulo 2**256: ADD, SUB, MUL, DIV, MOD, EXP.

Operands are in push order: `a b SUB` computes a - b. Results wrap around
(two's complement style for SUB); DIV and MOD by zero halt.
"""

from __future__ import annotations

from vm.errors import ExceptionalHalt, HaltReason
from vm.gas import charge_gas
from vm.limits import MAX_UINT
from vm.machine import Machine
from vm.stack import pop_int, push


def add(vm: Machine, immediate: int) -> None:
    """a + b, wrapping."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, (a + b) & MAX_UINT)
    # PROGRAM COUNTER
    vm.pc += 1


def sub(vm: Machine, immediate: int) -> None:
    """a - b, wrapping."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, (a - b) & MAX_UINT)
    # PROGRAM COUNTER
    vm.pc += 1


def mul(vm: Machine, immediate: int) -> None:
    """a * b, wrapping."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, (a * b) & MAX_UINT)
    # PROGRAM COUNTER
    vm.pc += 1


def div(vm: Machine, immediate: int) -> None:
    """a // b; halts with DIVISION_BY_ZERO if b is 0."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    if b == 0:
        raise ExceptionalHalt(HaltReason.DIVISION_BY_ZERO)
    push(vm.stack, a // b)
    # PROGRAM COUNTER
    vm.pc += 1


def mod(vm: Machine, immediate: int) -> None:
    """a % b; halts with DIVISION_BY_ZERO if b is 0."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    if b == 0:
        raise ExceptionalHalt(HaltReason.DIVISION_BY_ZERO)
    push(vm.stack, a % b)
    # PROGRAM COUNTER
    vm.pc += 1


def exp(vm: Machine, immediate: int) -> None:
    """a ** b modulo 2**256."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: per byte of the exponent.
    charge_gas(vm, vm.schedule.exp_per_byte * ((b.bit_length() + 7) // 8))
    # OPERATION
    push(vm.stack, pow(a, b, MAX_UINT + 1))
    # PROGRAM COUNTER
    vm.pc += 1
