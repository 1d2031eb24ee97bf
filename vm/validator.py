"""Deploy-time validation: a module either becomes a `Program` or is rejected.

Checks, in order:

1. the header: version, sizes and counts within vm.limits, constants
   unique, entry point names valid, sorted and pointing at functions;
2. the code decodes into known instructions with complete immediates;
3. functions start at offset 0, in increasing order, on instruction
   boundaries; each owns the code up to the next one;
4. each function passes abstract interpretation over its control-flow
   graph: the stack holds typed slots (int or bytes), every instruction
   finds operands of the right types, every jump lands on an instruction of
   the same function, all paths into a join point bring the same typed
   stack, no path falls off the end of the function, RET leaves exactly the
   declared results, the height never exceeds MAX_STACK, and every
   instruction is reachable.

So at run time a stack never underflows and never holds a value of the
wrong type; only overflow across CALL needs a run-time check (against each
function's statically known maximum height).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from vm.errors import ValidationError
from vm.limits import (
    MAX_CODE_SIZE,
    MAX_CONSTANTS,
    MAX_ENTRY_POINTS,
    MAX_FUNCTIONS,
    MAX_MEMORY_CELLS,
    MAX_MESSAGE_ARGS,
    MAX_PARAMS,
    MAX_RESULTS,
    MAX_STACK,
)
from vm.module import SUPPORTED_VERSIONS, FunctionSpec, Module, decode_module
from vm.opcodes import OP_BY_BYTE, OP_INFO, Op
from vm.values import ValueType, is_value, type_of

NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,31}")

StackTypes = tuple[ValueType, ...]


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction."""

    pc: int
    op: Op
    immediate: int
    next_pc: int


@dataclass(frozen=True)
class FunctionInfo:
    """A validated function: its code range and static maximum stack height.

    `max_height` counts the parameters, relative to the frame's base.
    """

    index: int
    spec: FunctionSpec
    start: int
    end: int
    max_height: int


@dataclass(frozen=True)
class Program:
    """A module that passed validation, with what validation learned.

    `instructions` is indexed by pc; entries inside immediates are None.
    """

    module: Module
    instructions: tuple[Instruction | None, ...]
    functions: tuple[FunctionInfo, ...]
    entry_points: Mapping[str, int]


def validate_module(module: Module) -> Program:
    """Check every deploy-time rule and return the validated Program.

    Raises ValidationError naming the first rule broken (with the pc when
    the problem is in the code).
    """
    _check_header(module)
    instructions = decode_instructions(module.code)
    ranges = _function_ranges(module, instructions)
    functions = tuple(
        _check_function(module, instructions, index, start, end)
        for index, (start, end) in enumerate(ranges)
    )
    return Program(
        module=module,
        instructions=instructions,
        functions=functions,
        entry_points=MappingProxyType(dict(module.entry_points)),
    )


def decode_instructions(code: bytes) -> tuple[Instruction | None, ...]:
    """Split code into instructions, indexed by pc.

    Raises ValidationError on an unknown opcode or a truncated immediate.
    """
    table: list[Instruction | None] = [None] * len(code)
    pc = 0
    while pc < len(code):
        op = OP_BY_BYTE.get(code[pc])
        if op is None:
            raise ValidationError(f"unknown opcode 0x{code[pc]:02x}", pc)
        size = OP_INFO[op].immediate_size
        if pc + 1 + size > len(code):
            raise ValidationError(f"{op.name} immediate runs past the end of the code", pc)
        immediate = int.from_bytes(code[pc + 1 : pc + 1 + size], "big")
        table[pc] = Instruction(pc, op, immediate, pc + 1 + size)
        pc += 1 + size
    return tuple(table)


def _check_header(module: Module) -> None:
    if module.version not in SUPPORTED_VERSIONS:
        raise ValidationError(f"unsupported module version {module.version}")
    if not 1 <= len(module.code) <= MAX_CODE_SIZE:
        raise ValidationError(f"code size {len(module.code)} not in 1..{MAX_CODE_SIZE}")
    if not 0 <= module.memory_cells <= MAX_MEMORY_CELLS:
        raise ValidationError(f"memory_cells {module.memory_cells} not in 0..{MAX_MEMORY_CELLS}")
    _check_constants(module)
    _check_signatures(module)
    _check_entry_points(module)


