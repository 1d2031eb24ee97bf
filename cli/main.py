"""The `ledger` command: the entry point that mounts every sub-command."""

from __future__ import annotations

import typer

from cli.local_run import run_local
from cli.vm_commands import vm_app

app = typer.Typer(
    name="ledger",
    help="A BFT-replicated ledger node: transfers, barter, contracts, threshold keys.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("run")(run_local)
app.add_typer(vm_app, name="vm")


@app.callback()
def root() -> None:
    """A BFT-replicated ledger node. Run `ledger COMMAND --help` for a command's options."""


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
