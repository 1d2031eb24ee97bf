"""`ledger init`, `ledger start` and `ledger devnet`: running validator nodes."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer

from consensus.node.config import (
    ConfigError,
    ConsensusConfig,
    NodeConfig,
    P2PConfig,
    RPCConfig,
    encode_config,
    load_config,
    save_key_file,
)
from consensus.node.rpc.explorer import explorer_url
from ledger.address import address_of, encode_address
from ledger.client.devnet import (
    DEVNET_ACCOUNT_NAMES,
    account_key,
    devnet_genesis_document,
    validator_key,
)
from ledger.crypto import SigningKey
from ledger.genesis import GenesisError, load_genesis

DEVNET_P2P_BASE = 26656
DEVNET_RPC_BASE = 8545
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def free_local_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 right now (for tests and
    benchmarks), drawn below the kernel's ephemeral range: a port handed out
    for port 0 could meanwhile become some client connection's source port,
    and the node that is given it would fail to bind."""
    ceiling = _ephemeral_port_floor()
    rng = random.Random()
    sockets: list[socket.socket] = []
    try:
        for _ in range(100 * count):
            if len(sockets) == count:
                break
            probe = socket.socket()
            try:
                probe.bind(("127.0.0.1", rng.randrange(20_000, ceiling)))
            except OSError:
                probe.close()
                continue
            sockets.append(probe)
        if len(sockets) < count:
            raise OSError(f"could not find {count} free ports on 127.0.0.1")
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def _ephemeral_port_floor() -> int:
    """The lowest port the kernel hands out for port 0 (32768 if unknown)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768
    return max(low, 20_100)


def write_home(
    home: Path,
    config: NodeConfig,
    genesis_document: dict[str, Any],
    node_key: SigningKey,
    validator_signing_key: SigningKey,
    insecure: bool,
) -> None:
    """Lay out a node's home directory (see consensus.node.config)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "data").mkdir(exist_ok=True)
    (home / "config.toml").write_text(encode_config(config))
    (home / "genesis.json").write_text(json.dumps(genesis_document, indent=2) + "\n")
    save_key_file(home / "node_key.json", node_key, insecure=insecure)
    save_key_file(home / "validator_key.json", validator_signing_key, insecure=insecure)


def init(
    home: Path = typer.Option(..., help="The node's home directory (created)."),
    moniker: str = typer.Option("node", help="A name for this node in logs and status."),
    genesis: Path | None = typer.Option(
        None, help="Genesis file to join (default: the devnet's genesis)."
    ),
    p2p_host: str = typer.Option(
        "127.0.0.1", help="P2P listen address (0.0.0.0 to let other machines dial in)."
    ),
    p2p_port: int = typer.Option(26656, help="P2P listen port."),
    rpc_host: str = typer.Option(
        "127.0.0.1", help="JSON-RPC listen address (beyond loopback needs --rpc-allow-external)."
    ),
    rpc_port: int = typer.Option(8545, help="JSON-RPC listen port."),
    rpc_allow_external: bool = typer.Option(
        False, help="Allow --rpc-host beyond loopback: anyone who reaches it can use the API."
    ),
    peers: list[str] = typer.Option(
        [], "--peer", help="host:port of a peer to dial (repeat, or separate with commas)."
    ),
    force: bool = typer.Option(False, help="Overwrite an existing home."),
) -> None:
    """Create a node home: config.toml, genesis.json, node and validator keys."""
    if (home / "config.toml").exists() and not force:
        typer.echo(f"error: {home} is already initialized (use --force to overwrite)", err=True)
        raise typer.Exit(1)
    try:
        peer_addresses = parse_peers(peers)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if rpc_host not in LOOPBACK_HOSTS and not rpc_allow_external:
        typer.echo(
            f"error: --rpc-host {rpc_host} is beyond loopback: add --rpc-allow-external "
            "if you mean to serve the API to other machines",
            err=True,
        )
        raise typer.Exit(1)
    try:
        document = json.loads(genesis.read_text()) if genesis else devnet_genesis_document()
        if genesis:
            load_genesis(genesis)
    except (OSError, ValueError, GenesisError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    config = NodeConfig(
        moniker=moniker,
        p2p=P2PConfig(listen_host=p2p_host, listen_port=p2p_port, persistent_peers=peer_addresses),
        rpc=RPCConfig(
            listen_host=rpc_host, listen_port=rpc_port, allow_external=rpc_allow_external
        ),
    )
    validator = SigningKey.generate()
    write_home(home, config, document, SigningKey.generate(), validator, insecure=False)
    typer.echo(f"initialized {home}")
    typer.echo(f"validator public key: {validator.public_key.hex()}")
    typer.echo(f"validator address:    {encode_address(address_of(validator.public_key))}")


def parse_peers(values: list[str]) -> tuple[str, ...]:
    """``host:port`` peers from repeated and comma-separated --peer values.
    Raises ValueError naming a malformed one."""
    peers = []
    for value in values:
        for peer in (part.strip() for part in value.split(",")):
            if not peer:
                continue
            host, _, port = peer.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"--peer {peer!r}: expected host:port")
            peers.append(peer)
    return tuple(peers)


