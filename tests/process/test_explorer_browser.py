"""The block explorer in a real browser against a real devnet.

Four validator processes on 127.0.0.1; headless Chromium (Debian's package,
driven by Playwright) opens the page on node 0's RPC port. The test sends
transfers, a barter offer and a contract deploy, and checks that the page
shows them as they commit: the live height, the chart, the latest blocks and
transactions, a transaction with its receipt and events, a block whose
commit certificate the page verifies, an account whose state proof the page
verifies against a header it certified (and rejects once the test tampers
with the node's answer on the way), the validators, the order book, the
contracts and the threshold key. No JavaScript error may reach the console.
Screenshots are kept in test-artifacts/explorer/ (tests/browser.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.address import address_of, encode_address
from ledger.client import asset_transactions as build
from ledger.client.devnet import account_key
from vm.assembler import assemble
from vm.module import encode_module

from ..browser import ConsoleLog, artifacts_dir, chromium
from .devnet_harness import Devnet

pytestmark = pytest.mark.timeout(400)

ALICE, BOB, CAROL = (account_key(name) for name in ("alice", "bob", "carol"))
WAIT_MS = 30_000
VERIFIED_A_HEADER = (
    "() => /^[0-9]+ ✓$/.test(document.getElementById('verified-height').textContent)"
)
HEIGHT_ABOVE = "(h) => Number(document.getElementById('height').textContent) >= h"
COUNTER = encode_module(
    assemble(
        """
.entry bump -> int
    PUSH "count"
    SLOAD
    BTOI
    PUSH 1
    ADD
    PUSH "count"
    DUP 2
    ITOB
    SSTORE
    RET
