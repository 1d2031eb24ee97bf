"""Deploy-time validation: every rule has a negative case."""

from __future__ import annotations

import pytest

from vm.assembler import assemble
from vm.errors import ValidationError
from vm.limits import MAX_CODE_SIZE, MAX_CONSTANTS, MAX_MEMORY_CELLS, MAX_STACK
from vm.module import FunctionSpec, Module
from vm.opcodes import Op
from vm.validator import validate_module
from vm.values import ValueType

INT, BYTES = ValueType.INT, ValueType.BYTES


def module(
    code: bytes,
    functions: tuple[FunctionSpec, ...] = (FunctionSpec(0, (), (INT,)),),
    constants: tuple[int | bytes, ...] = (),
    entry_points: tuple[tuple[str, int], ...] = (("main", 0),),
    memory_cells: int = 0,
    version: int = 1,
) -> Module:
    return Module(version, code, constants, functions, entry_points, memory_cells)


RET_ZERO = bytes([Op.PUSH1, 0, Op.RET])


def invalid(m: Module, fragment: str, pc: int | None = None) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_module(m)
    assert fragment in str(caught.value)
    assert caught.value.pc == pc


def test_valid_minimal_module() -> None:
    program = validate_module(module(RET_ZERO))
    assert program.functions[0].max_height == 1
    assert program.entry_points == {"main": 0}


def test_invalid_version() -> None:
    invalid(module(RET_ZERO, version=2), "unsupported module version")


def test_invalid_empty_code() -> None:
    invalid(module(b""), "code size 0")


def test_invalid_code_too_large() -> None:
    code = bytes([Op.NOP]) * MAX_CODE_SIZE + RET_ZERO
    invalid(module(code), "code size")


def test_invalid_unknown_opcode() -> None:
    invalid(module(bytes([Op.PUSH1, 0, 0xEE, Op.RET])), "unknown opcode 0xee", pc=2)


def test_invalid_truncated_immediate() -> None:
    invalid(module(bytes([Op.PUSH1, 0, Op.RET, Op.PUSH2, 1])), "immediate runs past", pc=3)


def test_invalid_jump_into_immediate() -> None:
    code = bytes([Op.JUMP, 0, 4, Op.PUSH2, 0, Op.RET, Op.RET])
    invalid(module(code), "jump target 4 is inside an instruction", pc=0)


def test_invalid_jump_outside_function() -> None:
    code = RET_ZERO + bytes([Op.JUMP, 0, 0])
    functions = (FunctionSpec(0, (), (INT,)), FunctionSpec(3, (), ()))
    invalid(module(code, functions), "outside the function", pc=3)


def test_invalid_falls_off_end() -> None:
    invalid(module(bytes([Op.PUSH1, 0])), "falls off the end", pc=0)
    code = bytes([Op.PUSH1, 0]) + bytes([Op.RET])
    functions = (FunctionSpec(0, (), (INT,)), FunctionSpec(2, (INT,), (INT,)))
    invalid(module(code, functions), "falls off the end", pc=0)


def test_invalid_stack_underflow() -> None:
    invalid(module(bytes([Op.ADD, Op.RET])), "stack underflow: ADD needs 2", pc=0)


def test_invalid_type_mismatch() -> None:
    code = bytes([Op.CONST, 0, 0, Op.PUSH1, 1, Op.ADD, Op.RET])
    invalid(module(code, constants=(b"x",)), "ADD expects int at depth 2, found bytes", pc=5)


def test_invalid_eq_on_mixed_types() -> None:
    code = bytes([Op.CONST, 0, 0, Op.PUSH1, 1, Op.EQ, Op.RET])
    invalid(module(code, constants=(b"x",)), "types differ", pc=5)


def test_invalid_inconsistent_stack_at_join() -> None:
    # One path pushes an extra value before the join point.
    code = bytes([Op.PUSH1, 1, Op.JUMPI, 0, 7, Op.PUSH1, 5, Op.PUSH1, 0, Op.RET])
    invalid(module(code), "stack at join point 7 differs", pc=5)


def test_invalid_join_with_different_types() -> None:
    text = """
    .entry main int -> int
        JUMPI b
        PUSH "x"
        JUMP end
    b:
        PUSH 1
    end:
        POP
        PUSH 0
        RET
    """
    with pytest.raises(Exception, match="differs"):
        assemble(text)


