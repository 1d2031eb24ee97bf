"""`ledger bank ...`: the bank for everyone, the validators' e-cash mint.

- ``keys``: the mint's keysets and their public keys (NUT-01, NUT-02);
- ``deposit --amount N --from KEY``: lock N coin in the mint's reserve and
  receive blind-signed notes worth N (two rounds of the validators'
  signatures, checked with their NUT-12 proofs);
- ``balance``: the notes the wallet holds (and, first, whatever a previous
  command left in flight is finished);
- ``send --amount N``: print a ``cashuB`` token of notes worth N (the notes
  leave the wallet; with ``--from`` it swaps for smaller notes first when
  it holds no exact combination);
- ``receive TOKEN --from KEY``: check a token's notes and swap them for
  fresh ones, so that the sender can no longer spend them;
- ``redeem --amount N --to ADDR --from KEY``: pay N coin out of the
  reserve to ADDR (commit, then reveal, then the validators evaluate).

The notes live in an encrypted wallet file, ``HOME/notes/NAME.json``
(``--wallet NAME``, default "default"; docs/spec/keystore.md), opened with
its own passphrase (``--wallet-password-file`` or
``$LEDGER_WALLET_PASSWORD_FILE``, else a prompt); ``deposit`` and
``receive`` create it. ``--from`` names the keystore key that signs and
pays the fees (``--password-file`` for its passphrase). The walk-through
is docs/guide/bank.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from cli.context import (
    CliContext,
    CliError,
    ExitCode,
    emit,
    get_context,
    handles_errors,
    passphrase,
    read_secret_file,
)
from cli.submission import parse_positive
from ledger.address import decode_address
from ledger.client import ReceiptTimeout
from ledger.client.keystore import DEVNET_PREFIX
from ledger.client.mint_session import MintSession, MintSessionError, Redeemed, Signer
from ledger.client.mint_wallet import WalletError
from ledger.client.note_store import (
    DEFAULT_WALLET,
    OpenWallet,
    WalletFileError,
    create_wallet,
    open_wallet,
    wallet_path,
)

bank_app = typer.Typer(
    help="The bank: e-cash notes from the validators' mint.", no_args_is_help=True
)

WALLET = typer.Option(DEFAULT_WALLET, "--wallet", help="The notes wallet's name.")
WALLET_PASSWORD_FILE = typer.Option(
    None,
    "--wallet-password-file",
    envvar="LEDGER_WALLET_PASSWORD_FILE",
    help="Read the wallet's passphrase from the first line of this file.",
)
SENDER = typer.Option(..., "--from", help="Key name (NAME or devnet:NAME) that signs and pays.")
OPTIONAL_SENDER = typer.Option(
    None, "--from", help="Key name that signs and pays, if a swap or a reveal is needed."
)
PASSWORD_FILE = typer.Option(
    None, "--password-file", help="Read the signing key's passphrase from this file."
)
TIMEOUT = typer.Option(
    120.0, "--timeout", min=0.1, help="Seconds to wait for each step (inclusion, signatures)."
)


@contextmanager
def mint_errors() -> Iterator[None]:
    """The mint's failures as one line and an exit code."""
    try:
        yield
    except WalletFileError as exc:
        raise CliError(str(exc)) from None
    except WalletError as exc:
        raise CliError(str(exc)) from None
    except MintSessionError as exc:
        code = ExitCode.TIMEOUT if "timed out" in str(exc) else ExitCode.FAILED
        raise CliError(str(exc), code) from None
    except ReceiptTimeout as exc:
        raise CliError(f"{exc} (the next bank command finishes it)", ExitCode.TIMEOUT) from None


def _wallet_passphrase(path: Path | None, create: bool) -> str:
    if path is not None:
        return read_secret_file(path, "wallet password")
    prompt = "New wallet passphrase" if create else "Wallet passphrase"
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=create, err=True)
    return value


def _open(cli: CliContext, name: str, password_file: Path | None, create: bool) -> OpenWallet:
    """Open the wallet (creating it if ``create`` and it does not exist)."""
    path = wallet_path(cli.home, name)
    chain_id = cli.client().chain_id()
    if create and not path.exists():
        if not cli.json:
            typer.echo(f"creating the notes wallet {path}", err=True)
        return create_wallet(path, _wallet_passphrase(password_file, True), chain_id)
    return open_wallet(path, _wallet_passphrase(password_file, False), chain_id)