def start(
    home: Path = typer.Option(..., help="The node's home directory."),
) -> None:
    """Run a node until SIGINT or SIGTERM."""
    from consensus.node.node import NodeError, run_node

    try:
        run_node(home)
    except (ConfigError, GenesisError, NodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def devnet(
    validators: int = typer.Option(4, min=1, max=20, help="Number of validator processes."),
    home: Path = typer.Option(Path(".devnet"), help="Directory for every node's home and logs."),
    reset: bool = typer.Option(False, help="Delete the devnet directory first."),
    p2p_base: int = typer.Option(
        DEVNET_P2P_BASE,
        envvar="LEDGER_DEVNET_P2P_BASE",
        help="First P2P port (one per node; used when a node's home is created).",
    ),
    rpc_base: int = typer.Option(
        DEVNET_RPC_BASE,
        envvar="LEDGER_DEVNET_RPC_BASE",
        help="First RPC port (one per node; used when a node's home is created).",
    ),
    detach: bool = typer.Option(
        False, help="Start the nodes, wait for the first block, return (stop with --stop)."
    ),
    stop: bool = typer.Option(False, help="Stop the devnet started in --home (its devnet.json)."),
    timeout: float = typer.Option(
        60.0, min=1.0, help="Seconds --detach waits for the first block, --stop for exits."
    ),
) -> None:
    """Start a local devnet: N validators as separate processes on 127.0.0.1.

    The devnet's keys are publicly known and INSECURE (ledger/devnet.py).
    """
    home = home.resolve()  # the manifest and the nodes' command lines name absolute paths
    if stop:
        stopped = stop_devnet_manifest(home, timeout)
        typer.echo(f"stopped {stopped} node process(es) of the devnet in {home}")
        return
    running = running_devnet_pids(home)
    if running:
        typer.echo(
            f"error: the devnet in {home} is running (pids {', '.join(map(str, running))}); "
            f"stop it first: ledger devnet --stop --home {home}",
            err=True,
        )
        raise typer.Exit(1)
    if reset and home.exists():
        shutil.rmtree(home)
    nodes = prepare_devnet(home, validators, p2p_base, rpc_base)
    processes = launch_devnet(home, nodes)
    write_devnet_manifest(home, nodes, processes)
    typer.echo(f"devnet of {validators} validators started; manifest {home / 'devnet.json'}")
    typer.echo("test account keys (INSECURE, for the devnet only): " + str(home / "accounts"))
    typer.echo(f"block explorer: {explorer_url(nodes[0]['rpc_url'])}")
    if detach:
        try:
            wait_for_first_block(nodes, processes, timeout)
        except DevnetError as exc:
            stop_devnet(processes)
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"every node has committed block 1; first node's RPC: {nodes[0]['rpc_url']}")
        typer.echo(f"logs: {home}/val-*/node.log; stop with: ledger devnet --stop --home {home}")
        return
    try:
        watch_devnet(nodes, processes)
    finally:
        stop_devnet(processes)


class DevnetError(Exception):
    """The devnet did not come up (the message names the node and its log)."""


def wait_for_first_block(
    nodes: list[dict[str, Any]], processes: list[subprocess.Popen[bytes]], timeout: float
) -> None:
    """Return once every node answers on RPC at height >= 1. Raises DevnetError
    when a node exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    waiting = list(range(len(nodes)))
    while waiting:
        for index in list(waiting):
            node, process = nodes[index], processes[index]
            if process.poll() is not None:
                log = Path(node["home"]) / "node.log"
                code = process.returncode
                raise DevnetError(f"{node['name']} exited with code {code}; see {log}")
            status = rpc_status(node["rpc_url"])
            if status is not None and int(status.get("height", 0)) >= 1:
                waiting.remove(index)
        if not waiting:
            return
        if time.monotonic() >= deadline:
            names = ", ".join(nodes[i]["name"] for i in waiting)
            raise DevnetError(f"no block 1 from {names} after {timeout:g} s; see their node.log")
        time.sleep(0.2)


def manifest_pids(home: Path) -> list[int]:
    """The node pids recorded in DIR/devnet.json ([] when there is none)."""
    try:
        manifest = json.loads((home / "devnet.json").read_text())
    except (OSError, ValueError):
        return []
    nodes = manifest.get("nodes", []) if isinstance(manifest, dict) else []
    return [n["pid"] for n in nodes if isinstance(n, dict) and isinstance(n.get("pid"), int)]


def is_devnet_node(pid: int, home: Path) -> bool:
    """Whether ``pid`` is alive and (where /proc tells) a `ledger start` of a
    node under ``home``: a pid left in an old manifest may belong to anyone now."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # not ours
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # no /proc here: trust the manifest
    try:
        arguments = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        cwd = Path(os.readlink(proc / "cwd"))
    except OSError:
        return False
    if "start" not in arguments or "--home" not in arguments[:-1]:
        return False
    node_home = (cwd / arguments[arguments.index("--home") + 1]).resolve()
    return node_home.parent == home.resolve()


