"""The fast path: basic blocks compiled to Python functions, gas charged
once per block.

At load time every basic block made only of *simple* instructions (stack,
integer arithmetic, comparisons, bitwise logic, memory cells, LEN, jumps)
becomes one generated Python function. Inside a block the stack is kept in
local variables: DUP, SWAP, POP and PUSH cost nothing at run time, and the
real stack list is updated once, at the end of the block. The block's base
costs are summed at load time and charged on entry.

Every other instruction (host calls, byte-string creation, EXP, CALL, RET,
REVERT) has dynamic gas or touches more state; it is never inside a
compiled block but runs through the reference implementation (`step`).
This keeps one rule true: a compiled block has only static gas, so
charging its sum up front is the same as charging each instruction in
turn, *provided the machine can pay for the whole block*. When it cannot,
the fast path hands the machine to the reference interpreter, which steps
through the block one instruction at a time and halts exactly where the
reference would (same halt reason, same everything).

So for every program, entry point, arguments, gas limit and host,
`execute_compiled` returns the same ExecutionResult as
`vm.interpreter.execute`; tests/vm/test_fast.py checks it on random
programs. The generated source uses only integer operators, `len`, the
stack and memory lists, and names this module puts in its namespace (no
builtins); byte-string constants are referenced by name, never spliced
into the source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from vm.errors import ExceptionalHalt, HaltReason
from vm.gas import GAS_SCHEDULE_V1, GasSchedule
from vm.host import Host
from vm.interpreter import conclude, run, start_machine, step
from vm.limits import MAX_UINT, WORD_BITS
from vm.machine import Machine
from vm.opcodes import OP_INFO, Op
from vm.result import ExecutionResult
from vm.validator import Instruction, Program
from vm.values import Value

Block = Callable[[list[Value], list[int]], int]

SIMPLE_OPS = frozenset(
    {
        Op.NOP,
        Op.POP,
        Op.PUSH1,
        Op.PUSH2,
        Op.CONST,
        Op.DUP,
        Op.SWAP,
        Op.ADD,
        Op.SUB,
        Op.MUL,
        Op.DIV,
        Op.MOD,
        Op.LT,
        Op.GT,
        Op.EQ,
        Op.ISZERO,
        Op.AND,
        Op.OR,
        Op.XOR,
        Op.NOT,
        Op.SHL,
        Op.SHR,
        Op.MLOAD,
        Op.MSTORE,
        Op.LEN,
        Op.JUMP,
        Op.JUMPI,
    }
)

MASK = str(MAX_UINT)

# Expression templates for operators with two integer operands (a below b).
BINARY = {
    Op.ADD: "({a} + {b}) & " + MASK,
    Op.SUB: "({a} - {b}) & " + MASK,
    Op.MUL: "({a} * {b}) & " + MASK,
    Op.LT: "1 if {a} < {b} else 0",
    Op.GT: "1 if {a} > {b} else 0",
    Op.EQ: "1 if {a} == {b} else 0",
    Op.AND: "{a} & {b}",
    Op.OR: "{a} | {b}",
    Op.XOR: "{a} ^ {b}",
    Op.SHL: "({a} << {b}) & " + MASK + " if {b} < 256 else 0",
    Op.SHR: "{a} >> {b} if {b} < 256 else 0",
    Op.DIV: "{a} // {b}",
    Op.MOD: "{a} % {b}",
}

# Shifts by a literal below 256 need no range test.
SHIFT_BY_LITERAL = {
    Op.SHL: "({a} << {b}) & " + MASK,
    Op.SHR: "{a} >> {b}",
}


@dataclass(frozen=True)
class CompiledProgram:
    """A program with its compiled blocks, for one gas schedule.

    `blocks[pc]` and `costs[pc]` describe the block starting at pc (None
    and 0 where none starts). `source` is the generated Python, kept for
    inspection.
    """

    program: Program
    schedule: GasSchedule
    blocks: tuple[Block | None, ...]
    costs: tuple[int, ...]
    source: str


def compile_program(program: Program, schedule: GasSchedule = GAS_SCHEDULE_V1) -> CompiledProgram:
    """Compile every simple basic block of a validated program."""
    starts = _block_starts(program)
    sources = []
    costs = [0] * len(program.instructions)
    for start in sorted(starts):
        body = _block_instructions(program, start, starts)
        costs[start] = sum(schedule.base[i.op] for i in body)
        sources.append(_block_source(program, start, body))
    source = "\n".join(sources)
    namespace: dict[str, object] = {
        "__builtins__": {},
        "len": len,
        "Halt": ExceptionalHalt,
        "DIVISION_BY_ZERO": HaltReason.DIVISION_BY_ZERO,
        "MEMORY_OUT_OF_BOUNDS": HaltReason.MEMORY_OUT_OF_BOUNDS,
    }
    namespace.update({f"K{i}": c for i, c in enumerate(program.module.constants)})
    exec(compile(source, "<vm-blocks>", "exec"), namespace)
    blocks: list[Block | None] = [None] * len(program.instructions)
    for start in starts:
        blocks[start] = cast(Block, namespace[f"b{start}"])
    return CompiledProgram(program, schedule, tuple(blocks), tuple(costs), source)


def execute_compiled(
    compiled: CompiledProgram,
    entry: str,
    args: Sequence[Value],
    gas_limit: int,
    host: Host,
) -> ExecutionResult:
    """Same contract as vm.interpreter.execute, with compiled blocks.

    Raises InvocationError for a bad entry point, arguments or gas limit.
    """
    vm = start_machine(compiled.program, entry, args, gas_limit, host, compiled.schedule)
    return conclude(vm, lambda machine: run_compiled(machine, compiled))


def run_compiled(vm: Machine, compiled: CompiledProgram) -> None:
    """Run blocks until the entry function returns (or something is raised)."""
    blocks, costs = compiled.blocks, compiled.costs
    stack, memory = vm.stack, vm.memory
    gas, pc = vm.gas_left, vm.pc
    while True:
        block = blocks[pc]
        if block is None:
            vm.gas_left, vm.pc = gas, pc
            step(vm)
            if not vm.running:
                return
            gas, pc = vm.gas_left, vm.pc
            continue
        cost = costs[pc]
        if cost > gas:
            # Cannot pay for the whole block: let the reference step through
            # it, so the halt happens at exactly the same instruction.
            vm.gas_left, vm.pc = gas, pc
            run(vm)
            return
        gas -= cost
        pc = block(stack, memory)


def _block_starts(program: Program) -> set[int]:
    """Pcs where a compiled block starts: simple instructions that begin a
    function, are jump targets, or follow a jump or a non-simple instruction.
    """
    leaders = {f.start for f in program.functions}
    for instruction in program.instructions:
        if instruction is None:
            continue
        if OP_INFO[instruction.op].jumps:
            leaders.add(instruction.immediate)
        if OP_INFO[instruction.op].jumps or instruction.op not in SIMPLE_OPS:
            leaders.add(instruction.next_pc)
    return {
        pc
        for pc in leaders
        if pc < len(program.instructions)
        and (instruction := program.instructions[pc]) is not None
        and instruction.op in SIMPLE_OPS
    }


def _block_instructions(program: Program, start: int, starts: set[int]) -> list[Instruction]:
    body = []
    pc = start
    while True:
        instruction = program.instructions[pc]
        assert instruction is not None
        body.append(instruction)
        if OP_INFO[instruction.op].jumps or instruction.next_pc in starts:
            return body
        next_instruction = program.instructions[instruction.next_pc]
        assert next_instruction is not None, "validated code never falls off a function"
        if next_instruction.op not in SIMPLE_OPS:
            return body
        pc = instruction.next_pc


class _BlockWriter:
    """Turns the instructions of one block into Python statements.

    `virtual` holds the top of the stack as Python atoms (local names or
    integer literals); `taken` counts values consumed from the real stack,
    read once each into locals r1, r2, ... (r1 is the entry top).
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.lines: list[str] = []
        self.virtual: list[str] = []
        self.taken = 0
        self.temps = 0

    def peek(self, depth: int) -> str:
        while len(self.virtual) < depth:
            self.taken += 1
            self.lines.append(f"r{self.taken} = s[-{self.taken}]")
            self.virtual.insert(0, f"r{self.taken}")
        return self.virtual[-depth]

    def operand(self) -> str:
        self.peek(1)
        return self.virtual.pop()

    def drop(self) -> None:
        if self.virtual:
            self.virtual.pop()
        else:
            self.taken += 1  # never read, only removed at the end

    def result(self, expression: str) -> None:
        name = f"t{self.temps}"
        self.temps += 1
        self.lines.append(f"{name} = {expression}")
        self.virtual.append(name)

    def check(self, condition: str, reason: str) -> None:
        self.lines.append(f"if {condition}: raise Halt({reason})")

    def flush(self) -> None:
        """Write the virtual stack back over the consumed real values."""
        kept = min(self.taken, len(self.virtual))
        for index in range(kept):
            slot = self.taken - index
            if self.virtual[index] != f"r{slot}":
                self.lines.append(f"s[-{slot}] = {self.virtual[index]}")
        extra = self.virtual[kept:]
        if len(extra) == 1:
            self.lines.append(f"s.append({extra[0]})")
        elif extra:
            self.lines.append(f"s.extend(({', '.join(extra)},))")
        if self.taken > len(self.virtual):
            self.lines.append(f"del s[-{self.taken - len(self.virtual)}:]")


