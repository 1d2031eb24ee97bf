"""Chain parameters: set at genesis, stored in state, read at every block."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import codec
from ledger.types import check_amount, check_uint, ensure


@dataclass(frozen=True, slots=True)
class Params:
    """Consensus-critical limits and prices."""

    min_fee: int = 1  # in the native coin, per transaction
    max_block_txs: int = 10_000
    max_block_bytes: int = 8 * 1024 * 1024

    def to_value(self) -> tuple[Any, ...]:
        return (self.min_fee, self.max_block_txs, self.max_block_bytes)

    def encode(self) -> bytes:
        return codec.encode(self.to_value())


def params_from_value(value: object) -> Params:
    """Params from their array form. Raises DecodeError."""
    ensure(isinstance(value, tuple) and len(value) == 3, "params must be a 3-element array")
    assert isinstance(value, tuple)
    min_fee, max_txs, max_bytes = value
    return Params(
        min_fee=check_amount(min_fee, "min_fee"),
        max_block_txs=check_uint(max_txs, "max_block_txs", 1_000_000),
        max_block_bytes=check_uint(max_bytes, "max_block_bytes", 1 << 30),
    )


def decode_params(data: bytes) -> Params:
    return params_from_value(codec.decode(data))
