"""`ledger tx ...`: sign transactions with a keystore key and submit them.

Each command checks what it can against the node's pending state (the
sender can pay the amount and the fee), shows what it is about to sign and
asks for confirmation (unless --yes), submits, then waits for inclusion
with a spinner and prints the receipt (--no-wait prints the hash and
returns at once); see cli.submission.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import get_context, handles_errors
from cli.submission import (
    FEE,
    NONCE,
    PASSWORD_FILE,
    SENDER,
    TIMEOUT,
    WAIT,
    Sending,
    parse_asset,
    parse_positive,
    submit_body,
)
from cli.units import shown_amount
from ledger.client import asset_transactions as build

tx_app = typer.Typer(help="Sign and send transactions.", no_args_is_help=True)


@tx_app.command("send")
@handles_errors
def send(
    ctx: typer.Context,
    sender: str = SENDER,
    to: str = typer.Option(..., "--to", help="Recipient address (lg1...) or key name."),
    amount: str = typer.Option(
        ...,
        "--amount",
        help="Amount in base units (1 coin = 10^18 base units), or in whole units: 1.5coin.",
    ),
    asset: str = typer.Option("coin", "--asset", help="Asset id."),
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Transfer an asset to another account."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    asset_id = parse_asset(asset)
    value = parse_positive(amount, "--amount", cli, asset_id)
    recipient = cli.resolve_address(to)
    body = build.transfer(asset_id, value, recipient)
    submit_body(
        cli,
        sending,
        body,
        f"Send {shown_amount(cli, value, asset_id)} to {recipient}",
        spends={asset_id: value},
    )
