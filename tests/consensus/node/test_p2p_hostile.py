"""The p2p transport against hostile peers and an on-path attacker (issue 14
sections 3, 4 and 8, issue 13 section 6), on 127.0.0.1 in one event loop.

Real-process versions of these attacks are in tests/process/test_hostile_peers.py."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest

from consensus.node.p2p import (
    CLOSE_REFUSED,
    CONSENSUS_CHANNEL,
    MEMPOOL_CHANNEL,
    P2PNode,
)
from ledger import codec
from ledger.codec import DecodeLimits
from ledger.crypto import SigningKey, sha256

from ...onpath_proxy import CLIENT_TO_SERVER, SERVER_TO_CLIENT, OnPathProxy
from .test_p2p import KEYS, Inbox, close_code, config, eventually, raw_client, run, running

pytestmark = pytest.mark.timeout(60)

THROWAWAY = [SigningKey(sha256(b"throwaway %d" % i)) for i in range(12)]


def test_an_on_path_attacker_reads_nothing_and_gets_nobody_banned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        async with running(0) as (a, inbox_a):
            with OnPathProxy(a.listen_port) as proxy:
                via_proxy = f"{a.name}@127.0.0.1:{proxy.port}"
                async with running(1, persistent_peers=(via_proxy,)) as (b, inbox_b):
                    assert await b.wait_for_peers(1, 5)
                    a.broadcast(CONSENSUS_CHANNEL, b"secret-marker-1")
                    await inbox_b.wait_for(1)
                    # Alter one bit of a frame on its way, in each direction.
                    for direction, sender in ((SERVER_TO_CLIENT, a), (CLIENT_TO_SERVER, b)):
                        connections = proxy.connections
                        proxy.tamper_next(direction)
                        sender.broadcast(CONSENSUS_CHANNEL, b"secret-marker-2")
                        await eventually(lambda c=connections: proxy.connections > c, 10)
                        assert await b.wait_for_peers(1, 10)
                    # Inject a well-formed WebSocket frame of garbage toward b.
                    connections = proxy.connections
                    proxy.inject_next(SERVER_TO_CLIENT, b"\x82\x05hello")
                    a.broadcast(CONSENSUS_CHANNEL, b"secret-marker-3")
                    await eventually(lambda: proxy.connections > connections, 10)
                    assert await b.wait_for_peers(1, 10)
                    assert a.banned() == [] and b.banned() == []
                    a.broadcast(CONSENSUS_CHANNEL, b"after the attack")
                    await eventually(
                        lambda: any(m[2] == b"after the attack" for m in inbox_b.messages)
                    )
                    assert b"secret-marker" not in bytes(proxy.seen)
                    assert b"after the attack" not in bytes(proxy.seen)
            assert not inbox_a.messages or all(m[0] == b.peer_id for m in inbox_a.messages)

    with caplog.at_level(logging.WARNING, logger="consensus.p2p"):
        run(scenario)
    assert "failed authentication" in caplog.text


def test_invalid_four_million_empty_maps_cost_one_cheap_check_and_a_ban() -> None:
    limits = {CONSENSUS_CHANNEL: DecodeLimits(max_objects=1, max_depth=1)}

    async def scenario() -> None:
        async with running(0, channel_limits=limits, max_frame_size=8 << 20) as (a, inbox):
            async with raw_client(a, THROWAWAY[0]) as raw:
                await eventually(lambda: len(a.peers()) == 1)
                maps = b"\xdd" + (4_000_000).to_bytes(4, "big") + b"\x80" * 4_000_000
                await raw.send_frame(b"\x92" + bytes([CONSENSUS_CHANNEL]) + maps)
                assert await close_code(raw.ws) is not None
            await eventually(lambda: a.banned() != [])
            assert inbox.messages == []

    run(scenario)


def test_persistent_peers_and_validators_get_a_slot_when_others_hold_every_one() -> None:
    async def scenario() -> None:
        voter = KEYS[1]  # in test_p2p's VOTERS
        async with running(0, max_peers=3, max_peers_per_ip=3) as (a, _):
            throwaways = [raw_client(a, key) for key in THROWAWAY[:4]]
            opened = [await client.__aenter__() for client in throwaways]
            try:
                await eventually(lambda: len(a.peers()) == 3)
                # The fourth throwaway key found no slot.
                assert await close_code(opened[3].ws) == CLOSE_REFUSED
                async with running(1, persistent_peers=(a.listen_address,)):
                    await eventually(
                        lambda: any(p.public_key == voter.public_key for p in a.peers())
                    )
                async with running(4) as (persistent, _):
                    a.add_persistent_peer(persistent.listen_address)
                    assert await persistent.wait_for_peers(1, 5)
                    mine = [p for p in a.peers() if p.peer_id == persistent.peer_id]
                    assert mine and mine[0].reserved and mine[0].outbound
                assert sum(not p.reserved for p in a.peers()) == 3
            finally:
                for client in throwaways:
                    await client.__aexit__(None, None, None)

    run(scenario)


def test_invalid_more_peers_from_one_address_than_allowed_are_refused() -> None:
    async def scenario() -> None:
        async with running(0, max_peers_per_ip=2) as (a, _):
            async with raw_client(a, THROWAWAY[0]), raw_client(a, THROWAWAY[1]):
                await eventually(lambda: len(a.peers()) == 2)
                async with raw_client(a, THROWAWAY[2]) as third:
                    assert await close_code(third.ws) == CLOSE_REFUSED
            assert a.banned() == []

    run(scenario)


def test_invalid_handshakes_beyond_the_cap_get_503_and_time_out() -> None:
    async def scenario() -> None:
        async with (
            running(0, max_handshakes_per_ip=2, handshake_timeout=1.0) as (a, _),
            aiohttp.ClientSession() as session,
        ):
            url = f"ws://127.0.0.1:{a.listen_port}/p2p"
            silent = [await session.ws_connect(url) for _ in range(2)]
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url)
            assert refused.value.status == 503
            for ws in silent:  # the silent ones are closed by the timeout
                assert await close_code(ws) is not None
            async with raw_client(a, THROWAWAY[0]):
                await eventually(lambda: len(a.peers()) == 1)

    run(scenario)


def test_the_banned_table_is_bounded() -> None:
    async def scenario() -> None:
        async with running(0, max_banned=3) as (a, _):
            for i in range(10):
                a.disconnect(bytes([i]) * 20, "test", ban=True)
            assert len(a._banned) == 3
            assert set(a.banned()) == {bytes([i]) * 20 for i in (7, 8, 9)}

    run(scenario)


def test_a_missed_keepalive_disconnects_without_a_ban(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with running(0, heartbeat=0.2) as (a, _):
            async with raw_client(a, THROWAWAY[0]):
                # This client never reads, so it never answers a ping: like a
                # peer paused by SIGSTOP, a long GC or a disk stall.
                await eventually(lambda: len(a.peers()) == 1)
                await eventually(lambda: a.peers() == [], 5)
            assert a.banned() == []
            async with raw_client(a, THROWAWAY[0]):  # back at once
                await eventually(lambda: len(a.peers()) == 1)

    with caplog.at_level(logging.WARNING, logger="consensus.p2p"):
        run(scenario)


def test_punish_bans_and_scores_add_up_to_a_ban() -> None:
    async def scenario() -> None:
        async with running(0, ban_score=10) as (a, _):
            async with raw_client(a, THROWAWAY[0]) as first:
                await eventually(lambda: len(a.peers()) == 1)
                peer_id = a.peers()[0].peer_id
                assert a.add_score(peer_id, 6, "bad signature") is False
                assert a.add_score(peer_id, 6, "bad signature") is True
                assert await close_code(first.ws) == CLOSE_REFUSED
            assert a.banned() == [peer_id]
            async with raw_client(a, THROWAWAY[1]) as second:
                await eventually(lambda: len(a.peers()) == 1)
                other = a.peers()[0].peer_id
                a.punish(other, "relayed a transaction with a bad signature")
                assert await close_code(second.ws) == CLOSE_REFUSED
            assert set(a.banned()) == {peer_id, other}

    run(scenario)


def test_validator_attestation_is_reported_and_counts_as_a_voter() -> None:
    async def scenario() -> None:
        validator = KEYS[1]
        node_key = THROWAWAY[5]  # a node key that is no validator key
        async with running(0) as (a, _):
            b = P2PNode(
                config(
                    1,
                    node_key=node_key,
                    validator_key=validator,
                    persistent_peers=(a.listen_address,),
                ),
                Inbox(),
            )
            await b.start()
            try:
                await eventually(lambda: len(a.peers()) == 1)
                (seen,) = a.peers()
                assert seen.validator_key == validator.public_key and seen.is_voter
                assert seen.reserved
                assert a.voter_key(seen.peer_id) == validator.public_key
            finally:
                await b.stop()

    run(scenario)


def test_a_send_queue_is_bounded_in_bytes() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def slow(peer_id: bytes, channel: int, payload: Any) -> None:
            await release.wait()

        async with (
            running(0, on_message=slow) as (slow_node, _),
            running(
                1,
                persistent_peers=(slow_node.listen_address,),
                max_frame_size=300_000,
                send_queue_bytes=1_000_000,
            ) as (sender, _),
        ):
            assert await sender.wait_for_peers(1, 5)
            for _ in range(200):
                sender.broadcast(MEMPOOL_CHANNEL, (b"z" * 250_000,))
                assert sender._peers[slow_node.peer_id].queued_bytes <= 1_000_000
            assert sender.peers()[0].dropped > 0
            release.set()

    run(scenario)


def test_invalid_payload_limits_per_channel_ban_the_sender() -> None:
    limits = {MEMPOOL_CHANNEL: DecodeLimits(max_objects=3, max_depth=1, max_bin=10)}

    async def scenario() -> None:
        async with running(0, channel_limits=limits) as (a, inbox):
            for payload in ((b"x" * 11,), (b"a", b"b", b"c"), ((b"nested",),), {"k": 1}):
                async with raw_client(a, SigningKey.generate()) as raw:
                    await eventually(lambda: len(a.peers()) == 1)
                    await raw.send_frame(codec.encode((MEMPOOL_CHANNEL, (b"ok",))))
                    await raw.send_frame(codec.encode((MEMPOOL_CHANNEL, payload)))
                    assert await close_code(raw.ws) is not None
                await eventually(lambda: a.peers() == [])
            assert len(a.banned()) == 4
            assert [m[2] for m in inbox.messages] == [(b"ok",)] * 4

    run(scenario)
