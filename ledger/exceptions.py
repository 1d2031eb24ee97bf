"""Typed errors of the state transition.

``InvalidBlock`` is the one error a bad block raises. ``TxRejected`` and its
subclasses say why a transaction may not enter a block at all (CheckTx);
inside a block they make the block invalid. ``ExecutionFailure`` and its
subclasses say why an included transaction failed: it gets a receipt with
the failure's status code, its nonce and fee are still consumed, and its
other effects are reverted.
"""

from __future__ import annotations

from typing import ClassVar


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


class ExecutionFailure(Exception):
    """An included transaction failed; its receipt carries ``status``."""

    status: ClassVar[int] = 1

    def __init__(self, message: str, gas_used: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.gas_used = gas_used


class InsufficientFunds(ExecutionFailure):
    status = 2


class BalanceOverflowFailure(ExecutionFailure):
    status = 3


class InvalidOperation(ExecutionFailure):
    status = 4


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