def _signer(cli: CliContext, name: str, password_file: Path | None) -> Signer:
    keystore = cli.keystore()
    entry = keystore.entry(name)
    secret = None if name.startswith(DEVNET_PREFIX) else passphrase(password_file)
    if entry.insecure and not cli.json:
        typer.echo(f"note: {entry.name} is a publicly known devnet key (INSECURE)", err=True)
    return Signer(keystore.load(name, secret), name)


def _session(cli: CliContext, opened: OpenWallet, timeout: float) -> MintSession:
    def progress(line: str) -> None:
        if not cli.json:
            typer.echo(line, err=True)

    return MintSession(cli.client(), opened, os.urandom, timeout, progress=progress)


def _resume(cli: CliContext, session: MintSession, signer: Signer | None) -> list[str]:
    """Finish what earlier commands left in flight; lines for what still waits."""
    waiting = session.resume(signer)
    if not cli.json:
        for line in waiting:
            typer.echo(f"in flight: {line}", err=True)
    return waiting


def _amounts(notes: Any) -> str:
    counts: dict[int, int] = {}
    for note in notes:
        counts[note.amount] = counts.get(note.amount, 0) + 1
    return ", ".join(f"{n} x {a}" for a, n in sorted(counts.items(), reverse=True)) or "none"


@bank_app.command("keys")
@handles_errors
def keys(ctx: typer.Context) -> None:
    """The mint's keysets and their public keys (NUT-01's shape with -o json)."""
    cli = get_context(ctx)
    client = cli.client()
    infos = client.get_mint_keysets()
    found = {k.keyset_id: k for k in client.get_mint_keys()}
    entries: list[dict[str, Any]] = []
    for info in infos:
        public = found[info.keyset_id].keys if info.keyset_id in found else ()
        entries.append(
            {
                "id": info.keyset_id,
                "epoch": info.epoch,
                "unit": info.unit,
                "status": info.status,
                "active": info.active,
                "expiresAt": info.expires_at,
                "keys": {str(1 << i): key.hex() for i, key in enumerate(public)},
            }
        )

    def text() -> str:
        if not entries:
            return "this chain's mint has no keysets"
        lines = []
        for entry in entries:
            expiry = f", expires at {entry['expiresAt']}" if entry["expiresAt"] else ""
            lines.append(
                f"keyset {entry['id'] or '(being made)'}  epoch {entry['epoch']}  "
                f"{entry['status']}{expiry}  unit {entry['unit']}"
            )
            lines += [f"  {amount:>8}  {key}" for amount, key in entry["keys"].items()]
        return "\n".join(lines)

    emit(cli, {"keysets": entries}, text)


@bank_app.command("deposit")
@handles_errors
def deposit(
    ctx: typer.Context,
    amount: str = typer.Option(..., "--amount", help="Coin to deposit, in base units."),
    sender: str = SENDER,
    wallet: str = WALLET,
    wallet_password_file: Path | None = WALLET_PASSWORD_FILE,
    password_file: Path | None = PASSWORD_FILE,
    timeout: float = TIMEOUT,
) -> None:
    """Lock coin in the mint's reserve for notes of the same value."""
    cli = get_context(ctx)
    value = parse_positive(amount, "--amount")
    signer = _signer(cli, sender, password_file)
    cli.confirm(f"Deposit {value} coin into the mint from {sender} (fees for 1 transaction)?")
    with mint_errors(), _open(cli, wallet, wallet_password_file, True) as opened:
        session = _session(cli, opened, timeout)
        _resume(cli, session, signer)
        notes = session.deposit(signer, value)
        balance = opened.wallet.balance
    data = {
        "deposited": str(value),
        "notes": [str(n.amount) for n in notes],
        "balance": str(balance),
    }
    emit(cli, data, f"deposited {value}: notes {_amounts(notes)}\nwallet balance {balance}")


@bank_app.command("balance")
@handles_errors
def balance(
    ctx: typer.Context,
    sender: str | None = OPTIONAL_SENDER,
    wallet: str = WALLET,
    wallet_password_file: Path | None = WALLET_PASSWORD_FILE,
    password_file: Path | None = PASSWORD_FILE,
    timeout: float = TIMEOUT,
) -> None:
    """The notes the wallet holds (finishing first what is in flight)."""
    cli = get_context(ctx)
    signer = _signer(cli, sender, password_file) if sender else None
    with mint_errors(), _open(cli, wallet, wallet_password_file, False) as opened:
        waiting = _resume(cli, _session(cli, opened, timeout), signer)
        held = list(opened.wallet.notes)
    total = sum(n.amount for n in held)
    data = {
        "balance": str(total),
        "notes": [{"amount": str(n.amount), "keysetId": n.keyset_id} for n in held],
        "inFlight": waiting,
    }
    emit(cli, data, f"balance {total}\nnotes   {_amounts(held)}")


