"""JSON-RPC error codes and the one exception hierarchy both ends share.

The server raises an ``RpcError`` subclass from a method; the dispatcher
turns it into the ``error`` member of the response. The client turns an
``error`` member back into the same class (``error_from_response``), so a
script catches ``BadNonceError`` whether it talks to the server or tests it
in process.

Codes (docs/spec/rpc.md, "Errors"):

    -32700           parse error (invalid JSON)
    -32600           invalid request
    -32601           method not found
    -32602           invalid params
    -32603           internal error
    -32001           block not found (a height or hash the node does not have)
    -32002           state not available at that height
    -32003           subscription limit reached (WebSocket)
    -32040 - c       transaction rejected with TxRejected code c (1 <= c <= 59):
                     -32041 malformed, -32042 wrong chain id, -32043 bad signature,
                     -32044 bad nonce, -32045 fee too low, -32046 cannot pay fee,
                     -32060 mempool full, -32061 already known

Application errors carry detail in ``data`` (an object); transaction
rejections always have ``data = {"txCode": c, "reason": ...}``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from ledger.exceptions import TxRejected

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
BLOCK_NOT_FOUND: Final = -32001
STATE_NOT_AVAILABLE: Final = -32002
SUBSCRIPTION_LIMIT: Final = -32003
TX_REJECTED_BASE: Final = -32040
MAX_TX_CODE: Final = 59


class RpcError(Exception):
    """An error with a JSON-RPC code, a message and optional structured data."""

    code: ClassVar[int] = INTERNAL_ERROR
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, data: Any = None, code: int | None = None):
        self.message = message if message is not None else self.default_message
        self.data = data
        if code is not None:
            self.code = code  # type: ignore[misc]  # only for codes without a class
        super().__init__(f"{self.message} (code {self.code})")

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RpcError):
    code = PARSE_ERROR
    default_message = "Parse error"


class InvalidRequest(RpcError):
    code = INVALID_REQUEST
    default_message = "Invalid Request"


class MethodNotFound(RpcError):
    code = METHOD_NOT_FOUND
    default_message = "Method not found"


class InvalidParams(RpcError):
    code = INVALID_PARAMS
    default_message = "Invalid params"


class InternalError(RpcError):
    code = INTERNAL_ERROR
    default_message = "Internal error"


class BlockNotFound(RpcError):
    code = BLOCK_NOT_FOUND
    default_message = "Block not found"


class StateNotAvailable(RpcError):
    code = STATE_NOT_AVAILABLE
    default_message = "State not available"


class SubscriptionLimit(RpcError):
    code = SUBSCRIPTION_LIMIT
    default_message = "Subscription limit reached"


class TransactionRejected(RpcError):
    """The node refused a transaction (CheckTx or mempool). ``tx_code`` is
    the ledger's TxRejected code (ledger/exceptions.py)."""

    code = TX_REJECTED_BASE - 1
    tx_code: ClassVar[int] = 1
    reason: ClassVar[str] = "rejected"
    default_message = "Transaction rejected"

    def __init__(self, message: str | None = None, data: Any = None, code: int | None = None):
        if data is None:
            data = {"txCode": self.tx_code, "reason": self.reason}
        super().__init__(message, data, code)


class MalformedTransactionError(TransactionRejected):
    """The transaction's bytes do not decode (or its kind cannot execute)."""

    code = TX_REJECTED_BASE - 1
    tx_code = 1
    reason = "malformed"


class WrongChainIdError(TransactionRejected):
    """The transaction is for another chain."""

    code = TX_REJECTED_BASE - 2
    tx_code = 2
    reason = "wrong_chain_id"


class BadSignatureError(TransactionRejected):
    """The signature does not verify against the sender's key."""

    code = TX_REJECTED_BASE - 3
    tx_code = 3
    reason = "bad_signature"


class BadNonceError(TransactionRejected):
    """The nonce is not the sender's next nonce (counting pending transactions)."""

    code = TX_REJECTED_BASE - 4
    tx_code = 4
    reason = "bad_nonce"


class FeeTooLowError(TransactionRejected):
    """The fee is below the chain's minimum."""

    code = TX_REJECTED_BASE - 5
    tx_code = 5
    reason = "fee_too_low"


class CannotPayFeeError(TransactionRejected):
    """The sender's coin balance cannot pay the fee."""

    code = TX_REJECTED_BASE - 6
    tx_code = 6
    reason = "cannot_pay_fee"


class MempoolFullError(TransactionRejected):
    """The node's mempool is full; retry later."""

    code = TX_REJECTED_BASE - 20
    tx_code = 20
    reason = "mempool_full"


class AlreadyKnownError(TransactionRejected):
    """The node already has this transaction (pending or committed)."""

    code = TX_REJECTED_BASE - 21
    tx_code = 21
    reason = "already_known"


_BY_CODE: Final[dict[int, type[RpcError]]] = {
    cls.code: cls
    for cls in (
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
        BlockNotFound,
        StateNotAvailable,
        SubscriptionLimit,
        MalformedTransactionError,
        WrongChainIdError,
        BadSignatureError,
        BadNonceError,
        FeeTooLowError,
        CannotPayFeeError,
        MempoolFullError,
        AlreadyKnownError,
    )
}


def rpc_error_for_rejection(rejected: TxRejected) -> RpcError:
    """The RPC error for a ledger TxRejected (its code decides the class)."""
    tx_code = rejected.code if 1 <= rejected.code <= MAX_TX_CODE else 1
    cls = _BY_CODE.get(TX_REJECTED_BASE - tx_code)
    if cls is not None:
        return cls(rejected.message)
    data = {"txCode": tx_code, "reason": "rejected"}
    return TransactionRejected(rejected.message, data, code=TX_REJECTED_BASE - tx_code)


def error_from_response(error: object) -> RpcError:
    """The exception for a response's ``error`` member (any shape: a server
    that breaks the spec gets an InternalError describing what it sent)."""
    if not isinstance(error, dict):
        return InternalError(f"malformed error member: {error!r:.200}")
    code = error.get("code")
    message = error.get("message")
    if type(code) is not int or not isinstance(message, str):
        return InternalError(f"malformed error member: {error!r:.200}")
    data = error.get("data")
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls(message, data)
    if TX_REJECTED_BASE - MAX_TX_CODE <= code < TX_REJECTED_BASE:
        return TransactionRejected(message, data, code=code)
    return RpcError(message, data, code=code)
