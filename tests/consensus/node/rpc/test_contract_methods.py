"""The contract methods (ledger_getContract, ...Storage, ...StorageItems,
ledger_getMailbox, ledger_getBurnedCredits, ledger_getBlockEvents) and the
client's deploy / call / fund helpers, against a LocalNode server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ledger.address import address_of, encode_address
from ledger.client import (
    AsyncLedgerClient,
    ContractInfo,
    InvalidParams,
    LedgerClient,
    ReceiptInfo,
    SentTransaction,
)
from ledger.client.devnet import DEVNET_CREDITS
from ledger.crypto import sha256
from ledger.features.contracts.bodies import Schedule
from ledger.features.contracts.records import RECORD_OVERHEAD_BYTES
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.module import encode_module

from .conftest import ALICE, BOB, address_text
from .server_thread import ServerThread

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
.entry put bytes bytes ->
    SSTORE
    RET
"""
    )
)
RELAY = encode_module(assemble(contract_source("batch_relay")))
MAILBOX_OWNER = encode_address(address_of(BOB.public_key))


@pytest.fixture
def client(served: ServerThread) -> LedgerClient:
    return LedgerClient(served.url)


def included(served: ServerThread, client: LedgerClient, *sent: SentTransaction) -> int:
    """Produce a block holding ``sent``; check every receipt is a success; its height."""
    served.produce()
    for transaction in sent:
        receipt = client.get_receipt(transaction.hash)
        assert receipt is not None and receipt.success, receipt
    return client.block_number()


def receipt_of(client: LedgerClient, sent: SentTransaction) -> ReceiptInfo:
    receipt = client.get_receipt(sent.hash)
    assert receipt is not None
    return receipt


def rpc_error(served: ServerThread, method: str, params: Any) -> dict[str, Any]:
    _, answer = served.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert "error" in answer, answer
    error: dict[str, Any] = answer["error"]
    return error


def test_deploy_call_fund_and_the_contract_queries(
    served: ServerThread, client: LedgerClient
) -> None:
    deployed = client.send_deploy(ALICE, COUNTER, cpu=5, disk=10**6, net=7, wait=False)
    assert client.get_contract(deployed.address) is None  # pending: not there yet
    deployed_at = included(served, client, deployed)
    (event,) = receipt_of(client, deployed).events
    assert event.kind == "contract_deployed" and event.attributes["address"] == deployed.address
    info = client.get_contract(deployed.address)
    assert isinstance(info, ContractInfo)
    rent = RECORD_OVERHEAD_BYTES + len(COUNTER)
    assert info.address == deployed.address
    assert info.code_hash == sha256(COUNTER) and info.code_size == len(COUNTER)
    assert info.entry_points == ("bump", "put")
    assert info.deployer == address_text(ALICE) and info.created == deployed_at
    assert (info.storage_keys, info.storage_bytes, info.rent_bytes) == (0, 0, rent)
    assert info.rent_per_block == rent and info.schedule is None and info.next_run == 0
    assert info.balances == {"cpu": 5, "disk": 10**6 - rent, "net": 7}
    assert info.blocks_left == (10**6 - rent) // rent
    # Two calls in one block; the receipt carries what bump returned.
    first = client.send_call(ALICE, deployed.address, "bump", gas_limit=50_000, wait=False)
    second = client.send_call(ALICE, deployed.address, "bump", gas_limit=50_000, wait=False)
    funded = client.send_fund(BOB, deployed.address, cpu=1, net=2, wait=False)
    called_at = included(served, client, first, second, funded)
    assert receipt_of(client, first).return_values == (1,)
    assert receipt_of(client, second).return_values == (2,)
    assert client.get_contract_storage(deployed.address, b"count") == bytes(31) + b"\x02"
    assert client.get_contract_storage(deployed.address, b"nothing") is None
    after = client.get_contract(deployed.address)
    assert after is not None and after.balances["cpu"] == 6 and after.balances["net"] == 9
    assert after.storage_keys == 1
    # Older states: before the deploy there was no contract; after it, no count.
    assert client.get_contract(deployed.address, deployed_at - 1) is None
    assert client.get_contract(deployed.address, deployed_at) == info
    assert client.get_contract_storage(deployed.address, b"count", deployed_at) is None
    assert client.get_contract_storage(deployed.address, b"count", called_at) == bytes(31) + b"\x02"
    # Contract transactions have a JSON body of their own.
    call_tx = client.get_transaction(first.hash)
    assert call_tx is not None and call_tx.kind == "call"
    assert call_tx.body == {
        "contract": deployed.address,
        "entry": "bump",
        "args": [],
        "gasLimit": "50000",
    }
    deploy_tx = client.get_transaction(deployed.hash)
    assert deploy_tx is not None and deploy_tx.body["codeHash"] == sha256(COUNTER).hex()
    assert deploy_tx.body["module"] == COUNTER.hex() and deploy_tx.body["schedule"] is None
    fund_tx = client.get_transaction(funded.hash)
    assert fund_tx is not None
    assert fund_tx.body == {"contract": deployed.address, "cpu": "1", "disk": "0", "net": "2"}


