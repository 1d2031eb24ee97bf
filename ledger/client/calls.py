"""Each API call as data: method name, params, and how to parse the result.

The sync and async clients run the same ``Call``s over their transports,
so both expose exactly the same methods with the same types.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from ledger.address import address_of, decode_address, encode_address
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.features.contracts.bodies import Call as CallBody
from ledger.features.contracts.bodies import Deploy, Fund, Schedule, contract_address
from ledger.rpc_errors import error_from_response
from ledger.types import NATIVE_ASSET, Transaction
from vm.values import Value

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
    ProtocolError,
    ReceiptInfo,
    StatusInfo,
    StoragePage,
    ThresholdKey,
    TransactionInfo,
    TransportError,
    ValidatorSet,
    parse_burned,
    parse_result,
)

T = TypeVar("T")
DEFAULT_URL: Final = "http://127.0.0.1:8545"
Height = int | str | None  # an int, "latest" (or None) or, where allowed, "pending"
Address = str | bytes  # bech32m text or 20 bytes


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    params: list[Any]
    parse: Callable[[Any], T]


def address_text(address: Address) -> str:
    """Bech32m text for an address given as text or 20 bytes (checked). Raises AddressError."""
    if isinstance(address, bytes):
        return encode_address(address)
    decode_address(address)
    return address


def _height(height: Height) -> Any:
    return "latest" if height is None else height


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("expected an integer")
    return int(value)


def _optional(parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    return lambda value: None if value is None else parse(value)


def chain_id() -> Call[str]:
    return Call("ledger_chainId", [], _text)


def block_number() -> Call[int]:
    return Call("ledger_blockNumber", [], _int)


def get_balance(address: Address, asset: str, height: Height) -> Call[int]:
    return Call("ledger_getBalance", [address_text(address), asset, _height(height)], _int)


def get_account(address: Address, height: Height) -> Call[AccountInfo]:
    return Call(
        "ledger_getAccount", [address_text(address), _height(height)], AccountInfo.from_json
    )


def get_transaction_count(address: Address, height: Height) -> Call[int]:
    return Call("ledger_getTransactionCount", [address_text(address), _height(height)], _int)


def send_raw_transaction(raw: bytes) -> Call[bytes]:
    return Call("ledger_sendRawTransaction", [raw.hex()], lambda v: bytes.fromhex(_text(v)))


def get_transaction(tx_hash: bytes) -> Call[TransactionInfo | None]:
    return Call(
        "ledger_getTransactionByHash", [tx_hash.hex()], _optional(TransactionInfo.from_json)
    )


def get_receipt(tx_hash: bytes) -> Call[ReceiptInfo | None]:
    return Call("ledger_getTransactionReceipt", [tx_hash.hex()], _optional(ReceiptInfo.from_json))


def get_block(block: int | str | bytes | None, full: bool) -> Call[BlockInfo | None]:
    """By height, "latest"/None, or 32-byte hash."""
    parse = _optional(BlockInfo.from_json)
    if isinstance(block, bytes):
        return Call("ledger_getBlockByHash", [block.hex(), full], parse)
    return Call("ledger_getBlockByNumber", [_height(block), full], parse)


def status() -> Call[StatusInfo]:
    return Call("ledger_status", [], StatusInfo.from_json)


def validators(height: Height) -> Call[ValidatorSet]:
    return Call("ledger_validators", [_height(height)], ValidatorSet.from_json)


def get_proof(address: Address, height: Height) -> Call[AccountProof]:
    return Call("ledger_getProof", [address_text(address), _height(height)], AccountProof.from_json)


def mempool_info() -> Call[MempoolStatus]:
    return Call("ledger_mempoolInfo", [], MempoolStatus.from_json)


def get_params() -> Call[ChainParams]:
    return Call("ledger_getParams", [], ChainParams.from_json)


def get_contract(address: Address, height: Height) -> Call[ContractInfo | None]:
    return Call(
        "ledger_getContract",
        [address_text(address), _height(height)],
        _optional(ContractInfo.from_json),
    )


def get_contract_storage(address: Address, key: bytes, height: Height) -> Call[bytes | None]:
    return Call(
        "ledger_getContractStorage",
        [address_text(address), key.hex(), _height(height)],
        _optional(lambda v: bytes.fromhex(_text(v))),
    )


def get_contract_storage_items(address: Address, start: bytes, limit: int) -> Call[StoragePage]:
    return Call(
        "ledger_getContractStorageItems",
        [address_text(address), start.hex(), limit],
        StoragePage.from_json,
    )


def get_mailbox(address: Address, height: Height) -> Call[Mailbox]:
    return Call("ledger_getMailbox", [address_text(address), _height(height)], Mailbox.from_json)


def get_burned_credits(height: Height) -> Call[dict[str, int]]:
    return Call("ledger_getBurnedCredits", [_height(height)], parse_burned)


def get_block_events(height: Height) -> Call[BlockEvents | None]:
    return Call("ledger_getBlockEvents", [_height(height)], _optional(BlockEvents.from_json))


def get_threshold_key(height: Height) -> Call[ThresholdKey | None]:
    return Call("ledger_getThresholdKey", [_height(height)], _optional(ThresholdKey.from_json))


def get_ceremonies(height: Height) -> Call[Ceremonies]:
    return Call("ledger_getCeremonies", [_height(height)], Ceremonies.from_json)


def _address_bytes(address: Address) -> bytes:
    return decode_address(address) if isinstance(address, str) else address


def sign_transfer(
    key: SigningKey,
    chain: str,
    nonce: int,
    to: Address,
    amount: int,
    asset: str = NATIVE_ASSET,
    fee: int = 0,
) -> Transaction:
    """A signed transfer transaction (nothing is sent)."""
    recipient = decode_address(to) if isinstance(to, str) else to
    body = Transfer(asset, amount, recipient)
    return Transaction(chain, key.public_key, nonce, fee, body).signed(key)


def sign_deploy(
    key: SigningKey,
    chain: str,
    nonce: int,
    module: bytes,
    cpu: int = 0,
    disk: int = 0,
    net: int = 0,
    salt: bytes = b"",
    schedule: Schedule | None = None,
    fee: int = 0,
) -> Transaction:
    """A signed deploy of ``module`` (encoded module bytes) giving the contract
    the credits ``cpu``, ``disk`` and ``net`` (nothing is sent). Its address
    is ``deployed_address(key, nonce, salt)``."""
    body = Deploy(module, cpu, disk, net, salt, schedule)
    return Transaction(chain, key.public_key, nonce, fee, body).signed(key)


def deployed_address(key: SigningKey, nonce: int, salt: bytes = b"") -> str:
    """The address of the contract that ``key``'s deploy with ``nonce`` creates."""
    return encode_address(contract_address(address_of(key.public_key), nonce, salt))


