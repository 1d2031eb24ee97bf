"""Compact proposals through the real Node (store, application, engine):
the proposer with ``[p2p] compact_proposals`` sends hashes and serves what
peers lack; a validator rebuilds a compact proposal from its mempool,
fetches the missing transaction, punishes a peer that serves a wrong one,
and prevotes the block only once it has the genuine bytes. p2p is not
started (tests.consensus.node.node_driver); nothing sleeps."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from consensus.engine.messages import Step
from consensus.node.compact_proposals import (
    CompactProposal,
    GetTxs,
    Txs,
    compact_form,
    decode_compact_message,
    encode_compact_message,
)
from consensus.node.p2p import COMPACT_CHANNEL, PeerMisbehaved
from ledger.address import address_of
from ledger.client.calls import sign_transfer
from ledger.client.devnet import account_key
from ledger.types import Transaction, decode_block
from tests.consensus.node.node_driver import DrivenNode, close, open_node, prepare, proposal

PEER = b"\x05" * 20
FEE = 1000


def transfer(name: str, chain_id: str) -> Transaction:
    recipient = address_of(account_key("heidi").public_key)
    return sign_transfer(account_key(name), chain_id, 0, recipient, 7, fee=FEE)


def driven_nodes(tmp_path: Path) -> tuple[DrivenNode, DrivenNode]:
    """The proposer of height 1 round 0, and another validator."""
    nodes = [open_node(home) for home in prepare(tmp_path)]
    proposer = nodes[0].node.validator_set(1).proposer(0).address
    first = next(d for d in nodes if d.node.validator_address == proposer)
    other = next(d for d in nodes if d.node.validator_address != proposer)
    for driven in nodes:
        if driven not in (first, other):
            close(driven)
    return first, other


def record_sends(driven: DrivenNode) -> list[tuple[bytes, int, object]]:
    sends: list[tuple[bytes, int, object]] = []

    def send(peer: bytes, channel: int, payload: object) -> bool:
        sends.append((peer, channel, payload))
        return True

    driven.node.p2p.send = send  # type: ignore[assignment]
    return sends


def test_a_proposer_with_the_switch_on_sends_hashes_and_serves_them(tmp_path: Path) -> None:
    proposer, other = driven_nodes(tmp_path)
    close(other)
    node = proposer.node
    node.config = replace(node.config, p2p=replace(node.config.p2p, compact_proposals=True))
    broadcasts: list[tuple[int, object]] = []
    node.p2p.broadcast = lambda channel, payload: broadcasts.append((channel, payload)) or 3  # type: ignore[method-assign]
    sends = record_sends(proposer)
    tx = transfer("alice", proposer.chain_id)
    node.mempool.add(tx)

    async def body() -> None:
        node._start_engine()  # proposes height 1
        [compact] = [decode_compact_message(p) for c, p in broadcasts if c == COMPACT_CHANNEL]
        assert isinstance(compact, CompactProposal)
        assert compact.tx_hashes == (tx.hash,)
        # The transaction went out as gossip before the compact proposal.
        channels = [c for c, _ in broadcasts]
        assert channels.index(COMPACT_CHANNEL) > 0
        request = GetTxs(compact.proposal.block_hash, (0,))
        await node._on_p2p_message(PEER, COMPACT_CHANNEL, encode_compact_message(request))
        [(peer, channel, answer)] = sends
        assert (peer, channel) == (PEER, COMPACT_CHANNEL)
        assert decode_compact_message(answer) == Txs(
            compact.proposal.block_hash, (0,), (tx.encode(),)
        )

    try:
        asyncio.run(body())
        assert node.compact.traffic.proposals_compact == 1
        assert node.compact.traffic.proposals_full == 0
    finally:
        close(proposer)


def test_a_validator_fetches_what_it_lacks_and_punishes_a_wrong_answer(tmp_path: Path) -> None:
    proposer, driven = driven_nodes(tmp_path)
    close(proposer)
    node = driven.node
    sends = record_sends(driven)
    held, lacking = transfer("alice", driven.chain_id), transfer("bob", driven.chain_id)
    node.mempool.add(held)
    address = node.validator_set(1).proposer(0).address

    async def body() -> None:
        node._start_engine()  # height 1, not its turn to propose
        raw = node.app.build([held, lacking], address, 1_000, b"")
        block = decode_block(raw)
        compact = compact_form(proposal(driven, 1, 0, raw), block)
        assert compact is not None
        await node._on_p2p_message(PEER, COMPACT_CHANNEL, encode_compact_message(compact))
        [(peer, channel, request)] = sends
        assert (peer, channel) == (PEER, COMPACT_CHANNEL)
        assert decode_compact_message(request) == GetTxs(block.hash, (1,))
        assert driven.own_votes(Step.PREVOTE, 0) == []  # waits for the transaction

        wrong = Txs(block.hash, (1,), (transfer("carol", driven.chain_id).encode(),))
        with pytest.raises(PeerMisbehaved, match="not the one asked for"):
            await node._on_p2p_message(PEER, COMPACT_CHANNEL, encode_compact_message(wrong))
        assert driven.own_votes(Step.PREVOTE, 0) == []

        right = Txs(block.hash, (1,), (lacking.encode(),))
        await node._on_p2p_message(PEER, COMPACT_CHANNEL, encode_compact_message(right))
        [prevote] = driven.own_votes(Step.PREVOTE, 0)
        assert prevote.block_hash == block.hash
        assert node.engine.votes.round(0).proposal is not None
        assert node.engine.votes.round(0).proposal.block == raw

    try:
        asyncio.run(body())
    finally:
        close(driven)
