"""A devnet of real node processes for tests: start, SIGKILL, restart, inspect.

Every node is a separate OS process (`python -m cli.main start`) on
127.0.0.1 with faster consensus timings than the default and its own log
file. Ports are drawn at random below the kernel's ephemeral range and not
probed beforehand: a node whose port is taken exits with "Address already in
use", and the harness starts it (or the whole network, at setup) again on
other ports. Nothing here reaches beyond loopback, and every wait is bounded
and waits on a condition.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.node.node_commands import prepare_devnet, write_home
from consensus.engine.certificate import CommitCertificate, decode_certificate
from consensus.engine.validators import Validator, ValidatorSet
from consensus.node.config import ConsensusConfig, NodeConfig, P2PConfig, RPCConfig
from consensus.node.privval import decode_guard_file
from ledger.client import LedgerClient, TransportError
from ledger.client.devnet import devnet_genesis_document, validator_key
from ledger.genesis import parse_genesis

ROOT = Path(__file__).resolve().parents[2]
FAST = ConsensusConfig(
    tick_ms=20,
    timeout_propose_ticks=40,
    timeout_vote_ticks=20,
    timeout_delta_ticks=20,
    block_interval_ms=150,
)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (TransportError, OSError):
            pass
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


PORT_FLOOR = 20_000
BIND_CLASH = "Address already in use"
START_ATTEMPTS = 5
STARTED = "started: p2p"  # the node's log line once RPC and p2p both listen


def ephemeral_port_floor() -> int:
    """The lowest port the kernel hands out for port 0: ports below it are
    never some other socket's automatic choice."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _moved_peer(peer: str, moved: dict[int, int]) -> str:
    """``[id@]host:port`` with its port replaced if it is in ``moved``."""
    address, _, port = peer.rpartition(":")
    return f"{address}:{moved.get(int(port), int(port))}"


