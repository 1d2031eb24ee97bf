"""What a node keeps of its history, and what it may forget.

The settings are Cosmos SDK's (``[pruning]`` in the node's config.toml,
docs/spec/node.md; the decision record is docs/adr/0024-pruning.md):

- ``keep_recent`` N: keep the states of the last N heights (0: keep every
  state, an archive node). The state at the tip is always kept.
- ``keep_every`` M: also keep, for good, the state of every height that is
  a positive multiple of M (0: none). Only with ``keep_recent``.
- ``retain_blocks`` R: keep the blocks, receipts, commit certificates and
  indexes (transactions by hash, account history) of the last R heights,
  so the *retain height* is ``tip - R + 1`` (0: keep every block). At
  least 2, so that the tip's validator set record, saved with the block
  before it, survives.

A state that is no longer kept is answered with a typed error ("height
pruned") by every query at that height; so is a block below the retain
height. Pruning runs after each commit and forgets at most
``max_heights_per_pass`` heights of states and of blocks per commit, so a
node that turns pruning on over a long history catches up a few heights
per block instead of stalling for minutes.

This module is the policy only (pure); ledger.store carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIN_RETAIN_BLOCKS: Final = 2
DEFAULT_HEIGHTS_PER_PASS: Final = 4


class PruningError(ValueError):
    """Settings that contradict each other; the message says which."""


class HeightPruned(LookupError):
    """The state or block of ``height`` was pruned on this node. ``earliest``
    is the first height it still holds (of states or of blocks)."""

    def __init__(self, what: str, height: int, earliest: int) -> None:
        super().__init__(
            f"the {what} at height {height} is pruned on this node"
            f" (it keeps {what}s from height {earliest} on)"
        )
        self.what = what
        self.height = height
        self.earliest = earliest


@dataclass(frozen=True)
class PruningPolicy:
    keep_recent: int = 0
    keep_every: int = 0
    retain_blocks: int = 0
    max_heights_per_pass: int = DEFAULT_HEIGHTS_PER_PASS

    def __post_init__(self) -> None:
        for name in ("keep_recent", "keep_every", "retain_blocks"):
            if getattr(self, name) < 0:
                raise PruningError(f"pruning.{name} must not be negative")
        if self.keep_every and not self.keep_recent:
            raise PruningError(
                "pruning.keep_every needs pruning.keep_recent (with keep_recent = 0 every state"
                " is kept anyway)"
            )
        if 0 < self.retain_blocks < MIN_RETAIN_BLOCKS:
            raise PruningError(
                f"pruning.retain_blocks is 0 (keep every block) or at least {MIN_RETAIN_BLOCKS}"
            )
        if self.max_heights_per_pass < 1:
            raise PruningError("at least one height per pruning pass")

    @property
    def prunes_states(self) -> bool:
        return self.keep_recent > 0

    @property
    def prunes_blocks(self) -> bool:
        return self.retain_blocks > 0

    def state_horizon(self, tip: int, floor: int | None = None) -> int:
        """The lowest height whose state stays (besides the ``keep_every``
        ones): ``tip - keep_recent + 1``, and no higher than ``floor`` (a
        state the node still needs, e.g. a snapshot it serves). 0 when
        states are not pruned."""
        if not self.prunes_states:
            return 0
        horizon = max(0, tip - self.keep_recent + 1)
        return horizon if floor is None else max(0, min(horizon, floor))

    def retain_height(self, tip: int) -> int:
        """The lowest height whose block stays (1 when blocks are not pruned)."""
        if not self.prunes_blocks:
            return 1
        return max(1, tip - self.retain_blocks + 1)

    def kept_for_good(self, height: int) -> bool:
        """Whether the state of ``height`` is kept past the recent window."""
        return self.keep_every > 0 and height >= 1 and height % self.keep_every == 0
