"""`ledger single`: one node, no consensus, with the JSON-RPC server: a dev chain.

Opens (or creates) a chain from a genesis file under HOME/single, produces
a block every --block-interval seconds with the first genesis validator as
proposer, and serves JSON-RPC on 127.0.0.1:8545 until Ctrl-C. Nothing is
replicated; blocks are final because this one node says so. For a real
network use `ledger start` / `ledger devnet`.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import typer

from cli.context import CliError, get_context, handles_errors
from consensus.node.local_node import LocalNode
from consensus.node.rpc.config import DEFAULT_PORT, RpcConfig
from consensus.node.rpc.explorer import explorer_url
from consensus.node.rpc.server import RpcServer
from ledger.chain import Chain
from ledger.genesis import GenesisError, load_genesis
from ledger.store import StoreError

from .local_run import DEFAULT_GENESIS


async def serve(node: LocalNode, config: RpcConfig) -> None:
    """Produce blocks and serve RPC until cancelled, SIGTERM or SIGINT."""
    server = RpcServer(node, config)
    await server.start()
    node.start()
    typer.echo(f"single node ({node.chain.chain_id}) at height {node.chain.tip.height}", err=True)
    typer.echo(f"JSON-RPC on {server.url}  (Ctrl-C to stop)", err=True)
    typer.echo(f"block explorer: {explorer_url(server.url)}", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        typer.echo("stopping", err=True)
    finally:
        await node.stop()
        await server.stop()


@handles_errors
def run_single_node(
    ctx: typer.Context,
    genesis_file: Path = typer.Option(DEFAULT_GENESIS, "--genesis", help="Genesis file."),
    rpc_host: str = typer.Option("127.0.0.1", "--rpc-host", help="Address to listen on."),
    rpc_port: int = typer.Option(DEFAULT_PORT, "--rpc-port", min=0, max=65535, help="RPC port."),
    rpc_allow_remote: bool = typer.Option(
        False, "--rpc-allow-remote", help="Allow --rpc-host to be a non-loopback address."
    ),
    block_interval: float = typer.Option(1.0, "--block-interval", min=0.01, help="Seconds."),
    empty_blocks: bool = typer.Option(True, "--empty-blocks/--no-empty-blocks"),
    reset: bool = typer.Option(False, "--reset", help="Delete the single-node chain first."),
) -> None:
    """Run a single-node development chain with JSON-RPC (no consensus, no peers).

    The chain lives in HOME/single/chain. --home is a global option and goes
    before the command: ledger --home DIR single.
    """
    cli = get_context(ctx)
    directory = cli.home / "single" / "chain"
    config = RpcConfig(host=rpc_host, port=rpc_port, allow_remote=rpc_allow_remote)
    try:
        config.check()
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if reset and directory.exists():
        cli.confirm(f"Delete the chain in {directory}?")
        shutil.rmtree(directory)
    try:
        genesis = load_genesis(genesis_file)
        chain = Chain.open(directory, genesis)
    except (GenesisError, StoreError) as exc:
        raise CliError(str(exc)) from None
    node = LocalNode(chain, genesis, block_interval=block_interval, empty_blocks=empty_blocks)
    try:
        asyncio.run(serve(node, config))
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    except OSError as exc:
        raise CliError(f"cannot listen on {rpc_host}:{rpc_port}: {exc.strerror}") from None
    finally:
        chain.close()
