"""The JSON shapes of the RPC API, and the parsers of its parameters.

The shapes of transactions, receipts, events and blocks are here; the forms
the features share (amounts, bodies) are ledger.json_forms, and each
feature's own results are its ``rpc_json`` module (ledger/features/).

Conventions (docs/adr/0007-json-rpc-conventions.md):

- amounts, nonces, fees and gas are decimal strings ("1000"), because JSON
  numbers beyond 2^53 do not survive every parser;
- heights, indexes, counts, status codes and millisecond times are JSON
  integers (they stay far below 2^53);
- byte strings (hashes, keys, signatures, raw transactions, proofs) are
  lowercase hex without a ``0x`` prefix; parameters also accept a ``0x``
  prefix and upper case;
- addresses are bech32m text (``lg1...``);
- field names are camelCase.

Parsers raise ``InvalidParams`` with the parameter's name in the message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from ledger.address import AddressError, decode_address, encode_address
from ledger.json_forms import amount_text, body_json, hex_bytes, value_json
from ledger.rpc_errors import InvalidParams
from ledger.types import (
    MAX_TX_SIZE,
    Block,
    DecodeError,
    Event,
    Receipt,
    Transaction,
    check_asset,
)
from vm.limits import MAX_STORAGE_KEY

__all__ = ["amount_text", "body_json", "hex_bytes", "value_json"]  # the shared forms, re-exported

MAX_HEIGHT: Final = (1 << 63) - 1
MAX_PAGE: Final = 256
"""Most storage entries one ledger_getContractStorageItems call returns."""
DEFAULT_PAGE: Final = 100
LATEST: Final = "latest"
PENDING: Final = "pending"


# -- output --------------------------------------------------------------


def transaction_json(
    tx: Transaction,
    block_height: int | None = None,
    block_hash: bytes | None = None,
    index: int | None = None,
) -> dict[str, Any]:
    """A transaction; the block fields are null while it is pending."""
    return {
        "hash": tx.hash.hex(),
        "chainId": tx.chain_id,
        "from": encode_address(tx.sender_address),
        "publicKey": tx.sender.hex(),
        "nonce": amount_text(tx.nonce),
        "fee": amount_text(tx.fee),
        "kind": getattr(tx.body, "NAME", str(tx.body.KIND)),
        "kindId": tx.body.KIND,
        "body": body_json(tx.body),
        "signature": tx.signature.hex(),
        "size": len(tx.encode()),
        "blockHeight": block_height,
        "blockHash": block_hash.hex() if block_hash is not None else None,
        "index": index,
    }


def event_json(event: Event) -> dict[str, Any]:
    return {"kind": event.kind, "attributes": {k: value_json(v) for k, v in event.attributes}}


def receipt_json(
    receipt: Receipt, tx: Transaction, block_height: int, block_hash: bytes, index: int
) -> dict[str, Any]:
    """A receipt with the place of its transaction."""
    return {
        "transactionHash": tx.hash.hex(),
        "blockHeight": block_height,
        "blockHash": block_hash.hex(),
        "index": index,
        "from": encode_address(tx.sender_address),
        "status": receipt.status,
        "success": receipt.status == 0,
        "feeCharged": amount_text(receipt.fee_charged),
        "gasUsed": amount_text(receipt.gas_used),
        "events": [event_json(e) for e in receipt.events],
        "error": receipt.error,
    }


def header_json(block: Block) -> dict[str, Any]:
    """A block's header fields (what a newHeads subscription delivers)."""
    header = block.header
    return {
        "height": header.height,
        "hash": block.hash.hex(),
        "chainId": header.chain_id,
        "timeMs": header.time_ms,
        "prevHash": header.prev_hash.hex(),
        "lastCommitHash": header.last_commit_hash.hex(),
        "txsRoot": header.txs_root.hex(),
        "receiptsRoot": header.receipts_root.hex(),
        "stateRoot": header.state_root.hex(),
        "proposer": encode_address(header.proposer),
        "version": header.version,
        "txCount": len(block.transactions),
    }


