"""A hostile peer that speaks the real p2p protocol (issue 14 section 10).

It dials a node's p2p port, completes the real handshake of
consensus.node.p2p (with a key of its choosing: keys are free), and then
sends whatever a test asks for, sealed under the session so that the node
knows it came from this peer: frames that are expensive to decode, lies
about its height, floods of threshold envelopes, or nothing at all (held
slots, stalled handshakes). It also reads what it can, so that it can tell
when the node cut it off and with which close code.

Everything runs on 127.0.0.1 and every wait is bounded. The helpers that
observe the nodes under attack (peak memory, bans in the logs) are here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from consensus.node.p2p import Handshaken, run_handshake
from ledger import codec
from ledger.address import address_of, encode_address
from ledger.crypto import SigningKey


@dataclass
class HostilePeer:
    """One authenticated connection to a node, driven by a test."""

    ws: aiohttp.ClientWebSocketResponse
    session: Handshaken
    key: SigningKey

    async def send_frame(self, frame: bytes) -> None:
        """Seal and send raw frame bytes (``[channel, payload]`` or anything)."""
        await self.ws.send_bytes(self.session.sender.seal(frame))

    async def send(self, channel: int, payload: codec.Value) -> None:
        await self.send_frame(codec.encode((channel, payload)))

    async def cut_off(self, timeout: float) -> int | None:
        """Read (answering pings) until the node closes the connection; its
        close code, or None if it is still open after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self.ws.receive()
                    if message.type in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.ERROR,
                    ):
                        return self.ws.close_code
        except TimeoutError:
            return None


@asynccontextmanager
async def hostile_peer(
    port: int, key: SigningKey, chain_id: str, client: aiohttp.ClientSession
) -> AsyncIterator[HostilePeer]:
    """Connect to the node on ``port`` and complete the real handshake.
    Raises aiohttp errors if the node refuses before the upgrade (503) and
    consensus.node.p2p_handshake.HandshakeError if it closes during it."""
    ws = await client.ws_connect(
        f"ws://127.0.0.1:{port}/p2p", timeout=aiohttp.ClientWSTimeout(ws_close=2.0)
    )
    try:
        session = await asyncio.wait_for(
            run_handshake(ws, key, chain_id, True, None, os.urandom(32)), 10
        )
        yield HostilePeer(ws, session, key)
    finally:
        with contextlib.suppress(Exception):
            await ws.close()


def empty_maps_frame(channel: int, count: int = 4_000_000) -> bytes:
    """``[channel, [{}, {}, ...]]``: ``count`` empty maps, one byte each."""
    return b"\x92" + bytes([channel]) + b"\xdd" + count.to_bytes(4, "big") + b"\x80" * count


def peak_memory_mib(pid: int) -> float:
    """The peak resident set size of a process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def memory_mib(pid: int) -> float:
    """The resident set size of a process now (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def peer_name(key: SigningKey) -> str:
    return encode_address(address_of(key.public_key))


def banned_in_logs(logs: dict[str, str]) -> set[str]:
    """Every peer id some node banned (the transport logs each ban)."""
    return {match for text in logs.values() for match in re.findall(r"p2p: banned (\S+)", text)}
