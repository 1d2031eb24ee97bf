"""Transaction bodies of the bank: ``transfer`` (kind 1) and the asset kinds
(tags 20-22: issue, mint, burn).

Each body is a frozen dataclass with a tag (``KIND``), a name and a fixed
field order; ``from_fields`` checks shapes and ranges and raises
``DecodeError``. Rules that need the state (balances, ownership) are in
ledger.features.bank.assets. The byte layout is specified in
docs/spec/transactions.md and docs/spec/assets.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger.address import ADDRESS_SIZE, check_address
from ledger.fields import (
    MAX_AMOUNT,
    check_amount,
    check_asset,
    check_bytes,
    check_positive,
    check_uint,
    ensure,
    valid_asset,
)

MAX_DECIMALS: Final = 38  # display only; 10**38 still fits an amount


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move ``amount`` of ``asset`` from the sender to ``recipient`` (20-byte address)."""

    KIND: ClassVar[int] = 1
    NAME: ClassVar[str] = "transfer"
    asset: str
    amount: int
    recipient: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.asset, self.amount, self.recipient)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Transfer:
        ensure(len(fields) == 3, "transfer has 3 fields")
        asset, amount, recipient = fields
        return cls(
            check_asset(asset),
            check_amount(amount, "amount"),
            check_bytes(recipient, "recipient", ADDRESS_SIZE),
        )


def decode_transfer_fast(body: tuple[Any, ...]) -> Transfer | None:
    """``Transfer.from_fields(body[1:])`` for the array ``[1, asset, amount,
    recipient]`` of a valid transfer, or None (the strict decoder then decides).
    Every field it accepts is a scalar, as ledger.types' fast path requires.
    """
    if len(body) != 4:
        return None
    _kind, asset, amount, recipient = body
    if not (
        type(asset) is str
        and valid_asset(asset)
        and type(amount) is int
        and 0 <= amount <= MAX_AMOUNT
        and type(recipient) is bytes
        and len(recipient) == ADDRESS_SIZE
    ):
        return None
    return Transfer(asset, amount, recipient)


@dataclass(frozen=True, slots=True)
class IssueAsset:
    """Register a new asset id with the sender as issuer; supply starts at 0."""

    KIND: ClassVar[int] = 20
    NAME: ClassVar[str] = "asset_issue"
    asset: str
    decimals: int
    max_supply: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.asset, self.decimals, self.max_supply)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> IssueAsset:
        ensure(len(fields) == 3, "asset_issue has 3 fields")
        asset, decimals, max_supply = fields
        return cls(
            check_asset(asset),
            check_uint(decimals, "decimals", MAX_DECIMALS),
            check_positive(max_supply, "max_supply"),
        )


@dataclass(frozen=True, slots=True)
class MintAsset:
    """The issuer creates ``amount`` new units for ``recipient``."""

    KIND: ClassVar[int] = 21
    NAME: ClassVar[str] = "asset_mint"
    asset: str
    amount: int
    recipient: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.asset, self.amount, self.recipient)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintAsset:
        ensure(len(fields) == 3, "asset_mint has 3 fields")
        asset, amount, recipient = fields
        return cls(
            check_asset(asset),
            check_positive(amount, "amount"),
            check_address(recipient, "recipient"),
        )


@dataclass(frozen=True, slots=True)
class BurnAsset:
    """The issuer destroys ``amount`` units from its own balance."""

    KIND: ClassVar[int] = 22
    NAME: ClassVar[str] = "asset_burn"
    asset: str
    amount: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.asset, self.amount)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> BurnAsset:
        ensure(len(fields) == 2, "asset_burn has 2 fields")
        asset, amount = fields
        return cls(check_asset(asset), check_positive(amount, "amount"))
