"""The asset, barter, policy and governance queries through the clients,
against a LocalNode whose blocks the tests produce one by one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ledger.address import address_of, decode_address, encode_address
from ledger.client import (
    AsyncLedgerClient,
    BlockNotFound,
    InvalidParams,
    LedgerClient,
    SignedSwap,
    SwapTerms,
    created_offer_id,
    created_policy_address,
    created_proposal_id,
)
from ledger.client import asset_transactions as build
from ledger.client.devnet import DEVNET_BALANCE, DEVNET_BANK_BALANCE, DEVNET_CREDITS, account_key
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import IssueAsset, Transfer
from ledger.fields import DecodeError

from .conftest import ALICE, BOB, address_text
from .server_thread import ServerThread

CAROL = account_key("carol")
BANK = "lg1964xudq6swwn4e7tquvw5lelqm5p42sn4dhhev"
GOVERNANCE = "lg1mypl97v7ssnlug5qq5el9pm64uvn57wcnau0qj"
MAX_AMOUNT = (1 << 128) - 1


@pytest.fixture
def client(served: ServerThread) -> LedgerClient:
    return LedgerClient(served.url)


def commit(served: ServerThread, client: LedgerClient, key: SigningKey, *bodies: Any) -> list[Any]:
    """Send ``bodies`` from ``key`` (consecutive nonces), produce a block, return the receipts."""
    sent = [client.send_body(key, body, wait=False) for body in bodies]
    served.produce()
    receipts = [client.get_receipt(s.hash) for s in sent]
    assert all(r is not None for r in receipts)
    return receipts


def rpc(served: ServerThread, method: str, params: Any) -> dict[str, Any]:
    _, answer = served.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert isinstance(answer, dict)
    return answer


def test_get_asset_now_and_at_a_height(served: ServerThread, client: LedgerClient) -> None:
    cpu = client.get_asset("cpu")
    assert cpu is not None
    assert (cpu.issuer, cpu.decimals, cpu.max_supply) == (None, 0, MAX_AMOUNT)
    assert cpu.supply == 8 * DEVNET_CREDITS
    coin = client.get_asset("coin")
    assert coin is not None and coin.decimals == 18
    assert client.get_asset("gold") is None
    (issued, minted) = commit(
        served,
        client,
        ALICE,
        build.issue_asset("gold", 10**9, decimals=2),
        build.mint_asset("gold", 500, address_text(BOB)),
    )
    assert issued.success and minted.success
    gold = client.get_asset("gold")
    assert gold is not None
    assert (gold.issuer, gold.decimals, gold.max_supply, gold.supply) == (
        address_text(ALICE),
        2,
        10**9,
        500,
    )
    assert client.get_asset("gold", height=0) is None
    assert client.get_asset("gold", height=1) == gold
    # Validator credits were minted at the end of block 1: the supply grew.
    cpu_now = client.get_asset("cpu")
    assert cpu_now is not None and cpu_now.supply > cpu.supply
    with pytest.raises(BlockNotFound):
        client.get_asset("gold", height=5)


def test_offers_book_and_offer(served: ServerThread, client: LedgerClient) -> None:
    receipts = commit(
        served,
        client,
        ALICE,
        build.create_offer("cpu", 1_000, "coin", 1, 5, expires_at=100),  # id 1, price 5
        build.create_offer("cpu", 300, "coin", 2, 7, expires_at=100),  # id 2, price 3.5
        build.create_offer("cpu", 200, "coin", 1, 5, expires_at=50),  # id 3, price 5, later
    )
    assert [created_offer_id(r) for r in receipts] == [1, 2, 3]
    (bob_offer,) = commit(
        served, client, BOB, build.create_offer("coin", 10**6, "cpu", 4, 1, expires_at=100)
    )
    assert created_offer_id(bob_offer) == 4
    alice = address_text(ALICE)
    offers = client.get_offers(alice)
    assert [o.offer_id for o in offers] == [1, 2, 3]
    first = client.get_offer(1)
    assert first is not None and first == offers[0]
    assert (first.maker, first.sell_asset, first.buy_asset, first.remaining) == (
        alice,
        "cpu",
        "coin",
        1_000,
    )
    assert (first.price_sell, first.price_buy, first.expires_at) == (1, 5, 100)
    assert first.cost(3) == 15 and offers[1].cost(3) == 11  # 3 * 7 / 2 rounded up
    book = client.get_order_book("cpu", "coin")
    assert [o.offer_id for o in book.offers] == [2, 1, 3]  # best price, then earliest
    assert (book.sell_asset, book.buy_asset, book.height) == ("cpu", "coin", 2)
    assert [o.offer_id for o in client.get_order_book("cpu", "coin", depth=1).offers] == [2]
    assert [o.offer_id for o in client.get_order_book("coin", "cpu").offers] == [4]
    assert client.get_order_book("cpu", "coin", height=0).offers == ()
    assert client.get_offers(alice, height=0) == ()
    assert client.get_offer(99) is None
    # Take part of offer 2, cancel offer 1: the book shows the rest.
    (taken,) = commit(served, client, BOB, build.take_offer(2, 100))
    assert taken.success
    (cancelled,) = commit(served, client, ALICE, build.cancel_offer(1))
    assert cancelled.success
    remaining = client.get_order_book("cpu", "coin")
    assert [(o.offer_id, o.remaining) for o in remaining.offers] == [(2, 200), (3, 200)]
    assert client.get_offer(1) is None
    assert client.get_offer(1, height=2) == first


def test_policy_and_pending_proposals(served: ServerThread, client: LedgerClient) -> None:
    bank = client.get_policy(BANK)
    assert bank is not None
    officers = sorted(address_of(k.public_key) for k in (ALICE, BOB, CAROL))
    assert bank.members == tuple(encode_address(a) for a in officers)
    assert (bank.threshold, bank.limits, bank.pending_proposals) == (2, (), ())
    assert (bank.next_proposal_id, bank.governance) == (1, False)
    assert client.get_policy(address_text(ALICE)) is None
    assert client.get_pending_proposals(address_text(ALICE)) == ()
    assert client.get_balance(BANK) == DEVNET_BANK_BALANCE
    withdrawal = build.transfer("coin", 5 * 10**18, address_text(CAROL))
    (proposed,) = commit(served, client, ALICE, build.propose(BANK, withdrawal, expires_at=50))
    assert proposed.success and created_proposal_id(proposed) == 1
    (proposal,) = client.get_pending_proposals(BANK)
    assert (proposal.policy, proposal.proposal_id, proposal.expires_at) == (BANK, 1, 50)
    assert proposal.proposer == address_text(ALICE)
    assert proposal.approvals == (address_text(ALICE),)
    assert proposal.action is not None
    assert (proposal.action.kind, proposal.action.kind_id) == ("transfer", 1)
    assert proposal.action.body == {
        "asset": "coin",
        "amount": str(5 * 10**18),
        "recipient": address_text(CAROL),
    }
    bank_now = client.get_policy(BANK)
    assert bank_now is not None and bank_now.pending_proposals == (1,)
    assert bank_now.next_proposal_id == 2
    # The proposal transaction renders its action too.
    tx = client.get_transaction(proposed.transaction_hash)
    assert tx is not None and tx.kind == "policy_propose"
    assert tx.body["policy"] == BANK and tx.body["action"]["kind"] == "transfer"
    (approved,) = commit(served, client, CAROL, build.approve(BANK, 1))
    assert approved.success
    assert [e.kind for e in approved.events][:3] == [
        "proposal_approved",
        "proposal_executed",
        "transfer",
    ]
    assert client.get_pending_proposals(BANK) == ()
    assert client.get_pending_proposals(BANK, height=1) == (proposal,)
    assert client.get_balance(BANK) == DEVNET_BANK_BALANCE - 5 * 10**18


def test_created_policy_with_limits(served: ServerThread, client: LedgerClient) -> None:
    body = build.create_policy(
        [address_text(CAROL), address_text(ALICE)], 1, [("coin", 10**21, 14_400)]
    )
    (created,) = commit(served, client, BOB, body)
    address = created_policy_address(created)
    assert address is not None
    policy = client.get_policy(address)
    assert policy is not None
    assert policy.members == tuple(
        sorted([address_text(ALICE), address_text(CAROL)], key=decode_address)
    )
    assert policy.threshold == 1
    assert [(x.asset, x.amount, x.window) for x in policy.limits] == [("coin", 10**21, 14_400)]
    tx = client.get_transaction(created.transaction_hash)
    assert tx is not None and tx.body["limits"] == [
        {"asset": "coin", "amount": str(10**21), "window": 14_400}
    ]


def test_governance_schedules_a_validator(served: ServerThread, client: LedgerClient) -> None:
    governance = client.get_governance()
    assert governance.address == GOVERNANCE and governance.height == 0
    assert governance.policy is not None and governance.policy.threshold == 3
    assert governance.policy.governance
    (entry,) = governance.schedule
    assert entry.activation_height == 1 and entry.total_power == 40
    new_key = SigningKey(bytes(31) + b"\x42")
    action = build.update_validator(new_key.public_key, 10, "val-4")
    dave, erin, frank = (account_key(n) for n in ("dave", "erin", "frank"))
    commit(served, client, dave, build.propose(GOVERNANCE, action, expires_at=20))
    pending = client.get_governance()
    (proposal,) = pending.proposals
    assert proposal.action is not None and proposal.action.kind == "validator_update"
    assert proposal.action.body == {
        "publicKey": new_key.public_key.hex(),
        "address": address_text(new_key),
        "power": "10",
        "name": "val-4",
    }
    commit(served, client, erin, build.approve(GOVERNANCE, 1))
    (executed,) = commit(served, client, frank, build.approve(GOVERNANCE, 1))
    assert executed.success and executed.block_height == 3
    after = client.get_governance()
    assert after.proposals == ()
    assert [e.activation_height for e in after.schedule] == [1, 5]
    assert after.schedule[1].total_power == 50
    assert "val-4" in {v.name for v in after.schedule[1].validators}
    served.produce()
    served.produce()
    assert [e.activation_height for e in client.get_governance().schedule] == [5]
    assert client.validators().total_power == 50


def test_swap_terms_signed_by_the_counterparty(served: ServerThread, client: LedgerClient) -> None:
    terms = SwapTerms(
        "ledger-devnet-1",
        address_of(ALICE.public_key),
        BOB.public_key,
        "coin",
        5_000,
        "cpu",
        70,
        expires_at=10,
        counterparty_nonce=client.get_transaction_count(address_text(BOB), "pending"),
    )
    with pytest.raises(ValueError):
        terms.sign(ALICE)
    signed = terms.sign(BOB)
    assert signed.verify()
    blob = signed.to_hex()
    assert SignedSwap.from_hex(blob + "\n") == signed
    for bad in ("zz", "00", blob[:-2]):
        with pytest.raises(DecodeError):
            SignedSwap.from_hex(bad)
    (receipt,) = commit(served, client, ALICE, SignedSwap.from_hex(blob).body())
    assert receipt.success, receipt.error
    assert client.get_balance(address_text(BOB), "cpu") == DEVNET_CREDITS - 70
    assert client.get_balance(address_text(BOB)) == DEVNET_BALANCE + 5_000
    # The counterparty's nonce is used up: the same terms cannot run twice.
    (again,) = commit(served, client, ALICE, signed.body())
    assert again.status == 4


def test_builders_check_like_the_node() -> None:
    with pytest.raises(DecodeError):
        build.create_policy([address_text(ALICE), address_text(ALICE)], 1)
    with pytest.raises(DecodeError):
        build.create_policy([address_text(ALICE)], 2)
    with pytest.raises(DecodeError):
        build.create_offer("cpu", 1, "cpu", 1, 1, 10)
    with pytest.raises(DecodeError):
        build.issue_asset("Gold", 10)
    with pytest.raises(DecodeError):
        build.update_validator(bytes(33), 1, "x")
    assert isinstance(build.transfer("coin", 1, address_text(BOB)), Transfer)
    assert build.issue_asset("gold", 10) == IssueAsset("gold", 0, 10)


BAD_PARAMS: list[tuple[str, Any]] = [
    ("ledger_getAsset", []),
    ("ledger_getAsset", ["Gold"]),
    ("ledger_getAsset", [7]),
    ("ledger_getAsset", ["gold", -1]),
    ("ledger_getAsset", ["gold", "earliest"]),
    ("ledger_getAsset", ["gold", "latest", "extra"]),
    ("ledger_getAsset", {"id": "gold"}),
    ("ledger_getOffers", ["lg1qqqq"]),
    ("ledger_getOffers", [None]),
    ("ledger_getOffer", ["1"]),
    ("ledger_getOffer", [-1]),
    ("ledger_getOffer", [1 << 64]),
    ("ledger_getOffer", [1.5]),
    ("ledger_getOffer", [True]),
    ("ledger_getOrderBook", ["cpu"]),
    ("ledger_getOrderBook", ["cpu", "cpu"]),
    ("ledger_getOrderBook", ["cpu", "coin", 0]),
    ("ledger_getOrderBook", ["cpu", "coin", 513]),
    ("ledger_getOrderBook", ["cpu", "coin", "10"]),
    ("ledger_getOrderBook", {"sellAsset": "cpu", "buyAsset": "coin", "limit": 5}),
    ("ledger_getPolicy", ["bank"]),
    ("ledger_getPolicy", []),
    ("ledger_getPendingProposals", [BANK[:-1] + "x"]),
    ("ledger_getGovernance", ["latest", 1]),
    ("ledger_getGovernance", [{"height": 1}]),
]


@pytest.mark.parametrize(("method", "params"), BAD_PARAMS)
def test_invalid_params(served: ServerThread, method: str, params: Any) -> None:
    before = served.snapshot()
    answer = rpc(served, method, params)
    assert answer["error"]["code"] == -32602, answer
    assert served.snapshot() == before


def test_named_params_and_bounds(served: ServerThread) -> None:
    answer = rpc(
        served,
        "ledger_getOrderBook",
        {"sellAsset": "cpu", "buyAsset": "coin", "depth": 512, "height": 0},
    )
    assert answer["result"] == {"sellAsset": "cpu", "buyAsset": "coin", "height": 0, "offers": []}
    assert rpc(served, "ledger_getOffer", {"offerId": (1 << 64) - 1})["result"] is None
    assert rpc(served, "ledger_getPolicy", [BANK.upper()])["result"]["address"] == BANK
    assert rpc(served, "ledger_getGovernance", {"height": 1})["error"]["code"] == -32001
    assert rpc(served, "ledger_getGovernance", [None])["result"]["height"] == 0


def test_async_client_queries_and_sends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerThread(tmp_path, block_interval=0.05)

    async def scenario() -> None:
        async with AsyncLedgerClient(server.url) as client:
            sent = await client.send_body(
                BOB, build.create_offer("disk", 10, "coin", 1, 2, 1_000), timeout=10
            )
            assert sent.receipt is not None and created_offer_id(sent.receipt) == 1
            offer = await client.get_offer(1)
            assert offer is not None and offer.maker == address_text(BOB)
            assert (await client.get_offers(address_text(BOB))) == (offer,)
            assert (await client.get_order_book("disk", "coin")).offers == (offer,)
            asset = await client.get_asset("disk")
            assert asset is not None and asset.issuer is None
            policy = await client.get_policy(BANK)
            assert policy is not None and policy.threshold == 2
            assert await client.get_pending_proposals(BANK) == ()
            assert (await client.get_governance()).address == GOVERNANCE
            with pytest.raises(InvalidParams):
                await client.get_order_book("disk", "disk")

    try:
        asyncio.run(scenario())
    finally:
        server.close()
