"""A Byzantine coalition with a scheduler that controls delivery, staging lock
attacks (the simulation's ``lock-attack`` behaviour).

Before the network heals, message delay is the adversary's to choose: the
coalition's scheduler decides which messages of the attacked height reach
whom (the rest of the network behaves as usual). It attacks the first height
at which a plan is feasible, and is silent from the heal on.

A plan splits the honest validators of the height into L (to be locked) and
U (kept unlocked), with p(L) < q <= p(L) + B (q: the quorum power, B: the
coalition's power), and picks a variant:

- ``decide``: in round r the proposal v gets a polka that only L sees (U
  does not get the prevotes for v, except U's own); L locks v and
  precommits it. The coalition's precommits for v go only to one node
  D of L, which decides v (p(L) + B >= q); the others see less than a quorum
  for v and move on. D is then cut off. In later rounds the coalition
  pushes another value w: as proposer with a false proof-of-lock round r
  (or, if U is empty, with none in every other try); otherwise it votes for
  any fresh value an honest proposer of U proposes. A correct L\\{D}
  prevotes nil, so w gets U + B < q. An engine that ignores its lock,
  accepts a proof-of-lock round without its polka or forgets its lock on
  restart (the scheduler crashes nodes of L\\{D} right after their
  precommit) lets w through (p(D) <= T - q is required), and two honest
  nodes decide different blocks. In rounds without a value to
  push, the coalition precommits v to L\\{D} (an engine that adds up
  precommits of different rounds decides then).
- ``stale``: as ``decide``, preceded by a round r0 whose proposal w0 gets
  the prevotes of every honest validator, but each honest node is shown
  less than a quorum of them (nobody locks w0, only the coalition holds the
  polka). Later the coalition re-proposes w0 with proof-of-lock round r0
  and the real polka: U may accept it, but L locked in r > r0 must not.
- ``no-decide``: as ``decide`` but nobody decides (the coalition precommits
  nil) and p(L) > H - q (H: honest power): after the heal the coalition is
  silent, and the height completes only if a proposer of L re-proposes its
  valid value v with its proof of lock, which U then accepts. An engine that
  never updates validValue never gets there (a liveness violation).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from consensus.engine.messages import Step, Vote, sign_proposal, sign_vote
from consensus.engine.validators import ValidatorSet
from consensus.engine.wire import CommitMessage, Message, ProposalMessage, encode_message

if TYPE_CHECKING:
    from consensus.engine.simulation import SimNode, Simulation

WAITING, STALE, LOCKING, OVER = "waiting", "stale", "locking", "over"


@dataclass(frozen=True, slots=True)
class Plan:
    """Who gets locked, who decides, and which variant (see the module docstring)."""

    variant: str
    locked: tuple[int, ...]
    unlocked: tuple[int, ...]
    decider: int | None
    stale_views: tuple[tuple[int, frozenset[int]], ...] = ()  # node -> whose w0 prevotes it sees


def make_plan(
    validators: ValidatorSet,
    honest: dict[int, bytes],
    coalition: dict[int, bytes],
    rng: random.Random,
) -> Plan | None:
    """A feasible plan, drawn with ``rng``, for a height with ``validators``,
    or None. ``honest`` and ``coalition`` map node indices to addresses."""
    power = {i: v.power for i, a in honest.items() if (v := validators.get(a)) is not None}
    b = sum(v.power for a in coalition.values() if (v := validators.get(a)) is not None)
    q, total = validators.quorum_power, validators.total_power
    h = sum(power.values())
    nodes = sorted(power)
    options: dict[str, list[Plan]] = {"decide": [], "no-decide": [], "stale": []}
    views = _stale_views(nodes, power, q, b)
    for size in range(1, len(nodes) + 1):
        for locked in combinations(nodes, size):
            p_locked = sum(power[i] for i in locked)
            if not p_locked < q <= p_locked + b:
                continue
            unlocked = tuple(i for i in nodes if i not in locked)
            for decider in locked:
                if power[decider] <= total - q:
                    options["decide"].append(Plan("decide", locked, unlocked, decider))
                    if views is not None:
                        options["stale"].append(Plan("stale", locked, unlocked, decider, views))
            if p_locked > h - q:
                options["no-decide"].append(Plan("no-decide", locked, unlocked, None))
    variants = [name for name in ("decide", "stale", "no-decide") if options[name]]
    if not variants:
        return None
    return rng.choice(options[rng.choice(variants)])


def _stale_views(
    nodes: list[int], power: dict[int, int], q: int, b: int
) -> tuple[tuple[int, frozenset[int]], ...] | None:
    """For each honest node, a set of honest prevoters including itself with
    q - b <= power < q (it sees a prevote quorum with the coalition's nil,
    but no polka), or None if some node has none."""
    views = []
    for me in nodes:
        others = [i for i in nodes if i != me]
        found = None
        for size in range(len(others) + 1):
            for extra in combinations(others, size):
                seen = power[me] + sum(power[i] for i in extra)
                if q - b <= seen < q:
                    found = frozenset((me, *extra))
                    break
            if found is not None:
                break
        if found is None:
            return None
        views.append((me, found))
    return tuple(views)


class LockAttack:
    """The coalition of the ``lock-attack`` validators of one run, and its scheduler."""

    def __init__(self, sim: Simulation, members: list[SimNode]) -> None:
        self.sim = sim
        self.members = members
        self.member_indices = frozenset(m.index for m in members)
        self.state = WAITING
        self.height = 0
        self.plan: Plan | None = None
        self.tried: set[int] = set()  # heights found infeasible
        self.stale_round = -1
        self.stale_message: ProposalMessage | None = None
        self.stale_prevotes: dict[bytes, Vote] = {}
        self.lock_round = -1
        self.value: bytes | None = None  # v, the value L locks
        self.voted: set[int] = set()  # rounds the coalition voted in
        self.proposed: set[int] = set()  # rounds the coalition proposed in
        self.sent: list[tuple[SimNode, list[int], bytes]] = []  # to send again
        self.pushes = 0  # values pushed after the lock round
        self.crashed: set[int] = set()  # nodes crashed after their locking precommit
        self.first_pol = sim.rng.randrange(2)  # which kind of push comes first
        self.proposers: list[bytes] = []  # of the attacked height, by round

    @property
    def active(self) -> bool:
        return self.state in (STALE, LOCKING) and not self.sim.healed

    # -- arming and voting --------------------------------------------------

    def observe_proposal(self, message: ProposalMessage) -> None:
        """A proposer broadcast ``message`` (an honest node, or the coalition)."""
        if self.sim.healed:
            return
        p = message.proposal
        if self.state == WAITING and p.height not in self.tried:
            self._arm(message)
        elif (
            self.state == STALE
            and self.stale_message is not None
            and p.height == self.height
            and p.round > self.stale_round
            and p.block_hash != self.stale_message.proposal.block_hash
        ):
            self._start_locking(message)
        if self.active and p.height == self.height:
            self._vote_in(p.round, p.block_hash)

    def _arm(self, message: ProposalMessage) -> None:
        height = message.height
        self.tried.add(height)
        honest = {n.index: n.address for n in self.sim.nodes if n.honest}
        coalition = {m.index: m.address for m in self.members}
        validators = self.sim.validator_set(height)
        plan = make_plan(validators, honest, coalition, self.sim.rng)
        if plan is None:
            return
        self.plan, self.height = plan, height
        if plan.variant == "stale":
            self.state = STALE
            self.stale_round = message.proposal.round
            self.stale_message = message
        else:
            self._start_locking(message)

    def _start_locking(self, message: ProposalMessage) -> None:
        self.state = LOCKING
        self.lock_round = message.proposal.round
        self.value = message.proposal.block_hash

    def _vote_in(self, round_: int, value: bytes) -> None:
        """The coalition's votes for ``round_`` of the attacked height, once."""
        plan = self.plan
        assert plan is not None
        if round_ in self.voted:
            return
        self.voted.add(round_)
        everyone = sorted((*plan.locked, *plan.unlocked))
        if self.state == STALE or round_ == self.stale_round:
            self._send_votes(Step.PREVOTE, round_, None, everyone)
            self._send_votes(Step.PRECOMMIT, round_, None, everyone)
        elif round_ == self.lock_round:
            self._send_votes(Step.PREVOTE, round_, value, list(plan.locked))
            self._send_votes(Step.PREVOTE, round_, None, list(plan.unlocked))
            deciders = [] if plan.decider is None else [plan.decider]
            self._send_votes(Step.PRECOMMIT, round_, value, deciders)
            rest = [i for i in everyone if i not in deciders]
            self._send_votes(Step.PRECOMMIT, round_, None, rest)
        elif round_ > self.lock_round and plan.variant != "no-decide":
            if value == self.value:
                locked_others = [i for i in plan.locked if i != plan.decider]
                self._send_votes(Step.PRECOMMIT, round_, value, locked_others)
            else:
                self._send_votes(Step.PREVOTE, round_, value, everyone)
                self._send_votes(Step.PRECOMMIT, round_, value, everyone)

    def _send_votes(self, step: Step, round_: int, value: bytes | None, to: list[int]) -> None:
        if not to:
            return
        for member in self.members:
            vote = sign_vote(
                member.key, self.sim.chain_id, step, self.height, round_, value, member.address
            )
            self._send(member, to, encode_message(vote))

    def _send(self, member: SimNode, to: list[int], data: bytes) -> None:
        """Send, and remember to send again (``gossip``): restarted nodes
        forget what they received."""
        self.sent.append((member, to, data))
        self.sim.send(member, to, data, reliable=True)

    def gossip(self) -> None:
        """Every gossip interval while the attack is on: send everything again."""
        if self.active:
            for member, to, data in self.sent:
                self.sim.send(member, to, data, reliable=True)

    # -- what the members' engines would send --------------------------------

    def member_send(self, node: SimNode, message: Message) -> None:
        """A coalition member's engine wants ``message`` broadcast: forwarded
        until the attack starts (a member's proposal may start it), then the
        coalition speaks for itself (``_vote_in``, ``observe_round``)."""
        if self.state == OVER or (self.state != WAITING and message.height >= self.height):
            return
        if isinstance(message, ProposalMessage):
            self.observe_proposal(message)
            if self.state != WAITING:  # it started the attack: the locking (or stale) value
                self.sim.send(node, self.sim.everyone(), encode_message(message), reliable=True)
                return
        self.sim.send(node, self.sim.everyone(), encode_message(message))

    def observe_round(self, height: int, round_: int) -> None:
        """An honest node entered (height, round): if a member is that round's
        proposer, the coalition proposes (whatever the members' engines are
        doing: they may have decided the height already)."""
        if not self.active or height != self.height or round_ in self.proposed:
            return
        proposer = self._proposer(round_)
        member = next((m for m in self.members if m.address == proposer), None)
        if member is None:
            return
        self.proposed.add(round_)
        assert self.plan is not None
        everyone = self.sim.everyone()
        if self.state == STALE:
            if round_ <= self.stale_round:
                return
            pushed = self._fresh_proposal(member, round_, -1)  # the value to lock
        elif round_ <= self.lock_round or self.plan.variant == "no-decide":
            return
        elif self.plan.variant == "stale":
            pushed = self._stale_proposal(member, round_)
            for vote in self._stale_proof():
                self._send(member, everyone, encode_message(vote))
        else:
            # A false proof of lock (the lock round): a proposer of U already
            # pushes values without one. With U empty, with and without in turns.
            turn = (self.pushes + self.first_pol) % 2
            pol_round = self.lock_round if self.plan.unlocked or turn else -1
            self.pushes += 1
            pushed = self._fresh_proposal(member, round_, pol_round)
        self._send(member, everyone, encode_message(pushed))
        self.observe_proposal(pushed)

    def _proposer(self, round_: int) -> bytes:
        if round_ >= len(self.proposers):
            validators = self.sim.validator_set(self.height)
            self.proposers = [v.address for v in validators.proposers(2 * round_ + 2)]
        return self.proposers[round_]

    def _fresh_proposal(self, node: SimNode, round_: int, pol_round: int) -> ProposalMessage:
        block = node.app.build_block(self.height, round_, node.address, self.sim.rng, False)
        signed = sign_proposal(
            node.key,
            self.sim.chain_id,
            self.height,
            round_,
            pol_round,
            node.app.block_hash(block),
            node.address,
        )
        return ProposalMessage(signed, block)

    def _stale_proof(self) -> list[Vote]:
        """The prevotes for w0 in r0: the honest ones seen in flight, and the
        coalition's (it prevoted nil then: these equivocate)."""
        assert self.stale_message is not None
        value = self.stale_message.proposal.block_hash
        proof = list(self.stale_prevotes.values())
        for member in self.members:
            proof.append(
                sign_vote(
                    member.key,
                    self.sim.chain_id,
                    Step.PREVOTE,
                    self.height,
                    self.stale_round,
                    value,
                    member.address,
                )
            )
        return proof

    def _stale_proposal(self, node: SimNode, round_: int) -> ProposalMessage:
        assert self.stale_message is not None
        stale = self.stale_message
        signed = sign_proposal(
            node.key,
            self.sim.chain_id,
            self.height,
            round_,
            self.stale_round,
            stale.proposal.block_hash,
            node.address,
        )
        return ProposalMessage(signed, stale.block)

    # -- the scheduler ---------------------------------------------------------

    def route(self, sender: SimNode, to: int, message: Message | None) -> bool | None:
        """Deliver (True), withhold (False) or leave to the network (None)."""
        if not self.active or message is None:
            return None
        plan = self.plan
        assert plan is not None
        if sender.index in self.member_indices or to in self.member_indices:
            return True
        if sender.index == plan.decider and (
            message.height > self.height or isinstance(message, CommitMessage)
        ):
            return False  # the decider is cut off from the rest
        if message.height != self.height:
            return None
        if isinstance(message, Vote) and message.step is Step.PREVOTE:
            self._note_stale_prevote(message)
            return self._prevote_visible(message, to)
        return True

    def _note_stale_prevote(self, vote: Vote) -> None:
        stale = self.stale_message
        if (
            stale is not None
            and vote.round == self.stale_round
            and vote.block_hash == stale.proposal.block_hash
        ):
            self.stale_prevotes.setdefault(vote.validator, vote)

    def _prevote_visible(self, vote: Vote, to: int) -> bool:
        plan = self.plan
        assert plan is not None
        signer = self.sim.index_of(vote.validator)
        stale = self.stale_message
        if (
            stale is not None
            and vote.round == self.stale_round
            and vote.block_hash == stale.proposal.block_hash
        ):
            return signer in dict(plan.stale_views).get(to, frozenset())
        if vote.round == self.lock_round and vote.block_hash == self.value:
            return to in plan.locked or signer in plan.unlocked
        return True

    def wants_crash(self, node: SimNode, message: Message) -> bool:
        """Crash ``node`` after it sent ``message``: a node of L\\{D} right after
        its precommit for v, once (its lock must survive the restart, which
        comes soon)."""
        plan = self.plan
        wanted = (
            self.active
            and plan is not None
            and node.index not in self.crashed
            and isinstance(message, Vote)
            and message.step is Step.PRECOMMIT
            and message.round == self.lock_round
            and message.block_hash == self.value
            and node.index in plan.locked
            and node.index != plan.decider
        )
        if not wanted:
            return False
        self.crashed.add(node.index)  # once: the first time it sends that precommit
        return self.sim.rng.random() < 0.5

    def on_heal(self) -> None:
        self.state = OVER
