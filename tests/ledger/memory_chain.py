"""A chain kept in dicts for the asset, barter and policy tests: build a block
from signed bodies, apply it, read balances, records and supply totals."""

from __future__ import annotations

from typing import Any

from ledger import codec, crypto
from ledger.address import address_of, encode_address
from ledger.features.bank.assets import ASSET_PREFIX, decode_asset_info
from ledger.features.barter.offers import OFFER_PREFIX, get_offer
from ledger.genesis import Genesis, genesis_state, parse_genesis
from ledger.state import ACCOUNT_PREFIX, MemoryStateReader, State, account_key, decode_account
from ledger.state_tree import MemoryNodeStore, StateTree
from ledger.transition import BlockResult, ChainTip, apply_block, build_block
from ledger.types import Body, Receipt, Transaction

CHAIN = "asset-test-chain"
FEE = 10
KEYS = [crypto.SigningKey(crypto.sha256(b"asset test key %d" % i)) for i in range(24)]
ADDRS = [address_of(k.public_key) for k in KEYS]
VALIDATOR_KEYS = [
    crypto.SigningKey(crypto.sha256(b"asset test validator %d" % i)) for i in range(4)
]
PROPOSER = address_of(VALIDATOR_KEYS[0].public_key)
FUNDED = 1_000_000_000


def make_genesis(
    accounts: int = 6,
    balances: dict[str, int] | None = None,
    policies: list[dict[str, Any]] | None = None,
    params: dict[str, Any] | None = None,
    powers: tuple[int, ...] = (1,),
) -> Genesis:
    """Accounts 0..accounts-1 funded with ``balances`` (default: coin, cpu, disk)."""
    holdings = balances if balances is not None else {"coin": FUNDED, "cpu": FUNDED, "disk": FUNDED}
    return parse_genesis(
        {
            "chain_id": CHAIN,
            "genesis_time": "2026-01-01T00:00:00Z",
            "params": {"min_fee": str(FEE), **(params or {})},
            "validators": [
                {"name": f"val-{i}", "public_key": VALIDATOR_KEYS[i].public_key.hex(), "power": p}
                for i, p in enumerate(powers)
            ],
            "accounts": [
                {
                    "name": f"acct{i}",
                    "address": encode_address(ADDRS[i]),
                    "balances": {a: str(v) for a, v in holdings.items()},
                }
                for i in range(accounts)
            ],
            "policies": policies or [],
        }
    )


def members_text(indexes: list[int]) -> list[str]:
    return [encode_address(ADDRS[i]) for i in indexes]


class MemoryChain:
    """Genesis, then blocks built by a fixed proposer and committed to dicts."""

    def __init__(self, genesis: Genesis, verify: bool = True) -> None:
        changes, self.tip, nodes = genesis_state(genesis)
        self.genesis = genesis
        self.reader = MemoryStateReader()
        self.reader.apply(changes)
        self.nodes = MemoryNodeStore()
        self.nodes.write_nodes(nodes)
        self.verify = verify
        self.block_events: list[Any] = []

    @property
    def height(self) -> int:
        return self.tip.height

    def state(self) -> State:
        return State(self.reader)

    def tree(self) -> StateTree:
        return StateTree(self.nodes, self.tip.state_root)

    def sign(
        self,
        signer: int | crypto.SigningKey,
        body: Body,
        nonce: int | None = None,
        fee: int | None = None,
    ) -> Transaction:
        """``body`` signed by test account ``signer`` (or by a key), at its next
        nonce, paying the chain's minimum fee."""
        key = KEYS[signer] if isinstance(signer, int) else signer
        fee = self.genesis.params.min_fee if fee is None else fee
        nonce = self.nonce(address_of(key.public_key)) if nonce is None else nonce
        tx = Transaction(self.genesis.chain_id, key.public_key, nonce, fee, body)
        return tx.signed(key)

    def run(self, txs: list[Transaction]) -> BlockResult:
        """Build a block from ``txs`` (skipping inadmissible ones), check it as
        a validator would (if ``verify``), and commit it."""
        chain_id = self.genesis.chain_id
        block, result, _skipped = build_block(
            self.state(), self.tree(), self.tip, chain_id, txs, PROPOSER, self.tip.time_ms + 1000
        )
        if self.verify:
            result = apply_block(self.state(), self.tree(), block, self.tip, chain_id)
        self.reader.apply(result.changes)
        self.nodes.write_nodes(result.tree_nodes)
        self.tip = ChainTip(block.height, block.hash, block.header.time_ms, result.state_root)
        self.block_events = list(result.block_events)
        return result

    def submit(self, signer: int | crypto.SigningKey, body: Body) -> Receipt:
        """One transaction in its own block; its receipt."""
        result = self.run([self.sign(signer, body)])
        assert len(result.receipts) == 1, "transaction was not admitted"
        return result.receipts[0]

    def skip_to(self, height: int) -> None:
        while self.height < height:
            self.run([])

    def balance(self, who: int | bytes, asset: str = "coin") -> int:
        address = ADDRS[who] if isinstance(who, int) else who
        raw = self.reader.get_state(account_key(address))
        return decode_account(raw).balance(asset) if raw else 0

    def nonce(self, address: bytes) -> int:
        raw = self.reader.get_state(account_key(address))
        return decode_account(raw).nonce if raw else 0

    def holdings(self) -> dict[str, int]:
        """Per asset: every account balance plus every offer's escrow."""
        totals: dict[str, int] = {}
        state = self.state()
        for key, value in self.reader.values.items():
            if key.startswith(ACCOUNT_PREFIX):
                for asset, amount in decode_account(value).balances:
                    totals[asset] = totals.get(asset, 0) + amount
            elif key.startswith(OFFER_PREFIX):
                offer = get_offer(state, int.from_bytes(key[len(OFFER_PREFIX) :], "big"))
                assert offer is not None
                totals[offer.sell_asset] = totals.get(offer.sell_asset, 0) + offer.remaining
        return {asset: amount for asset, amount in totals.items() if amount}

    def supplies(self) -> dict[str, int]:
        """Per asset: the supply its registry record claims."""
        out = {}
        for key, value in self.reader.values.items():
            if key.startswith(ASSET_PREFIX):
                info = decode_asset_info(key[1:].decode(), value)
                if info.supply:
                    out[info.asset] = info.supply
        return out

    def record(self, key: bytes) -> Any:
        raw = self.reader.get_state(key)
        return codec.decode(raw) if raw is not None else None


def events_of(result: BlockResult, kind: str) -> list[dict[str, Any]]:
    """Attributes of every receipt event of ``kind`` in a block, in order."""
    return [
        dict(event.attributes)
        for receipt in result.receipts
        for event in receipt.events
        if event.kind == kind
    ]
