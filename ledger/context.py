"""What a transaction body or an end-of-block step may know about its block,
and what it hands back: shared by every executor module. Also what a
feature's system address (ledger.registry) is told of a contract message
delivered to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.params import Params
from ledger.types import Event


@dataclass(frozen=True, slots=True)
class BlockContext:
    """The block being executed, as executors see it (no clock, no randomness:
    time is the proposer's header time, identical on every node)."""

    chain_id: str
    height: int
    time_ms: int
    proposer: bytes
    params: Params


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
