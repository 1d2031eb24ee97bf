"""Engine mutants: each breaks one rule of consensus.engine.engine on purpose.

The simulation's default configurations must catch every one of them within
the seeds CI runs (tests/consensus/engine/test_mutation_gate.py). Each is the real
engine with the smallest change that breaks the rule; the letters are those
of the issue that asked for them (consensus safety, section 7), the rest are
extra ones for the adversaries added with them.
"""

from __future__ import annotations

from consensus.engine.actions import Action, Broadcast, Persist
from consensus.engine.certificate import CommitCertificate
from consensus.engine.engine import Engine
from consensus.engine.message_checks import BlockMismatch, check_proposal
from consensus.engine.messages import Vote
from consensus.engine.record import ConsensusRecord
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.votes import Added, HeightVotes
from consensus.engine.wire import Message, ProposalMessage


class IgnoresLock(Engine):
    """(a) Prevotes any valid proposal whatever it is locked on (lines 23 and
    29 without their lock condition)."""

    def _lock_allows(self, block_hash: bytes, pol_round: int) -> bool:
        return True


class SkipsValidity(Engine):
    """(b) Never asks valid(v): every block is valid (lines 22, 28, 36, 49)."""

    def _valid(self, block_hash: bytes, block: bytes) -> bool:
        return True


class TrustsProofOfLockRound(Engine):
    """(c) Accepts a proposal's validRound without the 2f+1 prevotes of that
    round (line 28 without its polka)."""

    def _has_polka(self, round: int, value: bytes) -> bool:
        return True


class ForgetsLockOnRestart(Engine):
    """(d) Restores everything but the lock from the persisted record."""

    def _recover_lock(self, record: ConsensusRecord) -> None:
        return


class BroadcastsBeforePersisting(Engine):
    """(e) Sends its newly signed message before the record covering it."""

    def _send_own(self, message: Message, actions: list[Action]) -> None:
        super()._send_own(message, actions)
        persist, broadcast = actions[-2], actions[-1]
        assert isinstance(persist, Persist) and isinstance(broadcast, Broadcast)
        actions[-2:] = [broadcast, persist]


class NeverUpdatesValidValue(Engine):
    """(f) Never sets validValue/validRound (lines 42-43), so a proposer
    never re-proposes a value that may be locked."""

    def _update_valid(self, value: bytes, block: bytes) -> None:
        return


class DecidesAcrossRounds(Engine):
    """(g) Decides when precommits for a value add up to 2f+1 over all
    rounds (line 49 needs 2f+1 of one round)."""

    def _rule_decide(self, actions: list[Action]) -> bool:
        totals: dict[bytes, int] = {}
        for record in self.votes.rounds.values():
            for value, power in record.precommits.power_by_value.items():
                if value is not None:
                    totals[value] = totals.get(value, 0) + power
        for value, total in totals.items():
            if not self.validators.has_quorum(total):
                continue
            rounds = [r for r, rec in self.votes.rounds.items() if rec.precommits.power_for(value)]
            best = max(rounds, key=lambda r: self.votes.rounds[r].precommits.power_for(value))
            block = next(
                (b for r in sorted(self.votes.rounds) if (b := self._block_for(value, r))),
                None,
            )
            if block is not None and self._valid(value, block):
                votes = self.votes.rounds[best].precommits.votes_for(value)
                self._decide(block, CommitCertificate.from_precommits(votes), actions)
                return True
        return False


class CountsVotesByNumber(Engine):
    """(h) Counts validators, not voting power: every threshold is taken over
    the number of validators (the proposer order stays the real one)."""

    def _reset(self, height: int, validator_set: ValidatorSet | None) -> None:
        self._by_number: ValidatorSet | None = None
        if validator_set is not None:
            self._by_number = ValidatorSet.create(
                Validator(v.address, v.public_key, 1) for v in validator_set.validators
            )
        super()._reset(height, validator_set)
        if self._by_number is not None:
            self._votes = HeightVotes(height, self._by_number)

    @property
    def validators(self) -> ValidatorSet:
        assert self._by_number is not None
        return self._by_number

    def _proposer(self, round: int) -> Validator:
        assert self.validator_set is not None
        if round >= len(self._proposers):
            self._proposers = self.validator_set.proposers(max(round + 1, 2 * len(self._proposers)))
        return self._proposers[round]


