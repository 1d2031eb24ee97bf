"""What a validator node answers when it accepts a transaction (in process,
without starting its network): whether it is queued behind a missing nonce,
and whether the node is behind the network; and that its journal gives the
mempool back after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cli.node.node_commands import prepare_devnet
from consensus.node.config import load_config, load_key_file
from consensus.node.node import Node
from ledger.address import address_of
from ledger.client.devnet import account_key
from ledger.features.bank.bodies import Transfer
from ledger.genesis import load_genesis
from ledger.types import NATIVE_ASSET, Transaction

ALICE = account_key("alice")
BOB = address_of(account_key("bob").public_key)


def transfer(nonce: int) -> bytes:
    body = Transfer(NATIVE_ASSET, 5, BOB)
    tx = Transaction("ledger-devnet-1", ALICE.public_key, nonce, 1000, body).signed(ALICE)
    return tx.encode()


def open_validator(home: Path) -> Node:
    key = load_key_file(home / "validator_key.json")
    genesis = load_genesis(home / "genesis.json")
    return Node(home, load_config(home / "config.toml"), genesis, key, key)


def test_a_node_says_whether_it_queued_the_transaction_and_whether_it_is_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (node_info,) = prepare_devnet(tmp_path, 1, 0, 0)
    node = open_validator(Path(node_info["home"]))
    network_height = 0  # what the peers the node believes have committed
    monkeypatch.setattr(node, "network_height", lambda: network_height)

    async def run() -> None:
        try:
            ready = await node.submit_transaction(transfer(0))
            assert (ready.queued, ready.catching_up, ready.height) == (False, False, 0)
            queued = await node.submit_transaction(transfer(2))
            assert queued.queued and not queued.catching_up
            nonlocal network_height
            network_height = 7  # validators say they have committed up to height 7
            behind = await node.submit_transaction(transfer(1))
            assert (behind.queued, behind.catching_up, behind.height) == (False, True, 0)
        finally:
            await node.stop()

    asyncio.run(run())


def test_the_journal_gives_the_mempool_back_after_a_restart(tmp_path: Path) -> None:
    (node_info,) = prepare_devnet(tmp_path, 1, 0, 0)
    home = Path(node_info["home"])
    node = open_validator(home)
    raws = [transfer(0), transfer(1), transfer(3)]

    async def submit() -> None:
        try:
            for raw in raws:
                await node.submit_transaction(raw)
        finally:
            await node.stop()

    asyncio.run(submit())
    again = open_validator(home)
    try:
        assert [tx.encode() for tx in again.mempool.transactions()] == raws
        assert again.mempool.info().queued == 1
    finally:
        asyncio.run(again.stop())