def running_devnet_pids(home: Path) -> list[int]:
    return [pid for pid in manifest_pids(home) if is_devnet_node(pid, home)]


def stop_devnet_manifest(home: Path, grace_s: float) -> int:
    """SIGTERM the node processes of DIR/devnet.json, wait up to ``grace_s``,
    then SIGKILL stragglers. Returns how many were running."""
    pids = running_devnet_pids(home)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _alive(pid: int) -> bool:
    """Alive and not a zombie (a zombie's parent has not reaped it yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(")")[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def prepare_devnet(
    home: Path,
    count: int,
    p2p_base: int,
    rpc_base: int,
    consensus: ConsensusConfig | None = None,
) -> list[dict[str, Any]]:
    """Write each node's home (once; kept across restarts) and the account key files.
    ``consensus`` overrides the default consensus settings (tests run faster blocks)."""
    document = devnet_genesis_document(count)
    nodes = []
    for index in range(count):
        name = f"val-{index}"
        node_home = home / name
        p2p_port, rpc_port = p2p_base + index, rpc_base + index
        peers = tuple(f"127.0.0.1:{p2p_base + j}" for j in range(count) if j != index)
        if not (node_home / "config.toml").exists():
            config = NodeConfig(
                moniker=name,
                p2p=P2PConfig(listen_port=p2p_port, persistent_peers=peers),
                rpc=RPCConfig(listen_port=rpc_port),
                consensus=consensus or ConsensusConfig(),
            )
            key = validator_key(index)
            write_home(node_home, config, document, key, key, insecure=True)
        config = load_config(node_home / "config.toml")
        nodes.append(
            {
                "name": name,
                "home": str(node_home),
                "rpc_url": f"http://127.0.0.1:{config.rpc.listen_port}",
                "p2p_address": f"127.0.0.1:{config.p2p.listen_port}",
            }
        )
    accounts_dir = home / "accounts"
    accounts_dir.mkdir(parents=True, exist_ok=True)
    for name in DEVNET_ACCOUNT_NAMES:
        path = accounts_dir / f"{name}.json"
        if not path.exists():
            save_key_file(path, account_key(name), insecure=True)
    return nodes


def launch_devnet(home: Path, nodes: list[dict[str, Any]]) -> list[subprocess.Popen[bytes]]:
    """Start one `ledger start` process per node, logging to HOME/NAME/node.log."""
    processes = []
    for node in nodes:
        log = open(Path(node["home"]) / "node.log", "ab")  # noqa: SIM115 - owned by the child
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "cli.main", "start", "--home", node["home"]],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
    return processes


def write_devnet_manifest(
    home: Path, nodes: list[dict[str, Any]], processes: list[subprocess.Popen[bytes]]
) -> None:
    """DIR/devnet.json: chain id, nodes (name, RPC URL, p2p address, home, pid), accounts."""
    manifest = {
        "chain_id": devnet_genesis_document()["chain_id"],
        "insecure": True,
        "nodes": [
            {**node, "pid": process.pid} for node, process in zip(nodes, processes, strict=True)
        ],
        "accounts": [
            {
                "name": name,
                "address": encode_address(address_of(account_key(name).public_key)),
                "key_file": str(home / "accounts" / f"{name}.json"),
            }
            for name in DEVNET_ACCOUNT_NAMES
        ],
    }
    (home / "devnet.json").write_text(json.dumps(manifest, indent=2) + "\n")


def rpc_status(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """ledger_status of one node, or None if it does not answer."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ledger_status"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    result = reply.get("result") if isinstance(reply, dict) else None
    return result if isinstance(result, dict) else None


def watch_devnet(nodes: list[dict[str, Any]], processes: list[subprocess.Popen[bytes]]) -> None:
    """A live status line until Ctrl-C or every node has exited."""
    interrupted = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not interrupted:
        if all(p.poll() is not None for p in processes):
            typer.echo("\nevery node has exited; see the node.log files")
            return
        parts = []
        for node, process in zip(nodes, processes, strict=True):
            status = rpc_status(node["rpc_url"]) if process.poll() is None else None
            if status is None:
                parts.append(f"{node['name']}: {'down' if process.poll() is not None else '...'}")
            else:
                parts.append(
                    f"{node['name']}: h={status.get('height')} peers={status.get('peers')}"
                )
        sys.stdout.write("\r" + " | ".join(parts) + "   ")
        sys.stdout.flush()
        for _ in range(10):
            if interrupted:
                break
            time.sleep(0.1)
    typer.echo("\nstopping the devnet ...")


def stop_devnet(processes: list[subprocess.Popen[bytes]], grace_s: float = 10.0) -> None:
    """SIGTERM every node, wait, then SIGKILL stragglers."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


__all__ = ["devnet", "init", "start"]
