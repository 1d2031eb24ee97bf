"""Typed results of the asset, barter, policy and governance queries.

Parsed from the JSON of ``ledger_getAsset``, ``ledger_getAssetHolders``, ``ledger_getOffers``,
``ledger_getOffer``, ``ledger_getOrderBook``, ``ledger_getPolicy``,
``ledger_getPendingProposals`` and ``ledger_getGovernance``
(docs/spec/rpc.md): amounts become ints, hex becomes bytes, addresses stay
bech32m text. Also: reading the ids a receipt reports (a new offer, a new
proposal, a new policy account's address).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .results import EventInfo, ReceiptInfo, Validator, _hex, _int, _opt, _str


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """An asset's registry record; ``issuer`` is None for protocol assets."""

    asset: str
    issuer: str | None
    decimals: int
    max_supply: int
    supply: int

    @classmethod
    def from_json(cls, value: Any) -> AssetInfo:
        return cls(
            _str(value["asset"]),
            _opt(_str, value["issuer"]),
            _int(value["decimals"]),
            _int(value["maxSupply"]),
            _int(value["supply"]),
        )


@dataclass(frozen=True, slots=True)
class AssetHolders:
    """One page of an asset's holders (address, balance) in address order;
    ``next`` is the address to continue from, None after the last account."""

    asset: str
    height: int
    holders: tuple[tuple[str, int], ...]
    next: str | None

    @classmethod
    def from_json(cls, value: Any) -> AssetHolders:
        return cls(
            _str(value["asset"]),
            _int(value["height"]),
            tuple((_str(h["address"]), _int(h["balance"])) for h in value["holders"]),
            _opt(_str, value["next"]),
        )


