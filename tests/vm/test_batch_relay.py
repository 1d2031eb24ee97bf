"""The relay contract end to end against MemoryHost."""

from __future__ import annotations

import copy
import hashlib

import pytest

from tests.vm.conftest import host_state
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.effects import Message
from vm.fast import compile_program, execute_compiled
from vm.host import MemoryHost
from vm.interpreter import execute
from vm.result import ExecutionResult, Status
from vm.validator import Program, validate_module
from vm.values import Value

K, DELAY = 4, 10
GAS = 2_000_000


@pytest.fixture(scope="module")
def program() -> Program:
    return validate_module(assemble(contract_source("batch_relay")))


def call(program: Program, host: MemoryHost, entry: str, *args: Value) -> ExecutionResult:
    """Run through both interpreters; they must agree, including host state."""
    twin = copy.deepcopy(host)
    result = execute(program, entry, args, GAS, host)
    assert execute_compiled(compile_program(program), entry, args, GAS, twin) == result
    assert host_state(twin) == host_state(host)
    return result


def expected_order(batch: list[tuple[bytes, bytes, int]], height: int) -> list[int]:
    """The shuffle, written again in Python from the contract's comments."""
    digest = b""
    for payload, hop, postage in batch:
        digest = hashlib.sha256(digest + payload + hop + postage.to_bytes(32, "big")).digest()
    seed = hashlib.sha256(digest + height.to_bytes(32, "big")).digest()
    order = list(range(len(batch)))
    for i in range(len(batch) - 1, 0, -1):
        r = int.from_bytes(hashlib.sha256(seed + i.to_bytes(32, "big")).digest(), "big")
        j = r % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def batch(tag: str) -> list[tuple[bytes, bytes, int]]:
    return [(f"{tag}-secret-{i}".encode(), f"mailbox{i}".encode(), 1000 + i) for i in range(K)]


def test_batch_of_k_triggers_shuffled_delivery(program: Program) -> None:
    host = MemoryHost(height=50)
    messages = batch("a")
    for held, (payload, hop, postage) in enumerate(messages[:-1], start=1):
        assert call(program, host, "send", payload, hop, postage).return_values == (held,)
        assert host.messages == []
    last = call(program, host, "send", *messages[-1])
    assert last.status is Status.SUCCESS and last.return_values == (0,)
    delivered = [
        Message(messages[i][1], "deliver", (messages[i][0],), messages[i][2])
        for i in expected_order(messages, 50)
    ]
    assert host.messages == delivered
    assert sorted(host.messages, key=lambda m: m.recipient) == sorted(
        (Message(hop, "deliver", (payload,), postage) for payload, hop, postage in messages),
        key=lambda m: m.recipient,
    )
    assert host.storage == {}, "a delivered batch leaves nothing behind"
    assert call(program, host, "pending").return_values == (0,)


def test_shuffle_is_deterministic_and_depends_on_height_and_contents(program: Program) -> None:
    orders = {}
    for tag, height in [("a", 50), ("a", 51), ("b", 50)]:
        host = MemoryHost(height=height)
        for message in batch(tag):
            call(program, host, "send", *message)
        orders[(tag, height)] = [m.args[0] for m in host.messages]
        assert orders[(tag, height)] == [
            batch(tag)[i][0] for i in expected_order(batch(tag), height)
        ]
    assert len({tuple(o) for o in orders.values()}) == 3
    assert any(order != sorted(order) for order in orders.values())


def test_delay_triggers_delivery_on_tick(program: Program) -> None:
    host = MemoryHost(height=100)
    call(program, host, "send", b"lonely", b"alice", 500)
    assert call(program, host, "tick").return_values == (0,)
    host.height = 100 + DELAY - 1
    assert call(program, host, "tick").return_values == (0,)
    assert host.messages == []
    host.height = 100 + DELAY
    assert call(program, host, "tick").return_values == (1,)
    assert host.messages == [Message(b"alice", "deliver", (b"lonely",), 500)]
    assert host.storage == {}
    assert call(program, host, "tick").return_values == (0,)


def test_routes_through_a_second_relay(program: Program) -> None:
    first = MemoryHost(address=b"relay-a", height=7)
    second = MemoryHost(address=b"relay-b", height=9)
    inner = b"ciphertext for alice"
    packet = bytes([len(b"alice")]) + b"alice" + (300).to_bytes(8, "big") + inner
    call(program, first, "send", packet, b"relay-b", 50_000)
    first.height += DELAY
    call(program, first, "tick")
    (hop,) = first.messages
    assert hop == Message(b"relay-b", "deliver", (packet,), 50_000)
    # The ledger delivers it: run relay-b's `deliver` with the message's args.
    assert call(program, second, "deliver", *hop.args).return_values == (1,)
    second.height += DELAY
    call(program, second, "tick")
    assert second.messages == [Message(b"alice", "deliver", (inner,), 300)]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"", b"alice", 1), b"payload must be 1..2048 bytes"),
        ((b"x" * 2049, b"alice", 1), b"payload must be 1..2048 bytes"),
        ((b"x", b"", 1), b"next hop must be 1..64 bytes"),
        ((b"x", b"a" * 65, 1), b"next hop must be 1..64 bytes"),
        ((b"x", b"alice", 1_000_001), b"postage out of range"),
    ],
)
def test_invalid_send_reverts(
    program: Program, args: tuple[bytes, bytes, int], reason: bytes
) -> None:
    host = MemoryHost()
    result = call(program, host, "send", *args)
    assert result.status is Status.REVERT and result.return_values == (reason,)
    assert host.storage == {}


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (b"\x05alice", b"packet too short"),
        (bytes([200]) + b"x" * 20, b"packet truncated"),
        (bytes([0]) + bytes(8) + b"payload", b"next hop must be 1..64 bytes"),
        (bytes([5]) + b"alice" + bytes(8), b"payload must be 1..2048 bytes"),
    ],
)
def test_invalid_packet_reverts(program: Program, packet: bytes, reason: bytes) -> None:
    result = call(program, MemoryHost(), "deliver", packet)
    assert result.status is Status.REVERT and result.return_values == (reason,)


def test_packet_fields_are_parsed(program: Program) -> None:
    host = MemoryHost(height=3)
    packet = bytes([3]) + b"bob" + (77).to_bytes(8, "big") + b"x"
    assert call(program, host, "deliver", packet).return_values == (1,)
    host.height += DELAY
    call(program, host, "tick")
    assert host.messages == [Message(b"bob", "deliver", (b"x",), 77)]
