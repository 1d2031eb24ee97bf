"""The RPC queries that list: an account's history, the live contracts, the
barter markets.

``ListingQueries.methods()`` gives ``ledger_getAccountHistory``,
``ledger_getContracts`` and ``ledger_getMarkets`` for the method table of
consensus.node.rpc.methods (the block explorer needs them; any client may use them).
Each answers one page, bounded by its ``limit``, with a cursor to the next;
all read committed data only. docs/spec/rpc.md describes the answers.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any, Final

from ledger import codec
from ledger.address import encode_address
from ledger.features.barter.offers import BOOK_PREFIX
from ledger.features.contracts import rpc_json as contract_forms
from ledger.features.contracts.execution import contract_addresses, contract_info
from ledger.rpc_errors import InternalError, InvalidParams
from ledger.types import Block

from . import json_format as jf
from .dispatch import Method, Param
from .node_view import NodeView

MAX_HISTORY_PAGE: Final = 100
DEFAULT_HISTORY_PAGE: Final = 25
MAX_CONTRACT_PAGE: Final = 100
DEFAULT_CONTRACT_PAGE: Final = 50
MARKET_SEPARATOR: Final = "/"


def parse_position(value: object, name: str = "before") -> tuple[int, int] | None:
    """A place in the chain: ``{"height": h >= 1, "index": i >= 0}``, or null."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or set(value) != {"height", "index"}
        or type(value["height"]) is not int
        or type(value["index"]) is not int
        or not 1 <= value["height"] < 2**64
        or not 0 <= value["index"] < 2**32
    ):
        raise InvalidParams(
            f'{name}: expected {{"height": h, "index": i}} with h >= 1, i >= 0, or null',
            {"param": name},
        )
    return value["height"], value["index"]


def parse_page_size(maximum: int, name: str = "limit") -> Callable[[object], int]:
    def parse(value: object) -> int:
        if type(value) is not int or not 1 <= value <= maximum:
            raise InvalidParams(f"{name}: expected an integer in [1, {maximum}]", {"param": name})
        return value

    return parse


def parse_optional_address(value: object, name: str = "start") -> bytes | None:
    return None if value is None else jf.parse_address(value, name)


def parse_market(value: object, name: str = "start") -> str:
    """``"sellAsset/buyAsset"``, or "" for the first market."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value.count(MARKET_SEPARATOR) != 1:
        raise InvalidParams(f'{name}: expected "sellAsset/buyAsset"', {"param": name})
    sell, buy = value.split(MARKET_SEPARATOR)
    jf.parse_asset(sell, name)
    jf.parse_asset(buy, name)
    return value


class ListingQueries:
    """The listing handlers over one node; ``block(height)`` loads a committed
    block (through the method table's cache)."""

    def __init__(self, node: NodeView, block: Callable[[int], Block | None]) -> None:
        self.node = node
        self.block = block

    def methods(self) -> list[Method]:
        """The methods, with their declared parameters."""
        return [
            Method.of(
                "ledger_getAccountHistory",
                self.get_account_history,
                Param("address", jf.parse_address),
                Param("before", parse_position, required=False, default=None),
                Param(
                    "limit",
                    parse_page_size(MAX_HISTORY_PAGE),
                    required=False,
                    default=DEFAULT_HISTORY_PAGE,
                ),
            ),
            Method.of(
                "ledger_getContracts",
                self.get_contracts,
                Param("start", parse_optional_address, required=False, default=None),
                Param(
                    "limit",
                    parse_page_size(MAX_CONTRACT_PAGE),
                    required=False,
                    default=DEFAULT_CONTRACT_PAGE,
                ),
            ),
            Method.of(
                "ledger_getMarkets",
                self.get_markets,
                Param("start", parse_market, required=False, default=""),
                Param("limit", jf.parse_limit, required=False, default=jf.DEFAULT_PAGE),
            ),
        ]

    # -- methods -----------------------------------------------------------
    def get_account_history(
        self, address: bytes, before: tuple[int, int] | None, limit: int
    ) -> dict[str, Any]:
        store = self.node.chain.store
        positions = store.load_account_history(address, before, limit + 1)
        entries = []
        for height, index in positions[:limit]:
            block = self.block(height)
            receipt = store.load_receipt(height, index)
            if block is None or receipt is None or index >= len(block.transactions):
                raise InternalError("the history index points at a missing block or receipt")
            entry = jf.transaction_json(block.transactions[index], height, block.hash, index)
            entry["timeMs"] = block.header.time_ms
            entry["status"] = receipt.status
            entry["success"] = receipt.status == 0
            entries.append(entry)
        following = None
        if len(positions) > limit:
            height, index = positions[limit - 1]
            following = {"height": height, "index": index}
        return {
            "address": encode_address(address),
            "indexedFrom": store.load_history_start(),
            "transactions": entries,
            "next": following,
        }

    def get_contracts(self, start: bytes | None, limit: int) -> dict[str, Any]:
        chain = self.node.chain
        addresses = contract_addresses(chain.store)
        first = bisect.bisect_left(addresses, start) if start is not None else 0
        page = addresses[first : first + limit]
        contracts = []
        for address in page:
            info = contract_info(chain.store, address)
            if info is None:
                raise InternalError("the contract list names a contract without a record")
            contracts.append(contract_forms.contract_json(info))
        following = addresses[first + limit] if len(addresses) > first + limit else None
        return {
            "height": chain.tip.height,
            "contracts": contracts,
            "next": encode_address(following) if following is not None else None,
        }

    def get_markets(self, start: str, limit: int) -> dict[str, Any]:
        chain = self.node.chain
        markets: list[dict[str, Any]] = []
        following = None
        for key, raw in chain.store.iter_state(BOOK_PREFIX, start.encode()):
            pair = key[len(BOOK_PREFIX) :].decode()
            if len(markets) == limit:
                following = pair
                break
            sell, buy = pair.split(MARKET_SEPARATOR)
            book = codec.decode(raw)  # [[price_buy, price_sell, offer_id], ...], best first
            price_buy, price_sell, _ = book[0]
            markets.append(
                {
                    "sellAsset": sell,
                    "buyAsset": buy,
                    "offers": len(book),
                    "bestPriceSell": str(price_sell),
                    "bestPriceBuy": str(price_buy),
                }
            )
        return {"height": chain.tip.height, "markets": markets, "next": following}
