"""`ledger keys ...`: the encrypted keystore under HOME/keys.

Real keys are encrypted (scrypt + AES-256-GCM, docs/spec/keystore.md);
devnet keys (publicly known, INSECURE) are added with `keys devnet`, live
in HOME/keys/devnet and are always named `devnet:NAME`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ledger.client.devnet import DEVNET_ACCOUNT_NAMES
from ledger.client.keystore import DEVNET_PREFIX, KeyEntry
from ledger.crypto import CryptoError, SigningKey

from .context import CliError, emit, get_context, handles_errors, passphrase, read_secret_file

keys_app = typer.Typer(
    help="Create, list, show, import, export and delete keys.", no_args_is_help=True
)

PASSWORD_FILE = typer.Option(
    None, "--password-file", help="Read the passphrase from the first line of this file."
)


def entry_json(entry: KeyEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "address": entry.address,
        "publicKey": entry.public_key.hex(),
        "insecure": entry.insecure,
        "file": str(entry.path),
    }


def entry_line(entry: KeyEntry) -> str:
    flag = "  INSECURE (devnet)" if entry.insecure else ""
    return f"{entry.name:20} {entry.address}{flag}"


@keys_app.command("new")
@handles_errors
def new_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the new key."),
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Create a new random key, encrypted with a passphrase."""
    cli = get_context(ctx)
    keystore = cli.keystore()
    keystore.path_of(name)  # reject a bad name before asking for a passphrase
    if keystore.path_of(name).exists():
        raise CliError(f"a key named {name!r} already exists")
    entry = keystore.create(name, passphrase(password_file, confirm=True))
    emit(
        cli,
        entry_json(entry),
        f"created key {entry.name}: {entry.address}\n"
        f"file {entry.path} (back it up; without the passphrase it cannot be opened)",
    )


@keys_app.command("import")
@handles_errors
def import_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name to store the key under."),
    secret_file: Path | None = typer.Option(
        None, "--secret-file", help="Read the 32-byte secret (hex) from this file."
    ),
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Import a raw secret key (64 hex characters) and encrypt it."""
    cli = get_context(ctx)
    keystore = cli.keystore()
    if keystore.path_of(name).exists():
        raise CliError(f"a key named {name!r} already exists")
    if secret_file is not None:
        text = read_secret_file(secret_file, "secret")
    else:
        text = typer.prompt("Secret key (hex)", hide_input=True, err=True)
    try:
        key = SigningKey(bytes.fromhex(text.strip().removeprefix("0x")))
    except (ValueError, CryptoError):
        raise CliError("the secret must be 64 hex characters, a valid secp256k1 key") from None
    entry = keystore.create(name, passphrase(password_file, confirm=True), key)
    emit(cli, entry_json(entry), f"imported key {entry.name}: {entry.address}")


@keys_app.command("list")
@handles_errors
def list_keys(ctx: typer.Context) -> None:
    """List the keys (devnet keys separately, flagged INSECURE)."""
    cli = get_context(ctx)
    keystore = cli.keystore()
    real = keystore.list()
    devnet = keystore.list(devnet=True)

    def text() -> str:
        lines = [entry_line(e) for e in real] or [f"no keys in {keystore.directory}"]
        if devnet:
            lines += ["", "devnet keys (publicly known: INSECURE, for local testing only):"]
            lines += [entry_line(e) for e in devnet]
        return "\n".join(lines)

    emit(
        cli,
        {"keys": [entry_json(e) for e in real], "devnet": [entry_json(e) for e in devnet]},
        text,
    )


@keys_app.command("show")
@handles_errors
def show_key(
    ctx: typer.Context, name: str = typer.Argument(..., help="NAME or devnet:NAME.")
) -> None:
    """Show a key's address and public key."""
    cli = get_context(ctx)
    entry = cli.keystore().entry(name)
    emit(
        cli,
        entry_json(entry),
        lambda: "\n".join(
            [
                f"name        {entry.name}",
                f"address     {entry.address}",
                f"public key  {entry.public_key.hex()}",
                f"file        {entry.path}",
            ]
            + (["INSECURE: a publicly known devnet key"] if entry.insecure else [])
        ),
    )


@keys_app.command("export")
@handles_errors
def export_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="NAME or devnet:NAME."),
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Print a key's raw secret (hex). Anyone who sees it controls the account."""
    cli = get_context(ctx)
    keystore = cli.keystore()
    entry = keystore.entry(name)
    cli.confirm(f"Print the secret key of {entry.name} ({entry.address}) in clear?")
    secret = None if entry.insecure else passphrase(password_file)
    key = keystore.load(name, secret)
    emit(
        cli,
        {"name": entry.name, "address": entry.address, "secret": key.secret.hex()},
        key.secret.hex(),
    )


@keys_app.command("delete")
@handles_errors
def delete_key(
    ctx: typer.Context, name: str = typer.Argument(..., help="NAME or devnet:NAME.")
) -> None:
    """Delete a key file (there is no undo: keep a backup or an export)."""
    cli = get_context(ctx)
    keystore = cli.keystore()
    entry = keystore.entry(name)
    cli.confirm(f"Delete key {entry.name} ({entry.address})? This cannot be undone.")
    path = keystore.delete(name)
    emit(cli, {"deleted": entry.name, "file": str(path)}, f"deleted {entry.name} ({path})")


@keys_app.command("devnet")
@handles_errors
def add_devnet_keys(
    ctx: typer.Context,
    accounts: list[str] | None = typer.Argument(
        None, help=f"Devnet accounts to add (default: all of {', '.join(DEVNET_ACCOUNT_NAMES)})."
    ),
) -> None:
    """Add the devnet's publicly known test keys as devnet:NAME (INSECURE)."""
    cli = get_context(ctx)
    keystore = cli.keystore()
    added = []
    for account in accounts or list(DEVNET_ACCOUNT_NAMES):
        if keystore.path_of(DEVNET_PREFIX + account).exists():
            continue
        added.append(keystore.add_devnet(account))
    emit(
        cli,
        {"added": [entry_json(e) for e in added]},
        lambda: "\n".join(
            [entry_line(e) for e in added]
            + [f"{len(added)} devnet keys added: publicly known, INSECURE, never hold value"]
        ),
    )
