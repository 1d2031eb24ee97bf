"""The Python client of the ledger's JSON-RPC API, blocking and asyncio.

    from ledger.client import LedgerClient
    from ledger.client.devnet import account_key

    client = LedgerClient("http://127.0.0.1:8545")
    alice = account_key("alice")                  # a devnet key: INSECURE
    sent = client.send_transfer(alice, "lg1...", 5_000)
    print(sent.receipt.status, client.get_balance("lg1..."))

    deployed = client.send_deploy(alice, module_bytes, cpu=10**6, disk=10**8, net=10**6)
    called = client.send_call(alice, deployed.address, "bump", gas_limit=50_000)
    print(called.receipt.return_values, client.get_contract(deployed.address))

Every call raises an ``RpcError`` subclass when the node answers with an
error (``BadNonceError``, ``BlockNotFound``, ...; see ledger.rpc_errors)
and a ``ClientError`` (``TransportError``, ``ProtocolError``,
``ReceiptTimeout``) when there is no usable answer.
"""

from ledger.rpc_errors import (
    AlreadyKnownError,
    BadNonceError,
    BadSignatureError,
    BlockNotFound,
    CannotPayFeeError,
    FeeTooLowError,
    InternalError,
    InvalidParams,
    InvalidRequest,
    MalformedTransactionError,
    MempoolFullError,
    MethodNotFound,
    ParseError,
    RpcError,
    StateNotAvailable,
    SubscriptionLimit,
    TransactionRejected,
    WrongChainIdError,
)

from . import asset_transactions
from .asset_results import (
    ActionInfo,
    AssetInfo,
    GovernanceInfo,
    OfferInfo,
    OrderBook,
    PolicyInfo,
    ProposalInfo,
    ScheduledValidatorSet,
    SpendingInfo,
    SpendingLimitInfo,
    created_offer_id,
    created_policy_address,
    created_proposal_id,
)
from .asynchronous import AsyncLedgerClient
from .calls import (
    DEFAULT_URL,
    deployed_address,
    sign_call,
    sign_deploy,
    sign_fund,
    sign_transfer,
)
from .results import (
    AccountInfo,
    AccountProof,
    BlockEvents,
    BlockInfo,
    Ceremonies,
    CeremonyInfo,
    ChainParams,
    ClientError,
    ContractInfo,
    EventInfo,
    Mailbox,
    MailMessage,
    MempoolStatus,
    ProtocolError,
    ReceiptInfo,
    ReceiptTimeout,
    ScheduleInfo,
    SentDeploy,
    SentTransaction,
    StatusInfo,
    StoragePage,
    ThresholdKey,
    ThresholdMember,
    TransactionInfo,
    TransportError,
    Validator,
    ValidatorSet,
)
from .swap_terms import SignedSwap, SwapTerms
from .sync import LedgerClient

__all__ = [
    "DEFAULT_URL",
    "AccountInfo",
    "AccountProof",
    "ActionInfo",
    "AlreadyKnownError",
    "AssetInfo",
    "AsyncLedgerClient",
    "BadNonceError",
    "BadSignatureError",
    "BlockEvents",
    "BlockInfo",
    "BlockNotFound",
    "CannotPayFeeError",
    "Ceremonies",
    "CeremonyInfo",
    "ChainParams",
    "ClientError",
    "ContractInfo",
    "EventInfo",
    "FeeTooLowError",
    "GovernanceInfo",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "LedgerClient",
    "MailMessage",
    "Mailbox",
    "MalformedTransactionError",
    "MempoolFullError",
    "MempoolStatus",
    "MethodNotFound",
    "OfferInfo",
    "OrderBook",
    "ParseError",
    "PolicyInfo",
    "ProposalInfo",
    "ProtocolError",
    "ReceiptInfo",
    "ReceiptTimeout",
    "RpcError",
    "ScheduleInfo",
    "ScheduledValidatorSet",
    "SentDeploy",
    "SentTransaction",
    "SignedSwap",
    "SpendingInfo",
    "SpendingLimitInfo",
    "StateNotAvailable",
    "StatusInfo",
    "StoragePage",
    "SubscriptionLimit",
    "SwapTerms",
    "ThresholdKey",
    "ThresholdMember",
    "TransactionInfo",
    "TransactionRejected",
    "TransportError",
    "Validator",
    "ValidatorSet",
    "WrongChainIdError",
    "asset_transactions",
    "created_offer_id",
    "created_policy_address",
    "created_proposal_id",
    "deployed_address",
    "sign_call",
    "sign_deploy",
    "sign_fund",
    "sign_transfer",
]
