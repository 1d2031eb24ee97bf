"""Stack instructions: POP, PUSH1, PUSH2, CONST, DUP, SWAP."""

from __future__ import annotations

from vm.machine import Machine
from vm.stack import pop, push


def pop_(vm: Machine, immediate: int) -> None:
    """Discard the top value."""
    # STACK
    pop(vm.stack)
    # GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc += 1


def push1(vm: Machine, immediate: int) -> None:
    """Push the 1-byte immediate as an integer."""
    # STACK
    push(vm.stack, immediate)
    # GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc += 2


def push2(vm: Machine, immediate: int) -> None:
    """Push the 2-byte immediate as an integer."""
    # STACK
    push(vm.stack, immediate)
    # GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc += 3


def const(vm: Machine, immediate: int) -> None:
    """Push constant number `immediate` of the module."""
    # STACK
    push(vm.stack, vm.program.module.constants[immediate])
    # GAS: base (constants are immutable and already in memory).
    # PROGRAM COUNTER
    vm.pc += 3


def dup(vm: Machine, immediate: int) -> None:
    """Push a copy of the `immediate`-th value from the top (1 = top)."""
    # STACK
    push(vm.stack, vm.stack[-immediate])
    # GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc += 2


def swap(vm: Machine, immediate: int) -> None:
    """Exchange the top value with the one `immediate` places below it."""
    # STACK
    stack = vm.stack
    stack[-1], stack[-1 - immediate] = stack[-1 - immediate], stack[-1]
    # GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc += 2
