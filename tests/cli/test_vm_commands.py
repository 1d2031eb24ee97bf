"""`ledger vm asm | disasm | run` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.vm_commands import parse_argument, vm_app
from vm.assembler import assemble
from vm.module import decode_module

SUM = """
.entry main int -> int
    PUSH 0
loop:
    DUP 2
    ISZERO
    JUMPI done
    DUP 2
    ADD
    SWAP 1
    PUSH 1
    SUB
    SWAP 1
    JUMP loop
done:
    SWAP 1
    POP
    RET
"""

runner = CliRunner()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "sum.asm"
    path.write_text(SUM)
    return path


def test_asm_writes_binary_and_hex(source: Path, tmp_path: Path) -> None:
    binary, hex_file = tmp_path / "sum.mod", tmp_path / "sum.hex"
    assert runner.invoke(vm_app, ["asm", str(source), "-o", str(binary)]).exit_code == 0
    assert decode_module(binary.read_bytes()) == assemble(SUM)
    result = runner.invoke(vm_app, ["asm", str(source), "-o", str(hex_file), "--hex"])
    assert result.exit_code == 0
    assert bytes.fromhex(hex_file.read_text()) == binary.read_bytes()
    printed = runner.invoke(vm_app, ["asm", str(source)])
    assert printed.stdout.strip() == binary.read_bytes().hex()


def test_asm_reports_the_line_of_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.asm"
    bad.write_text(".entry main -> int\n  PUSH 1\n  FROB\n")
    result = runner.invoke(vm_app, ["asm", str(bad)])
    assert result.exit_code == 1
    assert "line 3: unknown mnemonic 'FROB'" in result.output


def test_disasm_round_trips(source: Path, tmp_path: Path) -> None:
    binary = tmp_path / "sum.mod"
    runner.invoke(vm_app, ["asm", str(source), "-o", str(binary)])
    result = runner.invoke(vm_app, ["disasm", str(binary)])
    assert result.exit_code == 0
    assert assemble(result.stdout) == assemble(SUM)


def test_disasm_rejects_malformed_module(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mod"
    junk.write_bytes(b"\x96\x01\xff")
    result = runner.invoke(vm_app, ["disasm", str(junk)])
    assert result.exit_code == 1
    assert "error:" in result.output


def test_run_prints_result_and_gas_report(source: Path) -> None:
    result = runner.invoke(vm_app, ["run", str(source), "main", "10"])
    assert result.exit_code == 0
    assert "status:   success" in result.stdout
    assert "returned: 55" in result.stdout
    assert "gas used: 173" in result.stdout
    assert "instructions: 107" in result.stdout  # 1 + 10 * 10 + 3 + 3
    assert "dynamic gas: 0" in result.stdout
    assert "JUMPI" in result.stdout


def test_run_out_of_gas_exits_2(source: Path) -> None:
    result = runner.invoke(vm_app, ["run", str(source), "main", "10", "--gas", "50"])
    assert result.exit_code == 2
    assert "halt (out_of_gas)" in result.stdout
    assert "gas used: 50" in result.stdout


def test_run_rejects_bad_invocations(source: Path) -> None:
    wrong_type = runner.invoke(vm_app, ["run", str(source), "main", "str:x"])
    assert wrong_type.exit_code == 1 and "argument 0 must be int" in wrong_type.output
    missing = runner.invoke(vm_app, ["run", str(source), "nope"])
    assert missing.exit_code == 1 and "no entry point named 'nope'" in missing.output
    unreadable = runner.invoke(vm_app, ["run", "/nonexistent.mod", "main"])
    assert unreadable.exit_code == 1 and "cannot read" in unreadable.output


def test_run_relay_shows_messages() -> None:
    path = str(Path("vm/contracts/batch_relay.asm"))
    result = runner.invoke(vm_app, ["run", path, "deliver", "hex:05616c696365" + "00" * 7 + "0a41"])
    assert result.exit_code == 0, result.output
    assert "returned: 1" in result.stdout
    assert 'storage:  "n"' in result.stdout


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("0x2a", 42), ("hex:00ff", b"\x00\xff"), ("str:hi", b"hi"), ("str:", b"")],
)
def test_parse_argument(text: str, value: int | bytes) -> None:
    assert parse_argument(text) == value


@pytest.mark.parametrize("text", ["-1", "hex:zz", "bytes", "1.5"])
def test_invalid_argument(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_argument(text)
