"""Barter: escrowed offers, takes, cancellation, expiry, and two-party swaps.

An offer sells ``remaining`` units of ``sell_asset`` (held in escrow in the
offer record, not in the maker's account) for ``buy_asset`` at the price
``price_buy / price_sell`` (units of buy asset per unit of sell asset).

**Rounding rule.** A fill of ``q`` units costs the taker
``ceil(q * price_buy / price_sell)`` units of the buy asset, all of which go
to the maker. So the maker never gets less than its price, every unit leaves
one balance and enters another, and nothing is created or destroyed. A taker
with a limit price ``limit_buy / limit_sell`` never pays more than
``ceil(q * limit_buy / limit_sell)`` for a fill of ``q`` (docs/adr/0010).

**Matching.** ``barter_take_best`` walks the pair's book in order of price
(lowest ``price_buy / price_sell`` first, compared exactly as fractions),
then offer id (earliest first), skipping the taker's own offers.

State records (docs/spec/barter.md):

    On              -> next offer id (ids start at 1)
    Oo || id(8)     -> [maker, sell_asset, buy_asset, remaining, price_sell, price_buy, expires_at]
    Ob || sell/buy  -> the book: [[price_buy, price_sell, id], ...] best first
    Oa || address   -> the maker's open offer ids, ascending
    Oe || height(8) -> ids of offers expiring at the end of that block, ascending
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Final

from ledger import codec
from ledger.address import address_of
from ledger.context import BlockContext, Outcome
from ledger.exceptions import (
    BadCounterpartySignature,
    Expired,
    InsufficientFunds,
    InvalidOperation,
    LimitExceeded,
    NotAuthorized,
    PriceNotMet,
    UnknownRecord,
)
from ledger.features.bank.interface import require_asset
from ledger.features.barter.bodies import (
    CancelOffer,
    CreateOffer,
    Swap,
    TakeBest,
    TakeOffer,
    signature_valid,
    swap_digest,
    swap_terms,
)
from ledger.fields import MAX_AMOUNT, check_amount, check_asset, check_bytes, check_uint, ensure
from ledger.state import State, StateReader
from ledger.types import Event

NEXT_OFFER_KEY: Final = b"On"
OFFER_PREFIX: Final = b"Oo"
BOOK_PREFIX: Final = b"Ob"
ACCOUNT_OFFERS_PREFIX: Final = b"Oa"
OFFER_EXPIRY_PREFIX: Final = b"Oe"

MAX_BOOK_OFFERS: Final = 512  # per pair and direction; a better offer evicts the worst
MAX_OFFERS_PER_ACCOUNT: Final = 128
MAX_FILLS_PER_TAKE: Final = 64


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: int
    maker: bytes
    sell_asset: str
    buy_asset: str
    remaining: int  # escrowed units of sell_asset
    price_sell: int
    price_buy: int
    expires_at: int  # the offer lives through the end of this block

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.maker,
            self.sell_asset,
            self.buy_asset,
            self.remaining,
            self.price_sell,
            self.price_buy,
            self.expires_at,
        )

    @property
    def price(self) -> Fraction:
        """Units of buy asset per unit of sell asset, exactly."""
        return Fraction(self.price_buy, self.price_sell)


@dataclass(frozen=True, slots=True)
class BookEntry:
    price_buy: int
    price_sell: int
    offer_id: int

    def sort_key(self) -> tuple[Fraction, int]:
        return (Fraction(self.price_buy, self.price_sell), self.offer_id)


def payment_for(amount: int, price_sell: int, price_buy: int) -> int:
    """What a taker pays for ``amount`` units: ceil(amount * price_buy / price_sell)."""
    return -(-amount * price_buy // price_sell)


# -- records -------------------------------------------------------------------


def _height_bytes(value: int) -> bytes:
    return value.to_bytes(8, "big")


def offer_key(offer_id: int) -> bytes:
    return OFFER_PREFIX + _height_bytes(offer_id)


def book_key(sell_asset: str, buy_asset: str) -> bytes:
    # Asset ids never contain '/', so the pair is unambiguous.
    return BOOK_PREFIX + f"{sell_asset}/{buy_asset}".encode()


def get_offer(state: State, offer_id: int) -> Offer | None:
    raw = state.get_raw(offer_key(offer_id))
    if raw is None:
        return None
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 7, "offer record has 7 fields")
    maker, sell, buy, remaining, price_sell, price_buy, expires_at = value
    return Offer(
        offer_id,
        check_bytes(maker, "maker", 20),
        check_asset(sell),
        check_asset(buy),
        check_amount(remaining, "remaining"),
        check_amount(price_sell, "price_sell"),
        check_amount(price_buy, "price_buy"),
        check_uint(expires_at, "expires_at"),
    )


def set_offer(state: State, offer: Offer) -> None:
    state.set_raw(offer_key(offer.offer_id), codec.encode(offer.to_value()))


def get_ids(state: State, key: bytes) -> list[int]:
    """An ascending id list record (absent = empty)."""
    raw = state.get_raw(key)
    return list(codec.decode(raw)) if raw is not None else []


def set_ids(state: State, key: bytes, ids: list[int]) -> None:
    state.set_raw(key, codec.encode(tuple(ids)) if ids else None)


def add_id(state: State, key: bytes, item: int) -> None:
    ids = get_ids(state, key)
    insort(ids, item)
    set_ids(state, key, ids)


def remove_id(state: State, key: bytes, item: int) -> None:
    set_ids(state, key, [i for i in get_ids(state, key) if i != item])


def get_book(state: State, sell_asset: str, buy_asset: str) -> list[BookEntry]:
    raw = state.get_raw(book_key(sell_asset, buy_asset))
    if raw is None:
        return []
    return [BookEntry(pb, ps, offer_id) for pb, ps, offer_id in codec.decode(raw)]


def set_book(state: State, sell_asset: str, buy_asset: str, book: list[BookEntry]) -> None:
    value = tuple((e.price_buy, e.price_sell, e.offer_id) for e in book)
    state.set_raw(book_key(sell_asset, buy_asset), codec.encode(value) if book else None)


def take_offer_id(state: State) -> int:
    """Allocate the next offer id."""
    raw = state.get_raw(NEXT_OFFER_KEY)
    offer_id = codec.decode(raw) if raw is not None else 1
    state.set_raw(NEXT_OFFER_KEY, codec.encode(offer_id + 1))
    return int(offer_id)


def unlist_offer(
    state: State, offer: Offer, keep_book: bool = False, keep_expiry: bool = False
) -> None:
    """Delete the offer record and remove it from the maker's list and, unless
    the caller rewrites them itself, from the book and its expiry slot."""
    state.set_raw(offer_key(offer.offer_id), None)
    remove_id(state, ACCOUNT_OFFERS_PREFIX + offer.maker, offer.offer_id)
    if not keep_expiry:
        remove_id(state, OFFER_EXPIRY_PREFIX + _height_bytes(offer.expires_at), offer.offer_id)
    if not keep_book:
        book = get_book(state, offer.sell_asset, offer.buy_asset)
        set_book(
            state,
            offer.sell_asset,
            offer.buy_asset,
            [e for e in book if e.offer_id != offer.offer_id],
        )


def close_offer(state: State, offer: Offer, reason: str, keep_expiry: bool = False) -> Event:
    """Refund the escrow to the maker and delete the offer with its index entries."""
    unlist_offer(state, offer, keep_expiry=keep_expiry)
    if offer.remaining:
        state.add_balance(offer.maker, offer.sell_asset, offer.remaining)
    return closed_event(offer, reason)


def closed_event(offer: Offer, reason: str) -> Event:
    attributes = (
        ("asset", offer.sell_asset),
        ("maker", offer.maker),
        ("offer_id", offer.offer_id),
        ("reason", reason),
        ("refund", offer.remaining),
    )
    return Event("offer_closed", attributes)


# -- actions -------------------------------------------------------------------


def create_offer(state: State, actor: bytes, body: CreateOffer, ctx: BlockContext) -> Outcome:
    """Escrow the amount and add the offer to its book (evicting the worst if full)."""
    if body.expires_at < ctx.height:
        raise Expired(f"expires_at {body.expires_at} is before the current height")
    if require_asset(state, body.sell_asset).supply > MAX_AMOUNT:
        raise LimitExceeded(f"{body.sell_asset} has a supply beyond 2^128-1 and cannot be offered")
    require_asset(state, body.buy_asset)
    if state.get_account(actor).balance(body.sell_asset) < body.amount:
        raise InsufficientFunds(f"balance of {body.sell_asset} is below {body.amount}")
    mine = get_ids(state, ACCOUNT_OFFERS_PREFIX + actor)
    if len(mine) >= MAX_OFFERS_PER_ACCOUNT:
        raise LimitExceeded(f"an account has at most {MAX_OFFERS_PER_ACCOUNT} open offers")
    state.sub_balance(actor, body.sell_asset, body.amount)
    offer = Offer(
        take_offer_id(state),
        actor,
        body.sell_asset,
        body.buy_asset,
        body.amount,
        body.price_sell,
        body.price_buy,
        body.expires_at,
    )
    events = [*book_offer(state, offer)]
    set_offer(state, offer)
    add_id(state, ACCOUNT_OFFERS_PREFIX + actor, offer.offer_id)
    add_id(state, OFFER_EXPIRY_PREFIX + _height_bytes(offer.expires_at), offer.offer_id)
    attributes = (
        ("amount", offer.remaining),
        ("buy_asset", offer.buy_asset),
        ("expires_at", offer.expires_at),
        ("maker", actor),
        ("offer_id", offer.offer_id),
        ("price_buy", offer.price_buy),
        ("price_sell", offer.price_sell),
        ("sell_asset", offer.sell_asset),
    )
    return Outcome(events=(Event("offer_created", attributes), *events))


def book_offer(state: State, offer: Offer) -> tuple[Event, ...]:
    """Insert ``offer`` into its book. A full book evicts its worst entry
    (refunded) if the new offer sorts before it; otherwise LimitExceeded."""
    book = get_book(state, offer.sell_asset, offer.buy_asset)
    entry = BookEntry(offer.price_buy, offer.price_sell, offer.offer_id)
    insort(book, entry, key=BookEntry.sort_key)
    events: tuple[Event, ...] = ()
    if len(book) > MAX_BOOK_OFFERS:
        worst = book.pop()
        if worst == entry:
            raise LimitExceeded("the order book is full; the price must beat its worst offer")
        evicted = get_offer(state, worst.offer_id)
        assert evicted is not None, "book entry without an offer"
        unlist_offer(state, evicted, keep_book=True)
        state.add_balance(evicted.maker, evicted.sell_asset, evicted.remaining)
        events = (closed_event(evicted, "evicted"),)
    set_book(state, offer.sell_asset, offer.buy_asset, book)
    return events


def fill_offer(state: State, offer: Offer, taker: bytes, amount: int) -> tuple[Offer, Event]:
    """Sell ``min(amount, remaining)`` from the escrow to ``taker`` at the
    offer's price (rounded up for the maker). Updates balances only; the
    caller updates or removes the offer record."""
    quantity = min(amount, offer.remaining)
    paid = payment_for(quantity, offer.price_sell, offer.price_buy)
    if state.get_account(taker).balance(offer.buy_asset) < paid:
        raise InsufficientFunds(f"balance of {offer.buy_asset} is below {paid}")
    state.sub_balance(taker, offer.buy_asset, paid)
    state.add_balance(offer.maker, offer.buy_asset, paid)
    state.add_balance(taker, offer.sell_asset, quantity)
    filled = replace(offer, remaining=offer.remaining - quantity)
    attributes = (
        ("buy_asset", offer.buy_asset),
        ("maker", offer.maker),
        ("offer_id", offer.offer_id),
        ("paid", paid),
        ("remaining", filled.remaining),
        ("sell_asset", offer.sell_asset),
        ("sold", quantity),
        ("taker", taker),
    )
    return filled, Event("fill", attributes)


def take_offer(state: State, actor: bytes, body: TakeOffer, ctx: BlockContext) -> Outcome:
    """Fill up to ``body.amount`` from one offer."""
    offer = get_offer(state, body.offer_id)
    if offer is None:
        raise UnknownRecord(f"no open offer {body.offer_id}")
    if offer.maker == actor:
        raise InvalidOperation("cannot take your own offer (cancel it instead)")
    filled, event = fill_offer(state, offer, actor, body.amount)
    if filled.remaining:
        set_offer(state, filled)
        return Outcome(events=(event,))
    unlist_offer(state, filled)
    return Outcome(events=(event, closed_event(filled, "filled")))


def take_best(state: State, actor: bytes, body: TakeBest, ctx: BlockContext) -> Outcome:
    """Fill up to ``body.amount`` from the best offers within the limit price
    (price, then id), at most MAX_FILLS_PER_TAKE fills. Raises PriceNotMet if
    nothing fills."""
    limit = Fraction(body.limit_buy, body.limit_sell)
    book = get_book(state, body.sell_asset, body.buy_asset)
    wanted = body.amount
    filled_out: set[int] = set()
    events: list[Event] = []
    fills = 0
    for entry in book:
        if wanted == 0 or fills >= MAX_FILLS_PER_TAKE:
            break
        if Fraction(entry.price_buy, entry.price_sell) > limit:
            break
        offer = get_offer(state, entry.offer_id)
        assert offer is not None, "book entry without an offer"
        if offer.maker == actor:
            continue
        filled, event = fill_offer(state, offer, actor, wanted)
        wanted -= offer.remaining - filled.remaining
        fills += 1
        events.append(event)
        if filled.remaining:
            set_offer(state, filled)
        else:
            unlist_offer(state, filled, keep_book=True)
            filled_out.add(filled.offer_id)
            events.append(closed_event(filled, "filled"))
    if not events:
        raise PriceNotMet(f"no offer of {body.sell_asset} for {body.buy_asset} within the limit")
    if filled_out:
        remaining = [e for e in book if e.offer_id not in filled_out]
        set_book(state, body.sell_asset, body.buy_asset, remaining)
    return Outcome(events=tuple(events))


def cancel_offer(state: State, actor: bytes, body: CancelOffer, ctx: BlockContext) -> Outcome:
    """The maker closes its offer; the escrow is refunded."""
    offer = get_offer(state, body.offer_id)
    if offer is None:
        raise UnknownRecord(f"no open offer {body.offer_id}")
    if offer.maker != actor:
        raise NotAuthorized("only the maker may cancel an offer")
    return Outcome(events=(close_offer(state, offer, "cancelled"),))


def expire_offers(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: refund and delete the offers whose expiry is this height."""
    slot = OFFER_EXPIRY_PREFIX + _height_bytes(ctx.height)
    events = []
    for offer_id in get_ids(state, slot):
        offer = get_offer(state, offer_id)
        assert offer is not None, "expiry index names a missing offer"
        events.append(close_offer(state, offer, "expired", keep_expiry=True))
    set_ids(state, slot, [])
    return tuple(events)