def test_invalid_ret_with_wrong_results() -> None:
    invalid(module(bytes([Op.RET])), "RET with stack []", pc=0)
    code = bytes([Op.CONST, 0, 0, Op.RET])
    invalid(module(code, constants=(b"x",)), "RET with stack [bytes]", pc=3)


def test_invalid_stack_too_high() -> None:
    code = bytes([Op.PUSH1, 0]) * (MAX_STACK + 1) + bytes([Op.RET])
    invalid(module(code), f"exceeds {MAX_STACK}", pc=2 * MAX_STACK)


def test_invalid_unbounded_stack_growth_in_loop() -> None:
    code = bytes([Op.PUSH1, 0, Op.JUMP, 0, 0])
    invalid(module(code), "stack at join point 0 differs", pc=2)


def test_invalid_dup_and_swap_depths() -> None:
    invalid(module(bytes([Op.DUP, 1, Op.RET])), "DUP 1 with stack height 0", pc=0)
    invalid(module(bytes([Op.PUSH1, 0, Op.DUP, 0, Op.RET])), "DUP 0", pc=2)
    invalid(module(bytes([Op.PUSH1, 0, Op.SWAP, 1, Op.RET])), "SWAP 1 with stack height 1", pc=2)


def test_invalid_const_and_call_indices() -> None:
    invalid(module(bytes([Op.CONST, 0, 0, Op.RET])), "no such constant", pc=0)
    invalid(module(bytes([Op.CALL, 0, 9, Op.RET])), "no such function", pc=0)


def test_invalid_call_argument_types() -> None:
    code = bytes([Op.PUSH1, 0, Op.CALL, 0, 1, Op.RET]) + bytes([Op.POP, Op.PUSH1, 0, Op.RET])
    functions = (FunctionSpec(0, (), (INT,)), FunctionSpec(6, (BYTES,), (INT,)))
    invalid(module(code, functions), "CALL expects bytes", pc=2)


def test_invalid_send_argument_count() -> None:
    invalid(module(bytes([Op.SEND, 17, Op.RET])), "at most 16 arguments", pc=0)


def test_invalid_unreachable_code() -> None:
    invalid(module(RET_ZERO + bytes([Op.NOP, Op.RET])), "unreachable", pc=3)


def test_invalid_function_offsets() -> None:
    functions = (FunctionSpec(1, (), (INT,)),)
    invalid(module(bytes([Op.NOP]) + RET_ZERO, functions), "start at offset 0")
    functions = (FunctionSpec(0, (), (INT,)), FunctionSpec(1, (), (INT,)))
    invalid(module(RET_ZERO * 2, functions), "does not start on an instruction", pc=1)
    functions = (FunctionSpec(0, (), (INT,)), FunctionSpec(0, (), (INT,)))
    invalid(module(RET_ZERO, functions), "does not start after")
    invalid(module(RET_ZERO, ()), "0 functions")


def test_invalid_constants() -> None:
    invalid(module(RET_ZERO, constants=(5, 5)), "duplicates")
    invalid(module(RET_ZERO, constants=(1 << 256,)), "not a machine value")
    invalid(module(RET_ZERO, constants=(True,)), "not a machine value")
    invalid(module(RET_ZERO, constants=tuple(range(MAX_CONSTANTS + 1))), "constants, limit")


def test_bytes_and_int_constants_with_equal_python_values_are_distinct() -> None:
    assert validate_module(module(RET_ZERO, constants=(0, b"")))


def test_invalid_entry_points() -> None:
    invalid(module(RET_ZERO, entry_points=(("Main", 0),)), "is not [a-z_]")
    invalid(module(RET_ZERO, entry_points=(("b", 0), ("a", 0))), "out of order")
    invalid(module(RET_ZERO, entry_points=(("a", 0), ("a", 0))), "out of order")
    invalid(module(RET_ZERO, entry_points=(("a", 3),)), "missing function 3")


def test_invalid_memory_cells() -> None:
    invalid(module(RET_ZERO, memory_cells=MAX_MEMORY_CELLS + 1), "memory_cells")


def test_invalid_too_many_params() -> None:
    functions = (FunctionSpec(0, (INT,) * 17, (INT,)),)
    invalid(module(RET_ZERO, functions), "more than 16 params")
