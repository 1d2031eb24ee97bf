"""`ledger asset ...`: issue an asset, mint and burn it, show its record.

Anyone may register a free asset id and becomes its issuer; only the issuer
mints (up to the maximum supply) and burns (from its own balance). Amounts
are whole base units; ``--decimals`` is display metadata only
(docs/spec/assets.md).
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import CliError, emit, get_context, handles_errors
from cli.query_commands import as_json, rows
from cli.submission import (
    FEE,
    HEIGHT,
    NONCE,
    PASSWORD_FILE,
    SENDER,
    TIMEOUT,
    WAIT,
    Sending,
    invalid_input,
    parse_asset,
    parse_positive,
    sender_entry,
    submit_body,
)
from ledger.client import AssetInfo
from ledger.client import asset_transactions as build

asset_app = typer.Typer(help="Issue, mint and burn assets; show an asset.", no_args_is_help=True)


def asset_text(info: AssetInfo) -> str:
    return rows(
        [
            ("asset", info.asset),
            ("issuer", info.issuer or "the protocol"),
            ("decimals", info.decimals),
            ("supply", info.supply),
            ("max supply", info.max_supply),
        ]
    )


@asset_app.command("issue")
@handles_errors
def issue(
    ctx: typer.Context,
    asset: str = typer.Argument(..., help="The new asset id (a-z, 0-9, '.', '-')."),
    max_supply: str = typer.Option(..., "--max-supply", help="Minting stops here (base units)."),
    decimals: int = typer.Option(
        0, "--decimals", min=0, max=38, help="Display only: a wallet shows amount / 10^decimals."
    ),
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Register a new asset id with the sender as its issuer (supply starts at 0)."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    with invalid_input():
        body = build.issue_asset(
            parse_asset(asset), parse_positive(max_supply, "--max-supply"), decimals
        )
    if cli.client().get_asset(body.asset) is not None:
        raise CliError(f"asset {body.asset!r} already exists (ids are never released)")
    submit_body(
        cli,
        sending,
        body,
        f"Issue asset {body.asset} (max supply {body.max_supply}, {decimals} decimals)",
    )


@asset_app.command("mint")
@handles_errors
def mint(
    ctx: typer.Context,
    asset: str = typer.Argument(..., help="Asset id (the sender must be its issuer)."),
    amount: str = typer.Argument(..., help="Amount in base units."),
    to: str | None = typer.Option(
        None, "--to", help="Recipient address or key name (default: the issuer)."
    ),
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Create new units of an asset (issuer only, up to its max supply)."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    recipient = cli.resolve_address(to) if to is not None else sender_entry(cli, sending).address
    with invalid_input():
        body = build.mint_asset(parse_asset(asset), parse_positive(amount, "amount"), recipient)
    submit_body(cli, sending, body, f"Mint {body.amount} {body.asset} to {recipient}")


@asset_app.command("burn")
@handles_errors
def burn(
    ctx: typer.Context,
    asset: str = typer.Argument(..., help="Asset id (the sender must be its issuer)."),
    amount: str = typer.Argument(..., help="Amount in base units, from the issuer's balance."),
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Destroy units of an asset from the issuer's own balance (issuer only)."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    with invalid_input():
        body = build.burn_asset(parse_asset(asset), parse_positive(amount, "amount"))
    submit_body(cli, sending, body, f"Burn {body.amount} {body.asset}")


@asset_app.command("info")
@handles_errors
def info(
    ctx: typer.Context,
    asset: str = typer.Argument(..., help="Asset id."),
    height: int | None = HEIGHT,
) -> None:
    """An asset's issuer, decimals, supply and maximum supply."""
    cli = get_context(ctx)
    record = cli.client().get_asset(parse_asset(asset), height)
    if record is None:
        raise CliError(f"no asset {asset!r} on this chain")
    emit(cli, as_json(record), lambda: asset_text(record))
