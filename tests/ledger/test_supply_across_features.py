"""Supply across features, against an independent book of the documented rules.

Random blocks mix transfers, barter offers and takes, user assets (issue,
mint, burn), contracts (deploy, calls that store, emit, revert and halt,
funding, rent, eviction), fees above the minimum and validator credit mints
at non-zero rates (up to rates that hit the 2^128-1 cap). Beside the chain,
``SupplyBook`` keeps its own running total of every asset from the rules in
docs/spec/assets.md and docs/spec/contracts.md alone: it predicts each
transaction's status, the credit mint and its split, the rent and the
evictions, and never reads the chain's supply records. After every block:

- the recorded supply equals the book's total, for every asset;
- all balances plus all escrow equal the recorded supply;
- the contracts' public burn counters equal the book's burns;
- each validator holds exactly its book share of the credit mint, and the
  proposer exactly the fees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.address import address_of
from ledger.features.bank.bodies import BurnAsset, IssueAsset, MintAsset, Transfer
from ledger.features.barter.bodies import CreateOffer, TakeOffer
from ledger.features.contracts.bodies import Call, Deploy, Fund, contract_address
from ledger.features.contracts.records import burned
from ledger.transition import BlockResult
from ledger.types import Body, Receipt, Transaction
from tests.hypothesis_profiles import examples
from tests.ledger.memory_chain import (
    ADDRS,
    FEE,
    PROPOSER,
    VALIDATOR_KEYS,
    MemoryChain,
    make_genesis,
)
from vm.assembler import assemble
from vm.module import encode_module

KITCHEN_ASM = Path(__file__).parent / "features" / "contracts" / "kitchen.asm"
KITCHEN = encode_module(assemble(KITCHEN_ASM.read_text()))
PROTOCOL_ASSETS = ("coin", "cpu", "disk", "net")
USER_ASSETS = ("gold", "silver")
ASSETS = PROTOCOL_ASSETS + USER_ASSETS
FUNDS = 10**9
ACCOUNTS = 4
MAX_AMOUNT = 2**128 - 1

# The documented numbers (docs/spec/contracts.md, docs/spec/transactions.md),
# written out here so that the book does not share them with the code.
DEPLOY_GAS = 10_000 + 8 * len(KITCHEN)
RENT_RECORD_BYTES = 128
RENT_ENTRY_BYTES = 32
OK, INSUFFICIENT, REVERTED, HALTED, NO_CONTRACT = 0, 2, 11, 12, 13
UNKNOWN, NOT_AUTHORIZED, TAKEN, LIMIT = 20, 21, 22, 24

# -- operations ----------------------------------------------------------------
Operation = tuple[Any, ...]  # (kind, sender, fee, ...), built by Driver.build_<kind>
Expect = Callable[[Receipt], None]  # checks a receipt against the book, then updates it
Built = tuple[Transaction, Expect] | None
sender = st.integers(0, ACCOUNTS - 1)
fee = st.sampled_from([FEE, FEE + 1, 997])
transfer = st.tuples(
    st.just("transfer"), sender, fee, st.integers(0, 5), st.sampled_from(ASSETS),
    st.integers(0, 10**6),
)  # fmt: skip
offer = st.tuples(
    st.just("offer"), sender, fee, st.sampled_from(ASSETS), st.integers(1, 10**6),
    st.sampled_from(ASSETS), st.integers(1, 50), st.integers(1, 50), st.integers(1, 6),
)  # fmt: skip
take = st.tuples(st.just("take"), sender, fee, st.integers(1, 8), st.integers(1, 10**6))
issue = st.tuples(
    st.just("issue"), sender, fee, st.sampled_from((*USER_ASSETS, "coin", "cpu")),
    st.sampled_from([1, 5_000, 10**6, MAX_AMOUNT]),
)  # fmt: skip
# as_issuer: sign with the asset's issuer when it has one (else ``sender``).
mint = st.tuples(
    st.just("mint"), sender, fee, st.sampled_from((*USER_ASSETS, "coin")), st.booleans(),
    st.integers(1, 10**6), st.integers(0, 5),
)  # fmt: skip
burn = st.tuples(
    st.just("burn"), sender, fee, st.sampled_from((*USER_ASSETS, "cpu")), st.booleans(),
    st.integers(1, 10**6),
)  # fmt: skip
deploy = st.tuples(
    st.just("deploy"), sender, fee, st.sampled_from([0, 10**6]),
    st.sampled_from([0, 1_500, 10**6]), st.sampled_from([0, 30, 10**4]),
)  # fmt: skip
call = st.tuples(
    st.just("call"), sender, fee, st.integers(0, 5),
    st.one_of(
        st.tuples(st.just("store"), st.binary(min_size=1, max_size=4), st.binary(max_size=40)),
        st.tuples(st.just("emit"), st.binary(min_size=1, max_size=8), st.binary(max_size=40)),
        st.tuples(st.just("fail")),
        st.tuples(st.just("spin")),
    ),
    st.sampled_from([300, 5_000, 200_000]),
)  # fmt: skip
fund = st.tuples(
    st.just("fund"), sender, fee, st.integers(0, 5), st.integers(0, 10**5),
    st.integers(0, 10**5), st.integers(0, 100),
)  # fmt: skip
empty = st.tuples(st.just("empty"), st.integers(1, 3))
operation = st.one_of(transfer, offer, take, issue, mint, burn, deploy, call, fund, empty)
rate = st.sampled_from([0, 1, 7, 1_000_003, MAX_AMOUNT // 2])
powers = st.sampled_from([(1,), (1, 2, 3), (5, 5, 5, 1)])


# -- the book ------------------------------------------------------------------
@dataclass
class ContractBook:
    """What the book knows of one live contract: its disk and net credits
    (only deploys, funds, rent and emits move them) and its storage sizes."""

    disk: int
    net: int
    storage: dict[bytes, int] = field(default_factory=dict)  # key -> len(value)

    def rent(self) -> int:
        """docs/spec/contracts.md: record + module + each key, value and 32."""
        stored = sum(len(key) + size + RENT_ENTRY_BYTES for key, size in self.storage.items())
        return RENT_RECORD_BYTES + len(KITCHEN) + stored


class SupplyBook:
    """The expected supply of every asset, kept by the documented rules only."""

    def __init__(self, balances: dict[str, int], rates: dict[str, int], powers: tuple[int, ...]):
        self.supply = {asset: ACCOUNTS * amount for asset, amount in balances.items()}
        self.rates = rates
        validators = sorted(
            (address_of(key.public_key), power)
            for key, power in zip(VALIDATOR_KEYS, powers, strict=False)
        )
        self.validators = validators
        self.credits: dict[bytes, dict[str, int]] = {a: {} for a, _ in validators}
        self.burned = {"cpu": 0, "disk": 0, "net": 0}  # burned by contracts
        self.issuers: dict[str, tuple[int, int]] = {}  # user asset -> (issuer, max_supply)
        self.contracts: dict[bytes, ContractBook] = {}
        self.fees = 0
        self.seen: set[str] = set()  # which rules moved a supply (for the coverage test)

    def move(self, asset: str, amount: int, rule: str) -> None:
        self.supply[asset] = self.supply.get(asset, 0) + amount
        if amount:
            self.seen.add(rule)

    def contract_burn(self, asset: str, amount: int, rule: str) -> None:
        self.burned[asset] += amount
        self.move(asset, -amount, rule)

    # -- end of block (docs/spec/assets.md "Validator credits", contracts.md "End of block")
    def mint_credits(self, height: int) -> None:
        for asset in ("cpu", "disk", "net"):
            amount = min(self.rates[asset], MAX_AMOUNT - self.supply[asset])
            if amount == 0:
                continue
            total = sum(power for _, power in self.validators)
            shares = [amount * power // total for _, power in self.validators]
            n = len(shares)
            for j in range(amount - sum(shares)):
                shares[(height + j) % n] += 1
            for (address, _), share in zip(self.validators, shares, strict=True):
                self.credits[address][asset] = self.credits[address].get(asset, 0) + share
            self.move(asset, amount, "credit mint")
            if amount < self.rates[asset]:
                self.seen.add("credit mint at the cap")

    def charge_rent(self) -> list[bytes]:
        """Burn each contract's rent in address order; the evicted ones."""
        evicted = []
        for address in sorted(self.contracts):
            contract = self.contracts[address]
            due = contract.rent()
            if contract.disk >= due:
                contract.disk -= due
                self.contract_burn("disk", due, "rent")
            else:
                evicted.append(address)
                del self.contracts[address]  # its balances go to the deployer: no burn
                self.seen.add("eviction")
        return evicted


