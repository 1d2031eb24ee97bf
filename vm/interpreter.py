"""The reference interpreter: one instruction at a time, readable first.

`execute` is the whole life of an execution:

1. `start_machine`: find the entry point, check the arguments, set up the
   stack (the arguments), the memory cells and the gas;
2. charge the intrinsic gas (the memory cells);
3. `run`: step until the entry function returns, charging each
   instruction's base cost before it runs;
4. `conclude`: turn the outcome into an ExecutionResult. Success hands the
   journal to the host; REVERT returns the unused gas and changes nothing;
   an exceptional halt consumes all gas and changes nothing.

vm.fast replaces step 3 with compiled basic blocks and must give the same
results (tests/vm/test_fast.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vm.effects import apply_effects
from vm.errors import ExceptionalHalt, InvocationError, Revert
from vm.gas import GAS_SCHEDULE_V1, GasSchedule, charge_gas
from vm.host import Host
from vm.instructions import IMPLEMENTATIONS
from vm.limits import MAX_GAS_LIMIT
from vm.machine import Machine
from vm.result import ExecutionResult, Status
from vm.validator import Program
from vm.values import Value, ValueType, is_value, type_of

Tracer = Callable[[Machine], None]


def execute(
    program: Program,
    entry: str,
    args: Sequence[Value],
    gas_limit: int,
    host: Host,
    *,
    schedule: GasSchedule = GAS_SCHEDULE_V1,
    tracer: Tracer | None = None,
) -> ExecutionResult:
    """Run entry point `entry` of a validated program with `args`.

    `tracer`, if given, is called with the machine before every instruction
    (for gas reports and tests; it must not change the machine).

    Raises InvocationError if the entry point does not exist, the arguments
    do not match its parameters, or the gas limit is out of range. Every
    failure *during* execution is reported in the result instead.
    """
    vm = start_machine(program, entry, args, gas_limit, host, schedule)
    return conclude(vm, lambda machine: run(machine, tracer))


def start_machine(
    program: Program,
    entry: str,
    args: Sequence[Value],
    gas_limit: int,
    host: Host,
    schedule: GasSchedule,
) -> Machine:
    """A machine ready to run `entry`. Raises InvocationError on bad input."""
    index = program.entry_points.get(entry)
    if index is None:
        raise InvocationError(f"no entry point named {entry!r}")
    if type(gas_limit) is not int or not 0 <= gas_limit <= MAX_GAS_LIMIT:
        raise InvocationError(f"gas limit must be an integer in 0..{MAX_GAS_LIMIT}")
    function = program.functions[index]
    _check_arguments(entry, function.spec.params, args)
    return Machine(
        program=program,
        host=host,
        schedule=schedule,
        gas_limit=gas_limit,
        gas_left=gas_limit,
        pc=function.start,
        stack=list(args),
        memory=[0] * program.module.memory_cells,
    )


def _check_arguments(entry: str, params: tuple[ValueType, ...], args: Sequence[Value]) -> None:
    if len(args) != len(params):
        raise InvocationError(f"{entry} takes {len(params)} arguments, got {len(args)}")
    for position, (param, arg) in enumerate(zip(params, args, strict=True)):
        if not is_value(arg):
            raise InvocationError(f"{entry} argument {position} is not a machine value")
        if type_of(arg) != param:
            raise InvocationError(f"{entry} argument {position} must be {param}")


def step(vm: Machine) -> None:
    """Run the instruction at vm.pc: charge its base cost, then perform it."""
    instruction = vm.program.instructions[vm.pc]
    assert instruction is not None
    charge_gas(vm, vm.schedule.base[instruction.op])
    IMPLEMENTATIONS[instruction.op](vm, instruction.immediate)


def run(vm: Machine, tracer: Tracer | None = None) -> None:
    """Step until the entry function returns (or something is raised)."""
    while vm.running:
        if tracer is not None:
            tracer(vm)
        step(vm)


def conclude(vm: Machine, runner: Callable[[Machine], None]) -> ExecutionResult:
    """Charge the intrinsic gas, run the machine with `runner`, and report.

    On success the effects are handed to the host before returning.
    """
    try:
        charge_gas(vm, vm.schedule.memory_cell * len(vm.memory))
        runner(vm)
    except Revert as revert:
        return ExecutionResult(
            status=Status.REVERT,
            gas_used=vm.gas_limit - vm.gas_left,
            return_values=(revert.value,),
        )
    except ExceptionalHalt as halt:
        return ExecutionResult(status=Status.HALT, gas_used=vm.gas_limit, halt_reason=halt.reason)
    journal = vm.journal
    result = ExecutionResult(
        status=Status.SUCCESS,
        gas_used=vm.gas_limit - vm.gas_left,
        return_values=vm.output,
        storage_writes=journal.final_storage_writes(),
        transfers=tuple(journal.transfers),
        events=tuple(journal.events),
        messages=tuple(journal.messages),
    )
    apply_effects(vm.host, result.storage_writes, result.transfers, result.events, result.messages)
    return result
