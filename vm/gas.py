"""The versioned gas schedule and gas charging.

Every instruction has a static base cost, charged before it runs. A few
instructions add a dynamic cost that depends on their operands (bytes
created, bytes stored or sent, exponent size); they charge it themselves
before they have any effect. Gas is an integer; a machine that cannot pay
halts with OUT_OF_GAS.

Schedules are versioned: the ledger chooses the version (for example by
block height) and passes the schedule to `execute`; old versions never
change once released.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from vm.errors import ExceptionalHalt, HaltReason, UnknownGasScheduleError
from vm.opcodes import Op

if TYPE_CHECKING:
    from vm.machine import Machine


@dataclass(frozen=True)
class GasSchedule:
    """Gas costs of one schedule version.

    `base` is indexed by opcode byte (256 entries); other fields are the
    dynamic parts of the instructions named in them.
    """

    version: int
    base: tuple[int, ...]
    memory_cell: int
    bytes_per_word: int
    exp_per_byte: int
    sha256_per_word: int
    sload_per_word: int
    sstore_per_byte: int
    emit_per_byte: int
    send_per_byte: int


def _base_table(costs: Mapping[Op, int]) -> tuple[int, ...]:
    table = [0] * 256
    for op, cost in costs.items():
        assert cost >= 1, "every instruction costs gas, so gas bounds the step count"
        table[op] = cost
    assert all(table[op] for op in Op), "every opcode needs a base cost"
    return tuple(table)


GAS_SCHEDULE_V1 = GasSchedule(
    version=1,
    base=_base_table(
        {
            Op.NOP: 1,
            Op.POP: 1,
            Op.PUSH1: 1,
            Op.PUSH2: 1,
            Op.CONST: 1,
            Op.DUP: 1,
            Op.SWAP: 1,
            Op.ADD: 2,
            Op.SUB: 2,
            Op.LT: 2,
            Op.GT: 2,
            Op.EQ: 2,
            Op.ISZERO: 2,
            Op.AND: 2,
            Op.OR: 2,
            Op.XOR: 2,
            Op.NOT: 2,
            Op.SHL: 2,
            Op.SHR: 2,
            Op.MUL: 3,
            Op.DIV: 4,
            Op.MOD: 4,
            Op.EXP: 10,
            Op.JUMP: 2,
            Op.JUMPI: 3,
            Op.CALL: 8,
            Op.RET: 4,
            Op.REVERT: 2,
            Op.MLOAD: 2,
            Op.MSTORE: 2,
            Op.LEN: 2,
            Op.CONCAT: 3,
            Op.SLICE: 3,
            Op.ITOB: 4,
            Op.BTOI: 3,
            Op.SLOAD: 100,
            Op.SSTORE: 150,
            Op.SDEL: 60,
            Op.BALANCE: 60,
            Op.TRANSFER: 250,
            Op.CALLER: 2,
            Op.ADDRESS: 2,
            Op.HEIGHT: 2,
            Op.TIME: 2,
            Op.EMIT: 60,
            Op.SEND: 200,
            Op.SHA256: 30,
            Op.VERIFY: 3000,
            Op.CALLVALUE: 2,
        }
    ),
    memory_cell=1,
    bytes_per_word=1,
    exp_per_byte=20,
    sha256_per_word=6,
    sload_per_word=3,
    sstore_per_byte=4,
    emit_per_byte=4,
    send_per_byte=4,
)

GAS_SCHEDULES: Mapping[int, GasSchedule] = MappingProxyType({1: GAS_SCHEDULE_V1})


def gas_schedule(version: int) -> GasSchedule:
    """The gas schedule with this version.

    Raises UnknownGasScheduleError if there is none.
    """
    try:
        return GAS_SCHEDULES[version]
    except KeyError:
        raise UnknownGasScheduleError(f"no gas schedule version {version}") from None


def words(length: int) -> int:
    """Number of 32-byte words needed to hold `length` bytes."""
    return (length + 31) // 32


def charge_gas(vm: Machine, amount: int) -> None:
    """Subtract `amount` from the machine's gas.

    Raises ExceptionalHalt(OUT_OF_GAS) if the machine has less left; then
    nothing is subtracted (it does not matter: a halt consumes all gas).
    """
    if vm.gas_left < amount:
        raise ExceptionalHalt(HaltReason.OUT_OF_GAS)
    vm.gas_left -= amount
