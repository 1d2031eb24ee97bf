"""The state of a running machine, and the checks shared by instructions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vm.effects import Journal
from vm.errors import ExceptionalHalt, HaltReason
from vm.gas import GasSchedule, charge_gas, words
from vm.limits import MAX_ALLOCATED_BYTES, MAX_BYTES_LENGTH
from vm.validator import Program
from vm.values import Value

if TYPE_CHECKING:
    from vm.host import Host


@dataclass(eq=False)
class Machine:
    """Everything one execution reads and changes.

    `stack` is shared by all frames; `return_stack` holds the pc to resume
    at after each active CALL. `allocated` counts bytes of byte strings
    created so far (the memory meter). `running` turns False when the entry
    function returns; `output` then holds its results.
    """

    program: Program
    host: Host
    schedule: GasSchedule
    gas_limit: int
    gas_left: int
    pc: int
    stack: list[Value]
    memory: list[int]
    return_stack: list[int] = field(default_factory=list)
    journal: Journal = field(default_factory=Journal)
    allocated: int = 0
    running: bool = True
    output: tuple[Value, ...] = ()


def allocate_bytes(vm: Machine, length: int) -> None:
    """Meter the creation of a byte string of `length` bytes.

    Charges gas per word, then enforces the length and allocation limits.
    Raises ExceptionalHalt (OUT_OF_GAS, BYTES_TOO_LONG, ALLOCATION_LIMIT).
    """
    charge_gas(vm, vm.schedule.bytes_per_word * words(length))
    if length > MAX_BYTES_LENGTH:
        raise ExceptionalHalt(HaltReason.BYTES_TOO_LONG, f"{length} bytes")
    vm.allocated += length
    if vm.allocated > MAX_ALLOCATED_BYTES:
        raise ExceptionalHalt(HaltReason.ALLOCATION_LIMIT)
