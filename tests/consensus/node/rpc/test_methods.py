"""Every ledger_* method through the sync client, checked against the chain."""

from __future__ import annotations

import asyncio

import pytest

from ledger.address import address_of
from ledger.client import (
    AlreadyKnownError,
    AsyncLedgerClient,
    BadNonceError,
    BadSignatureError,
    BlockNotFound,
    CannotPayFeeError,
    FeeTooLowError,
    InvalidParams,
    LedgerClient,
    MalformedTransactionError,
    MempoolFullError,
    MethodNotFound,
    TransportError,
    WrongChainIdError,
)
from ledger.client.devnet import DEVNET_BALANCE, DEVNET_CREDITS
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.state import account_key, tree_key
from ledger.state_tree import decode_proof, verify_proof
from ledger.types import Transaction

from .conftest import ALICE, BOB, FEE, address_text, transfer
from .server_thread import ServerThread


@pytest.fixture
def client(served: ServerThread) -> LedgerClient:
    return LedgerClient(served.url)


def test_chain_id_and_block_number(served: ServerThread, client: LedgerClient) -> None:
    assert client.chain_id() == "ledger-devnet-1"
    assert client.block_number() == 0
    served.produce()
    assert client.block_number() == 1


def test_balance_account_and_nonce(served: ServerThread, client: LedgerClient) -> None:
    alice = address_text(ALICE)
    assert client.get_balance(alice) == DEVNET_BALANCE
    assert client.get_balance(alice, "cpu") == DEVNET_CREDITS
    assert client.get_balance(alice, "unknown-asset") == 0
    account = client.get_account(alice)
    assert account.nonce == 0
    assert account.balances == {
        "coin": DEVNET_BALANCE,
        "cpu": DEVNET_CREDITS,
        "disk": DEVNET_CREDITS,
        "net": DEVNET_CREDITS,
    }
    nobody = address_text(SigningKey(bytes(31) + b"\x07"))
    assert client.get_account(nobody).balances == {}
    assert client.get_transaction_count(nobody) == 0


def test_transfer_lifecycle(served: ServerThread, client: LedgerClient) -> None:
    alice, bob = address_text(ALICE), address_text(BOB)
    tx = transfer(ALICE, BOB, 5_000, nonce=0)
    tx_hash = client.send_raw_transaction(tx.encode())
    assert tx_hash == tx.hash
    # Pending: known transaction, no receipt, pending nonce advanced, state unchanged.
    pending = client.get_transaction(tx_hash)
    assert pending is not None and pending.pending
    assert pending.body == {"asset": "coin", "amount": "5000", "recipient": bob}
    assert client.get_receipt(tx_hash) is None
    assert client.get_transaction_count(alice) == 0
    assert client.get_transaction_count(alice, "pending") == 1
    assert client.mempool_info().size == 1
    # A second queued transaction with the next nonce is accepted.
    second = transfer(ALICE, BOB, 1, nonce=1)
    client.send_raw_transaction(second.encode())
    served.produce()
    receipt = client.get_receipt(tx_hash)
    assert receipt is not None and receipt.success
    assert (receipt.block_height, receipt.index, receipt.fee_charged) == (1, 0, FEE)
    attributes = receipt.events[0].attributes
    assert attributes == {"amount": "5000", "asset": "coin", "from": alice, "to": bob}
    committed = client.get_transaction(tx_hash)
    assert committed is not None and (committed.block_height, committed.index) == (1, 0)
    assert client.get_balance(bob) == DEVNET_BALANCE + 5_001
    assert client.get_balance(alice) == DEVNET_BALANCE - 5_001 - 2 * FEE
    assert client.get_transaction_count(alice) == 2
    assert client.mempool_info().size == 0
    # History: the state at height 0 is the genesis state.
    assert client.get_balance(bob, height=0) == DEVNET_BALANCE
    assert client.get_account(alice, height=0).nonce == 0
    assert client.get_transaction_count(alice, 0) == 0
    with pytest.raises(BlockNotFound):
        client.get_balance(bob, height=2)


