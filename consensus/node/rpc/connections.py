"""The RPC server's open connections: a bounded table, deadlines, eviction.

One idle TCP socket costs an attacker nothing, so a limit on open
connections alone lets 256 idle sockets lock every other client out. Every
connection is therefore in one of three states:

- **waiting** on its client: for complete request headers (after connecting,
  or after its previous reply: ``idle_timeout``), for a request body or for
  the client to read a reply (``io_timeout``). A waiting connection has a
  deadline; a periodic sweep closes it once the deadline passes;
- **working**: the node is computing its answer. It has no deadline (the
  work is bounded by the request and reply limits) and is never evicted;
- **pinned**: a WebSocket session, closed only by its own rules (heartbeat,
  slow consumer); their number has a cap of its own.

When the table is full, a new connection evicts the connection that has
been waiting longest; only when no connection is waiting (all working or
pinned) is the newcomer refused with 503. So a client holds a slot only
while the node works for it or until someone else needs it: idle sockets,
slowly dribbled headers or bodies and unread replies all lose their slot
to the next client instead of keeping it.

The table knows connections as opaque keys with a ``close()`` callback; the
server (consensus.node.rpc.server) feeds it from aiohttp's protocol objects.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum


class Phase(Enum):
    WAITING = "waiting"
    WORKING = "working"
    PINNED = "pinned"


@dataclass(slots=True)
class Connection:
    """What the table knows of one connection."""

    close: Callable[[], None]
    phase: Phase
    since: float  # when it entered its phase
    deadline: float | None  # for WAITING: when the sweep closes it


EVICTED = "evicted"
EXPIRED = "expired"


class ConnectionTable:
    """At most ``limit`` connections; ``clock`` is the event loop's time;
    ``on_close(reason)`` hears of every connection the table closes
    (``EVICTED`` or ``EXPIRED``)."""

    def __init__(
        self,
        limit: int,
        idle_timeout: float,
        io_timeout: float,
        clock: Callable[[], float],
        on_close: Callable[[str], None] | None = None,
    ) -> None:
        self.limit = limit
        self.idle_timeout = idle_timeout
        self.io_timeout = io_timeout
        self._clock = clock
        self._on_close = on_close
        self._open: dict[Hashable, Connection] = {}
        self.evicted = 0  # connections closed to make room
        self.expired = 0  # connections closed by their deadline

    def __len__(self) -> int:
        return len(self._open)

    def phase(self, key: Hashable) -> Phase | None:
        """The connection's phase (None once it is gone)."""
        connection = self._open.get(key)
        return connection.phase if connection is not None else None

    def count(self, phase: Phase) -> int:
        return sum(1 for c in self._open.values() if c.phase is phase)

    def admit(self, key: Hashable, close: Callable[[], None]) -> bool:
        """Register a new connection (waiting for its first request's headers),
        evicting the longest-waiting one if the table is full. False when
        the table is full of working and pinned connections: refuse it."""
        if len(self._open) >= self.limit and not self._evict_one():
            return False
        now = self._clock()
        self._open[key] = Connection(close, Phase.WAITING, now, now + self.idle_timeout)
        return True

    def _evict_one(self) -> bool:
        oldest: tuple[float, Hashable] | None = None
        for key, connection in self._open.items():  # insertion order breaks ties
            if connection.phase is not Phase.WAITING:
                continue
            if oldest is None or connection.since < oldest[0]:
                oldest = (connection.since, key)
        if oldest is None:
            return False
        self._close(oldest[1], EVICTED)
        self.evicted += 1
        return True

    def forget(self, key: Hashable) -> None:
        """The connection is gone (closed by either side)."""
        self._open.pop(key, None)

    def _close(self, key: Hashable, reason: str) -> None:
        self._open.pop(key).close()
        if self._on_close is not None:
            self._on_close(reason)

    # -- phases --------------------------------------------------------------
    def wait_for_request(self, key: Hashable) -> None:
        """Between requests: the client has ``idle_timeout`` to send the next headers."""
        self._set(key, Phase.WAITING, self.idle_timeout)

    def wait_for_io(self, key: Hashable) -> None:
        """Reading a body or writing a reply: the client has ``io_timeout``."""
        self._set(key, Phase.WAITING, self.io_timeout)

    def working(self, key: Hashable) -> None:
        self._set(key, Phase.WORKING, None)

    def pin(self, key: Hashable) -> None:
        self._set(key, Phase.PINNED, None)

    def _set(self, key: Hashable, phase: Phase, timeout: float | None) -> None:
        connection = self._open.get(key)
        if connection is None:
            return  # already evicted or closed; its task is being cancelled
        now = self._clock()
        connection.phase = phase
        connection.since = now
        connection.deadline = None if timeout is None else now + timeout

    # -- deadlines -------------------------------------------------------------
    def sweep(self) -> int:
        """Close every waiting connection past its deadline; how many were closed."""
        now = self._clock()
        late = [
            key
            for key, c in self._open.items()
            if c.phase is Phase.WAITING and c.deadline is not None and c.deadline <= now
        ]
        for key in late:
            self._close(key, EXPIRED)
        self.expired += len(late)
        return len(late)

    @property
    def sweep_interval(self) -> float:
        """How often the server should call ``sweep`` (a fraction of the shortest timeout)."""
        return max(0.01, min(1.0, self.idle_timeout / 4, self.io_timeout / 4))
