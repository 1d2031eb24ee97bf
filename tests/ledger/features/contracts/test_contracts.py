"""Contracts in the ledger: deploy, call, fund, gas, messages, mailboxes.

Pre / operation / post on a ContractChain; invalid cases are test_invalid_*.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.exceptions import (
    ContractHalted,
    ContractReverted,
    InsufficientFunds,
    InvalidInvocation,
    InvalidModule,
    NoSuchContract,
)
from ledger.features.bank.bodies import Transfer
from ledger.features.contracts import messages
from ledger.features.contracts.bodies import (
    MAX_CALL_GAS,
    Call,
    Deploy,
    Fund,
    Schedule,
    contract_address,
)
from ledger.features.contracts.credits import deploy_gas
from ledger.features.contracts.execution import contract_storage, contract_storage_items
from ledger.features.contracts.host import PROGRAMS
from ledger.features.contracts.records import MAILBOX_CAPACITY, burned
from ledger.fields import DecodeError
from ledger.types import Event, Receipt, decode_transaction
from tests.ledger.features.contracts.contract_chain import (
    ADDRS,
    ASSETS,
    CREDITS,
    FEE,
    ContractChain,
    module_of,
)
from vm.assembler import assemble
from vm.module import encode_module

KITCHEN = (Path(__file__).parent / "kitchen.asm").read_text()
COUNTER = """
.entry bump -> int
    PUSH "count"
    SLOAD
    BTOI
    PUSH 1
    ADD
    PUSH "count"
    DUP 2
    ITOB
    SSTORE
    RET
