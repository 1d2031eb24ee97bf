"""The Tendermint consensus engine as a pure state machine.

This is Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon,
Milosevic, arXiv:1807.04938); comments cite its pseudo-code lines. Inputs
are method calls, outputs are lists of actions the caller carries out in
order; the engine does no I/O, reads no clock and draws no randomness.

Inputs:
    start_height(height, validator_set)   begin a height (after the previous Commit)
    restore(record, validator_set)        resume a height from a persisted record
    on_timeout(kind, height, round)       a ScheduleTimeout fired
    on_message(message)                   a decoded wire message from a peer
    on_proposal_ready(height, round, block)  the block asked for by RequestProposal

Actions (consensus.engine.actions): Broadcast, Persist, ScheduleTimeout,
RequestProposal, Commit, ReportEvidence. Contract: carry them out in order;
a Persist must be durable before any later action is carried out (it always
precedes the Broadcast of the message it covers); after a Commit, apply the
block, then call start_height for the next height with its validator set.

Deviations from the paper, all for running over a lossy network:
- The proposer schedules timeoutPropose too (line 21 only does it for the
  others), so a slow application cannot stall a round.
- Every ``gossip_interval`` ticks the engine re-broadcasts its own signed
  messages of the height's latest ``gossip_rounds`` rounds, and a proposer
  whose proposal carries a proof-of-lock round re-broadcasts the prevotes of
  that round (the paper assumes gossip delivers everything eventually).
- A ``CommitMessage`` (a certificate and its block for the current height)
  decides the height directly: a node that fell behind catches up without
  running rounds. Sending it to peers that are behind is the reactor's job.
- Messages for the next height are checked (against the next height's
  validator set when the caller passes it), kept within bounds per signer and
  in bytes (consensus.engine.next_height) and replayed by start_height.
- Equivocations are relayed: once the engine has seen a validator sign two
  conflicting messages in a round, it re-broadcasts that validator's messages
  of the round (at most two per step), so every honest node sees the
  equivocation and can report it; when validators with more than 1/3 of the
  power voted for another value than the round's proposal it holds, the
  proposer must have signed two proposals, and the engine re-broadcasts its
  proposal (once per round).
- The lock survives losing the WAL: a Persist that changes the lock says so
  (``lock_changed``) and the node keeps that record with its double-sign
  guard too, to restore from. A restart sends the signer's last vote again
  if the record lost it (the guard is written before signing, the WAL after).
- A prevote or precommit step that waits for votes much longer than its
  timeouts (``stall_timeout``) ends as if its timeout had fired: votes a
  restarted validator lost can never arrive (see Engine._unstall).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from consensus.engine.actions import (
    Action,
    Broadcast,
    Commit,
    Persist,
    ReportEvidence,
    RequestProposal,
    ScheduleTimeout,
    TimeoutKind,
)
from consensus.engine.certificate import CommitCertificate
from consensus.engine.message_checks import BlockMismatch as BlockMismatch
from consensus.engine.message_checks import InvalidMessage as InvalidMessage
from consensus.engine.message_checks import MalformedBlock as MalformedBlock
from consensus.engine.message_checks import check_commit, check_proposal, check_vote
from consensus.engine.messages import Step, Verifier, Vote
from consensus.engine.next_height import PROPOSAL_OVERHEAD, NextHeightBuffer
from consensus.engine.record import ConsensusRecord
from consensus.engine.signer import NO_STEP, DoubleSignError, Signer
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.votes import Added, HeightVotes
from consensus.engine.wire import CommitMessage, Message, ProposalMessage
from ledger import crypto


class Application(Protocol):
    """What the engine needs from the application. Both must be pure and
    deterministic: every honest node must give the same answer."""

    def block_hash(self, block: bytes) -> bytes:
        """The 32-byte id of a block value. It must bind every byte of the
        value: no two different byte strings get one id. Raises MalformedBlock
        for bytes that are not a block, or whose body does not match what its
        header commits to (a header-hash id binds the body only through that
        check). The engine then treats the message as never received."""
        ...

    def validate_block(self, height: int, block: bytes) -> bool:
        """valid(v) of the paper: may this block be decided at ``height``?"""
        ...


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Timeouts in ticks and gossip settings.

    timeoutX(r) = X_timeout + r * X_timeout_delta (the paper's
    initTimeoutX + r * timeoutDelta), so rounds grow long enough to outlast
    any unknown bound on message delay.
    """

    propose_timeout: int = 30
    propose_timeout_delta: int = 10
    prevote_timeout: int = 10
    prevote_timeout_delta: int = 5
    precommit_timeout: int = 10
    precommit_timeout_delta: int = 5
    gossip_interval: int = 25
    gossip_rounds: int = 3
    # A prevote or precommit step that waits this long (stall_timeout +
    # round * stall_timeout_delta ticks, counted in gossip intervals) ends as
    # if its timeout had fired: see Engine._unstall.
    stall_timeout: int = 200
    stall_timeout_delta: int = 50
    max_block_size: int = 32 * 1024 * 1024
    max_buffered_bytes: int = 72 * 1024 * 1024  # messages for the next height
    max_proposal_lookahead: int = 64  # future rounds for which a proposal is checked

    def __post_init__(self) -> None:
        if self.max_buffered_bytes < self.max_block_size + PROPOSAL_OVERHEAD:
            raise ValueError("max_buffered_bytes must hold at least one largest proposal")

    def timeout(self, kind: TimeoutKind, round: int) -> int:
        """The duration in ticks of a round's timeout of ``kind``."""
        if kind is TimeoutKind.PROPOSE:
            return self.propose_timeout + round * self.propose_timeout_delta
        if kind is TimeoutKind.PREVOTE:
            return self.prevote_timeout + round * self.prevote_timeout_delta
        if kind is TimeoutKind.PRECOMMIT:
            return self.precommit_timeout + round * self.precommit_timeout_delta
        return self.gossip_interval


