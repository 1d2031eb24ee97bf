"""The p2p transport on 127.0.0.1: several P2PNodes in one event loop, plus raw
WebSocket clients that misbehave. Invalid cases are named test_invalid_*."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import pytest

from consensus.node.p2p import (
    CLOSE_BAD_HANDSHAKE,
    CLOSE_PROTOCOL,
    CLOSE_REFUSED,
    CLOSE_WRONG_CHAIN,
    CONSENSUS_CHANNEL,
    MEMPOOL_CHANNEL,
    FrameTooLarge,
    Handshaken,
    P2PConfig,
    P2PNode,
    PeerAddress,
    PeerMisbehaved,
    run_handshake,
)
from consensus.node.p2p_handshake import (
    PROTOCOL_VERSION,
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
from ledger.address import address_of, encode_address
from ledger.crypto import SigningKey, sha256

CHAIN = "p2p-test-chain"
KEYS = [SigningKey(sha256(b"p2p test node %d" % i)) for i in range(8)]
VOTERS = {KEYS[0].public_key, KEYS[1].public_key}
T = TypeVar("T")

pytestmark = pytest.mark.timeout(60)


def run(test: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30) -> T:
    return asyncio.run(asyncio.wait_for(test(), timeout))


class Inbox:
    """Collects delivered messages; lets a test wait for a number of them."""

    def __init__(self) -> None:
        self.messages: list[tuple[bytes, int, Any]] = []
        self._changed = asyncio.Event()

    def __call__(self, peer_id: bytes, channel: int, payload: Any) -> None:
        self.messages.append((peer_id, channel, payload))
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[bytes, int, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.messages


def config(index: int, **overrides: Any) -> P2PConfig:
    values: dict[str, Any] = {
        "node_key": KEYS[index],
        "chain_id": CHAIN,
        "is_voter": lambda key: key in VOTERS,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "handshake_timeout": 2.0,
    }
    values.update(overrides)
    return P2PConfig(**values)


@asynccontextmanager
async def running(
    index: int, on_message: Callable[..., Any] | None = None, **overrides: Any
) -> AsyncIterator[tuple[P2PNode, Inbox]]:
    inbox = Inbox()
    node = P2PNode(config(index, **overrides), on_message or inbox)
    await node.start()
    try:
        yield node, inbox
    finally:
        await node.stop()


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# -- a raw client that speaks (or breaks) the protocol -------------------------------


class RawPeer:
    """A raw WebSocket to a node, with the session if the handshake was done."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: Handshaken | None) -> None:
        self.ws = ws
        self.session = session

    async def send_frame(self, frame: bytes) -> None:
        """Seal ``frame`` under the session (it then comes provably from us)."""
        assert self.session is not None
        await self.ws.send_bytes(self.session.sender.seal(frame))


@asynccontextmanager
async def raw_client(
    node: P2PNode, key: SigningKey | None = None, chain: str = CHAIN, bad_signature: bool = False
) -> AsyncIterator[RawPeer]:
    """Connect to ``node``; with a key, complete the handshake (or spoil it)."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{node.listen_port}/p2p") as ws,
    ):
        handshake = None
        if key is not None and not bad_signature and chain == CHAIN:
            handshake = await run_handshake(ws, key, chain, True, None, os.urandom(32))
        elif key is not None:
            secret = os.urandom(32)
            mine = encode_hello(
                Hello(PROTOCOL_VERSION, chain, key.public_key, ephemeral_public_key(secret))
            )
            await ws.send_bytes(mine)
            theirs = await ws.receive()
            if chain == CHAIN:
                peer = decode_hello(theirs.data, CHAIN)
                keys = derive_session(secret, peer.ephemeral, mine, theirs.data)
                wrong = os.urandom(32)  # signs a transcript that is not this connection's
                await ws.send_bytes(FrameCipher(keys.dialer_key).seal(sign_auth(key, chain, wrong)))
        yield RawPeer(ws, handshake)


async def close_code(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the server closes; the close code."""
    async with asyncio.timeout(5):
        while True:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return ws.close_code
            if message.type == aiohttp.WSMsgType.ERROR:
                return ws.close_code


# -- handshake (pure) -----------------------------------------------------------------


