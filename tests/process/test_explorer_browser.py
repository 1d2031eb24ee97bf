"""The block explorer in a real browser against a real devnet.

Four validator processes on 127.0.0.1; headless Chromium (Debian's package,
driven by Playwright) opens the page on node 0's RPC port. The test sends
transfers, a barter offer and a contract deploy, and checks that the page
shows them as they commit: the live height, the chart, the latest blocks and
transactions, a transaction with its receipt and events, a block whose
commit certificate the page verifies, an account whose state proof the page
verifies against a header it certified (and rejects once the test tampers
with the node's answer on the way), the validators, the order book, the
contracts, the threshold key, the mint's supply and keysets, and the mail
batches (a letter goes through a remailer: the panel shows its batch's
counts and neither its sender nor its recipient); with the node's answers
turned to null (a chain without mint or mail) both panels say so. No
JavaScript error may reach the console.
Screenshots are kept in test-artifacts/explorer/ (tests/browser.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.address import address_of, decode_address, encode_address
from ledger.client import LedgerClient
from ledger.client import asset_transactions as build
from ledger.client.devnet import account_key
from ledger.client.mail_letters import BUNDLED_REMAILER_PRICE, letter_call, postage_call
from ledger.crypto import SigningKey, sha256
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.module import encode_module

from ..browser import ConsoleLog, artifacts_dir, chromium
from .devnet_harness import Devnet, wait_until

pytestmark = pytest.mark.timeout(400)

ALICE, BOB, CAROL = (account_key(name) for name in ("alice", "bob", "carol"))
DAVE, HEIDI = account_key("dave"), account_key("heidi")
RECIPIENT = SigningKey(sha256(b"explorer test: the mail recipient"))
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


def proof_verdict(page: Any, fragment: str) -> tuple[str, str]:
    """Go to an account and return its proof verdict's state and text, read
    together once the check is done (a new block may draw the view again,
    back to "checking", between two separate reads)."""
    page.evaluate("(fragment) => { window.location.hash = fragment; }", fragment)
    found = page.wait_for_function(
        """() => {
            const v = document.getElementById('proof-verdict');
            return v && v.dataset.state !== 'checking' ? [v.dataset.state, v.textContent] : null;
        }""",
        timeout=WAIT_MS,
    ).json_value()
    return str(found[0]), str(found[1])


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


def null_for(methods: tuple[str, ...]) -> Any:
    """A route handler that answers ``null`` for the given methods (called
    one at a time), as a node whose genesis has no mint or mail does."""

    def handler(route: Any) -> None:
        request = route.request
        body = request.post_data or ""
        if request.method != "POST" or not any(f'"{m}"' in body for m in methods):
            route.continue_()
            return
        response = route.fetch()
        answer = response.json()
        assert isinstance(answer, dict), "the page asks these methods one call at a time"
        answer["result"] = None
        route.fulfill(response=response, body=json.dumps(answer))

    return handler


def mint_keysets_made(client: LedgerClient) -> bool:
    keysets = client.request("ledger_getMintKeysets", [])["keysets"]
    return bool(keysets) and all(k["id"] is not None for k in keysets)


def send_a_letter(client: LedgerClient) -> tuple[str, str]:
    """Heidi deploys the remailer, Dave buys postage and sends one letter
    through it; returns Dave's and the recipient's addresses once the mix
    has accepted the letter."""
    wait_until(
        lambda: client.request("ledger_getMailStatus", [])["key"] is not None,
        240,
        "the mail key from the validators' DKG",
    )
    mix = client.request("ledger_getMailStatus", [])
    module = encode_module(assemble(contract_source("remailer")))
    deployed = client.send_deploy(HEIDI, module, cpu=10**10, disk=10**10, net=10**10, timeout=60)
    assert deployed.receipt is not None and deployed.receipt.status == 0, deployed.receipt
    remailer = decode_address(deployed.address)
    bought = client.send_body(DAVE, postage_call(remailer, 1, BUNDLED_REMAILER_PRICE), timeout=60)
    assert bought.receipt is not None and bought.receipt.status == 0, bought.receipt
    dave = address_of(DAVE.public_key)
    nonce = client.get_transaction_count(dave, "pending")
    body = letter_call(
        remailer,
        RECIPIENT.public_key,
        b"see you in the explorer",
        bytes.fromhex(mix["key"]["publicKey"]),
        mix["cellWidth"],
        client.chain_id(),
        dave,
        nonce,
    )
    sent = client.send_body(DAVE, body, nonce=nonce, timeout=60)
    assert sent.receipt is not None and sent.receipt.status == 0, sent.receipt
    return encode_address(dave), encode_address(address_of(RECIPIENT.public_key))


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
            state, verdict = proof_verdict(page, f"#/account/{bob}")
            assert state == "verified", verdict
            assert "State proof verified in this browser" in verdict and "coin" in verdict
            balances = text_of(page, "#balances")
            assert all(asset in balances for asset in ("coin", "cpu", "disk", "net"))
            history = page.locator("#history").inner_html()
            assert all(s.hash.hex() in history for s in sent)
            page.screenshot(path=str(shots / "account.png"), full_page=True)

            # The same check with a tampered answer fails, and says so.
            page.route("**/*", tamper_with_proofs)
            show(page, "#/blocks", "#blocks-table")
            state, verdict = proof_verdict(page, f"#/account/{bob}")
            assert state == "failed" and "verification failed" in verdict, verdict
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

            # The mint: its supply, its books balanced, and the devnet's keyset(s).
            wait_until(lambda: mint_keysets_made(client), 240, "the mint's keys from the DKG")
            keysets = client.request("ledger_getMintKeysets", [])["keysets"]
            show(page, "#/blocks", "#blocks-table")
            show(page, "#/mint", "#mint-keysets")
            assert "✓" in text_of(page, "#mint-books")
            shown = text_of(page, "#mint-keysets")
            assert page.locator("#mint-keysets tbody tr").count() == len(keysets) >= 1
            for keyset in keysets:
                keyset_id = keyset["id"]
                assert page.locator(f'#mint-keysets [title="{keyset_id}"]').count() == 1
                assert keyset["status"] in shown and keyset["keySet"] in shown
            page.screenshot(path=str(shots / "mint.png"), full_page=True)

            # Mail: one letter through a remailer; the panel counts it in its
            # batch and names neither its sender nor its recipient.
            sender, recipient = send_a_letter(client)
            mail = client.request("ledger_getMailStatus", [])
            batch = mail["openBatch"] or mail["inFlight"][-1]
            show(page, "#/blocks", "#blocks-table")
            show(page, "#/mail", "#mail-batches")
            batch_id = batch["id"]
            row = page.locator(f'#mail-batches tr[data-batch="{batch_id}"]')
            assert row.locator("td").nth(2).inner_text() == str(batch["cells"]) == "1"
            assert text_of(page, "#mail-counts").startswith(f"{batch_id} in all")
            drawn = page.locator("#view").inner_html()
            assert sender not in drawn and recipient not in drawn
            page.screenshot(path=str(shots / "mail.png"), full_page=True)

            # Once the validators have shuffled, decrypted and delivered it, no
            # batch is open: the page finds the newest batch by its id alone.
            wait_until(
                lambda: client.request("ledger_getMailBatch", [batch_id])["status"] == "delivered",
                120,
                "the batch shuffled, decrypted and delivered",
            )
            assert client.request("ledger_getMailStatus", [])["openBatch"] is None
            show(page, "#/blocks", "#blocks-table")
            show(page, "#/mail", "#mail-batches")
            cells = row.locator("td").all_inner_texts()
            assert cells[1] == "delivered" and cells[2] == "1" and cells[8] == "1", cells
            assert text_of(page, "#mail-counts").startswith(f"{batch_id} in all; none open")
            drawn = page.locator("#view").inner_html()
            assert sender not in drawn and recipient not in drawn
            page.screenshot(path=str(shots / "mail-delivered.png"), full_page=True)

            # A chain without mint or mail: both panels say so.
            page.route("**/*", null_for(("ledger_getMint", "ledger_getMailStatus")))
            show(page, "#/blocks", "#blocks-table")
            show(page, "#/mint", "#mint-none")
            assert "does not enable the e-cash mint" in text_of(page, "#mint-none")
            page.screenshot(path=str(shots / "mint-disabled.png"), full_page=True)
            show(page, "#/mail", "#mail-none")
            assert "does not enable anonymous mail" in text_of(page, "#mail-none")
            page.screenshot(path=str(shots / "mail-disabled.png"), full_page=True)
            page.unroute("**/*")

            assert console.errors == [], console.errors
    finally:
        net.stop_all()
    logs = net.logs()
    assert not any("Traceback" in text for text in logs.values())
