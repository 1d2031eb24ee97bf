"""Typed errors of the state transition.

``InvalidBlock`` is the one error a bad block raises. ``TxRejected`` and its
subclasses say why a transaction may not enter a block at all (CheckTx);
inside a block they make the block invalid. ``ExecutionFailure`` and its
subclasses say why an included transaction failed: it gets a receipt with
the failure's status code, its nonce and fee are still consumed, and its
other effects are reverted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ledger.state import State


class InvalidBlock(Exception):
    """The block breaks a validity rule; nothing it did is kept."""


class TxRejected(Exception):
    """A transaction that may not be included in a block (CheckTx fails)."""

    code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedTransaction(TxRejected):
    code = 1


class WrongChainId(TxRejected):
    code = 2


class BadSignature(TxRejected):
    code = 3


class BadNonce(TxRejected):
    code = 4


class FeeTooLow(TxRejected):
    code = 5


class CannotPayFee(TxRejected):
    code = 6


class CannotPay(TxRejected):
    """The sender cannot pay what the transaction may spend (its value, a
    call's gas limit, credits given) plus its fee, on top of what its other
    pending transactions may spend (mempool admission only)."""

    code = 7


class OverGasLimit(TxRejected):
    """The transaction's gas does not fit: in a mempool, it exceeds the
    block gas limit (it could never be included); in a block, it exceeds
    what is left of it (that block is invalid)."""

    code = 8


class MempoolFull(TxRejected):
    """The mempool is at its count or byte limit (or the sender's share of
    it); the transaction was NOT kept. The submitter may retry later."""

    code = 20


class AlreadyKnown(TxRejected):
    """This exact transaction (same hash) is already pending in the mempool."""

    code = 21


class ExecutionFailure(Exception):
    """An included transaction failed; its receipt carries ``status``.

    ``kept_charges``, if given, is applied after the body's effects are
    reverted: what the failed body must pay anyway (the gas a failed
    contract call burned).
    """

    status: ClassVar[int] = 1

    def __init__(
        self,
        message: str,
        gas_used: int = 0,
        kept_charges: Callable[[State], None] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.gas_used = gas_used
        self.kept_charges = kept_charges


class InsufficientFunds(ExecutionFailure):
    status = 2


class BalanceOverflowFailure(ExecutionFailure):
    status = 3


class InvalidOperation(ExecutionFailure):
    status = 4


# Contract failures (status 10-19, like the contract body kinds).
class InvalidModule(ExecutionFailure):
    """A deploy's module is malformed or fails validation (or its schedule
    names an unusable entry point)."""

    status = 10


class ContractReverted(ExecutionFailure):
    """The called entry point ran REVERT; the unused gas is refunded."""

    status = 11


class ContractHalted(ExecutionFailure):
    """The call halted (out of gas, a limit...) or the ledger refused its
    effects; all its gas is burned."""

    status = 12


class NoSuchContract(ExecutionFailure):
    """No contract lives at the address."""

    status = 13


class InvalidInvocation(ExecutionFailure):
    """The entry point does not exist or the arguments do not fit it."""

    status = 14


# Failures of assets, barter and policy accounts (kinds 20-39) use statuses 20-39.


class UnknownRecord(ExecutionFailure):
    """The asset, offer, policy account or proposal named does not exist."""

    status = 20


class NotAuthorized(ExecutionFailure):
    """The actor is not the issuer, the maker, a member, or the governance account."""

    status = 21


class AlreadyExists(ExecutionFailure):
    """The asset id is taken, the policy exists, or the member already approved."""

    status = 22


class Expired(ExecutionFailure):
    """The offer, proposal or swap is past its expiry height."""

    status = 23


class LimitExceeded(ExecutionFailure):
    """A maximum supply, spending limit or size limit would be exceeded."""

    status = 24


class PriceNotMet(ExecutionFailure):
    """No offer is within the taker's limit price."""

    status = 25


class BadCounterpartySignature(ExecutionFailure):
    """The swap's counterparty signature does not verify."""

    status = 26
