"""Integer instructions: arithmetic, comparison, bitwise (wrapping 256-bit)."""

from __future__ import annotations

import pytest

from tests.vm.conftest import Runner
from vm.errors import HaltReason
from vm.gas import GAS_SCHEDULE_V1
from vm.limits import MAX_UINT
from vm.opcodes import Op
from vm.result import Status

BINARY = ".entry main int int -> int\n    {op}\n    RET\n"
UNARY = ".entry main int -> int\n    {op}\n    RET\n"


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        ("ADD", 2, 3, 5),
        ("ADD", MAX_UINT, 1, 0),
        ("ADD", MAX_UINT, MAX_UINT, MAX_UINT - 1),
        ("SUB", 5, 3, 2),
        ("SUB", 0, 1, MAX_UINT),
        ("MUL", 6, 7, 42),
        ("MUL", 1 << 255, 2, 0),
        ("MUL", MAX_UINT, MAX_UINT, 1),
        ("DIV", 7, 2, 3),
        ("DIV", MAX_UINT, MAX_UINT, 1),
        ("MOD", 7, 2, 1),
        ("MOD", 5, 7, 5),
        ("EXP", 2, 10, 1024),
        ("EXP", 2, 256, 0),
        ("EXP", 3, 0, 1),
        ("EXP", 0, 0, 1),
        ("LT", 1, 2, 1),
        ("LT", 2, 2, 0),
        ("GT", 3, 2, 1),
        ("GT", 2, 3, 0),
        ("EQ", 9, 9, 1),
        ("EQ", 9, 8, 0),
        ("AND", 0b1100, 0b1010, 0b1000),
        ("OR", 0b1100, 0b1010, 0b1110),
        ("XOR", 0b1100, 0b1010, 0b0110),
        ("SHL", 1, 255, 1 << 255),
        ("SHL", 1, 256, 0),
        ("SHL", MAX_UINT, 4, MAX_UINT - 15),
        ("SHL", 1, MAX_UINT, 0),
        ("SHR", 1 << 255, 255, 1),
        ("SHR", MAX_UINT, 256, 0),
        ("SHR", 8, 2, 2),
    ],
)
def test_binary(run: Runner, op: str, a: int, b: int, expected: int) -> None:
    result = run(BINARY.format(op=op), args=(a, b))
    assert result.status is Status.SUCCESS
    assert result.return_values == (expected,)


@pytest.mark.parametrize(
    ("op", "a", "expected"),
    [("ISZERO", 0, 1), ("ISZERO", 5, 0), ("NOT", 0, MAX_UINT), ("NOT", MAX_UINT, 0)],
)
def test_unary(run: Runner, op: str, a: int, expected: int) -> None:
    assert run(UNARY.format(op=op), args=(a,)).return_values == (expected,)


@pytest.mark.parametrize("op", ["DIV", "MOD"])
def test_division_by_zero_halts_and_burns_all_gas(run: Runner, op: str) -> None:
    result = run(BINARY.format(op=op), args=(5, 0), gas=1000)
    assert result.status is Status.HALT
    assert result.halt_reason is HaltReason.DIVISION_BY_ZERO
    assert result.gas_used == 1000


def test_exp_charges_per_exponent_byte(run: Runner) -> None:
    base = GAS_SCHEDULE_V1.base
    small = run(BINARY.format(op="EXP"), args=(3, 1))
    large = run(BINARY.format(op="EXP"), args=(3, 1 << 200))
    assert small.gas_used == base[Op.EXP] + base[Op.RET] + GAS_SCHEDULE_V1.exp_per_byte
    assert large.gas_used - small.gas_used == 25 * GAS_SCHEDULE_V1.exp_per_byte


def test_constant_operands_are_folded_into_the_same_results(run: Runner) -> None:
    text = """
    .entry main -> int int int int
        PUSH 7
        PUSH 0
        SHL
        PUSH 1
        PUSH 300
        SHL
        PUSH 0x10
        PUSH 4
        SHR
        PUSH 115792089237316195423570985008687907853269984665640564039457584007913129639935
        PUSH 1
        ADD
        RET
    """
    assert run(text).return_values == (7, 0, 1, 0)
