"""Signing and sending one transaction body from a keystore key, as `tx send` does,
and the helpers every sending command shares (amounts, waiting for a receipt).

The asset, barter, swap and policy commands share it: they build a body,
describe it in one sentence, and ``submit_body`` shows what will be signed
(sender, fee, nonce, chain), asks for confirmation unless --yes, signs
(prompting for the passphrase unless --password-file; devnet keys need
none and are flagged INSECURE), submits, waits for inclusion with a
spinner and prints the receipt plus what the command reports from it (an
offer id, a proposal id, an address). --no-wait prints the hash and
returns. Exit codes as in cli.context.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer

from ledger.client import LedgerClient, ReceiptInfo, ReceiptTimeout
from ledger.client.asset_transactions import sign_body
from ledger.client.keystore import DEVNET_PREFIX, KeyEntry
from ledger.crypto import SigningKey
from ledger.types import MAX_AMOUNT, Body, DecodeError, check_asset

from .context import CliContext, CliError, ExitCode, emit, passphrase
from .query_commands import as_json, receipt_text, rows

SPINNER = "|/-\\"


def parse_amount(text: str, what: str) -> int:
    digits = text.replace("_", "")
    if not digits.isdigit() or int(digits) > MAX_AMOUNT:
        raise CliError(f"{what} must be a whole number in [0, 2^128-1] (base units), got {text!r}")
    return int(digits)


def wait_with_spinner(client: LedgerClient, tx_hash: bytes, timeout: float) -> ReceiptInfo:
    """Poll for the receipt; draw a spinner on stderr when it is a terminal."""
    show = sys.stderr.isatty()
    deadline = time.monotonic() + timeout
    tick = 0
    try:
        while True:
            receipt = client.get_receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(
                    f"not included after {timeout:g} s; it may still be: "
                    f"ledger query receipt {tx_hash.hex()}"
                )
            if show:
                sys.stderr.write(f"\r{SPINNER[tick % 4]} waiting for inclusion ...")
                sys.stderr.flush()
                tick += 1
            time.sleep(0.2)
    finally:
        if show and tick:
            sys.stderr.write("\r" + " " * 32 + "\r")
            sys.stderr.flush()


def finish(cli: CliContext, tx_hash: bytes, wait: bool, timeout: float) -> None:
    """Print the hash (and with ``wait``, the receipt); exit 5 for a failed receipt."""
    if not wait:
        emit(cli, {"hash": tx_hash.hex(), "receipt": None}, f"submitted {tx_hash.hex()}")
        return
    receipt = wait_with_spinner(cli.client(), tx_hash, timeout)
    emit(cli, {"hash": tx_hash.hex(), "receipt": as_json(receipt)}, lambda: receipt_text(receipt))
    if not receipt.success:
        raise CliError(
            f"transaction failed in block {receipt.block_height}: {receipt.error}", ExitCode.FAILED
        )


DEFAULT_EXPIRY_BLOCKS = 14_400  # about a day at 6 s blocks

SENDER = typer.Option(..., "--from", help="Key name (NAME or devnet:NAME) that signs.")
FEE = typer.Option(None, "--fee", help="Fee in coin (default: the chain's minimum).")
NONCE = typer.Option(None, "--nonce", min=0, help="Nonce (default: the next one).")
WAIT = typer.Option(True, "--wait/--no-wait", help="Wait for inclusion and print the receipt.")
TIMEOUT = typer.Option(30.0, "--timeout", min=0.1, help="Seconds to wait for inclusion.")
PASSWORD_FILE = typer.Option(
    None, "--password-file", help="Read the passphrase from the first line of this file."
)
HEIGHT = typer.Option(
    None, "--height", min=0, help="Query the state after this block (default: latest)."
)
EXPIRES_IN = typer.Option(
    None,
    "--expires-in",
    min=0,
    help=f"Blocks from now until it expires (default {DEFAULT_EXPIRY_BLOCKS}).",
)
EXPIRES_AT = typer.Option(None, "--expires-at", min=0, help="Last block height it is valid in.")


@dataclass(frozen=True, slots=True)
class Sending:
    """The options every sending command takes."""

    sender: str
    fee: str | None
    nonce: int | None
    wait: bool
    timeout: float
    password_file: Path | None


Report = Callable[[ReceiptInfo], list[tuple[str, Any]]]


def sender_entry(cli: CliContext, sending: Sending) -> KeyEntry:
    return cli.keystore().entry(sending.sender)


def load_key(cli: CliContext, sending: Sending) -> SigningKey:
    """The sender's signing key (prompting for its passphrase unless a devnet key)."""
    insecure = sending.sender.startswith(DEVNET_PREFIX)
    secret = None if insecure else passphrase(sending.password_file)
    return cli.keystore().load(sending.sender, secret)


