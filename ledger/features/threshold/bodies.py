"""Transaction bodies of kinds 40-49: the validators' threshold key on chain.

- ``threshold_sign_message`` (40, anyone): ask the validators to sign a
  message with the group key. What they sign is the domain-separated
  ``encode(["ledger/threshold/message/v1", chain_id, requester, message])``,
  never the raw bytes, so no request can make them sign a transaction.
- ``threshold_sign_transaction`` (41, governance action only): ask them to
  sign an unsigned transaction whose sender is the group key, i.e. spend
  from the group account. Only the governance policy may ask, so the group
  account moves funds with the governors' approval *and* k validators.
- ``threshold_reshare`` (42, governance action only): reshare the key to
  the validator set in force at the next block, with a new threshold (0:
  the default rule, floor(2n/3) + 1).
- ``threshold_result`` (43, a ceremony participant): report a finished
  ceremony: the 65-byte signature, or for a DKG or resharing the encoded
  ``[transcript hash, public key package]``.

Shapes and sizes only here; the rules are in ledger.features.threshold.ceremonies, the
byte layout in docs/spec/threshold.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger.fields import check_bytes, check_uint, ensure

MAX_SIGN_MESSAGE_SIZE: Final = 1024
MAX_SIGN_TRANSACTION_SIZE: Final = 8 * 1024
MAX_RESULT_SIZE: Final = 16 * 1024
MAX_GROUP_MEMBERS: Final = 100


@dataclass(frozen=True, slots=True)
class ThresholdSignMessage:
    """Ask the validators to sign ``message`` (domain-separated) with the group key."""

    KIND: ClassVar[int] = 40
    NAME: ClassVar[str] = "threshold_sign_message"
    message: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.message,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ThresholdSignMessage:
        ensure(len(fields) == 1, "threshold_sign_message has 1 field")
        message = check_bytes(fields[0], "message", max_size=MAX_SIGN_MESSAGE_SIZE)
        ensure(len(message) >= 1, "message must not be empty")
        return cls(message)


@dataclass(frozen=True, slots=True)
class ThresholdSignTransaction:
    """Ask the validators to sign ``transaction`` (an unsigned transaction from
    the group account, encoded with an empty signature). Governance only."""

    KIND: ClassVar[int] = 41
    NAME: ClassVar[str] = "threshold_sign_transaction"
    transaction: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.transaction,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ThresholdSignTransaction:
        ensure(len(fields) == 1, "threshold_sign_transaction has 1 field")
        return cls(check_bytes(fields[0], "transaction", max_size=MAX_SIGN_TRANSACTION_SIZE))


@dataclass(frozen=True, slots=True)
class ThresholdReshare:
    """Reshare the group key to the next block's validators. Governance only."""

    KIND: ClassVar[int] = 42
    NAME: ClassVar[str] = "threshold_reshare"
    threshold: int  # 0: floor(2n/3) + 1

    def to_fields(self) -> tuple[Any, ...]:
        return (self.threshold,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ThresholdReshare:
        ensure(len(fields) == 1, "threshold_reshare has 1 field")
        return cls(check_uint(fields[0], "threshold", MAX_GROUP_MEMBERS))


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """A participant reports the outcome of ceremony ``ceremony_id``."""

    KIND: ClassVar[int] = 43
    NAME: ClassVar[str] = "threshold_result"
    ceremony_id: int
    result: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.ceremony_id, self.result)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ThresholdResult:
        ensure(len(fields) == 2, "threshold_result has 2 fields")
        ceremony_id, result = fields
        return cls(
            check_uint(ceremony_id, "ceremony_id"),
            check_bytes(result, "result", max_size=MAX_RESULT_SIZE),
        )