def _hellos() -> tuple[bytes, bytes, bytes, bytes]:
    sa, sb = os.urandom(32), os.urandom(32)
    hello_a = encode_hello(
        Hello(PROTOCOL_VERSION, CHAIN, KEYS[0].public_key, ephemeral_public_key(sa))
    )
    hello_b = encode_hello(
        Hello(PROTOCOL_VERSION, CHAIN, KEYS[1].public_key, ephemeral_public_key(sb))
    )
    return sa, sb, hello_a, hello_b


def test_handshake_messages_prove_the_key_and_cannot_be_reflected() -> None:
    a = KEYS[0]
    sa, sb, raw_a, raw_b = _hellos()
    hello_a, hello_b = decode_hello(raw_a, CHAIN), decode_hello(raw_b, CHAIN)
    keys_a = derive_session(sa, hello_b.ephemeral, raw_a, raw_b)
    keys_b = derive_session(sb, hello_a.ephemeral, raw_a, raw_b)
    assert keys_a == keys_b  # both sides derive the same session
    auth_a = sign_auth(a, CHAIN, keys_a.transcript)
    assert verify_auth(auth_a, hello_a, CHAIN, keys_b.transcript) is None
    with pytest.raises(HandshakeError):
        verify_auth(auth_a, hello_b, CHAIN, keys_b.transcript)  # a's auth replayed as b's
    _, _, other_a, other_b = _hellos()
    other = derive_session(sa, hello_b.ephemeral, other_a, other_b)
    with pytest.raises(HandshakeError):
        verify_auth(auth_a, hello_a, CHAIN, other.transcript)  # an old connection's auth
    with pytest.raises(HandshakeError):
        verify_auth(auth_a, hello_a, "other-chain", keys_b.transcript)


def test_a_validator_attestation_binds_the_validator_key_to_the_node_key() -> None:
    node, validator, other = KEYS[0], KEYS[2], KEYS[3]
    sa, _, raw_a, raw_b = _hellos()
    hello_a = decode_hello(raw_a, CHAIN)
    keys = derive_session(sa, decode_hello(raw_b, CHAIN).ephemeral, raw_a, raw_b)
    auth = sign_auth(node, CHAIN, keys.transcript, validator)
    assert verify_auth(auth, hello_a, CHAIN, keys.transcript) == validator.public_key
    _, signature, _, validator_signature = codec.decode(auth)
    forged = codec.encode(("ledger/p2p-auth/v2", signature, other.public_key, validator_signature))
    with pytest.raises(HandshakeError, match="validator signature"):
        verify_auth(forged, hello_a, CHAIN, keys.transcript)


def test_frames_are_sealed_in_order_and_any_change_is_detected() -> None:
    key = os.urandom(32)
    sender, receiver = FrameCipher(key), FrameCipher(key)
    sealed = [sender.seal(b"frame %d" % i) for i in range(3)]
    assert receiver.open(sealed[0]) == b"frame 0"
    with pytest.raises(Exception, match="failed authentication"):
        receiver.open(sealed[2])  # skipped one: out of order
    flipped = FrameCipher(key)
    altered = bytes([sealed[0][0] ^ 1]) + sealed[0][1:]
    with pytest.raises(Exception, match="failed authentication"):
        flipped.open(altered)
    assert b"frame" not in b"".join(sealed)  # unreadable on the wire


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\xc1",
        codec.encode(("ledger/p2p-hello/v2", 3, CHAIN, KEYS[0].public_key, bytes(32))),
        codec.encode(("ledger/p2p-hello/v1", 1, CHAIN, KEYS[0].public_key, bytes(32))),
        codec.encode(("ledger/p2p-hello/v2", 2, CHAIN, b"\x02" + bytes(32), bytes(32))),
        codec.encode(("ledger/p2p-hello/v2", 2, CHAIN, KEYS[0].public_key, bytes(31))),
        codec.encode(("ledger/p2p-auth/v2", bytes(64), b"", b"")),
    ],
)
def test_invalid_hello_messages(message: bytes) -> None:
    with pytest.raises(HandshakeError):
        decode_hello(message, CHAIN)


def test_invalid_hello_for_another_chain() -> None:
    hello = encode_hello(Hello(PROTOCOL_VERSION, "other", KEYS[0].public_key, bytes(32)))
    with pytest.raises(WrongChain):
        decode_hello(hello, CHAIN)


