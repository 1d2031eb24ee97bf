"""Rent, schedules and eviction at block boundaries: pre / operation / post."""

from __future__ import annotations

from pathlib import Path

from ledger.features.bank.bodies import Transfer
from ledger.features.contracts.bodies import Schedule
from ledger.features.contracts.execution import contract_storage
from ledger.features.contracts.records import (
    CODE_SPACE,
    KEY_INDEX_SPACE,
    RECORD_OVERHEAD_BYTES,
    RECORD_SPACE,
    STORAGE_SPACE,
    list_contracts,
)
from ledger.fields import MAX_AMOUNT
from ledger.state import account_key
from ledger.types import Event
from tests.ledger.features.contracts.contract_chain import (
    ADDRS,
    ASSETS,
    CREDITS,
    ContractChain,
    module_of,
)

KITCHEN = (Path(__file__).parent / "kitchen.asm").read_text()
INITIAL = {asset: 4 * CREDITS for asset in ASSETS}


def attrs(event: Event) -> dict[str, object]:
    return dict(event.attributes)


def rent_of(source: str) -> int:
    return RECORD_OVERHEAD_BYTES + len(module_of(source))


def evictions(events: list[Event] | tuple[Event, ...]) -> list[dict[str, object]]:
    return [attrs(e) for e in events if e.kind == "contract_evicted"]


def contract_keys(chain: ContractChain, address: bytes) -> list[bytes]:
    spaces = (RECORD_SPACE, CODE_SPACE, STORAGE_SPACE, KEY_INDEX_SPACE)
    return [k for k in chain.reader.values if any(k.startswith(s + address) for s in spaces)]


def test_rent_is_burned_every_block() -> None:
    chain = ContractChain()
    rent = rent_of(KITCHEN)
    address, tx = chain.deploy(0, KITCHEN, disk=100 * rent)
    chain.block(tx)
    assert chain.balance(address, "disk") == 99 * rent
    chain.blocks(4)
    assert chain.balance(address, "disk") == 95 * rent
    assert chain.burned("disk") == 5 * rent
    assert chain.conserved(INITIAL)


def test_rent_grows_with_storage() -> None:
    chain = ContractChain()
    address, tx = chain.deploy(0, KITCHEN)
    chain.block(tx)
    before = chain.balance(address, "disk")
    chain.block(chain.call(1, address, "store", b"key", b"v" * 100))
    info = chain.info(address)
    assert info is not None
    assert info["rent_bytes"] == rent_of(KITCHEN) + 3 + 100 + 32
    assert chain.balance(address, "disk") == before - info["rent_per_block"]


def test_eviction_at_the_exact_block_deletes_everything_and_returns_the_rest() -> None:
    chain = ContractChain()
    deploy_height = chain.tip.height + 1
    address, tx = chain.deploy(0, KITCHEN, cpu=5_000_000, disk=0, net=777)
    chain.block(tx, chain.fund(1, address, disk=10**6), chain.tx(2, Transfer("coin", 42, address)))
    chain.block(
        chain.call(1, address, "store", b"a", b"1" * 50),
        chain.call(1, address, "store", b"b", b"2" * 60),
        chain.call(1, address, "store", b"c", b"3" * 70),
        chain.call(1, address, "remove", b"a"),
    )
    info = chain.info(address)
    assert info is not None and info["storage_keys"] == 2
    rent = info["rent_per_block"]
    disk = chain.balance(address, "disk")
    blocks_left = disk // rent  # it can pay this many more blocks
    cpu = chain.balance(address, "cpu")
    deployer = {asset: chain.balance(0, asset) for asset in ASSETS}
    events = chain.blocks(blocks_left)
    assert evictions(events) == [] and chain.info(address) is not None
    (evicted,) = evictions(chain.blocks(1))
    assert evicted["address"] == address and evicted["beneficiary"] == ADDRS[0]
    assert evicted["reason"] == "cannot pay rent"
    assert evicted["height"] == deploy_height + 2 + blocks_left
    assert evicted["returned"] == (
        ("coin", 42),
        ("cpu", cpu),
        ("disk", disk - blocks_left * rent),
        ("net", 777),
    )
    assert chain.info(address) is None
    assert contract_keys(chain, address) == [] and address not in list_contracts(chain.reader)
    assert contract_storage(chain.reader, address, b"b") is None
    assert account_key(address) not in chain.reader.values
    assert chain.balance(0, "cpu") == deployer["cpu"] + cpu
    assert chain.balance(0, "coin") == deployer["coin"] + 42
    assert chain.conserved(INITIAL)


