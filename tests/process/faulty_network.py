"""A faulty network between node processes: a fault-injecting TCP proxy for
every ordered pair of nodes, in a process of its own.

Node ``i`` reaches node ``j`` by dialing ``port(i, j)`` (its persistent peers
point at proxies, not at the nodes); the proxy relays the connection to
node ``j``'s real p2p port through the faults of the link {i, j}: delay,
jitter, bandwidth, segment loss, connection resets and partitions, as
modelled in tests/process/link_model.py (which also says what "loss" means
over TCP). Both directed proxies of a pair belong to one link and share its
faults and its bandwidth.

The proxies run in a separate process (``python -m tests.process.faulty_network
CONFIG``), so that the timing of the relayed bytes does not depend on what
the test process is doing. ``FaultyNetwork`` starts it and changes the
links at run time through its stdin (one JSON command a line, one JSON
answer a line); the process exits when its stdin closes, so it never
outlives the test. Everything listens on 127.0.0.1.

Why a proxy and not netem, and why at the TCP level: docs/adr/0026.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import select
import socket
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from tests.process.link_model import (
    DirectionShaper,
    LinkFaults,
    StreamOrder,
    next_reset_in,
    retransmission_after_heal,
    schedule_chunk,
)

ROOT = Path(__file__).resolve().parents[2]
CHUNK: Final = 64 * 1024  # bytes read from a socket at a time
WINDOW: Final = 4 * 1024 * 1024  # bytes in flight per direction before reading stops
SYN_RETRIES_S: Final = (0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0)  # Linux: 1 s, doubling


class _Reset:
    """The marker of a connection reset by the peer, relayed in order."""


RESET: Final = _Reset()


@dataclass
class _Chunk:
    departed: float
    arrival: float
    data: bytes | _Reset  # b"" is the end of the stream (FIN)


class Link:
    """The link between two nodes: its faults, its two directions' shapers,
    its live connections and what it carried."""

    def __init__(self, a: int, b: int, faults: LinkFaults, rng: random.Random) -> None:
        self.name = f"{a}-{b}"
        self.faults = faults
        self.shapers = {
            (a, b): DirectionShaper(random.Random(rng.getrandbits(64))),
            (b, a): DirectionShaper(random.Random(rng.getrandbits(64))),
        }
        self.reset_rng = random.Random(rng.getrandbits(64))
        self.connections: set[RelayedConnection] = set()
        self.changed = asyncio.Event()
        self.blocked_since = 0.0  # when the current (or last) partition began
        self.healed_at = 0.0  # when the last partition ended
        self.relayed_bytes = 0
        self.connections_opened = 0
        self.resets = 0

    def update(self, faults: LinkFaults, now: float) -> None:
        if faults.blocked and not self.faults.blocked:
            self.blocked_since = now
        if self.faults.blocked and not faults.blocked:
            self.healed_at = now
        self.faults = faults
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    async def wait_changed(self, timeout: float | None) -> bool:
        """Wait until the faults change (True) or ``timeout`` seconds pass (False)."""
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def reset_all(self) -> int:
        connections = list(self.connections)
        for connection in connections:
            connection.abort()
        self.resets += len(connections)
        return len(connections)

    def stats(self) -> dict[str, Any]:
        return {
            "faults": self.faults.to_json(),
            "open": len(self.connections),
            "opened": self.connections_opened,
            "relayed_bytes": self.relayed_bytes,
            "in_flight_bytes": sum(c.in_flight() for c in self.connections),
            "connecting": sum(1 for c in self.connections if not c.pipes),
            "resets": self.resets,
            "retransmitted_chunks": sum(s.retransmitted_chunks for s in self.shapers.values()),
        }


@dataclass(eq=False)
class _Pipe:
    """One direction of a relayed connection."""

    source: tuple[int, int]  # (from node, to node)
    writer: asyncio.StreamWriter
    queue: asyncio.Queue[_Chunk] = field(default_factory=asyncio.Queue)
    queued_bytes: int = 0
    room: asyncio.Event = field(default_factory=asyncio.Event)
    order: StreamOrder = field(default_factory=StreamOrder)
    outage: float | None = None  # the partition (its start) this pipe is recovering from
    outage_retry: float = 0.0  # when the sender retransmits after that partition


class RelayedConnection:
    """One TCP connection from node ``src`` to node ``dst`` through the link."""

    def __init__(self, link: Link, src: int, dst: int) -> None:
        self.link = link
        self.src, self.dst = src, dst
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.pipes: list[_Pipe] = []

    def in_flight(self) -> int:
        """Bytes read from one side and not yet delivered to the other."""
        return sum(pipe.queued_bytes for pipe in self.pipes)

    def abort(self) -> None:
        """Reset both sides now (RST), as a middlebox that drops the connection."""
        for writer in self.writers:
            _reset(writer)
        for task in self.tasks:
            task.cancel()

    async def run(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, port: int
    ) -> None:
        self.writers.append(client_writer)
        upstream = await self._connect(port)
        if upstream is None:
            _reset(client_writer)  # refused, or no answer: the dialer sees a reset
            return
        server_reader, server_writer = upstream
        self.writers.append(server_writer)
        forward = _Pipe((self.src, self.dst), server_writer)
        backward = _Pipe((self.dst, self.src), client_writer)
        self.pipes = [forward, backward]
        loop = asyncio.get_running_loop()
        self.tasks = [
            loop.create_task(self._read(forward, client_reader)),
            loop.create_task(self._write(forward)),
            loop.create_task(self._read(backward, server_reader)),
            loop.create_task(self._write(backward)),
        ]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.tasks)
        self.abort()

    async def _connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Open the upstream connection as a dialer on this link would: SYN and
        SYN-ACK take a round trip; through a partition the SYN is retried at
        1, 3, 7, ... s, and given up after the last retry."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        for retry in SYN_RETRIES_S:
            await asyncio.sleep(max(0.0, started + retry - loop.time()))
            if not self.link.faults.blocked:
                break
        else:
            return None
        await asyncio.sleep(self.link.faults.rtt_s)
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return None

    async def _read(self, pipe: _Pipe, reader: asyncio.StreamReader) -> None:
        """Read chunks as they come and schedule their arrival (stops reading
        while WINDOW bytes are in flight: backpressure on the sender)."""
        loop = asyncio.get_running_loop()
        shaper = self.link.shapers[pipe.source]
        while True:
            while pipe.queued_bytes >= WINDOW:
                pipe.room.clear()
                await pipe.room.wait()
            data: bytes | _Reset
            try:
                data = await reader.read(CHUNK)
            except (ConnectionError, OSError):
                data = RESET
            size = len(data) if isinstance(data, bytes) else 0
            departed, arrival = schedule_chunk(loop.time(), max(size, 1), self.link.faults, shaper)
            pipe.queued_bytes += size
            pipe.queue.put_nowait(_Chunk(departed, arrival, data))
            if not size:
                return

    async def _write(self, pipe: _Pipe) -> None:
        """Deliver each chunk at its arrival time, in order; a chunk due while
        the link is partitioned is lost and arrives at the sender's first
        retransmission after the heal."""
        while True:
            chunk = await pipe.queue.get()
            arrival = await self._arrival(pipe, chunk)
            if arrival is None:
                self.abort()  # the sender gave up retransmitting
                return
            data = chunk.data
            if isinstance(data, _Reset):
                _reset(pipe.writer)
                return
            if not data:
                if pipe.writer.can_write_eof():
                    with contextlib.suppress(OSError, RuntimeError):
                        pipe.writer.write_eof()
                return
            try:
                pipe.writer.write(data)
                await pipe.writer.drain()
            except (ConnectionError, OSError):
                self.abort()
                return
            pipe.queued_bytes -= len(data)
            pipe.room.set()
            self.link.relayed_bytes += len(data)

    async def _arrival(self, pipe: _Pipe, chunk: _Chunk) -> float | None:
        """Wait until ``chunk`` arrives; its arrival time, or None if lost for good."""
        loop = asyncio.get_running_loop()
        link = self.link
        at = pipe.order.arrival(chunk.arrival)
        lost = False
        while True:
            faults = link.faults
            if faults.blocked:
                lost = True
                await link.wait_changed(None)
                continue
            if lost:
                if pipe.outage != link.blocked_since:
                    # The oldest unacknowledged byte's retransmission timer
                    # decides when the stream moves again after this outage.
                    retry = retransmission_after_heal(chunk.departed, link.healed_at, faults.rto_s)
                    if retry is None:
                        return None
                    pipe.outage, pipe.outage_retry = link.blocked_since, retry
                at = pipe.order.arrival(max(at, pipe.outage_retry + faults.delay_s))
                lost = False
            remaining = at - loop.time()
            if remaining <= 0:
                return at
            await link.wait_changed(remaining)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a socket with a TCP reset (RST), not a FIN: linger 0, then abort."""
    with contextlib.suppress(OSError, RuntimeError, AttributeError):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultyNetworkServer:
    """The proxies of every ordered pair of ``targets`` (the nodes' p2p ports)."""

    def __init__(self, targets: list[int], faults: LinkFaults, seed: int) -> None:
        self.targets = targets
        rng = random.Random(seed)
        self.links = {
            (a, b): Link(a, b, faults, rng)
            for a, b in itertools.combinations(range(len(targets)), 2)
        }
        self.ports: dict[tuple[int, int], int] = {}
        self.servers: list[asyncio.Server] = []
        self.reset_tasks: list[asyncio.Task[None]] = []

    def link(self, a: int, b: int) -> Link:
        return self.links[(min(a, b), max(a, b))]

    async def start(self) -> None:
        for src, dst in itertools.permutations(range(len(self.targets)), 2):
            server = await asyncio.start_server(
                self._handler(src, dst), "127.0.0.1", 0, reuse_address=True
            )
            self.servers.append(server)
            self.ports[(src, dst)] = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self.reset_tasks = [loop.create_task(self._resets(link)) for link in self.links.values()]

    def _handler(
        self, src: int, dst: int
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            link = self.link(src, dst)
            connection = RelayedConnection(link, src, dst)
            link.connections.add(connection)
            link.connections_opened += 1
            try:
                await connection.run(reader, writer, self.targets[dst])
            finally:
                link.connections.discard(connection)
                connection.abort()

        return handle

    async def _resets(self, link: Link) -> None:
        """Reset the link's connections at random (Poisson) while it asks for it."""
        while True:
            wait = next_reset_in(link.reset_rng, link.faults)
            if await link.wait_changed(wait):
                continue  # new settings: draw again
            if not link.faults.blocked:
                link.reset_all()

    def command(self, request: dict[str, Any]) -> dict[str, Any]:
        """Carry out one control command; the answer to print."""
        op = request.get("op")
        now = asyncio.get_running_loop().time()
        if op == "set":
            for a, b, faults in request["links"]:
                self.link(a, b).update(LinkFaults.from_json(faults), now)
            return {"ok": True}
        if op == "cut":
            return {
                "ok": True,
                "cut": sum(self.link(a, b).reset_all() for a, b in request["links"]),
            }
        if op == "stats":
            return {"ok": True, "links": {link.name: link.stats() for link in self.links.values()}}
        return {"ok": False, "error": f"unknown op {op!r}"}

    async def serve(self) -> None:
        """Answer commands from stdin until it closes."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        ports = [[src, dst, port] for (src, dst), port in sorted(self.ports.items())]
        _answer({"ports": ports})
        while line := await reader.readline():
            try:
                answer = self.command(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            _answer(answer)
        for server in self.servers:
            server.close()
        for link in self.links.values():
            link.reset_all()


def _answer(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


class FaultyNetworkError(RuntimeError):
    """The proxy process failed or refused a command."""


class FaultyNetwork:
    """Drives the proxy process from a test or a benchmark (blocking calls).

    ``port(i, j)`` is what node ``i`` dials to reach node ``j``. Faults are
    per link (unordered pair); ``partition`` blocks every link between
    groups and unblocks the others, keeping their delays."""

    def __init__(
        self, targets: list[int], faults: LinkFaults = LinkFaults(), seed: int = 0
    ) -> None:
        self.targets = list(targets)
        self.faults = {(a, b): faults for a, b in itertools.combinations(range(len(targets)), 2)}
        self._config = {"targets": self.targets, "faults": faults.to_json(), "seed": seed}
        self._ports: dict[tuple[int, int], int] = {}
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> FaultyNetwork:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.process.faulty_network", json.dumps(self._config)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started = self._read_answer(timeout=30)
        self._ports = {(src, dst): port for src, dst, port in started["ports"]}
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    def port(self, src: int, dst: int) -> int:
        return self._ports[(src, dst)]

    def peers_of(self, node: int) -> tuple[str, ...]:
        """The persistent peers node ``node`` should dial: the proxies to the others."""
        return tuple(
            f"127.0.0.1:{self.port(node, other)}"
            for other in range(len(self.targets))
            if other != node
        )

    # -- changing the links --------------------------------------------------
    def set_links(self, pairs: Iterable[tuple[int, int]], faults: LinkFaults) -> None:
        changes = {(min(a, b), max(a, b)): faults for a, b in pairs}
        self._send_faults(changes)

    def set_all(self, faults: LinkFaults) -> None:
        self._send_faults({pair: faults for pair in self.faults})

    def update_all(self, **changes: Any) -> None:
        """Change some settings of every link, keeping the others."""
        self._send_faults({pair: replace(f, **changes) for pair, f in self.faults.items()})

    def partition(self, *groups: Iterable[int]) -> None:
        """Block every link between two groups; links inside a group are open."""
        side = {node: index for index, group in enumerate(groups) for node in group}
        self._send_faults(
            {
                (a, b): replace(f, blocked=side.get(a, -1 - a) != side.get(b, -1 - b))
                for (a, b), f in self.faults.items()
            }
        )

    def heal(self) -> None:
        self.update_all(blocked=False)

    def cut(self, pairs: Iterable[tuple[int, int]]) -> int:
        """Reset the live connections of these links now; how many were reset."""
        answer = self.command({"op": "cut", "links": [[a, b] for a, b in pairs]})
        return int(answer["cut"])

    def stats(self) -> dict[str, Any]:
        links: dict[str, Any] = self.command({"op": "stats"})["links"]
        return links

    def _send_faults(self, changes: dict[tuple[int, int], LinkFaults]) -> None:
        links = [[a, b, faults.to_json()] for (a, b), faults in sorted(changes.items())]
        self.command({"op": "set", "links": links})
        self.faults.update(changes)

    # -- the pipe to the process ---------------------------------------------
    def command(self, request: dict[str, Any]) -> dict[str, Any]:
        process = self._process
        if process is None or process.stdin is None:
            raise FaultyNetworkError("the faulty network is not running")
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        answer = self._read_answer(timeout=10)
        if not answer.get("ok"):
            raise FaultyNetworkError(str(answer.get("error")))
        return answer

    def _read_answer(self, timeout: float) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise FaultyNetworkError(
                f"the proxy process did not answer (exit code {process.poll()})"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer


async def _main(config: dict[str, Any]) -> None:
    server = FaultyNetworkServer(
        [int(port) for port in config["targets"]],
        LinkFaults.from_json(config.get("faults", {})),
        int(config.get("seed", 0)),
    )
    await server.start()
    await server.serve()


if __name__ == "__main__":
    asyncio.run(_main(json.loads(sys.argv[1])))
