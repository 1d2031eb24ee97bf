"""``LedgerClient``: a blocking client over one keep-alive HTTP connection (stdlib)."""

from __future__ import annotations

import http.client
import itertools
import threading
import time
import urllib.parse
from types import TracebackType
from typing import Any, TypeVar

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


class LedgerClient:
    """A blocking JSON-RPC client. Thread-safe (calls are serialized).

    Raises, from every call: an ``ledger.rpc_errors.RpcError`` subclass when
    the node answers with an error (e.g. ``BadNonceError``), ``TransportError``
    when it cannot be reached, ``ProtocolError`` for a malformed answer.
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"node URL must be http(s)://host:port, got {url!r}")
        self.url = url
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path or "/"
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._chain_id: str | None = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transport -----------------------------------------------------------
    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self._conn is not None:
            return self._conn, True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn, False

    def _post(self, body: bytes) -> tuple[int, bytes]:
        with self._lock:
            for attempt in (1, 2):
                conn, reused = self._connection()
                try:
                    conn.request("POST", self._path, body, _HEADERS)
                    response = conn.getresponse()
                    data = response.read()
                    if response.will_close:
                        conn.close()
                        self._conn = None
                    return response.status, data
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    conn.close()
                    self._conn = None
                    if reused and attempt == 1:
                        continue  # the server closed an idle keep-alive connection: retry once
                    raise TransportError(f"the node at {self.url} closed the connection") from None
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    self._conn = None
                    raise TransportError(f"cannot reach the node at {self.url}: {exc}") from None
            raise AssertionError("unreachable")

    def request(self, method: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """Call any method; returns the raw JSON result."""
        request_id = next(self._ids)
        body = calls.encode_request(request_id, method, params if params is not None else [])
        status, data = self._post(body)
        return calls.decode_response(status, data, request_id)

    def _call(self, call: Call[T]) -> T:
        return calls.run_parse(call, self.request(call.method, call.params))

    # -- the API ---------------------------------------------------------------
    def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = self._call(calls.chain_id())
        return self._chain_id

    def block_number(self) -> int:
        return self._call(calls.block_number())

    def get_balance(
        self, address: Address, asset: str = NATIVE_ASSET, height: Height = None
    ) -> int:
        return self._call(calls.get_balance(address, asset, height))

    def get_account(self, address: Address, height: Height = None) -> AccountInfo:
        return self._call(calls.get_account(address, height))

    def get_transaction_count(self, address: Address, height: Height = None) -> int:
        """The next nonce at ``height`` (None: latest; "pending": counting the mempool)."""
        return self._call(calls.get_transaction_count(address, height))

    def send_raw_transaction(self, raw: bytes) -> bytes:
        return self._call(calls.send_raw_transaction(raw))

    def submit_transaction(self, raw: bytes) -> Submission:
        """Like send_raw_transaction, and say whether it is queued behind a
        missing nonce and whether the node is catching up."""
        return self._call(calls.submit_transaction(raw))

    def get_transaction(self, tx_hash: bytes) -> TransactionInfo | None:
        return self._call(calls.get_transaction(tx_hash))

    def get_receipt(self, tx_hash: bytes) -> ReceiptInfo | None:
        """The receipt, or None while the transaction is pending (or unknown)."""
        return self._call(calls.get_receipt(tx_hash))

    def get_block(
        self, block: int | str | bytes | None = None, full: bool = False
    ) -> BlockInfo | None:
        """A block by height, hash (32 bytes) or "latest" (None); None if absent."""
        return self._call(calls.get_block(block, full))

    def status(self) -> StatusInfo:
        return self._call(calls.status())

    def validators(self, height: Height = None) -> ValidatorSet:
        return self._call(calls.validators(height))

    def get_proof(self, address: Address, height: Height = None) -> AccountProof:
        return self._call(calls.get_proof(address, height))

    def mempool_info(self) -> MempoolStatus:
        return self._call(calls.mempool_info())

    def get_params(self) -> ChainParams:
        return self._call(calls.get_params())

    def get_contract(self, address: Address, height: Height = None) -> ContractInfo | None:
        """The contract at ``address``; None if there is none (never deployed, or evicted)."""
        return self._call(calls.get_contract(address, height))

    def get_contract_storage(
        self, address: Address, key: bytes, height: Height = None
    ) -> bytes | None:
        """The value a contract stores at ``key``, or None."""
        return self._call(calls.get_contract_storage(address, key, height))

    def get_contract_storage_items(
        self, address: Address, start: bytes = b"", limit: int = 100
    ) -> StoragePage:
        """Up to ``limit`` (1..256) storage entries with key >= ``start``, in
        key order, from the latest state; ``page.next`` starts the next page."""
        return self._call(calls.get_contract_storage_items(address, start, limit))

    def get_mailbox(self, address: Address, height: Height = None) -> Mailbox:
        """The newest 64 messages delivered to ``address``, oldest first."""
        return self._call(calls.get_mailbox(address, height))

    def get_burned_credits(self, height: Height = None) -> dict[str, int]:
        """The cpu, disk and net credits contracts have burned since genesis."""
        return self._call(calls.get_burned_credits(height))

    def get_block_events(self, height: Height = None) -> BlockEvents | None:
        """The end-of-block events of block ``height`` (scheduled runs, evictions)."""
        return self._call(calls.get_block_events(height))

    def get_threshold_key(self, height: Height = None) -> ThresholdKey | None:
        """The validators' threshold key (None before the first DKG completes)."""
        return self._call(calls.get_threshold_key(height))

    def get_ceremonies(self, height: Height = None) -> Ceremonies:
        """Pending and recently finished threshold ceremonies."""
        return self._call(calls.get_ceremonies(height))

    def get_mail_status(self, height: Height = None) -> MailStatusInfo | None:
        """The anonymous mail mix (None on a chain without mail)."""
        return self._call(mail_calls.get_mail_status(height))

    def get_mail_batch(self, batch_id: int, height: Height = None) -> MailBatchInfo | None:
        """One batch of the mix, or None."""
        return self._call(mail_calls.get_mail_batch(batch_id, height))

    def get_mail_letters(
        self, address: Address, start: int = 0, limit: int = 100, height: Height = None
    ) -> MailLetters:
        """A page of the sealed letters delivered to ``address``."""
        return self._call(mail_calls.get_mail_letters(address, start, limit, height))

    def find_public_key(self, address: Address) -> bytes | None:
        """The public key of ``address`` from the transactions it sent, if any."""
        return self._call(mail_calls.find_public_key(address))

    def wait_for_receipt(
        self, tx_hash: bytes, timeout: float = 30.0, poll_interval: float = 0.2
    ) -> ReceiptInfo:
        """Poll until the transaction's receipt exists. Raises ReceiptTimeout."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.get_receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(f"no receipt for {tx_hash.hex()} after {timeout} s")
            time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    def send_transaction(
        self, tx: Transaction, wait: bool = True, timeout: float = 30.0
    ) -> SentTransaction:
        """Submit a signed transaction; with ``wait``, return with its receipt."""
        try:
            tx_hash = self.send_raw_transaction(tx.encode())
        except AlreadyKnownError:
            tx_hash = tx.hash  # a retried submission that had already arrived
        receipt = self.wait_for_receipt(tx_hash, timeout) if wait else None
        return SentTransaction(tx_hash, receipt)

    def send_transfer(
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
        """Sign and send a transfer from ``key``'s account. The fee defaults to
        the chain's minimum, the nonce to the next one counting pending
        transactions."""
        if fee is None:
            fee = self.get_params().min_fee
        if nonce is None:
            nonce = self.get_transaction_count(calls.sender_address(key), "pending")
        tx = calls.sign_transfer(key, self.chain_id(), nonce, to, amount, asset, fee)
        return self.send_transaction(tx, wait, timeout)

    def _fee_and_nonce(
        self, key: SigningKey, fee: int | None, nonce: int | None
    ) -> tuple[int, int]:
        if fee is None:
            fee = (self.get_params()).min_fee
        if nonce is None:
            nonce = self.get_transaction_count(calls.sender_address(key), "pending")
        return fee, nonce

    def send_deploy(
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
        fee, nonce = self._fee_and_nonce(key, fee, nonce)
        chain = self.chain_id()
        tx = calls.sign_deploy(key, chain, nonce, module, cpu, disk, net, salt, schedule, fee)
        sent = self.send_transaction(tx, wait, timeout)
        return SentDeploy(sent.hash, sent.receipt, calls.deployed_address(key, nonce, salt))

    def send_call(
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
        fee, nonce = self._fee_and_nonce(key, fee, nonce)
        chain = self.chain_id()
        tx = calls.sign_call(key, chain, nonce, contract, entry, args, gas_limit, fee)
        return self.send_transaction(tx, wait, timeout)

    def send_fund(
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
        fee, nonce = self._fee_and_nonce(key, fee, nonce)
        chain = self.chain_id()
        tx = calls.sign_fund(key, chain, nonce, contract, cpu, disk, net, fee)
        return self.send_transaction(tx, wait, timeout)

    # -- the mint ----------------------------------------------------------------------
    def get_mint(self, height: Height = None) -> MintInfo | None:
        """The mint's settings, books and reserve; None on a chain without a mint."""
        return self._call(mint_calls.get_mint(height))

    def get_mint_keys(
        self, keyset_id: str | None = None, height: Height = None
    ) -> tuple[MintKeys, ...]:
        """The public keys of every redeemable keyset, or of one (NUT-01)."""
        return self._call(mint_calls.get_mint_keys(keyset_id, height))

    def get_mint_keysets(self, height: Height = None) -> tuple[MintKeysetInfo, ...]:
        """Every keyset, oldest first (NUT-02)."""
        return self._call(mint_calls.get_mint_keysets(height))

    def check_note_states(self, ys: list[bytes]) -> dict[bytes, str]:
        """NUT-07: UNSPENT, PENDING or SPENT for each Y (1-1000 of them)."""
        return self._call(mint_calls.check_note_states(ys))

    def get_mint_issue(self, request_id: int, height: Height = None) -> MintIssue | None:
        """An issuance request and, once issued, its blind signatures."""
        return self._call(mint_calls.get_mint_issue(request_id, height))

    def get_mint_redemption(
        self, commitment_id: int, height: Height = None
    ) -> MintRedemption | None:
        """A redemption commitment."""
        return self._call(mint_calls.get_mint_redemption(commitment_id, height))

    # -- assets, barter, policy accounts, governance ---------------------------------
    def get_asset(self, asset: str, height: Height = None) -> AssetInfo | None:
        """An asset's registry record; None for an unknown asset id."""
        return self._call(asset_calls.get_asset(asset, height))

    def get_asset_holders(
        self, asset: str, start: Address | None = None, limit: int = 100
    ) -> AssetHolders:
        """One page of the accounts holding ``asset`` (committed state), in
        address order from ``start``; continue from ``.next`` until it is None."""
        return self._call(asset_calls.get_asset_holders(asset, start, limit))

    def get_offers(self, address: Address, height: Height = None) -> tuple[OfferInfo, ...]:
        """The open offers made by ``address``, by id."""
        return self._call(asset_calls.get_offers(address, height))

    def get_offer(self, offer_id: int, height: Height = None) -> OfferInfo | None:
        """One open offer; None if it was never made or is closed."""
        return self._call(asset_calls.get_offer(offer_id, height))

    def get_order_book(
        self, sell_asset: str, buy_asset: str, depth: int = 50, height: Height = None
    ) -> OrderBook:
        """Up to ``depth`` (1-512) offers selling ``sell_asset`` for ``buy_asset``, best first."""
        return self._call(asset_calls.get_order_book(sell_asset, buy_asset, depth, height))

    def get_policy(self, address: Address, height: Height = None) -> PolicyInfo | None:
        """The policy account at ``address``; None if it is not one."""
        return self._call(asset_calls.get_policy(address, height))

    def get_pending_proposals(
        self, policy: Address, height: Height = None
    ) -> tuple[ProposalInfo, ...]:
        """A policy account's pending proposals, by id, with their decoded actions."""
        return self._call(asset_calls.get_pending_proposals(policy, height))

    def get_governance(self, height: Height = None) -> GovernanceInfo:
        """The governance policy, its pending proposals and the validator schedule."""
        return self._call(asset_calls.get_governance(height))

    def send_body(
        self,
        key: SigningKey,
        body: Body,
        fee: int | None = None,
        nonce: int | None = None,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> SentTransaction:
        """Sign and send a transaction carrying ``body`` (built with
        ledger.client.asset_transactions) from the account of ``key``. The fee
        defaults to the chain's minimum, the nonce to the next one counting
        pending transactions; with ``wait``, it returns with the receipt."""
        if fee is None:
            fee = (self.get_params()).min_fee
        if nonce is None:
            nonce = self.get_transaction_count(calls.sender_address(key), "pending")
        tx = sign_body(key, self.chain_id(), nonce, fee, body)
        return self.send_transaction(tx, wait, timeout)
