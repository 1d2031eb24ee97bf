"""The state transition: pre-state, operation, post-state; invalid cases named test_invalid_*."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import crypto
from ledger.address import address_of, encode_address
from ledger.exceptions import (
    BadNonce,
    BadSignature,
    CannotPayFee,
    FeeTooLow,
    InvalidBlock,
    TxRejected,
    WrongChainId,
)
from ledger.features.bank.bodies import Transfer
from ledger.genesis import Genesis, genesis_state, parse_genesis
from ledger.state import MemoryStateReader, State, account_key, decode_account
from ledger.state_tree import MemoryNodeStore, StateTree
from ledger.transition import ChainTip, apply_block, build_block, check_transaction, read_params
from ledger.types import MAX_AMOUNT, NATIVE_ASSET, Block, Transaction

CHAIN = "test-chain"
KEYS = [crypto.SigningKey(crypto.sha256(b"test key %d" % i)) for i in range(5)]
ADDRS = [address_of(k.public_key) for k in KEYS]
PROPOSER = address_of(crypto.SigningKey(crypto.sha256(b"proposer")).public_key)
FEE = 10


def make_genesis(balances: dict[int, dict[str, int]] | None = None) -> Genesis:
    balances = (
        balances if balances is not None else {i: {"coin": 1_000_000, "cpu": 500} for i in range(4)}
    )
    return parse_genesis(
        {
            "chain_id": CHAIN,
            "genesis_time": "2026-01-01T00:00:00Z",
            "params": {"min_fee": str(FEE)},
            "validators": [{"name": "v", "public_key": KEYS[4].public_key.hex(), "power": 1}],
            "accounts": [
                {
                    "name": f"acct{i}",
                    "address": encode_address(ADDRS[i]),
                    "balances": {a: str(v) for a, v in b.items()},
                }
                for i, b in balances.items()
            ],
        }
    )


class MemoryChain:
    """A chain kept in dicts: the store's job without LevelDB."""

    def __init__(self, genesis: Genesis) -> None:
        changes, self.tip, nodes = genesis_state(genesis)
        self.reader = MemoryStateReader()
        self.reader.apply(changes)
        self.nodes = MemoryNodeStore()
        self.nodes.write_nodes(nodes)

    def state(self) -> State:
        return State(self.reader)

    def tree(self) -> StateTree:
        return StateTree(self.nodes, self.tip.state_root)

    def build(self, txs: list[Transaction], time_ms: int | None = None) -> Block:
        block, _result, _ = build_block(
            self.state(),
            self.tree(),
            self.tip,
            CHAIN,
            txs,
            PROPOSER,
            time_ms if time_ms is not None else self.tip.time_ms + 1000,
        )
        return block

    def apply(self, block: Block) -> tuple[Block, object]:
        result = apply_block(self.state(), self.tree(), block, self.tip, CHAIN)
        self.reader.apply(result.changes)
        self.nodes.write_nodes(result.tree_nodes)
        self.tip = ChainTip(block.height, block.hash, block.header.time_ms, result.state_root)
        return block, result

    def balance(self, index_or_address: int | bytes, asset: str = NATIVE_ASSET) -> int:
        address = ADDRS[index_or_address] if isinstance(index_or_address, int) else index_or_address
        raw = self.reader.get_state(account_key(address))
        return decode_account(raw).balance(asset) if raw else 0

    def nonce(self, index: int) -> int:
        raw = self.reader.get_state(account_key(ADDRS[index]))
        return decode_account(raw).nonce if raw else 0


def transfer(
    sender: int,
    recipient: int,
    amount: int,
    nonce: int,
    fee: int = FEE,
    asset: str = NATIVE_ASSET,
    chain: str = CHAIN,
) -> Transaction:
    tx = Transaction(
        chain, KEYS[sender].public_key, nonce, fee, Transfer(asset, amount, ADDRS[recipient])
    )
    return tx.signed(KEYS[sender])


