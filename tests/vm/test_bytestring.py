"""Byte-string instructions: LEN, CONCAT, SLICE, ITOB, BTOI, EQ on bytes."""

from __future__ import annotations

from tests.vm.conftest import Runner
from vm.errors import HaltReason
from vm.gas import GAS_SCHEDULE_V1
from vm.limits import MAX_BYTES_LENGTH
from vm.opcodes import Op
from vm.result import Status


def test_len_concat_slice(run: Runner) -> None:
    text = """
    .entry main bytes bytes -> int bytes bytes
        CONCAT          ; ab
        DUP 1
        LEN             ; ab 7
        SWAP 1          ; 7 ab
        DUP 1
        PUSH 2
        PUSH 3
        SLICE           ; 7 ab cde
        RET
    """
    result = run(text, args=(b"abc", b"defg"))
    assert result.return_values == (7, b"abcdefg", b"cde")


def test_slice_out_of_range_halts(run: Runner) -> None:
    text = ".entry main bytes -> bytes\n PUSH 2\n PUSH 5\n SLICE\n RET\n"
    assert run(text, args=(b"abcdef",)).halt_reason is HaltReason.SLICE_OUT_OF_RANGE
    assert run(text, args=(b"abcdefg",)).return_values == (b"cdefg",)


def test_itob_btoi_round_trip(run: Runner) -> None:
    text = ".entry main int -> bytes int\n ITOB\n DUP 1\n BTOI\n RET\n"
    result = run(text, args=(258,))
    assert result.return_values == ((258).to_bytes(32, "big"), 258)


def test_btoi_of_empty_is_zero_and_long_input_halts(run: Runner) -> None:
    text = ".entry main bytes -> int\n BTOI\n RET\n"
    assert run(text, args=(b"",)).return_values == (0,)
    assert run(text, args=(b"\x01" * 33,)).halt_reason is HaltReason.BYTES_TOO_LONG


def test_eq_on_bytes(run: Runner) -> None:
    text = ".entry main bytes bytes -> int\n EQ\n RET\n"
    assert run(text, args=(b"x", b"x")).return_values == (1,)
    assert run(text, args=(b"x", b"y")).return_values == (0,)


def test_concat_beyond_length_limit_halts(run: Runner) -> None:
    text = ".entry main bytes -> bytes\n DUP 1\n CONCAT\n RET\n"
    half = b"a" * (MAX_BYTES_LENGTH // 2)
    assert run(text, args=(half,)).status is Status.SUCCESS
    result = run(text, args=(half + b"a",))
    assert result.halt_reason is HaltReason.BYTES_TOO_LONG


def test_allocation_limit_bounds_total_bytes_created(run: Runner) -> None:
    # Doubling a 4 KiB string over and over creates more than 1 MiB in total.
    text = """
    .entry main bytes -> int
    loop:
        PUSH 0
        PUSH 4096
        SLICE
        JUMP loop
    """
    result = run(text, args=(b"z" * 4096,), gas=10_000_000)
    assert result.halt_reason is HaltReason.ALLOCATION_LIMIT


def test_creating_bytes_costs_gas_per_word(run: Runner) -> None:
    text = ".entry main bytes bytes -> bytes\n CONCAT\n RET\n"
    base = GAS_SCHEDULE_V1.base[Op.CONCAT] + GAS_SCHEDULE_V1.base[Op.RET]
    assert run(text, args=(b"a" * 32, b"")).gas_used == base + 1
    assert run(text, args=(b"a" * 32, b"b")).gas_used == base + 2
