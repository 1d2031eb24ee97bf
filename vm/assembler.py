"""The assembler: readable text to a validated Module.

Text form, one statement per line; `;` starts a comment::

    .memory 8                   ; integer memory cells (default 0)
    .const LIMIT 1000           ; a named literal
    .constant "hello"           ; put a literal in the constant table now
    .entry sum int -> int       ; a function exported under its own name
    .func helper int int -> int ; an internal function
    .export other_name          ; export the current function again
    loop:                       ; a label (scoped to its function)
        PUSH 1                  ; PUSH1, PUSH2 or CONST, whichever fits
        DUP 2
        JUMPI loop
        CALL helper

Literals: decimal `42`, hex `0x2a`, byte strings `"text"` (escapes \\\\
\\" \\n \\t \\xNN) and `x"0a0b"`. Operands may also be `.const` names.
Mnemonics are case-insensitive. Every error raises AssemblyError with the
1-based line number, including deploy-time validation errors, which are
mapped back to the line of the offending instruction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vm.errors import AssemblyError, ValidationError
from vm.module import MODULE_VERSION, FunctionSpec, Module
from vm.opcodes import OP_BY_MNEMONIC, OP_INFO, Op, instruction_size
from vm.validator import NAME_PATTERN, validate_module
from vm.values import Value, ValueType

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DECIMAL = re.compile(r"[0-9]+")
HEXADECIMAL = re.compile(r"0[xX][0-9a-fA-F]+")
LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):\s*(.*)")
ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}


@dataclass
class _Statement:
    line: int
    function: int
    op: Op
    operand: str
    pc: int
    immediate: int = 0


@dataclass
class _Function:
    name: str
    line: int
    params: tuple[ValueType, ...]
    results: tuple[ValueType, ...]
    offset: int
    labels: dict[str, int] = field(default_factory=dict)


@dataclass
class _Assembly:
    memory_cells: int = 0
    names: dict[str, Value] = field(default_factory=dict)
    constants: list[Value] = field(default_factory=list)
    functions: list[_Function] = field(default_factory=list)
    exports: dict[str, int] = field(default_factory=dict)
    statements: list[_Statement] = field(default_factory=list)
    pc: int = 0


def assemble(text: str) -> Module:
    """Assemble `text` into a module that passes validate_module.

    Raises AssemblyError (with the line number) for any mistake.
    """
    asm = _Assembly()
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        _parse_line(asm, number, _strip_comment(raw, number))
    last_line = max(len(lines), 1)
    if not asm.functions:
        raise AssemblyError(last_line, "no .func or .entry: a module needs a function")
    for statement in asm.statements:
        statement.immediate = _resolve(asm, statement)
    module = Module(
        version=MODULE_VERSION,
        code=b"".join(_encode(s) for s in asm.statements),
        constants=tuple(asm.constants),
        functions=tuple(FunctionSpec(f.offset, f.params, f.results) for f in asm.functions),
        entry_points=tuple(sorted(asm.exports.items())),
        memory_cells=asm.memory_cells,
    )
    try:
        validate_module(module)
    except ValidationError as exc:
        raise AssemblyError(_line_of(asm, exc.pc, last_line), exc.detail) from exc
    return module


def _line_of(asm: _Assembly, pc: int | None, default: int) -> int:
    for statement in asm.statements:
        if statement.pc == pc:
            return statement.line
    return default


def _strip_comment(raw: str, line: int) -> str:
    in_string = False
    escaped = False
    for position, char in enumerate(raw):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == ";":
            return raw[:position].strip()
    if in_string:
        raise AssemblyError(line, "unterminated string literal")
    return raw.strip()


def _parse_line(asm: _Assembly, line: int, text: str) -> None:
    if not text:
        return
    if text.startswith("."):
        _parse_directive(asm, line, text)
        return
    label = LABEL.fullmatch(text)
    if label is not None:
        _define_label(asm, line, label.group(1))
        text = label.group(2).strip()
        if not text:
            return
    _parse_instruction(asm, line, text)


def _current_function(asm: _Assembly, line: int) -> int:
    if not asm.functions:
        raise AssemblyError(line, "code before the first .func or .entry")
    return len(asm.functions) - 1


def _define_label(asm: _Assembly, line: int, name: str) -> None:
    function = asm.functions[_current_function(asm, line)]
    if name in function.labels:
        raise AssemblyError(line, f"label {name!r} defined twice in function {function.name!r}")
    function.labels[name] = asm.pc


def _parse_instruction(asm: _Assembly, line: int, text: str) -> None:
    function = _current_function(asm, line)
    mnemonic, _, operand = text.partition(" ")
    mnemonic = mnemonic.upper()
    operand = operand.strip()
    if mnemonic == "PUSH":
        op = _choose_push(asm, line, operand)
    elif mnemonic in OP_BY_MNEMONIC:
        op = OP_BY_MNEMONIC[mnemonic]
    else:
        raise AssemblyError(line, f"unknown mnemonic {mnemonic!r}")
    has_immediate = OP_INFO[op].immediate_size > 0
    if has_immediate and not operand:
        raise AssemblyError(line, f"{op.name} needs an operand")
    if not has_immediate and operand:
        raise AssemblyError(line, f"{op.name} takes no operand")
    if op is Op.CONST:
        _constant_index(asm, _literal(asm, line, operand))
    asm.statements.append(_Statement(line, function, op, operand, asm.pc))
    asm.pc += instruction_size(op)


def _choose_push(asm: _Assembly, line: int, operand: str) -> Op:
    if not operand:
        raise AssemblyError(line, "PUSH needs an operand")
    value = _literal(asm, line, operand)
    if isinstance(value, int) and value < 1 << 8:
        return Op.PUSH1
    if isinstance(value, int) and value < 1 << 16:
        return Op.PUSH2
    return Op.CONST


def _resolve(asm: _Assembly, statement: _Statement) -> int:
    op, operand, line = statement.op, statement.operand, statement.line
    if op in (Op.JUMP, Op.JUMPI):
        labels = asm.functions[statement.function].labels
        if operand not in labels:
            raise AssemblyError(line, f"undefined label {operand!r}")
        return labels[operand]
    if op is Op.CALL:
        for index, function in enumerate(asm.functions):
            if function.name == operand:
                return index
        raise AssemblyError(line, f"undefined function {operand!r}")
    if op is Op.CONST:
        return _constant_index(asm, _literal(asm, line, operand))
    if op in (Op.PUSH1, Op.PUSH2, Op.DUP, Op.SWAP, Op.SEND):
        value = _literal(asm, line, operand)
        limit = 1 << (8 * OP_INFO[op].immediate_size)
        if not isinstance(value, int) or value >= limit:
            raise AssemblyError(line, f"{op.name} operand must be an integer below {limit}")
        return value
    return 0


def _encode(statement: _Statement) -> bytes:
    size = OP_INFO[statement.op].immediate_size
    return bytes([statement.op]) + statement.immediate.to_bytes(size, "big")


def _constant_index(asm: _Assembly, value: Value) -> int:
    for index, existing in enumerate(asm.constants):
        if type(existing) is type(value) and existing == value:
            return index
    asm.constants.append(value)
    return len(asm.constants) - 1


def _parse_directive(asm: _Assembly, line: int, text: str) -> None:
    directive, _, rest = text.partition(" ")
    rest = rest.strip()
    if directive in (".func", ".entry"):
        _declare_function(asm, line, rest, export=directive == ".entry")
    elif directive == ".export":
        _export(asm, line, rest, _current_function(asm, line))
    elif directive == ".memory":
        cells = _literal(asm, line, rest)
        if not isinstance(cells, int):
            raise AssemblyError(line, ".memory needs an integer")
        asm.memory_cells = cells
    elif directive == ".const":
        name, _, literal = rest.partition(" ")
        if IDENTIFIER.fullmatch(name) is None or name in asm.names:
            raise AssemblyError(line, f".const name {name!r} is invalid or already defined")
        asm.names[name] = _literal(asm, line, literal.strip())
    elif directive == ".constant":
        _constant_index(asm, _literal(asm, line, rest))
    else:
        raise AssemblyError(line, f"unknown directive {directive!r}")


def _declare_function(asm: _Assembly, line: int, rest: str, export: bool) -> None:
    name, _, signature = rest.partition(" ")
    if IDENTIFIER.fullmatch(name) is None:
        raise AssemblyError(line, f"invalid function name {name!r}")
    if any(f.name == name for f in asm.functions):
        raise AssemblyError(line, f"function {name!r} defined twice")
    params_text, arrow, results_text = signature.partition("->")
    params = _types(line, params_text)
    results = _types(line, results_text) if arrow else ()
    asm.functions.append(_Function(name, line, params, results, asm.pc))
    if export:
        _export(asm, line, name, len(asm.functions) - 1)


def _export(asm: _Assembly, line: int, name: str, function: int) -> None:
    if NAME_PATTERN.fullmatch(name) is None:
        raise AssemblyError(line, f"entry point name {name!r} must match [a-z_][a-z0-9_]{{0,31}}")
    if name in asm.exports:
        raise AssemblyError(line, f"entry point {name!r} exported twice")
    asm.exports[name] = function


def _types(line: int, text: str) -> tuple[ValueType, ...]:
    types = []
    for word in text.split():
        try:
            types.append(ValueType(word))
        except ValueError:
            raise AssemblyError(line, f"unknown type {word!r} (use int or bytes)") from None
    return tuple(types)


def _literal(asm: _Assembly, line: int, text: str) -> Value:
    if text in asm.names:
        return asm.names[text]
    if text.startswith('x"') and text.endswith('"') and len(text) >= 3:
        try:
            return bytes.fromhex(text[2:-1])
        except ValueError:
            raise AssemblyError(line, f"bad hex bytes {text}") from None
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return _string(line, text[1:-1])
    if DECIMAL.fullmatch(text) is None and HEXADECIMAL.fullmatch(text) is None:
        raise AssemblyError(line, f"bad literal or unknown name {text!r}")
    if len(text) > 80:
        raise AssemblyError(line, f"integer {text[:20]}... is outside 0..2**256-1")
    value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    if value.bit_length() > 256:
        raise AssemblyError(line, f"integer {text} is outside 0..2**256-1")
    return value


def _string(line: int, body: str) -> bytes:
    out = bytearray()
    position = 0
    while position < len(body):
        char = body[position]
        if char != "\\":
            if not " " <= char <= "~":
                raise AssemblyError(line, "string literals take printable ASCII only")
            out += char.encode()
            position += 1
            continue
        escape = body[position + 1 : position + 2]
        if escape in ESCAPES:
            out += ESCAPES[escape].encode()
            position += 2
        elif escape == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[position + 2 : position + 4]):
            out.append(int(body[position + 2 : position + 4], 16))
            position += 4
        else:
            raise AssemblyError(line, f"bad escape in string literal at {position}")
    return bytes(out)