def sign_call(
    key: SigningKey,
    chain: str,
    nonce: int,
    contract: Address,
    entry: str,
    args: tuple[Value, ...] = (),
    gas_limit: int = 1_000_000,
    fee: int = 0,
) -> Transaction:
    """A signed call of ``entry(args)`` on ``contract``; the sender pays up to
    ``gas_limit`` cpu credits for its gas (nothing is sent)."""
    body = CallBody(_address_bytes(contract), entry, tuple(args), gas_limit)
    return Transaction(chain, key.public_key, nonce, fee, body).signed(key)


def sign_fund(
    key: SigningKey,
    chain: str,
    nonce: int,
    contract: Address,
    cpu: int = 0,
    disk: int = 0,
    net: int = 0,
    fee: int = 0,
) -> Transaction:
    """A signed fund transaction: credits from the sender to ``contract`` (nothing is sent)."""
    body = Fund(_address_bytes(contract), cpu, disk, net)
    return Transaction(chain, key.public_key, nonce, fee, body).signed(key)


def sender_address(key: SigningKey) -> str:
    return encode_address(address_of(key.public_key))


# -- the JSON-RPC envelope ------------------------------------------------


def encode_request(request_id: int, method: str, params: list[Any] | dict[str, Any]) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
        separators=(",", ":"),
    ).encode()


def decode_response(status: int, data: bytes, request_id: int) -> Any:
    """The ``result`` of a response body. Raises the RpcError subclass for an
    ``error`` member, TransportError for anything that is not JSON-RPC."""
    try:
        document = json.loads(data)
    except ValueError:
        raise TransportError(f"HTTP {status}: the answer is not JSON ({data[:80]!r})") from None
    if not isinstance(document, dict):
        raise ProtocolError("the answer is not a JSON-RPC response object")
    if "error" in document:
        raise error_from_response(document["error"])
    if status != 200:
        raise TransportError(f"HTTP {status}")
    if document.get("id") != request_id or "result" not in document:
        raise ProtocolError("the response does not answer the request (id or result missing)")
    return document["result"]


def run_parse(call: Call[T], result: Any) -> T:
    return parse_result(call.parse, result)
