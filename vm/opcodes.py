"""The instruction set: opcode numbers, immediates and static stack effects.

An instruction is one opcode byte followed by 0, 1 or 2 immediate bytes
(big-endian). Operands on the stack are in push order: `a b SUB` computes
a - b (b is on top).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from vm.values import ValueType

INT = ValueType.INT
BYT = ValueType.BYTES


class Op(IntEnum):
    """Opcode numbers. Unlisted byte values are invalid opcodes."""

    # Control flow
    NOP = 0x01
    JUMP = 0x02
    JUMPI = 0x03
    CALL = 0x04
    RET = 0x05
    REVERT = 0x06
    # Stack
    POP = 0x10
    PUSH1 = 0x11
    PUSH2 = 0x12
    CONST = 0x13
    DUP = 0x14
    SWAP = 0x15
    # Integer arithmetic, comparison and bitwise logic
    ADD = 0x20
    SUB = 0x21
    MUL = 0x22
    DIV = 0x23
    MOD = 0x24
    EXP = 0x25
    LT = 0x26
    GT = 0x27
    EQ = 0x28
    ISZERO = 0x29
    AND = 0x2A
    OR = 0x2B
    XOR = 0x2C
    NOT = 0x2D
    SHL = 0x2E
    SHR = 0x2F
    # Byte strings
    LEN = 0x30
    CONCAT = 0x31
    SLICE = 0x32
    ITOB = 0x33
    BTOI = 0x34
    # Memory (integer cells)
    MLOAD = 0x40
    MSTORE = 0x41
    # Host
    SLOAD = 0x50
    SSTORE = 0x51
    SDEL = 0x52
    BALANCE = 0x53
    TRANSFER = 0x54
    CALLER = 0x55
    ADDRESS = 0x56
    HEIGHT = 0x57
    TIME = 0x58
    EMIT = 0x59
    SEND = 0x5A
    SHA256 = 0x5B
    VERIFY = 0x5C
    CALLVALUE = 0x5D


@dataclass(frozen=True)
class OpInfo:
    """Static facts about one opcode.

    `pops` lists operand types deepest first; None means any type. `pops`
    and `pushes` are None for the polymorphic opcodes whose effect depends
    on the immediate or the operands (the validator has a rule for each).
    """

    immediate_size: int
    pops: tuple[ValueType | None, ...] | None
    pushes: tuple[ValueType, ...] | None
    falls_through: bool = True
    jumps: bool = False


def _info(
    pops: tuple[ValueType | None, ...] | None,
    pushes: tuple[ValueType, ...] | None,
    immediate_size: int = 0,
) -> OpInfo:
    return OpInfo(immediate_size=immediate_size, pops=pops, pushes=pushes)


OP_INFO: dict[Op, OpInfo] = {
    Op.NOP: _info((), ()),
    Op.JUMP: OpInfo(2, (), (), falls_through=False, jumps=True),
    Op.JUMPI: OpInfo(2, (INT,), (), jumps=True),
    Op.CALL: _info(None, None, 2),
    Op.RET: OpInfo(0, None, None, falls_through=False),
    Op.REVERT: OpInfo(0, (None,), (), falls_through=False),
    Op.POP: _info((None,), ()),
    Op.PUSH1: _info((), (INT,), 1),
    Op.PUSH2: _info((), (INT,), 2),
    Op.CONST: _info((), None, 2),
    Op.DUP: _info(None, None, 1),
    Op.SWAP: _info(None, None, 1),
    Op.ADD: _info((INT, INT), (INT,)),
    Op.SUB: _info((INT, INT), (INT,)),
    Op.MUL: _info((INT, INT), (INT,)),
    Op.DIV: _info((INT, INT), (INT,)),
    Op.MOD: _info((INT, INT), (INT,)),
    Op.EXP: _info((INT, INT), (INT,)),
    Op.LT: _info((INT, INT), (INT,)),
    Op.GT: _info((INT, INT), (INT,)),
    Op.EQ: _info(None, (INT,)),
    Op.ISZERO: _info((INT,), (INT,)),
    Op.AND: _info((INT, INT), (INT,)),
    Op.OR: _info((INT, INT), (INT,)),
    Op.XOR: _info((INT, INT), (INT,)),
    Op.NOT: _info((INT,), (INT,)),
    Op.SHL: _info((INT, INT), (INT,)),
    Op.SHR: _info((INT, INT), (INT,)),
    Op.LEN: _info((BYT,), (INT,)),
    Op.CONCAT: _info((BYT, BYT), (BYT,)),
    Op.SLICE: _info((BYT, INT, INT), (BYT,)),
    Op.ITOB: _info((INT,), (BYT,)),
    Op.BTOI: _info((BYT,), (INT,)),
    Op.MLOAD: _info((INT,), (INT,)),
    Op.MSTORE: _info((INT, INT), ()),
    Op.SLOAD: _info((BYT,), (BYT,)),
    Op.SSTORE: _info((BYT, BYT), ()),
    Op.SDEL: _info((BYT,), ()),
    Op.BALANCE: _info((BYT,), (INT,)),
    Op.TRANSFER: _info((BYT, INT), ()),
    Op.CALLER: _info((), (BYT,)),
    Op.ADDRESS: _info((), (BYT,)),
    Op.HEIGHT: _info((), (INT,)),
    Op.TIME: _info((), (INT,)),
    Op.EMIT: _info((BYT, BYT), ()),
    Op.SEND: _info(None, None, 1),
    Op.SHA256: _info((BYT,), (BYT,)),
    Op.VERIFY: _info((BYT, BYT, BYT), (INT,)),
    Op.CALLVALUE: _info((), (INT,)),
}

OP_BY_BYTE: dict[int, Op] = {int(op): op for op in Op}
OP_BY_MNEMONIC: dict[str, Op] = {op.name: op for op in Op}


def instruction_size(op: Op) -> int:
    """Bytes taken by an instruction with this opcode (opcode + immediate)."""
    return 1 + OP_INFO[op].immediate_size