def _check_constants(module: Module) -> None:
    if len(module.constants) > MAX_CONSTANTS:
        raise ValidationError(f"{len(module.constants)} constants, limit {MAX_CONSTANTS}")
    seen: set[tuple[ValueType, int | bytes]] = set()
    for index, constant in enumerate(module.constants):
        if not is_value(constant):
            raise ValidationError(f"constant {index} is not a machine value")
        key = (type_of(constant), constant)
        if key in seen:
            raise ValidationError(f"constant {index} duplicates an earlier constant")
        seen.add(key)


def _check_signatures(module: Module) -> None:
    if not 1 <= len(module.functions) <= MAX_FUNCTIONS:
        raise ValidationError(f"{len(module.functions)} functions, need 1..{MAX_FUNCTIONS}")
    for index, function in enumerate(module.functions):
        if len(function.params) > MAX_PARAMS or len(function.results) > MAX_RESULTS:
            raise ValidationError(
                f"function {index} has more than {MAX_PARAMS} params or {MAX_RESULTS} results"
            )


def _check_entry_points(module: Module) -> None:
    if len(module.entry_points) > MAX_ENTRY_POINTS:
        raise ValidationError(f"{len(module.entry_points)} entry points, limit {MAX_ENTRY_POINTS}")
    previous = ""
    for name, function in module.entry_points:
        if NAME_PATTERN.fullmatch(name) is None:
            raise ValidationError(f"entry point name {name!r} is not [a-z_][a-z0-9_]{{0,31}}")
        if name <= previous:
            raise ValidationError(f"entry point {name!r} is out of order or repeated")
        if function >= len(module.functions):
            raise ValidationError(f"entry point {name!r} names missing function {function}")
        previous = name


def _function_ranges(
    module: Module, instructions: tuple[Instruction | None, ...]
) -> list[tuple[int, int]]:
    offsets = [f.offset for f in module.functions]
    if offsets[0] != 0:
        raise ValidationError("the first function must start at offset 0")
    for index, offset in enumerate(offsets):
        if index and offset <= offsets[index - 1]:
            raise ValidationError(f"function {index} does not start after function {index - 1}")
        if offset >= len(instructions) or instructions[offset] is None:
            raise ValidationError(f"function {index} does not start on an instruction", offset)
    ends = [*offsets[1:], len(instructions)]
    return list(zip(offsets, ends, strict=True))


def _check_function(
    module: Module,
    instructions: tuple[Instruction | None, ...],
    index: int,
    start: int,
    end: int,
) -> FunctionInfo:
    spec = module.functions[index]
    states: dict[int, StackTypes] = {start: spec.params}
    pending = [start]
    while pending:
        pc = pending.pop()
        instruction = instructions[pc]
        assert instruction is not None
        after = _stack_after(module, spec, instruction, states[pc])
        for target in _successors(instructions, instruction, start, end):
            _join(states, pending, target, after, pc)
    for pc in range(start, end):
        if instructions[pc] is not None and pc not in states:
            raise ValidationError("unreachable instruction", pc)
    max_height = max(len(state) for state in states.values())
    return FunctionInfo(index=index, spec=spec, start=start, end=end, max_height=max_height)


def _successors(
    instructions: tuple[Instruction | None, ...], instruction: Instruction, start: int, end: int
) -> list[int]:
    info = OP_INFO[instruction.op]
    targets = []
    if info.falls_through:
        if instruction.next_pc >= end:
            raise ValidationError("execution falls off the end of the function", instruction.pc)
        targets.append(instruction.next_pc)
    if info.jumps:
        if not start <= instruction.immediate < end:
            raise ValidationError(
                f"jump target {instruction.immediate} is outside the function", instruction.pc
            )
        if instructions[instruction.immediate] is None:
            raise ValidationError(
                f"jump target {instruction.immediate} is inside an instruction", instruction.pc
            )
        targets.append(instruction.immediate)
    return targets


