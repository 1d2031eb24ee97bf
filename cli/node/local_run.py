"""`ledger run`: a single-node local chain, for the quick start until the devnet lands.

Applies the devnet genesis to a LevelDB store, commits a few blocks of
signed transfers between the devnet's test accounts (their keys are public
and INSECURE) and prints the balances and state roots.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from ledger.address import address_of, encode_address
from ledger.chain import Chain
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key, validator_key
from ledger.features.bank.bodies import Transfer
from ledger.genesis import GenesisError, load_genesis
from ledger.store import StoreError
from ledger.types import NATIVE_ASSET, Transaction

DEFAULT_GENESIS = Path(__file__).resolve().parents[2] / "genesis" / "devnet.json"


def run_local(
    home: Path = typer.Option(Path(".devnet/local"), help="Directory of the LevelDB store."),
    genesis_file: Path = typer.Option(DEFAULT_GENESIS, "--genesis", help="Genesis file."),
    blocks: int = typer.Option(3, min=1, max=1000, help="Blocks to commit."),
    transfers: int = typer.Option(4, min=1, max=10_000, help="Transfers per block."),
    reset: bool = typer.Option(False, help="Delete the store first."),
) -> None:
    """Run a single-node chain locally: genesis, a few blocks of transfers, balances."""
    if reset and home.exists():
        shutil.rmtree(home)
    try:
        genesis = load_genesis(genesis_file)
        chain = Chain.open(home, genesis)
    except (GenesisError, StoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        keys = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]
        proposer = address_of(validator_key(0).public_key)
        fee = 1000
        typer.echo(f"chain {genesis.chain_id} at height {chain.tip.height}, store {home}")
        for _ in range(blocks):
            txs = []
            nonces = {k.public_key: chain.nonce(address_of(k.public_key)) for k in keys}
            for i in range(transfers):
                sender, recipient = keys[i % len(keys)], keys[(i + 1) % len(keys)]
                body = Transfer(NATIVE_ASSET, 1_000 + i, address_of(recipient.public_key))
                tx = Transaction(
                    genesis.chain_id, sender.public_key, nonces[sender.public_key], fee, body
                )
                nonces[sender.public_key] += 1
                txs.append(tx.signed(sender))
            time_ms = chain.tip.time_ms + 1000
            block, result, skipped = chain.build_block(txs, proposer, time_ms)
            chain.commit_block(block, result)
            failed = sum(1 for r in result.receipts if r.status != 0)
            typer.echo(
                f"committed block {block.height}: {len(block.transactions)} txs "
                f"({failed} failed, {len(skipped)} skipped) state root {result.state_root.hex()}"
            )
        typer.echo("balances (coin):")
        for name, key in zip(DEVNET_ACCOUNT_NAMES, keys, strict=True):
            address = address_of(key.public_key)
            typer.echo(
                f"  {name:6} {encode_address(address)} {chain.balance(address, NATIVE_ASSET)}"
            )
    finally:
        chain.close()