NO_ROUND = -1
RELAYED_PER_STEP = 2  # messages of an equivocator relayed per (round, step): enough to show it


class Engine:
    """One validator's (or observer's, with signer=None) consensus state machine."""

    def __init__(
        self,
        config: EngineConfig,
        chain_id: str,
        signer: Signer | None,
        app: Application,
        verify: Verifier = crypto.verify_digest,
    ) -> None:
        self.config = config
        self.chain_id = chain_id
        self.signer = signer
        self.app = app
        self._verify = verify
        self._buffer: NextHeightBuffer | None = None  # messages for the next height
        self._reset(0, None)  # decided (idle) until start_height or restore

    # -- state -----------------------------------------------------------

    def _reset(self, height: int, validator_set: ValidatorSet | None) -> None:
        # lines 1-9 (per height: line 53 resets the locks)
        self.height = height
        self.validator_set = validator_set
        self.round = 0
        self.step = Step.PROPOSE
        self.decided = validator_set is None
        self.locked_round = NO_ROUND
        self.locked_hash: bytes | None = None
        self.locked_block: bytes | None = None
        self.valid_round = NO_ROUND
        self.valid_hash: bytes | None = None
        self.valid_block: bytes | None = None
        self._votes = HeightVotes(height, validator_set) if validator_set else None
        self._own: dict[tuple[int, Step], Message] = {}
        self._fired: set[tuple[int, int]] = set()  # (paper line, round) of "for the first time"
        self._validity: dict[bytes, bool] = {}  # by block id, which binds the block's bytes
        self._proposers: list[Validator] = []
        self._equivocated: set[tuple[bytes, int]] = set()  # (validator, round) seen equivocating
        self._relayed: dict[tuple[bytes, int, Step], list[Message]] = {}  # relayed, by slot
        self._relayed_proposals: set[int] = set()  # rounds whose proposal was relayed
        self._stall: tuple[int, Step, int] = (0, Step.PROPOSE, 0)  # round, step, ticks in it
        self._persisted_lock: tuple[int, bytes | None] = (NO_ROUND, None)

    @property
    def buffered_bytes(self) -> int:
        """The bytes of the messages kept for the next height (bounded by
        ``max_buffered_bytes``)."""
        return 0 if self._buffer is None else self._buffer.size

    @property
    def votes(self) -> HeightVotes:
        assert self._votes is not None, "no height started"
        return self._votes

    @property
    def validators(self) -> ValidatorSet:
        assert self.validator_set is not None, "no height started"
        return self.validator_set

    # -- inputs ----------------------------------------------------------

    def start_height(
        self,
        height: int,
        validator_set: ValidatorSet,
        next_validator_set: ValidatorSet | None = None,
    ) -> list[Action]:
        """Begin ``height`` with its validator set (line 10, and line 54 after a
        decision). ``next_validator_set``, the set of ``height + 1`` if the
        caller knows it, lets messages for that height be checked before they
        are kept. If the signer already signed at ``height`` (a restart that
        lost its record), the engine enters that round and sends its last vote
        again (see _resume_signed)."""
        assert height > self.height, "heights only go up"
        buffered = self._take_buffered(height)
        self._reset(height, validator_set)
        self._new_buffer(next_validator_set)
        actions: list[Action] = []
        self._start_round(0, actions)
        self._schedule(TimeoutKind.GOSSIP, 0, actions)
        self._resume_signed(actions)
        self._run_rules(actions)
        self._replay(buffered, actions)
        return actions

    def restore(
        self,
        record: ConsensusRecord,
        validator_set: ValidatorSet,
        next_validator_set: ValidatorSet | None = None,
    ) -> list[Action]:
        """Resume from a persisted record: same height, round, step, locks and
        own messages; the own messages are re-sent, the current step's timeout
        rescheduled. ``record`` is the WAL's latest, or, if the WAL was lost,
        the latest one kept with the double-sign guard (``Persist.lock_changed``).
        The signer carries the newest signer state the node has (the guard's,
        which may be ahead of the record: see _resume_signed)."""
        assert record.height > self.height, "restore into a fresh engine"
        self._reset(record.height, validator_set)
        self._new_buffer(next_validator_set)
        self.round, self.step = record.round, record.step
        self._recover_lock(record)
        if record.valid_block is not None:
            self.valid_round = record.valid_round
            self.valid_block = record.valid_block
            self.valid_hash = self.app.block_hash(record.valid_block)
        for message in record.messages:
            self._remember_own(message)
        for vote in record.valid_proof:
            self.votes.add_vote(vote, self.round)
        actions: list[Action] = []
        if self.step is Step.PROPOSE:
            self._schedule(TimeoutKind.PROPOSE, self.round, actions)
            if self._is_proposer(self.round) and (self.round, Step.PROPOSE) not in self._own:
                self._propose_or_request(actions)
        self._resume_signed(actions)
        self._gossip(actions)
        self._run_rules(actions)
        return actions

    def on_timeout(self, kind: TimeoutKind, height: int, round: int) -> list[Action]:
        """A timeout scheduled earlier fired (lines 57-67)."""
        actions: list[Action] = []
        if height != self.height or self.decided:
            return actions
        if kind is TimeoutKind.GOSSIP:
            self._gossip(actions)
            self._unstall(actions)
        elif round != self.round:
            return actions
        elif kind is TimeoutKind.PROPOSE and self.step is Step.PROPOSE:
            # lines 57-60: OnTimeoutPropose
            self._vote(Step.PREVOTE, None, actions)
        elif kind is TimeoutKind.PREVOTE and self.step is Step.PREVOTE:
            # lines 61-64: OnTimeoutPrevote
            self._vote(Step.PRECOMMIT, None, actions)
        elif kind is TimeoutKind.PRECOMMIT:
            # lines 65-67: OnTimeoutPrecommit
            self._start_round(self.round + 1, actions)
        self._run_rules(actions)
        return actions

    def on_message(self, message: Message) -> list[Action]:
        """A message from the network. Raises InvalidMessage for a provably
        bad one (``exc.message`` is it; BlockMismatch when only its block is
        not the one signed); ignores stale ones. Nothing of a bad message is kept."""
        actions: list[Action] = []
        if message.height == self.height + 1:
            if self._buffer is not None:
                self._buffer.offer(message)
            return actions
        if message.height != self.height or self.decided:
            return actions
        if isinstance(message, Vote):
            self._on_vote(message, actions)
        elif isinstance(message, ProposalMessage):
            self._on_proposal(message, actions)
        else:
            self._on_commit(message, actions)
        return actions

    def on_proposal_ready(self, height: int, round: int, block: bytes) -> list[Action]:
        """The application's block for a RequestProposal (getValue(), line 18)."""
        actions: list[Action] = []
        still_wanted = (
            not self.decided
            and (height, round) == (self.height, self.round)
            and self.step is Step.PROPOSE
            and (round, Step.PROPOSE) not in self._own
            and self._is_proposer(round)
        )
        if still_wanted:
            self._propose(block, self.app.block_hash(block), NO_ROUND, actions)
            self._run_rules(actions)
        return actions

    # -- message intake --------------------------------------------------

    def _on_vote(self, vote: Vote, actions: list[Action]) -> None:
        check_vote(vote, self.validators, self.chain_id, self._verify)
        outcome, evidence = self.votes.add_vote(vote, self.round)
        if evidence is not None:
            actions.append(ReportEvidence(evidence))
            self._equivocated.add((vote.validator, vote.round))
            self._relay_held(vote.validator, vote.round, actions)
        if outcome is Added.NEW or outcome is Added.CONFLICT:
            self._relay_if_equivocator(vote.validator, vote.round, vote.step, vote, actions)
            self._relay_contradicted_proposal(vote.round, actions)
            self._run_rules(actions)

    def _on_proposal(self, message: ProposalMessage, actions: list[Action]) -> None:
        proposal = message.proposal
        if proposal.round > self.round + self.config.max_proposal_lookahead:
            return  # too far ahead to check its proposer cheaply; it will be re-sent
        check_proposal(
            message,
            self._proposer(proposal.round),
            self.chain_id,
            self._verify,
            self.app.block_hash,
            self.config.max_block_size,
        )
        outcome, evidence = self.votes.add_proposal(message, self.round)
        if evidence is not None:
            actions.append(ReportEvidence(evidence))
            self._equivocated.add((proposal.proposer, proposal.round))
            self._relay_held(proposal.proposer, proposal.round, actions)
            self._relay_if_equivocator(
                proposal.proposer, proposal.round, Step.PROPOSE, message, actions
            )
        if outcome is Added.NEW:
            self._relay_if_equivocator(
                proposal.proposer, proposal.round, Step.PROPOSE, message, actions
            )
            self._relay_contradicted_proposal(proposal.round, actions)
            self._run_rules(actions)

    def _on_commit(self, message: CommitMessage, actions: list[Action]) -> None:
        check_commit(
            message,
            self.validators,
            self.chain_id,
            self._verify,
            self.app.block_hash,
            self.config.max_block_size,
        )
        # line 50: decide only a valid value (+2/3 certifying an invalid block
        # means more than f faulty validators; then refuse).
        certificate = message.certificate
        if self._valid(certificate.block_hash, message.block):
            self._decide(message.block, certificate, actions)

    # -- relaying equivocations -------------------------------------------

    def _relay_held(self, validator: bytes, round: int, actions: list[Action]) -> None:
        """``validator`` equivocated in ``round``: re-broadcast what it signed
        in that round that this engine holds, so that an equivocation split
        between parts of the network is seen (and reported) everywhere."""
        record = self.votes.rounds.get(round)
        if record is None:
            return
        if record.proposal is not None and record.proposal.proposal.proposer == validator:
            self._relay_if_equivocator(validator, round, Step.PROPOSE, record.proposal, actions)
        for step in (Step.PREVOTE, Step.PRECOMMIT):
            for voters in record.tally(step).by_value.values():
                vote = voters.get(validator)
                if vote is not None:
                    self._relay_if_equivocator(validator, round, step, vote, actions)

    def _relay_if_equivocator(
        self, validator: bytes, round: int, step: Step, message: Message, actions: list[Action]
    ) -> None:
        """Re-broadcast a new message of a validator known to have equivocated
        in this round: at most RELAYED_PER_STEP per step, each once."""
        if (validator, round) not in self._equivocated:
            return
        relayed = self._relayed.setdefault((validator, round, step), [])
        if len(relayed) < RELAYED_PER_STEP and message not in relayed:
            relayed.append(message)
            actions.append(Broadcast(message))

    def _relay_contradicted_proposal(self, round: int, actions: list[Action]) -> None:
        """Validators with more than 1/3 of the power voted in ``round`` for a
        value other than the round's proposal this engine holds: at least one
        honest validator got another proposal, so the proposer signed two.
        Re-broadcast ours (once per round) so the equivocation is seen."""
        record = self.votes.rounds.get(round)
        if record is None or record.proposal is None or round in self._relayed_proposals:
            return
        ours = record.proposal.proposal.block_hash
        for step in (Step.PREVOTE, Step.PRECOMMIT):
            for value, power in record.tally(step).power_by_value.items():
                if value not in (None, ours) and self.validators.exceeds_one_third(power):
                    self._relayed_proposals.add(round)
                    actions.append(Broadcast(record.proposal))
                    return

    def _take_buffered(self, height: int) -> list[Message]:
        buffer, self._buffer = self._buffer, None
        if buffer is None or buffer.height != height:
            return []
        return buffer.take()

    def _new_buffer(self, next_validator_set: ValidatorSet | None) -> None:
        self._buffer = NextHeightBuffer(
            self.height + 1,
            self.chain_id,
            self._verify,
            self.app.block_hash,
            self.validator_set,
            next_validator_set,
            self.config.max_buffered_bytes,
            self.config.max_block_size,
            self.config.max_proposal_lookahead,
        )

    def _replay(self, buffered: list[Message], actions: list[Action]) -> None:
        for message in buffered:
            if self.decided:
                break
            try:
                actions.extend(self.on_message(message))
            except InvalidMessage:
                continue  # only now checkable against this height's set; its sender is unknown

    # -- the upon rules --------------------------------------------------

    def _run_rules(self, actions: list[Action]) -> None:
        """Fire enabled rules until none is (the rules are executed atomically)."""
        while not self.decided and (
            self._rule_decide(actions)
            or self._rule_skip_round(actions)
            or self._rule_prevote_on_proposal(actions)
            or self._rule_schedule_prevote_timeout(actions)
            or self._rule_precommit_on_polka(actions)
            or self._rule_precommit_nil(actions)
            or self._rule_schedule_precommit_timeout(actions)
        ):
            pass

    def _rule_decide(self, actions: list[Action]) -> bool:
        # lines 49-54: upon <PROPOSAL, h, r, v, *> from proposer(h, r) AND
        # 2f+1 <PRECOMMIT, h, r, id(v)> while decision[h] = nil (any round r)
        for round_ in sorted(self.votes.precommit_quorums):
            tally = self.votes.rounds[round_].precommits
            for value, power in tally.power_by_value.items():
                if value is None or not self.validators.has_quorum(power):
                    continue
                block = self._block_for(value, round_)
                if block is not None and self._valid(value, block):  # line 50
                    certificate = CommitCertificate.from_precommits(tally.votes_for(value))
                    self._decide(block, certificate, actions)
                    return True
        return False

    def _rule_skip_round(self, actions: list[Action]) -> bool:
        # lines 55-56: upon f+1 <*, h, round, *, *> with round > round_p
        target = max(
            (
                r
                for r in self.votes.rounds_above(self.round)
                if self.validators.exceeds_one_third(self.votes.rounds[r].sender_power)
            ),
            default=None,
        )
        if target is None:
            return False
        self._start_round(target, actions)
        return True

    def _rule_prevote_on_proposal(self, actions: list[Action]) -> bool:
        if self.step is not Step.PROPOSE:
            return False
        message = self._current_proposal()
        if message is None:
            return False
        proposal = message.proposal
        if proposal.pol_round == NO_ROUND:
            # lines 22-27: upon <PROPOSAL, h, r, v, -1> from proposer(h, r) while step = propose
            acceptable = self._valid(proposal.block_hash, message.block) and self._lock_allows(
                proposal.block_hash, NO_ROUND
            )
        else:
            # lines 28-33: upon <PROPOSAL, h, r, v, vr> AND 2f+1 <PREVOTE, h, vr, id(v)>
            # while step = propose and 0 <= vr < r (decoding ensures vr < r)
            if not self._has_polka(proposal.pol_round, proposal.block_hash):
                return False
            acceptable = self._valid(proposal.block_hash, message.block) and self._lock_allows(
                proposal.block_hash, proposal.pol_round
            )
        # lines 24/26 and 30/32, then 27/33: step <- prevote
        self._vote(Step.PREVOTE, proposal.block_hash if acceptable else None, actions)
        return True

    def _has_polka(self, round: int, value: bytes) -> bool:
        """2f+1 <PREVOTE, h, round, value> (the proof of lock of line 28)."""
        record = self.votes.rounds.get(round)
        return record is not None and self.validators.has_quorum(record.prevotes.power_for(value))

    def _lock_allows(self, block_hash: bytes, pol_round: int) -> bool:
        """The locking condition: line 23 (pol_round = -1): lockedRound = -1
        or lockedValue = v; line 29: lockedRound <= vr or lockedValue = v."""
        if self.locked_hash == block_hash:
            return True
        if pol_round == NO_ROUND:
            return self.locked_round == NO_ROUND
        return self.locked_round <= pol_round

    def _rule_schedule_prevote_timeout(self, actions: list[Action]) -> bool:
        # lines 34-35: upon 2f+1 <PREVOTE, h, r, *> while step = prevote for the first time
        if self.step is not Step.PREVOTE or (34, self.round) in self._fired:
            return False
        record = self.votes.rounds.get(self.round)
        if record is None or not self.validators.has_quorum(record.prevotes.total_power):
            return False
        self._fired.add((34, self.round))
        self._schedule(TimeoutKind.PREVOTE, self.round, actions)
        return True

    def _rule_precommit_on_polka(self, actions: list[Action]) -> bool:
        # lines 36-43: upon <PROPOSAL, h, r, v, *> from proposer(h, r) AND
        # 2f+1 <PREVOTE, h, r, id(v)> while valid(v) and step >= prevote for the first time
        if self.step is Step.PROPOSE or (36, self.round) in self._fired:
            return False
        message = self._current_proposal()
        if message is None:
            return False
        value = message.proposal.block_hash
        prevotes = self.votes.round(self.round).prevotes
        if not self.validators.has_quorum(prevotes.power_for(value)):
            return False
        if not self._valid(value, message.block):
            return False
        self._fired.add((36, self.round))
        # lines 42-43, set first so that the record persisted with the
        # precommit below already holds the valid value and its proof
        self._update_valid(value, message.block)
        if self.step is Step.PREVOTE:
            # lines 37-41: lock on v and precommit it
            self.locked_round, self.locked_hash, self.locked_block = (
                self.round,
                value,
                message.block,
            )
            self._vote(Step.PRECOMMIT, value, actions)
        elif self._own:
            # No new signature, but a restarted proposer must re-propose this value.
            actions.append(Persist(self._record()))
        return True

    def _update_valid(self, value: bytes, block: bytes) -> None:
        # lines 42-43: validValue <- v; validRound <- round_p
        self.valid_round, self.valid_hash, self.valid_block = self.round, value, block

    def _rule_precommit_nil(self, actions: list[Action]) -> bool:
        # lines 44-46: upon 2f+1 <PREVOTE, h, r, nil> while step = prevote
        if self.step is not Step.PREVOTE:
            return False
        record = self.votes.rounds.get(self.round)
        if record is None or not self.validators.has_quorum(record.prevotes.power_for(None)):
            return False
        self._vote(Step.PRECOMMIT, None, actions)
        return True

    def _rule_schedule_precommit_timeout(self, actions: list[Action]) -> bool:
        # lines 47-48: upon 2f+1 <PRECOMMIT, h, r, *> for the first time
        if (47, self.round) in self._fired:
            return False
        record = self.votes.rounds.get(self.round)
        if record is None or not self.validators.has_quorum(record.precommits.total_power):
            return False
        self._fired.add((47, self.round))
        self._schedule(TimeoutKind.PRECOMMIT, self.round, actions)
        return True

    # -- transitions -----------------------------------------------------

    def _start_round(self, round: int, actions: list[Action]) -> None:
        # lines 11-21: StartRound(round)
        self.round = round
        self.step = Step.PROPOSE
        self._schedule(TimeoutKind.PROPOSE, round, actions)  # line 21 (for every node, see above)
        if self._is_proposer(round):
            self._propose_or_request(actions)

    def _propose_or_request(self, actions: list[Action]) -> None:
        # lines 15-19: propose validValue with validRound, or ask for getValue()
        if self.valid_block is not None and self.valid_hash is not None:
            self._propose(self.valid_block, self.valid_hash, self.valid_round, actions)
        else:
            actions.append(RequestProposal(self.height, self.round))

    def _propose(
        self, block: bytes, block_hash: bytes, pol_round: int, actions: list[Action]
    ) -> None:
        # line 19: broadcast <PROPOSAL, h, r, proposal, validRound>
        assert self.signer is not None
        try:
            proposal = self.signer.sign_proposal(self.height, self.round, pol_round, block_hash)
        except DoubleSignError:
            return  # already signed something else here before a restart: stay silent
        self._send_own(ProposalMessage(proposal, block), actions)

    def _vote(self, step: Step, value: bytes | None, actions: list[Action]) -> None:
        """Broadcast our prevote or precommit for ``value`` and enter ``step``."""
        self.step = step
        if self.signer is None or self.validators.get(self.signer.address) is None:
            return  # an observer follows the rounds but does not vote
        try:
            vote = self.signer.sign_vote(step, self.height, self.round, value)
        except DoubleSignError:
            # Signed something else here before a restart that lost it from the
            # record: send that again (never a second vote), or stay silent.
            signed = self._signed_vote(step)
            if signed is None:
                return
            vote = signed
        self._send_own(vote, actions)

    def _send_own(self, message: Message, actions: list[Action]) -> None:
        # Persist before send: the record covering this signature comes first.
        self._remember_own(message)
        lock = (self.locked_round, self.locked_hash)
        actions.append(Persist(self._record(), lock_changed=lock != self._persisted_lock))
        self._persisted_lock = lock
        actions.append(Broadcast(message))

    def _remember_own(self, message: Message) -> None:
        if isinstance(message, Vote):
            self._own[(message.round, message.step)] = message
            self.votes.add_vote(message, self.round)
        elif isinstance(message, ProposalMessage):
            self._own[(message.proposal.round, Step.PROPOSE)] = message
            self.votes.add_proposal(message, self.round)
        # Only the latest gossip_rounds rounds are re-sent and persisted: keep
        # no more (a height can last many rounds).
        rounds = sorted({r for r, _ in self._own}, reverse=True)
        if len(rounds) > self.config.gossip_rounds:
            oldest = rounds[self.config.gossip_rounds - 1]
            for key in [k for k in self._own if k[0] < oldest]:
                del self._own[key]

    def _recover_lock(self, record: ConsensusRecord) -> None:
        """Adopt the lock of a persisted record: the WAL's, or, if the WAL was
        lost, the copy kept with the double-sign guard (``Persist.lock_changed``).
        Every precommit for a value was persisted with its lock before it was
        sent, so a lock newer than the record's was never sent and binds nothing."""
        if record.locked_block is not None:
            self.locked_round = record.locked_round
            self.locked_block = record.locked_block
            self.locked_hash = self.app.block_hash(record.locked_block)
            self._persisted_lock = (self.locked_round, self.locked_hash)

    def _resume_signed(self, actions: list[Action]) -> None:
        """After a restart that lost the record, or its last entry (the guard
        is written before a signature exists, the record after): enter the
        round of the signer's last signature at this height and send that vote
        again, so the validator's vote is not missing where its peers wait
        for it. (A lost proposal cannot be rebuilt: the round goes on without.)"""
        state = None if self.signer is None else self.signer.state
        if state is None or state.height != self.height or state.step == NO_STEP:
            return
        if state.round > self.round:
            self._start_round(state.round, actions)
        step = Step(state.step)
        if state.round != self.round or (state.round, step) in self._own:
            return
        vote = self._signed_vote(step)
        if vote is None:
            return
        self.step = max(self.step, step)
        self._send_own(vote, actions)

    def _signed_vote(self, step: Step) -> Vote | None:
        """The vote the signer already signed in this round and step, if it
        may be sent: a precommit for a value only if the engine holds that
        lock (else it was never sent, and sending it now would bind a lock
        the record does not have)."""
        assert self.signer is not None
        vote = self.signer.signed_vote(self.height, self.round, step)
        if vote is None or vote.step is Step.PREVOTE or vote.block_hash is None:
            return vote
        held = (self.locked_round, self.locked_hash) == (self.round, vote.block_hash)
        return vote if held else None

    def _decide(self, block: bytes, certificate: CommitCertificate, actions: list[Action]) -> None:
        # lines 51-54: decision[h] = v; the caller applies it and starts h+1 (lines 52-54)
        self.decided = True
        actions.append(Commit(self.height, certificate.block_hash, block, certificate))

    def _gossip(self, actions: list[Action]) -> None:
        """Re-send our own messages of the latest rounds (and a proposal's proof of lock)."""
        rounds = sorted({r for r, _ in self._own}, reverse=True)[: self.config.gossip_rounds]
        for key in sorted(k for k in self._own if k[0] in rounds):
            actions.append(Broadcast(self._own[key]))
        own_proposal = self._own.get((self.round, Step.PROPOSE))
        if isinstance(own_proposal, ProposalMessage) and own_proposal.proposal.pol_round >= 0:
            pol = self.votes.rounds.get(own_proposal.proposal.pol_round)
            if pol is not None:
                for vote in pol.prevotes.votes_for(own_proposal.proposal.block_hash):
                    actions.append(Broadcast(vote))
        self._schedule(TimeoutKind.GOSSIP, self.round, actions)

    def _unstall(self, actions: list[Action]) -> None:
        """Leave a prevote or precommit step that has waited too long. Lines
        34 and 47 schedule those steps' timeouts only once 2f+1 votes of the
        step arrived; if some never will (a validator that lost its record
        cannot send its earlier votes again, and the network lost them too),
        every honest node could wait forever. Ending the step as its timeout
        would (precommit nil, or the next round) is always safe, and the
        delay grows with the round, so it is idle after GST."""
        round_, step, waited = self._stall
        if (round_, step) != (self.round, self.step):
            self._stall = (self.round, self.step, 0)
            return
        waited += self.config.gossip_interval
        limit = self.config.stall_timeout + self.round * self.config.stall_timeout_delta
        if waited < limit or step is Step.PROPOSE:
            self._stall = (round_, step, waited)
            return
        if step is Step.PREVOTE:
            self._vote(Step.PRECOMMIT, None, actions)
        else:
            self._start_round(self.round + 1, actions)
        self._stall = (self.round, self.step, 0)

    def _schedule(self, kind: TimeoutKind, round: int, actions: list[Action]) -> None:
        actions.append(ScheduleTimeout(kind, self.height, round, self.config.timeout(kind, round)))

    # -- queries ---------------------------------------------------------

    def _record(self) -> ConsensusRecord:
        assert self.signer is not None
        rounds = sorted({r for r, _ in self._own}, reverse=True)[: self.config.gossip_rounds]
        return ConsensusRecord(
            height=self.height,
            round=self.round,
            step=self.step,
            locked_round=self.locked_round,
            locked_block=self.locked_block,
            valid_round=self.valid_round,
            valid_block=self.valid_block,
            signer_state=self.signer.state,
            messages=tuple(self._own[k] for k in sorted(self._own) if k[0] in rounds),
            valid_proof=tuple(self._valid_proof()),
        )

    def _valid_proof(self) -> list[Vote]:
        """The prevotes that made validValue valid (re-proposing it needs them)."""
        record = self.votes.rounds.get(self.valid_round)
        if record is None or self.valid_hash is None:
            return []
        return record.prevotes.votes_for(self.valid_hash)

    def _proposer(self, round: int) -> Validator:
        """proposer(h, round): weighted round robin (consensus.engine.validators)."""
        if round >= len(self._proposers):
            self._proposers = self.validators.proposers(max(round + 1, 2 * len(self._proposers)))
        return self._proposers[round]

    def _is_proposer(self, round: int) -> bool:
        return self.signer is not None and self._proposer(round).address == self.signer.address

    def _current_proposal(self) -> ProposalMessage | None:
        record = self.votes.rounds.get(self.round)
        return None if record is None else record.proposal

    def _block_for(self, block_hash: bytes, round: int) -> bytes | None:
        record = self.votes.rounds.get(round)
        proposal = None if record is None else record.proposal
        if proposal is not None and proposal.proposal.block_hash == block_hash:
            return proposal.block
        if self.locked_hash == block_hash:
            return self.locked_block
        if self.valid_hash == block_hash:
            return self.valid_block
        return None

    def _valid(self, block_hash: bytes, block: bytes) -> bool:
        """valid(v), asked of the application once per block."""
        known = self._validity.get(block_hash)
        if known is None:
            known = self._validity[block_hash] = self.app.validate_block(self.height, block)
        return known
