"""The ``ledger_*`` methods: queries of the committed chain, submission to the mempool.

Each method is a small function of already-parsed parameters returning a
JSON-ready value. ``LedgerMethods.table()`` lists them with their declared
parameters; docs/rpc/openrpc.json describes the same list (a test keeps the
two equal) and docs/spec/rpc.md explains each one.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

from consensus.node.rpc.mint_queries import MintQueries
from ledger.address import encode_address
from ledger.features.contracts import rpc_json as contract_forms
from ledger.features.contracts.execution import (
    burned_credits,
    contract_info,
    contract_storage,
    contract_storage_page,
    mailbox,
    mailbox_received,
)
from ledger.features.threshold import rpc_json as threshold_forms
from ledger.features.threshold.ceremonies import (
    threshold_ceremonies,
    threshold_enabled,
    threshold_group,
)
from ledger.pruning import HeightPruned
from ledger.rpc_errors import BlockNotFound, InternalError
from ledger.state import Account, State, StateReader, account_key, decode_account, tree_key
from ledger.state_tree import encode_proof
from ledger.transition import read_params
from ledger.types import NATIVE_ASSET, Block

from . import json_format as jf
from .asset_queries import AssetQueries
from .dispatch import Method, Param
from .listing_queries import ListingQueries
from .mail_queries import MailQueries
from .node_view import NodeView, TreeStateReader

OPENRPC_PATH: Final = Path(__file__).resolve().parents[3] / "docs" / "rpc" / "openrpc.json"
BLOCK_CACHE_SIZE: Final = 128
ACCOUNT_CACHE_SIZE: Final = 4096


def load_openrpc_document(path: Path = OPENRPC_PATH) -> dict[str, Any]:
    """The OpenRPC document served by rpc.discover. Raises OSError, ValueError."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def account_json(address: bytes, account: Account) -> dict[str, Any]:
    return {
        "address": encode_address(address),
        "nonce": str(account.nonce),
        "balances": {asset: str(amount) for asset, amount in account.balances},
    }


