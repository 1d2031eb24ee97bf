"""The lock outlives the WAL, on a real node process (issue 13 section 3).

One devnet validator runs as a process; the test plays the other three
(the devnet's validator keys are public) over one p2p connection with the
real protocol (tests/process/hostile_peer.py), so it decides what the node
sees, round by round:

1. in some round R, the proposer offers block A and the other three
   prevote A: the node prevotes and precommits A (it is locked on A);
2. the node is killed (SIGKILL) and its WAL moved aside, as the
   WAL-corruption advice says; it is started again;
3. in a later round the proposer offers block B without a proof of lock.

A node that forgot its lock would prevote B, a vote conflicting with its
precommit for A. It must prevote nil, and send no vote for B at all: its
lock comes back from the copy kept with the double-sign guard
(data/signer_lock.bin).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from consensus.engine.messages import Step, Vote, sign_proposal, sign_vote
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import Message, ProposalMessage, decode_message, encode_message
from consensus.node.application import LedgerApplication
from consensus.node.p2p import CONSENSUS_CHANNEL
from ledger.address import address_of
from ledger.chain import Chain
from ledger.client.devnet import validator_key
from ledger.crypto import SigningKey, sha256

from .devnet_harness import Devnet, wait_until
from .hostile_peer import HostilePeer, hostile_peer

pytestmark = pytest.mark.timeout(180)

KEYS = {address_of(validator_key(i).public_key): validator_key(i) for i in range(4)}


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Devnet]:
    devnet = Devnet(tmp_path / "devnet", validators=4)
    try:
        yield devnet
    finally:
        devnet.stop_all()


def genesis_set(net: Devnet) -> ValidatorSet:
    return ValidatorSet.create(
        Validator.from_public_key(v.public_key, v.power) for v in net.genesis.validators
    )


def build_block(net: Devnet, directory: Path, proposer: bytes, time_ms: int) -> bytes:
    """A valid block at height 1 (built on a copy of the genesis)."""
    chain = Chain.open(directory, net.genesis)
    try:
        validators = genesis_set(net)
        return LedgerApplication(chain, lambda height: validators).build([], proposer, time_ms, b"")
    finally:
        chain.close()


class Player:
    """The three other validators, speaking to the node over one connection."""

    def __init__(self, net: Devnet, node: bytes) -> None:
        self.chain_id = net.genesis.chain_id
        self.node = node
        self.validators = genesis_set(net)
        self.seen: list[Message] = []  # the node's own messages, in order

    def proposer(self, round: int) -> bytes:
        return self.validators.proposer(round).address

    def others(self) -> list[bytes]:
        return sorted(a for a in KEYS if a != self.node)

    async def watch(self, peer: HostilePeer, done: Callable[[Message], bool]) -> Message:
        """Read until the node sends one of its own messages that is ``done``."""
        async with asyncio.timeout(60):
            while True:
                frame = await peer.receive(60)
                assert frame is not None, "the node closed the connection"
                channel, payload = frame
                if channel != CONSENSUS_CHANNEL or not isinstance(payload, bytes):
                    continue
                message = decode_message(payload)
                signer = (
                    message.validator
                    if isinstance(message, Vote)
                    else message.proposal.proposer
                    if isinstance(message, ProposalMessage)
                    else None
                )
                if signer != self.node:
                    continue
                self.seen.append(message)
                if done(message):
                    return message

    async def propose(self, peer: HostilePeer, round: int, block: bytes, block_hash: bytes) -> None:
        proposer = self.proposer(round)
        signed = sign_proposal(KEYS[proposer], self.chain_id, 1, round, -1, block_hash, proposer)
        await peer.send(CONSENSUS_CHANNEL, encode_message(ProposalMessage(signed, block)))

    async def prevote(
        self, peer: HostilePeer, round: int, value: bytes | None, voters: list[bytes]
    ) -> None:
        for voter in voters:
            vote = sign_vote(KEYS[voter], self.chain_id, Step.PREVOTE, 1, round, value, voter)
            await peer.send(CONSENSUS_CHANNEL, encode_message(vote))

    def next_round(self, after: int) -> int:
        """The first round after ``after`` that the node does not propose."""
        round = after + 1
        while self.proposer(round) == self.node:
            round += 1
        return round


def test_invalid_a_validator_whose_wal_was_moved_aside_keeps_its_lock(
    net: Devnet, tmp_path: Path
) -> None:
    index = 2  # the test's rounds are chosen so that it never proposes them
    node = address_of(validator_key(index).public_key)
    player = Player(net, node)
    key = SigningKey(sha256(b"the other validators"))
    port = net.nodes[index]["p2p_port"]

    async def session(act: Callable[[HostilePeer], Awaitable[None]]) -> None:
        async with (
            aiohttp.ClientSession() as client,
            hostile_peer(port, key, net.genesis.chain_id, client) as peer,
        ):
            await act(peer)

    # 1. Lock the node on A in some round R.
    locked: dict[str, bytes | int] = {}

    async def lock(peer: HostilePeer) -> None:
        first = await player.watch(peer, lambda m: True)  # it runs rounds of height 1
        r = player.next_round(_round(first))
        block_a = build_block(net, tmp_path / "a", player.proposer(r), 1_000)
        a_hash = _block_id(block_a)
        await player.propose(peer, r, block_a, a_hash)
        await player.prevote(peer, r, a_hash, player.others())
        precommit = await player.watch(
            peer, lambda m: isinstance(m, Vote) and m.step is Step.PRECOMMIT and m.round == r
        )
        assert isinstance(precommit, Vote) and precommit.block_hash == a_hash
        locked.update(round=r, hash=a_hash)

    net.start(index)
    wait_until(lambda: net.height(index) >= 0, 60, "the node's RPC")
    asyncio.run(session(lock))
    assert net.height(index) == 0

    # 2. SIGKILL, the WAL moved aside, restart.
    net.kill(index)
    data = Path(net.nodes[index]["home"]) / "data"
    shutil.move(data / "wal", data / "wal.corrupt")
    net.start(index)
    wait_until(lambda: net.height(index) >= 0, 60, "the node's RPC again")
    player.seen.clear()
    locked_round = locked["round"]
    assert isinstance(locked_round, int)

    # 3. A later round offers B without a proof of lock.
    async def tempt(peer: HostilePeer) -> None:
        first = await player.watch(peer, lambda m: True)
        r2 = player.next_round(max(_round(first), locked_round))
        block_b = build_block(net, tmp_path / "b", player.proposer(r2), 2_000)
        b_hash = _block_id(block_b)
        await player.prevote(peer, r2, None, player.others()[:2])  # f+1: go to round r2
        await player.propose(peer, r2, block_b, b_hash)
        await player.watch(
            peer, lambda m: isinstance(m, Vote) and m.step is Step.PREVOTE and m.round == r2
        )
        locked.update(round_2=r2, b_hash=b_hash)

    asyncio.run(session(tempt))
    votes = [m for m in player.seen if isinstance(m, Vote)]
    prevotes_r2 = [v.block_hash for v in votes if v.round == locked["round_2"]]
    assert prevotes_r2 == [None]  # nil: the lock on A held
    assert all(v.block_hash != locked["b_hash"] for v in votes)
    log = (Path(net.nodes[index]["home"]) / "node.log").read_text(errors="replace")
    assert "resuming from the lock copy" in log


def _round(message: Message) -> int:
    if isinstance(message, Vote):
        return message.round
    assert isinstance(message, ProposalMessage)
    return message.proposal.round


def _block_id(block: bytes) -> bytes:
    from ledger.types import decode_block

    return decode_block(block).hash
