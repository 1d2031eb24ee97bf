"""Chain on a real LevelDB store: commits, queries and proofs against block roots."""

from __future__ import annotations

from pathlib import Path

import plyvel
import pytest

from ledger.address import address_of
from ledger.chain import Chain
from ledger.client.devnet import (
    DEVNET_ACCOUNT_NAMES,
    account_key,
    devnet_genesis_document,
    validator_key,
)
from ledger.exceptions import BadNonce, InvalidBlock
from ledger.features.bank.bodies import Transfer
from ledger.genesis import parse_genesis
from ledger.state import account_key as state_key
from ledger.state import decode_account, encode_account, tree_key
from ledger.state_tree import verify_proof
from ledger.store import StoreError
from ledger.types import NATIVE_ASSET, Transaction

GENESIS = parse_genesis(devnet_genesis_document())
ALICE, BOB = (account_key(name) for name in DEVNET_ACCOUNT_NAMES[:2])
PROPOSER = address_of(validator_key(0).public_key)


def _transfer(chain: Chain, amount: int) -> Transaction:
    nonce = chain.nonce(address_of(ALICE.public_key))
    body = Transfer(NATIVE_ASSET, amount, address_of(BOB.public_key))
    return Transaction(GENESIS.chain_id, ALICE.public_key, nonce, 1000, body).signed(ALICE)


def test_commit_query_and_reopen(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", GENESIS)
    before = chain.balance(address_of(BOB.public_key), NATIVE_ASSET)
    block, result, skipped = chain.build_block(
        [_transfer(chain, 5)], PROPOSER, chain.tip.time_ms + 1
    )
    assert skipped == []
    chain.commit_block(block, result)
    assert chain.balance(address_of(BOB.public_key), NATIVE_ASSET) == before + 5
    location = chain.store.load_tx_location(block.transactions[0].hash)
    assert location == (1, 0)
    assert chain.store.load_receipt(1, 0) == result.receipts[0]
    assert chain.store.load_height_of(block.hash) == 1
    chain.close()
    reopened = Chain.open(tmp_path / "db", GENESIS)
    assert reopened.tip.height == 1 and reopened.tip.state_root == block.header.state_root
    assert reopened.store.load_block(1) == block
    reopened.close()


def test_account_proofs_verify_against_each_blocks_state_root(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", GENESIS)
    bob = address_of(BOB.public_key)
    roots = []
    for amount in (1, 2, 3):
        block, result, _ = chain.build_block(
            [_transfer(chain, amount)], PROPOSER, chain.tip.time_ms + 1
        )
        chain.commit_block(block, result)
        roots.append((block.header.state_root, chain.balance(bob, NATIVE_ASSET)))
    for root, balance in roots:
        value, proof = chain.prove_account(bob, root)
        assert value is not None and decode_account(value).balance(NATIVE_ASSET) == balance
        assert verify_proof(root, tree_key(state_key(bob)), value, proof)
        assert not verify_proof(
            root,
            tree_key(state_key(bob)),
            encode_account(decode_account(value).with_nonce(99)),
            proof,
        )
    stranger = b"\x42" * 20
    value, proof = chain.prove_account(stranger)
    assert value is None
    assert verify_proof(chain.tip.state_root, tree_key(state_key(stranger)), None, proof)
    chain.close()


def test_invalid_block_changes_nothing(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", GENESIS)
    tx = _transfer(chain, 5)
    block, result, _ = chain.build_block([tx], PROPOSER, chain.tip.time_ms + 1)
    chain.commit_block(block, result)
    tip = chain.tip
    replay, _, skipped = chain.build_block([tx], PROPOSER, chain.tip.time_ms + 1)
    assert replay.transactions == () and isinstance(skipped[0][1], BadNonce)
    with pytest.raises(InvalidBlock):
        chain.execute_block(block)  # height 1 again
    assert chain.tip == tip
    chain.close()


def test_invalid_store_of_another_chain(tmp_path: Path) -> None:
    Chain.open(tmp_path / "db", GENESIS).close()
    other = parse_genesis(devnet_genesis_document(chain_id="other-chain"))
    with pytest.raises(StoreError, match="another chain"):
        Chain.open(tmp_path / "db", other)


def test_a_store_of_an_older_format_is_refused(tmp_path: Path) -> None:
    Chain.open(tmp_path / "db", GENESIS).close()
    db = plyvel.DB(str(tmp_path / "db"))
    db.delete(b"Mformat")  # what a store written before the format mark looks like
    db.close()
    with pytest.raises(StoreError, match=r"store format 1 .* format 2"):
        Chain.open(tmp_path / "db", GENESIS)
    Chain.open(tmp_path / "fresh", GENESIS).close()
    Chain.open(tmp_path / "fresh", GENESIS).close()  # reopening its own format is fine


def test_compacting_the_store_keeps_everything(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", GENESIS)
    tx = _transfer(chain, 5)
    block, result, _ = chain.build_block([tx], PROPOSER, chain.tip.time_ms + 1)
    chain.commit_block(block, result)
    before = (chain.tip, chain.balance(PROPOSER, NATIVE_ASSET))
    chain.store.compact()
    chain.close()
    reopened = Chain.open(tmp_path / "db", GENESIS)
    assert (reopened.tip, reopened.balance(PROPOSER, NATIVE_ASSET)) == before
    assert reopened.store.load_block(1) == block
    reopened.close()


def test_a_damaged_state_tree_is_reported_on_open(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", GENESIS)
    root = chain.tip.state_root
    chain.close()
    db = plyvel.DB(str(tmp_path / "db"))
    db.delete(b"N" + root)
    db.close()
    with pytest.raises(StoreError, match=r"state tree .* is damaged"):
        Chain.open(tmp_path / "db", GENESIS)