def test_storage_items_come_in_pages_in_key_order(
    served: ServerThread, client: LedgerClient
) -> None:
    deployed = client.send_deploy(ALICE, COUNTER, disk=10**8, wait=False)
    included(served, client, deployed)
    keys = [b"k%d" % i for i in (5, 1, 3, 0, 4, 2, 6)]
    puts = [
        client.send_call(ALICE, deployed.address, "put", (key, b"v" + key), wait=False)
        for key in keys
    ]
    included(served, client, *puts)
    pages, start = [], b""
    while True:
        page = client.get_contract_storage_items(deployed.address, start, limit=3)
        assert page.height == client.block_number() and page.address == deployed.address
        pages.append(page.items)
        if page.next is None:
            break
        start = page.next
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [item for p in pages for item in p] == [(k, b"v" + k) for k in sorted(keys)]
    middle = client.get_contract_storage_items(deployed.address, b"k3", 2)
    assert middle.items == ((b"k3", b"vk3"), (b"k4", b"vk4")) and middle.next == b"k5"
    assert client.get_contract_storage_items(deployed.address, b"k6\x00").items == ()
    nobody = client.get_contract_storage_items(MAILBOX_OWNER)
    assert nobody.items == () and nobody.next is None


def test_mail_through_the_relay_and_its_eviction(
    served: ServerThread, client: LedgerClient
) -> None:
    rent = RECORD_OVERHEAD_BYTES + len(RELAY)
    burned_before = client.get_burned_credits()
    assert set(burned_before) == {"cpu", "disk", "net"}
    deployed = client.send_deploy(
        ALICE,
        RELAY,
        cpu=10**7,
        disk=4 * rent,
        net=10**6,
        schedule=Schedule("tick", 2, 500_000),
        wait=False,
    )
    deployed_at = included(served, client, deployed)
    info = client.get_contract(deployed.address)
    assert info is not None and info.schedule is not None
    assert (info.schedule.entry, info.schedule.interval, info.schedule.gas) == ("tick", 2, 500_000)
    assert info.next_run == deployed_at + 2
    assert client.get_mailbox(MAILBOX_OWNER).messages == ()
    # Four letters fill a batch: the fourth send delivers all of them to Bob's mailbox.
    letters = [b"letter %d" % i for i in range(4)]
    sends = [
        client.send_call(
            ALICE,
            deployed.address,
            "send",
            (letter, address_of(BOB.public_key), 1_000),
            wait=False,
        )
        for letter in letters
    ]
    sent_at = included(served, client, *sends)
    assert [receipt_of(client, s).return_values for s in sends] == [(1,), (2,), (3,), (0,)]
    mailbox = client.get_mailbox(MAILBOX_OWNER)
    assert mailbox.address == MAILBOX_OWNER and mailbox.received == 4
    assert sorted(m.payload or b"" for m in mailbox.messages) == letters
    assert [m.sequence for m in mailbox.messages] == [0, 1, 2, 3]
    for message in mailbox.messages:
        assert message.sender == deployed.address and message.height == sent_at
        assert message.entry == "deliver" and message.args == (message.payload,)
    assert client.get_mailbox(MAILBOX_OWNER, deployed_at).received == 0
    # With disk for a few blocks of rent only, it is evicted at a block boundary.
    evicted = None
    for _ in range(8):
        served.produce()
        events = client.get_block_events()
        assert events is not None and events.height == client.block_number()
        evicted = next((e for e in events.events if e.kind == "contract_evicted"), None)
        if evicted is not None:
            break
    assert evicted is not None, "the relay outlived its disk credits"
    assert evicted.attributes["address"] == deployed.address
    assert evicted.attributes["beneficiary"] == address_text(ALICE)
    assert evicted.attributes["reason"] == "cannot pay rent"
    assert client.get_contract(deployed.address) is None
    assert client.get_contract(deployed.address, sent_at) is not None  # history stays
    burned = client.get_burned_credits()
    assert burned["disk"] >= burned_before["disk"] + 4 * rent - rent
    assert burned["cpu"] > burned_before["cpu"]
    assert client.get_burned_credits(0) == {"cpu": 0, "disk": 0, "net": 0}


def test_block_events_of_missing_blocks_are_null(
    served: ServerThread, client: LedgerClient
) -> None:
    assert client.get_block_events() is None  # height 0: no block yet
    served.produce()
    events = client.get_block_events(1)
    assert events is not None and events.height == 1
    # With no contracts: the validators' credit mints, and at block 1 the devnet
    # genesis's request for the validators' threshold key (ledger.features.threshold.ceremonies).
    kinds = {e.kind for e in events.events}
    assert events.events and kinds == {"mint", "threshold_ceremony_requested"}
    assert client.get_block_events(0) is None and client.get_block_events(99) is None


