"""What every command shares: the global options, output, errors and exit codes.

Global options (before the command: ``ledger -o json query status``):
``--node URL`` (env LEDGER_NODE), ``--home DIR`` (env LEDGER_HOME, default
~/.ledger), ``-o/--output text|json``, ``-y/--yes`` (no confirmation
prompts), ``--debug`` (tracebacks instead of one-line errors).

Exit codes (docs/guide/cli.md): 0 success; 1 bad input or local failure
(unknown key, wrong passphrase, invalid address); 2 command-line usage
(unknown option, missing argument); 3 node unreachable or RPC error; 4
transaction rejected by the node; 5 transaction included but failed
(receipt status != 0); 6 timed out waiting for inclusion; 130 interrupted.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer

from ledger.address import AddressError, decode_address
from ledger.client import (
    ClientError,
    LedgerClient,
    ReceiptTimeout,
    RpcError,
    TransactionRejected,
)
from ledger.client.keystore import Keystore, KeystoreError

P = ParamSpec("P")
R = TypeVar("R")


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


class ExitCode(IntEnum):
    OK = 0
    INPUT = 1
    USAGE = 2
    NODE = 3
    REJECTED = 4
    FAILED = 5
    TIMEOUT = 6
    INTERRUPTED = 130


class CliError(Exception):
    """A failure to report as one line with an exit code."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def default_home() -> Path:
    return Path(os.environ.get("LEDGER_HOME") or Path.home() / ".ledger")


@dataclass
class CliContext:
    node: str
    home: Path
    output: OutputFormat
    yes: bool
    debug: bool
    _client: LedgerClient | None = None

    @property
    def json(self) -> bool:
        return self.output is OutputFormat.json

    def client(self) -> LedgerClient:
        if self._client is None:
            try:
                self._client = LedgerClient(self.node)
            except ValueError as exc:
                raise CliError(str(exc)) from None
        return self._client

    def keystore(self) -> Keystore:
        return Keystore(self.home)

    def resolve_address(self, text: str) -> str:
        """An address given as ``lg1...`` or as a key name in the keystore."""
        try:
            decode_address(text)
            return text
        except AddressError as exc:
            if text.lower().startswith("lg1"):
                raise CliError(f"invalid address {text!r}: {exc}") from None
        try:
            return self.keystore().entry(text).address
        except KeystoreError:
            raise CliError(f"{text!r} is neither an address (lg1...) nor a key name") from None

    def confirm(self, question: str) -> None:
        """Ask on the terminal unless --yes; raises CliError when declined."""
        if self.yes:
            return
        if not typer.confirm(question, default=False, err=True):
            raise CliError("cancelled")


def get_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):  # a sub-app invoked on its own (tests)
        obj = CliContext(
            os.environ.get("LEDGER_NODE", "http://127.0.0.1:8545"),
            default_home(),
            OutputFormat.text,
            False,
            False,
        )
        ctx.find_root().obj = obj
    return obj


def emit(ctx: CliContext, data: Any, text: str | Callable[[], str]) -> None:
    """Print ``data`` as JSON with -o json, else ``text`` (a string or a thunk)."""
    if ctx.json:
        typer.echo(json.dumps(data, indent=2, sort_keys=False))
    else:
        typer.echo(text() if callable(text) else text)


def fail(message: str, code: ExitCode) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(int(code))


def handles_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn the known failures of a command into one line on stderr and an exit code
    (with --debug, let them through with their traceback)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            code, message = classify(exc)
            if code is None or _debug_requested(args, kwargs):
                raise
            raise fail(message, code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", ExitCode.INTERRUPTED) from None

    return wrapper


def classify(exc: BaseException) -> tuple[ExitCode | None, str]:
    """The exit code and message of a known failure (None: a bug, let it raise)."""
    if isinstance(exc, CliError):
        return exc.exit_code, exc.message
    if isinstance(exc, ReceiptTimeout):
        return ExitCode.TIMEOUT, str(exc)
    if isinstance(exc, TransactionRejected):
        return ExitCode.REJECTED, f"transaction rejected: {exc.message}"
    if isinstance(exc, RpcError):
        return ExitCode.NODE, f"node error {exc.code}: {exc.message}"
    if isinstance(exc, ClientError):
        return ExitCode.NODE, str(exc)
    if isinstance(exc, KeystoreError | AddressError):
        return ExitCode.INPUT, str(exc)
    return None, ""


def _debug_requested(args: Any, kwargs: Any) -> bool:
    for value in (*args, *kwargs.values()):
        if isinstance(value, typer.Context):
            return get_context(value).debug
    return False


def read_secret_file(path: Path, what: str) -> str:
    """The first line of a file (a passphrase for scripts), without its newline."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    return text.splitlines()[0] if text else ""


def passphrase(password_file: Path | None, confirm: bool = False) -> str:
    """From --password-file, else prompted without echo."""
    if password_file is not None:
        return read_secret_file(password_file, "password")
    value: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    return value
