"""The `ledger` command: the entry point that mounts every sub-command."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import CliContext, OutputFormat, default_home
from cli.features.bank.asset_commands import asset_app
from cli.features.bank.mint_commands import bank_app
from cli.features.bank.tx_commands import tx_app
from cli.features.barter.barter_commands import barter_app
from cli.features.barter.swap_commands import swap_app
from cli.features.contracts.contract_commands import contract_app
from cli.features.mail.mail_commands import mail_app
from cli.features.policy.policy_commands import policy_app
from cli.features.threshold.threshold_commands import threshold_app
from cli.keys_commands import keys_app
from cli.node.local_run import run_local
from cli.node.node_commands import devnet, init, start
from cli.node.single_node import run_single_node
from cli.query_commands import query_app
from cli.sim_commands import sim
from cli.vm_commands import vm_app
from ledger.client import DEFAULT_URL

app = typer.Typer(
    name="ledger",
    help="A BFT-replicated ledger node: transfers, barter, contracts, threshold keys.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("run")(run_local)
app.command("init")(init)
app.command("start")(start)
app.command("devnet")(devnet)
app.add_typer(contract_app, name="contract")
app.add_typer(keys_app, name="keys")
app.add_typer(mail_app, name="mail")
app.add_typer(query_app, name="query")
app.add_typer(threshold_app, name="threshold")
app.add_typer(tx_app, name="tx")
app.add_typer(vm_app, name="vm")
app.command("single")(run_single_node)
app.command("sim")(sim)
app.add_typer(asset_app, name="asset")
app.add_typer(bank_app, name="bank")
app.add_typer(barter_app, name="barter")
app.add_typer(swap_app, name="swap")
app.add_typer(policy_app, name="policy")


@app.callback()
def root(
    ctx: typer.Context,
    node: str = typer.Option(DEFAULT_URL, "--node", envvar="LEDGER_NODE", help="Node RPC URL."),
    home: Path = typer.Option(
        default_home(), "--home", envvar="LEDGER_HOME", help="Keys and local data."
    ),
    output: OutputFormat = typer.Option(OutputFormat.text, "--output", "-o", help="text or json."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """A BFT-replicated ledger node. Run `ledger COMMAND --help` for a command's options."""
    ctx.obj = CliContext(node, home, output, yes, debug)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
