"""The RPC queries of assets, barter offers, policy accounts and governance.

``AssetQueries.methods()`` lists ``ledger_getAsset``, ``ledger_getOffers``,
``ledger_getOffer``, ``ledger_getOrderBook``, ``ledger_getPolicy``,
``ledger_getPendingProposals`` and ``ledger_getGovernance`` for the method
table of consensus.node.rpc.methods. Each reads the state after a block
(default: the latest) through the query functions of the bank, barter,
policy and validators features; docs/spec/rpc.md describes the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ledger.address import encode_address
from ledger.features.bank import rpc_json as bank_forms
from ledger.features.bank.assets import asset_info
from ledger.features.barter import rpc_json as barter_forms
from ledger.features.barter.offers import MAX_BOOK_OFFERS, offer_info, offers_of, order_book
from ledger.features.policy import rpc_json as policy_forms
from ledger.features.policy.accounts import governance_address, pending_proposals, policy_info
from ledger.features.validators import rpc_json as validator_forms
from ledger.features.validators.schedule import get_validator_schedule
from ledger.rpc_errors import InvalidParams
from ledger.state import State, StateReader, tree_key
from ledger.state_tree import StateTree

from . import json_format as jf
from .dispatch import Method, Param
from .node_view import NodeView

MAX_ID: Final = (1 << 64) - 1
DEFAULT_BOOK_DEPTH: Final = 50
MAX_BOOK_DEPTH: Final = MAX_BOOK_OFFERS  # a whole book direction


def parse_id(value: object, name: str) -> int:
    """An offer or proposal id: a JSON integer in [0, 2^64-1]."""
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise InvalidParams(f"{name}: expected an integer in [0, 2^64-1]", {"param": name})
    return value


def parse_depth(value: object, name: str = "depth") -> int:
    """How many offers of a book to return: an integer in [1, MAX_BOOK_DEPTH]."""
    if type(value) is not int or not 1 <= value <= MAX_BOOK_DEPTH:
        raise InvalidParams(
            f"{name}: expected an integer in [1, {MAX_BOOK_DEPTH}]", {"param": name}
        )
    return value


class TreeStateReader:
    """A StateReader over the state tree at one root: the state after any
    committed block, not only the latest (read through the tree, uncached)."""

    def __init__(self, tree: StateTree) -> None:
        self.tree = tree

    def get_state(self, key: bytes) -> bytes | None:
        return self.tree.get(tree_key(key))


class AssetQueries:
    """The query handlers over one node. ``state_root(height)`` gives the state
    root after a block and raises BlockNotFound above the tip."""

    def __init__(self, node: NodeView, state_root: Callable[[int], bytes]) -> None:
        self.node = node
        self.state_root = state_root

    def methods(self) -> list[Method]:
        """The methods, with their declared parameters."""
        height = Param("height", jf.parse_height, required=False)
        address = Param("address", jf.parse_address)
        return [
            Method.of("ledger_getAsset", self.get_asset, Param("asset", jf.parse_asset), height),
            Method.of("ledger_getOffers", self.get_offers, address, height),
            Method.of(
                "ledger_getOffer",
                self.get_offer,
                Param("offerId", lambda v: parse_id(v, "offerId")),
                height,
            ),
            Method.of(
                "ledger_getOrderBook",
                self.get_order_book,
                Param("sellAsset", lambda v: jf.parse_asset(v, "sellAsset")),
                Param("buyAsset", lambda v: jf.parse_asset(v, "buyAsset")),
                Param("depth", parse_depth, required=False, default=DEFAULT_BOOK_DEPTH),
                height,
            ),
            Method.of("ledger_getPolicy", self.get_policy, address, height),
            Method.of("ledger_getPendingProposals", self.get_pending_proposals, address, height),
            Method.of("ledger_getGovernance", self.get_governance, height),
        ]

    def reader(self, height: int | None) -> tuple[int, StateReader]:
        """The height and a reader of the state after block ``height`` (None:
        the latest). Raises BlockNotFound above the tip."""
        chain = self.node.chain
        tip = chain.tip.height
        if height is None or height == tip:
            return tip, chain.store
        return height, TreeStateReader(
            StateTree(chain.store, self.state_root(height), cache_size=0)
        )

    # -- methods -----------------------------------------------------------
    def get_asset(self, asset: str, height: int | None) -> dict[str, Any] | None:
        info = asset_info(self.reader(height)[1], asset)
        return bank_forms.asset_json(info) if info is not None else None

    def get_offers(self, address: bytes, height: int | None) -> list[dict[str, Any]]:
        return [barter_forms.offer_json(o) for o in offers_of(self.reader(height)[1], address)]

    def get_offer(self, offer_id: int, height: int | None) -> dict[str, Any] | None:
        offer = offer_info(self.reader(height)[1], offer_id)
        return barter_forms.offer_json(offer) if offer is not None else None

    def get_order_book(
        self, sell_asset: str, buy_asset: str, depth: int, height: int | None
    ) -> dict[str, Any]:
        if sell_asset == buy_asset:
            raise InvalidParams(
                "buyAsset: a book needs two different assets", {"param": "buyAsset"}
            )
        at, reader = self.reader(height)
        offers = order_book(reader, sell_asset, buy_asset, depth)
        return {
            "sellAsset": sell_asset,
            "buyAsset": buy_asset,
            "height": at,
            "offers": [barter_forms.offer_json(o) for o in offers],
        }

    def get_policy(self, address: bytes, height: int | None) -> dict[str, Any] | None:
        policy = policy_info(self.reader(height)[1], address)
        return policy_forms.policy_json(policy) if policy is not None else None

    def get_pending_proposals(self, address: bytes, height: int | None) -> list[dict[str, Any]]:
        return [
            policy_forms.proposal_json(p)
            for p in pending_proposals(self.reader(height)[1], address)
        ]

    def get_governance(self, height: int | None) -> dict[str, Any]:
        at, reader = self.reader(height)
        address = governance_address(reader)
        policy = policy_info(reader, address) if address is not None else None
        proposals = pending_proposals(reader, address) if address is not None else ()
        return {
            "height": at,
            "address": encode_address(address) if address is not None else None,
            "policy": policy_forms.policy_json(policy) if policy is not None else None,
            "proposals": [policy_forms.proposal_json(p) for p in proposals],
            "schedule": [
                validator_forms.schedule_entry_json(activation, validators)
                for activation, validators in get_validator_schedule(State(reader))
            ],
        }
