"""Barter's entry in the registry: offers, takes, cancellation, swaps, offer expiry."""

from __future__ import annotations

from ledger.features.barter.bodies import CancelOffer, CreateOffer, Swap, TakeBest, TakeOffer
from ledger.features.barter.offers import (
    cancel_offer,
    create_offer,
    expire_offers,
    swap,
    take_best,
    take_offer,
)
from ledger.features.barter.rpc_json import (
    cancel_json,
    offer_body_json,
    swap_json,
    take_best_json,
    take_json,
)
from ledger.registry import Feature, sender_kind

FEATURE = Feature(
    name="barter",
    body_kinds=(
        sender_kind(CreateOffer, create_offer, policy_action=True, json=offer_body_json),
        sender_kind(TakeOffer, take_offer, policy_action=True, json=take_json),
        sender_kind(TakeBest, take_best, policy_action=True, json=take_best_json),
        sender_kind(CancelOffer, cancel_offer, policy_action=True, json=cancel_json),
        sender_kind(Swap, swap, policy_action=True, json=swap_json),
    ),
    end_block_steps=(("expire_offers", expire_offers),),
)
