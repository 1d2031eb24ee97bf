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
from ledger.registry import Feature, sender_kind

FEATURE = Feature(
    name="barter",
    body_kinds=(
        sender_kind(CreateOffer, create_offer, policy_action=True),
        sender_kind(TakeOffer, take_offer, policy_action=True),
        sender_kind(TakeBest, take_best, policy_action=True),
        sender_kind(CancelOffer, cancel_offer, policy_action=True),
        sender_kind(Swap, swap, policy_action=True),
    ),
    end_block_steps=(("expire_offers", expire_offers),),
)
