"""A devnet of real node processes for tests: start, SIGKILL, restart, inspect.

Every node is a separate OS process (`python -m cli.main start`) on
127.0.0.1 with ports picked free at setup, faster consensus timings than the
default, and its own log file. Nothing here reaches beyond loopback, and
every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.node.node_commands import free_local_ports, prepare_devnet, write_home
from consensus.engine.validators import Validator, ValidatorSet
from consensus.node.config import ConsensusConfig, NodeConfig
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


class Devnet:
    """N validator processes; node i is `val-i` with the devnet's insecure keys.

    ``spares`` more nodes (`val-N`, ...) share the genesis of the N but are not
    in its validator set: they follow the chain until governance adds their
    key (``validator_key(N)``, ...). ``start_all`` starts the N validators only."""

    def __init__(self, home: Path, validators: int = 4, spares: int = 0) -> None:
        self.home = home
        self.validators = validators
        self.count = validators + spares
        count = self.count
        ports = free_local_ports(2 * count)
        # prepare_devnet numbers ports from a base; write each node's config from
        # consecutive free ports by preparing one node at a time is overkill:
        # instead prepare with the first base and patch every config below.
        self.nodes = prepare_devnet(home, validators, ports[0], ports[count], FAST)
        self.nodes += [self._prepare_spare(home, index) for index in range(validators, count)]
        self._patch_ports(ports[:count], ports[count:])
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * count
        self.clients = [LedgerClient(node["rpc_url"], timeout=5.0) for node in self.nodes]
        genesis = parse_genesis(devnet_genesis_document(validators))
        self.genesis = genesis

    def _prepare_spare(self, home: Path, index: int) -> dict[str, Any]:
        """A node with the validators' genesis and the key of validator ``index``."""
        name = f"val-{index}"
        key = validator_key(index)
        document = devnet_genesis_document(self.validators)
        write_home(home / name, NodeConfig(moniker=name, consensus=FAST), document, key, key, True)
        return {"name": name, "home": str(home / name)}

    def _patch_ports(self, p2p: list[int], rpc: list[int]) -> None:
        from dataclasses import replace

        from consensus.node.config import encode_config, load_config

        for index, node in enumerate(self.nodes):
            path = Path(node["home"]) / "config.toml"
            config = load_config(path)
            peers = tuple(f"127.0.0.1:{p}" for j, p in enumerate(p2p) if j != index)
            config = replace(
                config,
                p2p=replace(config.p2p, listen_port=p2p[index], persistent_peers=peers),
                rpc=replace(config.rpc, listen_port=rpc[index]),
            )
            path.write_text(encode_config(config))
            node["rpc_url"] = f"http://127.0.0.1:{rpc[index]}"
            node["p2p_port"] = p2p[index]
            node["rpc_port"] = rpc[index]

    # -- processes ---------------------------------------------------------
    def start(self, index: int) -> None:
        assert self.processes[index] is None or self.processes[index].poll() is not None
        home = self.nodes[index]["home"]
        log = open(Path(home) / "node.log", "ab")  # noqa: SIM115 - the child owns it
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "start", "--home", home],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        log.close()

    def start_all(self) -> None:
        for index in range(self.validators):
            self.start(index)

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` and reap it."""
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.processes[index] = None

    def stop_all(self) -> None:
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
        for client in self.clients:
            client.close()

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

    def next_proposer(self) -> int:
        """Index of the validator that proposes round 0 of the next height
        (no validator changes in these tests: replay the priorities)."""
        tip = max(self.heights())
        validators = [
            Validator.from_public_key(v.public_key, v.power) for v in self.genesis.validators
        ]
        current = ValidatorSet.create(validators)
        for _ in range(1, tip + 1):
            current = current.next_height()
        address = current.proposer(0).address
        return [v.address for v in self.genesis.validators].index(address)

    def logs(self) -> dict[str, str]:
        return {
            node["name"]: (Path(node["home"]) / "node.log").read_text(errors="replace")
            for node in self.nodes
        }

    def describe(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "running": self.running()}
