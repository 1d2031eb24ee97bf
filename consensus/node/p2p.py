"""The p2p transport: authenticated peers over aiohttp WebSockets, carrying
msgpack frames on numbered channels. It knows nothing of the engine.

- **Peers.** A node listens on ``ws://host:port/p2p`` and dials its
  persistent peers, redialing with capped exponential backoff and jitter.
  Every connection starts with the handshake of consensus.node.p2p_handshake;
  the peer id is the address of the peer's node key. ``PeerInfo.is_voter``
  says whether that key is in the validator set (the config's predicate):
  any authenticated peer may follow the chain, but only validators' votes
  count, which the engine enforces by checking each vote's signature.
  Two nodes that dial each other keep one connection: the one dialed by the
  node with the smaller peer id.
- **Frames.** One WebSocket binary message = the canonical encoding
  (ledger.codec) of ``[channel, payload]``, at most ``max_frame_size``
  bytes. Text frames, oversized or undecodable frames, unknown channels and
  a handler raising ``PeerMisbehaved`` disconnect the peer (one log line) and
  ban its id for ``ban_seconds``; the node carries on.
- **Sending.** Each peer has a bounded queue drained by its own writer task.
  ``send``/``broadcast`` never block: if a peer's queue is full the frame is
  dropped for that peer and counted (``PeerInfo.dropped``), and a peer whose
  queue stays full for ``stall_timeout`` is disconnected as unhealthy. A
  healthy peer (one that drains its queue) therefore loses nothing; what a
  slow one misses is re-sent by the reactors' re-gossip (consensus re-sends
  its latest messages, the mempool resumes from a cursor). ``send_wait``
  applies backpressure instead, for callers that prefer to wait.

Delivery calls ``on_message(peer_id, channel, payload)`` (sync or async) in
frame order per peer. The byte-exact format is in docs/spec/p2p.md.

Over 600 lines for a reason: one transport. The connection's lifecycle,
its framing, the per-peer and total limits and the redial loop share the
peer table; the pure handshake is already apart (consensus.node.p2p_handshake).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

import aiohttp
from aiohttp import web

from consensus.node.p2p_handshake import (
    CHALLENGE_SIZE,
    MAX_HANDSHAKE_MESSAGE,
    PROTOCOL_VERSION,
    HandshakeError,
    Hello,
    WrongChain,
    decode_hello,
    encode_hello,
    sign_auth,
    verify_auth,
)
from ledger import codec
from ledger.address import AddressError, address_of, decode_address, encode_address
from ledger.crypto import SigningKey

log = logging.getLogger("consensus.p2p")

CONSENSUS_CHANNEL: Final = 0x20
MEMPOOL_CHANNEL: Final = 0x30
BLOCKSYNC_CHANNEL: Final = 0x40
THRESHOLD_CHANNEL: Final = 0x50  # threshold-key ceremonies (consensus.node.threshold.service)
DEFAULT_CHANNELS: Final = frozenset(
    {CONSENSUS_CHANNEL, MEMPOOL_CHANNEL, BLOCKSYNC_CHANNEL, THRESHOLD_CHANNEL}
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
    channels: frozenset[int] = DEFAULT_CHANNELS
    max_frame_size: int = 10 * 1024 * 1024
    send_queue_size: int = 1024  # frames per peer
    stall_timeout: float = 10.0  # seconds a peer's queue may stay full
    handshake_timeout: float = 5.0
    max_peers: int = 64
    backoff_initial: float = 0.25
    backoff_max: float = 30.0
    heartbeat: float = 15.0  # WebSocket ping interval; a dead link closes after about this
    ban_seconds: float = 60.0

    def __post_init__(self) -> None:
        for peer in self.persistent_peers:
            PeerAddress.parse(peer)
        if not all(0 <= channel < 256 for channel in self.channels):
            raise ValueError("channels are integers 0-255")
        if self.max_frame_size < MAX_HANDSHAKE_MESSAGE or self.send_queue_size < 1:
            raise ValueError("max_frame_size and send_queue_size are too small")
        if not 0 < self.backoff_initial <= self.backoff_max:
            raise ValueError("backoff needs 0 < backoff_initial <= backoff_max")


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

    @property
    def name(self) -> str:
        return encode_address(self.peer_id)


@dataclass(eq=False)
class _Peer:
    peer_id: PeerId
    public_key: bytes
    ws: WebSocket
    outbound: bool
    remote: str
    dialer: PeerId  # the id of the node that opened this connection
    queue: asyncio.Queue[bytes]
    sent: int = 0
    received: int = 0
    dropped: int = 0
    full_since: float | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
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
        self._handshaking = 0
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
        """Dial ``host:port`` (or ``id@host:port``) and keep redialing it until stop."""
        address = PeerAddress.parse(text)
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
        """The bytes of one frame. Raises ValueError for an unknown channel,
        CodecError for a payload that cannot be encoded, FrameTooLarge."""
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
        peer = self._peers.get(peer_id)
        if peer is None:
            return False
        try:
            await asyncio.wait_for(peer.queue.put(frame), timeout)
        except TimeoutError:
            return False
        return not peer.closed.is_set()

    def _enqueue(self, peer: _Peer, frame: bytes) -> bool:
        try:
            peer.queue.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            pass
        peer.dropped += 1
        now = asyncio.get_running_loop().time()
        if peer.full_since is None:
            peer.full_since = now
            log.info("p2p: send queue of %s is full; dropping frames for it", peer.name)
        elif now - peer.full_since >= self.config.stall_timeout:
            self._drop(peer, CLOSE_STALLED, "send queue stayed full (peer too slow)")
        return False

    async def _write_frames(self, peer: _Peer) -> None:
        try:
            while True:
                frame = await peer.queue.get()
                peer.full_since = None  # there is room again
                await peer.ws.send_bytes(frame)
                peer.sent += 1
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            # The reader sees the close and cleans up.
            log.debug("p2p: sending to %s failed: %s", peer.name, exc)
            await self._close(peer.ws, CLOSE_GOING_AWAY, "send failed")

    # -- peers ----------------------------------------------------------------
    def peers(self) -> list[PeerInfo]:
        """The connected, authenticated peers."""
        return [
            PeerInfo(
                peer_id=p.peer_id,
                public_key=p.public_key,
                remote=p.remote,
                outbound=p.outbound,
                is_voter=self.config.is_voter(p.public_key),
                queued=p.queue.qsize(),
                sent=p.sent,
                received=p.received,
                dropped=p.dropped,
            )
            for p in sorted(self._peers.values(), key=lambda p: p.peer_id)
        ]

    def disconnect(self, peer_id: PeerId, reason: str, ban: bool = False) -> None:
        """Close the connection to a peer (and with ``ban``, refuse it for ban_seconds)."""
        peer = self._peers.get(peer_id)
        if ban:
            self._ban(peer_id)
        if peer is not None:
            self._drop(peer, CLOSE_REFUSED, reason)

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

    def _ban(self, peer_id: PeerId) -> None:
        self._banned[peer_id] = asyncio.get_running_loop().time() + self.config.ban_seconds

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
        if len(self._peers) + self._handshaking >= self.config.max_peers:
            return web.Response(status=503, text="too many peers")
        ws = web.WebSocketResponse(
            max_msg_size=self.config.max_frame_size,
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
            log.debug("p2p: %s left before the upgrade", request.remote)
            return web.Response()
        await self._serve(ws, outbound=False, remote=str(request.remote), expected=None)
        return ws

    async def _dial_forever(self, address: PeerAddress) -> None:
        attempt = 0
        known_id = address.peer_id
        while not self._stopping.is_set():
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
                known_id = outcome.peer_id  # authenticated, and the expected id if one was given
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
        """One connection to ``address``, served until it ends."""
        assert self._session is not None
        async with self._session.ws_connect(
            address.url,
            max_msg_size=self.config.max_frame_size,
            heartbeat=self.config.heartbeat,
            timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
        ) as ws:
            return await self._serve(ws, True, f"{address.host}:{address.port}", address.peer_id)

    async def _serve(
        self, ws: WebSocket, outbound: bool, remote: str, expected: PeerId | None
    ) -> _Outcome:
        """Handshake, register, read frames until the connection ends."""
        self._handshaking += 1
        try:
            hello = await asyncio.wait_for(self._handshake(ws), self.config.handshake_timeout)
        except (_Disconnect, TimeoutError) as exc:
            reason = exc.reason if isinstance(exc, _Disconnect) else "handshake timed out"
            code = exc.code if isinstance(exc, _Disconnect) else CLOSE_BAD_HANDSHAKE
            log.warning("p2p: handshake with %s failed: %s", remote, reason)
            await self._close(ws, code, reason)
            return _Outcome(None, False, False)
        except (aiohttp.ClientError, ConnectionError) as exc:
            log.info("p2p: connection to %s lost during the handshake: %s", remote, exc)
            return _Outcome(None, False, False)
        finally:
            self._handshaking -= 1
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
            dialer=self.peer_id if outbound else peer_id,
            queue=asyncio.Queue(self.config.send_queue_size),
        )
        refusal = self._admit(peer, expected)
        if refusal is not None:
            code, reason = refusal
            log.info("p2p: refusing %s: %s", peer.name, reason)
            await self._close(ws, code, reason)
            return _Outcome(peer_id, False, code == CLOSE_DUPLICATE)
        await self._run_peer(peer)
        return _Outcome(peer_id, True, False)

    async def _handshake(self, ws: WebSocket) -> Hello:
        key = self.config.node_key
        challenge = os.urandom(CHALLENGE_SIZE)  # the I/O edge: fresh per connection
        mine = Hello(PROTOCOL_VERSION, self.config.chain_id, key.public_key, challenge)
        await ws.send_bytes(encode_hello(mine))
        try:
            peer = decode_hello(await self._receive_handshake(ws), self.config.chain_id)
        except WrongChain as exc:
            raise _Disconnect(CLOSE_WRONG_CHAIN, str(exc)) from exc
        except HandshakeError as exc:
            raise _Disconnect(CLOSE_BAD_HANDSHAKE, str(exc)) from exc
        await ws.send_bytes(sign_auth(key, self.config.chain_id, challenge, peer.challenge))
        try:
            verify_auth(await self._receive_handshake(ws), peer, self.config.chain_id, challenge)
        except HandshakeError as exc:
            raise _Disconnect(CLOSE_BAD_HANDSHAKE, str(exc)) from exc
        return peer

    async def _receive_handshake(self, ws: WebSocket) -> bytes:
        message = await ws.receive()
        if message.type == aiohttp.WSMsgType.BINARY:
            data: bytes = message.data
            return data
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            raise _Disconnect(CLOSE_BAD_HANDSHAKE, "peer closed during the handshake")
        raise _Disconnect(
            CLOSE_BAD_HANDSHAKE, f"expected a binary handshake frame, got {message.type.name}"
        )

    def _admit(self, peer: _Peer, expected: PeerId | None) -> tuple[int, str] | None:
        """None to accept the peer, else the close code and reason. Resolves
        duplicate connections."""
        if expected is not None and peer.peer_id != expected:
            return CLOSE_REFUSED, f"expected peer {encode_address(expected)}"
        if self._stopping.is_set():
            return CLOSE_GOING_AWAY, "node stopping"
        if self._ban_remaining(peer.peer_id):
            return CLOSE_REFUSED, "banned for misbehaving"
        existing = self._peers.get(peer.peer_id)
        if existing is None:
            if len(self._peers) >= self.config.max_peers:
                return CLOSE_REFUSED, "too many peers"
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

    async def _run_peer(self, peer: _Peer) -> None:
        self._peers[peer.peer_id] = peer
        self._peer_change.set()
        peer.writer = asyncio.create_task(self._write_frames(peer))
        log.info("p2p: connected to %s (%s)", peer.name, "out" if peer.outbound else "in")
        if self._on_peer_up is not None:
            self._on_peer_up(next(p for p in self.peers() if p.peer_id == peer.peer_id))
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
        ws = peer.ws
        while not peer.closed.is_set():
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                channel, payload = self._decode_frame(message.data)
                peer.received += 1
                await self._deliver(peer, channel, payload)
            elif message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return
            elif message.type == aiohttp.WSMsgType.ERROR:
                raise _Disconnect(CLOSE_PROTOCOL, f"bad frame: {message.data}", ban=True)
            else:
                raise _Disconnect(CLOSE_PROTOCOL, f"unexpected {message.type.name} frame", ban=True)

    def _decode_frame(self, data: bytes) -> tuple[int, codec.Value]:
        try:
            value = codec.decode(data, max_size=self.config.max_frame_size)
        except codec.CodecError as exc:
            raise _Disconnect(CLOSE_PROTOCOL, f"undecodable frame: {exc}", ban=True) from exc
        if not (isinstance(value, tuple) and len(value) == 2):
            raise _Disconnect(CLOSE_PROTOCOL, "a frame must be [channel, payload]", ban=True)
        channel, payload = value
        if type(channel) is not int or channel not in self.config.channels:
            raise _Disconnect(CLOSE_PROTOCOL, f"unknown channel {channel!r}", ban=True)
        return channel, payload

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
