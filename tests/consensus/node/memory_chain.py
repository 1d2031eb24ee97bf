"""An in-memory chain for consensus-layer tests: genesis, build, apply, commit,
all through the pure state transition (no LevelDB)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ledger import crypto
from ledger.address import address_of, encode_address
from ledger.exceptions import TxRejected
from ledger.features.bank.bodies import Transfer
from ledger.genesis import genesis_state, parse_genesis
from ledger.state import MemoryStateReader, State, account_key, decode_account
from ledger.state_tree import MemoryNodeStore, StateTree
from ledger.transition import ChainTip, apply_block, build_block
from ledger.types import NATIVE_ASSET, Block, Transaction

CHAIN_ID = "test-chain"
FEE = 10
KEYS = [crypto.SigningKey(crypto.sha256(b"mempool test key %d" % i)) for i in range(6)]
ADDRS = [address_of(k.public_key) for k in KEYS]
PROPOSER = address_of(crypto.SigningKey(crypto.sha256(b"proposer")).public_key)


class MemoryChain:
    """Committed state in dicts; ``store`` is the StateReader the mempool reads."""

    def __init__(self, balances: dict[int, int]) -> None:
        genesis = parse_genesis(
            {
                "chain_id": CHAIN_ID,
                "genesis_time": "2026-01-01T00:00:00Z",
                "params": {"min_fee": str(FEE)},
                "validators": [{"name": "v", "public_key": KEYS[5].public_key.hex(), "power": 1}],
                "accounts": [
                    {
                        "name": f"acct{i}",
                        "address": encode_address(ADDRS[i]),
                        "balances": {NATIVE_ASSET: str(amount)},
                    }
                    for i, amount in balances.items()
                    if amount
                ],
            }
        )
        self.chain_id = CHAIN_ID
        changes, self.tip, nodes = genesis_state(genesis)
        self.store = MemoryStateReader()
        self.store.apply(changes)
        self.nodes = MemoryNodeStore()
        self.nodes.write_nodes(nodes)

    def build(
        self, candidates: Iterable[Transaction], verified: Collection[bytes] = frozenset()
    ) -> tuple[Block, list[tuple[Transaction, TxRejected]]]:
        block, _result, skipped = build_block(
            State(self.store),
            StateTree(self.nodes, self.tip.state_root),
            self.tip,
            CHAIN_ID,
            candidates,
            PROPOSER,
            self.tip.time_ms + 1000,
            verified=verified,
        )
        return block, skipped

    def commit(self, block: Block, verified: Collection[bytes] = frozenset()) -> None:
        result = apply_block(
            State(self.store),
            StateTree(self.nodes, self.tip.state_root),
            block,
            self.tip,
            CHAIN_ID,
            verified,
        )
        self.store.apply(result.changes)
        self.nodes.write_nodes(result.tree_nodes)
        self.tip = ChainTip(block.height, block.hash, block.header.time_ms, result.state_root)

    def nonce(self, index: int) -> int:
        raw = self.store.get_state(account_key(ADDRS[index]))
        return decode_account(raw).nonce if raw else 0

    def balance(self, index: int) -> int:
        raw = self.store.get_state(account_key(ADDRS[index]))
        return decode_account(raw).balance(NATIVE_ASSET) if raw else 0


def transfer(
    sender: int, recipient: int, amount: int, nonce: int, fee: int = FEE, chain: str = CHAIN_ID
) -> Transaction:
    tx = Transaction(
        chain, KEYS[sender].public_key, nonce, fee, Transfer(NATIVE_ASSET, amount, ADDRS[recipient])
    )
    return tx.signed(KEYS[sender])
