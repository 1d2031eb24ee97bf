"""Host instructions: storage, balance and transfer, environment, events,
messages, hashing and signatures; all buffered until success.
"""

from __future__ import annotations

import hashlib

import coincurve
import pytest

from tests.vm.conftest import Runner
from vm.effects import Event, Message, StorageWrite, Transfer
from vm.errors import HaltReason
from vm.gas import GAS_SCHEDULE_V1
from vm.host import MemoryHost
from vm.limits import (
    MAX_EVENT_BYTES,
    MAX_EVENTS,
    MAX_MESSAGES,
    MAX_STORAGE_KEY,
    MAX_STORAGE_WRITES,
)
from vm.opcodes import Op
from vm.result import Status


def test_storage_reads_see_own_writes_and_reach_host_on_success(run: Runner) -> None:
    text = """
    .entry main -> bytes bytes bytes
        PUSH "a"
        SLOAD           ; the host's value
        PUSH "a"
        PUSH "new"
        SSTORE
        PUSH "a"
        SLOAD           ; the buffered value
        PUSH "b"
        SDEL
        PUSH "b"
        SLOAD           ; deleted in this execution: empty
        RET
    """
    host = MemoryHost(storage={b"a": b"old", b"b": b"gone"})
    result = run(text, host=host)
    assert result.return_values == (b"old", b"new", b"")
    assert result.storage_writes == (StorageWrite(b"a", b"new"), StorageWrite(b"b", None))
    assert host.storage == {b"a": b"new"}


def test_storage_writes_are_sorted_and_net(run: Runner) -> None:
    text = """
    .entry main -> int
        PUSH "z"
        PUSH "1"
        SSTORE
        PUSH "a"
        PUSH "1"
        SSTORE
        PUSH "z"
        PUSH "2"
        SSTORE
        PUSH 0
        RET
    """
    result = run(text)
    assert result.storage_writes == (StorageWrite(b"a", b"1"), StorageWrite(b"z", b"2"))


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"", b"v", HaltReason.STORAGE_KEY_INVALID),
        (b"k" * (MAX_STORAGE_KEY + 1), b"v", HaltReason.STORAGE_KEY_INVALID),
        (b"k", b"", HaltReason.STORAGE_VALUE_INVALID),
    ],
)
def test_invalid_storage_write_halts(
    run: Runner, key: bytes, value: bytes, reason: HaltReason
) -> None:
    text = ".entry main bytes bytes -> int\n SSTORE\n PUSH 0\n RET\n"
    assert run(text, args=(key, value)).halt_reason is reason


def test_storage_write_count_is_limited(run: Runner) -> None:
    text = """
    .entry main int -> int
    loop:
        DUP 1
        ISZERO
        JUMPI done
        PUSH "k"
        SDEL
        PUSH 1
        SUB
        JUMP loop
    done:
        RET
    """
    assert run(text, args=(MAX_STORAGE_WRITES,), gas=10**6).status is Status.SUCCESS
    over = run(text, args=(MAX_STORAGE_WRITES + 1,), gas=10**6)
    assert over.halt_reason is HaltReason.STORAGE_WRITE_LIMIT


def test_sstore_gas_is_proportional_to_bytes(run: Runner) -> None:
    text = ".entry main bytes bytes -> int\n SSTORE\n PUSH 0\n RET\n"
    short = run(text, args=(b"k", b"v"))
    longer = run(text, args=(b"k", b"v" * 101))
    assert longer.gas_used - short.gas_used == 100 * GAS_SCHEDULE_V1.sstore_per_byte


TRANSFER = """
.entry main int -> int int
    PUSH "bob"
    SWAP 1
    TRANSFER
    ADDRESS
    BALANCE
    PUSH "bob"
    BALANCE
    RET
"""


def test_transfer_is_visible_to_balance_and_applied_on_success(run: Runner) -> None:
    host = MemoryHost(balances={b"contract": 100, b"bob": 1})
    result = run(TRANSFER, args=(30,), host=host)
    assert result.return_values == (70, 31)
    assert result.transfers == (Transfer(b"bob", 30),)
    assert host.balances == {b"contract": 70, b"bob": 31}


def test_transfer_beyond_balance_halts(run: Runner) -> None:
    host = MemoryHost(balances={b"contract": 10})
    assert run(TRANSFER, args=(11,), host=host).halt_reason is HaltReason.INSUFFICIENT_BALANCE
    assert host.balances == {b"contract": 10}


def test_environment(run: Runner) -> None:
    text = ".entry main -> bytes bytes int int\n CALLER\n ADDRESS\n HEIGHT\n TIME\n RET\n"
    host = MemoryHost(address=b"me", caller_address=b"you", height=12, time=1234)
    assert run(text, host=host).return_values == (b"you", b"me", 12, 1234)


