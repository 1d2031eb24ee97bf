"""`ledger tx ...`: sign transactions with a keystore key and submit them.

Each command shows what it is about to sign and asks for confirmation
(unless --yes), submits, then waits for inclusion with a spinner and
prints the receipt (--no-wait prints the hash and returns at once).
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import (
    CliError,
    get_context,
    handles_errors,
    passphrase,
)
from cli.submission import finish, parse_amount
from ledger.client import sign_transfer
from ledger.client.keystore import DEVNET_PREFIX
from ledger.types import DecodeError, check_asset

tx_app = typer.Typer(help="Sign and send transactions.", no_args_is_help=True)


@tx_app.command("send")
@handles_errors
def send(
    ctx: typer.Context,
    sender: str = typer.Option(..., "--from", help="Key name (NAME or devnet:NAME) that signs."),
    to: str = typer.Option(..., "--to", help="Recipient address (lg1...) or key name."),
    amount: str = typer.Option(..., "--amount", help="Amount in base units."),
    asset: str = typer.Option("coin", "--asset", help="Asset id."),
    fee: str | None = typer.Option(
        None, "--fee", help="Fee in coin (default: the chain's minimum)."
    ),
    nonce: int | None = typer.Option(None, "--nonce", min=0, help="Nonce (default: the next one)."),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Wait for inclusion and print the receipt."
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", min=0.1, help="Seconds to wait for inclusion."
    ),
    password_file: Path | None = typer.Option(
        None, "--password-file", help="Read the passphrase from the first line of this file."
    ),
) -> None:
    """Transfer an asset to another account."""
    cli = get_context(ctx)
    value = parse_amount(amount, "--amount")
    try:
        check_asset(asset)
    except DecodeError:
        raise CliError(f"invalid asset id {asset!r}") from None
    recipient = cli.resolve_address(to)
    keystore = cli.keystore()
    entry = keystore.entry(sender)
    client = cli.client()
    chain = client.chain_id()
    fee_value = parse_amount(fee, "--fee") if fee is not None else client.get_params().min_fee
    nonce_value = (
        nonce if nonce is not None else client.get_transaction_count(entry.address, "pending")
    )
    if entry.insecure and not cli.json:
        typer.echo(f"note: {entry.name} is a publicly known devnet key (INSECURE)", err=True)
    cli.confirm(
        f"Send {value} {asset} from {entry.name} ({entry.address}) to {recipient}, "
        f"fee {fee_value} coin, nonce {nonce_value}, on chain {chain}?"
    )
    key = keystore.load(
        sender, None if sender.startswith(DEVNET_PREFIX) else passphrase(password_file)
    )
    tx = sign_transfer(key, chain, nonce_value, recipient, value, asset, fee_value)
    tx_hash = client.send_raw_transaction(tx.encode())
    if wait and not cli.json:
        typer.echo(f"submitted {tx_hash.hex()}", err=True)
    finish(cli, tx_hash, wait, timeout)
