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

Actions (consensus.actions): Broadcast, Persist, ScheduleTimeout,
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
- Messages for the next height are buffered (bounded) and replayed by
  start_height.
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
from consensus.engine.certificate import (
    CommitCertificate,
    InvalidCertificate,
    verify_certificate,
)
from consensus.engine.messages import Step, Verifier, Vote
from consensus.engine.record import ConsensusRecord
from consensus.engine.signer import DoubleSignError, Signer
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.votes import Added, HeightVotes
from consensus.engine.wire import CommitMessage, Message, ProposalMessage
from ledger import crypto


class InvalidMessage(ValueError):
    """Raised by on_message for a message that is provably bad: unknown
    signer, bad signature, wrong proposer, block not matching its hash,
    invalid certificate. (Stale or irrelevant messages are ignored silently.)"""


class Application(Protocol):
    """What the engine needs from the application. Both must be pure and
    deterministic: every honest node must give the same answer."""

    def block_hash(self, block: bytes) -> bytes:
        """The 32-byte id of a block value."""
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
    max_block_size: int = 32 * 1024 * 1024
    max_buffered_messages: int = 10_000
    max_proposal_lookahead: int = 64  # future rounds for which a proposal is checked

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
        self._future: list[Message] = []  # messages for the next height
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
        self._validity: dict[bytes, bool] = {}
        self._proposers: list[Validator] = []

    @property
    def votes(self) -> HeightVotes:
        assert self._votes is not None, "no height started"
        return self._votes

    @property
    def validators(self) -> ValidatorSet:
        assert self.validator_set is not None, "no height started"
        return self.validator_set

    # -- inputs ----------------------------------------------------------

    def start_height(self, height: int, validator_set: ValidatorSet) -> list[Action]:
        """Begin ``height`` with its validator set (line 10, and line 54 after a decision)."""
        assert height > self.height, "heights only go up"
        self._reset(height, validator_set)
        actions: list[Action] = []
        self._start_round(0, actions)
        self._schedule(TimeoutKind.GOSSIP, 0, actions)
        self._run_rules(actions)
        self._replay_buffered(actions)
        return actions

    def restore(self, record: ConsensusRecord, validator_set: ValidatorSet) -> list[Action]:
        """Resume from a persisted record (the signer must carry the record's
        signer state): same height, round, step, locks and own messages; the
        own messages are re-sent, the current step's timeout rescheduled."""
        assert record.height > self.height, "restore into a fresh engine"
        self._reset(record.height, validator_set)
        self.round, self.step = record.round, record.step
        if record.locked_block is not None:
            self.locked_round = record.locked_round
            self.locked_block = record.locked_block
            self.locked_hash = self.app.block_hash(record.locked_block)
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
        bad one; ignores stale ones."""
        actions: list[Action] = []
        if message.height == self.height + 1:
            if len(self._future) < self.config.max_buffered_messages:
                self._future.append(message)
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
        validator = self.validators.get(vote.validator)
        if validator is None:
            raise InvalidMessage("vote from a validator not in this height's set")
        self._check_signature(validator, vote.signing_digest(self.chain_id), vote.signature)
        outcome, evidence = self.votes.add_vote(vote, self.round)
        if evidence is not None:
            actions.append(ReportEvidence(evidence))
        if outcome is Added.NEW or outcome is Added.CONFLICT:
            self._run_rules(actions)

    def _on_proposal(self, message: ProposalMessage, actions: list[Action]) -> None:
        proposal = message.proposal
        if proposal.round > self.round + self.config.max_proposal_lookahead:
            return  # too far ahead to check its proposer cheaply; it will be re-sent
        proposer = self._proposer(proposal.round)
        if proposal.proposer != proposer.address:
            raise InvalidMessage("proposal not from the round's proposer")
        self._check_signature(proposer, proposal.signing_digest(self.chain_id), proposal.signature)
        if len(message.block) > self.config.max_block_size:
            raise InvalidMessage("block too large")
        if self.app.block_hash(message.block) != proposal.block_hash:
            raise InvalidMessage("block does not match the proposal's hash")
        outcome, evidence = self.votes.add_proposal(message, self.round)
        if evidence is not None:
            actions.append(ReportEvidence(evidence))
        if outcome is Added.NEW:
            self._run_rules(actions)

    def _on_commit(self, message: CommitMessage, actions: list[Action]) -> None:
        certificate = message.certificate
        try:
            verify_certificate(certificate, self.validators, self.chain_id, self._verify)
        except InvalidCertificate as exc:
            raise InvalidMessage(f"commit certificate: {exc}") from exc
        if self.app.block_hash(message.block) != certificate.block_hash:
            raise InvalidMessage("block does not match the certificate")
        # line 50: decide only a valid value (+2/3 certifying an invalid block
        # means more than f faulty validators; then refuse).
        if self._valid(certificate.block_hash, message.block):
            self._decide(message.block, certificate, actions)

    def _check_signature(self, validator: Validator, digest: bytes, signature: bytes) -> None:
        if not self._verify(validator.public_key, digest, signature):
            raise InvalidMessage("invalid signature")

    def _replay_buffered(self, actions: list[Action]) -> None:
        buffered, self._future = self._future, []
        for message in buffered:
            if self.decided:
                break
            try:
                actions.extend(self.on_message(message))
            except InvalidMessage:
                continue  # only now checkable against this height's set

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
        for round_, record in self.votes.rounds.items():
            tally = record.precommits
            if not self.validators.has_quorum(tally.total_power):
                continue
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
                for r, record in self.votes.rounds.items()
                if r > self.round and self.validators.exceeds_one_third(record.sender_power)
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
            pol = self.votes.rounds.get(proposal.pol_round)
            if pol is None or not self.validators.has_quorum(
                pol.prevotes.power_for(proposal.block_hash)
            ):
                return False
            acceptable = self._valid(proposal.block_hash, message.block) and self._lock_allows(
                proposal.block_hash, proposal.pol_round
            )
        # lines 24/26 and 30/32, then 27/33: step <- prevote
        self._vote(Step.PREVOTE, proposal.block_hash if acceptable else None, actions)
        return True

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
        if self.step is Step.PREVOTE:
            # lines 37-41: lock on v and precommit it
            self.locked_round, self.locked_hash, self.locked_block = (
                self.round,
                value,
                message.block,
            )
            self._vote(Step.PRECOMMIT, value, actions)
        # lines 42-43
        self.valid_round, self.valid_hash, self.valid_block = self.round, value, message.block
        if self.step is Step.PRECOMMIT and self._own:
            # No new signature, but a restarted proposer must re-propose this value.
            actions.append(Persist(self._record()))
        return True

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
            return
        self._send_own(vote, actions)

    def _send_own(self, message: Message, actions: list[Action]) -> None:
        # Persist before send: the record covering this signature comes first.
        self._remember_own(message)
        actions.append(Persist(self._record()))
        actions.append(Broadcast(message))

    def _remember_own(self, message: Message) -> None:
        if isinstance(message, Vote):
            self._own[(message.round, message.step)] = message
            self.votes.add_vote(message, self.round)
        elif isinstance(message, ProposalMessage):
            self._own[(message.proposal.round, Step.PROPOSE)] = message
            self.votes.add_proposal(message, self.round)

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
        """proposer(h, round): weighted round robin (consensus.validators)."""
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
