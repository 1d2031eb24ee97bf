"""Barter's JSON in the RPC API (docs/spec/rpc.md): an open offer and the
JSON forms of the barter bodies. Conventions: ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger.address import address_of, encode_address
from ledger.features.barter.bodies import CancelOffer, CreateOffer, Swap, TakeBest, TakeOffer
from ledger.features.barter.offers import Offer
from ledger.json_forms import amount_text


def offer_json(offer: Offer) -> dict[str, Any]:
    """An open offer: ``remaining`` units of ``sellAsset`` escrowed, priced at
    ``priceBuy`` units of ``buyAsset`` per ``priceSell`` units sold."""
    return {
        "id": offer.offer_id,
        "maker": encode_address(offer.maker),
        "sellAsset": offer.sell_asset,
        "buyAsset": offer.buy_asset,
        "remaining": amount_text(offer.remaining),
        "priceSell": amount_text(offer.price_sell),
        "priceBuy": amount_text(offer.price_buy),
        "expiresAt": offer.expires_at,
    }


def offer_body_json(body: CreateOffer) -> dict[str, Any]:
    return {
        "sellAsset": body.sell_asset,
        "amount": amount_text(body.amount),
        "buyAsset": body.buy_asset,
        "priceSell": amount_text(body.price_sell),
        "priceBuy": amount_text(body.price_buy),
        "expiresAt": body.expires_at,
    }


def take_json(body: TakeOffer) -> dict[str, Any]:
    return {"offerId": body.offer_id, "amount": amount_text(body.amount)}


def take_best_json(body: TakeBest) -> dict[str, Any]:
    return {
        "sellAsset": body.sell_asset,
        "buyAsset": body.buy_asset,
        "amount": amount_text(body.amount),
        "limitSell": amount_text(body.limit_sell),
        "limitBuy": amount_text(body.limit_buy),
    }


def cancel_json(body: CancelOffer) -> dict[str, Any]:
    return {"offerId": body.offer_id}


def swap_json(body: Swap) -> dict[str, Any]:
    return {
        "counterparty": encode_address(address_of(body.counterparty)),
        "counterpartyKey": body.counterparty.hex(),
        "giveAsset": body.give_asset,
        "giveAmount": amount_text(body.give_amount),
        "getAsset": body.get_asset,
        "getAmount": amount_text(body.get_amount),
        "expiresAt": body.expires_at,
        "counterpartyNonce": amount_text(body.counterparty_nonce),
        "counterpartySignature": body.counterparty_signature.hex(),
    }
