"""Barter: offers with escrow, takes, cancel, expiry, swaps; pre / operation / post."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger.exceptions import (
    BadCounterpartySignature,
    Expired,
    InvalidOperation,
    LimitExceeded,
    NotAuthorized,
    PriceNotMet,
    UnknownRecord,
)
from ledger.features.bank.bodies import IssueAsset
from ledger.features.barter import offers as barter
from ledger.features.barter.bodies import (
    CancelOffer,
    CreateOffer,
    Swap,
    TakeBest,
    TakeOffer,
    swap_digest,
    swap_terms,
)
from ledger.features.barter.offers import offer_info, offers_of, order_book, payment_for
from ledger.fields import DecodeError
from ledger.types import decode_body, encode_body
from tests.ledger.memory_chain import (
    ADDRS,
    CHAIN,
    FUNDED,
    KEYS,
    MemoryChain,
    events_of,
    make_genesis,
)

FAR = 1_000


def offer(
    sell: str = "cpu",
    amount: int = 1_000,
    buy: str = "coin",
    price_sell: int = 3,
    price_buy: int = 7,
    expires_at: int = FAR,
) -> CreateOffer:
    return CreateOffer(sell, amount, buy, price_sell, price_buy, expires_at)


def test_offer_escrows_the_amount_and_is_listed() -> None:
    chain = MemoryChain(make_genesis())
    receipt = chain.submit(0, offer())
    assert receipt.status == 0
    assert chain.balance(0, "cpu") == FUNDED - 1_000
    (listed,) = offers_of(chain.reader, ADDRS[0])
    assert (listed.offer_id, listed.remaining, listed.price_sell, listed.price_buy) == (
        1,
        1000,
        3,
        7,
    )
    assert order_book(chain.reader, "cpu", "coin") == (listed,)
    assert order_book(chain.reader, "coin", "cpu") == ()
    assert chain.holdings() == chain.supplies()


def test_partial_take_pays_the_maker_rounded_up() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer())
    maker_coin, taker_coin = chain.balance(0), chain.balance(1)
    receipt = chain.submit(1, TakeOffer(1, 10))
    assert receipt.status == 0
    paid = payment_for(10, 3, 7)
    assert paid == 24  # ceil(10 * 7 / 3) = ceil(23.33)
    assert chain.balance(1, "cpu") == FUNDED + 10
    assert chain.balance(1) == taker_coin - paid - 10  # fee 10
    assert chain.balance(0) == maker_coin + paid
    offer_left = offer_info(chain.reader, 1)
    assert offer_left is not None and offer_left.remaining == 990
    assert chain.holdings() == chain.supplies()


def test_take_of_more_than_remains_fills_the_rest_and_closes_the_offer() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer(amount=30))
    receipt = chain.submit(1, TakeOffer(1, 1_000))
    assert [e.kind for e in receipt.events] == ["fill", "offer_closed"]
    assert dict(receipt.events[0].attributes)["sold"] == 30
    assert chain.balance(0) == FUNDED - 10 + 70
    assert offer_info(chain.reader, 1) is None
    assert offers_of(chain.reader, ADDRS[0]) == () and order_book(chain.reader, "cpu", "coin") == ()
    assert chain.record(barter.OFFER_EXPIRY_PREFIX + FAR.to_bytes(8, "big")) is None


def test_take_best_fills_by_price_then_time() -> None:
    chain = MemoryChain(make_genesis())
    chain.run(
        [
            chain.sign(0, offer(amount=100, price_sell=1, price_buy=3)),  # id 1, price 3
            chain.sign(2, offer(amount=100, price_sell=1, price_buy=2)),  # id 2, price 2
            chain.sign(3, offer(amount=100, price_sell=2, price_buy=4)),  # id 3, price 2, later
        ]
    )
    assert [o.offer_id for o in order_book(chain.reader, "cpu", "coin")] == [2, 3, 1]
    result = chain.run([chain.sign(1, TakeBest("cpu", "coin", 250, 1, 3))])
    fills = events_of(result, "fill")
    assert [(f["offer_id"], f["sold"], f["paid"]) for f in fills] == [
        (2, 100, 200),
        (3, 100, 200),
        (1, 50, 150),
    ]
    assert [o.offer_id for o in order_book(chain.reader, "cpu", "coin")] == [1]
    assert chain.holdings() == chain.supplies()


def test_take_best_stops_at_the_limit_price_and_skips_own_offers() -> None:
    chain = MemoryChain(make_genesis())
    chain.run(
        [
            chain.sign(1, offer(amount=100, price_sell=1, price_buy=1)),  # the taker's own
            chain.sign(0, offer(amount=100, price_sell=1, price_buy=2)),
            chain.sign(2, offer(amount=100, price_sell=1, price_buy=5)),
        ]
    )
    result = chain.run([chain.sign(1, TakeBest("cpu", "coin", 1_000, 1, 4))])
    assert [f["offer_id"] for f in events_of(result, "fill")] == [2]
    assert [o.offer_id for o in order_book(chain.reader, "cpu", "coin")] == [1, 3]


def test_invalid_take_best_with_nothing_within_the_limit() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer(price_sell=1, price_buy=5))
    receipt = chain.submit(1, TakeBest("cpu", "coin", 10, 1, 4))
    assert receipt.status == PriceNotMet.status
    assert chain.balance(1, "cpu") == FUNDED


def test_cancel_refunds_the_escrow() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer())
    chain.submit(1, TakeOffer(1, 300))
    receipt = chain.submit(0, CancelOffer(1))
    assert receipt.status == 0 and dict(receipt.events[0].attributes)["refund"] == 700
    assert chain.balance(0, "cpu") == FUNDED - 300
    assert offers_of(chain.reader, ADDRS[0]) == ()
    assert chain.holdings() == chain.supplies()


def test_expiry_refunds_at_the_end_of_the_expiry_height() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer(expires_at=4))  # block 1
    chain.skip_to(3)
    assert offer_info(chain.reader, 1) is not None
    assert chain.submit(1, TakeOffer(1, 3)).status == 0  # block 4: still open during it
    assert offer_info(chain.reader, 1) is None
    assert [e.kind for e in chain.block_events] == ["offer_closed"]
    assert dict(chain.block_events[0].attributes)["reason"] == "expired"
    assert chain.balance(0, "cpu") == FUNDED - 3
    assert chain.record(barter.OFFER_EXPIRY_PREFIX + (4).to_bytes(8, "big")) is None
    assert chain.holdings() == chain.supplies()


def test_a_full_book_evicts_its_worst_offer_for_a_better_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(barter, "MAX_BOOK_OFFERS", 2)
    chain = MemoryChain(make_genesis())
    chain.run([chain.sign(0, offer(price_buy=1)), chain.sign(2, offer(price_buy=9))])
    receipt = chain.submit(3, offer(price_buy=5))
    assert [e.kind for e in receipt.events] == ["offer_created", "offer_closed"]
    assert dict(receipt.events[1].attributes)["reason"] == "evicted"
    assert [o.offer_id for o in order_book(chain.reader, "cpu", "coin")] == [1, 3]
    assert chain.balance(2, "cpu") == FUNDED
    assert chain.holdings() == chain.supplies()


def test_invalid_offer_into_a_full_book_at_a_worse_price(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(barter, "MAX_BOOK_OFFERS", 2)
    chain = MemoryChain(make_genesis())
    chain.run([chain.sign(0, offer(price_buy=1)), chain.sign(2, offer(price_buy=5))])
    assert chain.submit(3, offer(price_buy=5)).status == LimitExceeded.status
    assert chain.balance(3, "cpu") == FUNDED


@pytest.mark.parametrize(
    "body, status",
    [
        (offer(expires_at=0), Expired.status),
        (offer(buy="ghost"), UnknownRecord.status),
        (offer(sell="ghost"), UnknownRecord.status),
        (offer(amount=FUNDED + 1), 2),
        (offer(sell="net"), 2),  # registered, but the maker holds none
    ],
)
def test_invalid_offers(body: CreateOffer, status: int) -> None:
    chain = MemoryChain(make_genesis())
    assert chain.submit(0, body).status == status
    assert offers_of(chain.reader, ADDRS[0]) == ()
    assert chain.balance(0, "cpu") == FUNDED


def test_invalid_offer_beyond_the_per_account_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(barter, "MAX_OFFERS_PER_ACCOUNT", 1)
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer())
    assert chain.submit(0, offer()).status == LimitExceeded.status


def test_invalid_take_of_own_offer() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer())
    assert chain.submit(0, TakeOffer(1, 5)).status == InvalidOperation.status


def test_invalid_take_without_the_payment() -> None:
    chain = MemoryChain(make_genesis(balances={"coin": 1_000, "cpu": FUNDED}))
    chain.submit(0, offer())
    assert chain.submit(1, TakeOffer(1, 1_000)).status == 2
    offer_left = offer_info(chain.reader, 1)
    assert offer_left is not None and offer_left.remaining == 1_000


@pytest.mark.parametrize("offer_id", [0, 2])
def test_invalid_take_and_cancel_of_a_missing_offer(offer_id: int) -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer())
    assert chain.submit(1, TakeOffer(offer_id, 5)).status == UnknownRecord.status
    assert chain.submit(0, CancelOffer(offer_id)).status == UnknownRecord.status


def test_invalid_cancel_by_someone_else() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer())
    assert chain.submit(1, CancelOffer(1)).status == NotAuthorized.status
    assert offer_info(chain.reader, 1) is not None


def test_invalid_second_cancel() -> None:
    chain = MemoryChain(make_genesis())
    chain.submit(0, offer())
    assert chain.submit(0, CancelOffer(1)).status == 0
    assert chain.submit(0, CancelOffer(1)).status == UnknownRecord.status
    assert chain.balance(0, "cpu") == FUNDED


@pytest.mark.parametrize(
    "value",
    [
        (23, "cpu", 1, "cpu", 1, 1, 5),
        (23, "cpu", 0, "coin", 1, 1, 5),
        (23, "cpu", 1, "coin", 0, 1, 5),
        (23, "cpu", 1, "coin", 1, 0, 5),
        (24, 1, 0),
        (25, "cpu", "coin", 1, 0, 1),
        (26, -1),
        (27, b"\x02" * 33, "cpu", 1, "coin", 1, 5, 0, b"\x00" * 63),
    ],
)
def test_invalid_barter_bodies_do_not_decode(value: tuple[object, ...]) -> None:
    with pytest.raises(DecodeError):
        decode_body(value)


# -- swaps ---------------------------------------------------------------------


def signed_swap(
    initiator: int,
    counterparty: int,
    nonce: int,
    expires_at: int = FAR,
    give: tuple[str, int] = ("coin", 500),
    get: tuple[str, int] = ("cpu", 800),
    chain_id: str = CHAIN,
) -> Swap:
    terms = swap_terms(ADDRS[initiator], ADDRS[counterparty], *give, *get, expires_at, nonce)
    signature = KEYS[counterparty].sign_digest(swap_digest(chain_id, terms))
    return Swap(KEYS[counterparty].public_key, *give, *get, expires_at, nonce, signature)


def test_swap_exchanges_both_legs_and_uses_the_counterparty_nonce() -> None:
    chain = MemoryChain(make_genesis())
    receipt = chain.submit(0, signed_swap(0, 1, nonce=0))
    assert receipt.status == 0 and receipt.events[0].kind == "swap"
    assert chain.balance(0) == FUNDED - 500 - 10 and chain.balance(0, "cpu") == FUNDED + 800
    assert chain.balance(1) == FUNDED + 500 and chain.balance(1, "cpu") == FUNDED - 800
    assert chain.nonce(ADDRS[1]) == 1
    assert chain.holdings() == chain.supplies()


def test_invalid_swap_replay() -> None:
    chain = MemoryChain(make_genesis())
    body = signed_swap(0, 1, nonce=0)
    assert chain.submit(0, body).status == 0
    receipt = chain.submit(0, body)
    assert receipt.status == InvalidOperation.status and "nonce" in receipt.error
    assert chain.balance(1, "cpu") == FUNDED - 800


def test_invalid_swap_after_its_expiry() -> None:
    chain = MemoryChain(make_genesis())
    chain.skip_to(5)
    assert chain.submit(0, signed_swap(0, 1, nonce=0, expires_at=5)).status == Expired.status


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: replace(s, give_amount=1),
        lambda s: replace(s, get_amount=s.get_amount + 1),
        lambda s: replace(s, expires_at=s.expires_at + 1),
        lambda s: replace(s, counterparty_signature=bytes(64)),
        lambda s: replace(s, counterparty_signature=bytes(65)),
        lambda s: signed_swap(0, 1, nonce=0, chain_id="other-chain"),
        lambda s: signed_swap(2, 1, nonce=0),  # signed for another initiator
    ],
)
def test_invalid_swap_signature(tamper: Any) -> None:
    chain = MemoryChain(make_genesis())
    receipt = chain.submit(0, tamper(signed_swap(0, 1, nonce=0)))
    assert receipt.status == BadCounterpartySignature.status
    assert chain.nonce(ADDRS[1]) == 0 and chain.balance(1, "cpu") == FUNDED


def test_invalid_swap_with_oneself_or_one_asset() -> None:
    chain = MemoryChain(make_genesis())
    assert chain.submit(0, signed_swap(0, 0, nonce=1)).status == InvalidOperation.status
    same = signed_swap(0, 1, nonce=0, get=("coin", 5))
    assert chain.submit(0, same).status == InvalidOperation.status


def test_invalid_swap_when_the_counterparty_cannot_pay() -> None:
    chain = MemoryChain(make_genesis())
    assert chain.submit(0, signed_swap(0, 1, nonce=0, get=("cpu", FUNDED + 1))).status == 2
    assert chain.nonce(ADDRS[1]) == 0  # the whole swap is reverted


def test_barter_bodies_round_trip() -> None:
    bodies = [offer(), TakeOffer(3, 4), TakeBest("a", "b", 1, 2, 3), CancelOffer(9)]
    bodies.append(signed_swap(0, 1, nonce=3))
    for body in bodies:
        assert decode_body(encode_body(body)) == body


# -- properties ----------------------------------------------------------------

ASSETS = ["coin", "cpu", "disk", "tok"]
amounts = st.integers(1, 5_000)
prices = st.integers(1, 50)
make_offer = st.tuples(
    st.just("offer"),
    st.integers(0, 3),
    st.sampled_from(ASSETS),
    amounts,
    st.sampled_from(ASSETS),
    prices,
    prices,
    st.integers(1, 6),
)
take_one = st.tuples(st.just("take"), st.integers(0, 3), st.integers(1, 12), amounts)
barter_op = st.one_of(
    make_offer,
    make_offer,
    take_one,
    take_one,
    st.tuples(
        st.just("best"),
        st.integers(0, 3),
        st.sampled_from(ASSETS),
        st.sampled_from(ASSETS),
        amounts,
        prices,
        prices,
    ),
    st.tuples(st.just("cancel"), st.integers(0, 3), st.integers(1, 12)),
    st.tuples(st.just("swap"), st.integers(0, 3), st.integers(0, 3), amounts, amounts),
)


def _body(chain: MemoryChain, op: tuple[Any, ...], nonces: dict[int, int]) -> Any:
    kind, who = op[0], op[1]
    if kind == "offer":
        _, _, sell, amount, buy, ps, pb, ttl = op
        if sell == buy:
            buy = "coin" if sell != "coin" else "cpu"
        return CreateOffer(sell, amount, buy, ps, pb, chain.height + ttl)
    if kind == "take":  # mostly an open offer, sometimes a missing or own one
        open_ids = sorted(o.offer_id for a in ADDRS[:4] for o in offers_of(chain.reader, a))
        offer_id = open_ids[op[2] % len(open_ids)] if open_ids and op[2] < 10 else op[2]
        return TakeOffer(offer_id, op[3])
    if kind == "best":
        _, _, sell, buy, amount, ls, lb = op
        if sell == buy:
            buy = "coin" if sell != "coin" else "cpu"
        return TakeBest(sell, buy, amount, ls, lb)
    if kind == "cancel":  # mostly one's own open offer
        own = [o.offer_id for o in offers_of(chain.reader, ADDRS[who])]
        return CancelOffer(own[op[2] % len(own)] if own and op[2] < 10 else op[2])
    _, _, other, give, get = op
    other = (who + 1 + other) % 4
    return signed_swap(who, other, nonces[other], chain.height + 3, ("tok", give), ("disk", get))


@given(st.lists(st.lists(barter_op, min_size=1, max_size=8), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_barter_conserves_every_asset_and_never_fills_beyond_the_makers_price(
    blocks: list[list[tuple[Any, ...]]],
) -> None:
    chain = MemoryChain(make_genesis(accounts=4), verify=False)
    chain.submit(0, IssueAsset("tok", 0, 10**12))
    from ledger.features.bank.bodies import MintAsset

    chain.run([chain.sign(0, MintAsset("tok", 40_000, ADDRS[i]), nonce=1 + i) for i in range(4)])
    prices_by_id: dict[int, tuple[int, int]] = {}
    for ops in blocks:
        nonces = {i: chain.nonce(ADDRS[i]) for i in range(4)}
        txs = []
        for op in ops:
            txs.append(chain.sign(op[1], _body(chain, op, nonces), nonce=nonces[op[1]]))
            nonces[op[1]] += 1
        result = chain.run(txs)
        for created in events_of(result, "offer_created"):
            prices_by_id[created["offer_id"]] = (created["price_sell"], created["price_buy"])
        for fill in events_of(result, "fill"):
            event("a block with fills")
            price_sell, price_buy = prices_by_id[fill["offer_id"]]
            # The maker gets at least its price, and at most one unit more.
            assert fill["paid"] * price_sell >= fill["sold"] * price_buy
            assert (fill["paid"] - 1) * price_sell < fill["sold"] * price_buy
        assert chain.holdings() == chain.supplies()
        for address in ADDRS[:4]:
            for listed in offers_of(chain.reader, address):
                assert listed.expires_at > chain.height and listed.remaining > 0
        for sell in ASSETS:
            for buy in ASSETS:
                book = order_book(chain.reader, sell, buy, depth=1_000)
                keys = [(o.price, o.offer_id) for o in book]
                assert keys == sorted(keys)
