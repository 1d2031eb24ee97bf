"""Transaction bodies of kinds 20-39: assets, barter, swaps, policy accounts, governance.

Each body is a frozen dataclass with a tag (``KIND``), a name and a fixed
field order; ``from_fields`` checks shapes and ranges and raises
``DecodeError``. Rules that need the state (balances, ownership, prices
against a book) are the executors' job: ledger.features.bank.assets, ledger.features.barter.offers,
ledger.features.policy.accounts. The byte layout is specified in docs/spec/assets.md,
docs/spec/barter.md and docs/spec/policy.md.

This module imports nothing above ledger.fields so that ledger.types can
list these kinds in ``BODY_KINDS``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger import crypto
from ledger.address import ADDRESS_SIZE
from ledger.fields import (
    check_amount,
    check_asset,
    check_bytes,
    check_text,
    check_uint,
    ensure,
)

MAX_DECIMALS: Final = 38  # display only; 10**38 still fits an amount
MAX_POLICY_MEMBERS: Final = 20
MAX_SPENDING_LIMITS: Final = 8
MAX_LIMIT_WINDOW: Final = (1 << 32) - 1
MAX_ACTION_SIZE: Final = 8 * 1024
MAX_VALIDATOR_POWER: Final = 1 << 60
SWAP_DOMAIN: Final = "ledger/swap/v1"
SIGNATURE_SIZES: Final = (64, 65)  # ECDSA, or FROST for a threshold group key


def check_positive(value: object, name: str) -> int:
    """An amount in [1, 2**128 - 1] or DecodeError."""
    amount = check_amount(value, name)
    ensure(amount > 0, f"{name} must be positive")
    return amount


def check_address(value: object, name: str) -> bytes:
    return check_bytes(value, name, ADDRESS_SIZE)


# -- assets ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueAsset:
    """Register a new asset id with the sender as issuer; supply starts at 0."""

    KIND: ClassVar[int] = 20
    NAME: ClassVar[str] = "asset_issue"
    asset: str
    decimals: int
    max_supply: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.asset, self.decimals, self.max_supply)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> IssueAsset:
        ensure(len(fields) == 3, "asset_issue has 3 fields")
        asset, decimals, max_supply = fields
        return cls(
            check_asset(asset),
            check_uint(decimals, "decimals", MAX_DECIMALS),
            check_positive(max_supply, "max_supply"),
        )


@dataclass(frozen=True, slots=True)
class MintAsset:
    """The issuer creates ``amount`` new units for ``recipient``."""

    KIND: ClassVar[int] = 21
    NAME: ClassVar[str] = "asset_mint"
    asset: str
    amount: int
    recipient: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.asset, self.amount, self.recipient)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintAsset:
        ensure(len(fields) == 3, "asset_mint has 3 fields")
        asset, amount, recipient = fields
        return cls(
            check_asset(asset),
            check_positive(amount, "amount"),
            check_address(recipient, "recipient"),
        )


@dataclass(frozen=True, slots=True)
class BurnAsset:
    """The issuer destroys ``amount`` units from its own balance."""

    KIND: ClassVar[int] = 22
    NAME: ClassVar[str] = "asset_burn"
    asset: str
    amount: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.asset, self.amount)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> BurnAsset:
        ensure(len(fields) == 2, "asset_burn has 2 fields")
        asset, amount = fields
        return cls(check_asset(asset), check_positive(amount, "amount"))


# -- barter ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateOffer:
    """Escrow ``amount`` of ``sell_asset``, offered at ``price_buy`` units of
    ``buy_asset`` per ``price_sell`` units sold, until the end of block ``expires_at``."""

    KIND: ClassVar[int] = 23
    NAME: ClassVar[str] = "barter_offer"
    sell_asset: str
    amount: int
    buy_asset: str
    price_sell: int
    price_buy: int
    expires_at: int

    def to_fields(self) -> tuple[Any, ...]:
        return (
            self.sell_asset,
            self.amount,
            self.buy_asset,
            self.price_sell,
            self.price_buy,
            self.expires_at,
        )

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> CreateOffer:
        ensure(len(fields) == 6, "barter_offer has 6 fields")
        sell_asset, amount, buy_asset, price_sell, price_buy, expires_at = fields
        body = cls(
            check_asset(sell_asset),
            check_positive(amount, "amount"),
            check_asset(buy_asset),
            check_positive(price_sell, "price_sell"),
            check_positive(price_buy, "price_buy"),
            check_uint(expires_at, "expires_at"),
        )
        ensure(body.sell_asset != body.buy_asset, "an offer needs two different assets")
        return body


@dataclass(frozen=True, slots=True)
class TakeOffer:
    """Buy up to ``amount`` of what offer ``offer_id`` sells, at its price."""

    KIND: ClassVar[int] = 24
    NAME: ClassVar[str] = "barter_take"
    offer_id: int
    amount: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.offer_id, self.amount)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> TakeOffer:
        ensure(len(fields) == 2, "barter_take has 2 fields")
        offer_id, amount = fields
        return cls(check_uint(offer_id, "offer_id"), check_positive(amount, "amount"))


@dataclass(frozen=True, slots=True)
class TakeBest:
    """Buy up to ``amount`` of ``sell_asset`` paying ``buy_asset``, from the best
    offers first (lowest price, then lowest id), at no more than ``limit_buy``
    per ``limit_sell``."""

    KIND: ClassVar[int] = 25
    NAME: ClassVar[str] = "barter_take_best"
    sell_asset: str
    buy_asset: str
    amount: int
    limit_sell: int
    limit_buy: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.sell_asset, self.buy_asset, self.amount, self.limit_sell, self.limit_buy)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> TakeBest:
        ensure(len(fields) == 5, "barter_take_best has 5 fields")
        sell_asset, buy_asset, amount, limit_sell, limit_buy = fields
        body = cls(
            check_asset(sell_asset),
            check_asset(buy_asset),
            check_positive(amount, "amount"),
            check_positive(limit_sell, "limit_sell"),
            check_positive(limit_buy, "limit_buy"),
        )
        ensure(body.sell_asset != body.buy_asset, "a pair needs two different assets")
        return body


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """The maker closes its offer; the escrow comes back."""

    KIND: ClassVar[int] = 26
    NAME: ClassVar[str] = "barter_cancel"
    offer_id: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.offer_id,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> CancelOffer:
        ensure(len(fields) == 1, "barter_cancel has 1 field")
        return cls(check_uint(fields[0], "offer_id"))


@dataclass(frozen=True, slots=True)
class Swap:
    """An atomic two-party exchange: the sender gives ``give_amount`` of
    ``give_asset`` to the counterparty and gets ``get_amount`` of ``get_asset``
    back. The counterparty's signature covers ``swap_terms`` (see
    ``swap_digest``) and uses up the counterparty's nonce."""

    KIND: ClassVar[int] = 27
    NAME: ClassVar[str] = "swap"
    counterparty: bytes  # 33-byte public key
    give_asset: str
    give_amount: int
    get_asset: str
    get_amount: int
    expires_at: int
    counterparty_nonce: int
    counterparty_signature: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (
            self.counterparty,
            self.give_asset,
            self.give_amount,
            self.get_asset,
            self.get_amount,
            self.expires_at,
            self.counterparty_nonce,
            self.counterparty_signature,
        )

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Swap:
        ensure(len(fields) == 8, "swap has 8 fields")
        counterparty, give_asset, give_amount, get_asset, get_amount, expires, nonce, sig = fields
        ensure(
            isinstance(sig, bytes) and len(sig) in SIGNATURE_SIZES,
            "counterparty_signature must be 64 bytes (ECDSA) or 65 bytes (FROST)",
        )
        return cls(
            check_bytes(counterparty, "counterparty", crypto.PUBLIC_KEY_SIZE),
            check_asset(give_asset),
            check_positive(give_amount, "give_amount"),
            check_asset(get_asset),
            check_positive(get_amount, "get_amount"),
            check_uint(expires, "expires_at"),
            check_uint(nonce, "counterparty_nonce"),
            sig,
        )