def test_peer_addresses() -> None:
    assert PeerAddress.parse("127.0.0.1:26656") == PeerAddress("127.0.0.1", 26656)
    v6 = PeerAddress.parse("[::1]:9")
    assert v6.host == "::1" and v6.url == "ws://[::1]:9/p2p"
    pinned = f"{encode_address(address_of(KEYS[0].public_key))}@localhost:1"
    assert PeerAddress.parse(pinned).peer_id == address_of(KEYS[0].public_key)
    assert str(PeerAddress.parse(pinned)) == pinned
    for bad in ["localhost", "host:0", "host:99999", "lg1bad@host:1", ":80"]:
        with pytest.raises(ValueError):
            PeerAddress.parse(bad)


# -- nodes ----------------------------------------------------------------------------


def test_handshake_connects_and_reports_voters() -> None:
    async def scenario() -> None:
        async with (
            running(0) as (a, _),
            running(2) as (c, _),
            running(1, persistent_peers=(a.listen_address, c.listen_address)) as (b, _),
        ):
            assert await b.wait_for_peers(2, 5)
            assert await a.wait_for_peers(1, 5) and await c.wait_for_peers(1, 5)
            (seen_by_a,) = a.peers()
            assert seen_by_a.peer_id == b.peer_id and seen_by_a.is_voter
            assert not seen_by_a.outbound
            by_id = {p.peer_id: p for p in b.peers()}
            assert by_id[a.peer_id].is_voter and by_id[a.peer_id].outbound
            assert not by_id[c.peer_id].is_voter  # a full node: may follow, never votes

    run(scenario)


def test_broadcast_reaches_every_peer_in_order() -> None:
    async def scenario() -> None:
        async with (
            running(0) as (a, inbox_a),
            running(1) as (b, inbox_b),
            running(2, persistent_peers=(a.listen_address, b.listen_address)) as (c, inbox_c),
            running(3, persistent_peers=(a.listen_address, b.listen_address, c.listen_address)) as (
                d,
                inbox_d,
            ),
        ):
            assert await d.wait_for_peers(3, 5) and await c.wait_for_peers(3, 5)
            await eventually(lambda: len(a.peers()) == 2 and len(b.peers()) == 2)
            for n in range(20):
                assert d.broadcast(CONSENSUS_CHANNEL, {"n": n, "vote": b"x" * 100}) == 3
            assert a.send(b.peer_id, MEMPOOL_CHANNEL, (b"tx",)) is False  # not connected
            for inbox in (inbox_a, inbox_b, inbox_c):
                messages = await inbox.wait_for(20)
                assert [m[2]["n"] for m in messages] == list(range(20))
                assert {(m[0], m[1]) for m in messages} == {(d.peer_id, CONSENSUS_CHANNEL)}
            assert not inbox_d.messages
            assert c.send(d.peer_id, MEMPOOL_CHANNEL, (b"tx",))
            assert (await inbox_d.wait_for(1))[0] == (c.peer_id, MEMPOOL_CHANNEL, (b"tx",))

    run(scenario)


def test_invalid_frames_to_send() -> None:
    async def scenario() -> None:
        async with running(0, max_frame_size=1024) as (a, _):
            with pytest.raises(ValueError, match="unknown channel"):
                a.broadcast(0x99, b"")
            with pytest.raises(FrameTooLarge):
                a.broadcast(CONSENSUS_CHANNEL, b"x" * 2000)
            with pytest.raises(codec.CodecError):
                a.broadcast(CONSENSUS_CHANNEL, 1.5)

    run(scenario)


def test_invalid_wrong_chain_id_is_rejected() -> None:
    async def scenario() -> None:
        async with running(0) as (a, _):
            async with raw_client(a, KEYS[5], chain="another-chain") as raw:
                assert await close_code(raw.ws) == CLOSE_WRONG_CHAIN
            async with running(1, chain_id="another-chain", persistent_peers=(a.listen_address,)):
                await asyncio.sleep(0.5)
                assert a.peers() == []

    run(scenario)


def test_invalid_bad_handshake_signature_is_rejected() -> None:
    async def scenario() -> None:
        async with running(0) as (a, _):
            async with raw_client(a, KEYS[5], bad_signature=True) as raw:
                assert await close_code(raw.ws) == CLOSE_BAD_HANDSHAKE
            assert a.peers() == []

    run(scenario)


