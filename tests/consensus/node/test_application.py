"""LedgerApplication hands each transaction's work over once: a block's
transactions the mempool holds are not decoded again, and the ones it
verified are remembered for gossip."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from consensus.engine.validators import Validator, ValidatorSet
from consensus.node.application import LedgerApplication
from ledger.address import address_of
from ledger.chain import Chain
from ledger.client.devnet import account_key, devnet_genesis_document
from ledger.features.bank.bodies import Transfer
from ledger.genesis import parse_genesis
from ledger.types import NATIVE_ASSET, Transaction


def transfer(name: str, nonce: int) -> Transaction:
    key = account_key(name)
    body = Transfer(NATIVE_ASSET, 5, address_of(account_key("bob").public_key))
    return Transaction("ledger-devnet-1", key.public_key, nonce, 1000, body).signed(key)


def test_a_block_takes_known_transactions_and_reports_what_it_verified(tmp_path: Path) -> None:
    genesis = parse_genesis(devnet_genesis_document(1))
    validators = ValidatorSet.create(
        Validator.from_public_key(v.public_key, v.power) for v in genesis.validators
    )
    builder = Chain.open(tmp_path / "builder", genesis)
    txs = [transfer("alice", 0), transfer("carol", 0)]
    block, _, skipped = builder.build_block(txs, genesis.validators[0].address, 1)
    assert skipped == []
    held = {txs[0].hash: txs[0]}  # the mempool holds the first
    remembered: list[tuple[list[bytes], set[bytes]]] = []

    def remember(seen: Sequence[Transaction], verified: Collection[bytes]) -> None:
        remembered.append(([tx.hash for tx in seen], set(verified)))

    chain = Chain.open(tmp_path / "node", genesis)
    app = LedgerApplication(chain, lambda height: validators, lambda: set(held), held.get, remember)
    raw = block.encode()
    assert app.validate_block(1, raw)
    decoded = app.decode(raw)
    assert decoded is not None and decoded.transactions[0] is txs[0]
    assert decoded.transactions[1] is not txs[1] and decoded.transactions[1] == txs[1]
    assert remembered == [([tx.hash for tx in txs], {tx.hash for tx in txs})]
    builder.close()
    chain.close()