"""
INITIAL = {asset: 4 * CREDITS for asset in ASSETS}


def attrs(event: Event) -> dict[str, object]:
    return dict(event.attributes)


def kinds(events: tuple[Event, ...] | list[Event]) -> list[str]:
    return [e.kind for e in events]


def deployed(chain: ContractChain, source: str = KITCHEN, sender: int = 0, **kw: object) -> bytes:
    address, tx = chain.deploy(sender, source, **kw)  # type: ignore[arg-type]
    (receipt,), _ = chain.block(tx)
    assert receipt.status == 0, receipt.error
    return address


# -- deploy ---------------------------------------------------------------------
def test_deploy_creates_the_contract_and_moves_credits() -> None:
    chain = ContractChain()
    module = module_of(COUNTER)
    address, tx = chain.deploy(0, COUNTER, cpu=1000, disk=2000, net=300)
    (receipt,), _ = chain.block(tx)
    assert receipt.status == 0 and receipt.fee_charged == FEE
    assert receipt.gas_used == deploy_gas(len(module))
    assert kinds(receipt.events) == ["contract_deployed"]
    assert attrs(receipt.events[0])["address"] == address
    assert address == contract_address(ADDRS[0], 0)
    info = chain.info(address)
    assert info is not None
    assert info["deployer"] == ADDRS[0] and info["code_size"] == len(module)
    assert info["entry_points"] == ["bump"] and info["created"] == 1
    rent = info["rent_per_block"]
    assert info["balances"] == {"cpu": 1000, "disk": 2000 - rent, "net": 300}
    assert chain.balance(0, "cpu") == CREDITS - 1000 - deploy_gas(len(module))
    assert chain.balance(0, "disk") == CREDITS - 2000
    assert chain.burned("cpu") == deploy_gas(len(module)) and chain.burned("disk") == rent
    assert chain.conserved(INITIAL)


def test_salt_gives_a_different_address() -> None:
    assert contract_address(ADDRS[0], 5) != contract_address(ADDRS[0], 5, b"salt")
    chain = ContractChain()
    address = deployed(chain, COUNTER, salt=b"s1")
    assert address == contract_address(ADDRS[0], 0, b"s1")
    assert chain.info(address) is not None


@pytest.mark.parametrize(
    ("module", "needle"),
    [
        (b"\x01\x02\x03", "malformed module: trailing bytes"),
        (b"\xc1", "malformed module: not valid msgpack"),
        (module_of(COUNTER) + b"\x00", "malformed module: trailing bytes"),
        (b"\x96\x02" + module_of(COUNTER)[2:], "malformed module: unsupported module version 2"),
        (b"\x96\x01\xc4\x01\x05\x90\x91\x93\x00\xa0\xa1i\x90\x00", "malformed module: pc 0"),
    ],
)
def test_invalid_module_is_rejected_with_a_failure_receipt(module: bytes, needle: str) -> None:
    chain = ContractChain()
    address, tx = chain.deploy(0, module)
    (receipt,), _ = chain.block(tx)
    assert receipt.status == InvalidModule.status and receipt.error.startswith(needle)
    assert receipt.fee_charged == FEE and chain.nonce(0) == 1
    assert chain.info(address) is None
    assert chain.balance(0, "cpu") == CREDITS and chain.burned("cpu") == 0


def test_invalid_module_error_names_the_rule() -> None:
    chain = ContractChain()
    module = assemble(COUNTER)
    broken = encode_module(type(module)(**{**module.__dict__, "code": module.code + b"\xff"}))
    _, tx = chain.deploy(0, broken)
    (receipt,), _ = chain.block(tx)
    assert receipt.status == InvalidModule.status
    assert "opcode" in receipt.error or "pc" in receipt.error, receipt.error


def test_invalid_schedule_entry_with_parameters() -> None:
    chain = ContractChain()
    _, tx = chain.deploy(0, KITCHEN, schedule=Schedule("store", 2, 1000))
    (receipt,), _ = chain.block(tx)
    assert receipt.status == InvalidModule.status and "schedule entry" in receipt.error


def test_invalid_deploy_without_the_credits() -> None:
    chain = ContractChain({0: {"coin": 10**6, "cpu": 10**6, "disk": 5}})
    _, tx = chain.deploy(0, COUNTER, cpu=0, disk=10, net=0)
    (receipt,), _ = chain.block(tx)
    assert receipt.status == InsufficientFunds.status
    assert chain.balance(0, "disk") == 5 and chain.balance(0, "cpu") == 10**6


def test_invalid_deploy_body_fields_are_decode_errors() -> None:
    good = Deploy(module_of(COUNTER), 1, 2, 3, b"", Schedule("bump", 1, 10))
    fields = good.to_fields()
    assert Deploy.from_fields(fields) == good
    for bad in [
        fields[:5],
        (b"", *fields[1:]),
        (fields[0], -1, *fields[2:]),
        (*fields[:4], b"s" * 33, fields[5]),
        (*fields[:5], ("bump", 0, 10)),
        (*fields[:5], ("bump", 1, 0)),
        (*fields[:5], ("Bump", 1, 10)),
        (*fields[:5], ("bump", 1, MAX_CALL_GAS + 1)),
    ]:
        with pytest.raises(DecodeError):
            Deploy.from_fields(bad)


def test_invalid_call_body_fields_are_decode_errors() -> None:
    good = Call(b"c" * 20, "bump", (1, b"x"), 100)
    fields = good.to_fields()
    assert Call.from_fields(fields) == good
    for bad in [
        (b"c" * 19, *fields[1:]),
        (fields[0], "Bump", *fields[2:]),
        (fields[0], "a" * 33, *fields[2:]),
        (*fields[:2], ((2, b"x"),), fields[3]),
        (*fields[:2], ((0, b"\x00\x01"),), fields[3]),
        (*fields[:2], ((1, b"x"),) * 17, fields[3]),
        (*fields[:3], 0),
        (*fields[:3], MAX_CALL_GAS + 1),
    ]:
        with pytest.raises(DecodeError):
            Call.from_fields(bad)


def test_contract_transactions_round_trip_through_bytes() -> None:
    chain = ContractChain()
    for body in [
        Deploy(module_of(COUNTER), 1, 2, 3, b"salt", Schedule("bump", 4, 5)),
        Call(b"c" * 20, "bump", (0, 2**256 - 1, b"", b"abc"), 7),
        Fund(b"c" * 20, 1, 0, 2),
    ]:
        tx = chain.tx(0, body)
        assert decode_transaction(tx.encode()) == tx


# -- call and gas -----------------------------------------------------------------
def test_call_runs_stores_and_refunds_unused_gas() -> None:
    chain = ContractChain()
    address = deployed(chain, COUNTER)
    cpu_before = chain.balance(1, "cpu")
    burned_before = chain.burned("cpu")
    (receipt,), _ = chain.block(chain.call(1, address, "bump", gas=50_000))
    assert receipt.status == 0
    assert 0 < receipt.gas_used < 50_000
    assert chain.balance(1, "cpu") == cpu_before - receipt.gas_used
    assert chain.burned("cpu") == burned_before + receipt.gas_used
    called = receipt.events[0]
    assert called.kind == "contract_called" and attrs(called)["returns"] == ((0, b"\x01"),)
    assert contract_storage(chain.reader, address, b"count") == (1).to_bytes(32, "big")
    info = chain.info(address)
    assert info is not None and info["storage_keys"] == 1 and info["storage_bytes"] == 5 + 32
    assert chain.conserved(INITIAL)


def test_out_of_gas_burns_the_whole_limit_and_changes_nothing() -> None:
    chain = ContractChain()
    address = deployed(chain)
    cpu_before = chain.balance(1, "cpu")
    (receipt,), _ = chain.block(chain.call(1, address, "spin", gas=5_000))
    assert receipt.status == ContractHalted.status and "out_of_gas" in receipt.error
    assert receipt.gas_used == 5_000 and receipt.fee_charged == FEE
    assert chain.balance(1, "cpu") == cpu_before - 5_000
    assert chain.nonce(1) == 1
    assert chain.conserved(INITIAL)


def test_revert_burns_only_the_gas_used_and_undoes_the_effects() -> None:
    chain = ContractChain()
    address = deployed(chain)
    cpu_before = chain.balance(1, "cpu")
    (receipt,), _ = chain.block(chain.call(1, address, "fail", gas=5_000))
    assert receipt.status == ContractReverted.status and receipt.error == "reverted: nope"
    assert 0 < receipt.gas_used < 5_000
    assert chain.balance(1, "cpu") == cpu_before - receipt.gas_used
    assert chain.conserved(INITIAL)


def test_invalid_call_to_nowhere_and_bad_invocations_charge_only_the_fee() -> None:
    chain = ContractChain()
    address = deployed(chain)
    cpu_before = chain.balance(1, "cpu")
    receipts, _ = chain.block(
        chain.call(1, b"\x07" * 20, "bump"),
        chain.call(1, address, "missing"),
        chain.call(1, address, "store", b"only one"),
        chain.call(1, address, "store", 1, 2),
    )
    assert [r.status for r in receipts] == [
        NoSuchContract.status,
        InvalidInvocation.status,
        InvalidInvocation.status,
        InvalidInvocation.status,
    ]
    assert chain.balance(1, "cpu") == cpu_before and chain.nonce(1) == 4


def test_invalid_call_with_a_gas_limit_the_sender_cannot_cover() -> None:
    chain = ContractChain({0: {a: CREDITS for a in ASSETS}, 1: {"coin": 10**6, "cpu": 999}})
    address = deployed(chain)
    (receipt,), _ = chain.block(chain.call(1, address, "tick", gas=1000))
    assert receipt.status == InsufficientFunds.status
    assert chain.balance(1, "cpu") == 999


def test_host_sees_caller_address_height_and_time() -> None:
    chain = ContractChain()
    address = deployed(chain)
    (receipt,), _ = chain.block(chain.call(2, address, "who"))
    returns = attrs(receipt.events[0])["returns"]
    assert returns == (
        (1, ADDRS[2]),
        (1, address),
        (0, bytes([chain.tip.height])),
        (0, (chain.tip.time_ms // 1000).to_bytes(4, "big").lstrip(b"\x00")),
    )


def test_events_are_in_the_receipt_and_paid_with_net_credits() -> None:
    chain = ContractChain()
    address = deployed(chain)
    net_before = chain.balance(address, "net")
    (receipt,), _ = chain.block(chain.call(1, address, "emit", b"topic", b"data!"))
    assert kinds(receipt.events) == ["contract_called", "contract_event"]
    assert attrs(receipt.events[1]) == {"contract": address, "data": b"data!", "topic": b"topic"}
    assert chain.balance(address, "net") == net_before - len(b"topicdata!")
    assert chain.conserved(INITIAL)


def test_invalid_events_the_contract_cannot_pay_for_fail_the_call() -> None:
    chain = ContractChain()
    address = deployed(chain, net=3)
    (receipt,), _ = chain.block(chain.call(1, address, "emit", b"topic", b"data"))
    assert receipt.status == ContractHalted.status and "net credits" in receipt.error
    assert receipt.gas_used > 0 and chain.balance(address, "net") == 3


def test_coin_transfer_from_the_contract() -> None:
    chain = ContractChain()
    address = deployed(chain)
    chain.block(chain.tx(0, Transfer("coin", 500, address)))
    (receipt,), _ = chain.block(chain.call(1, address, "pay", ADDRS[3], 200))
    assert receipt.status == 0
    assert chain.balance(address) == 300 and chain.balance(3) == CREDITS + 200
    (receipt,), _ = chain.block(chain.call(1, address, "pay", b"short", 1))
    assert receipt.status == ContractHalted.status and "20-byte" in receipt.error
    (receipt,), _ = chain.block(chain.call(1, address, "pay", ADDRS[3], 301))
    assert receipt.status == ContractHalted.status and "insufficient_balance" in receipt.error
    assert chain.balance(address) == 300
    assert chain.conserved(INITIAL)


def test_fund_adds_credits() -> None:
    chain = ContractChain()
    address = deployed(chain, cpu=0, disk=10**6, net=0)
    (receipt,), _ = chain.block(chain.fund(2, address, cpu=7, net=9))
    assert receipt.status == 0 and kinds(receipt.events) == ["contract_funded"]
    assert chain.balance(address, "cpu") == 7 and chain.balance(address, "net") == 9
    assert chain.balance(2, "cpu") == CREDITS - 7


def test_invalid_fund_of_a_non_contract() -> None:
    chain = ContractChain()
    (receipt,), _ = chain.block(chain.fund(2, ADDRS[3], cpu=7))
    assert receipt.status == NoSuchContract.status
    assert chain.balance(2, "cpu") == CREDITS


def test_storage_delete_keeps_the_index_and_totals_right() -> None:
    chain = ContractChain()
    address = deployed(chain)
    chain.block(*(chain.call(1, address, "store", b"k%d" % i, b"v" * i) for i in range(1, 6)))
    chain.block(chain.call(1, address, "remove", b"k2"), chain.call(1, address, "remove", b"k9"))
    items = contract_storage_items(chain.reader, address)
    assert items == [(b"k%d" % i, b"v" * i) for i in (1, 3, 4, 5)]
    info = chain.info(address)
    assert info is not None and info["storage_keys"] == 4
    assert info["storage_bytes"] == sum(2 + i for i in (1, 3, 4, 5))
    assert contract_storage_items(chain.reader, address, start=b"k4", limit=1) == [(b"k4", b"vvvv")]


def test_storage_is_in_the_state_root() -> None:
    a, b = ContractChain(), ContractChain()
    address, tx = a.deploy(0, KITCHEN)
    block = a.build([tx])
    a.apply(block)
    b.apply(block)
    roots = []
    for value in (b"one", b"two"):
        block = a.build([a.call(1, address, "store", b"key", value)])
        a.apply(block)
        b.apply(block)
        assert a.tip == b.tip
        roots.append(a.tip.state_root)
    assert roots[0] != roots[1], "a storage change changes the state root"


def test_program_cache_is_bounded_and_does_not_change_results() -> None:
    chain = ContractChain()
    address = deployed(chain, COUNTER)
    PROGRAMS._programs.clear()
    (receipt,), _ = chain.block(chain.call(1, address, "bump"))
    assert receipt.status == 0 and len(PROGRAMS) == 1
    assert len(PROGRAMS) <= PROGRAMS.capacity


# -- messages ---------------------------------------------------------------------
def test_messages_are_delivered_breadth_first() -> None:
    chain = ContractChain()
    a, b, c = deployed(chain), deployed(chain, sender=1), deployed(chain, sender=2)
    (receipt,), _ = chain.block(chain.call(3, a, "fan", b, c))
    assert receipt.status == 0
    deliveries = [attrs(e) for e in receipt.events if e.kind == "message"]
    assert [(d["from"], d["to"], d["entry"], d["status"]) for d in deliveries] == [
        (a, b, "relay", "success"),
        (a, c, "note", "success"),
        (b, c, "note", "success"),
    ]
    assert contract_storage(chain.reader, c, b"log") == b"x2x3"
    assert chain.conserved(INITIAL)


def test_a_failing_message_reverts_only_itself() -> None:
    chain = ContractChain()
    a, c = deployed(chain), deployed(chain, sender=1)
    cpu_before = chain.balance(a, "cpu")
    (receipt,), _ = chain.block(chain.call(3, a, "trip", c))
    assert receipt.status == 0
    deliveries = [attrs(e) for e in receipt.events if e.kind == "message"]
    assert [(d["entry"], d["status"], d["error"]) for d in deliveries] == [
        ("fail", "revert", "reverted: nope"),
        ("note", "success", ""),
    ]
    assert contract_storage(chain.reader, c, b"log") == b"ok"
    used = sum(int(d["gas_used"]) for d in deliveries)  # type: ignore[call-overload]
    assert chain.balance(a, "cpu") == cpu_before - used, "the sender pays exactly the gas used"
    assert chain.conserved(INITIAL)


def test_reply_comes_back_to_the_caller() -> None:
    chain = ContractChain()
    a, b = deployed(chain), deployed(chain, sender=1)
    (receipt,), _ = chain.block(chain.call(3, a, "ping", b, 200_000))
    deliveries = [attrs(e) for e in receipt.events if e.kind == "message"]
    assert [(d["from"], d["to"], d["entry"]) for d in deliveries] == [
        (a, b, "pong"),
        (b, a, "got"),
    ]
    pong = [e for e in receipt.events if e.kind == "contract_event"]
    assert attrs(pong[0]) == {"contract": b, "data": b"hello", "topic": b"pong"}
    assert contract_storage(chain.reader, a, b"reply") == b"hello"


def test_message_to_an_account_lands_in_its_mailbox() -> None:
    chain = ContractChain()
    a = deployed(chain)
    (receipt,), _ = chain.block(chain.call(3, a, "relay", ADDRS[2], b"for you"))
    (delivery,) = [attrs(e) for e in receipt.events if e.kind == "message"]
    assert delivery["status"] == "mailbox" and delivery["gas_used"] == 0
    assert chain.mailbox(ADDRS[2]) == [
        {
            "sequence": 0,
            "sender": a,
            "height": chain.tip.height,
            "entry": "note",
            "args": [b"for you"],
        }
    ]


def test_mailbox_keeps_the_newest_messages() -> None:
    chain = ContractChain()
    a = deployed(chain)
    for _ in range(2):
        chain.block(chain.call(3, a, "flood", ADDRS[2], 40, gas=2_000_000))
    box = chain.mailbox(ADDRS[2])
    assert len(box) == MAILBOX_CAPACITY
    assert [m["sequence"] for m in box] == list(range(80 - MAILBOX_CAPACITY, 80))


def test_invalid_message_recipient_is_undeliverable_and_refunded() -> None:
    chain = ContractChain()
    a = deployed(chain)
    cpu_before = chain.balance(a, "cpu")
    (receipt,), _ = chain.block(chain.call(3, a, "relay", b"not-an-address", b"x"))
    (delivery,) = [attrs(e) for e in receipt.events if e.kind == "message"]
    assert delivery["status"] == "undeliverable"
    assert chain.balance(a, "cpu") == cpu_before


def test_invalid_message_gas_the_sender_cannot_reserve_fails_the_send() -> None:
    chain = ContractChain()
    a = deployed(chain, cpu=1000)
    (receipt,), _ = chain.block(chain.call(3, a, "big", ADDRS[2], 5000))
    assert receipt.status == ContractHalted.status and "reserve" in receipt.error
    assert chain.mailbox(ADDRS[2]) == [] and chain.balance(a, "cpu") == 1000
    (receipt,), _ = chain.block(chain.call(3, a, "big", ADDRS[2], MAX_CALL_GAS + 1))
    assert receipt.status == ContractHalted.status and "more than" in receipt.error


def statuses(receipt: Receipt) -> list[object]:
    return [attrs(e)["status"] for e in receipt.events if e.kind == "message"]


def test_messages_beyond_the_per_run_limit_are_dropped_and_refunded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(messages, "MAX_MESSAGES_PER_RUN", 10)
    chain = ContractChain()
    a, sink = deployed(chain), deployed(chain, sender=1)
    cpu_before = chain.balance(a, "cpu")
    (receipt,), _ = chain.block(chain.call(3, a, "flood", sink, 20, gas=2_000_000))
    assert statuses(receipt) == ["success"] * 10 + ["dropped"] * 10
    assert contract_storage(chain.reader, sink, b"log") == b"m" * 10
    used = sum(int(attrs(e)["gas_used"]) for e in receipt.events if e.kind == "message")  # type: ignore[call-overload]
    assert chain.balance(a, "cpu") == cpu_before - used
    assert chain.conserved(INITIAL)


def test_messages_beyond_the_per_block_limit_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "MAX_MESSAGES_PER_BLOCK", 25)
    chain = ContractChain()
    a, sink = deployed(chain), deployed(chain, sender=1)
    first, second = (
        chain.call(3, a, "flood", sink, 20, gas=2_000_000),
        chain.call(3, a, "flood", sink, 20, gas=2_000_000),
    )
    (r1, r2), _ = chain.block(first, second)
    assert statuses(r1) == ["success"] * 20
    assert statuses(r2) == ["success"] * 5 + ["dropped"] * 15
    (r3,), _ = chain.block(chain.call(3, a, "flood", sink, 20, gas=2_000_000))
    assert statuses(r3) == ["success"] * 20, "the count starts again in every block"
    assert chain.conserved(INITIAL)


def test_deploying_the_same_body_twice_gives_two_contracts() -> None:
    chain = ContractChain()
    first, second = deployed(chain, COUNTER), deployed(chain, COUNTER)
    assert first != second
    assert chain.info(first) is not None and chain.info(second) is not None


def test_burn_counter_is_readable_per_asset() -> None:
    chain = ContractChain()
    deployed(chain, COUNTER)
    assert burned(chain.reader, "cpu") > 0 and burned(chain.reader, "coin") == 0


VERIFIER = """
.entry check bytes bytes bytes -> int
    VERIFY
    RET
"""


def test_verify_accepts_ledger_signatures_over_the_message_hash() -> None:
    from ledger import crypto

    chain = ContractChain()
    address = deployed(chain, VERIFIER)
    key = crypto.SigningKey(crypto.sha256(b"a contract signer"))
    message = b"pay bob 5"
    signature = key.sign_digest(crypto.sha256(message))
    receipts, _ = chain.block(
        chain.call(1, address, "check", key.public_key, message, signature),
        chain.call(1, address, "check", key.public_key, b"pay bob 6", signature),
        chain.call(1, address, "check", b"\x02" * 33, message, b"junk"),
    )
    returned = [attrs(r.events[0])["returns"] for r in receipts]
    assert returned == [((0, b"\x01"),), ((0, b""),), ((0, b""),)]
