"""Messages for the height after the engine's: checked first, then kept within bounds.

While a node decides height h, or has decided it and waits to be told to start
h+1, faster peers already send proposals and votes for h+1. The engine keeps
them so that h+1 starts with them. Anyone can claim height h+1, so a message
is checked before it is kept, and what is kept is bounded.

Checked (``consensus.engine.message_checks``):
- with the validator set of h+1 (passed to ``Engine.start_height`` when the
  caller knows it; in this chain a height's set is final two heights ahead):
  a vote's signer must be a member and its signature verify; a proposal must
  come from the proposer of its round (rounds up to ``max_rounds_ahead``),
  verify, and carry the block its hash names; a commit message's certificate
  must verify. Anything else raises ``InvalidMessage``.
- without that set: a signer of the current set is checked with its key (an
  address names one key) and membership is checked when the height starts;
  a message from any other signer, and a commit message, is dropped quietly
  (it cannot be checked, and peers send it again).

Bounded:
- per signer: only the messages of the signer's highest round are kept, at
  most one proposal and two votes per step (the second, conflicting one is
  kept so that the equivocation is still seen when the height starts); a
  message for a lower round is dropped, one for a higher round evicts the
  lower round's;
- in total, by bytes (``max_bytes``): when a proposal does not fit, proposals
  of higher rounds than its own are evicted, highest first, or else it is
  dropped. Votes are small and at most four per member.

A message that fails a check can only be kept in the place of its own
signer, so, with the next set known, junk never pushes out a genuine
proposal; the proposal of round 0, the one the height starts with, is only
ever evicted by nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from consensus.engine.message_checks import (
    BlockId,
    InvalidMessage,
    check_commit,
    check_proposal,
    check_signature,
)
from consensus.engine.messages import Step, Verifier, Vote
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import CommitMessage, Message, ProposalMessage

VOTE_BYTES: Final = 160  # what a kept vote costs in the byte budget (its encoding is ~140)
PROPOSAL_OVERHEAD: Final = 200  # a proposal's signed part
MAX_VOTES_PER_STEP: Final = 2


@dataclass
class _Kept:
    """One signer's kept messages (all of one round)."""

    round: int
    proposal: tuple[int, ProposalMessage] | None = None  # (arrival, message)
    votes: dict[Step, list[tuple[int, Vote]]] = field(default_factory=dict)