def test_evicted_contract_cannot_be_called_and_a_second_contract_lives_on() -> None:
    chain = ContractChain()
    rent = rent_of(KITCHEN)
    doomed, tx1 = chain.deploy(0, KITCHEN, disk=2 * rent)
    healthy, tx2 = chain.deploy(1, KITCHEN, disk=100 * rent)
    chain.block(tx1, tx2)
    chain.blocks(1)
    assert chain.info(doomed) is not None
    (evicted,) = evictions(chain.blocks(1))
    assert evicted["address"] == doomed
    (receipt,), _ = chain.block(chain.call(2, doomed, "tick"))
    assert receipt.status != 0 and "no contract" in receipt.error
    assert list_contracts(chain.reader) == [healthy]
    assert chain.conserved(INITIAL)


def test_scheduled_runs_every_n_blocks() -> None:
    chain = ContractChain()
    start = chain.tip.height + 1
    address, tx = chain.deploy(0, KITCHEN, schedule=Schedule("tick", 3, 50_000))
    chain.block(tx)
    events = chain.blocks(9)
    runs = [attrs(e) for e in events if e.kind == "scheduled_run"]
    assert [r["status"] for r in runs] == ["success"] * 3
    assert contract_storage(chain.reader, address, b"ticks") == (3).to_bytes(32, "big")
    info = chain.info(address)
    assert info is not None and info["next_run"] == start + 12
    used = sum(int(r["gas_used"]) for r in runs)  # type: ignore[call-overload]
    assert chain.balance(address, "cpu") == 10**9 - used
    assert chain.conserved(INITIAL)


def test_scheduled_run_failure_is_reported_and_the_schedule_goes_on() -> None:
    chain = ContractChain()
    address, tx = chain.deploy(0, KITCHEN, schedule=Schedule("fail", 1, 1_000))
    chain.block(tx)
    events = chain.blocks(2)
    runs = [attrs(e) for e in events if e.kind == "scheduled_run"]
    assert [(r["status"], r["error"]) for r in runs] == [("revert", "reverted: nope")] * 2
    assert chain.info(address) is not None


def test_contract_that_cannot_pay_its_scheduled_run_is_evicted() -> None:
    chain = ContractChain()
    address, tx = chain.deploy(0, KITCHEN, cpu=2_500, schedule=Schedule("spin", 1, 1_000))
    chain.block(tx)
    height = chain.tip.height
    events = chain.blocks(3)
    runs = [attrs(e) for e in events if e.kind == "scheduled_run"]
    assert [(r["status"], r["gas_used"]) for r in runs] == [("halt", 1_000), ("halt", 1_000)]
    (evicted,) = evictions(events)
    assert evicted["reason"] == "cannot pay its scheduled run"
    assert evicted["height"] == height + 3
    assert ("cpu", 500) in evicted["returned"]  # type: ignore[operator]
    assert chain.info(address) is None
    assert chain.conserved(INITIAL)


def test_leftovers_the_deployer_cannot_hold_are_burned() -> None:
    rent = rent_of(KITCHEN)
    balances = {i: {a: CREDITS for a in ASSETS} for i in range(4)}
    balances[0]["gold"] = MAX_AMOUNT
    balances[1]["gold"] = 5
    chain = ContractChain(balances)
    address, tx = chain.deploy(0, KITCHEN, disk=rent)
    chain.block(tx, chain.tx(1, Transfer("gold", 5, address)))
    (evicted,) = evictions(chain.blocks(1))
    assert ("gold", 5) not in evicted["returned"]  # type: ignore[operator]
    assert chain.burned("gold") == 5 and chain.balance(0, "gold") == MAX_AMOUNT
    assert chain.supply("gold") + chain.burned("gold") == MAX_AMOUNT + 5
