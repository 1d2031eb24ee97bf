"""A vote tap: a non-validator peer that listens to every validator directly
and keeps every signed vote and proposal it hears, to check that no
validator ever signed two different ones for one height, round and step.

It dials each node's real p2p port (not through the faulty network, so a
partition between validators does not hide anything from it), completes
the real handshake as a plain peer, and reads the consensus channel.
Validators broadcast every message they sign to all their peers and
re-broadcast their own messages of the latest rounds every gossip interval,
so a message a validator signed reaches the tap unless the tap was
disconnected from it for the whole time the message was being gossiped.
Commit certificates that pass by add their precommits. The tap sends
nothing but the handshake and pong replies, so it changes nothing about
consensus. Every message kept is checked against the signer's key from the
genesis: what the tap reports as equivocation is proven.

It runs in a thread with its own event loop, redials a node that went down,
and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

import aiohttp

from consensus.engine.certificate import CommitCertificate
from consensus.engine.messages import MessageError, Proposal, Vote
from consensus.engine.wire import CommitMessage, ProposalMessage, decode_message
from consensus.node.p2p import CONSENSUS_CHANNEL, run_handshake
from ledger import codec
from ledger.crypto import SigningKey, verify_digest

# A position: (signer address, height, round, step); step 0 is a proposal.
Position = tuple[bytes, int, int, int]
PROPOSAL_STEP = 0


@dataclass(frozen=True)
class Equivocation:
    """Two different signed messages of one validator at one position."""

    position: Position
    first: bytes  # the signed payloads' digests
    second: bytes


class VoteTap:
    """Listen to the nodes on ``ports`` as a peer; collect signed consensus messages."""

    def __init__(self, ports: list[int], chain_id: str, validator_keys: dict[bytes, bytes]) -> None:
        self.ports = ports
        self.chain_id = chain_id
        self.keys = validator_keys  # address -> public key
        self.key = SigningKey(os.urandom(32))
        self._lock = threading.Lock()
        self._signed: dict[Position, set[bytes]] = defaultdict(set)  # digests seen there
        # One entry per distinct message heard (a test's run): its position, if
        # it is a vote or a proposal, and how often it was heard (re-broadcasts).
        self._seen_messages: dict[bytes, Position | None] = {}
        self._heard: Counter[Position] = Counter()
        self.messages = 0
        self.rejected = 0  # messages whose signature did not verify (never expected)
        self.connections = [0] * len(ports)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> VoteTap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    # -- results --------------------------------------------------------------
    def positions(self) -> int:
        with self._lock:
            return len(self._signed)

    def equivocations(self) -> list[Equivocation]:
        with self._lock:
            return [
                Equivocation(position, *sorted(digests)[:2])
                for position, digests in sorted(self._signed.items())
                if len(digests) > 1
            ]

    def heights_signed_by(self, address: bytes) -> set[int]:
        with self._lock:
            return {height for (signer, height, _, _) in self._signed if signer == address}

    def latest_of(self, address: bytes) -> tuple[Position | None, int]:
        """The latest position (height, round, step) at which ``address`` was
        heard signing, and how many times that message was heard. A validator
        re-broadcasts its latest messages every gossip interval, so a count
        that keeps growing at one position shows a validator stuck there (no
        quorum to move on), in the nodes' own time."""
        with self._lock:
            mine = [position for position in self._heard if position[0] == address]
            if not mine:
                return None, 0
            latest = max(mine, key=lambda position: position[1:])
            return latest, self._heard[latest]

    # -- collecting -----------------------------------------------------------
    def _record(self, position: Position, digest: bytes, signature: bytes) -> Position | None:
        """Keep a signed message at its position; None if its signature fails."""
        key = self.keys.get(position[0])
        if key is None or not verify_digest(key, digest, signature):
            self.rejected += 1
            return None
        with self._lock:
            self._signed[position].add(digest)
        return position

    def _vote(self, vote: Vote) -> Position | None:
        position = (vote.validator, vote.height, vote.round, int(vote.step))
        return self._record(position, vote.signing_digest(self.chain_id), vote.signature)

    def add_certificate(self, certificate: CommitCertificate) -> None:
        """Count the precommits of a certificate read elsewhere (the chain)."""
        for vote in certificate.precommits():
            self._vote(vote)

    def _proposal(self, proposal: Proposal) -> Position | None:
        position = (proposal.proposer, proposal.height, proposal.round, PROPOSAL_STEP)
        return self._record(position, proposal.signing_digest(self.chain_id), proposal.signature)

    def _on_consensus(self, payload: bytes) -> None:
        digest = message_id(payload)
        if digest in self._seen_messages:
            position = self._seen_messages[digest]  # a re-broadcast
            if position is not None:
                with self._lock:
                    self._heard[position] += 1
            return
        self._seen_messages[digest] = None
        self.messages += 1
        try:
            message = decode_message(payload)
        except MessageError:
            self.rejected += 1
            return
        position = None
        if isinstance(message, Vote):
            position = self._vote(message)
        elif isinstance(message, ProposalMessage):
            position = self._proposal(message.proposal)
        elif isinstance(message, CommitMessage):
            self.add_certificate(message.certificate)
        if position is not None:
            self._seen_messages[digest] = position
            with self._lock:
                self._heard[position] += 1

    # -- the connections --------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            tasks = [
                asyncio.create_task(self._listen(index, port, session))
                for index, port in enumerate(self.ports)
            ]
            await self._stop.wait()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _listen(self, index: int, port: int, session: aiohttp.ClientSession) -> None:
        """Stay connected to one node: dial, handshake, read; redial after a pause."""
        while True:
            with contextlib.suppress(Exception):  # a node down, restarting or paused: redial
                await self._connection(index, port, session)
            await asyncio.sleep(0.2)

    async def _connection(self, index: int, port: int, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            f"ws://127.0.0.1:{port}/p2p",
            heartbeat=10.0,
            max_msg_size=16 * 1024 * 1024,
            timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
        ) as ws:
            handshake = await asyncio.wait_for(
                run_handshake(ws, self.key, self.chain_id, True, None, os.urandom(32)), 10
            )
            self.connections[index] += 1
            while True:
                message = await ws.receive()
                if message.type != aiohttp.WSMsgType.BINARY:
                    return
                frame = codec.decode(handshake.receiver.open(message.data), max_size=1 << 26)
                if isinstance(frame, tuple) and len(frame) == 2 and frame[0] == CONSENSUS_CHANNEL:
                    payload = frame[1]
                    if isinstance(payload, bytes):
                        self._on_consensus(payload)


def message_id(data: bytes) -> bytes:
    """A short identity for a message's bytes (to skip re-broadcasts)."""
    return hashlib.blake2b(data, digest_size=16).digest()
