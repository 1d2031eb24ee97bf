"""Transaction bodies of the barter kinds (tags 23-27): offers, takes,
cancellation and two-party swaps, and the terms a swap's counterparty signs.

Each body is a frozen dataclass with a tag (``KIND``), a name and a fixed
field order; ``from_fields`` checks shapes and ranges and raises
``DecodeError``. Rules that need the state (balances, prices against a
book) are in ledger.features.barter.offers. The byte layout is specified in
docs/spec/barter.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger import crypto
from ledger.fields import check_asset, check_bytes, check_positive, check_uint, ensure
from ledger.threshold import frost

SWAP_DOMAIN: Final = "ledger/swap/v1"
SIGNATURE_SIZES: Final = (64, 65)  # ECDSA, or FROST for a threshold group key


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


def signature_valid(public_key: bytes, digest: bytes, body: Swap) -> bool:
    """64 bytes: low-S ECDSA; 65 bytes: FROST by a threshold group key (as for transactions)."""
    if len(body.counterparty_signature) == 65:
        return frost.verify_signature(public_key, digest, body.counterparty_signature)
    return crypto.verify_digest(public_key, digest, body.counterparty_signature)