def swap(state: State, actor: bytes, body: Swap, ctx: BlockContext) -> Outcome:
    """Exchange both legs atomically; the counterparty's signed terms and
    nonce authorize its leg, and its nonce is used up."""
    counterparty = address_of(body.counterparty)
    if body.expires_at < ctx.height:
        raise Expired(f"the swap expired at height {body.expires_at}")
    if counterparty == actor:
        raise InvalidOperation("a swap needs two different parties")
    if body.give_asset == body.get_asset:
        raise InvalidOperation("a swap exchanges two different assets")
    account = state.get_account(counterparty)
    if body.counterparty_nonce != account.nonce:
        raise InvalidOperation(
            f"counterparty nonce {body.counterparty_nonce} but its next nonce is {account.nonce}"
        )
    terms = swap_terms(
        actor,
        counterparty,
        body.give_asset,
        body.give_amount,
        body.get_asset,
        body.get_amount,
        body.expires_at,
        body.counterparty_nonce,
    )
    if not signature_valid(body.counterparty, swap_digest(ctx.chain_id, terms), body):
        raise BadCounterpartySignature("the counterparty's signature does not cover these terms")
    state.set_account(counterparty, account.with_nonce(account.nonce + 1))
    for source, target, asset, amount in (
        (actor, counterparty, body.give_asset, body.give_amount),
        (counterparty, actor, body.get_asset, body.get_amount),
    ):
        if state.get_account(source).balance(asset) < amount:
            raise InsufficientFunds(f"balance of {asset} is below {amount}")
        state.sub_balance(source, asset, amount)
        state.add_balance(target, asset, amount)
    attributes = (
        ("counterparty", counterparty),
        ("get_amount", body.get_amount),
        ("get_asset", body.get_asset),
        ("give_amount", body.give_amount),
        ("give_asset", body.give_asset),
        ("initiator", actor),
    )
    return Outcome(events=(Event("swap", attributes),))


# -- queries (for the RPC layer) -------------------------------------------------


def offer_info(reader: StateReader, offer_id: int) -> Offer | None:
    """An open offer by id, or None."""
    return get_offer(State(reader), offer_id)


def offers_of(reader: StateReader, address: bytes) -> tuple[Offer, ...]:
    """The open offers made by ``address``, by id."""
    state = State(reader)
    offers = (get_offer(state, i) for i in get_ids(state, ACCOUNT_OFFERS_PREFIX + address))
    return tuple(offer for offer in offers if offer is not None)


def order_book(
    reader: StateReader, sell_asset: str, buy_asset: str, depth: int = 50
) -> tuple[Offer, ...]:
    """Up to ``depth`` open offers selling ``sell_asset`` for ``buy_asset``,
    best first (lowest price, then earliest). The other side of the market is
    ``order_book(reader, buy_asset, sell_asset, depth)``."""
    state = State(reader)
    book = get_book(state, sell_asset, buy_asset)[: max(depth, 0)]
    offers = (get_offer(state, entry.offer_id) for entry in book)
    return tuple(offer for offer in offers if offer is not None)
