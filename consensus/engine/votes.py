"""Vote bookkeeping for one height: proposals and votes per round, with
power tallies and equivocation detection.

``VoteTally`` keeps one (round, step)'s votes: the first vote of each
validator and the power behind each value (a block hash, or None for nil).
``HeightVotes`` keeps every round of a height, the power of the distinct
validators heard from in each round (for the round-skip rule, line 55 of the
paper) and reports conflicting messages as evidence.

Memory is bounded against Byzantine validators that sign messages for
endless future rounds: for rounds above the engine's current round, each
validator's messages are kept for one round only, its highest; a message for
a higher future round evicts that validator's messages from the lower one
(an honest validator only moves up, so its latest round is the useful one).
Messages are added here only after the engine checked their signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from consensus.engine.evidence import Evidence, duplicate_proposal, duplicate_vote
from consensus.engine.messages import Step, Vote
from consensus.engine.validators import ValidatorSet
from consensus.engine.wire import ProposalMessage


class Added(Enum):
    """What adding a message did."""

    NEW = "new"  # stored and counted
    DUPLICATE = "duplicate"  # the same message (or payload) was already stored
    CONFLICT = "conflict"  # a different message for the same slot: evidence
    IGNORED = "ignored"  # not stored (an older future round of that validator)


@dataclass
class VoteTally:
    """The votes of one step in one round.

    ``first`` holds each validator's first vote (the "2f+1 of any value"
    rules count distinct validators). ``by_value`` holds, per value, the
    validators that voted for it: normally one value per validator, but an
    equivocator's second vote is counted too when ``count_conflicting`` (the
    value was proposed at this height): the paper counts every PREVOTE for
    id(v) received, and ignoring it lets an equivocator hide an honest
    quorum from some nodes forever.
    """

    first: dict[bytes, Vote] = field(default_factory=dict)
    by_value: dict[bytes | None, dict[bytes, Vote]] = field(default_factory=dict)
    power_by_value: dict[bytes | None, int] = field(default_factory=dict)
    total_power: int = 0

    def add(self, vote: Vote, power: int, count_conflicting: bool) -> tuple[Added, Vote | None]:
        """Count ``vote``; returns (NEW, None), (DUPLICATE, None) or
        (CONFLICT, the validator's first vote)."""
        voters = self.by_value.get(vote.block_hash)
        if voters is not None and vote.validator in voters:
            return Added.DUPLICATE, None
        existing = self.first.get(vote.validator)
        if existing is None:
            self.first[vote.validator] = vote
            self.total_power += power
        elif not count_conflicting:
            return Added.CONFLICT, existing
        self.by_value.setdefault(vote.block_hash, {})[vote.validator] = vote
        self.power_by_value[vote.block_hash] = self.power_by_value.get(vote.block_hash, 0) + power
        return (Added.NEW, None) if existing is None else (Added.CONFLICT, existing)

    def remove(self, validator: bytes, power: int) -> None:
        """Forget a validator's votes (future-round eviction)."""
        if self.first.pop(validator, None) is None:
            return
        self.total_power -= power
        for value, voters in self.by_value.items():
            if voters.pop(validator, None) is not None:
                self.power_by_value[value] -= power

    def power_for(self, value: bytes | None) -> int:
        """The power of the validators that voted for ``value`` (a block hash, or None)."""
        return self.power_by_value.get(value, 0)

    def votes_for(self, value: bytes | None) -> list[Vote]:
        """The votes for ``value``, one per validator."""
        return list(self.by_value.get(value, {}).values())


@dataclass
class RoundVotes:
    """Everything heard in one round of a height."""

    proposal: ProposalMessage | None = None
    prevotes: VoteTally = field(default_factory=VoteTally)
    precommits: VoteTally = field(default_factory=VoteTally)
    senders: dict[bytes, int] = field(default_factory=dict)  # address -> power
    sender_power: int = 0

    def tally(self, step: Step) -> VoteTally:
        return self.prevotes if step is Step.PREVOTE else self.precommits

    def note_sender(self, address: bytes, power: int) -> None:
        if address not in self.senders:
            self.senders[address] = power
            self.sender_power += power

    def evict(self, address: bytes) -> None:
        power = self.senders.pop(address, 0)
        self.sender_power -= power
        self.prevotes.remove(address, power)
        self.precommits.remove(address, power)
        if self.proposal is not None and self.proposal.proposal.proposer == address:
            self.proposal = None


class HeightVotes:
    """The proposals and votes of one height, by round."""

    def __init__(self, height: int, validator_set: ValidatorSet) -> None:
        self.height = height
        self.validator_set = validator_set
        self.rounds: dict[int, RoundVotes] = {}
        self._future_round: dict[bytes, int] = {}
        self._proposed: set[bytes] = set()  # block hashes of stored proposals
        self._reported: set[tuple[bytes, int, Step]] = set()

    def round(self, round: int) -> RoundVotes:
        """The round's record (created empty if new)."""
        record = self.rounds.get(round)
        if record is None:
            record = self.rounds[round] = RoundVotes()
        return record

    def add_vote(self, vote: Vote, current_round: int) -> tuple[Added, Evidence | None]:
        """Store a verified vote of a validator of this height.

        Returns the outcome and, the first time a validator equivocates in a
        (round, step), the evidence. A CONFLICT vote may still have been
        counted (see VoteTally).
        """
        validator = self.validator_set.get(vote.validator)
        assert validator is not None and vote.height == self.height
        if not self._admit_future(vote.validator, vote.round, current_round):
            return Added.IGNORED, None
        record = self.round(vote.round)
        count_conflicting = vote.block_hash is None or vote.block_hash in self._proposed
        outcome, existing = record.tally(vote.step).add(vote, validator.power, count_conflicting)
        if outcome is Added.CONFLICT:
            assert existing is not None
            return outcome, self._report(
                vote.validator, vote.round, vote.step, duplicate_vote(existing, vote)
            )
        record.note_sender(vote.validator, validator.power)
        return outcome, None

    def add_proposal(
        self, message: ProposalMessage, current_round: int
    ) -> tuple[Added, Evidence | None]:
        """Store a verified proposal from the round's proposer."""
        proposal = message.proposal
        validator = self.validator_set.get(proposal.proposer)
        assert validator is not None and proposal.height == self.height
        if not self._admit_future(proposal.proposer, proposal.round, current_round):
            return Added.IGNORED, None
        record = self.round(proposal.round)
        if record.proposal is not None:
            existing = record.proposal.proposal
            if existing.payload() == proposal.payload():
                return Added.DUPLICATE, None
            return Added.CONFLICT, self._report(
                proposal.proposer,
                proposal.round,
                Step.PROPOSE,
                duplicate_proposal(existing, proposal),
            )
        record.proposal = message
        self._proposed.add(proposal.block_hash)
        record.note_sender(proposal.proposer, validator.power)
        return Added.NEW, None

    def _admit_future(self, address: bytes, round: int, current_round: int) -> bool:
        if round <= current_round:
            return True
        previous = self._future_round.get(address)
        if previous is not None and previous > current_round:
            if round < previous:
                return False
            if round > previous:
                self.rounds[previous].evict(address)
        self._future_round[address] = round
        return True

    def _report(
        self, address: bytes, round: int, step: Step, evidence: Evidence
    ) -> Evidence | None:
        key = (address, round, step)
        if key in self._reported:
            return None
        self._reported.add(key)
        return evidence
