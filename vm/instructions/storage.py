"""Contract storage: SLOAD, SSTORE, SDEL.

Keys are 1..MAX_STORAGE_KEY bytes; values are 1..MAX_STORAGE_VALUE bytes
(an absent key reads as b""). Writes go to the journal and reach the host
only if the execution succeeds; reads see earlier writes of this execution.
"""

from __future__ import annotations

from vm.errors import ExceptionalHalt, HaltReason
from vm.gas import charge_gas, words
from vm.limits import MAX_STORAGE_KEY, MAX_STORAGE_VALUE, MAX_STORAGE_WRITES
from vm.machine import Machine, allocate_bytes
from vm.stack import pop_bytes, push


def sload(vm: Machine, immediate: int) -> None:
    """`key SLOAD`: the stored value, or b"" if none."""
    # STACK
    key = pop_bytes(vm.stack)
    _check_key(key)
    # OPERATION (reads have no effect, so the value can be priced after)
    journal = vm.journal
    if key in journal.storage:
        value = journal.storage[key] or b""
    else:
        value = vm.host.storage_get(key)
        assert type(value) is bytes and len(value) <= MAX_STORAGE_VALUE
    # GAS
    charge_gas(vm, vm.schedule.sload_per_word * words(len(value)))
    allocate_bytes(vm, len(value))
    push(vm.stack, value)
    # PROGRAM COUNTER
    vm.pc += 1


def sstore(vm: Machine, immediate: int) -> None:
    """`key value SSTORE`: store a non-empty value (use SDEL to remove)."""
    # STACK
    value = pop_bytes(vm.stack)
    key = pop_bytes(vm.stack)
    _check_key(key)
    if not 1 <= len(value) <= MAX_STORAGE_VALUE:
        raise ExceptionalHalt(
            HaltReason.STORAGE_VALUE_INVALID, f"value must be 1..{MAX_STORAGE_VALUE} bytes"
        )
    # GAS: per byte written.
    charge_gas(vm, vm.schedule.sstore_per_byte * (len(key) + len(value)))
    # OPERATION
    _count_write(vm)
    vm.journal.storage[key] = value
    # PROGRAM COUNTER
    vm.pc += 1


def sdel(vm: Machine, immediate: int) -> None:
    """`key SDEL`: remove the key (absent keys are fine)."""
    # STACK
    key = pop_bytes(vm.stack)
    _check_key(key)
    # GAS: base.
    # OPERATION
    _count_write(vm)
    vm.journal.storage[key] = None
    # PROGRAM COUNTER
    vm.pc += 1


def _check_key(key: bytes) -> None:
    if not 1 <= len(key) <= MAX_STORAGE_KEY:
        raise ExceptionalHalt(
            HaltReason.STORAGE_KEY_INVALID, f"key must be 1..{MAX_STORAGE_KEY} bytes"
        )


def _count_write(vm: Machine) -> None:
    if vm.journal.storage_writes >= MAX_STORAGE_WRITES:
        raise ExceptionalHalt(HaltReason.STORAGE_WRITE_LIMIT)
    vm.journal.storage_writes += 1
