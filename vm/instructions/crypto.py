"""Cryptography through the host: SHA256, VERIFY."""

from __future__ import annotations

from vm.gas import charge_gas, words
from vm.machine import Machine, allocate_bytes
from vm.stack import pop_bytes, push


def sha256(vm: Machine, immediate: int) -> None:
    """The SHA-256 digest (32 bytes) of a byte string."""
    # STACK
    data = pop_bytes(vm.stack)
    # GAS: per word hashed, and the digest is a new byte string.
    charge_gas(vm, vm.schedule.sha256_per_word * words(len(data)))
    allocate_bytes(vm, 32)
    # OPERATION
    digest = vm.host.sha256(data)
    assert type(digest) is bytes and len(digest) == 32
    push(vm.stack, digest)
    # PROGRAM COUNTER
    vm.pc += 1


def verify(vm: Machine, immediate: int) -> None:
    """`public_key message signature VERIFY`: 1 if valid else 0."""
    # STACK
    signature = pop_bytes(vm.stack)
    message = pop_bytes(vm.stack)
    public_key = pop_bytes(vm.stack)
    # GAS: base, plus hashing the message.
    charge_gas(vm, vm.schedule.sha256_per_word * words(len(message)))
    # OPERATION
    valid = vm.host.verify_signature(public_key, message, signature)
    assert type(valid) is bool
    push(vm.stack, 1 if valid else 0)
    # PROGRAM COUNTER
    vm.pc += 1