def test_call_value_is_what_the_host_says_was_paid(run: Runner) -> None:
    text = ".entry main -> int int\n CALLVALUE\n ADDRESS\n BALANCE\n RET\n"
    host = MemoryHost(address=b"me", value=40, balances={b"me": 100})
    assert run(text, host=host).return_values == (40, 100)
    assert run(text, host=MemoryHost(address=b"me")).return_values == (0, 0)


def test_events_are_recorded_in_order(run: Runner) -> None:
    text = """
    .entry main -> int
        PUSH "t1"
        PUSH "one"
        EMIT
        PUSH "t2"
        PUSH ""
        EMIT
        PUSH 0
        RET
    """
    host = MemoryHost()
    result = run(text, host=host)
    assert result.events == (Event(b"t1", b"one"), Event(b"t2", b""))
    assert host.events == list(result.events)


def test_event_size_and_count_are_limited(run: Runner) -> None:
    text = '.entry main bytes -> int\n PUSH "t"\n SWAP 1\n EMIT\n PUSH 0\n RET\n'
    assert run(text, args=(b"x" * (MAX_EVENT_BYTES - 1),)).status is Status.SUCCESS
    too_big = run(text, args=(b"x" * MAX_EVENT_BYTES,))
    assert too_big.halt_reason is HaltReason.EVENT_LIMIT
    many = f"""
    .entry main -> int
        PUSH {MAX_EVENTS + 1}
    loop:
        PUSH "t"
        PUSH "d"
        EMIT
        PUSH 1
        SUB
        DUP 1
        JUMPI loop
        RET
    """
    assert run(many, gas=10**6).halt_reason is HaltReason.EVENT_LIMIT


def test_send_queues_messages(run: Runner) -> None:
    text = """
    .entry main int bytes -> int
        PUSH "peer"
        PUSH "deliver"
        PUSH 5000
        DUP 5
        DUP 5
        SEND 2
        PUSH "peer"
        PUSH "ping"
        PUSH 0
        SEND 0
        POP
        RET
    """
    host = MemoryHost()
    result = run(text, args=(7, b"hi"), host=host)
    assert result.messages == (
        Message(b"peer", "deliver", (7, b"hi"), 5000),
        Message(b"peer", "ping", (), 0),
    )
    assert host.messages == list(result.messages)
    size = len(b"peer") + len(b"deliver") + 32 + 2 + len(b"peer") + len(b"ping")
    base = GAS_SCHEDULE_V1.base
    static = (
        sum(base[op] for op in (Op.PUSH2, Op.DUP, Op.DUP, Op.SEND))
        + sum(base[op] for op in (Op.CONST, Op.CONST, Op.CONST, Op.CONST, Op.PUSH1, Op.SEND))
        + base[Op.POP]
        + base[Op.RET]
    )
    assert result.gas_used == static + GAS_SCHEDULE_V1.send_per_byte * size


@pytest.mark.parametrize(
    ("recipient", "entry", "reason"),
    [
        (b"", b"deliver", HaltReason.ADDRESS_INVALID),
        (b"peer", b"Bad-Name", HaltReason.MESSAGE_INVALID),
        (b"peer", b"\xff", HaltReason.MESSAGE_INVALID),
    ],
)
def test_invalid_message_halts(
    run: Runner, recipient: bytes, entry: bytes, reason: HaltReason
) -> None:
    text = ".entry main bytes bytes -> int\n PUSH 1\n SEND 0\n PUSH 0\n RET\n"
    assert run(text, args=(recipient, entry)).halt_reason is reason


def test_message_count_is_limited(run: Runner) -> None:
    text = """
    .entry main int -> int
    loop:
        PUSH "peer"
        PUSH "go"
        PUSH 1
        SEND 0
        PUSH 1
        SUB
        DUP 1
        JUMPI loop
        RET
    """
    assert run(text, args=(MAX_MESSAGES,), gas=10**6).status is Status.SUCCESS
    over = run(text, args=(MAX_MESSAGES + 1,), gas=10**6)
    assert over.halt_reason is HaltReason.MESSAGE_LIMIT


def test_sha256(run: Runner) -> None:
    text = ".entry main bytes -> bytes\n SHA256\n RET\n"
    assert run(text, args=(b"abc",)).return_values == (hashlib.sha256(b"abc").digest(),)


def test_verify_bip340_signature(run: Runner) -> None:
    key = coincurve.PrivateKey(b"\x07" * 32)
    message = hashlib.sha256(b"pay bob").digest()
    signature = key.sign_schnorr(message, b"\x00" * 32)
    public = key.public_key_xonly.format()
    text = ".entry main bytes bytes bytes -> int\n VERIFY\n RET\n"
    assert run(text, args=(public, message, signature)).return_values == (1,)
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    assert run(text, args=(public, message, forged)).return_values == (0,)
    assert run(text, args=(b"short", message, signature)).return_values == (0,)