# -- the driver ----------------------------------------------------------------
class Driver:
    def __init__(self, rates: dict[str, int], powers: tuple[int, ...]) -> None:
        balances = dict.fromkeys(PROTOCOL_ASSETS, FUNDS)
        params = {f"{asset}_credits_per_block": str(r) for asset, r in rates.items()}
        genesis = make_genesis(accounts=ACCOUNTS, balances=balances, params=params, powers=powers)
        self.chain = MemoryChain(genesis)
        self.book = SupplyBook(balances, rates, powers)
        self.deployed: list[bytes] = []  # every deploy's address, live or not

    def step(self, op: Operation) -> None:
        """Run ``op`` in a block of its own; update the book; check everything."""
        if op[0] == "empty":
            for _ in range(op[1]):
                self.finish_block(self.chain.run([]))
            return
        built = self.build(op)
        if built is None:
            self.finish_block(self.chain.run([]))
            return
        tx, expect = built
        result = self.chain.run([tx])
        assert len(result.receipts) == 1, "the transaction was not admitted"
        receipt = result.receipts[0]
        self.book.fees += tx.fee
        expect(receipt)
        self.finish_block(result)

    def finish_block(self, result: BlockResult) -> None:
        self.book.mint_credits(self.chain.height)
        evicted = self.book.charge_rent()
        events = [dict(e.attributes) for e in result.block_events if e.kind == "contract_evicted"]
        assert [e["address"] for e in events] == evicted
        self.check()

    def check(self) -> None:
        chain, book = self.chain, self.book
        supplies = chain.supplies()
        holdings = chain.holdings()
        for asset in ASSETS:
            expected = book.supply.get(asset, 0)
            assert supplies.get(asset, 0) == expected, (asset, supplies, book.supply)
            assert holdings.get(asset, 0) == expected, (asset, holdings, book.supply)
        for asset, amount in book.burned.items():
            assert burned(chain.reader, asset) == amount, (asset, amount)
        for address, credits in book.credits.items():
            for asset in ("cpu", "disk", "net"):
                assert chain.balance(address, asset) == credits.get(asset, 0), (address, asset)
        assert chain.balance(PROPOSER, "coin") == book.fees

    # -- transactions: each returns the signed transaction and the check of its receipt
    def build(self, op: Operation) -> Built:
        kind = op[0]
        builder = getattr(self, f"build_{kind}")
        built: Built = builder(*op[1:])
        return built

    def signed(self, who: int, body: Body, fee: int) -> Transaction:
        return self.chain.sign(who, body, fee=fee)

    def build_transfer(self, who: int, fee: int, to: int, asset: str, amount: int) -> Built:
        return self.signed(who, Transfer(asset, amount, ADDRS[to]), fee), self.moves_nothing

    def build_offer(
        self, who: int, fee: int, sell: str, amount: int, buy: str, price_sell: int,
        price_buy: int, life: int,
    ) -> Built:  # fmt: skip
        if sell == buy:
            return None
        expires = self.chain.height + life
        body = CreateOffer(sell, amount, buy, price_sell, price_buy, expires)
        return self.signed(who, body, fee), self.moves_nothing

    def build_take(self, who: int, fee: int, offer_id: int, amount: int) -> Built:
        return self.signed(who, TakeOffer(offer_id, amount), fee), self.moves_nothing

    def moves_nothing(self, receipt: Receipt) -> None:
        """Transfers, offers and takes move units; they never mint or burn."""

    def build_issue(self, who: int, fee: int, asset: str, max_supply: int) -> Built:
        book = self.book
        free = asset not in PROTOCOL_ASSETS and asset not in book.issuers

        def expect(receipt: Receipt) -> None:
            assert receipt.status == (OK if free else TAKEN), receipt
            if free:
                book.issuers[asset] = (who, max_supply)
                book.supply[asset] = 0

        return self.signed(who, IssueAsset(asset, 0, max_supply), fee), expect

    def build_mint(
        self, who: int, fee: int, asset: str, as_issuer: bool, amount: int, to: int
    ) -> Built:
        book = self.book
        issuer, max_supply = book.issuers.get(asset, (None, 0))
        if as_issuer and issuer is not None:
            who = issuer
        if asset in PROTOCOL_ASSETS:
            status = NOT_AUTHORIZED  # the protocol issues them: no key may mint
        elif issuer is None:
            status = UNKNOWN
        elif who != issuer:
            status = NOT_AUTHORIZED
        elif book.supply[asset] + amount > max_supply:
            status = LIMIT
        else:
            status = OK

        def expect(receipt: Receipt) -> None:
            assert receipt.status == status, (receipt, status)
            if status == OK:
                book.move(asset, amount, "asset_mint")
                assert [e.kind for e in receipt.events] == ["mint"]

        return self.signed(who, MintAsset(asset, amount, ADDRS[to]), fee), expect

    def build_burn(self, who: int, fee: int, asset: str, as_issuer: bool, amount: int) -> Built:
        book = self.book
        issuer, _ = book.issuers.get(asset, (None, 0))
        if as_issuer and issuer is not None:
            who = issuer
        if asset in PROTOCOL_ASSETS:
            status = NOT_AUTHORIZED
        elif issuer is None:
            status = UNKNOWN
        elif who != issuer:
            status = NOT_AUTHORIZED
        elif self.chain.balance(who, asset) < amount:
            status = INSUFFICIENT
        else:
            status = OK

        def expect(receipt: Receipt) -> None:
            assert receipt.status == status, (receipt, status)
            if status == OK:
                book.move(asset, -amount, "asset_burn")
                assert [e.kind for e in receipt.events] == ["burn"]

        return self.signed(who, BurnAsset(asset, amount), fee), expect

    def build_deploy(self, who: int, fee: int, cpu: int, disk: int, net: int) -> Built:
        chain, book = self.chain, self.book
        tx = self.signed(who, Deploy(KITCHEN, cpu, disk, net, b"", None), fee)
        address = contract_address(ADDRS[who], tx.nonce)
        self.deployed.append(address)
        can_pay = (
            chain.balance(who, "cpu") >= DEPLOY_GAS + cpu
            and chain.balance(who, "disk") >= disk
            and chain.balance(who, "net") >= net
        )

        def expect(receipt: Receipt) -> None:
            assert receipt.status == (OK if can_pay else INSUFFICIENT), receipt
            if can_pay:
                book.contract_burn("cpu", DEPLOY_GAS, "deploy gas")
                book.contracts[address] = ContractBook(disk, net)

        return tx, expect

    def build_call(
        self, who: int, fee: int, which: int, invocation: tuple[Any, ...], gas_limit: int
    ) -> Built:
        if not self.deployed:
            return None
        book = self.book
        address = self.deployed[which % len(self.deployed)]
        contract = book.contracts.get(address)
        sender_cpu = self.chain.balance(who, "cpu")
        entry, args = invocation[0], invocation[1:]
        cost = sum(len(arg) for arg in args) if entry == "emit" else 0  # net: topic + data

        def expect(receipt: Receipt) -> None:
            if contract is None:
                assert receipt.status == NO_CONTRACT, receipt
                return
            if sender_cpu < gas_limit:
                assert receipt.status == INSUFFICIENT, receipt
                return
            halted = receipt.status == HALTED and receipt.gas_used == gas_limit
            if halted:
                book.seen.add("halt")
            if entry == "spin":
                assert halted, receipt
            elif entry == "fail":
                assert receipt.status == REVERTED or halted, receipt
            elif receipt.status == OK:
                if entry == "store":
                    contract.storage[args[0]] = len(args[1])
                else:
                    assert contract.net >= cost, (contract.net, cost)
                    contract.net -= cost
                    book.contract_burn("net", cost, "net for events")
            else:  # a halt, or (emit) effects refused for want of net credits
                assert halted or (entry == "emit" and contract.net < cost), receipt
                if not halted:
                    book.seen.add("refused")
            burnt = gas_limit if halted else receipt.gas_used
            assert 0 < burnt <= gas_limit
            book.contract_burn("cpu", burnt, f"call gas ({receipt.status})")

        return self.signed(who, Call(address, entry, args, gas_limit), fee), expect

    def build_fund(self, who: int, fee: int, which: int, cpu: int, disk: int, net: int) -> Built:
        if not self.deployed:
            return None
        chain = self.chain
        address = self.deployed[which % len(self.deployed)]
        contract = self.book.contracts.get(address)
        can_pay = (
            chain.balance(who, "cpu") >= cpu
            and chain.balance(who, "disk") >= disk
            and chain.balance(who, "net") >= net
        )

        def expect(receipt: Receipt) -> None:
            if contract is None:
                assert receipt.status == NO_CONTRACT, receipt
            elif not can_pay:
                assert receipt.status == INSUFFICIENT, receipt
            else:
                assert receipt.status == OK, receipt
                contract.disk += disk
                contract.net += net

        return self.signed(who, Fund(address, cpu, disk, net), fee), expect


