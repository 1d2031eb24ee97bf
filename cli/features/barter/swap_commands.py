"""`ledger swap ...`: an atomic two-party exchange in two steps.

1. The counterparty signs the terms with `swap sign` (its key, the other
   party's address, what it gives and gets) and passes the printed hex (or
   the --out file) to the other party. The terms name the counterparty's
   next nonce: they work once, and sending any transaction of its own
   first revokes them.
2. The other party, the initiator, checks and sends them with
   `swap submit` (it pays the fee). Both legs move in one transaction, or
   neither does (docs/spec/barter.md, "Two-party swap").
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from cli.context import CliError, emit, get_context, handles_errors
from cli.submission import (
    EXPIRES_AT,
    EXPIRES_IN,
    FEE,
    NONCE,
    PASSWORD_FILE,
    SENDER,
    TIMEOUT,
    WAIT,
    Sending,
    devnet_note,
    expiry_height,
    invalid_input,
    load_key,
    parse_asset,
    parse_positive,
    sender_entry,
    submit_body,
)
from ledger.address import address_of, decode_address, encode_address
from ledger.client import SignedSwap, SwapTerms
from ledger.fields import DecodeError

HEX_TEXT = re.compile(r"(?:[0-9a-fA-F]{2})+")

swap_app = typer.Typer(
    help="Two-party swaps: the counterparty signs the terms, the initiator submits them.",
    no_args_is_help=True,
)


def read_signed(source: str) -> SignedSwap:
    """Signed terms from the hex itself, or from a file holding it."""
    text = source
    if not HEX_TEXT.fullmatch(source.strip()):
        try:
            text = Path(source).read_text()
        except OSError as exc:
            raise CliError(f"cannot read {source}: {exc.strerror}") from None
    try:
        return SignedSwap.from_hex(text)
    except DecodeError as exc:
        raise CliError(f"not signed swap terms: {exc}") from None


@swap_app.command("sign")
@handles_errors
def sign(
    ctx: typer.Context,
    initiator: str = typer.Option(
        ..., "--with", help="The other party (address or key name): it submits and pays the fee."
    ),
    give: str = typer.Option(..., "--give", help="Units you give (base units)."),
    give_asset: str = typer.Option(..., "--give-asset", help="Asset you give."),
    get: str = typer.Option(..., "--get", help="Units you get."),
    get_asset: str = typer.Option(..., "--get-asset", help="Asset you get."),
    expires_in: int | None = EXPIRES_IN,
    expires_at: int | None = EXPIRES_AT,
    out: Path | None = typer.Option(
        None, "--out", help="Write the signed terms (hex) to this file instead of stdout."
    ),
    sender: str = SENDER,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Sign swap terms as the counterparty (nothing is sent)."""
    cli = get_context(ctx)
    sending = Sending(sender, None, None, False, 0.0, password_file)
    entry = sender_entry(cli, sending)
    other = cli.resolve_address(initiator)
    if other == entry.address:
        raise CliError("a swap needs two different parties")
    client = cli.client()
    # Legs are named from the initiator's side: it gives what this signer gets.
    terms = SwapTerms(
        client.chain_id(),
        decode_address(other),
        entry.public_key,
        parse_asset(get_asset, "--get-asset"),
        parse_positive(get, "--get"),
        parse_asset(give_asset, "--give-asset"),
        parse_positive(give, "--give"),
        expiry_height(cli, expires_in, expires_at),
        client.get_transaction_count(entry.address, "pending"),
    )
    if terms.give_asset == terms.get_asset:
        raise CliError("a swap exchanges two different assets")
    devnet_note(cli, entry)
    cli.confirm(
        f"Sign: {entry.name} ({entry.address}) gives {terms.get_amount} {terms.get_asset} "
        f"and gets {terms.give_amount} {terms.give_asset} from {other}, if submitted by "
        f"block {terms.expires_at} before {entry.name} sends anything with nonce "
        f"{terms.counterparty_nonce}, on chain {terms.chain_id}?"
    )
    with invalid_input():
        signed = terms.sign(load_key(cli, sending))
    blob = signed.to_hex()
    if out is not None:
        try:
            out.write_text(blob + "\n")
        except OSError as exc:
            raise CliError(f"cannot write {out}: {exc.strerror}") from None
    data = {
        "terms": blob,
        "file": str(out) if out is not None else None,
        "initiator": other,
        "counterparty": entry.address,
        "expiresAt": terms.expires_at,
        "counterpartyNonce": terms.counterparty_nonce,
    }
    where = f"wrote {out}" if out is not None else blob
    emit(
        cli,
        data,
        f"{where}\ngive it to {other}: `ledger swap submit` sends it; "
        f"sending any transaction from {entry.name} first revokes it",
    )


@swap_app.command("submit")
@handles_errors
def submit(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="The signed terms: a file from `swap sign`, or hex."),
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Check the counterparty's signed terms and send the swap as the initiator."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    signed = read_signed(source)
    terms = signed.terms
    entry = sender_entry(cli, sending)
    counterparty = encode_address(address_of(terms.counterparty_key))
    if encode_address(terms.initiator) != entry.address:
        raise CliError(
            f"these terms are for {encode_address(terms.initiator)} to submit, "
            f"not {entry.name} ({entry.address})"
        )
    client = cli.client()
    if terms.chain_id != client.chain_id():
        raise CliError(f"these terms are for chain {terms.chain_id}, not {client.chain_id()}")
    if not signed.verify():
        raise CliError(f"the signature is not {counterparty}'s over these terms")
    if client.get_transaction_count(counterparty, "pending") != terms.counterparty_nonce:
        raise CliError(
            f"the terms are spent or revoked: {counterparty} has used nonce "
            f"{terms.counterparty_nonce} since signing"
        )
    if client.block_number() + 1 > terms.expires_at:
        raise CliError(f"the terms expired at block {terms.expires_at}")
    with invalid_input():
        body = signed.body()
    submit_body(
        cli,
        sending,
        body,
        f"Swap: give {terms.give_amount} {terms.give_asset} to {counterparty} and get "
        f"{terms.get_amount} {terms.get_asset} from it (valid through block {terms.expires_at})",
    )
