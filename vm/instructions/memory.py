"""Memory: MLOAD, MSTORE on the module's fixed number of integer cells.

Cells start at 0 and are paid for once, when the execution starts.
"""

from __future__ import annotations

from vm.errors import ExceptionalHalt, HaltReason
from vm.machine import Machine
from vm.stack import pop_int, push


def mload(vm: Machine, immediate: int) -> None:
    """`index MLOAD`: the integer in cell `index`."""
    # STACK
    index = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    if index >= len(vm.memory):
        raise ExceptionalHalt(HaltReason.MEMORY_OUT_OF_BOUNDS, f"cell {index}")
    push(vm.stack, vm.memory[index])
    # PROGRAM COUNTER
    vm.pc += 1


def mstore(vm: Machine, immediate: int) -> None:
    """`value index MSTORE`: put `value` in cell `index`."""
    # STACK
    index = pop_int(vm.stack)
    value = pop_int(vm.stack)
    # GAS: base.
    # OPERATION
    if index >= len(vm.memory):
        raise ExceptionalHalt(HaltReason.MEMORY_OUT_OF_BOUNDS, f"cell {index}")
    vm.memory[index] = value
    # PROGRAM COUNTER
    vm.pc += 1
