"""The `ledger` command: the entry point that mounts every sub-command."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Final

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


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"ledger {package_version()}")
        raise typer.Exit()


def package_version() -> str:
    try:
        return metadata.version("ledger-node")
    except metadata.PackageNotFoundError:  # a checkout run without installing
        return "unknown (not installed)"


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
    version: bool = typer.Option(
        False, "--version", callback=show_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """A BFT-replicated ledger node. Run `ledger COMMAND --help` for a command's options.

    The options above may also come after the command: `ledger query status -o json`.
    """
    ctx.obj = CliContext(node, home, output, yes, debug)


# The root options a command may be given after its own name, and whether each takes a value.
GLOBAL_OPTIONS: Final = {
    "--node": True,
    "--home": True,
    "--output": True,
    "-o": True,
    "--yes": False,
    "-y": False,
    "--debug": False,
}


def hoist_global_options(root_command: Any, args: list[str]) -> list[str]:
    """``args`` with the global options that follow the command moved before
    it, where click expects them (``ledger tx send ... -y`` is ``ledger -y tx
    send ...``). An option the command defines itself (``init --home``,
    ``vm asm -o``) stays where it is, as does anything after ``--`` and
    the value of one of the command's own options. (Commands are handled by
    their click attributes, ``commands``, ``params``, ``opts``, ``is_flag``:
    typer ships click itself in some versions and depends on it in others.)"""
    leading: list[str] = []
    position, command = 0, root_command
    while position < len(args):  # the global options already in front
        token = args[position]
        name = token.split("=", 1)[0]
        if name not in GLOBAL_OPTIONS:
            break
        width = 2 if GLOBAL_OPTIONS[name] and "=" not in token else 1
        leading += args[position : position + width]
        position += width
    path = []
    while position < len(args) and isinstance(getattr(command, "commands", None), dict):
        sub = command.commands.get(args[position])
        if sub is None:
            break
        path.append(args[position])
        command, position = sub, position + 1
    own = {name for p in command.params for name in (*p.opts, *p.secondary_opts)}
    valued = {
        name
        for p in command.params
        if takes_value(p) and not getattr(p, "count", False)
        for name in p.opts
    }
    hoisted: list[str] = []
    rest: list[str] = []
    rest_args = args[position:]
    index = 0
    while index < len(rest_args):
        token = rest_args[index]
        name = token.split("=", 1)[0]
        if token == "--":
            rest += rest_args[index:]
            break
        if name in own:
            width = 2 if token in valued else 1
            rest += rest_args[index : index + width]
            index += width
        elif name in GLOBAL_OPTIONS:
            width = 2 if GLOBAL_OPTIONS[name] and "=" not in token else 1
            hoisted += rest_args[index : index + width]
            index += width
        else:
            rest.append(token)
            index += 1
    return [*leading, *hoisted, *path, *rest]


def takes_value(param: Any) -> bool:
    """An option that is followed by a value (not a flag, not an argument)."""
    return getattr(param, "param_type_name", "") == "option" and not getattr(
        param, "is_flag", False
    )


def without_flag_types(command: Any) -> Any:
    """Hide the ``<bool>`` type the help shows beside every flag (``--yes``,
    ``--wait/--no-wait``): a flag takes no value, so it has no type to show."""
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    make_help_option = command.get_help_option  # --help is made per context, not a param

    def help_option(ctx: Any) -> Any:
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        without_flag_types(sub)
    return command


def build_command() -> Any:
    """The click command of the `ledger` app, as the console script runs it."""
    return without_flag_types(typer.main.get_command(app))


def main() -> None:
    """Console-script entry point."""
    command = build_command()
    command.main(args=hoist_global_options(command, sys.argv[1:]), prog_name="ledger")


if __name__ == "__main__":
    main()