def devnet_note(cli: CliContext, entry: KeyEntry) -> None:
    if entry.insecure and not cli.json:
        typer.echo(f"note: {entry.name} is a publicly known devnet key (INSECURE)", err=True)


def submit_body(
    cli: CliContext,
    sending: Sending,
    body: Body,
    description: str,
    report: Report | None = None,
) -> ReceiptInfo | None:
    """Confirm, sign, send and (unless --no-wait) wait for ``body``.

    ``description`` says what the transaction does ("Offer 1000 cpu for
    coin at 5 coin per cpu"); ``report`` picks facts to show from a
    successful receipt (snake_case keys: JSON members, and with spaces, text
    labels). Raises CliError (exit 5 for a failed receipt), and
    the client's errors (cli.context.classify maps them to exit codes)."""
    entry = sender_entry(cli, sending)
    client = cli.client()
    chain = client.chain_id()
    if sending.fee is not None:
        fee = parse_amount(sending.fee, "--fee")
    else:
        fee = client.get_params().min_fee
    nonce = sending.nonce
    if nonce is None:
        nonce = client.get_transaction_count(entry.address, "pending")
    devnet_note(cli, entry)
    cli.confirm(
        f"{description}; signed by {entry.name} ({entry.address}), "
        f"fee {fee} coin, nonce {nonce}, on chain {chain}?"
    )
    key = load_key(cli, sending)
    tx = sign_body(key, chain, nonce, fee, body)
    tx_hash = client.send_raw_transaction(tx.encode())
    if not sending.wait:
        emit(cli, {"hash": tx_hash.hex(), "receipt": None}, f"submitted {tx_hash.hex()}")
        return None
    if not cli.json:
        typer.echo(f"submitted {tx_hash.hex()}", err=True)
    receipt = wait_with_spinner(client, tx_hash, sending.timeout)
    facts = report(receipt) if report is not None and receipt.success else []
    labelled = [(name.replace("_", " "), value) for name, value in facts]
    emit(
        cli,
        {"hash": tx_hash.hex(), "receipt": as_json(receipt), **{k: as_json(v) for k, v in facts}},
        lambda: receipt_text(receipt) + ("\n" + rows(labelled) if labelled else ""),
    )
    if not receipt.success:
        raise CliError(
            f"transaction failed in block {receipt.block_height}: {receipt.error}", ExitCode.FAILED
        )
    return receipt


# -- parsing ---------------------------------------------------------------------


@contextmanager
def invalid_input() -> Iterator[None]:
    """Report a body the node would reject as malformed as bad input (exit 1)."""
    try:
        yield
    except DecodeError as exc:
        raise CliError(f"invalid input: {exc}") from None


def parse_asset(text: str, what: str = "asset") -> str:
    try:
        return check_asset(text)
    except DecodeError:
        raise CliError(
            f"invalid {what} id {text!r}: 1-32 characters of a-z, 0-9, '.', '-', "
            "starting with a letter"
        ) from None


def parse_positive(text: str, what: str) -> int:
    value = parse_amount(text, what)
    if value == 0:
        raise CliError(f"{what} must be at least 1")
    return value


def parse_price(text: str, what: str = "--price") -> tuple[int, int]:
    """``P`` or ``B/S``: B units of one asset per S units of the other, exactly.
    Returns ``(B, S)`` in lowest terms."""
    top, _, bottom = text.partition("/")
    numerator = parse_positive(top, what)
    denominator = parse_positive(bottom, what) if bottom else 1
    price = Fraction(numerator, denominator)
    return price.numerator, price.denominator


def price_text(buy: int, sell: int) -> str:
    """A price as ``B/S`` (or ``B`` when S is 1), with a short decimal for B/S."""
    if sell == 1:
        return str(buy)
    approximate = (Decimal(buy) / Decimal(sell)).quantize(Decimal("1.000000")).normalize()
    return f"{buy}/{sell} (~{approximate})"


def expiry_height(cli: CliContext, expires_in: int | None, expires_at: int | None) -> int:
    """The ``expires_at`` height from --expires-at, or the tip plus --expires-in."""
    if expires_in is not None and expires_at is not None:
        raise CliError("give --expires-in or --expires-at, not both")
    if expires_at is not None:
        return expires_at
    blocks = expires_in if expires_in is not None else DEFAULT_EXPIRY_BLOCKS
    return cli.client().block_number() + blocks
