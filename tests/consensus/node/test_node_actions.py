"""Carrying out the engine's actions (issue 14 section 1, docs/adr/0017): one
failing action never silently drops the rest. A failed Broadcast is logged
and the round goes on (timeouts, votes, the commit); a failed Persist stops
the node before the message that depended on it leaves."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from cli.node.node_commands import free_local_ports, prepare_devnet
from consensus.node.config import load_config, load_key_file
from consensus.node.node import Node, NodeError
from consensus.node.p2p import CONSENSUS_CHANNEL, FrameTooLarge
from ledger.genesis import load_genesis


def _single_validator(tmp_path: Path) -> Node:
    p2p, rpc = free_local_ports(2)
    [info] = prepare_devnet(tmp_path / "net", 1, p2p, rpc)
    home = Path(info["home"])
    key = load_key_file(home / "validator_key.json")
    return Node(
        home, load_config(home / "config.toml"), load_genesis(home / "genesis.json"), key, key
    )


def test_a_failing_broadcast_drops_nothing_else(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node = _single_validator(tmp_path)

    def refuse(channel: int, payload: object) -> int:
        if channel == CONSENSUS_CHANNEL:
            raise FrameTooLarge("no frame carries this")
        return 0

    node.p2p.broadcast = refuse  # type: ignore[method-assign]

    async def run() -> None:
        node._start_engine()

    try:
        with caplog.at_level(logging.ERROR, logger="consensus.node"):
            asyncio.run(run())
        # The proposal, the votes and the commit all went through, although
        # every broadcast failed; the failures are logged with what failed.
        assert node.chain.tip.height == 1
        assert not node._stopped.is_set()
        assert "carrying out Broadcast failed" in caplog.text
    finally:
        asyncio.run(node.stop())


def test_a_failing_persist_stops_the_node_before_anything_leaves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node = _single_validator(tmp_path)
    sent: list[object] = []

    def record(channel: int, payload: object) -> int:
        sent.append(payload)
        return 1

    def disk_full(record: bytes, sync: bool = True) -> None:
        raise OSError(28, "No space left on device")

    node.p2p.broadcast = record  # type: ignore[method-assign]
    node.wal.append = disk_full  # type: ignore[method-assign]

    async def run() -> None:
        node._start_engine()

    try:
        with caplog.at_level(logging.CRITICAL, logger="consensus.node"):
            asyncio.run(run())
        assert sent == []  # the signed proposal never left
        assert node._stopped.is_set()
        assert node.chain.tip.height == 0
        assert "stopping the node: Persist failed" in caplog.text
    finally:
        asyncio.run(node.stop())


def test_invalid_frame_limit_below_the_chains_blocks_refuses_to_start(tmp_path: Path) -> None:
    from dataclasses import replace

    p2p, rpc = free_local_ports(2)
    [info] = prepare_devnet(tmp_path / "net", 1, p2p, rpc)
    home = Path(info["home"])
    config = load_config(home / "config.toml")
    small = replace(config, p2p=replace(config.p2p, max_frame_bytes=4 * 1024 * 1024))
    key = load_key_file(home / "validator_key.json")
    with pytest.raises(NodeError, match=r"set p2p\.max_frame_bytes to at least"):
        Node(home, small, load_genesis(home / "genesis.json"), key, key)
