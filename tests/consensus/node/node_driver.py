"""Drive one real ``Node`` in process, as one validator of a four-validator
devnet whose other three validators the test plays (their keys are public).

The node is the real class (store, WAL, guard, lock copy, application,
engine); only its p2p layer is not started: what it broadcasts is recorded,
and what the other validators "send" goes through the node's own handlers
(``_on_consensus_message``, ``_on_sync_message``), exactly as p2p would
hand it over. Nothing here sleeps or reads a clock.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cli.node.node_commands import free_local_ports, prepare_devnet
from consensus.engine.messages import Step, Vote, sign_proposal, sign_vote
from consensus.engine.wire import Message, ProposalMessage, decode_message, encode_message
from consensus.node.config import load_config, load_key_file
from consensus.node.node import Node
from consensus.node.p2p import CONSENSUS_CHANNEL
from ledger.address import address_of
from ledger.client.devnet import validator_key
from ledger.crypto import SigningKey
from ledger.genesis import load_genesis

VALIDATORS = 4


def prepare(tmp_path: Path) -> list[Path]:
    """The homes of a four-validator devnet (nothing started)."""
    p2p, rpc = free_local_ports(2)
    return [Path(info["home"]) for info in prepare_devnet(tmp_path / "net", VALIDATORS, p2p, rpc)]


@dataclass
class DrivenNode:
    """A Node and what it broadcast on the consensus channel."""

    node: Node
    sent: list[Message] = field(default_factory=list)

    @property
    def chain_id(self) -> str:
        return self.node.genesis.chain_id

    def deliver(self, message: Message) -> None:
        self.node._on_consensus_message(encode_message(message))

    def own_votes(self, step: Step, round: int) -> list[Vote]:
        address = self.node.validator_address
        return [
            m
            for m in self.sent
            if isinstance(m, Vote)
            and m.validator == address
            and m.step is step
            and m.round == round
        ]


def open_node(home: Path) -> DrivenNode:
    """The node of ``home`` with its broadcasts recorded (p2p not started)."""
    key = load_key_file(home / "validator_key.json")
    node = Node(
        home,
        load_config(home / "config.toml"),
        load_genesis(home / "genesis.json"),
        load_key_file(home / "node_key.json"),
        key,
    )
    driven = DrivenNode(node)

    def record(channel: int, payload: object) -> int:
        if channel == CONSENSUS_CHANNEL:
            assert isinstance(payload, bytes)
            driven.sent.append(decode_message(payload))
        return 1

    node.p2p.broadcast = record  # type: ignore[method-assign]
    return driven


def run(step: Callable[[], None]) -> None:
    """Run ``step`` inside an event loop (the node schedules its next height)."""

    async def body() -> None:
        step()

    asyncio.run(body())


def close(driven: DrivenNode) -> None:
    asyncio.run(driven.node.stop())


def lose_wal(home: Path) -> None:
    """What the WAL-corruption advice tells the operator to do: move it aside."""
    wal = home / "data" / "wal"
    shutil.move(wal, home / "data" / "wal.corrupt")


def key_of(address: bytes) -> SigningKey:
    for index in range(VALIDATORS):
        key = validator_key(index)
        if address_of(key.public_key) == address:
            return key
    raise KeyError(address)


def proposal(
    driven: DrivenNode, height: int, round: int, block: bytes, pol_round: int = -1
) -> ProposalMessage:
    """The proposal of (height, round) for ``block``, signed by that round's proposer."""
    node = driven.node
    proposer = node.validator_set(height).proposer(round).address
    block_hash = node.app.block_hash(block)
    signed = sign_proposal(
        key_of(proposer), driven.chain_id, height, round, pol_round, block_hash, proposer
    )
    return ProposalMessage(signed, block)


def votes(
    driven: DrivenNode,
    step: Step,
    height: int,
    round: int,
    block_hash: bytes | None,
    voters: list[bytes],
) -> list[Vote]:
    return [
        sign_vote(key_of(a), driven.chain_id, step, height, round, block_hash, a) for a in voters
    ]


def others(driven: DrivenNode, height: int) -> list[bytes]:
    """The other validators' addresses at ``height``, sorted."""
    own = driven.node.validator_address
    return sorted(
        v.address for v in driven.node.validator_set(height).validators if v.address != own
    )


def block_at(driven: DrivenNode, height: int, round: int, time_ms: int) -> bytes:
    """A valid block on the node's tip proposed by the proposer of ``round``."""
    node = driven.node
    proposer = node.validator_set(height).proposer(round).address
    last_commit = b""
    if height > 1:
        last_commit = node.chain.store.load_certificate(height - 1) or b""
    return node.app.build([], proposer, time_ms, last_commit)