class NextHeightBuffer:
    """The checked, bounded messages for ``height`` (the engine's height + 1)."""

    def __init__(
        self,
        height: int,
        chain_id: str,
        verify: Verifier,
        block_id: BlockId,
        current: ValidatorSet | None,
        next_set: ValidatorSet | None,
        max_bytes: int,
        max_block_size: int,
        max_rounds_ahead: int,
    ) -> None:
        self.height = height
        self._chain_id = chain_id
        self._verify = verify
        self._block_id = block_id
        self._current = current
        self._next = next_set
        self._max_bytes = max_bytes
        self._max_block_size = max_block_size
        self._max_rounds_ahead = max_rounds_ahead
        self._proposers: list[Validator] = []
        self._kept: dict[bytes, _Kept] = {}
        self._commit: tuple[int, CommitMessage] | None = None
        self._arrivals = 0
        self.size = 0  # bytes kept, against max_bytes

    def offer(self, message: Message) -> None:
        """Check ``message`` (for ``height``) and keep it if it fits. Raises
        InvalidMessage for a provably bad one."""
        assert message.height == self.height
        if isinstance(message, Vote):
            self._offer_vote(message)
        elif isinstance(message, ProposalMessage):
            self._offer_proposal(message)
        else:
            self._offer_commit(message)

    def take(self) -> list[Message]:
        """Everything kept, in arrival order; the buffer is empty afterwards."""
        entries: list[tuple[int, Message]] = []
        if self._commit is not None:
            entries.append(self._commit)
        for kept in self._kept.values():
            if kept.proposal is not None:
                entries.append(kept.proposal)
            for votes in kept.votes.values():
                entries.extend(votes)
        self._kept.clear()
        self._commit = None
        self.size = 0
        entries.sort(key=lambda entry: entry[0])
        return [message for _, message in entries]

    # -- checks ----------------------------------------------------------

    def _signer(self, address: bytes, message: Message) -> Validator | None:
        """The validator to check ``address``'s signature with, or None if it
        cannot be checked. Raises InvalidMessage for a non-member of a known set."""
        if self._next is not None:
            validator = self._next.get(address)
            if validator is None:
                raise InvalidMessage("signer not in the next height's validator set", message)
            return validator
        return None if self._current is None else self._current.get(address)

    def _offer_vote(self, vote: Vote) -> None:
        validator = self._signer(vote.validator, vote)
        if validator is None:
            return
        digest = vote.signing_digest(self._chain_id)
        check_signature(validator, digest, vote.signature, vote, self._verify)
        kept = self._slot(vote.validator, vote.round)
        if kept is None:
            return
        votes = kept.votes.setdefault(vote.step, [])
        if len(votes) >= MAX_VOTES_PER_STEP or any(v == vote for _, v in votes):
            return
        if self.size + VOTE_BYTES > self._max_bytes and not self._make_room(VOTE_BYTES, vote.round):
            return
        votes.append((self._arrival(), vote))
        self.size += VOTE_BYTES

    def _offer_proposal(self, message: ProposalMessage) -> None:
        proposal = message.proposal
        if proposal.round > self._max_rounds_ahead:
            return  # too far ahead to check its proposer cheaply; it will be re-sent
        if self._next is not None:
            proposer = self._proposer(proposal.round)
        else:
            signer = self._signer(proposal.proposer, message)
            if signer is None:
                return
            proposer = signer  # whether it is the round's proposer is checked at the height
        check_proposal(
            message, proposer, self._chain_id, self._verify, self._block_id, self._max_block_size
        )
        kept = self._slot(proposal.proposer, proposal.round)
        if kept is None or kept.proposal is not None:
            return
        cost = len(message.block) + PROPOSAL_OVERHEAD
        if self.size + cost > self._max_bytes and not self._make_room(cost, proposal.round):
            return
        kept.proposal = (self._arrival(), message)
        self.size += cost

    def _offer_commit(self, message: CommitMessage) -> None:
        if self._next is None or self._commit is not None:
            return
        check_commit(
            message, self._next, self._chain_id, self._verify, self._block_id, self._max_block_size
        )
        cost = len(message.block) + PROPOSAL_OVERHEAD * 4
        if self.size + cost > self._max_bytes and not self._make_room(cost, -1):
            return
        self._commit = (self._arrival(), message)
        self.size += cost

    # -- bounds ----------------------------------------------------------

    def _slot(self, address: bytes, round: int) -> _Kept | None:
        """The signer's place for ``round``: None for a round below its kept
        one; a higher round evicts what it kept."""
        kept = self._kept.get(address)
        if kept is not None and round < kept.round:
            return None
        if kept is not None and round > kept.round:
            self._evict_signer(address)
            kept = None
        if kept is None:
            kept = self._kept[address] = _Kept(round)
        return kept

    def _evict_signer(self, address: bytes) -> None:
        kept = self._kept.pop(address)
        self.size -= self._proposal_cost(kept)
        self.size -= VOTE_BYTES * sum(len(votes) for votes in kept.votes.values())

    def _make_room(self, cost: int, round: int) -> bool:
        """Evict proposals of rounds above ``round`` (highest first) until
        ``cost`` more bytes fit; False, evicting nothing, if they cannot."""
        victims = sorted(
            (
                (kept.round, kept.proposal[0], address)
                for address, kept in self._kept.items()
                if kept.proposal is not None and kept.round > round
            ),
            reverse=True,
        )
        chosen: list[bytes] = []
        freed = 0
        for _, _, address in victims:
            if self.size - freed + cost <= self._max_bytes:
                break
            chosen.append(address)
            freed += self._proposal_cost(self._kept[address])
        if self.size - freed + cost > self._max_bytes:
            return False
        for address in chosen:
            self.size -= self._proposal_cost(self._kept[address])
            self._kept[address].proposal = None
        return True

    @staticmethod
    def _proposal_cost(kept: _Kept) -> int:
        return 0 if kept.proposal is None else len(kept.proposal[1].block) + PROPOSAL_OVERHEAD

    def _proposer(self, round: int) -> Validator:
        assert self._next is not None
        if round >= len(self._proposers):
            self._proposers = self._next.proposers(max(round + 1, 2 * len(self._proposers)))
        return self._proposers[round]

    def _arrival(self) -> int:
        self._arrivals += 1
        return self._arrivals