def swap_terms(
    initiator: bytes,
    counterparty: bytes,
    give_asset: str,
    give_amount: int,
    get_asset: str,
    get_amount: int,
    expires_at: int,
    counterparty_nonce: int,
) -> tuple[Any, ...]:
    """What the counterparty signs (addresses are 20 bytes; legs seen from the initiator)."""
    return (
        initiator,
        counterparty,
        give_asset,
        give_amount,
        get_asset,
        get_amount,
        expires_at,
        counterparty_nonce,
    )


def swap_digest(chain_id: str, terms: tuple[Any, ...]) -> bytes:
    """SHA-256(encode(["ledger/swap/v1", chain_id, terms])): the digest the counterparty signs."""
    return crypto.signing_digest(SWAP_DOMAIN, chain_id, terms)


# -- policy accounts ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpendingLimit:
    """At most ``amount`` of ``asset`` leaves the account per window of ``window`` blocks."""

    asset: str
    amount: int
    window: int

    def to_value(self) -> tuple[Any, ...]:
        return (self.asset, self.amount, self.window)


def check_members(value: object) -> tuple[bytes, ...]:
    """1-20 member addresses in strictly ascending byte order."""
    ensure(isinstance(value, tuple), "members must be an array")
    assert isinstance(value, tuple)
    ensure(1 <= len(value) <= MAX_POLICY_MEMBERS, f"a policy has 1-{MAX_POLICY_MEMBERS} members")
    members = tuple(check_address(member, "member") for member in value)
    ensure(
        all(a < b for a, b in itertools.pairwise(members)),
        "members must be sorted ascending without repeats",
    )
    return members


