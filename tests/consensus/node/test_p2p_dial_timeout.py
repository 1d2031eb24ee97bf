"""A dial into a black hole (a partition: the SYN or the upgrade never
answered) gives up after ``dial_timeout`` and dials again, so a healed
network is found at the next dial instead of at the kernel's next SYN retry
(1, 3, 7, ... 63 s later). Found by the faulty-network testnet
(tests/process/test_faulty_devnet.py)."""

from __future__ import annotations

import asyncio

import pytest

from consensus.node.p2p import P2PConfig, P2PNode
from ledger.crypto import SigningKey, sha256

pytestmark = pytest.mark.timeout(60)

CHAIN = "p2p-dial-timeout-chain"
KEY = SigningKey(sha256(b"p2p dial timeout test node"))


def test_a_dial_that_gets_no_upgrade_answer_is_abandoned_and_retried() -> None:
    async def scenario() -> int:
        accepted: list[asyncio.StreamWriter] = []

        async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)  # keep the socket open and never answer
            await reader.read()

        server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = P2PConfig(
            node_key=KEY,
            chain_id=CHAIN,
            persistent_peers=(f"127.0.0.1:{port}",),
            dial_timeout=0.3,
            backoff_initial=0.05,
            backoff_max=0.1,
        )
        node = P2PNode(config, lambda peer, channel, payload: None)
        await node.start()
        try:
            async with asyncio.timeout(20):
                while len(accepted) < 3:
                    await asyncio.sleep(0.05)
        finally:
            await node.stop()
            for writer in accepted:
                writer.close()
            server.close()
        return len(accepted)

    assert asyncio.run(scenario()) >= 3


def test_invalid_dial_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="dial_timeout"):
        P2PConfig(node_key=KEY, chain_id=CHAIN, dial_timeout=0.0)