def test_transfer_moves_funds_and_pays_the_proposer() -> None:
    chain = MemoryChain(make_genesis())
    _, result = chain.apply(chain.build([transfer(0, 1, 500, 0)]))
    assert chain.balance(0) == 1_000_000 - 500 - FEE
    assert chain.balance(1) == 1_000_000 + 500
    assert chain.balance(PROPOSER) == FEE
    assert chain.nonce(0) == 1
    (receipt,) = result.receipts  # type: ignore[attr-defined]
    assert receipt.status == 0 and receipt.fee_charged == FEE
    assert receipt.events[0].kind == "transfer"


def test_failed_transfer_is_included_consumes_nonce_and_fee_and_changes_nothing_else() -> None:
    chain = MemoryChain(make_genesis())
    _, result = chain.apply(chain.build([transfer(0, 1, 10**9, 0)]))
    (receipt,) = result.receipts  # type: ignore[attr-defined]
    assert receipt.status == 2 and "balance" in receipt.error
    assert chain.balance(0) == 1_000_000 - FEE
    assert chain.balance(1) == 1_000_000
    assert chain.nonce(0) == 1


def test_transfer_of_other_assets() -> None:
    chain = MemoryChain(make_genesis())
    chain.apply(chain.build([transfer(0, 3, 200, 0, asset="cpu")]))
    assert chain.balance(0, "cpu") == 300
    assert chain.balance(3, "cpu") == 700


def test_overflowing_credit_fails_with_its_own_status() -> None:
    chain = MemoryChain(
        make_genesis({0: {"coin": 10**6, "gold": MAX_AMOUNT}, 1: {"gold": MAX_AMOUNT}})
    )
    _, result = chain.apply(chain.build([transfer(0, 1, 1, 0, asset="gold")]))
    assert result.receipts[0].status == 3  # type: ignore[attr-defined]
    assert chain.balance(1, "gold") == MAX_AMOUNT


def test_transfer_to_self_keeps_balance() -> None:
    chain = MemoryChain(make_genesis())
    chain.apply(chain.build([transfer(2, 2, 77, 0)]))
    assert chain.balance(2) == 1_000_000 - FEE


def test_same_blocks_give_same_root_on_independent_nodes() -> None:
    a, b = MemoryChain(make_genesis()), MemoryChain(make_genesis())
    for height in range(3):
        txs = [transfer(i, (i + 1) % 4, 10 + height, height) for i in range(4)]
        block = a.build(txs)
        a.apply(block)
        b.apply(block)
        assert a.tip == b.tip


@pytest.mark.parametrize(
    "make_tx, error",
    [
        (lambda: transfer(0, 1, 1, 0, chain="other-chain"), WrongChainId),
        (lambda: transfer(0, 1, 1, 1), BadNonce),
        (lambda: transfer(0, 1, 1, 0, fee=FEE - 1), FeeTooLow),
        (lambda: transfer(4, 1, 1, 0), CannotPayFee),
        (lambda: replace(transfer(0, 1, 1, 0), signature=bytes(64), _cache={}), BadSignature),
        (lambda: replace(transfer(0, 1, 1, 0), nonce=5, _cache={}), BadSignature),
        (
            lambda: replace(
                transfer(0, 1, 1, 0),
                signature=crypto.normalize_s(
                    bytes(32) + (crypto.CURVE_ORDER - 1).to_bytes(32, "big")
                ),
                _cache={},
            ),
            BadSignature,
        ),
    ],
)
def test_invalid_transactions_are_rejected_and_change_nothing(make_tx, error) -> None:  # type: ignore[no-untyped-def]
    chain = MemoryChain(make_genesis())
    state = chain.state()
    with pytest.raises(error):
        check_transaction(state, make_tx(), CHAIN, read_params(state))
    assert state.changes() == {}
    block = chain.build([make_tx()])
    assert block.transactions == ()


