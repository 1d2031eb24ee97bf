"""`ledger asset ...`: issue an asset, mint and burn it, show its record.

Anyone may register a free asset id and becomes its issuer; only the issuer
mints (up to the maximum supply) and burns (from its own balance): both are
checked against the node's pending state before anything is signed. Amounts
are base units (or whole units with the asset named, ``2.5gold``, through
its ``--decimals``, which are display metadata only: docs/spec/assets.md).
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import CliContext, CliError, emit, get_context, handles_errors
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
from cli.units import amount_text, shown_amount
from ledger.client import AssetInfo
from ledger.client import asset_transactions as build

asset_app = typer.Typer(help="Issue, mint and burn assets; show an asset.", no_args_is_help=True)


def asset_text(info: AssetInfo) -> str:
    return rows(
        [
            ("asset", info.asset),
            ("issuer", info.issuer or "the protocol"),
            ("decimals", info.decimals),
            ("supply", amount_text(info.supply, info.asset, info.decimals)),
            ("max supply", amount_text(info.max_supply, info.asset, info.decimals)),
        ]
    )


def require_issuer(cli: CliContext, sending: Sending, asset: str, verb: str) -> AssetInfo:
    """The asset's record in the pending state, once the sender is its issuer.
    Raises CliError: only the issuer mints and burns."""
    info = cli.client().get_asset(asset, "pending")
    if info is None:
        raise CliError(f"no asset {asset!r} on this chain (issue it first: ledger asset issue)")
    entry = sender_entry(cli, sending)
    if info.issuer != entry.address:
        issuer = info.issuer or "nobody: a protocol asset, minted by the chain alone"
        raise CliError(
            f"only {asset}'s issuer can {verb} it: the issuer is {issuer}, "
            f"{entry.name} is {entry.address}"
        )
    return info


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
    if cli.client().get_asset(body.asset, "pending") is not None:
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
    amount: str = typer.Argument(
        ..., help="Amount in base units, or whole units with the asset named: 2.5gold."
    ),
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
    asset_id = parse_asset(asset)
    info = require_issuer(cli, sending, asset_id, "mint")
    with invalid_input():
        body = build.mint_asset(
            asset_id, parse_positive(amount, "amount", cli, asset_id), recipient
        )
    if info.supply + body.amount > info.max_supply:
        raise CliError(
            f"minting {body.amount} would bring {asset_id}'s supply to "
            f"{info.supply + body.amount}, above its maximum supply {info.max_supply} "
            f"(at most {info.max_supply - info.supply} more; base units, pending "
            "transactions counted)"
        )
    shown = amount_text(body.amount, asset_id, info.decimals)
    submit_body(cli, sending, body, f"Mint {shown} to {recipient}")


@asset_app.command("burn")
@handles_errors
def burn(
    ctx: typer.Context,
    asset: str = typer.Argument(..., help="Asset id (the sender must be its issuer)."),
    amount: str = typer.Argument(
        ..., help="Amount in base units (or e.g. 2.5gold), from the issuer's balance."
    ),
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
    asset_id = parse_asset(asset)
    info = require_issuer(cli, sending, asset_id, "burn")
    with invalid_input():
        body = build.burn_asset(asset_id, parse_positive(amount, "amount", cli, asset_id))
    shown = amount_text(body.amount, asset_id, info.decimals)
    submit_body(cli, sending, body, f"Burn {shown}", spends={asset_id: body.amount})


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


@asset_app.command("holders")
@handles_errors
def holders(
    ctx: typer.Context,
    asset: str = typer.Argument(..., help="Asset id."),
    limit: int = typer.Option(
        1000, "--limit", min=1, max=100_000, help="Most holders to list (in address order)."
    ),
) -> None:
    """The accounts holding an asset, with their balances (latest state)."""
    cli = get_context(ctx)
    asset_id = parse_asset(asset)
    client = cli.client()
    found: list[tuple[str, int]] = []
    cursor: str | None = None
    height = None
    while len(found) < limit:
        page = client.get_asset_holders(asset_id, cursor, min(100, limit - len(found)))
        height = page.height if height is None else height
        found += page.holders
        cursor = page.next
        if cursor is None:
            break
    more = cursor is not None
    data = {
        "asset": asset_id,
        "height": height,
        "holders": [{"address": a, "balance": str(b)} for a, b in found],
        "more": more,
    }

    def text() -> str:
        if not found:
            return f"nobody holds {asset_id}"
        lines = [f"{address}  {shown_amount(cli, amount, asset_id)}" for address, amount in found]
        if more:
            lines.append(f"(the first {len(found)}; --limit for more)")
        return "\n".join(lines)

    emit(cli, data, text)