@bank_app.command("send")
@handles_errors
def send(
    ctx: typer.Context,
    amount: str = typer.Option(..., "--amount", help="Value of the token, in base units."),
    sender: str | None = OPTIONAL_SENDER,
    memo: str | None = typer.Option(None, "--memo", help="A memo carried by the token."),
    wallet: str = WALLET,
    wallet_password_file: Path | None = WALLET_PASSWORD_FILE,
    password_file: Path | None = PASSWORD_FILE,
    timeout: float = TIMEOUT,
) -> None:
    """Print a cashuB token worth the amount; its notes leave the wallet."""
    cli = get_context(ctx)
    value = parse_positive(amount, "--amount")
    signer = _signer(cli, sender, password_file) if sender else None
    with mint_errors(), _open(cli, wallet, wallet_password_file, False) as opened:
        session = _session(cli, opened, timeout)
        _resume(cli, session, signer)
        token = session.send(signer, value, memo)
        left = opened.wallet.balance
    if not cli.json:
        typer.echo(f"token worth {value}; wallet balance {left}", err=True)
    emit(cli, {"token": token, "amount": str(value), "balance": str(left)}, token)


@bank_app.command("receive")
@handles_errors
def receive(
    ctx: typer.Context,
    token: str = typer.Argument(..., help="A cashuB (or cashuA) token of this chain's mint."),
    sender: str = SENDER,
    wallet: str = WALLET,
    wallet_password_file: Path | None = WALLET_PASSWORD_FILE,
    password_file: Path | None = PASSWORD_FILE,
    timeout: float = TIMEOUT,
) -> None:
    """Swap a token's notes for fresh ones, so that the sender cannot spend them."""
    cli = get_context(ctx)
    signer = _signer(cli, sender, password_file)
    with mint_errors(), _open(cli, wallet, wallet_password_file, True) as opened:
        session = _session(cli, opened, timeout)
        _resume(cli, session, signer)
        notes = session.check_token(token)
        value = sum(n.amount for n in notes)
        cli.confirm(f"Receive {value} by swapping {len(notes)} notes, signed by {sender}?")
        result = session.swap(signer, notes)
        balance = opened.wallet.balance
    _report(cli, result, "received", balance)


@bank_app.command("redeem")
@handles_errors
def redeem(
    ctx: typer.Context,
    amount: str = typer.Option(..., "--amount", help="Value to pay out, in base units."),
    to: str = typer.Option(..., "--to", help="Address (lg1...) or key name to pay."),
    sender: str = SENDER,
    wallet: str = WALLET,
    wallet_password_file: Path | None = WALLET_PASSWORD_FILE,
    password_file: Path | None = PASSWORD_FILE,
    timeout: float = TIMEOUT,
) -> None:
    """Pay notes out of the mint's reserve to an account."""
    cli = get_context(ctx)
    value = parse_positive(amount, "--amount")
    recipient = decode_address(cli.resolve_address(to))
    signer = _signer(cli, sender, password_file)
    cli.confirm(f"Redeem {value} to {to}, signed by {sender} (2 transactions, more to split)?")
    with mint_errors(), _open(cli, wallet, wallet_password_file, False) as opened:
        session = _session(cli, opened, timeout)
        _resume(cli, session, signer)
        notes = session.exact_notes(signer, value)
        result = session.redeem(signer, notes, recipient)
        balance = opened.wallet.balance
    _report(cli, result, f"paid to {to}:", balance)


def _report(cli: CliContext, result: Redeemed, what: str, balance: int) -> None:
    data = {
        "won": str(result.won),
        "lost": str(result.lost),
        "notes": [str(n.amount) for n in result.notes],
        "balance": str(balance),
    }
    lines = [f"{what} {result.won}"]
    if result.lost:
        lines.append(f"lost {result.lost}: those notes were spent by someone else first")
    lines.append(f"wallet balance {balance}")
    emit(cli, data, "\n".join(lines))
    if result.lost:
        raise CliError(f"{result.lost} of the notes were already spent", ExitCode.FAILED)