def test_invalid_high_s_signature_is_rejected() -> None:
    tx = transfer(0, 1, 1, 0)
    s = int.from_bytes(tx.signature[32:], "big")
    high = tx.signature[:32] + (crypto.CURVE_ORDER - s).to_bytes(32, "big")
    assert crypto.verify_digest_any_s(tx.sender, tx.signing_digest(), high)
    chain = MemoryChain(make_genesis())
    state = chain.state()
    with pytest.raises(BadSignature):
        check_transaction(state, replace(tx, signature=high, _cache={}), CHAIN, read_params(state))


def test_invalid_replay_in_a_later_block() -> None:
    chain = MemoryChain(make_genesis())
    tx = transfer(0, 1, 5, 0)
    chain.apply(chain.build([tx]))
    forged = chain.build([])
    forged = Block(replace(forged.header), (tx,), b"")
    with pytest.raises(InvalidBlock, match="nonce"):
        chain.apply(_with_txs_root(forged))


def test_invalid_replay_within_one_block() -> None:
    chain = MemoryChain(make_genesis())
    tx = transfer(0, 1, 5, 0)
    assert chain.build([tx, tx]).transactions == (tx,)
    with pytest.raises(InvalidBlock):
        chain.apply(_with_txs_root(Block(chain.build([tx]).header, (tx, tx))))


def _with_txs_root(block: Block) -> Block:
    from ledger.types import block_txs_root

    return Block(
        replace(block.header, txs_root=block_txs_root(block.transactions)),
        block.transactions,
        block.last_commit,
    )


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("height", 5, "height"),
        ("prev_hash", bytes(32), "previous"),
        ("time_ms", 0, "time"),
        ("chain_id", "other", "chain"),
        ("txs_root", bytes(32), "transactions root"),
        ("state_root", bytes(32), "state root"),
        ("receipts_root", bytes(32), "receipts root"),
        ("last_commit_hash", bytes(32), "last commit"),
    ],
)
def test_invalid_headers(field: str, value: object, message: str) -> None:
    chain = MemoryChain(make_genesis())
    block = chain.build([transfer(0, 1, 5, 0)])
    bad = Block(replace(block.header, **{field: value}), block.transactions, block.last_commit)
    tip_before = chain.tip
    with pytest.raises(InvalidBlock, match=message):
        chain.apply(bad)
    assert chain.tip == tip_before


operations = st.lists(
    st.tuples(
        st.integers(0, 4),  # sender (4 has no funds)
        st.integers(0, 4),  # recipient
        st.sampled_from([NATIVE_ASSET, "cpu", "gold"]),
        st.integers(0, 2_000_000),
        st.integers(0, 3),  # nonce skew: 0 means correct
        st.integers(FEE - 1, 3 * FEE),
    ),
    max_size=25,
)


@given(st.lists(operations, min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_supply_is_conserved_and_nonces_never_replay(blocks: list[list[tuple]]) -> None:  # type: ignore[type-arg]
    chain = MemoryChain(make_genesis())
    totals_before = _totals(chain)
    seen: set[bytes] = set()
    for ops in blocks:
        nonces = {i: chain.nonce(i) for i in range(5)}
        txs = []
        for sender, recipient, asset, amount, skew, fee in ops:
            tx = transfer(sender, recipient, amount, nonces[sender] + skew, fee=fee, asset=asset)
            if skew == 0:
                nonces[sender] += 1
            txs.append(tx)
        block = chain.build(txs)
        chain.apply(block)
        for tx in block.transactions:
            assert tx.hash not in seen
            seen.add(tx.hash)
        assert _totals(chain) == totals_before
    # An already-used nonce is never accepted again.
    state = chain.state()
    for i in range(4):
        if chain.nonce(i):
            with pytest.raises(TxRejected):
                check_transaction(
                    state, transfer(i, 0, 1, chain.nonce(i) - 1), CHAIN, read_params(state)
                )


def _totals(chain: MemoryChain) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, value in chain.reader.values.items():
        if key.startswith(b"a"):
            for asset, amount in decode_account(value).balances:
                totals[asset] = totals.get(asset, 0) + amount
    return totals
