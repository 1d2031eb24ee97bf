"""`ledger barter ...`: escrowed offers, takes, cancellation, the order book.

An offer escrows what it sells and asks a price: ``--price 7/2`` means 7
units of the asset asked for per 2 units sold (exact; ``--price 5`` is 5
per 1). A taker pays ``ceil(amount * price)``. Offers rest until taken,
cancelled or expired (docs/spec/barter.md).
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import CliError, emit, get_context, handles_errors
from cli.query_commands import as_json
from cli.submission import (
    EXPIRES_AT,
    EXPIRES_IN,
    FEE,
    HEIGHT,
    NONCE,
    PASSWORD_FILE,
    SENDER,
    TIMEOUT,
    WAIT,
    Sending,
    expiry_height,
    invalid_input,
    parse_asset,
    parse_positive,
    parse_price,
    price_text,
    sender_entry,
    submit_body,
)
from ledger.client import OfferInfo, OrderBook, created_offer_id
from ledger.client import asset_transactions as build

barter_app = typer.Typer(
    help="Offer, take and cancel escrowed barter offers; show the order book.",
    no_args_is_help=True,
)


def offer_line(offer: OfferInfo) -> str:
    return (
        f"  #{offer.offer_id:<6} {offer.remaining:>12} {offer.sell_asset} at "
        f"{price_text(offer.price_buy, offer.price_sell)} {offer.buy_asset} each, "
        f"by {offer.maker}, until block {offer.expires_at}"
    )


def book_text(book: OrderBook) -> str:
    title = f"selling {book.sell_asset} for {book.buy_asset} (best first):"
    return "\n".join([title] + ([offer_line(o) for o in book.offers] or ["  (no offers)"]))


@barter_app.command("offer")
@handles_errors
def offer(
    ctx: typer.Context,
    sell: str = typer.Option(..., "--sell", help="Asset to sell (escrowed now)."),
    amount: str = typer.Option(..., "--amount", help="Units to sell (base units)."),
    buy: str = typer.Option(..., "--for", help="Asset asked in return."),
    price: str = typer.Option(
        ..., "--price", help="Units of the --for asset per unit sold: P, or B/S for B per S."
    ),
    expires_in: int | None = EXPIRES_IN,
    expires_at: int | None = EXPIRES_AT,
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Escrow an amount of one asset and offer it for another at a price."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    price_buy, price_sell = parse_price(price)
    with invalid_input():
        body = build.create_offer(
            parse_asset(sell, "--sell"),
            parse_positive(amount, "--amount"),
            parse_asset(buy, "--for"),
            price_sell,
            price_buy,
            expiry_height(cli, expires_in, expires_at),
        )
    submit_body(
        cli,
        sending,
        body,
        f"Offer {body.amount} {body.sell_asset} for {body.buy_asset} at "
        f"{price_text(price_buy, price_sell)} {body.buy_asset} per {body.sell_asset} "
        f"(escrowed until block {body.expires_at})",
        lambda receipt: [("offer_id", created_offer_id(receipt))],
    )


@barter_app.command("take")
@handles_errors
def take(
    ctx: typer.Context,
    offer_id: int | None = typer.Argument(
        None, min=0, help="The offer to take from (or use --buy/--pay/--max-price)."
    ),
    amount: str = typer.Option(..., "--amount", help="Units to buy of what the offer sells."),
    buy: str | None = typer.Option(None, "--buy", help="Best offers: the asset to buy."),
    pay: str | None = typer.Option(None, "--pay", help="Best offers: the asset to pay with."),
    max_price: str | None = typer.Option(
        None, "--max-price", help="Best offers: at most this many --pay units per unit (P or B/S)."
    ),
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Buy from one offer by id, or from the best offers up to a price."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    units = parse_positive(amount, "--amount")
    best = (buy, pay, max_price)
    if offer_id is not None:
        if any(option is not None for option in best):
            raise CliError("give an offer id, or --buy, --pay and --max-price, not both")
        target = cli.client().get_offer(offer_id)
        if target is None:
            raise CliError(f"offer {offer_id} is not open (filled, cancelled, expired or unknown)")
        if target.maker == sender_entry(cli, sending).address:
            raise CliError(f"offer {offer_id} is your own: cancel it instead")
        filled = min(units, target.remaining)
        with invalid_input():
            body = build.take_offer(offer_id, units)
        submit_body(
            cli,
            sending,
            body,
            f"Take {filled} {target.sell_asset} from offer {offer_id} for "
            f"{target.cost(filled)} {target.buy_asset} "
            f"({price_text(target.price_buy, target.price_sell)} per unit)",
        )
        return
    if buy is None or pay is None or max_price is None:
        raise CliError("give an offer id, or all of --buy, --pay and --max-price")
    limit_buy, limit_sell = parse_price(max_price, "--max-price")
    with invalid_input():
        best_body = build.take_best(
            parse_asset(buy, "--buy"), parse_asset(pay, "--pay"), units, limit_sell, limit_buy
        )
    submit_body(
        cli,
        sending,
        best_body,
        f"Buy up to {units} {best_body.sell_asset} from the best offers, paying at most "
        f"{price_text(limit_buy, limit_sell)} {best_body.buy_asset} per unit",
    )


@barter_app.command("cancel")
@handles_errors
def cancel(
    ctx: typer.Context,
    offer_id: int = typer.Argument(..., min=0, help="Your open offer's id."),
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Close your offer; what is left in escrow comes back."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    target = cli.client().get_offer(offer_id)
    if target is None:
        raise CliError(f"offer {offer_id} is not open (filled, cancelled, expired or unknown)")
    if target.maker != sender_entry(cli, sending).address:
        raise CliError(f"offer {offer_id} was made by {target.maker}: only its maker can cancel")
    submit_body(
        cli,
        sending,
        build.cancel_offer(offer_id),
        f"Cancel offer {offer_id} and refund {target.remaining} {target.sell_asset}",
    )


@barter_app.command("book")
@handles_errors
def book(
    ctx: typer.Context,
    sell: str = typer.Argument(..., help="The asset the offers sell."),
    buy: str = typer.Argument(..., help="The asset they ask for."),
    depth: int = typer.Option(20, "--depth", min=1, max=512, help="Offers per side."),
    height: int | None = HEIGHT,
) -> None:
    """Both sides of a pair's market: offers selling SELL for BUY, and the reverse."""
    cli = get_context(ctx)
    sell_asset, buy_asset = parse_asset(sell), parse_asset(buy)
    if sell_asset == buy_asset:
        raise CliError("a market needs two different assets")
    client = cli.client()
    asks = client.get_order_book(sell_asset, buy_asset, depth, height)
    bids = client.get_order_book(buy_asset, sell_asset, depth, asks.height)
    emit(
        cli,
        {"height": asks.height, "asks": as_json(asks), "bids": as_json(bids)},
        lambda: (
            f"{sell_asset}/{buy_asset} after block {asks.height}\n"
            f"{book_text(asks)}\n{book_text(bids)}"
        ),
    )


@barter_app.command("offers")
@handles_errors
def offers(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="Address (lg1...) or key name."),
    height: int | None = HEIGHT,
) -> None:
    """An account's open offers."""
    cli = get_context(ctx)
    address = cli.resolve_address(account)
    found = cli.client().get_offers(address, height)
    emit(
        cli,
        {"address": address, "offers": as_json(found)},
        lambda: "\n".join(
            [f"open offers of {address}:"] + ([offer_line(o) for o in found] or ["  (none)"])
        ),
    )
