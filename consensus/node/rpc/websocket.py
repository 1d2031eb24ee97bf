"""WebSocket sessions at /ws: JSON-RPC over text frames, plus subscriptions.

Every ``ledger_*`` method works over a WebSocket too. Two more methods exist
only here:

- ``ledger_subscribe(kind, filter?)`` -> subscription id (text).
  ``kind`` is ``"newHeads"`` (every committed block's header) or
  ``"receipts"`` with a filter ``{"txHash": hex}`` (that transaction's
  receipt; sent at once if it is already committed) or ``{"address":
  "lg1..."}`` (the receipt of every transaction sent by, or with an event
  naming, that address).
- ``ledger_unsubscribe(id)`` -> true if the subscription existed.

Notifications are JSON-RPC notifications::

    {"jsonrpc": "2.0", "method": "ledger_subscription",
     "params": {"subscription": "<id>", "result": {...}}}

Replies and notifications leave in order through one bounded queue per
connection; a client that does not read fast enough to keep it below
``max_ws_queue`` is disconnected (close code 1008) rather than slowing the
node down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMsgType, web

from ledger.rpc_errors import InvalidParams, SubscriptionLimit

from . import json_format as jf
from .dispatch import Method, Param
from .events import CommittedBlock

if TYPE_CHECKING:
    from .server import RpcServer

NOTIFICATION_METHOD: Final = "ledger_subscription"
NEW_HEADS: Final = "newHeads"
RECEIPTS: Final = "receipts"
CLOSE_TOO_SLOW: Final = 1008


@dataclass(frozen=True, slots=True)
class Subscription:
    kind: str
    tx_hash: bytes | None = None
    address: bytes | None = None


def parse_kind(value: object) -> str:
    if value not in (NEW_HEADS, RECEIPTS):
        raise InvalidParams(f'kind: expected "{NEW_HEADS}" or "{RECEIPTS}"', {"param": "kind"})
    assert isinstance(value, str)
    return value


def parse_subscription_id(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidParams("id: expected a subscription id string", {"param": "id"})
    return value


def parse_filter(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParams("filter: expected an object", {"param": "filter"})
    return value


class WebSocketSession:
    """One WebSocket connection: its subscriptions and its outgoing queue."""

    def __init__(self, server: RpcServer, ws: web.WebSocketResponse) -> None:
        self.server = server
        self.ws = ws
        self.subscriptions: dict[str, Subscription] = {}
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(server.config.max_ws_queue)
        self.overflowed = False
        self._after_reply: list[str] = []
        self._closing: asyncio.Task[bool] | None = None
        self.methods = {
            "ledger_subscribe": Method.of(
                "ledger_subscribe",
                self.subscribe,
                Param("kind", parse_kind),
                Param("filter", parse_filter, required=False, default=None),
            ),
            "ledger_unsubscribe": Method.of(
                "ledger_unsubscribe",
                self.unsubscribe,
                Param("id", parse_subscription_id),
            ),
        }

    # -- methods ------------------------------------------------------------
    def subscribe(self, kind: str, filter_: dict[str, Any] | None) -> str:
        if len(self.subscriptions) >= self.server.config.max_ws_subscriptions:
            raise SubscriptionLimit(
                f"at most {self.server.config.max_ws_subscriptions} subscriptions per connection",
                {"limit": self.server.config.max_ws_subscriptions},
            )
        if kind == NEW_HEADS:
            if filter_:
                raise InvalidParams("filter: newHeads takes no filter", {"param": "filter"})
            subscription = Subscription(NEW_HEADS)
        else:
            subscription = self._receipt_subscription(filter_ or {})
        sub_id = secrets.token_hex(8)
        self.subscriptions[sub_id] = subscription
        self.server.metrics.ws_subscriptions.inc()
        if subscription.tx_hash is not None:
            receipt = self.server.methods.get_transaction_receipt(subscription.tx_hash)
            if receipt is not None:
                self._after_reply.append(notification(sub_id, receipt))
        return sub_id

    def _receipt_subscription(self, filter_: dict[str, Any]) -> Subscription:
        if set(filter_) == {"txHash"}:
            return Subscription(RECEIPTS, tx_hash=jf.parse_hash(filter_["txHash"], "txHash"))
        if set(filter_) == {"address"}:
            return Subscription(RECEIPTS, address=jf.parse_address(filter_["address"]))
        raise InvalidParams(
            'filter: receipts takes {"txHash": hex} or {"address": "lg1..."}',
            {"param": "filter"},
        )

    def unsubscribe(self, sub_id: str) -> bool:
        if self.subscriptions.pop(sub_id, None) is None:
            return False
        self.server.metrics.ws_subscriptions.dec()
        return True

    # -- events -------------------------------------------------------------
    def on_block(self, event: CommittedBlock) -> None:
        """Queue the notifications this commit triggers (listener of the event hub)."""
        for sub_id, sub in self.subscriptions.items():
            if sub.kind == NEW_HEADS:
                head = event.cached_json("head", lambda: jf.header_json(event.block))
                self.push(notification(sub_id, head))
            else:
                for index in matching_receipts(event, sub):
                    self.push(notification(sub_id, receipt_of(event, index)))

    def push(self, message: str) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self._closing = asyncio.get_running_loop().create_task(
                self.ws.close(code=CLOSE_TOO_SLOW, message=b"client too slow")
            )

    # -- connection ------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until it closes."""
        sender = asyncio.get_running_loop().create_task(self._send_loop())
        handle = self.server.node.events.add_listener(self.on_block)
        try:
            async for message in self.ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                reply = await self.server.dispatcher.handle_body(message.data, self.methods)
                if reply is not None:
                    self.push(reply)
                for queued in self._after_reply:
                    self.push(queued)
                self._after_reply.clear()
                if self.overflowed or sender.done():
                    break
        finally:
            self.server.node.events.remove_listener(handle)
            self.server.metrics.ws_subscriptions.dec(len(self.subscriptions))
            self.subscriptions.clear()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
            if self._closing is not None:
                await self._closing
            else:
                await self.ws.close()

    async def _send_loop(self) -> None:
        while not self.overflowed:
            message = await self.queue.get()
            if message is None or self.overflowed:
                return
            await self.ws.send_str(message)


def notification(sub_id: str, result: Any) -> str:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "method": NOTIFICATION_METHOD,
            "params": {"subscription": sub_id, "result": result},
        },
        separators=(",", ":"),
    )


def matching_receipts(event: CommittedBlock, sub: Subscription) -> list[int]:
    """Indexes of the block's transactions a receipts subscription wants."""
    txs = event.block.transactions
    if sub.tx_hash is not None:
        return [i for i, tx in enumerate(txs) if tx.hash == sub.tx_hash]
    address = sub.address
    out = []
    for i, tx in enumerate(txs):
        if tx.sender_address == address or any(
            value == address for e in event.receipts[i].events for _, value in e.attributes
        ):
            out.append(i)
    return out


def receipt_of(event: CommittedBlock, index: int) -> dict[str, Any]:
    block = event.block

    def render() -> dict[str, Any]:
        return jf.receipt_json(
            event.receipts[index], block.transactions[index], block.height, block.hash, index
        )

    result: dict[str, Any] = event.cached_json(f"receipt/{index}", render)
    return result
