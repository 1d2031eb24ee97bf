"""WebSocket at /ws: JSON-RPC calls, newHeads and receipts subscriptions, limits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from consensus.node.rpc.config import RpcConfig
from ledger.client import LedgerClient

from .conftest import ALICE, BOB, address_text, transfer
from .server_thread import ServerThread

TIMEOUT = 10.0


async def ask(
    ws: aiohttp.ClientWebSocketResponse, request_id: int, method: str, *params: Any
) -> Any:
    await ws.send_str(
        json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
    )
    return json.loads((await ws.receive(TIMEOUT)).data)


async def next_message(ws: aiohttp.ClientWebSocketResponse) -> Any:
    return json.loads((await ws.receive(TIMEOUT)).data)


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_calls_and_new_heads(served: ServerThread) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.url + "/ws") as ws:
            answer = await ask(ws, 1, "ledger_chainId")
            assert answer == {"jsonrpc": "2.0", "id": 1, "result": "ledger-devnet-1"}
            sub = (await ask(ws, 2, "ledger_subscribe", "newHeads"))["result"]
            await asyncio.to_thread(served.produce)
            note = await next_message(ws)
            assert note["method"] == "ledger_subscription"
            assert "id" not in note
            assert note["params"]["subscription"] == sub
            assert note["params"]["result"]["height"] == 1
            assert (await ask(ws, 3, "ledger_unsubscribe", sub))["result"] is True
            assert (await ask(ws, 4, "ledger_unsubscribe", sub))["result"] is False
            await asyncio.to_thread(served.produce)
            answer = await ask(ws, 5, "ledger_blockNumber")  # no notification came first
            assert answer["result"] == 2

    run(scenario())


def test_receipt_subscriptions(served: ServerThread) -> None:
    client = LedgerClient(served.url)
    first = transfer(ALICE, BOB, 1, nonce=0)
    second = transfer(ALICE, BOB, 2, nonce=1)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.url + "/ws") as ws:
            by_hash = (
                await ask(ws, 1, "ledger_subscribe", "receipts", {"txHash": second.hash.hex()})
            )["result"]
            by_address = (
                await ask(ws, 2, "ledger_subscribe", "receipts", {"address": address_text(BOB)})
            )["result"]
            await asyncio.to_thread(client.send_raw_transaction, first.encode())
            await asyncio.to_thread(client.send_raw_transaction, second.encode())
            await asyncio.to_thread(served.produce)
            notes = [await next_message(ws) for _ in range(3)]
            seen = [
                (n["params"]["subscription"], n["params"]["result"]["transactionHash"])
                for n in notes
            ]
            assert sorted(seen) == sorted(
                [
                    (by_address, first.hash.hex()),
                    (by_address, second.hash.hex()),
                    (by_hash, second.hash.hex()),
                ]
            )
            # Subscribing to an already committed transaction delivers its receipt at once.
            reply = await ask(ws, 3, "ledger_subscribe", "receipts", {"txHash": first.hash.hex()})
            note = await next_message(ws)
            assert note["params"]["subscription"] == reply["result"]
            assert note["params"]["result"]["status"] == 0

    run(scenario())


def test_bad_subscriptions(served: ServerThread) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.url + "/ws") as ws:
            assert (await ask(ws, 1, "ledger_subscribe", "logs"))["error"]["code"] == -32602
            assert (await ask(ws, 2, "ledger_subscribe", "receipts", {"x": 1}))["error"][
                "code"
            ] == -32602
            assert (await ask(ws, 3, "ledger_subscribe", "newHeads", {"x": 1}))["error"][
                "code"
            ] == -32602
            assert (await ask(ws, 4, "ledger_unsubscribe", 5))["error"]["code"] == -32602
            await ws.send_str("{not json")
            assert (await next_message(ws))["error"]["code"] == -32700
            assert (await ask(ws, 5, "ledger_chainId"))["result"] == "ledger-devnet-1"

    run(scenario())
    # ledger_subscribe is not an HTTP method
    _, answer = served.post(
        {"jsonrpc": "2.0", "id": 1, "method": "ledger_subscribe", "params": ["newHeads"]}
    )
    assert answer["error"]["code"] == -32601


def test_subscription_limit(tmp_path: Path) -> None:
    server = ServerThread(tmp_path, RpcConfig(port=0, max_ws_subscriptions=2))

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(server.url + "/ws") as ws:
            for i in range(2):
                assert "result" in await ask(ws, i, "ledger_subscribe", "newHeads")
            answer = await ask(ws, 9, "ledger_subscribe", "newHeads")
            assert answer["error"]["code"] == -32003

    try:
        run(scenario())
    finally:
        server.close()


def test_slow_consumer_is_disconnected(tmp_path: Path) -> None:
    server = ServerThread(tmp_path, RpcConfig(port=0, max_ws_queue=2))

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(server.url + "/ws") as ws:
            assert "result" in await ask(ws, 1, "ledger_subscribe", "newHeads")

            def flood() -> None:
                # Produce blocks within one loop callback: the queue cannot drain in between.
                def burst() -> None:
                    for _ in range(5):
                        server.node.produce_block()

                server.run(burst)

            await asyncio.to_thread(flood)
            for _ in range(10):  # a few notifications may arrive before the close frame
                message = await ws.receive(TIMEOUT)
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == 1008

    try:
        run(scenario())
        assert server.node.events.listener_count == 1  # only the metrics listener is left
    finally:
        server.close()
