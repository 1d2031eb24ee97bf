"""``AsyncLedgerClient``: the same API as LedgerClient, over aiohttp."""

from __future__ import annotations

import asyncio
import itertools
import time
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from ledger.crypto import SigningKey
from ledger.features.contracts.bodies import Schedule
from ledger.rpc_errors import AlreadyKnownError
from ledger.types import NATIVE_ASSET, Body, Transaction
from vm.values import Value

from . import asset_calls, calls, mail_calls, mint_calls
from .asset_results import (
    AssetHolders,
    AssetInfo,
    GovernanceInfo,
    OfferInfo,
    OrderBook,
    PolicyInfo,
    ProposalInfo,
)
from .asset_transactions import sign_body
from .calls import DEFAULT_URL, Address, Call, Height
from .mail_results import MailBatchInfo, MailLetters, MailStatusInfo
from .mint_results import MintInfo, MintIssue, MintKeys, MintKeysetInfo, MintRedemption
from .results import (
    AccountInfo,
    AccountProof,
    BlockEvents,
    BlockInfo,
    Ceremonies,
    ChainParams,
    ContractInfo,
    Mailbox,
    MempoolStatus,
    ReceiptInfo,
    ReceiptTimeout,
    SentDeploy,
    SentTransaction,
    StatusInfo,
    StoragePage,
    Submission,
    ThresholdKey,
    TransactionInfo,
    TransportError,
    ValidatorSet,
)

