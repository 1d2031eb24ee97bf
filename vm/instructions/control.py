"""Control flow: NOP, JUMP, JUMPI, CALL, RET, REVERT.

Jump targets and callees are immediates checked at deploy time.
"""

from __future__ import annotations

from vm.errors import ExceptionalHalt, HaltReason, Revert
from vm.limits import MAX_CALL_DEPTH, MAX_STACK
from vm.machine import Machine
from vm.stack import pop, pop_int


def nop(vm: Machine, immediate: int) -> None:
    """Do nothing."""
    # STACK: unchanged.  GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc += 1


def jump(vm: Machine, immediate: int) -> None:
    """Continue at the target pc."""
    # STACK: unchanged.  GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc = immediate


def jumpi(vm: Machine, immediate: int) -> None:
    """Continue at the target pc if the popped integer is not zero."""
    # STACK
    condition = pop_int(vm.stack)
    # GAS: base.  OPERATION: none.
    # PROGRAM COUNTER
    vm.pc = immediate if condition else vm.pc + 3


def call(vm: Machine, immediate: int) -> None:
    """Call function `immediate`; its parameters are the top stack values."""
    callee = vm.program.functions[immediate]
    # STACK: the callee's frame starts below its parameters and must fit.
    frame_base = len(vm.stack) - len(callee.spec.params)
    if frame_base + callee.max_height > MAX_STACK:
        raise ExceptionalHalt(HaltReason.STACK_OVERFLOW)
    # GAS: base.
    # OPERATION
    if len(vm.return_stack) >= MAX_CALL_DEPTH:
        raise ExceptionalHalt(HaltReason.CALL_DEPTH_EXCEEDED)
    vm.return_stack.append(vm.pc + 3)
    # PROGRAM COUNTER
    vm.pc = callee.start


def ret(vm: Machine, immediate: int) -> None:
    """Return to the caller, or finish the execution from the entry function.

    The function's results are exactly the values above its frame base
    (proved at deploy time).
    """
    # STACK: unchanged.  GAS: base.
    # OPERATION and PROGRAM COUNTER
    if vm.return_stack:
        vm.pc = vm.return_stack.pop()
    else:
        vm.output = tuple(vm.stack)
        vm.running = False


def revert(vm: Machine, immediate: int) -> None:
    """Stop, undo every change, return the unused gas and the popped value."""
    # STACK
    value = pop(vm.stack)
    # GAS: base.
    # OPERATION
    raise Revert(value)
