"""A TCP proxy on 127.0.0.1 that sits on the path between two nodes: it
records what it relays, and can alter a byte or inject bytes on the way
(the on-path attacker of issue 14 section 8). Used by the p2p unit tests
and the process tests alike; it runs in its own thread with its own event
loop so that blocking test code can drive it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

SERVER_TO_CLIENT = "from the listener"
CLIENT_TO_SERVER = "from the dialer"


class OnPathProxy:
    """Listens on an ephemeral loopback port and relays every connection to
    ``target_port``. ``tamper_next(direction)`` flips one bit of the next
    chunk relayed in that direction; ``inject_next(direction, data)`` sends
    ``data`` in that direction before the next chunk. ``seen`` holds every
    byte relayed (both directions)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.seen = bytearray()
        self.connections = 0
        self._actions: dict[str, list[Callable[[bytes], bytes]]] = {
            SERVER_TO_CLIENT: [],
            CLIENT_TO_SERVER: [],
        }
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OnPathProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def tamper_next(self, direction: str) -> None:
        def flip(chunk: bytes) -> bytes:
            return chunk[:-1] + bytes([chunk[-1] ^ 0x01])

        with self._lock:
            self._actions[direction].append(flip)

    def inject_next(self, direction: str, data: bytes) -> None:
        with self._lock:
            self._actions[direction].append(lambda chunk: data + chunk)

    def pending_actions(self) -> int:
        with self._lock:
            return sum(len(actions) for actions in self._actions.values())

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()
        if self._server is not None:
            self._server.close()
        self._loop.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer, CLIENT_TO_SERVER),
            self._pipe(up_reader, writer, SERVER_TO_CLIENT),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                with self._lock:
                    self.seen += chunk
                    action = self._actions[direction].pop(0) if self._actions[direction] else None
                writer.write(action(chunk) if action else chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                writer.close()
