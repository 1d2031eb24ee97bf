"""ledger_getAccountHistory, ledger_getContracts and ledger_getMarkets
against a LocalNode whose blocks the tests produce one by one: contents,
order, paging to the end, and typed errors for bad parameters."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.address import decode_address, encode_address
from ledger.client import LedgerClient
from ledger.client import asset_transactions as build
from ledger.client.devnet import account_key

from .conftest import ALICE, BOB, address_text, transfer
from .server_thread import ServerThread
from .test_contract_methods import COUNTER

CAROL = account_key("carol")


@pytest.fixture
def client(served: ServerThread) -> LedgerClient:
    return LedgerClient(served.url)


def call(served: ServerThread, method: str, params: Any) -> Any:
    _, answer = served.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert "result" in answer, answer
    return answer["result"]


def error(served: ServerThread, method: str, params: Any) -> dict[str, Any]:
    _, answer = served.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert "error" in answer, answer
    result: dict[str, Any] = answer["error"]
    return result


def test_history_lists_sent_and_received_newest_first_in_pages(
    served: ServerThread, client: LedgerClient
) -> None:
    hashes = []
    for nonce in range(3):  # alice -> bob, one block each
        hashes.append(client.send_raw_transaction(transfer(ALICE, BOB, 10 + nonce, nonce).encode()))
        served.produce()
    hashes.append(client.send_raw_transaction(transfer(BOB, CAROL, 5, 0).encode()))
    served.produce()
    alice = call(served, "ledger_getAccountHistory", [address_text(ALICE)])
    assert alice["indexedFrom"] == 1 and alice["next"] is None
    assert [t["hash"] for t in alice["transactions"]] == [h.hex() for h in reversed(hashes[:3])]
    first = alice["transactions"][0]
    assert first["from"] == address_text(ALICE) and first["kind"] == "transfer"
    assert first["body"]["amount"] == "12" and first["status"] == 0 and first["success"]
    assert first["blockHeight"] == 3 and first["index"] == 0 and first["timeMs"] > 0
    # bob received three and sent one; carol only received.
    bob = call(served, "ledger_getAccountHistory", [address_text(BOB)])
    assert [t["hash"] for t in bob["transactions"]] == [h.hex() for h in reversed(hashes)]
    carol = call(served, "ledger_getAccountHistory", {"address": address_text(CAROL)})
    assert [t["hash"] for t in carol["transactions"]] == [hashes[3].hex()]
    # Pages of one, following `next`, give the same list.
    seen, before = [], None
    for _ in range(10):
        page = call(served, "ledger_getAccountHistory", [address_text(BOB), before, 1])
        seen += [t["hash"] for t in page["transactions"]]
        before = page["next"]
        if before is None:
            break
    assert seen == [t["hash"] for t in bob["transactions"]]
    nobody = call(served, "ledger_getAccountHistory", [encode_address(bytes(20))])
    assert nobody["transactions"] == [] and nobody["next"] is None


def test_history_rejects_bad_parameters(served: ServerThread) -> None:
    alice = address_text(ALICE)
    for params in (
        [alice, {"height": 0, "index": 0}],
        [alice, {"height": 1}],
        [alice, {"height": 1, "index": -1}],
        [alice, {"height": "1", "index": 0}],
        [alice, None, 0],
        [alice, None, 101],
        ["lg1nothing"],
    ):
        assert error(served, "ledger_getAccountHistory", params)["code"] == -32602, params


def test_contracts_page_by_address(served: ServerThread, client: LedgerClient) -> None:
    assert call(served, "ledger_getContracts", []) == {
        "height": 0,
        "contracts": [],
        "next": None,
    }
    deployed = [
        client.send_deploy(ALICE, COUNTER, cpu=5, disk=10**6, net=7, salt=bytes([i]), wait=False)
        for i in range(3)
    ]
    served.produce()
    addresses = sorted((d.address for d in deployed), key=decode_address)  # by bytes
    whole = call(served, "ledger_getContracts", [])
    assert [c["address"] for c in whole["contracts"]] == addresses
    assert whole["contracts"][0] == call(served, "ledger_getContract", [addresses[0]])
    first = call(served, "ledger_getContracts", [None, 2])
    assert [c["address"] for c in first["contracts"]] == addresses[:2]
    assert first["next"] == addresses[2]
    rest = call(served, "ledger_getContracts", {"start": first["next"], "limit": 2})
    assert [c["address"] for c in rest["contracts"]] == addresses[2:] and rest["next"] is None
    assert error(served, "ledger_getContracts", [None, 0])["code"] == -32602
    assert error(served, "ledger_getContracts", ["coin"])["code"] == -32602


def market(sell: str, buy: str, offers: int, price_sell: str, price_buy: str) -> dict[str, Any]:
    return {
        "sellAsset": sell,
        "buyAsset": buy,
        "offers": offers,
        "bestPriceSell": price_sell,
        "bestPriceBuy": price_buy,
    }


def test_markets_list_the_books_with_offers(served: ServerThread, client: LedgerClient) -> None:
    assert call(served, "ledger_getMarkets", [])["markets"] == []
    for body in (
        build.create_offer("cpu", 100, "coin", 2, 7, 1000),
        build.create_offer("cpu", 50, "coin", 1, 3, 1000),
        build.create_offer("disk", 10, "net", 1, 1, 1000),
    ):
        client.send_body(ALICE, body, wait=False)
    served.produce()
    markets = call(served, "ledger_getMarkets", [])
    assert markets["next"] is None
    assert markets["markets"] == [
        # 3 coin per cpu is a better price for a taker than 7 per 2.
        market("cpu", "coin", 2, "1", "3"),
        market("disk", "net", 1, "1", "1"),
    ]
    book = call(served, "ledger_getOrderBook", ["cpu", "coin"])
    assert (book["offers"][0]["priceSell"], book["offers"][0]["priceBuy"]) == ("1", "3")
    first = call(served, "ledger_getMarkets", ["", 1])
    assert [m["sellAsset"] for m in first["markets"]] == ["cpu"] and first["next"] == "disk/net"
    rest = call(served, "ledger_getMarkets", [first["next"], 1])
    assert [m["sellAsset"] for m in rest["markets"]] == ["disk"] and rest["next"] is None
    for bad in ("cpu", "cpu/coin/net", "CPU/coin", 7):
        assert error(served, "ledger_getMarkets", [bad])["code"] == -32602, bad