class Devnet:
    """N validator processes; node i is `val-i` with the devnet's insecure keys.

    ``spares`` more nodes (`val-N`, ...) share the genesis of the N but are not
    in its validator set: they follow the chain until governance adds their
    key (``validator_key(N)``, ...). ``start_all`` starts the N validators only."""

    def __init__(self, home: Path, validators: int = 4, spares: int = 0) -> None:
        self.home = home
        self.validators = validators
        self.count = validators + spares
        self._rng = random.Random()  # ports only: no verdict depends on it
        self.nodes = prepare_devnet(home, validators, PORT_FLOOR, PORT_FLOOR, FAST)
        self.nodes += [self._prepare_spare(home, index) for index in range(validators, self.count)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * self.count
        self.clients: list[LedgerClient] = []
        self._assign_ports(list(range(self.count)))
        genesis = parse_genesis(devnet_genesis_document(validators))
        self.genesis = genesis

    def _prepare_spare(self, home: Path, index: int) -> dict[str, Any]:
        """A node with the validators' genesis and the key of validator
        ``index``, dialing the validators (its ports are assigned next)."""
        name = f"val-{index}"
        key = validator_key(index)
        document = devnet_genesis_document(self.validators)
        peers = tuple(f"127.0.0.1:{PORT_FLOOR + j}" for j in range(self.validators))
        config = NodeConfig(
            moniker=name,
            consensus=FAST,
            p2p=P2PConfig(listen_port=PORT_FLOOR + index, persistent_peers=peers),
            rpc=RPCConfig(listen_port=PORT_FLOOR + index),
        )
        write_home(home / name, config, document, key, key, True)
        return {"name": name, "home": str(home / name)}

    def _assign_ports(self, indexes: list[int]) -> None:
        """New random ports for nodes ``indexes``, written into their configs,
        and every peer entry that named one of their old p2p ports moved to
        the new one (other entries, such as a test's proxy, stay as set)."""
        from dataclasses import replace

        from consensus.node.config import encode_config, load_config

        paths = [Path(node["home"]) / "config.toml" for node in self.nodes]
        configs = [load_config(path) for path in paths]
        taken = {c.p2p.listen_port for c in configs} | {c.rpc.listen_port for c in configs}
        pool = [p for p in range(PORT_FLOOR, ephemeral_port_floor()) if p not in taken]
        fresh = self._rng.sample(pool, 2 * len(indexes))
        moved: dict[int, int] = {}
        for index, p2p, rpc in zip(indexes, fresh[::2], fresh[1::2], strict=True):
            moved[configs[index].p2p.listen_port] = p2p
            configs[index] = replace(
                configs[index],
                p2p=replace(configs[index].p2p, listen_port=p2p),
                rpc=replace(configs[index].rpc, listen_port=rpc),
            )
            self.nodes[index] |= {
                "p2p_port": p2p,
                "rpc_port": rpc,
                "rpc_url": f"http://127.0.0.1:{rpc}",
                "p2p_address": f"127.0.0.1:{p2p}",
            }
        for path, config in zip(paths, configs, strict=True):
            peers = tuple(_moved_peer(peer, moved) for peer in config.p2p.persistent_peers)
            path.write_text(
                encode_config(replace(config, p2p=replace(config.p2p, persistent_peers=peers)))
            )
        for client in self.clients:
            client.close()
        self.clients = [LedgerClient(node["rpc_url"], timeout=5.0) for node in self.nodes]

    # -- processes ---------------------------------------------------------
    def _log_path(self, index: int) -> Path:
        return Path(self.nodes[index]["home"]) / "node.log"

    def _launch(self, index: int, env: dict[str, str] | None = None) -> int:
        """Start node ``index``'s process (``env``: extra environment
        variables); the log offset its output starts at."""
        assert self.processes[index] is None or self.processes[index].poll() is not None
        path = self._log_path(index)
        offset = path.stat().st_size if path.exists() else 0
        log = open(path, "ab")  # noqa: SIM115 - the child owns it
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "start", "--home", self.nodes[index]["home"]],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        log.close()
        return offset

    def _await_listening(self, index: int, offset: int) -> bool:
        """Wait until node ``index`` listens (True) or exits because a port was
        taken (False: its output moves to a ``node.log.clash-N`` file)."""
        process = self.processes[index]
        assert process is not None
        path = self._log_path(index)

        def output() -> str:
            with open(path, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")

        wait_until(
            lambda: STARTED in output() or process.poll() is not None,
            90,
            f"node {index} to listen or exit",
        )
        if STARTED in output():
            return True
        text = output()
        assert BIND_CLASH in text, f"node {index} exited at start:\n{text[-3000:]}"
        self.processes[index] = None
        data = path.read_bytes()
        path.write_bytes(data[:offset])
        clashes = len(list(path.parent.glob("node.log.clash-*")))
        (path.parent / f"node.log.clash-{clashes}").write_bytes(data[offset:])
        return False

    def start(self, index: int, env: dict[str, str] | None = None) -> None:
        """Start node ``index`` (again; ``env``: extra environment variables)
        and wait until it listens; on a port clash, give it other ports (it
        dials its peers; they accept it)."""
        for _ in range(START_ATTEMPTS):
            if self._await_listening(index, self._launch(index, env)):
                return
            self._assign_ports([index])
        raise AssertionError(f"node {index}: {START_ATTEMPTS} port clashes in a row")

    def start_all(self) -> None:
        """Start every validator (not the spares) and wait until all listen. If a port was taken,
        stop them all and start the network again with other ports for the
        nodes that clashed (so every config names every peer's port)."""
        for _ in range(START_ATTEMPTS):
            offsets = [self._launch(index) for index in range(self.validators)]
            listening = [self._await_listening(i, offsets[i]) for i in range(self.validators)]
            clashed = [i for i, ok in enumerate(listening) if not ok]
            if not clashed:
                return
            self._stop_processes()
            self._assign_ports(clashed)
        raise AssertionError(f"{START_ATTEMPTS} port clashes in a row")

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` and reap it."""
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.processes[index] = None

    def stop_all(self) -> None:
        self._stop_processes()
        for client in self.clients:
            client.close()

    def _stop_processes(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for index, process in enumerate(self.processes):
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            self.processes[index] = None

    def running(self) -> list[int]:
        return [i for i, p in enumerate(self.processes) if p is not None and p.poll() is None]

    # -- observations ------------------------------------------------------
    def height(self, index: int) -> int:
        return self.clients[index].block_number()

    def heights(self, indexes: list[int] | None = None) -> list[int]:
        return [self.height(i) for i in (indexes if indexes is not None else self.running())]

    def wait_height(
        self, height: int, indexes: list[int] | None = None, timeout: float = 60
    ) -> None:
        targets = indexes if indexes is not None else self.running()
        wait_until(
            lambda: all(self.height(i) >= height for i in targets),
            timeout,
            f"nodes {targets} to reach height {height}",
        )

    def block_hash(self, index: int, height: int) -> bytes:
        block = self.clients[index].get_block(height)
        assert block is not None, f"node {index} has no block {height}"
        return block.hash

    def assert_same_chain(self, indexes: list[int] | None = None) -> int:
        """Every node has the same block hash and state root at the lowest common height."""
        targets = indexes if indexes is not None else self.running()
        common = min(self.height(i) for i in targets)
        blocks = [self.clients[i].get_block(common) for i in targets]
        assert all(b is not None for b in blocks)
        assert len({b.hash for b in blocks if b}) == 1, f"nodes disagree at height {common}"
        assert len({b.state_root for b in blocks if b}) == 1
        return common

    def validator_set(self, height: int) -> ValidatorSet:
        """The set with proposer priorities at ``height`` (no validator
        changes in these tests: replay the genesis set's priorities)."""
        validators = [
            Validator.from_public_key(v.public_key, v.power) for v in self.genesis.validators
        ]
        current = ValidatorSet.create(validators)
        for _ in range(1, height):
            current = current.next_height()
        return current

    def proposer_of(self, height: int, round: int = 0) -> int:
        """Index of the validator that proposes ``round`` of ``height``."""
        address = self.validator_set(height).proposer(round).address
        return [v.address for v in self.genesis.validators].index(address)

    def certificate(self, index: int, height: int) -> CommitCertificate:
        """The commit certificate of block ``height``, as block ``height + 1``
        on node ``index`` carries it."""
        block = self.clients[index].get_block(height + 1)
        assert block is not None and block.last_commit, f"node {index} has no block {height + 1}"
        certificate = decode_certificate(block.last_commit)
        assert certificate.height == height
        return certificate

    def commit_round(self, index: int, height: int) -> int:
        """The round in which block ``height`` was committed."""
        return self.certificate(index, height).round

    def last_signed_height(self, index: int) -> int:
        """The height of the last vote or proposal node ``index`` signed, from
        its double-sign guard file (read while the node is down: the guard
        records a position before the message is sent)."""
        assert index not in self.running(), "the guard file of a running node moves"
        path = Path(self.nodes[index]["home"]) / "data" / "signer_guard.json"
        position = decode_guard_file(path.read_text())
        return 0 if position is None else position.height

    def proposals(self, index: int) -> list[tuple[int, int]]:
        """(height, round) of every proposal node ``index`` has logged making."""
        pattern = re.compile(r"height=(\d+) round=(\d+) proposing")
        text = self._log_path(index).read_text(errors="replace")
        return [(int(h), int(r)) for h, r in pattern.findall(text)]

    def logs(self) -> dict[str, str]:
        return {
            node["name"]: (Path(node["home"]) / "node.log").read_text(errors="replace")
            for node in self.nodes
        }

    def describe(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "running": self.running()}