def test_failed_transfer_has_a_failure_receipt(served: ServerThread, client: LedgerClient) -> None:
    tx = transfer(ALICE, BOB, 5, nonce=0, asset="gold")  # alice holds no gold
    client.send_raw_transaction(tx.encode())
    served.produce()
    receipt = client.get_receipt(tx.hash)
    assert receipt is not None
    assert receipt.status == 2 and not receipt.success and receipt.error


def test_rejections_have_typed_errors(served: ServerThread, client: LedgerClient) -> None:
    good = transfer(ALICE, BOB, 1, nonce=0)
    cases: list[tuple[bytes, type[Exception]]] = [
        (b"\x00\x01", MalformedTransactionError),
        (transfer(ALICE, BOB, 1, nonce=0, chain_id="other-chain").encode(), WrongChainIdError),
        (_with_signature(good, bytes(64)), BadSignatureError),
        (transfer(ALICE, BOB, 1, nonce=7).encode(), BadNonceError),
        (transfer(ALICE, BOB, 1, nonce=0, fee=1).encode(), FeeTooLowError),
        (transfer(SigningKey(bytes(31) + b"\x09"), BOB, 1, nonce=0).encode(), CannotPayFeeError),
    ]
    before = served.snapshot()
    for raw, error in cases:
        with pytest.raises(error) as caught:
            client.send_raw_transaction(raw)
        assert caught.value.data["txCode"] == caught.value.tx_code  # type: ignore[attr-defined]
    assert served.snapshot() == before
    client.send_raw_transaction(good.encode())
    with pytest.raises(AlreadyKnownError):
        client.send_raw_transaction(good.encode())
    served.produce()
    with pytest.raises(AlreadyKnownError):
        client.send_raw_transaction(good.encode())