def _block_source(program: Program, start: int, body: list[Instruction]) -> str:
    writer = _BlockWriter(program)
    for instruction in body:
        _write_instruction(writer, instruction)
    last = body[-1]
    if last.op is Op.JUMP:
        writer.flush()
        writer.lines.append(f"return {last.immediate}")
    elif last.op is Op.JUMPI:
        condition = writer.operand()
        writer.flush()
        writer.lines.append(f"return {last.immediate} if {condition} else {last.next_pc}")
    else:
        writer.flush()
        writer.lines.append(f"return {last.next_pc}")
    return f"def b{start}(s, m):\n" + "".join(f"    {line}\n" for line in writer.lines)


def _write_instruction(writer: _BlockWriter, instruction: Instruction) -> None:
    op, immediate = instruction.op, instruction.immediate
    if op in (Op.NOP, Op.JUMP, Op.JUMPI):
        return  # jumps are written by _block_source, after the flush
    if op is Op.POP:
        writer.drop()
    elif op in (Op.PUSH1, Op.PUSH2):
        writer.virtual.append(str(immediate))
    elif op is Op.CONST:
        constant = writer.program.module.constants[immediate]
        writer.virtual.append(str(constant) if isinstance(constant, int) else f"K{immediate}")
    elif op is Op.DUP:
        writer.virtual.append(writer.peek(immediate))
    elif op is Op.SWAP:
        writer.peek(immediate + 1)
        top, other = writer.virtual[-1], writer.virtual[-1 - immediate]
        writer.virtual[-1], writer.virtual[-1 - immediate] = other, top
    elif op in BINARY:
        b = writer.operand()
        a = writer.operand()
        if op in (Op.DIV, Op.MOD):
            writer.check(f"{b} == 0", "DIVISION_BY_ZERO")
        if op in SHIFT_BY_LITERAL and b.isdigit() and int(b) < WORD_BITS:
            writer.result(SHIFT_BY_LITERAL[op].format(a=a, b=b))
        else:
            writer.result(BINARY[op].format(a=a, b=b))
    else:
        _write_unary(writer, op)


def _write_unary(writer: _BlockWriter, op: Op) -> None:
    cells = writer.program.module.memory_cells
    if op is Op.ISZERO:
        writer.result(f"1 if {writer.operand()} == 0 else 0")
    elif op is Op.NOT:
        writer.result(f"{writer.operand()} ^ {MASK}")
    elif op is Op.LEN:
        writer.result(f"len({writer.operand()})")
    elif op is Op.MLOAD:
        index = writer.operand()
        writer.check(f"{index} >= {cells}", "MEMORY_OUT_OF_BOUNDS")
        writer.result(f"m[{index}]")
    else:
        assert op is Op.MSTORE, op
        index = writer.operand()
        value = writer.operand()
        writer.check(f"{index} >= {cells}", "MEMORY_OUT_OF_BOUNDS")
        writer.lines.append(f"m[{index}] = {value}")