"""
    )
)


def text_of(page: Any, selector: str) -> str:
    value: str = page.locator(selector).inner_text()
    return value


def number(page: Any, selector: str) -> int:
    match = re.search(r"\d+", text_of(page, selector))
    assert match, selector
    return int(match.group())


def wait_for(page: Any, script: str, argument: Any = None) -> None:
    page.wait_for_function(script, arg=argument, timeout=WAIT_MS)


def show(page: Any, fragment: str, ready: str) -> None:
    """Go to a view (#/...) and wait for the element that says it is drawn."""
    page.evaluate("(fragment) => { window.location.hash = fragment; }", fragment)
    page.wait_for_selector(ready, timeout=WAIT_MS)


def tamper_with_proofs(route: Any) -> None:
    """Pass the node's answer on, with one byte of every proved value changed."""
    request = route.request
    if request.method != "POST" or "ledger_getProof" not in (request.post_data or ""):
        route.continue_()
        return
    response = route.fetch()
    answer = response.json()
    value = answer["result"]["value"]
    assert value is not None
    answer["result"]["value"] = value[:-2] + f"{int(value[-2:], 16) ^ 1:02x}"
    route.fulfill(response=response, body=json.dumps(answer))


def test_the_explorer_shows_the_live_chain_and_verifies_proofs(tmp_path: Path) -> None:
    shots = artifacts_dir()
    net = Devnet(tmp_path / "devnet", validators=4)
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        client = net.clients[0]
        with chromium() as browser:
            page = browser.new_page()
            console = ConsoleLog()
            console.attach(page)
            page.goto(net.nodes[0]["rpc_url"] + "/")  # redirects to /explorer/
            assert page.url.endswith("/explorer/")
            page.wait_for_selector("#chart svg", timeout=WAIT_MS)
            wait_for(page, VERIFIED_A_HEADER)
            assert text_of(page, "#chain-id") == "ledger-devnet-1"
            first_height = number(page, "#height")
            first_chart = int(page.locator("#chart").get_attribute("data-newest") or 0)
            assert first_height >= 2 and first_chart >= 2

            # Transfers, a barter offer and a contract appear as they commit.
            bob = encode_address(address_of(BOB.public_key))
            sent = [
                client.send_transfer(ALICE, address_of(BOB.public_key), 1000 + i, wait=False)
                for i in range(12)
            ]
            offer_body = build.create_offer("cpu", 500, "coin", 1, 4, 10**6)
            offer = client.send_body(CAROL, offer_body, wait=False)
            deploy = client.send_deploy(CAROL, COUNTER, cpu=10, disk=10**5, net=1, wait=False)
            receipts = [client.wait_for_receipt(s.hash, timeout=60) for s in [*sent, offer, deploy]]
            assert all(r.status == 0 for r in receipts), receipts
            last = sent[-1].hash.hex()
            page.wait_for_selector(f'#latest-txs a[title="{last}"]', timeout=WAIT_MS)
            wait_for(page, HEIGHT_ABOVE, first_height + 3)
            wait_for(
                page,
                "(n) => Number(document.getElementById('chart').dataset.newest) > n"
                " && Number(document.getElementById('chart').dataset.transactions) >= 14",
                first_chart,
            )
            assert page.locator("#chart svg rect.bar").count() >= 1
            assert page.locator("#latest-blocks tbody tr").count() >= 3
            page.screenshot(path=str(shots / "overview.png"), full_page=True)

            # A transaction with its receipt and events.
            page.locator(f'#latest-txs a[title="{last}"]').click()
            page.wait_for_selector("#tx-status", timeout=WAIT_MS)
            assert text_of(page, "#tx-status") == "success"
            events = text_of(page, "#tx-events")
            assert "transfer" in events and bob in events and str(1011) in events
            page.screenshot(path=str(shots / "transaction.png"), full_page=True)

            # A block whose commit certificate the page checks.
            height = receipts[0].block_height
            show(page, f"#/block/{height}", '#block-verdict:not([data-state="checking"])')
            assert page.locator("#block-verdict").get_attribute("data-state") == "verified"
            assert "signed by" in text_of(page, "#block-verdict")
            assert page.locator("#block-txs tbody tr").count() >= 1
            page.screenshot(path=str(shots / "block.png"), full_page=True)

            # An account: every balance, its history, its proof verified here.
            show(page, f"#/account/{bob}", '#proof-verdict:not([data-state="checking"])')
            verdict = text_of(page, "#proof-verdict")
            assert page.locator("#proof-verdict").get_attribute("data-state") == "verified", verdict
            assert "State proof verified in this browser" in verdict and "coin" in verdict
            balances = text_of(page, "#balances")
            assert all(asset in balances for asset in ("coin", "cpu", "disk", "net"))
            history = page.locator("#history").inner_html()
            assert all(s.hash.hex() in history for s in sent)
            page.screenshot(path=str(shots / "account.png"), full_page=True)

            # The same check with a tampered answer fails, and says so.
            page.route("**/*", tamper_with_proofs)
            show(page, "#/blocks", "#blocks-table")
            show(page, f"#/account/{bob}", '#proof-verdict:not([data-state="checking"])')
            assert page.locator("#proof-verdict").get_attribute("data-state") == "failed"
            assert "verification failed" in text_of(page, "#proof-verdict")
            page.screenshot(path=str(shots / "account-tampered.png"), full_page=True)
            page.unroute("**/*")

            show(page, "#/validators", "#validators-table")
            rows = page.locator("#validators-table tbody tr")
            assert rows.count() == 4
            assert all(re.search(r"\d+$", rows.nth(i).inner_text().strip()) for i in range(4))
            page.screenshot(path=str(shots / "validators.png"), full_page=True)

            show(page, "#/market", "#book-cpu-coin")
            assert "500" in text_of(page, "#book-cpu-coin")
            page.screenshot(path=str(shots / "market.png"), full_page=True)

            show(page, "#/contracts", "#contracts-table")
            assert deploy.address in page.locator("#contracts-table").inner_html()
            page.screenshot(path=str(shots / "contracts.png"), full_page=True)

            show(page, "#/threshold", "main[data-view=threshold]")
            assert "Threshold key" in text_of(page, "#view")
            page.screenshot(path=str(shots / "threshold.png"), full_page=True)

            assert console.errors == [], console.errors
    finally:
        net.stop_all()
    logs = net.logs()
    assert not any("Traceback" in text for text in logs.values())
