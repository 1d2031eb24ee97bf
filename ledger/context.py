"""What a transaction body or an end-of-block step may know about its block,
and what it hands back: shared by every executor module."""

from __future__ import annotations

from dataclasses import dataclass

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
