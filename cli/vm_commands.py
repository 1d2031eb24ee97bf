"""`ledger vm ...`: assemble, disassemble and run contracts locally.

The integrator mounts `vm_app` under the main app as `vm`. Runs use the
in-memory host (vm.host.MemoryHost), the reference interpreter and the
current gas schedule, and print a gas report by opcode.

Exit status: 0 success, 1 bad input (file, assembly, module, arguments),
2 the execution reverted or halted.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from vm.assembler import assemble
from vm.disassembler import disassemble, format_value
from vm.errors import InvocationError, ModuleError
from vm.gas import GAS_SCHEDULE_V1
from vm.host import MemoryHost
from vm.interpreter import execute
from vm.machine import Machine
from vm.module import Module, decode_module, encode_module
from vm.opcodes import Op
from vm.result import ExecutionResult, Status
from vm.validator import validate_module
from vm.values import Value

vm_app = typer.Typer(
    help="Assemble, disassemble and run VM contracts locally.", no_args_is_help=True
)

HEX_TEXT = re.compile(r"[0-9a-fA-F\s]+")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


class ModuleFileError(Exception):
    """A module file that cannot be read, assembled or decoded (the message says which)."""


def read_module_file(path: Path) -> Module:
    """A module from a .asm file, or from module bytes (binary or hex text).
    Raises ModuleFileError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModuleFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix == ".asm":
            return assemble(data.decode("utf-8"))
        text = data.decode("ascii", errors="replace").strip()
        if text and HEX_TEXT.fullmatch(text):
            data = bytes.fromhex("".join(text.split()))
        return decode_module(data)
    except (ModuleError, UnicodeDecodeError, ValueError) as exc:
        raise ModuleFileError(f"{path}: {exc}") from None


def _read_module(path: Path) -> Module:
    try:
        return read_module_file(path)
    except ModuleFileError as exc:
        raise _fail(str(exc)) from None


def parse_argument(text: str) -> Value:
    """A command-line argument as a machine value.

    `42` or `0x2a` is an integer, `hex:00ff` and `str:hello` are byte strings.
    Raises typer.BadParameter otherwise.
    """
    if text.startswith("hex:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            raise typer.BadParameter(f"bad hex in {text!r}") from None
    if text.startswith("str:"):
        return text[4:].encode("utf-8")
    if re.fullmatch(r"[0-9]+|0[xX][0-9a-fA-F]+", text) and len(text) <= 80:
        return int(text, 0)
    raise typer.BadParameter(f"{text!r}: use an integer, hex:BYTES or str:TEXT")


@vm_app.command("asm")
def asm_command(
    source: Annotated[Path, typer.Argument(help="assembly text file")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the module here")
    ] = None,
    hex_output: Annotated[bool, typer.Option("--hex", help="write hex text, not binary")] = False,
) -> None:
    """Assemble a text file into a validated module (hex on stdout without -o)."""
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {source}: {exc}") from None
    try:
        data = encode_module(assemble(text))
    except ModuleError as exc:
        raise _fail(f"{source}: {exc}") from None
    if output is None:
        typer.echo(data.hex())
    elif hex_output:
        output.write_text(data.hex() + "\n", encoding="ascii")
    else:
        output.write_bytes(data)
    typer.echo(f"{len(data)} bytes", err=True)


@vm_app.command("disasm")
def disasm_command(
    module_file: Annotated[Path, typer.Argument(help="module (binary or hex) or .asm file")],
) -> None:
    """Print a module as assembly text that re-assembles to the same bytes."""
    module = _read_module(module_file)
    try:
        typer.echo(disassemble(module), nl=False)
    except ModuleError as exc:
        raise _fail(f"{module_file}: {exc}") from None


@vm_app.command("run")
def run_command(
    module_file: Annotated[Path, typer.Argument(help="module (binary or hex) or .asm file")],
    entry: Annotated[str, typer.Argument(help="entry point name")],
    args: Annotated[
        list[str] | None, typer.Argument(help="arguments: 42, 0x2a, hex:00ff, str:text")
    ] = None,
    gas: Annotated[int, typer.Option(help="gas limit", min=0)] = 1_000_000,
    height: Annotated[int, typer.Option(help="block height", min=0)] = 1,
    time: Annotated[int, typer.Option(help="block time", min=0)] = 0,
    caller: Annotated[str, typer.Option(help="caller address (text)")] = "caller",
    balance: Annotated[int, typer.Option(help="the contract's coin balance", min=0)] = 0,
    value: Annotated[
        int, typer.Option(help="coin paid with the call (CALLVALUE; added to --balance)", min=0)
    ] = 0,
) -> None:
    """Run an entry point against an in-memory host and print a gas report."""
    module = _read_module(module_file)
    values = [parse_argument(a) for a in args or []]
    host = MemoryHost(
        caller_address=caller.encode(),
        value=value,
        height=height,
        time=time,
        balances={b"contract": balance + value},
    )
    counts: Counter[Op] = Counter()

    def count(machine: Machine) -> None:
        instruction = machine.program.instructions[machine.pc]
        assert instruction is not None
        counts[instruction.op] += 1

    try:
        program = validate_module(module)
        result = execute(program, entry, values, gas, host, tracer=count)
    except (ModuleError, InvocationError) as exc:
        raise _fail(str(exc)) from None
    _print_result(result)
    _print_gas_report(result, counts, module.memory_cells)
    if result.status is not Status.SUCCESS:
        raise typer.Exit(2)


def _print_result(result: ExecutionResult) -> None:
    status = result.status.value
    if result.halt_reason is not None:
        status += f" ({result.halt_reason.value})"
    typer.echo(f"status:   {status}")
    typer.echo(f"returned: {', '.join(format_value(v) for v in result.return_values) or '-'}")
    for write in result.storage_writes:
        value = "deleted" if write.value is None else format_value(write.value)
        typer.echo(f"storage:  {format_value(write.key)} = {value}")
    for transfer in result.transfers:
        typer.echo(f"transfer: {transfer.amount} to {format_value(transfer.recipient)}")
    for event in result.events:
        typer.echo(f"event:    {format_value(event.topic)} {format_value(event.data)}")
    for message in result.messages:
        args = " ".join(format_value(a) for a in message.args)
        typer.echo(
            f"message:  {format_value(message.recipient)}.{message.entry}({args}) gas {message.gas}"
        )


def _print_gas_report(result: ExecutionResult, counts: Counter[Op], memory_cells: int) -> None:
    schedule = GAS_SCHEDULE_V1
    static = {op: n * schedule.base[op] for op, n in counts.items()}
    memory = memory_cells * schedule.memory_cell
    typer.echo(f"gas used: {result.gas_used}")
    typer.echo(f"instructions: {sum(counts.values())}")
    typer.echo(f"{'opcode':<10}{'count':>10}{'base gas':>12}")
    for op in sorted(counts, key=lambda o: (-static[o], o.name)):
        typer.echo(f"{op.name:<10}{counts[op]:>10}{static[op]:>12}")
    if result.status is not Status.HALT:
        dynamic = result.gas_used - sum(static.values()) - memory
        typer.echo(f"memory cells gas: {memory}, dynamic gas: {dynamic}")
