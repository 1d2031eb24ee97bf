"""The asset, barter, policy and governance queries as ``Call``s (see
ledger.client.calls): the sync and async clients run the same ones."""

from __future__ import annotations

from .asset_results import (
    AssetHolders,
    AssetInfo,
    GovernanceInfo,
    OfferInfo,
    OrderBook,
    PolicyInfo,
    ProposalInfo,
)
from .calls import Address, Call, Height, _height, _optional, address_text


def get_asset(asset: str, height: Height) -> Call[AssetInfo | None]:
    return Call("ledger_getAsset", [asset, _height(height)], _optional(AssetInfo.from_json))


def get_asset_holders(asset: str, start: Address | None, limit: int) -> Call[AssetHolders]:
    first = address_text(start) if start is not None else None
    return Call("ledger_getAssetHolders", [asset, first, limit], AssetHolders.from_json)


def get_offers(address: Address, height: Height) -> Call[tuple[OfferInfo, ...]]:
    return Call(
        "ledger_getOffers",
        [address_text(address), _height(height)],
        lambda value: tuple(OfferInfo.from_json(o) for o in value),
    )


def get_offer(offer_id: int, height: Height) -> Call[OfferInfo | None]:
    return Call("ledger_getOffer", [offer_id, _height(height)], _optional(OfferInfo.from_json))


def get_order_book(sell_asset: str, buy_asset: str, depth: int, height: Height) -> Call[OrderBook]:
    return Call(
        "ledger_getOrderBook",
        [sell_asset, buy_asset, depth, _height(height)],
        OrderBook.from_json,
    )


def get_policy(address: Address, height: Height) -> Call[PolicyInfo | None]:
    return Call(
        "ledger_getPolicy",
        [address_text(address), _height(height)],
        _optional(PolicyInfo.from_json),
    )


def get_pending_proposals(address: Address, height: Height) -> Call[tuple[ProposalInfo, ...]]:
    return Call(
        "ledger_getPendingProposals",
        [address_text(address), _height(height)],
        lambda value: tuple(ProposalInfo.from_json(p) for p in value),
    )


def get_governance(height: Height) -> Call[GovernanceInfo]:
    return Call("ledger_getGovernance", [_height(height)], GovernanceInfo.from_json)
