"""The disassembler: a module back to assembly text.

The text re-assembles to exactly the same module: constants are declared
first with `.constant` (fixing their order), every instruction is written
in its explicit form (PUSH1, PUSH2, CONST) and jump targets get labels
`L<pc>`. Unexported functions are named `F<index>` (entry point names are
lowercase, so these never collide).
"""

from __future__ import annotations

from vm.module import Module
from vm.opcodes import Op
from vm.validator import Instruction, Program, validate_module
from vm.values import Value


def disassemble(module: Module) -> str:
    """Assembly text for a valid module.

    Raises ValidationError if the module is not valid.
    """
    program = validate_module(module)
    names = _function_names(module)
    targets = {
        i.immediate for i in program.instructions if i is not None and i.op in (Op.JUMP, Op.JUMPI)
    }
    lines = [f"; module version {module.version}, {len(module.code)} bytes of code"]
    if module.memory_cells:
        lines.append(f".memory {module.memory_cells}")
    lines.extend(f".constant {format_value(c)}" for c in module.constants)
    for info in program.functions:
        lines.append("")
        lines.extend(_function_header(module, info.index, names[info.index]))
        for pc in range(info.start, info.end):
            instruction = program.instructions[pc]
            if instruction is None:
                continue
            if pc in targets:
                lines.append(f"L{pc}:")
            text = _instruction_text(program, instruction, names)
            lines.append(f"    {text:<32} ; {pc:04d}")
    return "\n".join(lines) + "\n"


def format_value(value: Value) -> str:
    """A value as an assembly literal (decimal, "text" or x"hex")."""
    if isinstance(value, int):
        return str(value)
    if all(0x20 <= byte <= 0x7E for byte in value):
        return '"' + value.decode("ascii").replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f'x"{value.hex()}"'


def _function_names(module: Module) -> list[str]:
    names = [f"F{index}" for index in range(len(module.functions))]
    for name, index in reversed(module.entry_points):
        names[index] = name
    return names


def _function_header(module: Module, index: int, name: str) -> list[str]:
    spec = module.functions[index]
    params = " ".join(t.value for t in spec.params)
    results = " ".join(t.value for t in spec.results)
    signature = f"{params} -> {results}".strip()
    lines = [f".func {name} {signature}".rstrip()]
    lines.extend(f".export {entry}" for entry, target in module.entry_points if target == index)
    return lines


def _instruction_text(program: Program, instruction: Instruction, names: list[str]) -> str:
    op, immediate = instruction.op, instruction.immediate
    if op in (Op.JUMP, Op.JUMPI):
        return f"{op.name} L{immediate}"
    if op is Op.CALL:
        return f"CALL {names[immediate]}"
    if op is Op.CONST:
        return f"CONST {format_value(program.module.constants[immediate])}"
    if op in (Op.PUSH1, Op.PUSH2, Op.DUP, Op.SWAP, Op.SEND):
        return f"{op.name} {immediate}"
    return op.name