@dataclass(frozen=True, slots=True)
class OfferInfo:
    """An open offer: ``remaining`` units of ``sell_asset`` in escrow, at
    ``price_buy`` units of ``buy_asset`` per ``price_sell`` units sold."""

    offer_id: int
    maker: str
    sell_asset: str
    buy_asset: str
    remaining: int
    price_sell: int
    price_buy: int
    expires_at: int

    @property
    def price(self) -> Fraction:
        """Units of the buy asset per unit of the sell asset, exactly."""
        return Fraction(self.price_buy, self.price_sell)

    def cost(self, amount: int) -> int:
        """What a taker pays for ``amount`` units (rounded up, docs/spec/barter.md)."""
        return -(-amount * self.price_buy // self.price_sell)

    @classmethod
    def from_json(cls, value: Any) -> OfferInfo:
        return cls(
            _int(value["id"]),
            _str(value["maker"]),
            _str(value["sellAsset"]),
            _str(value["buyAsset"]),
            _int(value["remaining"]),
            _int(value["priceSell"]),
            _int(value["priceBuy"]),
            _int(value["expiresAt"]),
        )


@dataclass(frozen=True, slots=True)
class OrderBook:
    """One direction of a pair's market: offers selling ``sell_asset`` for
    ``buy_asset``, best (cheapest for a taker) first."""

    sell_asset: str
    buy_asset: str
    height: int
    offers: tuple[OfferInfo, ...]

    @classmethod
    def from_json(cls, value: Any) -> OrderBook:
        return cls(
            _str(value["sellAsset"]),
            _str(value["buyAsset"]),
            _int(value["height"]),
            tuple(OfferInfo.from_json(o) for o in value["offers"]),
        )


@dataclass(frozen=True, slots=True)
class SpendingLimitInfo:
    asset: str
    amount: int
    window: int  # blocks


@dataclass(frozen=True, slots=True)
class SpendingInfo:
    asset: str
    window_index: int
    spent: int


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """A k-of-n policy account."""

    address: str
    members: tuple[str, ...]
    threshold: int
    limits: tuple[SpendingLimitInfo, ...]
    spending: tuple[SpendingInfo, ...]
    pending_proposals: tuple[int, ...]
    next_proposal_id: int
    governance: bool

    @classmethod
    def from_json(cls, value: Any) -> PolicyInfo:
        return cls(
            _str(value["address"]),
            tuple(_str(m) for m in value["members"]),
            _int(value["threshold"]),
            tuple(
                SpendingLimitInfo(_str(x["asset"]), _int(x["amount"]), _int(x["window"]))
                for x in value["limits"]
            ),
            tuple(
                SpendingInfo(_str(x["asset"]), _int(x["windowIndex"]), _int(x["spent"]))
                for x in value["spending"]
            ),
            tuple(_int(i) for i in value["pendingProposals"]),
            _int(value["nextProposalId"]),
            _bool(value["governance"]),
        )


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """A proposal's action as the node decoded it."""

    kind: str
    kind_id: int
    body: dict[str, Any]  # as the node rendered it (amounts as decimal strings)


@dataclass(frozen=True, slots=True)
class ProposalInfo:
    """A pending proposal of a policy account."""

    policy: str
    proposal_id: int
    proposer: str
    expires_at: int
    approvals: tuple[str, ...]
    action: ActionInfo | None  # None if the bytes do not decode (never for a stored one)
    action_bytes: bytes

    @classmethod
    def from_json(cls, value: Any) -> ProposalInfo:
        action = value["action"]
        return cls(
            _str(value["policy"]),
            _int(value["id"]),
            _str(value["proposer"]),
            _int(value["expiresAt"]),
            tuple(_str(a) for a in value["approvals"]),
            None
            if action is None
            else ActionInfo(_str(action["kind"]), _int(action["kindId"]), dict(action["body"])),
            _hex(value["actionHex"]),
        )


@dataclass(frozen=True, slots=True)
class ScheduledValidatorSet:
    """The validator set in force from ``activation_height`` on."""

    activation_height: int
    total_power: int
    validators: tuple[Validator, ...]


@dataclass(frozen=True, slots=True)
class GovernanceInfo:
    """The governance policy and the validator schedule in the state after
    block ``height``: the first entry is the set in force for the next
    block; a later one is a change governance has scheduled."""

    height: int
    address: str | None
    policy: PolicyInfo | None
    proposals: tuple[ProposalInfo, ...]
    schedule: tuple[ScheduledValidatorSet, ...]

    @classmethod
    def from_json(cls, value: Any) -> GovernanceInfo:
        return cls(
            _int(value["height"]),
            _opt(_str, value["address"]),
            _opt(PolicyInfo.from_json, value["policy"]),
            tuple(ProposalInfo.from_json(p) for p in value["proposals"]),
            tuple(
                ScheduledValidatorSet(
                    _int(entry["activationHeight"]),
                    _int(entry["totalPower"]),
                    tuple(
                        Validator(
                            _str(v["address"]), _hex(v["publicKey"]), _int(v["power"]), v["name"]
                        )
                        for v in entry["validators"]
                    ),
                )
                for entry in value["schedule"]
            ),
        )


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


# -- what a receipt reports ----------------------------------------------------


def find_event(receipt: ReceiptInfo, kind: str) -> EventInfo | None:
    """The receipt's first event of ``kind``, or None."""
    return next((e for e in receipt.events if e.kind == kind), None)


def created_offer_id(receipt: ReceiptInfo) -> int | None:
    """The id of the offer a ``barter_offer`` transaction created."""
    event = find_event(receipt, "offer_created")
    return _int(event.attributes["offer_id"]) if event is not None else None


def created_proposal_id(receipt: ReceiptInfo) -> int | None:
    """The id of the proposal a ``policy_propose`` transaction created."""
    event = find_event(receipt, "proposal_created")
    return _int(event.attributes["proposal_id"]) if event is not None else None


def created_policy_address(receipt: ReceiptInfo) -> str | None:
    """The address of the policy account a ``policy_create`` transaction created."""
    event = find_event(receipt, "policy_created")
    return _str(event.attributes["address"]) if event is not None else None
