"""The assembler (errors with line numbers) and the disassembler round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.hypothesis_profiles import examples
from tests.vm.random_programs import programs
from vm.assembler import assemble
from vm.disassembler import disassemble, format_value
from vm.errors import AssemblyError
from vm.opcodes import Op


def test_push_picks_the_smallest_encoding() -> None:
    module = assemble(
        '.entry main -> int int int bytes\n PUSH 255\n PUSH 0x100\n PUSH 65536\n PUSH "a"\n RET\n'
    )
    assert module.code == bytes([Op.PUSH1, 255, Op.PUSH2, 1, 0, Op.CONST, 0, 0, Op.CONST, 0, 1, 5])
    assert module.constants == (65536, b"a")


def test_literals_and_named_constants() -> None:
    text = """
    .const GREETING "a\\"b\\\\c\\n\\x00;"    ; comment after a string with ; inside
    .const BIG 0xFFFFFFFFFF
    .const RAW x"deadBEEF"
    .entry main -> bytes int bytes
        PUSH GREETING
        PUSH BIG
        CONST RAW
        RET
    """
    module = assemble(text)
    assert module.constants == (b'a"b\\c\n\x00;', 0xFFFFFFFFFF, bytes.fromhex("deadbeef"))


def test_labels_are_scoped_to_functions_and_calls_resolve_forward() -> None:
    text = """
    .entry main -> int
        CALL later
        JUMP end
    end:
        RET
    .func later -> int
        JUMP end
    end:
        PUSH 3
        RET
    """
    module = assemble(text)
    assert module.entry_points == (("main", 0),)
    assert [f.offset for f in module.functions] == [0, 7]


def test_exports_are_sorted() -> None:
    module = assemble(".entry zeta -> int\n.export alpha\n PUSH 1\n RET\n")
    assert module.entry_points == (("alpha", 0), ("zeta", 0))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "needs a function"),
        ("PUSH 1", 1, "code before the first"),
        (".entry main -> int\n  PUSH 1\n  FROB\n", 3, "unknown mnemonic 'FROB'"),
        (".entry main -> int\n  PUSH\n", 2, "PUSH needs an operand"),
        (".entry main -> int\n  ADD 1\n", 2, "ADD takes no operand"),
        (".entry main -> int\n  DUP\n", 2, "DUP needs an operand"),
        (".entry main -> int\n  PUSH1 256\n  RET\n", 2, "below 256"),
        (".entry main -> int\n  PUSH -1\n", 2, "bad literal"),
        (".entry main -> int\n  PUSH 1_000\n", 2, "bad literal"),
        (".entry main -> int\n  PUSH +5\n", 2, "bad literal"),
        (".entry main -> int\n  PUSH 1 << 2\n", 2, "bad literal"),
        (".entry main -> int\n  PUSH 0x1" + "0" * 64 + "\n", 2, "outside 0..2**256-1"),
        (".entry main -> int\n  PUSH nope\n", 2, "unknown name 'nope'"),
        ('.entry main -> int\n  PUSH "abc\n', 2, "unterminated string"),
        ('.entry main -> int\n  PUSH "\\q"\n', 2, "bad escape"),
        ('.entry main -> int\n  PUSH "\u00e9"\n', 2, "printable ASCII"),
        ('.entry main -> int\n  PUSH x"abc"\n', 2, "bad hex bytes"),
        (".entry main -> int\n  JUMP nowhere\n", 2, "undefined label 'nowhere'"),
        (".entry main -> int\na:\na:\n", 3, "defined twice"),
        (".entry main -> int\n  CALL ghost\n", 2, "undefined function 'ghost'"),
        (".entry main -> int\n.entry main -> int\n", 2, "defined twice"),
        (".entry Main -> int\n", 1, "entry point name 'Main'"),
        (".entry main -> integer\n", 1, "unknown type 'integer'"),
        (".entry main -> int\n.export main\n", 2, "exported twice"),
        (".entry main -> int\n.frob\n", 2, "unknown directive"),
        (".const A 1\n.const A 2\n", 2, "already defined"),
        (".memory x\n", 1, "bad literal"),
        ('.memory "x"\n', 1, ".memory needs an integer"),
        # Validation errors come back with the line of the instruction.
        ('.entry main -> int\n  PUSH 1\n  PUSH "x"\n  ADD\n  RET\n', 4, "type mismatch"),
        (".entry main -> int\n  PUSH 1\n  PUSH 2\n  RET\n", 4, "RET with stack [int int]"),
        (".entry main -> int\n  PUSH 1\n", 2, "falls off the end"),
        (".entry main -> int\n  PUSH 1\n  RET\n  NOP\n  RET\n", 4, "unreachable"),
        (".entry main -> int\n  DUP 0\n", 2, "DUP 0"),
    ],
)
def test_invalid_assembly_reports_line(text: str, line: int, message: str) -> None:
    with pytest.raises(AssemblyError) as caught:
        assemble(text)
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"line {line}: ")


def test_disassembly_reassembles_to_the_same_module() -> None:
    text = """
    .memory 2
    .constant "unused"
    .entry main int -> int
        PUSH2 7         ; explicit, not the smallest form
        POP
        CALL helper
        RET
    .func helper int -> int
    again:
        DUP 1
        ISZERO
        JUMPI out
        PUSH 1
        SUB
        JUMP again
    out:
        PUSH x"00ff"
        PUSH "q\\"uote"
        CONCAT
        LEN
        ADD
        RET
    """
    module = assemble(text)
    listing = disassemble(module)
    assert "PUSH2 7" in listing and "L" in listing
    assert assemble(listing) == module


@pytest.mark.parametrize(
    ("value", "literal"),
    [(5, "5"), (b"ab", '"ab"'), (b'a"\\', '"a\\"\\\\"'), (b"\x00\xff", 'x"00ff"'), (b"", '""')],
)
def test_format_value(value: int | bytes, literal: str) -> None:
    assert format_value(value) == literal


@settings(max_examples=examples(60), deadline=None)
@given(programs())
def test_random_programs_round_trip_through_the_disassembler(text: str) -> None:
    module = assemble(text)
    assert assemble(disassemble(module)) == module
