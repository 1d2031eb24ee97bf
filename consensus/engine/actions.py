"""What the engine asks its caller to do: the outputs of the state machine.

The caller carries out a list of actions in order. A ``Persist`` must be
durable before the caller carries out the next action: it always comes
right before the ``Broadcast`` of the signed message it covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from consensus.engine.certificate import CommitCertificate
from consensus.engine.evidence import Evidence
from consensus.engine.record import ConsensusRecord
from consensus.engine.wire import Message


class TimeoutKind(IntEnum):
    """The paper's three timeouts, and the engine's re-broadcast timer."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    GOSSIP = 4


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``message`` to every peer."""

    message: Message


@dataclass(frozen=True, slots=True)
class Persist:
    """Make ``record`` durable (replacing the previous one) before going on."""

    record: ConsensusRecord


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    """Call ``on_timeout(kind, height, round)`` after ``duration`` ticks."""

    kind: TimeoutKind
    height: int
    round: int
    duration: int


@dataclass(frozen=True, slots=True)
class RequestProposal:
    """Build a block for (height, round) and pass it to ``on_proposal_ready``."""

    height: int
    round: int


@dataclass(frozen=True, slots=True)
class Commit:
    """``block`` is decided at ``height``; ``certificate`` proves it. Apply the
    block, store it with the certificate, then call ``start_height(height + 1, ...)``."""

    height: int
    block_hash: bytes
    block: bytes
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class ReportEvidence:
    """A validator equivocated; record ``evidence`` on chain."""

    evidence: Evidence


Action = Broadcast | Persist | ScheduleTimeout | RequestProposal | Commit | ReportEvidence
