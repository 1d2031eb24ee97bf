"""The instruction implementations, one family per module, and the table
from opcode to implementation used by the interpreter.

Every implementation has the signature `(vm, immediate) -> None` and the
same shape: STACK, GAS (the dynamic part; the base cost is charged by the
interpreter before the call), OPERATION, PROGRAM COUNTER.
"""

from __future__ import annotations

from collections.abc import Callable

from vm.instructions import (
    arithmetic,
    bitwise,
    bytestring,
    comparison,
    control,
    crypto,
    environment,
    memory,
    stack,
    storage,
    system,
)
from vm.machine import Machine
from vm.opcodes import Op

Implementation = Callable[[Machine, int], None]

IMPLEMENTATIONS: dict[Op, Implementation] = {
    Op.NOP: control.nop,
    Op.JUMP: control.jump,
    Op.JUMPI: control.jumpi,
    Op.CALL: control.call,
    Op.RET: control.ret,
    Op.REVERT: control.revert,
    Op.POP: stack.pop_,
    Op.PUSH1: stack.push1,
    Op.PUSH2: stack.push2,
    Op.CONST: stack.const,
    Op.DUP: stack.dup,
    Op.SWAP: stack.swap,
    Op.ADD: arithmetic.add,
    Op.SUB: arithmetic.sub,
    Op.MUL: arithmetic.mul,
    Op.DIV: arithmetic.div,
    Op.MOD: arithmetic.mod,
    Op.EXP: arithmetic.exp,
    Op.LT: comparison.lt,
    Op.GT: comparison.gt,
    Op.EQ: comparison.eq,
    Op.ISZERO: comparison.iszero,
    Op.AND: bitwise.and_,
    Op.OR: bitwise.or_,
    Op.XOR: bitwise.xor,
    Op.NOT: bitwise.not_,
    Op.SHL: bitwise.shl,
    Op.SHR: bitwise.shr,
    Op.LEN: bytestring.len_,
    Op.CONCAT: bytestring.concat,
    Op.SLICE: bytestring.slice_,
    Op.ITOB: bytestring.itob,
    Op.BTOI: bytestring.btoi,
    Op.MLOAD: memory.mload,
    Op.MSTORE: memory.mstore,
    Op.SLOAD: storage.sload,
    Op.SSTORE: storage.sstore,
    Op.SDEL: storage.sdel,
    Op.BALANCE: environment.balance,
    Op.TRANSFER: system.transfer,
    Op.CALLER: environment.caller,
    Op.ADDRESS: environment.address,
    Op.HEIGHT: environment.height,
    Op.TIME: environment.time,
    Op.EMIT: system.emit,
    Op.SEND: system.send,
    Op.SHA256: crypto.sha256,
    Op.VERIFY: crypto.verify,
    Op.CALLVALUE: environment.call_value,
}
