"""The fault-injecting proxy process (tests/process/faulty_network.py) on
real sockets: bytes cross a bad link intact and in order, a partition holds
them (and new connections) until it heals, cuts and dead targets reset the
dialer, and partitions block exactly the links between groups."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from .devnet_harness import wait_until
from .faulty_network import FaultyNetwork, FaultyNetworkError
from .link_model import LinkFaults

pytestmark = pytest.mark.timeout(120)


class EchoServer:
    """A TCP echo server on 127.0.0.1 that counts what it accepted and received."""

    def __init__(self) -> None:
        self.accepted = 0
        self.received = bytearray()
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with outer._lock:
                    outer.accepted += 1
                with contextlib.suppress(OSError):
                    while data := self.request.recv(65536):
                        with outer._lock:
                            outer.received += data
                        self.request.sendall(data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"connection closed after {len(data)} of {size} bytes"
        data += chunk
    return bytes(data)


def test_bytes_cross_a_slow_lossy_link_intact_and_in_order(echo: EchoServer) -> None:
    faults = LinkFaults(delay_s=0.005, jitter_s=0.004, bandwidth_bps=50_000_000, loss=0.02)
    payload = os.urandom(300_000)
    with (
        FaultyNetwork([echo.port, echo.port], faults, seed=1) as network,
        socket.create_connection(("127.0.0.1", network.port(0, 1)), timeout=30) as sock,
    ):
        sender = threading.Thread(target=lambda: sock.sendall(payload), daemon=True)
        sender.start()
        assert read_exactly(sock, len(payload)) == payload
        sender.join(10)
        link = network.stats()["0-1"]
    assert link["relayed_bytes"] == 2 * len(payload)
    assert link["opened"] == 1


def test_a_partition_holds_the_bytes_in_flight_until_it_heals(echo: EchoServer) -> None:
    with (
        FaultyNetwork([echo.port, echo.port], LinkFaults(delay_s=0.01), seed=2) as network,
        socket.create_connection(("127.0.0.1", network.port(1, 0)), timeout=30) as sock,
    ):
        sock.sendall(b"before")
        assert read_exactly(sock, 6) == b"before"
        network.partition([0], [1])
        sock.sendall(b"during")
        wait_until(lambda: network.stats()["0-1"]["in_flight_bytes"] >= 6, 10, "bytes in flight")
        assert bytes(echo.received) == b"before"  # held by the blocked link
        network.heal()
        assert read_exactly(sock, 6) == b"during"
    assert bytes(echo.received) == b"beforeduring"


def test_a_connection_opened_in_a_partition_reaches_its_target_after_the_heal(
    echo: EchoServer,
) -> None:
    with FaultyNetwork([echo.port, echo.port], LinkFaults(delay_s=0.01), seed=3) as network:
        network.partition([0], [1])
        with socket.create_connection(("127.0.0.1", network.port(0, 1)), timeout=30) as sock:
            sock.sendall(b"hello")
            wait_until(lambda: network.stats()["0-1"]["connecting"] == 1, 10, "a held dial")
            assert echo.accepted == 0  # the SYN is lost in the partition
            network.heal()
            assert read_exactly(sock, 5) == b"hello"  # at the next SYN retry
        assert echo.accepted == 1


def test_a_cut_resets_the_connections_of_a_link(echo: EchoServer) -> None:
    with (
        FaultyNetwork([echo.port, echo.port], seed=4) as network,
        socket.create_connection(("127.0.0.1", network.port(0, 1)), timeout=30) as sock,
    ):
        sock.sendall(b"ping")
        assert read_exactly(sock, 4) == b"ping"
        assert network.cut([(0, 1)]) == 1
        with pytest.raises(ConnectionResetError):
            sock.sendall(b"x")
            sock.recv(10)
        assert network.stats()["0-1"]["resets"] == 1


def test_a_dial_to_a_node_that_is_down_is_reset(echo: EchoServer) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_port = unused.getsockname()[1]  # bound, never listening: refused
        with (
            FaultyNetwork([echo.port, dead_port], seed=5) as network,
            socket.create_connection(("127.0.0.1", network.port(0, 1)), timeout=30) as sock,
            pytest.raises(ConnectionResetError),
        ):
            sock.sendall(b"anyone?")
            sock.recv(10)


def test_partitions_block_exactly_the_links_between_groups(echo: EchoServer) -> None:
    wan = LinkFaults(delay_s=0.05, jitter_s=0.005)
    with FaultyNetwork([echo.port] * 4, wan, seed=6) as network:
        network.partition([0, 1], [2, 3])
        blocked = {name for name, s in network.stats().items() if s["faults"]["blocked"]}
        assert blocked == {"0-2", "0-3", "1-2", "1-3"}
        network.partition([0, 1, 2], [3])
        links = network.stats()
        assert {name for name, s in links.items() if s["faults"]["blocked"]} == {
            "0-3",
            "1-3",
            "2-3",
        }
        assert all(s["faults"]["delay_s"] == 0.05 for s in links.values())  # kept
        network.heal()
        assert not any(s["faults"]["blocked"] for s in network.stats().values())


def test_invalid_link_settings_are_refused_by_the_proxy_process(echo: EchoServer) -> None:
    with FaultyNetwork([echo.port, echo.port], seed=7) as network:
        with pytest.raises(FaultyNetworkError, match="loss"):
            network.command({"op": "set", "links": [[0, 1, {"loss": 2.0}]]})
        with pytest.raises(FaultyNetworkError, match="unknown op"):
            network.command({"op": "explode"})
        assert network.stats()["0-1"]["faults"]["loss"] == 0.0
