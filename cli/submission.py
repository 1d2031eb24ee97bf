"""Signing and sending one transaction body from a keystore key, and what
every sending command shares (amounts, checks before signing, waiting for a
receipt).

Every sending command (tx, asset, barter, swap, policy, contract, threshold)
builds a body, describes it in one sentence, and goes through ``prepare``:

1. it reads the sender's account in the node's **pending** state (the
   committed state plus the node's mempool, ``height="pending"``) and
   refuses, with exit 1 and before anything is signed, a transaction whose
   fee and spending the account cannot cover ("balance X < amount + fee Y");
   the commands add their own checks on the same state (an asset's issuer
   and maximum supply, an offer's remaining amount, a policy's balance);
2. it says what will be signed (sender, fee and amounts in base units with
   coins alongside, nonce, chain) and asks for confirmation unless --yes;
   a devnet key (publicly known) is flagged, loudly on a chain that is not
   the devnet;
3. it loads the key (prompting for the passphrase unless --password-file).

``submit_body`` then signs, submits, waits for inclusion with a spinner and
prints the receipt plus what the command reports from it (an offer id, a
proposal id, an address); --no-wait prints the hash and returns. Exit codes
as in cli.context.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer

from ledger.client import LedgerClient, ReceiptInfo, ReceiptTimeout
from ledger.client.asset_transactions import sign_body
from ledger.client.devnet import DEVNET_CHAIN_ID
from ledger.client.keystore import DEVNET_PREFIX, KeyEntry
from ledger.crypto import SigningKey
from ledger.types import Body, DecodeError, Transaction, check_asset

from . import units
from .context import CliContext, CliError, ExitCode, emit, passphrase
from .query_commands import as_json, receipt_text, rows
from .units import COIN

SPINNER = "|/-\\"


def parse_amount(text: str, what: str, cli: CliContext | None = None, asset: str = COIN) -> int:
    """An amount of ``asset`` (default coin): base units (``1_000``) or whole
    units (``1.5coin``; other assets' decimals are asked of the node through
    ``cli``). Raises CliError."""
    if cli is None:
        return units.parse_amount(text, what, units.coin_decimals, asset)
    return units.parse_asset_amount(cli, text, what, asset)


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


def print_receipt(cli: CliContext, tx_hash: bytes, wait: bool, timeout: float) -> None:
    """Print the hash (and with ``wait``, the receipt); exit 5 for a failed receipt."""
    if not wait:
        emit(cli, {"hash": tx_hash.hex(), "receipt": None}, f"submitted {tx_hash.hex()}")
        return
    receipt = wait_with_spinner(cli.client(), tx_hash, timeout)
    emit(
        cli,
        {"hash": tx_hash.hex(), "receipt": as_json(receipt)},
        lambda: receipt_text(receipt, cli),
    )
    if not receipt.success:
        raise CliError(
            f"transaction failed in block {receipt.block_height}: {receipt.error}", ExitCode.FAILED
        )


DEFAULT_EXPIRY_BLOCKS = 14_400  # about a day at 6 s blocks

SENDER = typer.Option(..., "--from", help="Key name (NAME or devnet:NAME) that signs.")
FEE = typer.Option(
    None,
    "--fee",
    help="Fee in base units of coin, or in coins: 0.001coin (default: the chain's minimum).",
)
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


Spends = Mapping[str, int]  # what a transaction takes from the sender, by asset (fee apart)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A sender ready to sign: its key, the chain, the nonce and fee to sign with."""

    key: SigningKey
    entry: KeyEntry
    chain_id: str
    nonce: int
    fee: int

    def sign(self, body: Body) -> Transaction:
        return sign_body(self.key, self.chain_id, self.nonce, self.fee, body)


def sender_entry(cli: CliContext, sending: Sending) -> KeyEntry:
    return cli.keystore().entry(sending.sender)


def load_key(cli: CliContext, sending: Sending) -> SigningKey:
    """The sender's signing key (prompting for its passphrase unless a devnet key)."""
    insecure = sending.sender.startswith(DEVNET_PREFIX)
    secret = None if insecure else passphrase(sending.password_file)
    return cli.keystore().load(sending.sender, secret)


def send_signed(cli: CliContext, client: LedgerClient, raw: bytes) -> bytes:
    """Submit signed transaction bytes; say on stderr if the node queued it
    behind a missing nonce or is catching up. Returns the hash. Raises the
    client's errors (a rejection is a TransactionRejected)."""
    submission = client.submit_transaction(raw)
    if submission.catching_up:
        typer.echo(
            f"warning: the node is catching up (at height {submission.height}): it checked "
            "the transaction against an old state, and it waits until the node has caught up",
            err=True,
        )
    if submission.queued:
        typer.echo(
            "note: the node queued the transaction until the sender's earlier nonces arrive",
            err=True,
        )
    return submission.hash


