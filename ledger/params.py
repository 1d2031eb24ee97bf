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
    # Resource credits minted to the block's validators at the end of every
    # block, split by voting power (ledger.features.bank.assets.mint_validator_credits).
    cpu_credits_per_block: int = 0
    disk_credits_per_block: int = 0
    net_credits_per_block: int = 0

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.min_fee,
            self.max_block_txs,
            self.max_block_bytes,
            self.cpu_credits_per_block,
            self.disk_credits_per_block,
            self.net_credits_per_block,
        )

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    def credits_per_block(self) -> tuple[tuple[str, int], ...]:
        """``(asset, amount)`` minted to the validators per block, in asset order."""
        return (
            ("cpu", self.cpu_credits_per_block),
            ("disk", self.disk_credits_per_block),
            ("net", self.net_credits_per_block),
        )


def params_from_value(value: object) -> Params:
    """Params from their array form. Raises DecodeError."""
    ensure(isinstance(value, tuple) and len(value) == 6, "params must be a 6-element array")
    assert isinstance(value, tuple)
    min_fee, max_txs, max_bytes, cpu, disk, net = value
    return Params(
        min_fee=check_amount(min_fee, "min_fee"),
        max_block_txs=check_uint(max_txs, "max_block_txs", 1_000_000),
        max_block_bytes=check_uint(max_bytes, "max_block_bytes", 1 << 30),
        cpu_credits_per_block=check_amount(cpu, "cpu_credits_per_block"),
        disk_credits_per_block=check_amount(disk, "disk_credits_per_block"),
        net_credits_per_block=check_amount(net, "net_credits_per_block"),
    )


def decode_params(data: bytes) -> Params:
    return params_from_value(codec.decode(data))