def test_invalid_handshake_timeout_and_garbage_before_handshake() -> None:
    async def scenario() -> None:
        async with running(0, handshake_timeout=0.3) as (a, _):
            async with raw_client(a) as silent:
                assert await close_code(silent.ws) == CLOSE_BAD_HANDSHAKE
            async with raw_client(a) as raw:
                await raw.ws.send_str("hello?")
                assert await close_code(raw.ws) == CLOSE_BAD_HANDSHAKE

    run(scenario)


@pytest.mark.parametrize(
    "frame",
    [
        b"\xc1 not msgpack",
        codec.encode((CONSENSUS_CHANNEL,)),
        codec.encode((0x77, b"unknown channel")),
        b"\x92\x20\xcd\x00\x01",  # non-canonical integer
    ],
)
def test_invalid_garbage_frame_disconnects_and_bans_the_peer_only(
    frame: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with running(0) as (a, inbox_a), running(1) as (b, _):
            async with raw_client(a, KEYS[5]) as raw:
                await eventually(lambda: len(a.peers()) == 1)
                await raw.send_frame(frame)
                assert await close_code(raw.ws) == CLOSE_PROTOCOL
            assert a.peers() == []
            async with raw_client(a, KEYS[5]) as again:  # banned for a while
                assert await close_code(again.ws) == CLOSE_REFUSED
            b.add_persistent_peer(a.listen_address)  # the node keeps serving others
            assert await a.wait_for_peers(1, 5)
            b.broadcast(CONSENSUS_CHANNEL, "still here")
            assert (await inbox_a.wait_for(1))[0][2] == "still here"

    with caplog.at_level(logging.WARNING, logger="consensus.p2p"):
        run(scenario)
    lines = [r.getMessage() for r in caplog.records if "disconnecting" in r.getMessage()]
    assert len(lines) == 1


def test_invalid_oversized_frame_disconnects() -> None:
    async def scenario() -> None:
        async with running(0, max_frame_size=4096) as (a, inbox):
            async with raw_client(a, KEYS[5]) as raw:
                await eventually(lambda: len(a.peers()) == 1)
                await raw.send_frame(codec.encode((CONSENSUS_CHANNEL, b"ok")))
                await inbox.wait_for(1)
                await raw.send_frame(codec.encode((CONSENSUS_CHANNEL, b"x" * 5000)))
                assert await close_code(raw.ws) is not None
            await eventually(lambda: a.peers() == [])
            assert len(inbox.messages) == 1
            assert a.banned() == []  # the WebSocket layer refused it: no proof of who sent it

    run(scenario)


def test_invalid_handler_can_report_misbehavior() -> None:
    async def scenario() -> None:
        def handler(peer_id: bytes, channel: int, payload: Any) -> None:
            if payload == "bad vote":
                raise PeerMisbehaved("vote signature does not verify")

        async with (
            running(0, on_message=handler) as (a, _),
            running(1, persistent_peers=(a.listen_address,)) as (b, _),
        ):
            assert await a.wait_for_peers(1, 5)
            b.broadcast(CONSENSUS_CHANNEL, "bad vote")
            await eventually(lambda: a.peers() == [])
            await asyncio.sleep(0.5)  # b keeps redialing, but is banned
            assert a.peers() == []

    run(scenario)


def test_a_failing_handler_is_logged_and_the_peer_kept(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        inbox = Inbox()

        def handler(peer_id: bytes, channel: int, payload: Any) -> None:
            if payload == "boom":
                raise RuntimeError("handler bug")
            inbox(peer_id, channel, payload)

        async with (
            running(0, on_message=handler) as (a, _),
            running(1, persistent_peers=(a.listen_address,)) as (b, _),
        ):
            assert await a.wait_for_peers(1, 5)
            b.broadcast(CONSENSUS_CHANNEL, "boom")
            b.broadcast(CONSENSUS_CHANNEL, "fine")
            assert (await inbox.wait_for(1))[0][2] == "fine"
            assert len(a.peers()) == 1

    run(scenario)
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_reconnects_after_a_peer_restarts() -> None:
    async def scenario() -> None:
        async with running(0) as (a, _):
            port = a.listen_port
            async with running(1, persistent_peers=(a.listen_address,)) as (b, inbox_b):
                assert await b.wait_for_peers(1, 5)
                await a.stop()
                await eventually(lambda: b.peers() == [])
                async with running(0, listen_port=port) as (restarted, _):
                    assert await b.wait_for_peers(1, 5)
                    assert await restarted.wait_for_peers(1, 5)
                    restarted.broadcast(CONSENSUS_CHANNEL, "back")
                    assert (await inbox_b.wait_for(1))[0][2] == "back"

    run(scenario)


def test_two_nodes_dialing_each_other_keep_one_connection() -> None:
    async def scenario() -> None:
        async with running(0) as (a, inbox_a), running(1) as (b, inbox_b):
            a.add_persistent_peer(b.listen_address)
            b.add_persistent_peer(a.listen_address)
            assert await a.wait_for_peers(1, 5) and await b.wait_for_peers(1, 5)
            await asyncio.sleep(1.0)  # let both dialers settle
            (seen_by_a,), (seen_by_b,) = a.peers(), b.peers()
            assert seen_by_a.outbound != seen_by_b.outbound
            smaller = min(a.peer_id, b.peer_id)
            assert seen_by_a.outbound == (smaller == a.peer_id)
            for n in range(5):
                a.broadcast(CONSENSUS_CHANNEL, n)
                b.broadcast(CONSENSUS_CHANNEL, n)
            assert [m[2] for m in await inbox_a.wait_for(5)] == list(range(5))
            assert [m[2] for m in await inbox_b.wait_for(5)] == list(range(5))

    run(scenario)


def test_send_queue_is_bounded_and_a_stalled_peer_is_dropped() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        received = []

        async def slow(peer_id: bytes, channel: int, payload: Any) -> None:
            received.append(payload)
            await release.wait()  # the reader stops, so TCP and the queue fill up

        async with (
            running(0, on_message=slow) as (slow_node, _),
            running(
                1,
                persistent_peers=(slow_node.listen_address,),
                send_queue_size=8,
                stall_timeout=0.5,
            ) as (sender, _),
        ):
            assert await sender.wait_for_peers(1, 5)
            payload = b"x" * 256 * 1024
            queued = []
            for _ in range(200):
                queued.append(sender.broadcast(CONSENSUS_CHANNEL, payload))
                peers = sender.peers()
                if not peers:
                    break
                assert peers[0].queued <= 8
                await asyncio.sleep(0.01)
            assert 0 in queued, "the queue never filled"
            await eventually(lambda: sender.peers() == [], timeout=5)
            release.set()

    run(scenario)


def test_send_wait_applies_backpressure() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def slow(peer_id: bytes, channel: int, payload: Any) -> None:
            await release.wait()

        async with (
            running(0, on_message=slow) as (slow_node, _),
            running(1, persistent_peers=(slow_node.listen_address,), send_queue_size=2) as (
                sender,
                _,
            ),
        ):
            assert await sender.wait_for_peers(1, 5)
            payload = b"y" * 512 * 1024
            results = [
                await sender.send_wait(slow_node.peer_id, CONSENSUS_CHANNEL, payload, 0.2)
                for _ in range(40)
            ]
            assert results[0] is True and results[-1] is False
            assert sender.peers()[0].queued <= 2
            release.set()
            assert await sender.send_wait(b"\x00" * 20, CONSENSUS_CHANNEL, b"", 0.1) is False

    run(scenario)


def test_a_node_listed_as_its_own_peer_stops_dialing_itself() -> None:
    async def scenario() -> None:
        async with running(0) as (a, _):
            a.add_persistent_peer(f"127.0.0.1:{a.listen_port}")
            await asyncio.sleep(0.5)
            assert a.peers() == []

    run(scenario)


def test_ipv6_loopback() -> None:
    async def scenario() -> None:
        try:
            node = P2PNode(config(0, listen_host="::1"), Inbox())
            await node.start()
        except OSError:
            pytest.skip("no IPv6 loopback here")
        try:
            async with running(1, persistent_peers=(node.listen_address,)) as (b, _):
                assert await b.wait_for_peers(1, 5)
        finally:
            await node.stop()

    run(scenario)


def test_invalid_pinned_peer_id_mismatch_is_refused() -> None:
    async def scenario() -> None:
        async with running(0) as (a, _):
            wrong = encode_address(address_of(KEYS[6].public_key))
            async with running(1, persistent_peers=(f"{wrong}@127.0.0.1:{a.listen_port}",)) as (
                b,
                _,
            ):
                await asyncio.sleep(0.5)
                assert b.peers() == []
            async with running(1, persistent_peers=(a.listen_address,)) as (b, _):
                assert await b.wait_for_peers(1, 5)

    run(scenario)