def _join(
    states: dict[int, StackTypes],
    pending: list[int],
    target: int,
    stack: StackTypes,
    source: int,
) -> None:
    known = states.get(target)
    if known is None:
        states[target] = stack
        pending.append(target)
    elif known != stack:
        raise ValidationError(
            f"stack at join point {target} differs: {_show(known)} vs {_show(stack)}", source
        )


def _show(stack: StackTypes) -> str:
    return "[" + " ".join(t.value for t in stack) + "]"


def _stack_after(
    module: Module, spec: FunctionSpec, instruction: Instruction, stack: StackTypes
) -> StackTypes:
    op, immediate, pc = instruction.op, instruction.immediate, instruction.pc
    info = OP_INFO[op]
    if info.pops is not None and info.pushes is not None:
        after = _apply(op.name, stack, info.pops, info.pushes, pc)
    else:
        after = _polymorphic(module, spec, op, immediate, stack, pc)
    if len(after) > MAX_STACK:
        raise ValidationError(f"stack height {len(after)} exceeds {MAX_STACK}", pc)
    return after


def _polymorphic(
    module: Module,
    spec: FunctionSpec,
    op: Op,
    immediate: int,
    stack: StackTypes,
    pc: int,
) -> StackTypes:
    if op is Op.DUP:
        if not 1 <= immediate <= len(stack):
            raise ValidationError(f"DUP {immediate} with stack height {len(stack)}", pc)
        return (*stack, stack[-immediate])
    if op is Op.SWAP:
        if not 1 <= immediate < len(stack):
            raise ValidationError(f"SWAP {immediate} with stack height {len(stack)}", pc)
        swapped = list(stack)
        swapped[-1], swapped[-1 - immediate] = swapped[-1 - immediate], swapped[-1]
        return tuple(swapped)
    if op is Op.EQ:
        _require_height("EQ", stack, 2, pc)
        if stack[-1] != stack[-2]:
            raise ValidationError(f"EQ compares {_show(stack[-2:])}: types differ", pc)
        return (*stack[:-2], ValueType.INT)
    if op is Op.CONST:
        if immediate >= len(module.constants):
            raise ValidationError(f"CONST {immediate}: no such constant", pc)
        return (*stack, type_of(module.constants[immediate]))
    if op is Op.CALL:
        if immediate >= len(module.functions):
            raise ValidationError(f"CALL {immediate}: no such function", pc)
        callee = module.functions[immediate]
        return _apply("CALL", stack, callee.params, callee.results, pc)
    if op is Op.RET:
        if stack != spec.results:
            raise ValidationError(
                f"RET with stack {_show(stack)}, function returns {_show(spec.results)}", pc
            )
        return stack
    assert op is Op.SEND, op
    if immediate > MAX_MESSAGE_ARGS:
        raise ValidationError(f"SEND {immediate}: at most {MAX_MESSAGE_ARGS} arguments", pc)
    pops = (ValueType.BYTES, ValueType.BYTES, ValueType.INT, *([None] * immediate))
    return _apply("SEND", stack, pops, (), pc)


def _require_height(name: str, stack: StackTypes, needed: int, pc: int) -> None:
    if len(stack) < needed:
        raise ValidationError(
            f"stack underflow: {name} needs {needed} values, stack has {len(stack)}", pc
        )


def _apply(
    name: str,
    stack: StackTypes,
    pops: tuple[ValueType | None, ...],
    pushes: tuple[ValueType, ...],
    pc: int,
) -> StackTypes:
    _require_height(name, stack, len(pops), pc)
    operands = stack[len(stack) - len(pops) :]
    for position, (expected, actual) in enumerate(zip(pops, operands, strict=True)):
        if expected is not None and expected != actual:
            depth = len(pops) - position
            raise ValidationError(
                f"type mismatch: {name} expects {expected.value} at depth {depth}, "
                f"found {actual.value}",
                pc,
            )
    return (*stack[: len(stack) - len(pops)], *pushes)


def load_program(data: bytes) -> Program:
    """Decode and validate module bytes: what the ledger runs at deploy.

    Raises ModuleDecodeError or ValidationError (both ModuleError).
    """
    return validate_module(decode_module(data))