class LedgerMethods:
    """The method handlers over one node."""

    def __init__(self, node: NodeView, openrpc: dict[str, Any] | None = None) -> None:
        self.node = node
        self._openrpc = openrpc
        self._blocks: OrderedDict[int, Block] = OrderedDict()
        self._accounts: OrderedDict[bytes, Account] = OrderedDict()

    def table(self) -> dict[str, Method]:
        """Every method by name, with its parameters."""
        address = Param("address", jf.parse_address)
        height = Param("height", jf.parse_height, required=False)
        height_or_pending = Param("height", jf.parse_height_or_pending, required=False)
        full = Param(
            "fullTransactions", lambda v: jf.parse_bool(v, "fullTransactions"), False, False
        )
        methods = [
            Method.of("ledger_chainId", self.chain_id),
            Method.of("ledger_blockNumber", self.block_number),
            Method.of(
                "ledger_getBalance",
                self.get_balance,
                address,
                Param("asset", jf.parse_asset, required=False, default=NATIVE_ASSET),
                height_or_pending,
            ),
            Method.of("ledger_getAccount", self.get_account, address, height_or_pending),
            Method.of(
                "ledger_getTransactionCount",
                self.get_transaction_count,
                address,
                Param("height", jf.parse_height_or_pending, required=False),
            ),
            Method.of(
                "ledger_sendRawTransaction",
                self.send_raw_transaction,
                Param("data", jf.parse_raw_transaction),
            ),
            Method.of(
                "ledger_submitTransaction",
                self.submit_transaction,
                Param("data", jf.parse_raw_transaction),
            ),
            Method.of(
                "ledger_getTransactionByHash",
                self.get_transaction_by_hash,
                Param("hash", jf.parse_hash),
            ),
            Method.of(
                "ledger_getTransactionReceipt",
                self.get_transaction_receipt,
                Param("hash", jf.parse_hash),
            ),
            Method.of("ledger_getBlockByNumber", self.get_block_by_number, height, full),
            Method.of(
                "ledger_getBlockByHash", self.get_block_by_hash, Param("hash", jf.parse_hash), full
            ),
            Method.of("ledger_status", self.status),
            Method.of("ledger_validators", self.validators, height),
            Method.of("ledger_getProof", self.get_proof, address, height),
            *AssetQueries(self.node, self.state_root).methods(),
            Method.of("ledger_mempoolInfo", self.mempool_info),
            Method.of("ledger_getParams", self.get_params),
            Method.of("ledger_getContract", self.get_contract, address, height),
            Method.of(
                "ledger_getContractStorage",
                self.get_contract_storage,
                address,
                Param("key", jf.parse_storage_key),
                height,
            ),
            Method.of(
                "ledger_getContractStorageItems",
                self.get_contract_storage_items,
                address,
                Param("start", lambda v: jf.parse_storage_key(v, "start"), False, b""),
                Param("limit", jf.parse_limit, False, jf.DEFAULT_PAGE),
            ),
            Method.of("ledger_getMailbox", self.get_mailbox, address, height),
            Method.of("ledger_getBurnedCredits", self.get_burned_credits, height),
            Method.of("ledger_getBlockEvents", self.get_block_events, height),
            Method.of("ledger_getThresholdKey", self.get_threshold_key, height),
            Method.of("ledger_getCeremonies", self.get_ceremonies, height),
            *ListingQueries(self.node, self.block).methods(),
            *MintQueries(self.state_at).methods(),
            *MailQueries(self.state_at, lambda: self.node.chain.tip.height).methods(),
            Method.of("rpc.discover", self.discover),
        ]
        return {m.name: m for m in methods}

    # -- helpers -----------------------------------------------------------
    def block(self, height: int) -> Block | None:
        """A committed block by height, through a small cache (blocks never change).
        Raises HeightPruned (-> -32006) for a block this node pruned."""
        self.node.chain.check_block_kept(height)
        cached = self._blocks.get(height)
        if cached is not None:
            self._blocks.move_to_end(height)
            return cached
        block = self.node.chain.store.load_block(height)
        if block is not None:
            self._blocks[height] = block
            if len(self._blocks) > BLOCK_CACHE_SIZE:
                self._blocks.popitem(last=False)
        return block

    def state_root(self, height: int) -> bytes:
        """The state root after block ``height``. Raises BlockNotFound above
        the tip and HeightPruned (-> -32006) for a state this node pruned."""
        chain = self.node.chain
        try:
            return chain.state_root_at(height)
        except HeightPruned:
            raise
        except LookupError:
            tip = chain.tip.height
            raise BlockNotFound(
                f"no block at height {height} (the tip is {tip})", {"height": height, "tip": tip}
            ) from None

    def account(self, address: bytes, height: int | str | None) -> Account:
        """The account after block ``height`` (None: the latest; "pending":
        the mempool's admission view, Mempool.pending_state). Raises BlockNotFound."""
        chain = self.node.chain
        if height == jf.PENDING:
            raw = self.node.pending_state().get_state(account_key(address))
        elif height is None or height == chain.tip.height:
            raw = chain.store.get_state(account_key(address))
        else:
            assert isinstance(height, int)
            raw, _ = chain.prove_account(address, self.state_root(height))
        return self.decode_account(raw) if raw is not None else Account()

    def state_at(self, height: int | None) -> StateReader:
        """The state after block ``height`` (None: the latest). Raises BlockNotFound."""
        chain = self.node.chain
        if height is None or height == chain.tip.height:
            return chain.store
        return TreeStateReader(chain, self.state_root(height))

    def decode_account(self, raw: bytes) -> Account:
        """decode_account through a cache keyed by the encoded bytes (the strict
        decode re-encodes to check canonicity, which costs more than the read)."""
        account = self._accounts.get(raw)
        if account is None:
            account = decode_account(raw)
            self._accounts[raw] = account
            if len(self._accounts) > ACCOUNT_CACHE_SIZE:
                self._accounts.popitem(last=False)
        return account

    # -- methods -----------------------------------------------------------
    def chain_id(self) -> str:
        return self.node.chain.chain_id

    def block_number(self) -> int:
        return self.node.chain.tip.height

    def get_balance(self, address: bytes, asset: str, height: int | str | None) -> str:
        return str(self.account(address, height).balance(asset))

    def get_account(self, address: bytes, height: int | str | None) -> dict[str, Any]:
        return account_json(address, self.account(address, height))

    def get_transaction_count(self, address: bytes, height: int | str | None) -> str:
        if height == jf.PENDING:
            return str(self.node.pending_nonce(address))
        assert height is None or isinstance(height, int)
        return str(self.account(address, height).nonce)

    async def send_raw_transaction(self, data: bytes) -> str:
        submission = await self.node.submit_transaction(data)
        return submission.tx_hash.hex()

    async def submit_transaction(self, data: bytes) -> dict[str, Any]:
        submission = await self.node.submit_transaction(data)
        return {
            "hash": submission.tx_hash.hex(),
            "queued": submission.queued,
            "catchingUp": submission.catching_up,
            "height": submission.height,
        }

    def get_transaction_by_hash(self, tx_hash: bytes) -> dict[str, Any] | None:
        location = self.node.chain.store.load_tx_location(tx_hash)
        if location is None:
            pending = self.node.pending_transaction(tx_hash)
            return jf.transaction_json(pending) if pending is not None else None
        height, index = location
        block = self.block(height)
        if block is None:
            raise InternalError("transaction index points at a missing block")
        return jf.transaction_json(block.transactions[index], height, block.hash, index)

    def get_transaction_receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        store = self.node.chain.store
        location = store.load_tx_location(tx_hash)
        if location is None:
            return None  # unknown or still pending
        height, index = location
        block = self.block(height)
        receipt = store.load_receipt(height, index)
        if block is None or receipt is None:
            raise InternalError("transaction index points at a missing block or receipt")
        return jf.receipt_json(receipt, block.transactions[index], height, block.hash, index)

    def get_block_by_number(self, height: int | None, full: bool) -> dict[str, Any] | None:
        if height is None:
            height = self.node.chain.tip.height
        block = self.block(height) if height >= 1 else None
        return jf.block_json(block, full) if block is not None else None

    def get_block_by_hash(self, block_hash: bytes, full: bool) -> dict[str, Any] | None:
        height = self.node.chain.store.load_height_of(block_hash)
        block = self.block(height) if height is not None else None
        return jf.block_json(block, full) if block is not None else None

    def status(self) -> dict[str, Any]:
        return status_json(self.node)

    def validators(self, height: int | None) -> dict[str, Any]:
        tip = self.node.chain.tip.height
        try:
            members = self.node.validators(height)
        except HeightPruned:
            raise
        except LookupError as exc:
            raise BlockNotFound(str(exc), {"height": height, "tip": tip}) from None
        return {
            "height": height if height is not None else tip + 1,
            "totalPower": str(sum(v.power for v in members)),
            "validators": [
                {
                    "address": encode_address(v.address),
                    "publicKey": v.public_key.hex(),
                    "power": str(v.power),
                    "name": v.name,
                }
                for v in members
            ],
        }

    def get_proof(self, address: bytes, height: int | None) -> dict[str, Any]:
        chain = self.node.chain
        if height is None:
            height = chain.tip.height
        root = self.state_root(height)
        value, proof = chain.prove_account(address, root)
        # The block itself may be pruned while its state is kept (keep_every).
        block_hash = chain.store.load_kept_block_hash(height) if height >= 1 else None
        return {
            "address": encode_address(address),
            "height": height,
            "blockHash": block_hash.hex() if block_hash is not None else None,
            "stateRoot": root.hex(),
            "key": tree_key(account_key(address)).hex(),
            "value": value.hex() if value is not None else None,
            "account": account_json(address, decode_account(value)) if value is not None else None,
            "proof": encode_proof(proof).hex(),
        }

    def mempool_info(self) -> dict[str, Any]:
        info = self.node.mempool_info()
        return {
            "size": info.size,
            "bytes": info.bytes,
            "maxSize": info.max_size,
            "maxBytes": info.max_bytes,
        }

    def get_params(self) -> dict[str, Any]:
        params = read_params(State(self.node.chain.store))
        return {
            "minFee": str(params.min_fee),
            "maxBlockTxs": params.max_block_txs,
            "maxBlockBytes": params.max_block_bytes,
            "maxBlockGas": params.max_block_gas,
            "cpuCreditsPerBlock": str(params.cpu_credits_per_block),
            "diskCreditsPerBlock": str(params.disk_credits_per_block),
            "netCreditsPerBlock": str(params.net_credits_per_block),
        }

    def get_contract(self, address: bytes, height: int | None) -> dict[str, Any] | None:
        info = contract_info(self.state_at(height), address)
        return contract_forms.contract_json(info) if info is not None else None

    def get_contract_storage(self, address: bytes, key: bytes, height: int | None) -> str | None:
        value = contract_storage(self.state_at(height), address, key)
        return value.hex() if value is not None else None

    def get_contract_storage_items(
        self, address: bytes, start: bytes, limit: int
    ) -> dict[str, Any]:
        # The latest state only: the store keeps it in key order, so a page
        # costs its own size however many keys the contract has.
        chain = self.node.chain
        items = contract_storage_page(chain.store, address, start, limit + 1)
        following = items[limit][0].hex() if len(items) > limit else None
        return {
            "address": encode_address(address),
            "height": chain.tip.height,
            "items": [{"key": key.hex(), "value": value.hex()} for key, value in items[:limit]],
            "next": following,
        }

    def get_mailbox(self, address: bytes, height: int | None) -> dict[str, Any]:
        state = self.state_at(height)
        return {
            "address": encode_address(address),
            "received": mailbox_received(state, address),
            "messages": [contract_forms.mail_json(mail) for mail in mailbox(state, address)],
        }

    def get_burned_credits(self, height: int | None) -> dict[str, str]:
        burned = burned_credits(self.state_at(height))
        return {asset: jf.amount_text(amount) for asset, amount in burned.items()}

    def get_block_events(self, height: int | None) -> dict[str, Any] | None:
        if height is None:
            height = self.node.chain.tip.height
        block = self.block(height) if height >= 1 else None
        if block is None:
            return None
        return {
            "height": height,
            "blockHash": block.hash.hex(),
            "events": [jf.event_json(e) for e in self.node.chain.store.load_block_events(height)],
        }

    def get_threshold_key(self, height: int | None) -> dict[str, Any] | None:
        group = threshold_group(self.state_at(height))
        return threshold_forms.threshold_group_json(group) if group is not None else None

    def get_ceremonies(self, height: int | None) -> dict[str, Any]:
        state = self.state_at(height)
        pending, recent = threshold_ceremonies(state)
        return {
            "enabled": threshold_enabled(state),
            "pending": [threshold_forms.ceremony_json(c) for c in pending],
            "recent": [threshold_forms.ceremony_json(c) for c in recent],
        }

    def discover(self) -> dict[str, Any]:
        if self._openrpc is None:
            try:
                self._openrpc = load_openrpc_document()
            except (OSError, ValueError) as exc:
                raise InternalError(f"OpenRPC document unavailable: {exc}") from None
        return self._openrpc


def status_json(node: NodeView) -> dict[str, Any]:
    """The node's status (ledger_status and GET /status)."""
    chain = node.chain
    tip = chain.tip
    status = node.status()
    validator = None
    if status.validator_address is not None:
        validator = {
            "address": encode_address(status.validator_address),
            "votingPower": str(status.voting_power),
        }
    return {
        "chainId": chain.chain_id,
        "moniker": status.moniker,
        "mode": status.mode,
        "height": tip.height,
        "blockHash": tip.block_hash.hex(),
        "stateRoot": tip.state_root.hex(),
        "timeMs": tip.time_ms,
        "genesisHash": node.genesis.hash.hex(),
        "catchingUp": status.catching_up,
        "peers": status.peers,
        "validator": validator,
    }
