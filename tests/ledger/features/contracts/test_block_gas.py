"""The block gas limit (docs/adr/0022-block-gas-limit.md): calls, deploys,
message deliveries and scheduled runs share ``Params.max_block_gas``; work
may start only if its whole allowance fits in what is left, and only the
gas it used is counted. What does not fit: a transaction waits for a later
block (a block that includes it is invalid), a message is dropped (its gas
refunded), a scheduled run waits, the longest-waiting first.
Invalid cases are named test_invalid_*."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ledger.context import BlockGas
from ledger.exceptions import BadNonce, InvalidBlock, OverGasLimit
from ledger.features.contracts.bodies import MAX_CALL_GAS, Schedule
from ledger.features.contracts.credits import deploy_gas
from ledger.transition import (
    BlockResult,
    build_block,
    check_envelope,
    execute_block,
    read_params,
)
from ledger.types import Block, Event, block_txs_root
from tests.ledger.features.contracts.contract_chain import (
    ASSETS,
    CHAIN,
    CREDITS,
    PROPOSER,
    ContractChain,
    module_of,
)

KITCHEN = (Path(__file__).parent / "kitchen.asm").read_text()
INITIAL = {asset: 4 * CREDITS for asset in ASSETS}
LIMIT = 1_000_000


def attrs(event: Event) -> dict[str, object]:
    return dict(event.attributes)


def block_gas(result: BlockResult) -> int:
    """Gas the block's executions used: receipts plus deliveries and scheduled runs."""
    receipts = sum(receipt.gas_used for receipt in result.receipts)
    events = [*(e for r in result.receipts for e in r.events), *result.block_events]
    deliveries = sum(
        int(attrs(e)["gas_used"])  # type: ignore[call-overload]
        for e in events
        if e.kind in ("message", "scheduled_run")
    )
    return receipts + deliveries


def build(chain: ContractChain, candidates: list[object]) -> tuple[Block, BlockResult, list]:  # type: ignore[type-arg]
    return build_block(
        chain.state(),
        chain.tree(),
        chain.tip,
        CHAIN,
        candidates,  # type: ignore[arg-type]
        PROPOSER,
        chain.tip.time_ms + 1000,
    )


def deployed(chain: ContractChain, **kw: object) -> bytes:
    address, tx = chain.deploy(0, KITCHEN, **kw)  # type: ignore[arg-type]
    chain.block(tx)
    return address