ADDRESS = "lg1398gg4r4ydzjhsp2tjjrzqlwszwm0pejyh86gw"


@pytest.mark.parametrize(
    ("method", "params", "param"),
    [
        ("ledger_getContract", [], "address"),
        ("ledger_getContract", ["lg1qqqq"], "address"),
        ("ledger_getContract", [ADDRESS, -1], "height"),
        ("ledger_getContract", [ADDRESS, "pending"], "height"),
        ("ledger_getContractStorage", [ADDRESS], "key"),
        ("ledger_getContractStorage", [ADDRESS, "zz"], "key"),
        ("ledger_getContractStorage", [ADDRESS, 5], "key"),
        ("ledger_getContractStorage", [ADDRESS, "00" * 65], "key"),
        ("ledger_getContractStorageItems", [ADDRESS, "0x0", 10], "start"),
        ("ledger_getContractStorageItems", [ADDRESS, "", 0], "limit"),
        ("ledger_getContractStorageItems", [ADDRESS, "", 257], "limit"),
        ("ledger_getContractStorageItems", [ADDRESS, "", "10"], "limit"),
        ("ledger_getContractStorageItems", [ADDRESS, "", True], "limit"),
        ("ledger_getMailbox", [42], "address"),
        ("ledger_getBurnedCredits", [1.5], "height"),
        ("ledger_getBlockEvents", ["0x01"], "height"),
    ],
)
def test_invalid_params(served: ServerThread, method: str, params: list[Any], param: str) -> None:
    before = served.snapshot()
    error = rpc_error(served, method, params)
    assert error["code"] == -32602 and param in error["message"], error
    assert served.snapshot() == before


def test_invalid_param_counts_and_names(served: ServerThread) -> None:
    assert rpc_error(served, "ledger_getBurnedCredits", [1, 2])["code"] == -32602
    assert rpc_error(served, "ledger_getMailbox", {"addr": ADDRESS})["code"] == -32602
    error = rpc_error(served, "ledger_getContractStorageItems", [ADDRESS, "", 10, "latest"])
    assert error["code"] == -32602  # the listing serves the latest state only
    with pytest.raises(InvalidParams):
        LedgerClient(served.url).get_contract_storage_items(ADDRESS, limit=1000)


def test_heights_above_the_tip_are_not_found(served: ServerThread) -> None:
    for method, params in [
        ("ledger_getContract", [ADDRESS, 5]),
        ("ledger_getContractStorage", [ADDRESS, "00", 5]),
        ("ledger_getMailbox", [ADDRESS, 5]),
        ("ledger_getBurnedCredits", [5]),
    ]:
        assert rpc_error(served, method, params)["code"] == -32001, method


def test_the_async_client_has_the_same_contract_api(served: ServerThread) -> None:
    async def scenario() -> tuple[ContractInfo | None, bytes | None, int, int]:
        async with AsyncLedgerClient(served.url) as client:
            deployed = await client.send_deploy(ALICE, COUNTER, disk=10**6, wait=False)
            await asyncio.to_thread(served.produce)
            called = await client.send_call(ALICE, deployed.address, "bump", wait=False)
            funded = await client.send_fund(ALICE, deployed.address, disk=10, wait=False)
            await asyncio.to_thread(served.produce)
            for sent in (deployed, called, funded):
                assert (await client.wait_for_receipt(sent.hash, timeout=5)).success
            page = await client.get_contract_storage_items(deployed.address)
            mailbox = await client.get_mailbox(deployed.address)
            events = await client.get_block_events(1)
            assert events is not None and (await client.get_burned_credits())["cpu"] > 0
            return (
                await client.get_contract(deployed.address),
                await client.get_contract_storage(deployed.address, b"count"),
                len(page.items),
                mailbox.received,
            )

    info, count, items, received = asyncio.run(scenario())
    assert info is not None and info.balance("disk") < 10**6
    assert (count, items, received) == ((1).to_bytes(32, "big"), 1, 0)


def test_devnet_accounts_pay_with_their_own_credits(
    served: ServerThread, client: LedgerClient
) -> None:
    """The deploy's credits and the call's gas come out of the sender's balances."""
    deployed = client.send_deploy(ALICE, COUNTER, cpu=100, disk=1_000, net=10, wait=False)
    included(served, client, deployed)
    account = client.get_account(address_text(ALICE))
    deploy_gas = 10_000 + 8 * len(COUNTER)
    assert account.balance("cpu") == DEVNET_CREDITS - deploy_gas - 100
    assert account.balance("disk") == DEVNET_CREDITS - 1_000
    assert account.balance("net") == DEVNET_CREDITS - 10
