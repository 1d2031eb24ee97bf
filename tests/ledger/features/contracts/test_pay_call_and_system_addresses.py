"""A payment that comes with a call (``pay_call``, ``CALLVALUE``), and
messages to a feature's system address (ledger.registry), which are told
what started the chain of executions (the origin).

Pre / operation / post on a ContractChain; invalid cases are test_invalid_*.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.context import BlockContext, Delivery, Origin, Outcome
from ledger.exceptions import ContractReverted, InsufficientFunds, InvalidOperation
from ledger.features.contracts.bodies import PayCall, Schedule
from ledger.features.contracts.credits import gas_cost
from ledger.fields import DecodeError
from ledger.registry import RULES
from ledger.state import State
from ledger.types import Event, decode_transaction
from tests.ledger.features.contracts.contract_chain import (
    ADDRS,
    ASSETS,
    CREDITS,
    ContractChain,
)
from tests.ledger.features.contracts.test_contracts import attrs, deployed, kinds

INITIAL = {asset: 4 * CREDITS for asset in ASSETS}

SHOP = """
; buy() -> (paid, balance): what came with the call, and the balance after it.
.entry buy -> int int
    CALLVALUE
    DUP 1
    ISZERO
    JUMPI free
    ADDRESS
    BALANCE
    RET
free:
    PUSH "pay something"
    REVERT

; refuse() reverts after being paid.
.entry refuse -> int
    PUSH "no"
    REVERT
"""

SYSTEM = bytes.fromhex("5e" * 20)

FORWARDER = f"""
; forward(data): send data to the system address with 5000 gas.
.entry forward bytes -> int
    PUSH x"{SYSTEM.hex()}"
    PUSH "take"
    PUSH 5000
    DUP 4
    SEND 1
    POP
    PUSH 0
    RET

.entry tick ->
    PUSH x"{SYSTEM.hex()}"
    PUSH "take"
    PUSH 5000
    PUSH "scheduled"
    SEND 1
    RET
"""


def pay(chain: ContractChain, contract: bytes, entry: str, amount: int) -> PayCall:
    return PayCall(contract, entry, (), 100_000, amount)


# -- pay_call -------------------------------------------------------------------
def test_pay_call_moves_the_payment_and_the_contract_reads_it() -> None:
    chain = ContractChain()
    shop = deployed(chain, SHOP)
    (receipt,), _ = chain.block(chain.tx(1, pay(chain, shop, "buy", 70)))
    assert receipt.status == 0, receipt.error
    called = receipt.events[0]
    assert attrs(called)["returns"] == ((0, bytes([70])), (0, bytes([70])))
    assert chain.balance(1, "coin") == CREDITS - 70 - receipt.fee_charged
    assert chain.balance(shop, "coin") == 70
    assert chain.conserved(INITIAL)


def test_a_plain_call_has_no_value() -> None:
    chain = ContractChain()
    shop = deployed(chain, SHOP)
    (receipt,), _ = chain.block(chain.call(1, shop, "buy"))
    assert receipt.status == ContractReverted.status and "pay something" in receipt.error


def test_a_failed_paid_call_gives_the_payment_back_and_burns_its_gas() -> None:
    chain = ContractChain()
    shop = deployed(chain, SHOP)
    cpu_before = chain.balance(1, "cpu")
    (receipt,), _ = chain.block(chain.tx(1, pay(chain, shop, "refuse", 70)))
    assert receipt.status == ContractReverted.status
    assert chain.balance(shop, "coin") == 0
    assert chain.balance(1, "coin") == CREDITS - receipt.fee_charged
    assert chain.balance(1, "cpu") == cpu_before - gas_cost(receipt.gas_used)
    assert chain.conserved(INITIAL)


def test_invalid_a_payment_beyond_the_balance() -> None:
    chain = ContractChain()
    shop = deployed(chain, SHOP)
    (receipt,), _ = chain.block(chain.tx(1, pay(chain, shop, "buy", CREDITS)))
    assert receipt.status == InsufficientFunds.status
    assert chain.balance(shop, "coin") == 0
    assert chain.conserved(INITIAL)


def test_invalid_a_pay_call_of_nothing_does_not_decode() -> None:
    chain = ContractChain()
    tx = chain.tx(1, PayCall(ADDRS[0], "buy", (), 100, 0))
    with pytest.raises(DecodeError, match="amount must be at least 1"):
        decode_transaction(tx.encode())


def test_pay_call_round_trips() -> None:
    chain = ContractChain()
    body = PayCall(ADDRS[0], "buy", (5, b"x"), 100, 2**128 - 1)
    tx = chain.tx(1, body)
    assert decode_transaction(tx.encode()).body == body


# -- system addresses -----------------------------------------------------------
class Recorder:
    """A system address handler that remembers what it was told; it refuses
    data b"no" (after writing to the state, which must be reverted)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def __call__(self, state: State, ctx: BlockContext, delivery: Delivery) -> Outcome:
        self.deliveries.append(delivery)
        state.set_raw(b"z-test", delivery.args[0])
        if delivery.args[0] == b"no":
            raise InvalidOperation("refused", gas_used=1200)
        return Outcome((Event("test_taken", (("size", len(delivery.args[0])),)),), 700)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    handler = Recorder()
    monkeypatch.setitem(RULES.system_addresses, SYSTEM, handler)
    yield handler


def test_a_system_address_gets_the_message_and_its_origin(recorder: Recorder) -> None:
    chain = ContractChain()
    forwarder = deployed(chain, FORWARDER)
    cpu_before = chain.balance(forwarder, "cpu")
    tx = chain.call(2, forwarder, "forward", b"hello")
    (receipt,), _ = chain.block(tx)
    assert receipt.status == 0, receipt.error
    expected = Delivery(forwarder, Origin(ADDRS[2], tx.nonce), "take", (b"hello",), 5000)
    assert set(recorder.deliveries) == {expected}  # (building the block ran it too)
    assert kinds(receipt.events) == ["contract_called", "message", "test_taken"]
    message = attrs(receipt.events[1])
    assert message["status"] == "success" and message["gas_used"] == 700
    assert chain.reader.values[b"z-test"] == b"hello"
    assert chain.balance(forwarder, "cpu") == cpu_before - gas_cost(700)
    assert chain.conserved(INITIAL)


def test_a_refused_message_leaves_no_trace_but_its_gas(recorder: Recorder) -> None:
    chain = ContractChain()
    forwarder = deployed(chain, FORWARDER)
    cpu_before = chain.balance(forwarder, "cpu")
    (receipt,), _ = chain.block(chain.call(2, forwarder, "forward", b"no"))
    assert receipt.status == 0, receipt.error  # the call itself succeeded
    message = attrs(receipt.events[1])
    assert message["status"] == "revert" and message["error"] == "refused"
    assert message["gas_used"] == 1200
    assert b"z-test" not in chain.reader.values
    assert chain.balance(forwarder, "cpu") == cpu_before - gas_cost(1200)
    assert chain.conserved(INITIAL)


def test_a_scheduled_run_is_its_own_origin(recorder: Recorder) -> None:
    chain = ContractChain()
    forwarder = deployed(chain, FORWARDER, schedule=Schedule("tick", 1, 50_000))
    chain.blocks(2)
    assert recorder.deliveries
    assert {d.origin for d in recorder.deliveries} == {Origin(forwarder, None)}