def test_a_block_of_many_max_gas_calls_stays_within_the_gas_limit() -> None:
    chain = ContractChain(max_block_gas=LIMIT)
    address = deployed(chain)
    # spin() loops until its gas runs out: each call uses all of its limit.
    calls = [chain.call(i % 4, address, "spin", gas=LIMIT // 4) for i in range(12)]
    heights = []
    while calls:
        block, result, skipped = build(chain, calls)
        assert block_gas(result) <= LIMIT
        assert len(block.transactions) == 4
        # The first left out of each sender did not fit; its later nonces follow it.
        assert {type(reason) for _, reason in skipped} <= {OverGasLimit, BadNonce}
        chain.apply(block)
        heights.append(block.height)
        calls = [tx for tx, _ in skipped]
    assert len(heights) == 3  # the rest waited for the next blocks
    assert chain.conserved(INITIAL)


def test_a_call_starts_only_if_its_whole_gas_limit_fits() -> None:
    chain = ContractChain(max_block_gas=MAX_CALL_GAS)
    address = deployed(chain)
    calls = [chain.call(i, address, "tick", gas=MAX_CALL_GAS) for i in range(4)]
    block, result, skipped = build(chain, calls)
    # tick() uses little, but after the first call less than MAX_CALL_GAS is left.
    assert len(block.transactions) == 1 and len(skipped) == 3
    assert 0 < block_gas(result) < MAX_CALL_GAS


def test_the_limit_counts_the_gas_used_not_the_gas_allowed() -> None:
    chain = ContractChain(max_block_gas=LIMIT)
    address = deployed(chain)
    calls = [chain.call(i % 4, address, "tick", gas=LIMIT // 2) for i in range(12)]
    block, result, skipped = build(chain, calls)
    assert len(block.transactions) == 12 and skipped == []
    assert block_gas(result) <= LIMIT


def test_invalid_block_with_calls_past_the_gas_limit() -> None:
    chain = ContractChain(max_block_gas=LIMIT)
    address = deployed(chain)
    calls = [chain.call(i, address, "spin", gas=LIMIT // 2) for i in range(3)]
    block, _, skipped = build(chain, calls)
    assert len(block.transactions) == 2 and len(skipped) == 1
    # A proposer that ignores the limit: the same header over all three calls.
    header = replace(block.header, txs_root=block_txs_root(tuple(calls)))
    forged = Block(header, tuple(calls), block.last_commit)
    with pytest.raises(InvalidBlock, match="gas"):
        execute_block(chain.state(), chain.tree(), forged, chain.tip, CHAIN)


def test_invalid_call_with_more_gas_than_a_block_allows() -> None:
    chain = ContractChain(max_block_gas=LIMIT)
    address = deployed(chain)
    call = chain.call(0, address, "tick", gas=LIMIT + 1)
    with pytest.raises(OverGasLimit):
        check_envelope(call, CHAIN, read_params(chain.state()))
    block, _, skipped = build(chain, [call])
    assert block.transactions == () and [type(r) for _, r in skipped] == [OverGasLimit]


def test_a_deploy_counts_its_gas() -> None:
    module = module_of(KITCHEN)
    gas = deploy_gas(len(module))
    chain = ContractChain(max_block_gas=gas + gas // 2)
    deploys = [chain.deploy(i, module, salt=b"%d" % i)[1] for i in range(2)]
    block, result, skipped = build(chain, deploys)
    assert len(block.transactions) == 1 and [type(r) for _, r in skipped] == [OverGasLimit]
    assert result.receipts[0].gas_used == gas


def test_a_message_that_does_not_fit_is_dropped_and_its_gas_refunded() -> None:
    chain = ContractChain(max_block_gas=LIMIT)
    address = deployed(chain)
    before = chain.balance(address, "cpu")
    burn = chain.call(1, address, "spin", gas=600_000)
    # ping sends pong with 500,000 gas: more than the 400,000 left after spin.
    ping = chain.call(0, address, "ping", address, 500_000, gas=100_000)
    receipts, _ = chain.block(burn, ping)
    messages = [attrs(e) for e in receipts[1].events if e.kind == "message"]
    assert [(m["status"], m["error"], m["gas_used"]) for m in messages] == [
        ("dropped", "block gas limit reached", 0)
    ]
    assert chain.balance(address, "cpu") == before  # reserved, then all refunded
    assert chain.conserved(INITIAL)
    receipts, _ = chain.block(chain.call(0, address, "ping", address, 500_000, gas=100_000))
    statuses = [attrs(e)["status"] for e in receipts[0].events if e.kind == "message"]
    assert statuses == ["success", "success"]  # pong, and its reply got()


def test_scheduled_runs_that_do_not_fit_wait_and_then_go_first() -> None:
    chain = ContractChain(max_block_gas=LIMIT)
    schedule = Schedule("spin", 1, 400_000)  # each run uses all of its gas
    first, tx_a = chain.deploy(0, KITCHEN, salt=b"a", schedule=schedule)
    second, tx_b = chain.deploy(1, KITCHEN, salt=b"b", schedule=schedule)
    chain.block(tx_a, tx_b)
    low, high = sorted([first, second])
    # Both are due; a call uses 500,000, so one run of 400,000 fits, not two.
    _, events = chain.block(chain.call(2, low, "spin", gas=500_000))
    ran = [attrs(e)["contract"] for e in events if e.kind == "scheduled_run"]
    assert ran == [low]  # equally due: by address
    waiting = chain.info(high)
    assert waiting is not None and waiting["next_run"] < chain.tip.height + 1
    _, events = chain.block()
    ran = [attrs(e)["contract"] for e in events if e.kind == "scheduled_run"]
    assert ran == [high, low]  # the one that waited goes first
    assert chain.conserved(INITIAL)


def test_block_gas_meter() -> None:
    meter = BlockGas(100)
    assert meter.fits(100) and not meter.fits(101)
    meter.charge(60)
    assert meter.remaining == 40 and meter.fits(40) and not meter.fits(41)
    with pytest.raises(AssertionError):
        meter.charge(41)