T = TypeVar("T")
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class AsyncLedgerClient:
    """An asyncio JSON-RPC client over a pooled aiohttp session (keep-alive).

    Use ``async with AsyncLedgerClient(url) as client:`` or call ``close()``.
    Raises like LedgerClient.
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 10.0, connections: int = 8):
        self.url = url
        self.timeout = timeout
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._chain_id: str | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AsyncLedgerClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def request(self, method: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """Call any method; returns the raw JSON result."""
        request_id = next(self._ids)
        body = calls.encode_request(request_id, method, params if params is not None else [])
        try:
            async with self._get_session().post(self.url, data=body, headers=_HEADERS) as response:
                data = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransportError(f"cannot reach the node at {self.url}: {exc!r}") from None
        return calls.decode_response(status, data, request_id)

    async def _call(self, call: Call[T]) -> T:
        return calls.run_parse(call, await self.request(call.method, call.params))

    # -- the API (see LedgerClient for the documentation) -----------------------
    async def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = await self._call(calls.chain_id())
        return self._chain_id

    async def block_number(self) -> int:
        return await self._call(calls.block_number())

    async def get_balance(
        self, address: Address, asset: str = NATIVE_ASSET, height: Height = None
    ) -> int:
        return await self._call(calls.get_balance(address, asset, height))

    async def get_account(self, address: Address, height: Height = None) -> AccountInfo:
        return await self._call(calls.get_account(address, height))

    async def get_transaction_count(self, address: Address, height: Height = None) -> int:
        return await self._call(calls.get_transaction_count(address, height))

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        return await self._call(calls.send_raw_transaction(raw))

    async def submit_transaction(self, raw: bytes) -> Submission:
        """Like send_raw_transaction, and say whether it is queued behind a
        missing nonce and whether the node is catching up."""
        return await self._call(calls.submit_transaction(raw))

    async def get_transaction(self, tx_hash: bytes) -> TransactionInfo | None:
        return await self._call(calls.get_transaction(tx_hash))

    async def get_receipt(self, tx_hash: bytes) -> ReceiptInfo | None:
        return await self._call(calls.get_receipt(tx_hash))

    async def get_block(
        self, block: int | str | bytes | None = None, full: bool = False
    ) -> BlockInfo | None:
        return await self._call(calls.get_block(block, full))

    async def status(self) -> StatusInfo:
        return await self._call(calls.status())

    async def validators(self, height: Height = None) -> ValidatorSet:
        return await self._call(calls.validators(height))

    async def get_proof(self, address: Address, height: Height = None) -> AccountProof:
        return await self._call(calls.get_proof(address, height))

    async def mempool_info(self) -> MempoolStatus:
        return await self._call(calls.mempool_info())

    async def get_params(self) -> ChainParams:
        return await self._call(calls.get_params())

    async def get_contract(self, address: Address, height: Height = None) -> ContractInfo | None:
        return await self._call(calls.get_contract(address, height))

    async def get_contract_storage(
        self, address: Address, key: bytes, height: Height = None
    ) -> bytes | None:
        return await self._call(calls.get_contract_storage(address, key, height))

    async def get_contract_storage_items(
        self, address: Address, start: bytes = b"", limit: int = 100
    ) -> StoragePage:
        return await self._call(calls.get_contract_storage_items(address, start, limit))

    async def get_mailbox(self, address: Address, height: Height = None) -> Mailbox:
        return await self._call(calls.get_mailbox(address, height))

    async def get_burned_credits(self, height: Height = None) -> dict[str, int]:
        return await self._call(calls.get_burned_credits(height))

    async def get_block_events(self, height: Height = None) -> BlockEvents | None:
        return await self._call(calls.get_block_events(height))

    async def get_threshold_key(self, height: Height = None) -> ThresholdKey | None:
        """The validators' threshold key (None before the first DKG completes)."""
        return await self._call(calls.get_threshold_key(height))

    async def get_ceremonies(self, height: Height = None) -> Ceremonies:
        """Pending and recently finished threshold ceremonies."""
        return await self._call(calls.get_ceremonies(height))

    async def get_mail_status(self, height: Height = None) -> MailStatusInfo | None:
        """The anonymous mail mix (None on a chain without mail)."""
        return await self._call(mail_calls.get_mail_status(height))

    async def get_mail_batch(self, batch_id: int, height: Height = None) -> MailBatchInfo | None:
        """One batch of the mix, or None."""
        return await self._call(mail_calls.get_mail_batch(batch_id, height))

    async def get_mail_letters(
        self, address: Address, start: int = 0, limit: int = 100, height: Height = None
    ) -> MailLetters:
        """A page of the sealed letters delivered to ``address``."""
        return await self._call(mail_calls.get_mail_letters(address, start, limit, height))

    async def find_public_key(self, address: Address) -> bytes | None:
        """The public key of ``address`` from the transactions it sent, if any."""
        return await self._call(mail_calls.find_public_key(address))

    async def wait_for_receipt(
        self, tx_hash: bytes, timeout: float = 30.0, poll_interval: float = 0.2
    ) -> ReceiptInfo:
        deadline = time.monotonic() + timeout
        while True:
            receipt = await self.get_receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(f"no receipt for {tx_hash.hex()} after {timeout} s")
            await asyncio.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    async def send_transaction(
        self, tx: Transaction, wait: bool = True, timeout: float = 30.0
    ) -> SentTransaction:
        try:
            tx_hash = await self.send_raw_transaction(tx.encode())
        except AlreadyKnownError:
            tx_hash = tx.hash
        receipt = await self.wait_for_receipt(tx_hash, timeout) if wait else None
        return SentTransaction(tx_hash, receipt)

    async def send_transfer(
        self,
        key: SigningKey,
        to: Address,
        amount: int,
        asset: str = NATIVE_ASSET,
        fee: int | None = None,
        nonce: int | None = None,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> SentTransaction:
        if fee is None:
            fee = (await self.get_params()).min_fee
        if nonce is None:
            nonce = await self.get_transaction_count(calls.sender_address(key), "pending")
        tx = calls.sign_transfer(key, await self.chain_id(), nonce, to, amount, asset, fee)
        return await self.send_transaction(tx, wait, timeout)

    async def _fee_and_nonce(
        self, key: SigningKey, fee: int | None, nonce: int | None
    ) -> tuple[int, int]:
        if fee is None:
            fee = (await self.get_params()).min_fee
        if nonce is None:
            nonce = await self.get_transaction_count(calls.sender_address(key), "pending")
        return fee, nonce

    async def send_deploy(
        self,
        key: SigningKey,
        module: bytes,
        cpu: int = 0,
        disk: int = 0,
        net: int = 0,
        salt: bytes = b"",
        schedule: Schedule | None = None,
        fee: int | None = None,
        nonce: int | None = None,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> SentDeploy:
        """Sign and send a deploy of ``module`` (encoded module bytes) with
        these credits; the result carries the new contract's address. Fee
        and nonce default as for send_transfer."""
        fee, nonce = await self._fee_and_nonce(key, fee, nonce)
        chain = await self.chain_id()
        tx = calls.sign_deploy(key, chain, nonce, module, cpu, disk, net, salt, schedule, fee)
        sent = await self.send_transaction(tx, wait, timeout)
        return SentDeploy(sent.hash, sent.receipt, calls.deployed_address(key, nonce, salt))

    async def send_call(
        self,
        key: SigningKey,
        contract: Address,
        entry: str,
        args: tuple[Value, ...] = (),
        gas_limit: int = 1_000_000,
        fee: int | None = None,
        nonce: int | None = None,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> SentTransaction:
        """Sign and send a call of ``entry(args)``; the receipt's
        ``return_values`` hold what it returned."""
        fee, nonce = await self._fee_and_nonce(key, fee, nonce)
        chain = await self.chain_id()
        tx = calls.sign_call(key, chain, nonce, contract, entry, args, gas_limit, fee)
        return await self.send_transaction(tx, wait, timeout)

    async def send_fund(
        self,
        key: SigningKey,
        contract: Address,
        cpu: int = 0,
        disk: int = 0,
        net: int = 0,
        fee: int | None = None,
        nonce: int | None = None,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> SentTransaction:
        """Sign and send credits to a live contract."""
        fee, nonce = await self._fee_and_nonce(key, fee, nonce)
        chain = await self.chain_id()
        tx = calls.sign_fund(key, chain, nonce, contract, cpu, disk, net, fee)
        return await self.send_transaction(tx, wait, timeout)

    # -- the mint ----------------------------------------------------------------------
    async def get_mint(self, height: Height = None) -> MintInfo | None:
        """The mint's settings, books and reserve; None on a chain without a mint."""
        return await self._call(mint_calls.get_mint(height))

    async def get_mint_keys(
        self, keyset_id: str | None = None, height: Height = None
    ) -> tuple[MintKeys, ...]:
        """The public keys of every redeemable keyset, or of one (NUT-01)."""
        return await self._call(mint_calls.get_mint_keys(keyset_id, height))

    async def get_mint_keysets(self, height: Height = None) -> tuple[MintKeysetInfo, ...]:
        """Every keyset, oldest first (NUT-02)."""
        return await self._call(mint_calls.get_mint_keysets(height))

    async def check_note_states(self, ys: list[bytes]) -> dict[bytes, str]:
        """NUT-07: UNSPENT, PENDING or SPENT for each Y (1-1000 of them)."""
        return await self._call(mint_calls.check_note_states(ys))

    async def get_mint_issue(self, request_id: int, height: Height = None) -> MintIssue | None:
        """An issuance request and, once issued, its blind signatures."""
        return await self._call(mint_calls.get_mint_issue(request_id, height))

    async def get_mint_redemption(
        self, commitment_id: int, height: Height = None
    ) -> MintRedemption | None:
        """A redemption commitment."""
        return await self._call(mint_calls.get_mint_redemption(commitment_id, height))

    # -- assets, barter, policy accounts, governance ---------------------------------
    async def get_asset(self, asset: str, height: Height = None) -> AssetInfo | None:
        return await self._call(asset_calls.get_asset(asset, height))

    async def get_asset_holders(
        self, asset: str, start: Address | None = None, limit: int = 100
    ) -> AssetHolders:
        return await self._call(asset_calls.get_asset_holders(asset, start, limit))

    async def get_offers(self, address: Address, height: Height = None) -> tuple[OfferInfo, ...]:
        return await self._call(asset_calls.get_offers(address, height))

    async def get_offer(self, offer_id: int, height: Height = None) -> OfferInfo | None:
        return await self._call(asset_calls.get_offer(offer_id, height))

    async def get_order_book(
        self, sell_asset: str, buy_asset: str, depth: int = 50, height: Height = None
    ) -> OrderBook:
        return await self._call(asset_calls.get_order_book(sell_asset, buy_asset, depth, height))

    async def get_policy(self, address: Address, height: Height = None) -> PolicyInfo | None:
        return await self._call(asset_calls.get_policy(address, height))

    async def get_pending_proposals(
        self, policy: Address, height: Height = None
    ) -> tuple[ProposalInfo, ...]:
        return await self._call(asset_calls.get_pending_proposals(policy, height))

    async def get_governance(self, height: Height = None) -> GovernanceInfo:
        return await self._call(asset_calls.get_governance(height))

    async def send_body(
        self,
        key: SigningKey,
        body: Body,
        fee: int | None = None,
        nonce: int | None = None,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> SentTransaction:
        if fee is None:
            fee = (await self.get_params()).min_fee
        if nonce is None:
            nonce = await self.get_transaction_count(calls.sender_address(key), "pending")
        tx = sign_body(key, await self.chain_id(), nonce, fee, body)
        return await self.send_transaction(tx, wait, timeout)
