"""What a transaction body or an end-of-block step may know about its block,
and what it hands back: shared by every executor module. Also what a
feature's system address (ledger.registry) is told of a contract message
delivered to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.params import Params
from ledger.types import Event


class BlockGas:
    """The block's gas meter: how much of the block gas limit
    (``Params.max_block_gas``) the block's contract work has used.

    Work may start only if its whole gas allowance fits in what is left
    (``fits``); once done, the gas it actually used is charged (``charge``),
    so the gas used by a block never exceeds the limit, whatever its code
    does. A reverted body's gas stays charged: the work was done. The rules
    for work that does not fit (docs/adr/0022-block-gas-limit.md): a
    transaction may not be in the block, a message is dropped, a scheduled
    run waits for a later block.
    """

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    def fits(self, gas: int) -> bool:
        """May work with an allowance of ``gas`` start now?"""
        return gas <= self.limit - self.used

    def charge(self, gas: int) -> None:
        """Count ``gas`` used by work that was allowed to start (``fits``)."""
        assert 0 <= gas <= self.limit - self.used, "work ran past the block gas limit"
        self.used += gas


@dataclass(frozen=True, slots=True)
class BlockContext:
    """The block being executed, as executors see it (no clock, no randomness:
    time is the proposer's header time, identical on every node). ``gas``
    is the one mutable part: the block's gas meter."""

    chain_id: str
    height: int
    time_ms: int
    proposer: bytes
    params: Params
    gas: BlockGas


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a successful body execution reports for its receipt."""

    events: tuple[Event, ...] = ()
    gas_used: int = 0


@dataclass(frozen=True, slots=True)
class Origin:
    """What started a chain of contract executions: a transaction, by its
    signer's address and nonce, or a contract's scheduled run (the contract's
    address, nonce None)."""

    address: bytes
    nonce: int | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A contract message to a feature's system address: the contract that
    sent it, what started the chain of executions it belongs to, the entry
    it names, its arguments (VM values: int or bytes) and the gas it carries
    (reserved from the sender; what the handler reports used is burned, the
    rest refunded)."""

    sender: bytes
    origin: Origin
    entry: str
    args: tuple[Any, ...]
    gas: int
