"""A MemoryChain that speaks contracts: signed deploy/call/fund transactions,
blocks with their receipts and block events, and the RPC queries."""

from __future__ import annotations

from typing import Any

from ledger.features.contracts.bodies import Call, Deploy, Fund, Schedule, contract_address
from ledger.features.contracts.execution import contract_info, mailbox
from ledger.features.contracts.records import burned
from ledger.state import ACCOUNT_PREFIX, decode_account
from ledger.transition import BlockResult
from ledger.types import Body, Event, Receipt, Transaction
from tests.ledger.test_transition import (
    ADDRS,
    CHAIN,
    FEE,
    KEYS,
    PROPOSER,
    MemoryChain,
    make_genesis,
)
from vm.assembler import assemble
from vm.module import encode_module
from vm.values import Value

CREDITS = 10**12
ASSETS = ("coin", "cpu", "disk", "net")
GENESIS_BALANCES = {i: {asset: CREDITS for asset in ASSETS} for i in range(4)}

__all__ = ["ADDRS", "CHAIN", "FEE", "PROPOSER", "ContractChain", "module_of"]


def module_of(source: str) -> bytes:
    """Assembly text to module bytes."""
    return encode_module(assemble(source))


class ContractChain(MemoryChain):
    """Blocks of contract transactions on an in-memory chain."""

    def __init__(self, balances: dict[int, dict[str, int]] | None = None) -> None:
        super().__init__(make_genesis(balances if balances is not None else GENESIS_BALANCES))
        self.next_nonce: dict[int, int] = {}

    def tx(self, sender: int, body: Body) -> Transaction:
        """A signed transaction with the sender's next nonce (counting unapplied ones)."""
        nonce = self.next_nonce.get(sender, self.nonce(sender))
        self.next_nonce[sender] = nonce + 1
        return Transaction(CHAIN, KEYS[sender].public_key, nonce, FEE, body).signed(KEYS[sender])

    def block(self, *txs: Transaction) -> tuple[tuple[Receipt, ...], tuple[Event, ...]]:
        """Build and apply a block; its receipts and block events."""
        block = self.build(list(txs))
        assert len(block.transactions) == len(txs), "a transaction was left out"
        _, result = self.apply(block)
        assert isinstance(result, BlockResult)
        return result.receipts, result.block_events

    def blocks(self, count: int) -> list[Event]:
        """``count`` empty blocks; every block event they produced."""
        events: list[Event] = []
        for _ in range(count):
            events.extend(self.block()[1])
        return events

    def deploy(
        self,
        sender: int,
        source: str | bytes,
        cpu: int = 10**9,
        disk: int = 10**9,
        net: int = 10**9,
        salt: bytes = b"",
        schedule: Schedule | None = None,
    ) -> tuple[bytes, Transaction]:
        """A deploy transaction and the address it creates."""
        module = module_of(source) if isinstance(source, str) else source
        tx = self.tx(sender, Deploy(module, cpu, disk, net, salt, schedule))
        return contract_address(ADDRS[sender], tx.nonce, salt), tx

    def call(
        self, sender: int, contract: bytes, entry: str, *args: Value, gas: int = 1_000_000
    ) -> Transaction:
        return self.tx(sender, Call(contract, entry, args, gas))

    def fund(
        self, sender: int, contract: bytes, cpu: int = 0, disk: int = 0, net: int = 0
    ) -> Transaction:
        return self.tx(sender, Fund(contract, cpu, disk, net))

    def info(self, address: bytes) -> dict[str, Any] | None:
        return contract_info(self.reader, address)

    def mailbox(self, address: bytes) -> list[dict[str, Any]]:
        return mailbox(self.reader, address)

    def supply(self, asset: str) -> int:
        """Sum of ``asset`` over every account."""
        return sum(
            decode_account(value).balance(asset)
            for key, value in self.reader.values.items()
            if key.startswith(ACCOUNT_PREFIX)
        )

    def burned(self, asset: str) -> int:
        return burned(self.reader, asset)

    def conserved(self, initial: dict[str, int]) -> bool:
        """Every asset: balances plus burned equals the genesis supply."""
        return all(self.supply(a) + self.burned(a) == initial[a] for a in ASSETS)
