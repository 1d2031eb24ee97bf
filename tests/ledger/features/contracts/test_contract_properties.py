"""Properties of contracts on chain: random deploy / call / fund / empty-block
sequences keep every invariant, and two independent chains (and two
processes) reach the same state roots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.features.contracts.bodies import Schedule
from ledger.features.contracts.records import (
    BLOCK_MESSAGES_KEY,
    CODE_SPACE,
    CONTRACT_PREFIX,
    KEY_INDEX_SPACE,
    RECORD_SPACE,
    STORAGE_SPACE,
    list_contracts,
    read_record,
)
from ledger.types import Transaction
from tests.hypothesis_profiles import examples
from tests.ledger.features.contracts.contract_chain import ADDRS, ASSETS, CREDITS, ContractChain
from vm.values import Value

KITCHEN = (Path(__file__).parent / "kitchen.asm").read_text()
INITIAL = {asset: 4 * CREDITS for asset in ASSETS}
ROOT = Path(__file__).resolve().parents[4]

keys = st.sampled_from([b"a", b"b", b"cc", b"ddd"])
values = st.binary(min_size=1, max_size=40)
deploy_op = st.tuples(
    st.just("deploy"),
    st.integers(0, 3),
    st.sampled_from([0, 2_000, 10**6, 10**6]),  # disk: from "evicted now" to "lives long"
    st.sampled_from([0, 3_000, 10**6, 10**6]),  # cpu
    st.sampled_from([None, Schedule("tick", 2, 1_000), Schedule("spin", 3, 1_500)]),
)
call_op = st.tuples(
    st.just("call"),
    st.integers(0, 3),
    st.integers(0, 7),  # below 6: a deployed contract (modulo how many), else an account
    st.one_of(
        st.tuples(st.just("store"), keys, values),
        st.tuples(st.just("remove"), keys),
        st.tuples(st.just("tick")),
        st.tuples(st.just("fail")),
        st.tuples(st.just("spin")),
        st.tuples(st.just("emit"), keys, values),
        st.tuples(st.just("relay"), st.integers(0, 7), values),
        st.tuples(st.just("fan"), st.integers(0, 7), st.integers(0, 7)),
        st.tuples(st.just("ping"), st.integers(0, 7), st.sampled_from([100, 200_000])),
    ),
    st.sampled_from([500, 300_000, 300_000]),
)
fund_op = st.tuples(
    st.just("fund"),
    st.integers(0, 3),
    st.integers(0, 7),
    st.sampled_from([0, 1_000, 10**5]),
    st.sampled_from([0, 1_000, 10**5]),
)
empty_blocks = st.tuples(st.just("blocks"), st.integers(1, 4))
operations = st.lists(
    st.one_of(deploy_op, deploy_op, call_op, call_op, call_op, fund_op, empty_blocks),
    min_size=1,
    max_size=14,
)


def target(addresses: list[bytes], index: int) -> bytes:
    """A deployed contract if any (even an evicted one), else an account."""
    if addresses and index < 6:
        return addresses[index % len(addresses)]
    return ADDRS[index % 4]


def call_args(entry: str, raw: tuple[object, ...], addresses: list[bytes]) -> tuple[Value, ...]:
    if entry in ("relay", "fan", "ping"):
        first = target(addresses, raw[0])  # type: ignore[arg-type]
        second = raw[1] if entry != "fan" else target(addresses, raw[1])  # type: ignore[arg-type]
        return (first, second)  # type: ignore[return-value]
    return tuple(raw)  # type: ignore[arg-type]


def check_invariants(chain: ContractChain) -> None:
    assert chain.conserved(INITIAL)
    values = chain.reader.values
    assert BLOCK_MESSAGES_KEY not in values, "the block message count never reaches the state"
    live = list_contracts(chain.reader)
    assert live == sorted(set(live))
    for address in live:
        record = read_record(chain.reader, address)
        assert record is not None and CODE_SPACE + address in values
        indexed = [
            values[KEY_INDEX_SPACE + address + slot.to_bytes(4, "big")]
            for slot in range(record.storage_keys)
        ]
        prefix = STORAGE_SPACE + address
        stored = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
        assert sorted(indexed) == sorted(stored)
        size = 0
        for key, raw in stored.items():
            slot, value = codec.decode(raw)
            assert indexed[slot] == key
            size += len(key) + len(value)
        assert size == record.storage_bytes
    per_contract = (RECORD_SPACE, CODE_SPACE, STORAGE_SPACE, KEY_INDEX_SPACE)
    for key in values:
        if key.startswith(CONTRACT_PREFIX) and key[:2] in per_contract:
            assert key[2:22] in live, "nothing is left of an evicted contract"


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(operations, min_size=1, max_size=4))
def test_random_contract_activity_keeps_invariants_and_roots_agree(
    blocks: list[list[tuple]],  # type: ignore[type-arg]
) -> None:
    a, b = ContractChain(), ContractChain()
    # Two long-lived contracts first, so that calls and messages find someone.
    prelude = [a.deploy(i, KITCHEN, cpu=10**7, disk=10**7) for i in (0, 1)]
    addresses = [address for address, _ in prelude]
    block = a.build([tx for _, tx in prelude])
    a.apply(block)
    b.apply(block)
    for ops in blocks:
        txs: list[Transaction] = []
        for op in ops:
            if op[0] == "blocks":
                continue
            if op[0] == "deploy":
                _, sender, disk, cpu, schedule = op
                address, tx = a.deploy(sender, KITCHEN, cpu=cpu, disk=disk, schedule=schedule)
                addresses.append(address)
            elif op[0] == "call":
                _, sender, which, (entry, *raw), gas = op
                args = call_args(entry, tuple(raw), addresses)
                tx = a.call(sender, target(addresses, which), entry, *args, gas=gas)
            else:
                _, sender, which, cpu, disk = op
                tx = a.fund(sender, target(addresses, which), cpu=cpu, disk=disk)
            txs.append(tx)
        block = a.build(txs)
        assert len(block.transactions) == len(txs)
        _, result = a.apply(block)
        b.apply(block)
        assert a.tip == b.tip
        check_invariants(a)
        note(result)
        for op in ops:
            if op[0] == "blocks":
                for _ in range(op[1]):
                    block = a.build([])
                    _, result = a.apply(block)
                    b.apply(block)
                    note(result)
                assert a.tip == b.tip
                check_invariants(a)
    assert a.reader.values == b.reader.values


def note(result: object) -> None:
    """Tell hypothesis's statistics what happened (failures, evictions, messages)."""
    receipts = getattr(result, "receipts", ())
    for receipt in receipts:
        event(f"receipt status {receipt.status}")
        for e in receipt.events:
            if e.kind == "message":
                event(f"message {dict(e.attributes)['status']}")
    for e in getattr(result, "block_events", ()):
        event(e.kind)


def relay_scenario_root() -> str:
    """A fixed scenario with every contract feature; the final state root in hex."""
    from tests.ledger.features.contracts.test_batch_relay_chain import relays

    chain = ContractChain()
    first, second = relays(chain, 2)
    sends = [chain.call(i, first, "send", b"p%d" % i, second, 100_000) for i in range(4)]
    chain.block(*sends)
    kitchen, tx = chain.deploy(1, KITCHEN, disk=20_000, schedule=Schedule("tick", 1, 5_000))
    chain.block(tx, chain.call(2, first, "send", b"late", ADDRS[3], 1_000))
    chain.block(chain.call(3, kitchen, "fan", first, kitchen))
    chain.blocks(12)
    return chain.tip.state_root.hex()


def test_same_state_root_in_another_process() -> None:
    code = (
        "from tests.ledger.features.contracts.test_contract_properties"
        " import relay_scenario_root as f; print(f())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == relay_scenario_root()