def devnet_note(cli: CliContext, entry: KeyEntry, chain_id: str) -> None:
    """Flag a devnet key; loudly, even with -o json, on a chain that is not the devnet."""
    if not entry.insecure:
        return
    if chain_id != DEVNET_CHAIN_ID:
        typer.echo(
            f"WARNING: {entry.name} is a publicly known devnet key, but chain {chain_id!r} is "
            "not the devnet: anyone can sign as this account and take what it holds",
            err=True,
        )
    elif not cli.json:
        typer.echo(f"note: {entry.name} is a publicly known devnet key (INSECURE)", err=True)


def check_funds(cli: CliContext, entry: KeyEntry, fee: int, spends: Spends) -> None:
    """Refuse (CliError, exit 1) a transaction the sender's account cannot pay
    for in the node's pending state: the fee plus what it spends of coin, and
    what it spends of every other asset."""
    account = cli.client().get_account(entry.address, "pending")
    coin_needed = fee + spends.get(COIN, 0)
    have = account.balances.get(COIN, 0)
    pending = "(base units; the node's pending transactions counted)"
    if have < coin_needed:
        if spends.get(COIN, 0):
            raise CliError(
                f"{entry.name} cannot pay: balance {have} < amount + fee {coin_needed} {pending}"
            )
        raise CliError(f"{entry.name} cannot pay the fee: balance {have} < fee {fee} {pending}")
    for asset, amount in sorted(spends.items()):
        held = account.balances.get(asset, 0)
        if asset != COIN and held < amount:
            raise CliError(
                f"{entry.name} cannot pay: {asset} balance {held} < {amount} needed {pending}"
            )


def prepare(
    cli: CliContext,
    sending: Sending,
    description: str | Callable[[KeyEntry, int], str],
    spends: Spends | None = None,
) -> Prepared:
    """Check, confirm and load the sender's key for one transaction.

    ``description`` says what the transaction does (or, given the sender's
    entry and the nonce, returns it: a deploy's address depends on both);
    ``spends`` is what it takes from the sender besides the fee. Raises
    CliError (exit 1) for an account that cannot pay, a declined
    confirmation or a wrong passphrase, and the client's errors."""
    entry = sender_entry(cli, sending)
    client = cli.client()
    chain = client.chain_id()
    fee = parse_amount(sending.fee, "--fee") if sending.fee is not None else None
    if fee is None:
        fee = client.get_params().min_fee
    nonce = sending.nonce
    if nonce is None:
        nonce = client.get_transaction_count(entry.address, "pending")
    check_funds(cli, entry, fee, spends or {})
    devnet_note(cli, entry, chain)
    what = description(entry, nonce) if callable(description) else description
    cli.confirm(
        f"{what}; signed by {entry.name} ({entry.address}), fee {units.coin_text(fee)}, "
        f"nonce {nonce}, on chain {chain}?"
    )
    return Prepared(load_key(cli, sending), entry, chain, nonce, fee)


def submit_body(
    cli: CliContext,
    sending: Sending,
    body: Body,
    description: str,
    report: Report | None = None,
    spends: Spends | None = None,
) -> ReceiptInfo | None:
    """Check, confirm, sign, send and (unless --no-wait) wait for ``body``.

    ``description`` says what the transaction does ("Offer 1000 cpu for
    coin at 5 coin per cpu"); ``spends`` what it takes from the sender
    besides the fee (checked against the pending state first); ``report``
    picks facts to show from a successful receipt (snake_case keys: JSON
    members, and with spaces, text labels). Raises CliError (exit 1 before
    signing, 5 for a failed receipt), and the client's errors
    (cli.context.classify maps them to exit codes)."""
    prepared = prepare(cli, sending, description, spends)
    tx = prepared.sign(body)
    client = cli.client()
    tx_hash = send_signed(cli, client, tx.encode())
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
        lambda: receipt_text(receipt, cli) + ("\n" + rows(labelled) if labelled else ""),
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


def parse_positive(text: str, what: str, cli: CliContext | None = None, asset: str = COIN) -> int:
    """parse_amount, refusing 0 (a transaction that moves nothing still costs a fee)."""
    value = parse_amount(text, what, cli, asset)
    if value == 0:
        raise CliError(f"{what} must be at least 1 base unit")
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