def test_mempool_full(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerThread(tmp_path, max_mempool_txs=1)
    try:
        client = LedgerClient(server.url)
        client.send_raw_transaction(transfer(ALICE, BOB, 1, nonce=0).encode())
        with pytest.raises(MempoolFullError) as caught:
            client.send_raw_transaction(transfer(BOB, ALICE, 1, nonce=0).encode())
        assert caught.value.code == -32060
    finally:
        server.close()


def _with_signature(tx: Transaction, signature: bytes) -> bytes:
    return Transaction(tx.chain_id, tx.sender, tx.nonce, tx.fee, tx.body, signature).encode()


def test_blocks_by_number_and_hash(served: ServerThread, client: LedgerClient) -> None:
    assert client.get_block(1) is None
    assert client.get_block() is None  # latest is height 0: no block
    tx = transfer(ALICE, BOB, 3, nonce=0)
    client.send_raw_transaction(tx.encode())
    event = served.produce()
    block = client.get_block(1)
    assert block is not None
    assert block.hash == event.block.hash
    assert block.transaction_hashes == (tx.hash,)
    assert block.transactions == ()
    assert block.state_root == served.chain.tip.state_root
    full = client.get_block(event.block.hash, full=True)
    assert full is not None and full.transactions[0].hash == tx.hash
    assert full.transactions[0].block_height == 1
    latest = client.get_block("latest")
    assert latest is not None and latest.height == 1
    assert client.get_block(bytes(32)) is None
    assert client.get_block(99) is None


def test_status_validators_params(served: ServerThread, client: LedgerClient) -> None:
    status = client.status()
    assert status.mode == "single-node"
    assert status.peers == 0 and not status.catching_up
    assert status.genesis_hash == served.genesis.hash
    assert status.validator_address == address_text_of(served.genesis.validators[0].public_key)
    validators = client.validators()
    assert validators.height == 1
    assert validators.total_power == 40
    assert {v.name for v in validators.validators} == {"val-0", "val-1", "val-2", "val-3"}
    served.produce()
    assert client.validators(1).validators == validators.validators
    with pytest.raises(BlockNotFound):
        client.validators(5)
    assert client.get_params().min_fee == 1000


def address_text_of(public_key: bytes) -> str:
    from ledger.address import encode_address

    return encode_address(address_of(public_key))


def test_proof_verifies_against_the_block_state_root(
    served: ServerThread, client: LedgerClient
) -> None:
    client.send_raw_transaction(transfer(ALICE, BOB, 10, nonce=0).encode())
    served.produce()
    bob = address_text(BOB)
    proof = client.get_proof(bob)
    block = client.get_block(proof.height)
    assert block is not None and block.state_root == proof.state_root
    assert proof.account is not None and proof.account.balance() == DEVNET_BALANCE + 10
    # Verify with nothing but the state tree module and the documented key rule.
    key = tree_key(account_key(address_of(BOB.public_key)))
    assert proof.key == key
    assert verify_proof(block.state_root, key, proof.value, decode_proof(proof.proof))
    assert proof.verify()
    assert not proof.verify(bytes(32))
    # Absence proof, and a proof at an older height.
    nobody = address_text(SigningKey(bytes(31) + b"\x05"))
    absent = client.get_proof(nobody)
    assert absent.value is None and absent.verify()
    old = client.get_proof(bob, 0)
    assert old.block_hash is None and old.verify()
    assert old.account is not None and old.account.balance() == DEVNET_BALANCE


def test_discover_lists_methods(client: LedgerClient) -> None:
    document = client.request("rpc.discover")
    assert document["openrpc"].startswith("1.")
    assert "ledger_getBalance" in {m["name"] for m in document["methods"]}


def test_client_errors(served: ServerThread, client: LedgerClient) -> None:
    with pytest.raises(MethodNotFound):
        client.request("ledger_nope")
    with pytest.raises(InvalidParams):
        client.request("ledger_getBlockByHash", ["00"])
    with pytest.raises(TransportError):
        LedgerClient("http://127.0.0.1:9", timeout=2).block_number()


def test_client_send_transfer_waits_for_receipt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerThread(tmp_path, block_interval=0.05)
    try:
        with LedgerClient(server.url) as client:
            first = client.send_transfer(ALICE, address_text(BOB), 77, wait=False)
            second = client.send_transfer(ALICE, address_of(BOB.public_key), 23)
            assert second.receipt is not None and second.receipt.success
            receipt = client.wait_for_receipt(first.hash, timeout=10)
            assert receipt.success
            assert client.get_balance(address_text(BOB)) == DEVNET_BALANCE + 100
    finally:
        server.close()


def test_async_client(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerThread(tmp_path, block_interval=0.05)

    async def scenario() -> None:
        async with AsyncLedgerClient(server.url) as client:
            assert await client.chain_id() == "ledger-devnet-1"
            sent = await client.send_transfer(BOB, address_text(ALICE), 5, timeout=10)
            assert sent.receipt is not None and sent.receipt.success
            heights = await asyncio.gather(*(client.block_number() for _ in range(20)))
            assert min(heights) >= sent.receipt.block_height
            assert (await client.get_account(address_text(BOB))).nonce == 1
            with pytest.raises(BadNonceError):
                await client.send_transfer(BOB, address_text(ALICE), 6, nonce=0, wait=False)

    try:
        asyncio.run(scenario())
    finally:
        server.close()


def test_unknown_body_kind_is_malformed(served: ServerThread, client: LedgerClient) -> None:
    tx = transfer(ALICE, BOB, 1, nonce=0)
    raw = bytearray(tx.encode())
    # The body [1, "coin", amount, recipient] starts 0x94 0x01 0xa4 "coin": make the kind 99.
    index = raw.index(bytes([0x94, 0x01, 0xA4]) + b"coin")
    raw[index + 1] = 99
    with pytest.raises(MalformedTransactionError):
        client.send_raw_transaction(bytes(raw))
    assert isinstance(tx.body, Transfer)
