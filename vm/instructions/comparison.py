"""Comparisons: LT, GT, EQ, ISZERO. They push 1 for true and 0 for false."""

from __future__ import annotations

from vm.machine import Machine
from vm.stack import pop, pop_int, push


def lt(vm: Machine, immediate: int) -> None:
    """1 if a < b else 0."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, 1 if a < b else 0)
    # PROGRAM COUNTER
    vm.pc += 1


def gt(vm: Machine, immediate: int) -> None:
    """1 if a > b else 0."""
    # STACK
    b = pop_int(vm.stack)
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, 1 if a > b else 0)
    # PROGRAM COUNTER
    vm.pc += 1


def eq(vm: Machine, immediate: int) -> None:
    """1 if a == b else 0; both are integers or both byte strings."""
    # STACK
    b = pop(vm.stack)
    a = pop(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, 1 if a == b else 0)
    # PROGRAM COUNTER
    vm.pc += 1


def iszero(vm: Machine, immediate: int) -> None:
    """1 if a == 0 else 0."""
    # STACK
    a = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    push(vm.stack, 1 if a == 0 else 0)
    # PROGRAM COUNTER
    vm.pc += 1