def check_limits(value: object) -> tuple[SpendingLimit, ...]:
    """0-8 spending limits ``[asset, amount, window]`` sorted by asset without repeats."""
    ensure(isinstance(value, tuple), "limits must be an array")
    assert isinstance(value, tuple)
    ensure(len(value) <= MAX_SPENDING_LIMITS, f"at most {MAX_SPENDING_LIMITS} spending limits")
    limits = []
    for item in value:
        ensure(isinstance(item, tuple) and len(item) == 3, "a limit is [asset, amount, window]")
        asset, amount, window = item
        window = check_uint(window, "window", MAX_LIMIT_WINDOW)
        ensure(window >= 1, "window must be at least 1 block")
        limits.append(SpendingLimit(check_asset(asset), check_amount(amount, "limit"), window))
    assets = [limit.asset for limit in limits]
    ensure(
        all(a < b for a, b in itertools.pairwise(assets)),
        "limits must be sorted by asset without repeats",
    )
    return tuple(limits)


def check_threshold(value: object, members: tuple[bytes, ...]) -> int:
    threshold = check_uint(value, "threshold", len(members))
    ensure(threshold >= 1, "threshold must be in [1, number of members]")
    return threshold


@dataclass(frozen=True, slots=True)
class CreatePolicy:
    """Create a k-of-n policy account (its address is derived: see
    ledger.features.policy.accounts)."""

    KIND: ClassVar[int] = 28
    NAME: ClassVar[str] = "policy_create"
    members: tuple[bytes, ...]
    threshold: int
    limits: tuple[SpendingLimit, ...] = ()

    def to_fields(self) -> tuple[Any, ...]:
        return (self.members, self.threshold, tuple(limit.to_value() for limit in self.limits))

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> CreatePolicy:
        ensure(len(fields) == 3, "policy_create has 3 fields")
        members = check_members(fields[0])
        return cls(members, check_threshold(fields[1], members), check_limits(fields[2]))


@dataclass(frozen=True, slots=True)
class ProposeAction:
    """A member proposes ``action`` (a canonical encoded body) from ``policy``;
    proposing counts as the proposer's approval."""

    KIND: ClassVar[int] = 29
    NAME: ClassVar[str] = "policy_propose"
    policy: bytes
    action: bytes
    expires_at: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.policy, self.action, self.expires_at)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ProposeAction:
        ensure(len(fields) == 3, "policy_propose has 3 fields")
        policy, action, expires_at = fields
        return cls(
            check_address(policy, "policy"),
            check_bytes(action, "action", max_size=MAX_ACTION_SIZE),
            check_uint(expires_at, "expires_at"),
        )


@dataclass(frozen=True, slots=True)
class ApproveProposal:
    """A member approves a pending proposal; the k-th approval executes it."""

    KIND: ClassVar[int] = 30
    NAME: ClassVar[str] = "policy_approve"
    policy: bytes
    proposal_id: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.policy, self.proposal_id)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ApproveProposal:
        ensure(len(fields) == 2, "policy_approve has 2 fields")
        return cls(check_address(fields[0], "policy"), check_uint(fields[1], "proposal_id"))


@dataclass(frozen=True, slots=True)
class UpdatePolicy:
    """Replace the acting policy's members, threshold and limits.
    Only valid as a policy action (a transaction carrying it is rejected)."""

    KIND: ClassVar[int] = 31
    NAME: ClassVar[str] = "policy_update"
    members: tuple[bytes, ...]
    threshold: int
    limits: tuple[SpendingLimit, ...] = ()

    def to_fields(self) -> tuple[Any, ...]:
        return (self.members, self.threshold, tuple(limit.to_value() for limit in self.limits))

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> UpdatePolicy:
        ensure(len(fields) == 3, "policy_update has 3 fields")
        members = check_members(fields[0])
        return cls(members, check_threshold(fields[1], members), check_limits(fields[2]))


@dataclass(frozen=True, slots=True)
class UpdateValidator:
    """Add a validator, change its power, or remove it (power 0), effective at
    height H+2 for a change executed in block H. Only valid as an action of
    the governance policy account."""

    KIND: ClassVar[int] = 32
    NAME: ClassVar[str] = "validator_update"
    public_key: bytes
    power: int
    name: str

    def to_fields(self) -> tuple[Any, ...]:
        return (self.public_key, self.power, self.name)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> UpdateValidator:
        ensure(len(fields) == 3, "validator_update has 3 fields")
        public_key, power, name = fields
        name = check_text(name, "name", 64)
        ensure(len(name) >= 1, "name must be 1-64 characters")
        public_key = check_bytes(public_key, "public_key", crypto.PUBLIC_KEY_SIZE)
        try:
            crypto.validate_public_key(public_key)
        except crypto.CryptoError as exc:
            ensure(False, f"public_key: {exc}")
        return cls(public_key, check_uint(power, "power", MAX_VALIDATOR_POWER), name)