def run_operations(ops: list[Operation], rates: dict[str, int], powers: tuple[int, ...]) -> Driver:
    driver = Driver(rates, powers)
    driver.check()
    for op in ops:
        driver.step(op)
    return driver


@given(
    st.lists(operation, min_size=4, max_size=30),
    st.fixed_dictionaries({"cpu": rate, "disk": rate, "net": rate}),
    powers,
)
@settings(max_examples=examples(100), deadline=None)
def test_every_supply_moves_only_by_the_documented_rules(
    ops: list[Operation],
    rates: dict[str, int],
    powers: tuple[int, ...],
) -> None:
    run_operations(ops, rates, powers)


def test_the_book_sees_every_rule_that_moves_a_supply() -> None:
    """One fixed run in which every documented mint and burn happens, so the
    property above is known to exercise each of them."""
    ops = [
        ("issue", 1, FEE, "gold", 5_000),
        ("issue", 2, FEE, "gold", 10**6),  # taken
        ("mint", 0, FEE, "gold", True, 4_000, 3),
        ("mint", 0, 997, "gold", True, 1_001, 3),  # beyond the maximum supply
        ("mint", 2, FEE, "gold", False, 5, 2),  # not the issuer
        ("transfer", 3, FEE, 1, "gold", 1_500),
        ("burn", 0, FEE, "gold", True, 1_000),
        ("burn", 0, FEE, "gold", True, 10**6),  # more than the issuer holds
        ("deploy", 0, FEE, 10**6, 10**4, 30),
        ("deploy", 1, FEE, 0, 1_500, 0),  # disk for two blocks of rent: then evicted
        ("call", 2, FEE, 0, ("store", b"k", b"v" * 40), 200_000),
        ("call", 2, FEE, 0, ("emit", b"t", b"d" * 9), 200_000),
        ("call", 2, FEE, 0, ("emit", b"t", b"d" * 39), 200_000),  # net refused
        ("call", 3, FEE, 0, ("fail",), 5_000),
        ("call", 3, FEE, 0, ("spin",), 300),
        ("fund", 1, FEE, 0, 0, 10**5, 100),
        ("empty", 3),
    ]
    rates = {"cpu": 7, "disk": MAX_AMOUNT // 2, "net": 1_000_003}
    driver = run_operations(ops, rates, (1, 2, 3))
    assert driver.book.seen >= {
        "asset_mint",
        "asset_burn",
        "credit mint",
        "credit mint at the cap",
        "deploy gas",
        "call gas (0)",
        "call gas (11)",
        "call gas (12)",
        "net for events",
        "rent",
        "eviction",
        "refused",
        "halt",
    }, driver.book.seen
