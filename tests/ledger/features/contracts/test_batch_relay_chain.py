"""The relay running on chain: two relays in a row, batch and delay
delivery, mailboxes, and death by running out of credits."""

from __future__ import annotations

from ledger.features.contracts.bodies import Schedule
from ledger.features.contracts.execution import contract_storage_items
from ledger.features.contracts.records import RECORD_OVERHEAD_BYTES, list_contracts
from ledger.types import Event
from tests.ledger.features.contracts.contract_chain import (
    ADDRS,
    ASSETS,
    CREDITS,
    ContractChain,
    module_of,
)
from tests.vm.test_batch_relay import DELAY, K, expected_order
from vm.contracts import contract_source

RELAY = contract_source("batch_relay")
INITIAL = {asset: 4 * CREDITS for asset in ASSETS}
TICK = Schedule("tick", 2, 500_000)
ALICE, BOB = ADDRS[2], ADDRS[3]


def attrs(event: Event) -> dict[str, object]:
    return dict(event.attributes)


def packet(hop: bytes, postage: int, payload: bytes) -> bytes:
    """The relay's routing header: hop length, hop, postage (8 bytes), payload."""
    return bytes([len(hop)]) + hop + postage.to_bytes(8, "big") + payload


def relays(chain: ContractChain, count: int, **credits: int) -> list[bytes]:
    deploys = [chain.deploy(0, RELAY, schedule=TICK, **credits) for _ in range(count)]
    receipts, _ = chain.block(*(tx for _, tx in deploys))
    assert all(r.status == 0 for r in receipts)
    return [address for address, _ in deploys]


def test_mail_through_two_relays_reaches_the_mailboxes_in_shuffled_order() -> None:
    chain = ContractChain()
    first, second = relays(chain, 2)
    recipients = [ALICE, BOB, ALICE, ALICE]
    inner = [b"sealed letter %d" % i for i in range(K)]
    postage = 300_000
    batch1 = [
        (packet(to, 1_000, body), second, postage)
        for to, body in zip(recipients, inner, strict=True)
    ]
    sends = [chain.call(i, first, "send", *mail, gas=2_000_000) for i, mail in enumerate(batch1)]
    receipts, _ = chain.block(*sends)
    height = chain.tip.height
    assert [r.status for r in receipts] == [0] * K
    held = [attrs(r.events[0])["returns"] for r in receipts[:-1]]
    assert held == [((0, bytes([n])),) for n in (1, 2, 3)]
    # The fourth send flushed the first relay, whose messages filled and
    # flushed the second, whose messages went to the mailboxes: one transaction.
    deliveries = [attrs(e) for e in receipts[-1].events if e.kind == "message"]
    order1 = expected_order(batch1, height)
    hops = [(d["from"], d["to"], d["status"]) for d in deliveries[:K]]
    assert hops == [(first, second, "success")] * K
    batch2 = [(inner[i], recipients[i], 1_000) for i in order1]
    order2 = expected_order(batch2, height)
    assert [(d["from"], d["to"], d["status"]) for d in deliveries[K:]] == [
        (second, batch2[j][1], "mailbox") for j in order2
    ]
    expected_alice = [batch2[j][0] for j in order2 if batch2[j][1] == ALICE]
    assert [m["args"] for m in chain.mailbox(ALICE)] == [[body] for body in expected_alice]
    assert [m["args"] for m in chain.mailbox(BOB)] == [[inner[1]]]
    assert {m["sender"] for m in chain.mailbox(ALICE)} == {second}
    assert all(m["entry"] == "deliver" and m["height"] == height for m in chain.mailbox(ALICE))
    assert contract_storage_items(chain.reader, first) == []
    assert contract_storage_items(chain.reader, second) == []
    assert chain.conserved(INITIAL)


def test_a_lone_message_is_delivered_by_the_scheduled_tick_after_the_delay() -> None:
    chain = ContractChain()
    (relay,) = relays(chain, 1)
    deployed_at = chain.tip.height
    (receipt,), _ = chain.block(chain.call(1, relay, "send", b"lonely", ALICE, 1_000))
    sent_at = chain.tip.height
    assert receipt.status == 0 and chain.mailbox(ALICE) == []
    events = chain.blocks(DELAY + TICK.interval)
    runs = [attrs(e) for e in events if e.kind == "scheduled_run"]
    assert runs and all(r["status"] == "success" for r in runs)
    (mail,) = chain.mailbox(ALICE)
    due = sent_at + DELAY
    tick_heights = range(deployed_at + TICK.interval, chain.tip.height + 1, TICK.interval)
    assert mail["height"] == min(h for h in tick_heights if h >= due)
    assert mail["args"] == [b"lonely"] and mail["sender"] == relay
    assert chain.conserved(INITIAL)


def test_the_relay_dies_when_its_credits_run_out_and_its_mail_with_it() -> None:
    chain = ContractChain()
    rent = RECORD_OVERHEAD_BYTES + len(module_of(RELAY))
    (relay,) = relays(chain, 1, disk=4 * rent)
    (receipt,), _ = chain.block(chain.call(1, relay, "send", b"held", ALICE, 1_000))
    assert receipt.status == 0 and contract_storage_items(chain.reader, relay) != []
    events = chain.blocks(4)
    (evicted,) = [attrs(e) for e in events if e.kind == "contract_evicted"]
    assert evicted["address"] == relay and evicted["reason"] == "cannot pay rent"
    assert relay not in list_contracts(chain.reader)
    assert contract_storage_items(chain.reader, relay) == []
    chain.blocks(DELAY)
    assert chain.mailbox(ALICE) == [], "the held message died with the relay"
    assert chain.conserved(INITIAL)


def test_postage_is_paid_by_the_relay_and_unused_postage_comes_back() -> None:
    chain = ContractChain()
    (relay,) = relays(chain, 1)
    cpu_before = chain.balance(relay, "cpu")
    sends = [chain.call(1, relay, "send", b"m%d" % i, ALICE, 999_999) for i in range(K)]
    chain.block(*sends)
    # Mailbox deliveries use no gas: the whole reservation is refunded.
    assert chain.balance(relay, "cpu") == cpu_before
    assert len(chain.mailbox(ALICE)) == K