class SkipsRoundsByNumber(Engine):
    """(i) Skips to a higher round on messages of more than a third of the
    validators by number, not by power (line 55)."""

    def _rule_skip_round(self, actions: list[Action]) -> bool:
        count = len(self.validators)
        target = max(
            (
                r
                for r in self.votes.rounds_above(self.round)
                if 3 * len(self.votes.rounds[r].senders) > count
            ),
            default=None,
        )
        if target is None:
            return False
        self._start_round(target, actions)
        return True


class UnlocksOnStalePolka(Engine):
    """Extra: unlocks on any proof of lock, however old (line 29 without
    lockedRound <= vr)."""

    def _lock_allows(self, block_hash: bytes, pol_round: int) -> bool:
        return pol_round >= 0 or super()._lock_allows(block_hash, pol_round)


class KeepsSwappedBodies(Engine):
    """Extra: takes the proposal's block on the strength of the proposer's
    signature when the block's body does not match its header (it keeps the
    first copy it gets, as the engine did before block ids bound the body)."""

    def _on_proposal(self, message: ProposalMessage, actions: list[Action]) -> None:
        try:
            super()._on_proposal(message, actions)
        except BlockMismatch:
            proposal = message.proposal
            proposer = self._proposer(proposal.round)
            check_proposal(
                message,
                proposer,
                self.chain_id,
                self._verify,
                lambda block: proposal.block_hash,
                self.config.max_block_size,
            )
            outcome, _ = self.votes.add_proposal(message, self.round)
            if outcome is Added.NEW:
                self._run_rules(actions)


class BuffersNextHeightUnchecked(Engine):
    """Extra: keeps every message for the next height, unchecked and counted
    only by number (as the engine did before), up to 10,000."""

    def on_message(self, message: Message) -> list[Action]:
        if message.height == self.height + 1:
            buffered = self.__dict__.setdefault("_unchecked", [])
            if len(buffered) < 10_000:
                buffered.append(message)
            return []
        return super().on_message(message)

    def start_height(
        self,
        height: int,
        validator_set: ValidatorSet,
        next_validator_set: ValidatorSet | None = None,
    ) -> list[Action]:
        buffered = self.__dict__.pop("_unchecked", [])
        actions = super().start_height(height, validator_set, next_validator_set)
        self._replay([m for m in buffered if m.height == height], actions)
        return actions

    @property
    def buffered_bytes(self) -> int:
        return sum(_size(m) for m in self.__dict__.get("_unchecked", []))


def _size(message: Message) -> int:
    if isinstance(message, ProposalMessage):
        return len(message.block) + 200
    if isinstance(message, Vote):
        return 160
    return len(message.block) + 800


# The mutants the issue lists, by letter, then the extra ones.
MUTANTS: dict[str, type[Engine]] = {
    "a-ignores-lock": IgnoresLock,
    "b-skips-validity": SkipsValidity,
    "c-trusts-pol-round": TrustsProofOfLockRound,
    "d-forgets-lock-on-restart": ForgetsLockOnRestart,
    "e-broadcasts-before-persisting": BroadcastsBeforePersisting,
    "f-never-updates-valid-value": NeverUpdatesValidValue,
    "g-decides-across-rounds": DecidesAcrossRounds,
    "h-counts-votes-by-number": CountsVotesByNumber,
    "i-skips-rounds-by-number": SkipsRoundsByNumber,
    "unlocks-on-stale-polka": UnlocksOnStalePolka,
    "keeps-swapped-bodies": KeepsSwappedBodies,
    "buffers-next-height-unchecked": BuffersNextHeightUnchecked,
}
