"""The p2p transport: authenticated, encrypted peers over aiohttp WebSockets,
carrying msgpack frames on numbered channels. It knows nothing of the engine.

- **Peers.** A node listens on ``ws://host:port/p2p`` and dials its
  persistent peers, redialing with capped exponential backoff and jitter.
  Every connection starts with the handshake of consensus.node.p2p_handshake
  (X25519 key agreement, both node keys signing the transcript, an optional
  validator attestation); every frame after it is encrypted and
  authenticated with ChaCha20-Poly1305 under keys bound to both node ids.
  The peer id is the address of the peer's node key. ``PeerInfo.is_voter``
  says whether the peer's proven validator key (or its node key) is in the
  validator set (the config's predicate).
- **Slots.** Persistent peers and validators are always admitted (reserved
  slots); other peers share ``max_peers`` slots, at most
  ``max_peers_per_ip`` from one address. Inbound handshakes in progress are
  capped in total and per address, and time out after ``handshake_timeout``.
  Two nodes that dial each other keep one connection: the one dialed by the
  node with the smaller peer id.
- **Frames.** One WebSocket binary message = the sealed canonical encoding
  (ledger.codec) of ``[channel, payload]``, at most ``max_frame_size`` bytes
  before sealing. A received frame is checked against its channel's
  ``DecodeLimits`` before it is unpacked, so one frame costs little
  whoever sends it.
- **Bans are for proven misbehaviour only.** A frame that decrypted under the
  session key came from the peer: if it is undecodable, over its limits, on
  an unknown channel, or its handler raises ``PeerMisbehaved``, the peer is
  disconnected and its id banned for ``ban_seconds``. Anything an on-path
  attacker or a stall could cause (a frame failing authentication, a text
  or oversized WebSocket frame, a missed keepalive, a closed socket) only
  disconnects; dialers redial. ``punish`` and ``add_score`` let reactors
  ban or score a peer for what it sent.
- **Sending.** Each peer has a queue bounded in frames and in bytes, drained
  by its own writer task. ``send``/``broadcast`` never block: if a peer's
  queue is full the frame is dropped for that peer and counted
  (``PeerInfo.dropped``), and a peer whose queue stays full for
  ``stall_timeout`` is disconnected as unhealthy. What a slow peer misses is
  re-sent by the reactors' re-gossip. ``send_wait`` applies backpressure
  instead, for callers that prefer to wait.

Delivery calls ``on_message(peer_id, channel, payload)`` (sync or async) in
frame order per peer. The byte-exact format is in docs/spec/p2p.md.

Over 600 lines for a reason: one transport. The connection's lifecycle,
its framing, the per-peer and total limits and the redial loop share the
peer table; the pure handshake and cipher are apart
(consensus.node.p2p_handshake).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import random
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

import aiohttp
from aiohttp import web

from consensus.node.p2p_handshake import (
    EPHEMERAL_KEY_SIZE,
    MAX_HANDSHAKE_MESSAGE,
    PROTOCOL_VERSION,
    TAG_SIZE,
    FrameAuthenticationError,
    FrameCipher,
    HandshakeError,
    Hello,
    WrongChain,
    decode_hello,
    derive_session,
    encode_hello,
    ephemeral_public_key,
    sign_auth,
    verify_auth,
)
from ledger import codec
from ledger.address import AddressError, address_of, decode_address, encode_address
from ledger.codec import DecodeLimits
from ledger.crypto import SigningKey

log = logging.getLogger("consensus.p2p")

CONSENSUS_CHANNEL: Final = 0x20
COMPACT_CHANNEL: Final = 0x21  # compact proposals, fetches (consensus.node.compact_proposals)
MEMPOOL_CHANNEL: Final = 0x30
BLOCKSYNC_CHANNEL: Final = 0x40
THRESHOLD_CHANNEL: Final = 0x50  # threshold-key ceremonies (consensus.node.threshold.service)
STATESYNC_CHANNEL: Final = 0x60  # state-sync snapshots (consensus.node.statesync)
DEFAULT_CHANNELS: Final = frozenset(
    {
        CONSENSUS_CHANNEL,
        COMPACT_CHANNEL,
        MEMPOOL_CHANNEL,
        BLOCKSYNC_CHANNEL,
        THRESHOLD_CHANNEL,
        STATESYNC_CHANNEL,
    }
)
P2P_PATH: Final = "/p2p"

# WebSocket close codes (4000-4999 are for applications).
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL: Final = 4000
CLOSE_WRONG_CHAIN: Final = 4001
CLOSE_BAD_HANDSHAKE: Final = 4002
CLOSE_DUPLICATE: Final = 4003
CLOSE_REFUSED: Final = 4004
CLOSE_STALLED: Final = 4005

# A payload on a channel without its own limits: generous, but bounded.
DEFAULT_PAYLOAD_LIMITS: Final = DecodeLimits(max_objects=4096, max_depth=8, max_map=256)
FRAME_HEAD: Final = 0x92  # a canonical frame starts with a 2-element fixarray

PeerId = bytes
OnMessage = Callable[[PeerId, int, codec.Value], Awaitable[None] | None]
WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


def never_a_voter(public_key: bytes) -> bool:
    return False


class PeerMisbehaved(Exception):
    """Raised by a message handler to have the sending peer disconnected and banned."""


class FrameTooLarge(ValueError):
    """A frame to send exceeds the maximum frame size (split the payload)."""


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """Where to dial a peer: ``host:port``, ``[v6]:port``, optionally ``lg1...@`` first
    to pin the peer's identity."""

    host: str
    port: int
    peer_id: PeerId | None = None

    @classmethod
    def parse(cls, text: str) -> PeerAddress:
        """Raises ValueError for malformed text."""
        peer_id = None
        if "@" in text:
            id_text, text = text.split("@", 1)
            try:
                peer_id = decode_address(id_text)
            except AddressError as exc:
                raise ValueError(f"bad peer id in {id_text!r}: {exc}") from exc
        host, sep, port_text = text.rpartition(":")
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"peer address {text!r} is not host:port")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return cls(host, int(port_text), peer_id)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{P2P_PATH}"

    def __str__(self) -> str:
        prefix = encode_address(self.peer_id) + "@" if self.peer_id else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{prefix}{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class P2PConfig:
    node_key: SigningKey
    chain_id: str
    listen_host: str = "127.0.0.1"
    listen_port: int = 0  # 0: any free port (see P2PNode.listen_port)
    persistent_peers: tuple[str, ...] = ()
    is_voter: Callable[[bytes], bool] = never_a_voter
    validator_key: SigningKey | None = None  # proven to peers in the handshake
    channels: frozenset[int] = DEFAULT_CHANNELS
    channel_limits: Mapping[int, DecodeLimits] = field(default_factory=dict)
    max_frame_size: int = 10 * 1024 * 1024
    send_queue_size: int = 1024  # frames per peer
    send_queue_bytes: int = 64 * 1024 * 1024  # bytes per peer
    stall_timeout: float = 10.0  # seconds a peer's queue may stay full
    handshake_timeout: float = 5.0
    dial_timeout: float = 5.0  # TCP connect and WebSocket upgrade of an outbound dial
    max_peers: int = 64  # peers beyond the reserved ones (persistent peers, validators)
    max_peers_per_ip: int = 8  # of those, from one address
    max_handshakes: int = 32  # inbound handshakes in progress
    max_handshakes_per_ip: int = 8
    backoff_initial: float = 0.25
    backoff_max: float = 30.0
    heartbeat: float = 15.0  # WebSocket ping interval; a dead link closes after about this
    ban_seconds: float = 60.0
    max_banned: int = 4096  # ids remembered as banned (the soonest to expire go first)
    ban_score: int = 100  # add_score points that ban a peer

    def __post_init__(self) -> None:
        for peer in self.persistent_peers:
            PeerAddress.parse(peer)
        if not all(0 <= channel < 0x80 for channel in self.channels):
            raise ValueError("channels are integers 0-127")
        if self.max_frame_size < MAX_HANDSHAKE_MESSAGE or self.send_queue_size < 1:
            raise ValueError("max_frame_size and send_queue_size are too small")
        if self.send_queue_bytes < self.max_frame_size:
            raise ValueError("send_queue_bytes must hold at least one frame of max_frame_size")
        if min(self.max_handshakes, self.max_handshakes_per_ip, self.max_banned) < 1:
            raise ValueError("max_handshakes, max_handshakes_per_ip and max_banned must be >= 1")
        if not 0 < self.backoff_initial <= self.backoff_max:
            raise ValueError("backoff needs 0 < backoff_initial <= backoff_max")
        if self.dial_timeout <= 0:
            raise ValueError("dial_timeout must be positive")


@dataclass(frozen=True, slots=True)
class PeerInfo:
    peer_id: PeerId
    public_key: bytes
    remote: str
    outbound: bool
    is_voter: bool
    queued: int
    sent: int
    received: int
    dropped: int
    validator_key: bytes | None = None  # proven in the handshake
    reserved: bool = False  # a persistent peer or a validator

    @property
    def name(self) -> str:
        return encode_address(self.peer_id)


@dataclass(frozen=True, slots=True)
class Handshaken:
    """What a completed handshake gives: the peer's HELLO, the validator key
    it proved (or None) and the two directions of the session."""

    hello: Hello
    validator_key: bytes | None
    sender: FrameCipher
    receiver: FrameCipher


@dataclass(eq=False)
class _Peer:
    peer_id: PeerId
    public_key: bytes
    ws: WebSocket
    outbound: bool
    remote: str
    ip: str
    dialer: PeerId  # the id of the node that opened this connection
    queue: asyncio.Queue[bytes]
    session: Handshaken
    reserved: bool = False
    queued_bytes: int = 0
    sent: int = 0
    received: int = 0
    dropped: int = 0
    score: int = 0
    full_since: float | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    room: asyncio.Event = field(default_factory=asyncio.Event)  # set when a frame leaves
    writer: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return f"{encode_address(self.peer_id)} ({self.remote})"


class _Outcome(NamedTuple):
    """How a connection ended: the authenticated peer id (None if the handshake
    failed), whether it was admitted, and whether it was refused as a duplicate."""

    peer_id: PeerId | None
    admitted: bool
    duplicate: bool


class _Disconnect(Exception):
    """Ends a connection: close code, reason, and whether to ban the peer."""

    def __init__(self, code: int, reason: str, ban: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.ban = ban


class P2PNode:
    """One node's p2p endpoint: listener, dialers, authenticated peers, channels."""

    def __init__(
        self,
        config: P2PConfig,
        on_message: OnMessage,
        *,
        on_peer_up: Callable[[PeerInfo], None] | None = None,
        on_peer_down: Callable[[PeerId], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._on_message = on_message
        self._on_peer_up = on_peer_up
        self._on_peer_down = on_peer_down
        self._rng = rng or random.Random()
        self.peer_id: PeerId = address_of(config.node_key.public_key)
        self._peers: dict[PeerId, _Peer] = {}
        self._banned: dict[PeerId, float] = {}
        self._handshaking: Counter[str] = Counter()  # inbound handshakes in progress, by ip
        self._persistent_ids: dict[PeerAddress, PeerId] = {}  # learned by dialing
        self._dialers: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping = asyncio.Event()
        self._peer_change = asyncio.Event()
        self._listen_port = 0

    # -- lifecycle ------------------------------------------------------------
    @property
    def listen_port(self) -> int:
        """The port actually listened on (after start)."""
        return self._listen_port

    @property
    def name(self) -> str:
        return encode_address(self.peer_id)

    @property
    def listen_address(self) -> str:
        """``id@host:port`` for other nodes' persistent peer lists."""
        return str(PeerAddress(self.config.listen_host, self._listen_port, self.peer_id))

    async def start(self) -> None:
        """Listen and start dialing the persistent peers. Raises OSError if the
        port cannot be bound."""
        app = web.Application()
        app.router.add_get(P2P_PATH, self._accept)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        host = self.config.listen_host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, self.config.listen_port), family=family)
        self._listen_port = listener.getsockname()[1]
        await web.SockSite(self._runner, listener).start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        for text in self.config.persistent_peers:
            self.add_persistent_peer(text)

    def add_persistent_peer(self, text: str) -> None:
        """Dial ``host:port`` (or ``id@host:port``) and keep redialing it until
        stop. A persistent peer always has a slot (reserved)."""
        address = PeerAddress.parse(text)
        if address.peer_id is not None:
            self._persistent_ids[address] = address.peer_id
        self._dialers.append(asyncio.create_task(self._dial_forever(address)))

    async def stop(self) -> None:
        """Close every connection and stop listening and dialing."""
        self._stopping.set()
        for task in self._dialers:
            task.cancel()
        await asyncio.gather(*self._dialers, return_exceptions=True)
        self._dialers.clear()
        for peer in list(self._peers.values()):
            await self._close(peer.ws, CLOSE_GOING_AWAY, "node stopping")
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # -- sending --------------------------------------------------------------
    def encode_frame(self, channel: int, payload: codec.Value) -> bytes:
        """The bytes of one frame (before sealing). Raises ValueError for an
        unknown channel, CodecError for a payload that cannot be encoded,
        FrameTooLarge."""
        if channel not in self.config.channels:
            raise ValueError(f"unknown channel {channel}")
        frame = codec.encode((channel, payload))
        if len(frame) > self.config.max_frame_size:
            raise FrameTooLarge(
                f"frame of {len(frame)} bytes exceeds the limit of {self.config.max_frame_size}"
            )
        return frame

    def broadcast(self, channel: int, payload: codec.Value) -> int:
        """Queue a frame for every peer; returns how many peers it was queued for
        (a peer whose queue is full misses it, see the module docstring)."""
        frame = self.encode_frame(channel, payload)
        return sum(self._enqueue(peer, frame) for peer in list(self._peers.values()))

    def send(self, peer_id: PeerId, channel: int, payload: codec.Value) -> bool:
        """Queue a frame for one peer; False if it is not connected or its queue is full."""
        frame = self.encode_frame(channel, payload)
        peer = self._peers.get(peer_id)
        return peer is not None and self._enqueue(peer, frame)

    async def send_wait(
        self, peer_id: PeerId, channel: int, payload: codec.Value, timeout: float
    ) -> bool:
        """Queue a frame for one peer, waiting up to ``timeout`` seconds for room
        (backpressure); False if the peer is gone or the time ran out."""
        frame = self.encode_frame(channel, payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            peer = self._peers.get(peer_id)
            if peer is None or peer.closed.is_set():
                return False
            if self._has_room(peer, frame):
                self._put(peer, frame)
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            peer.room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(peer.room.wait(), remaining)

    def _has_room(self, peer: _Peer, frame: bytes) -> bool:
        return (
            not peer.queue.full() and peer.queued_bytes + len(frame) <= self.config.send_queue_bytes
        )

    def _put(self, peer: _Peer, frame: bytes) -> None:
        peer.queue.put_nowait(frame)
        peer.queued_bytes += len(frame)

    def _enqueue(self, peer: _Peer, frame: bytes) -> bool:
        if self._has_room(peer, frame):
            self._put(peer, frame)
            return True
        peer.dropped += 1
        now = asyncio.get_running_loop().time()
        if peer.full_since is None:
            peer.full_since = now
            log.info("p2p: send queue of %s is full; dropping frames for it", peer.name)
        elif now - peer.full_since >= self.config.stall_timeout:
            self._drop(peer, CLOSE_STALLED, "send queue stayed full (peer too slow)")
        return False

    async def _write_frames(self, peer: _Peer) -> None:
        sender = peer.session.sender
        try:
            while True:
                frame = await peer.queue.get()
                peer.queued_bytes -= len(frame)
                peer.full_since = None  # there is room again
                peer.room.set()
                await peer.ws.send_bytes(sender.seal(frame))
                peer.sent += 1
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            # The reader sees the close and cleans up.
            log.debug("p2p: sending to %s failed: %s", peer.name, exc)
            await self._close(peer.ws, CLOSE_GOING_AWAY, "send failed")

    # -- peers ----------------------------------------------------------------
    def peers(self) -> list[PeerInfo]:
        """The connected, authenticated peers."""
        return [self._info(p) for p in sorted(self._peers.values(), key=lambda p: p.peer_id)]

    def _info(self, peer: _Peer) -> PeerInfo:
        return PeerInfo(
            peer_id=peer.peer_id,
            public_key=peer.public_key,
            remote=peer.remote,
            outbound=peer.outbound,
            is_voter=self.config.is_voter(_voter_key(peer.session)),
            queued=peer.queue.qsize(),
            sent=peer.sent,
            received=peer.received,
            dropped=peer.dropped,
            validator_key=peer.session.validator_key,
            reserved=peer.reserved,
        )

    def voter_key(self, peer_id: PeerId) -> bytes | None:
        """The key a connected peer proved for voting: its validator key if it
        attested one, else its node key; None if it is not connected."""
        peer = self._peers.get(peer_id)
        return _voter_key(peer.session) if peer is not None else None

    def is_persistent(self, peer_id: PeerId) -> bool:
        """Whether ``peer_id`` is one of the configured persistent peers (by
        its pinned id, or the id it proved when dialed)."""
        return peer_id in self._persistent_ids.values()

    def disconnect(self, peer_id: PeerId, reason: str, ban: bool = False) -> None:
        """Close the connection to a peer (and with ``ban``, refuse it for ban_seconds)."""
        peer = self._peers.get(peer_id)
        if ban:
            self._ban(peer_id)
        if peer is not None:
            self._drop(peer, CLOSE_REFUSED, reason)

    def punish(self, peer_id: PeerId, reason: str) -> None:
        """The peer sent something provably bad (it came through the peer's
        authenticated session, so nobody else could have): disconnect it and
        ban its id for ban_seconds. For reactors that find the fault after
        their handler returned; a handler can raise PeerMisbehaved instead."""
        log.warning("p2p: punishing %s: %s", encode_address(peer_id), reason)
        self.disconnect(peer_id, f"misbehaved: {reason}", ban=True)

    def add_score(self, peer_id: PeerId, points: int, reason: str) -> bool:
        """Count ``points`` of misbehaviour against a connected peer (for faults
        that are costly but not proof of malice one by one, such as relayed
        transactions that fail their checks); at ``ban_score`` points in one
        connection the peer is punished. True if that happened."""
        peer = self._peers.get(peer_id)
        if peer is None or points <= 0:
            return False
        peer.score += points
        if peer.score < self.config.ban_score:
            return False
        self.punish(peer_id, f"misbehaviour score {peer.score} ({reason})")
        return True

    def _drop(self, peer: _Peer, code: int, reason: str) -> None:
        log.warning("p2p: disconnecting %s: %s", peer.name, reason)
        self._unregister(peer)
        asyncio.get_running_loop().create_task(self._close(peer.ws, code, reason))

    async def wait_for_peers(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` peers are connected; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._peers) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._peer_change.clear()
            try:
                await asyncio.wait_for(self._peer_change.wait(), remaining)
            except TimeoutError:
                return len(self._peers) >= count
        return True

    def banned(self) -> list[PeerId]:
        """The ids banned right now."""
        return [peer_id for peer_id in list(self._banned) if self._ban_remaining(peer_id)]

    def _ban(self, peer_id: PeerId) -> None:
        log.warning("p2p: banned %s for %.0f s", encode_address(peer_id), self.config.ban_seconds)
        now = asyncio.get_running_loop().time()
        if peer_id not in self._banned and len(self._banned) >= self.config.max_banned:
            for expired in [p for p, until in self._banned.items() if until <= now]:
                del self._banned[expired]
            if len(self._banned) >= self.config.max_banned:
                del self._banned[min(self._banned, key=self._banned.__getitem__)]
        self._banned[peer_id] = now + self.config.ban_seconds

    def _ban_remaining(self, peer_id: PeerId | None) -> float:
        if peer_id is None or peer_id not in self._banned:
            return 0.0
        remaining = self._banned[peer_id] - asyncio.get_running_loop().time()
        if remaining <= 0:
            del self._banned[peer_id]
            return 0.0
        return remaining

    # -- connections ----------------------------------------------------------
    async def _accept(self, request: web.Request) -> web.StreamResponse:
        ip = request.remote or ""
        if (
            self._handshaking.total() >= self.config.max_handshakes
            or self._handshaking[ip] >= self.config.max_handshakes_per_ip
        ):
            return web.Response(status=503, text="too many handshakes in progress")
        self._handshaking[ip] += 1
        try:
            ws = web.WebSocketResponse(
                max_msg_size=self.config.max_frame_size + TAG_SIZE,
                compress=False,
                heartbeat=self.config.heartbeat,
            )
            try:
                await ws.prepare(request)
            except ConnectionResetError:
                # The dialer hung up before our upgrade reply (a peer stopping, or a
                # probe): nothing was exchanged, so there is nothing to serve.
                # An unprepared WebSocketResponse would make aiohttp log a traceback
                # when it finishes the request; a plain response is dropped quietly.
                log.debug("p2p: %s left before the upgrade", ip)
                return web.Response()
            handshake = await self._handshake_or_close(ws, outbound=False, remote=ip)
        finally:
            self._handshaking[ip] -= 1
            if self._handshaking[ip] <= 0:
                del self._handshaking[ip]
        if handshake is not None:
            await self._serve(ws, handshake, outbound=False, remote=ip, ip=ip, expected=None)
        return ws

    async def _dial_forever(self, address: PeerAddress) -> None:
        attempt = 0
        while not self._stopping.is_set():
            known_id = self._persistent_ids.get(address)
            if known_id is not None and known_id in self._peers:
                await self._wait_or_stop(self._peers[known_id].closed.wait())
                continue
            banned_for = self._ban_remaining(known_id)
            if banned_for:
                await self._wait_or_stop(asyncio.sleep(banned_for))
                continue
            try:
                outcome = await self._dial(address)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.debug("p2p: dialing %s failed: %s", address, exc)
                outcome = _Outcome(None, False, False)
            if outcome.peer_id == self.peer_id:
                log.warning("p2p: %s is this node itself; not dialing it again", address)
                return
            if outcome.admitted or outcome.duplicate:
                # Authenticated, and the expected id if one was given.
                assert outcome.peer_id is not None
                self._persistent_ids[address] = outcome.peer_id
            if outcome.admitted:
                attempt = 0
            delay = min(self.config.backoff_max, self.config.backoff_initial * 2.0**attempt)
            attempt = min(attempt + 1, 32)
            await self._wait_or_stop(asyncio.sleep(self._rng.uniform(delay / 2, delay)))

    async def _wait_or_stop(self, awaitable: Awaitable[object]) -> None:
        waiter = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            stopper.cancel()

    async def _dial(self, address: PeerAddress) -> _Outcome:
        """One connection to ``address``, served until it ends. The TCP
        connection and the WebSocket upgrade must finish within
        ``dial_timeout`` (else TimeoutError): a dial into a partition would
        otherwise wait on the kernel's SYN retries (1, 3, 7, ... 63 s) long
        after the network healed."""
        assert self._session is not None
        async with asyncio.timeout(self.config.dial_timeout):
            ws = await self._session.ws_connect(
                address.url,
                max_msg_size=self.config.max_frame_size + TAG_SIZE,
                heartbeat=self.config.heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
            )
        async with ws:
            remote = f"{address.host}:{address.port}"
            handshake = await self._handshake_or_close(ws, outbound=True, remote=remote)
            if handshake is None:
                return _Outcome(None, False, False)
            return await self._serve(
                ws, handshake, outbound=True, remote=remote, ip=address.host, expected=address
            )

    async def _handshake_or_close(
        self, ws: WebSocket, outbound: bool, remote: str
    ) -> Handshaken | None:
        """The handshake within handshake_timeout, or None (connection closed;
        a failed handshake bans nobody: the id is unproven)."""
        try:
            return await asyncio.wait_for(
                run_handshake(
                    ws,
                    self.config.node_key,
                    self.config.chain_id,
                    outbound,
                    self.config.validator_key,
                    os.urandom(EPHEMERAL_KEY_SIZE),  # the I/O edge: fresh per connection
                ),
                self.config.handshake_timeout,
            )
        except (HandshakeError, TimeoutError) as exc:
            code = CLOSE_WRONG_CHAIN if isinstance(exc, WrongChain) else CLOSE_BAD_HANDSHAKE
            reason = str(exc) if isinstance(exc, HandshakeError) else "handshake timed out"
            log.warning("p2p: handshake with %s failed: %s", remote, reason)
            await self._close(ws, code, reason)
        except (aiohttp.ClientError, ConnectionError) as exc:
            log.info("p2p: connection to %s lost during the handshake: %s", remote, exc)
        return None

    async def _serve(
        self,
        ws: WebSocket,
        handshake: Handshaken,
        outbound: bool,
        remote: str,
        ip: str,
        expected: PeerAddress | None,
    ) -> _Outcome:
        """Register an authenticated peer and read its frames until the connection ends."""
        hello = handshake.hello
        peer_id = address_of(hello.public_key)
        if peer_id == self.peer_id:
            await self._close(ws, CLOSE_REFUSED, "connected to itself")
            return _Outcome(peer_id, False, False)
        peer = _Peer(
            peer_id=peer_id,
            public_key=hello.public_key,
            ws=ws,
            outbound=outbound,
            remote=remote,
            ip=ip,
            dialer=self.peer_id if outbound else peer_id,
            queue=asyncio.Queue(self.config.send_queue_size),
            session=handshake,
        )
        refusal = self._admit(peer, expected)
        if refusal is not None:
            code, reason = refusal
            log.info("p2p: refusing %s: %s", peer.name, reason)
            await self._close(ws, code, reason)
            return _Outcome(peer_id, False, code == CLOSE_DUPLICATE)
        await self._run_peer(peer)
        return _Outcome(peer_id, True, False)

    def _admit(self, peer: _Peer, expected: PeerAddress | None) -> tuple[int, str] | None:
        """None to accept the peer, else the close code and reason. Gives
        persistent peers and validators a slot always; resolves duplicates."""
        if expected is not None and expected.peer_id not in (None, peer.peer_id):
            return CLOSE_REFUSED, f"expected peer {encode_address(expected.peer_id or b'')}"
        if self._stopping.is_set():
            return CLOSE_GOING_AWAY, "node stopping"
        if self._ban_remaining(peer.peer_id):
            return CLOSE_REFUSED, "banned for misbehaving"
        peer.reserved = (
            expected is not None
            or peer.peer_id in self._persistent_ids.values()
            or self.config.is_voter(_voter_key(peer.session))
        )
        existing = self._peers.get(peer.peer_id)
        if existing is None:
            if not peer.reserved:
                return self._unreserved_slot_refusal(peer.ip)
            return None
        # Both ends apply the same rule, so they keep the same connection:
        # the newer one from the same dialer, else the one the smaller id dialed.
        if existing.dialer == peer.dialer or peer.dialer < existing.dialer:
            self._unregister(existing)
            asyncio.get_running_loop().create_task(
                self._close(existing.ws, CLOSE_DUPLICATE, "duplicate connection replaced")
            )
            return None
        return CLOSE_DUPLICATE, "duplicate connection"

    def _unreserved_slot_refusal(self, ip: str) -> tuple[int, str] | None:
        others = [p for p in self._peers.values() if not p.reserved]
        if len(others) >= self.config.max_peers:
            return CLOSE_REFUSED, "too many peers"
        if sum(p.ip == ip for p in others) >= self.config.max_peers_per_ip:
            return CLOSE_REFUSED, "too many peers from this address"
        return None

    async def _run_peer(self, peer: _Peer) -> None:
        self._peers[peer.peer_id] = peer
        self._peer_change.set()
        peer.writer = asyncio.create_task(self._write_frames(peer))
        log.info(
            "p2p: connected to %s (%s%s)",
            peer.name,
            "out" if peer.outbound else "in",
            ", reserved" if peer.reserved else "",
        )
        if self._on_peer_up is not None:
            self._on_peer_up(self._info(peer))
        reason, code, ban = "", CLOSE_GOING_AWAY, False
        try:
            await self._read_frames(peer)
        except _Disconnect as exc:
            reason, code, ban = exc.reason, exc.code, exc.ban
            log.warning("p2p: disconnecting %s: %s", peer.name, reason)
        except (aiohttp.ClientError, ConnectionError) as exc:
            reason = f"connection error: {exc}"
        finally:
            if ban:
                self._ban(peer.peer_id)
            closed_here = not peer.closed.is_set()  # not by disconnect() or a duplicate
            self._unregister(peer)
            await self._close(peer.ws, code, reason or "closing")
            if peer.writer is not None:
                await asyncio.gather(peer.writer, return_exceptions=True)
            if closed_here and not ban:
                log.info("p2p: %s disconnected%s", peer.name, f": {reason}" if reason else "")

    def _unregister(self, peer: _Peer) -> None:
        if peer.closed.is_set():
            return
        peer.closed.set()
        if self._peers.get(peer.peer_id) is peer:
            del self._peers[peer.peer_id]
            self._peer_change.set()
            if self._on_peer_down is not None:
                self._on_peer_down(peer.peer_id)
        if peer.writer is not None:
            peer.writer.cancel()

    async def _read_frames(self, peer: _Peer) -> None:
        """Open, check and deliver the peer's frames in order. What could come
        from the path (not the peer) disconnects without a ban."""
        ws = peer.ws
        receiver = peer.session.receiver
        while not peer.closed.is_set():
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                try:
                    frame = receiver.open(message.data)
                except FrameAuthenticationError as exc:
                    raise _Disconnect(CLOSE_PROTOCOL, f"{exc} (altered on the way?)") from exc
                channel, payload = self._decode_frame(frame)
                peer.received += 1
                await self._deliver(peer, channel, payload)
            elif message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return
            elif message.type == aiohttp.WSMsgType.ERROR:
                # A missed keepalive (a paused or overloaded peer), an oversized
                # or malformed WebSocket frame: nothing proves the peer sent it.
                raise _Disconnect(CLOSE_PROTOCOL, f"connection failed: {message.data}")
            else:
                raise _Disconnect(CLOSE_PROTOCOL, f"unexpected {message.type.name} frame")

    def _decode_frame(self, data: bytes) -> tuple[int, codec.Value]:
        """A decrypted frame: ``[channel, payload]`` within the channel's limits,
        checked before unpacking. Raises _Disconnect with a ban (only the peer
        could have sealed it)."""
        if len(data) < 2 or data[0] != FRAME_HEAD:
            raise _Disconnect(CLOSE_PROTOCOL, "a frame must be [channel, payload]", ban=True)
        channel = data[1]
        if channel not in self.config.channels:
            raise _Disconnect(CLOSE_PROTOCOL, f"unknown channel {channel:#x}", ban=True)
        limits = self.config.channel_limits.get(channel, DEFAULT_PAYLOAD_LIMITS)
        try:
            codec.check_limits(memoryview(data)[2:], limits)
            value = codec.decode(data, max_size=self.config.max_frame_size)
        except codec.CodecError as exc:
            reason = f"bad frame on channel {channel:#x}: {exc}"
            raise _Disconnect(CLOSE_PROTOCOL, reason, ban=True) from exc
        return channel, value[1]

    async def _deliver(self, peer: _Peer, channel: int, payload: codec.Value) -> None:
        try:
            result = self._on_message(peer.peer_id, channel, payload)
            if inspect.isawaitable(result):
                await result
        except PeerMisbehaved as exc:
            raise _Disconnect(CLOSE_PROTOCOL, f"misbehaved: {exc}", ban=True) from exc
        except Exception:
            log.exception("p2p: message handler failed on channel %#x from %s", channel, peer.name)

    @staticmethod
    async def _close(ws: WebSocket, code: int, reason: str) -> None:
        if not ws.closed:
            with contextlib.suppress(TimeoutError, aiohttp.ClientError, ConnectionError):
                await asyncio.wait_for(ws.close(code=code, message=reason[:120].encode()), 2.0)


def _voter_key(session: Handshaken) -> bytes:
    return session.validator_key or session.hello.public_key


async def run_handshake(
    ws: WebSocket,
    node_key: SigningKey,
    chain_id: str,
    outbound: bool,
    validator_key: SigningKey | None,
    secret: bytes,
) -> Handshaken:
    """The handshake of consensus.node.p2p_handshake over an open WebSocket,
    with ``secret`` (32 fresh random bytes) for this connection's ephemeral
    key. Raises WrongChain or HandshakeError (also for a text frame or a
    close during the handshake)."""
    mine = encode_hello(
        Hello(PROTOCOL_VERSION, chain_id, node_key.public_key, ephemeral_public_key(secret))
    )
    await ws.send_bytes(mine)
    theirs = await _receive_handshake(ws)
    peer = decode_hello(theirs, chain_id)
    dialer, listener = (mine, theirs) if outbound else (theirs, mine)
    keys = derive_session(secret, peer.ephemeral, dialer, listener)
    sender = FrameCipher(keys.dialer_key if outbound else keys.listener_key)
    receiver = FrameCipher(keys.listener_key if outbound else keys.dialer_key)
    await ws.send_bytes(sender.seal(sign_auth(node_key, chain_id, keys.transcript, validator_key)))
    try:
        auth = receiver.open(await _receive_handshake(ws, MAX_HANDSHAKE_MESSAGE + TAG_SIZE))
    except FrameAuthenticationError as exc:
        raise HandshakeError("the peer's auth does not decrypt (altered on the way?)") from exc
    proven = verify_auth(auth, peer, chain_id, keys.transcript)
    return Handshaken(peer, proven, sender, receiver)


async def _receive_handshake(ws: WebSocket, limit: int = MAX_HANDSHAKE_MESSAGE) -> bytes:
    message = await ws.receive()
    if message.type == aiohttp.WSMsgType.BINARY:
        data: bytes = message.data
        if len(data) > limit:
            raise HandshakeError(f"a handshake message over {limit} bytes")
        return data
    if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
        raise HandshakeError("peer closed during the handshake")
    raise HandshakeError(f"expected a binary handshake frame, got {message.type.name}")