def block_json(block: Block, full_transactions: bool) -> dict[str, Any]:
    """A block: the header fields, the transactions (hashes, or full objects
    with ``full_transactions``) and the carried commit certificate."""
    out = header_json(block)
    if full_transactions:
        out["transactions"] = [
            transaction_json(tx, block.height, block.hash, i)
            for i, tx in enumerate(block.transactions)
        ]
    else:
        out["transactions"] = [tx.hash.hex() for tx in block.transactions]
    out["lastCommit"] = block.last_commit.hex()
    return out


# -- input ---------------------------------------------------------------


def parse_hex(value: object, name: str, size: int | None = None, max_size: int = 1 << 20) -> bytes:
    """Hex text (optional 0x prefix, either case) of ``size`` bytes (or at most ``max_size``)."""
    if not isinstance(value, str):
        raise InvalidParams(f"{name}: expected a hex string", {"param": name})
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) > 2 * max_size:
        raise InvalidParams(f"{name}: longer than {max_size} bytes", {"param": name})
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise InvalidParams(f"{name}: not valid hex", {"param": name}) from None
    if len(text) != 2 * len(data):  # fromhex skips whitespace; the wire form has none
        raise InvalidParams(f"{name}: not valid hex", {"param": name})
    if size is not None and len(data) != size:
        raise InvalidParams(f"{name}: expected {size} bytes, got {len(data)}", {"param": name})
    return data


def parse_hash(value: object, name: str = "hash") -> bytes:
    return parse_hex(value, name, size=32)


def parse_raw_transaction(value: object, name: str = "data") -> bytes:
    return parse_hex(value, name, max_size=MAX_TX_SIZE)


def parse_address(value: object, name: str = "address") -> bytes:
    """A bech32m address (``lg1...``)."""
    if not isinstance(value, str):
        raise InvalidParams(f"{name}: expected a bech32m address string", {"param": name})
    try:
        return _decode_address_cached(value)
    except AddressError as exc:
        raise InvalidParams(f"{name}: {exc}", {"param": name}) from None


@lru_cache(maxsize=8192)
def _decode_address_cached(text: str) -> bytes:
    # The bech32 checksum in pure Python costs ~40 us; queried addresses repeat a lot.
    # Only valid addresses are cached (lru_cache does not keep exceptions).
    return decode_address(text)


def parse_asset(value: object, name: str = "asset") -> str:
    try:
        return check_asset(value)
    except DecodeError:
        raise InvalidParams(
            f"{name}: 1-32 characters of a-z, 0-9, '.', '-', starting with a letter",
            {"param": name},
        ) from None


def parse_height(value: object, name: str = "height") -> int | None:
    """A block height (integer >= 0) or "latest" (None)."""
    if value is None or value == LATEST:
        return None
    if type(value) is not int or not 0 <= value <= MAX_HEIGHT:
        raise InvalidParams(f'{name}: expected an integer >= 0 or "latest"', {"param": name})
    return value


def parse_height_or_pending(value: object, name: str = "height") -> int | str | None:
    """Like parse_height, also accepting "pending"."""
    if value == PENDING:
        return PENDING
    return parse_height(value, name)


def parse_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"{name}: expected true or false", {"param": name})
    return value


def parse_storage_key(value: object, name: str = "key") -> bytes:
    """A contract storage key: hex of at most 64 bytes (the empty string is allowed)."""
    return parse_hex(value, name, max_size=MAX_STORAGE_KEY)


def parse_limit(value: object, name: str = "limit") -> int:
    """A page size: an integer in [1, MAX_PAGE]."""
    if type(value) is not int or not 1 <= value <= MAX_PAGE:
        raise InvalidParams(f"{name}: expected an integer in [1, {MAX_PAGE}]", {"param": name})
    return value


