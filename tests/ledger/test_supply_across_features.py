"""Supply across features: transfers, barter escrow, contracts burning credits
for gas, rent and messages, evictions, and validator credit mints, mixed at
random in one chain. After every block, for every asset, all balances plus
all escrow equal the supply the asset's registry records, and the recorded
supply moved only by the documented mints and burns."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.bank.bodies import Transfer
from ledger.features.barter.bodies import CreateOffer, TakeOffer
from ledger.features.contracts.bodies import Call, Deploy, Fund, contract_address
from ledger.types import Transaction
from tests.ledger.memory_chain import ADDRS, MemoryChain, make_genesis
from vm.assembler import assemble
from vm.module import encode_module

KITCHEN_ASM = Path(__file__).parent / "features" / "contracts" / "kitchen.asm"
KITCHEN = encode_module(assemble(KITCHEN_ASM.read_text()))
ASSETS = ("coin", "cpu", "disk", "net")
FUNDS = 10**9

transfer = st.tuples(
    st.just("transfer"),
    st.integers(0, 3),
    st.integers(0, 5),
    st.sampled_from(ASSETS),
    st.integers(0, 10**6),
)
offer = st.tuples(
    st.just("offer"),
    st.integers(0, 3),
    st.sampled_from(ASSETS),
    st.integers(1, 10**6),
    st.sampled_from(ASSETS),
    st.integers(1, 50),
    st.integers(1, 50),
    st.integers(1, 6),
)
take = st.tuples(st.just("take"), st.integers(0, 3), st.integers(1, 8), st.integers(1, 10**6))
deploy = st.tuples(
    st.just("deploy"),
    st.integers(0, 3),
    st.sampled_from([20_000, 10**6]),
    st.sampled_from([0, 1_500, 10**6]),
    st.sampled_from([0, 10**4]),
)
call = st.tuples(
    st.just("call"),
    st.integers(0, 3),
    st.integers(0, 5),
    st.binary(min_size=1, max_size=4),
    st.binary(max_size=40),
    st.sampled_from([300, 200_000]),
)
fund = st.tuples(
    st.just("fund"),
    st.integers(0, 3),
    st.integers(0, 5),
    st.integers(0, 10**5),
    st.integers(0, 10**5),
)
empty = st.tuples(st.just("empty"), st.integers(1, 3))
operation = st.one_of(transfer, offer, take, deploy, call, fund, empty)


class Driver:
    def __init__(self) -> None:
        balances = dict.fromkeys(ASSETS, FUNDS)
        self.chain = MemoryChain(make_genesis(accounts=4, balances=balances))
        self.contracts: list[bytes] = []

    def tx(self, op: tuple) -> Transaction | None:  # type: ignore[type-arg]
        kind, sender = op[0], op[1]
        chain = self.chain
        if kind == "transfer":
            _, _, recipient, asset, amount = op
            return chain.sign(sender, Transfer(asset, amount, ADDRS[recipient]))
        if kind == "offer":
            _, _, sell, amount, buy, price_sell, price_buy, life = op
            if sell == buy:
                return None
            body = CreateOffer(sell, amount, buy, price_sell, price_buy, chain.height + life)
            return chain.sign(sender, body)
        if kind == "take":
            _, _, offer_id, amount = op
            return chain.sign(sender, TakeOffer(offer_id, amount))
        if kind == "deploy":
            _, _, cpu, disk, net = op
            tx = chain.sign(sender, Deploy(KITCHEN, cpu, disk, net, b"", None))
            self.contracts.append(contract_address(ADDRS[sender], tx.nonce))
            return tx
        if not self.contracts:
            return None
        if kind == "call":
            _, _, which, key, value, gas = op
            target = self.contracts[which % len(self.contracts)]
            return chain.sign(sender, Call(target, "store", (key, value), gas))
        _, _, which, cpu, disk = op
        return chain.sign(sender, Fund(self.contracts[which % len(self.contracts)], cpu, disk, 0))

    def check(self) -> None:
        holdings = self.chain.holdings()
        supplies = self.chain.supplies()
        for asset in ASSETS:
            assert holdings.get(asset, 0) == supplies.get(asset, 0), (asset, holdings, supplies)


@given(st.lists(operation, min_size=4, max_size=30))
@settings(max_examples=100, deadline=None)
def test_every_asset_is_accounted_for_after_every_block(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    driver = Driver()
    driver.check()
    for op in ops:
        if op[0] == "empty":
            for _ in range(op[1]):
                driver.chain.run([])
                driver.check()
            continue
        tx = driver.tx(op)
        driver.chain.run([tx] if tx is not None else [])
        driver.check()
