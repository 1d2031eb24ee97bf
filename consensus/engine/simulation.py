"""A deterministic simulation of Byzantine networks running N consensus engines.

One seed drives everything (``random.Random(seed)``, owned here, never by
an engine): message delays and reordering, drops, duplicates, partitions
that heal, crashes (at any point of an engine's action list) with restart
from what the node persisted, WAL write failures, lost WALs, the validators'
powers, the choice of Byzantine validators and their behaviour. Time is an
integer tick; events are processed in (tick, sequence) order, and nothing
iterates over a set or depends on hash order, so a seed replays exactly, in
any process.

The run has two phases. Until ``unstable_ticks`` the network misbehaves
(drops, partitions, crashes, failing WAL writes); then it heals: partitions
end, crashed nodes are back, messages arrive within ``max_delay`` ticks
(still reordered and duplicated). Byzantine validators misbehave throughout.
The run ends when every honest node has committed ``heights`` heights and at
least ``heights_after_heal`` of them after the heal, and every equivocation
an honest node reported is recorded in a committed block.

A node persists what the real node does: the engine's record in its WAL (a
``Persist``; with ``walfail`` the write fails now and then, and the node
stops there, before anything after it leaves), and the signer state in its
double-sign guard, written before each signature exists; the signer state
carries the lock (consensus.engine.signer). A restarted node resumes from its WAL
and guard, or, with ``walloss``, sometimes from its guard alone (the WAL
moved aside). Evidence a node reported is kept until recorded, gossiped to
its peers, and put in blocks by honest proposers.

After every step the harness checks:
- agreement: no two honest nodes commit different blocks at one height;
- validity: a block an honest node commits passes the application's validity
  check (valid(v), on the node's chain before it), its body matches what its
  header commits to, it was proposed, and its certificate verifies against
  the height's validator set;
- no double sign: no honest validator broadcasts two different signed
  messages for one (height, round, step), across its crashes too;
- persist before send: a signed message an honest node sends is in its WAL;
- bounded: the messages an engine keeps for the next height stay within
  ``max_buffered_bytes``;
- liveness: after the heal, every honest node commits a new height at least
  every ``liveness_ticks`` ticks;
- evidence: evidence reported by honest nodes verifies and accuses a
  Byzantine validator, and every equivocation an honest node reported is
  recorded on chain within ``liveness_ticks`` after the report (or the heal).

Validator powers (``powers``): ``random`` (honest 1..max_power, Byzantine 1),
``equal`` (all 1: with validators = 3 * byzantine + 1 the Byzantine power is
just under a third), ``max-byzantine`` (honest 1..max_power, and the
Byzantine validators share the most power below a third) and
``light-byzantine`` (Byzantine 1, honest 2..max_power + 1: a third or more of
the validators by number, less than a third of the power). With ``valset``,
blocks change the powers of honest and Byzantine validators alike, within
what keeps the Byzantine power below a third.

Byzantine behaviours (chosen by the seed from the configured mix: in
``coalition_rate`` of the seeds all Byzantine validators share one, otherwise
each draws its own):
- ``equivocate``: as proposer, sends two different valid blocks to two
  halves of the network, and votes for each to the matching half;
- ``double-vote``: signs a conflicting second vote for each of its votes and
  splits them among peers; prevotes and precommits every proposal it sees;
- ``amnesia``: attacks locking: as proposer it always proposes a fresh
  block (never its valid value), it prevotes and precommits every proposal
  it sees, and splits its own votes like ``double-vote``;
- ``subset``: sends each of its messages to a random subset of peers;
- ``silent``: sends nothing;
- ``garbage``: also sends random bytes, corrupted encodings, bad
  signatures, votes by non-validators, proposals with mismatched blocks,
  certificates without quorum and votes for absurd rounds; proposes invalid
  blocks;
- ``replay``: also re-sends old messages it has seen to random peers;
- ``swap``, ``flood``, ``push-rounds``, ``fake-pol``: see consensus.engine.sim_byzantine
  (body-swapping relays, next-height floods, round pushing, false proofs of
  lock);
- ``lock-attack``: a coalition whose scheduler controls delivery before the
  heal and stages lock attacks, including a stale polka (consensus.engine.sim_lock_attack).

The node glue here plays the reactor's part: a node that hears a message
for a height it has already committed answers the sender with the
certificates and blocks of that height and the next few (catch-up).
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

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
    CommitSignature,
    InvalidCertificate,
    check_certificate_for,
    verify_certificate,
)
from consensus.engine.engine import Engine, EngineConfig, InvalidMessage, MalformedBlock
from consensus.engine.evidence import InvalidEvidence, encode_evidence, verify_evidence
from consensus.engine.messages import MessageError, Step, Vote, sign_proposal, sign_vote
from consensus.engine.record import decode_record, encode_record
from consensus.engine.signer import Signer, SignerState
from consensus.engine.sim_app import (
    MAX_EVIDENCE_PER_BLOCK,
    EvidenceSlot,
    SimApp,
    encode_block,
    evidence_slot,
)
from consensus.engine.sim_byzantine import (
    flood_next_height,
    propose_with_fake_pol,
    push_rounds,
    relay_swapped,
)
from consensus.engine.sim_lock_attack import LockAttack
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import (
    CommitMessage,
    Message,
    ProposalMessage,
    decode_message,
    encode_message,
)
from ledger import crypto
from ledger.address import address_of

CHAIN_ID: Final = "sim-chain"
BYZANTINE_MODES: Final = (
    "equivocate",
    "double-vote",
    "amnesia",
    "subset",
    "silent",
    "garbage",
    "replay",
    "swap",
    "flood",
    "push-rounds",
    "fake-pol",
    "lock-attack",
)
FAULTS: Final = ("drop", "duplicate", "partition", "crash", "valset", "walfail", "walloss")
POWERS: Final = ("random", "equal", "max-byzantine", "light-byzantine")
CATCH_UP_HEIGHTS: Final = 4
REPLAY_BUFFER: Final = 256
PARTITION_CHECK: Final = 10
# The simulation's blocks are small: engines run with bounds scaled to them,
# so next-height floods reach the byte bound.
SIM_ENGINE: Final = EngineConfig(max_block_size=1 << 16, max_buffered_bytes=3 << 16)

# Builds an honest node's engine: (config, chain_id, signer, app, verify) -> Engine.
EngineFactory = Callable[..., Engine]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What one simulated run looks like (the seed picks everything else)."""

    validators: int = 4
    byzantine: int = 1
    byzantine_modes: tuple[str, ...] = BYZANTINE_MODES
    faults: tuple[str, ...] = FAULTS
    heights: int = 6
    max_power: int = 3  # honest validators' powers are drawn up to this (see ``powers``)
    powers: str = "random"
    coalition_rate: float = 0.5  # seeds in which all Byzantine validators share a behaviour
    heights_after_heal: int = 2
    unstable_ticks: int = 400
    max_delay: int = 8
    drop_rate: float = 0.1
    duplicate_rate: float = 0.05
    crash_rate: float = 0.004  # per input handled by an honest node, while unstable
    partition_rate: float = 0.004  # per tick while unstable, when no partition is on
    wal_fail_rate: float = 0.02  # per WAL write of an honest node, while unstable
    wal_loss_rate: float = 0.3  # per restart: the WAL was lost, only the guard remains
    liveness_ticks: int = 2500
    engine: EngineConfig = SIM_ENGINE

    def __post_init__(self) -> None:
        if self.powers not in POWERS:
            raise ValueError(f"unknown powers {self.powers!r} (choose from {', '.join(POWERS)})")
        if self.powers == "light-byzantine":
            if self.byzantine < 0 or 2 * self.byzantine >= self.validators:
                raise ValueError("light-byzantine powers need validators > 2 * byzantine >= 0")
        elif self.byzantine < 0 or 3 * self.byzantine >= self.validators:
            raise ValueError("need validators > 3 * byzantine >= 0")
        unknown = [m for m in self.byzantine_modes if m not in BYZANTINE_MODES]
        unknown += [f for f in self.faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}")
        if self.byzantine and not self.byzantine_modes:
            raise ValueError("byzantine validators need at least one behaviour")


# The configurations CI runs (tests/consensus/engine/test_simulation.py, a few
# hundred seeds each; 20,000 each in the slow profile) and against which every
# engine mutant must fail (tests/consensus/engine/test_mutation_gate.py).
DEFAULT_CONFIGS: Final[dict[str, SimConfig]] = {
    "4x1-random": SimConfig(validators=4, byzantine=1),
    "7x2-random": SimConfig(validators=7, byzantine=2),
    "4x1-equal": SimConfig(validators=4, byzantine=1, powers="equal"),
    "10x3-equal": SimConfig(validators=10, byzantine=3, powers="equal"),
    "5x2-light": SimConfig(validators=5, byzantine=2, powers="light-byzantine"),
    "7x2-max": SimConfig(validators=7, byzantine=2, powers="max-byzantine"),
}


@dataclass(frozen=True, slots=True)
class Violation:
    """An invariant that did not hold."""

    invariant: str
    tick: int
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant} at tick {self.tick}: {self.detail}"


@dataclass(slots=True)
class SimResult:
    """What a run did."""

    seed: int
    violations: list[Violation]
    heights: int  # the lowest committed height among honest nodes
    ticks: int
    events: int
    crashes: int
    evidence: int
    byzantine: dict[int, str]
    trace_digest: str  # SHA-256 over the processed events: equal digests, equal runs
    longest_wait: int = 0  # the longest an honest node waited for a commit after the heal
    equivocations: int = 0  # slots in which a Byzantine validator sent two different messages
    detected: int = 0  # of those, how many an honest node reported
    recorded: int = 0  # equivocations recorded on chain
    rejected: int = 0  # messages honest engines rejected as provably bad (InvalidMessage)

    @property
    def ok(self) -> bool:
        return not self.violations


def validator_key(index: int) -> crypto.SigningKey:
    """The simulation's deterministic key for validator ``index``."""
    return crypto.SigningKey(hashlib.sha256(b"sim-validator-%d" % index).digest())


class CachedVerifier:
    """Signature checks cached by (public key, digest, signature) for one run:
    every broadcast reaches every node, so each signature is checked once."""

    def __init__(self) -> None:
        self._results: dict[tuple[bytes, bytes, bytes], bool] = {}

    def __call__(self, public_key: bytes, digest: bytes, signature: bytes) -> bool:
        key = (public_key, digest, signature)
        result = self._results.get(key)
        if result is None:
            result = self._results[key] = crypto.verify_digest(public_key, digest, signature)
        return result


class GuardedSimSigner(Signer):
    """The engine's signer with the node's double-sign guard: the new signer
    state (with its lock) is saved before the signature is handed out."""

    def __init__(
        self,
        key: crypto.SigningKey,
        chain_id: str,
        state: SignerState | None,
        save: Callable[[SignerState], None],
    ) -> None:
        super().__init__(key, chain_id, state)
        self._save = save

    def _remember(
        self,
        height: int,
        round: int,
        step: Step,
        digest: bytes,
        signature: bytes,
        value: bytes | None,
    ) -> None:
        super()._remember(height, round, step, digest, signature, value)
        self._save(self.state)


def _signature(message: Message) -> bytes:
    """A signed message's signature (a commit message's: empty)."""
    if isinstance(message, Vote):
        return message.signature
    if isinstance(message, ProposalMessage):
        return message.proposal.signature
    return b""


@dataclass(eq=False)
class SimNode:
    """One simulated validator: its engine, durable state and network glue."""

    index: int
    key: crypto.SigningKey
    address: bytes
    mode: str  # "honest" or a Byzantine behaviour
    app: SimApp
    engine: Engine
    wal: bytes | None = None  # the latest persisted record
    guard: SignerState | None = None  # the double-sign guard: written before each signature
    lock_record: bytes | None = None  # kept with the guard: the record of the latest lock
    # signatures of own messages a WAL record held before they were first sent
    durable: frozenset[bytes] = frozenset()
    evidence_pool: dict[EvidenceSlot, bytes] = field(default_factory=dict)  # kept until recorded
    up: bool = True
    epoch: int = 0  # bumped by a crash: stale timers are dropped
    last_progress: int = 0
    committed_after_heal: int = 0
    catch_up_sent: dict[tuple[int, int], int] = field(default_factory=dict)
    # Byzantine memory
    seen: list[bytes] = field(default_factory=list)
    split: dict[tuple[int, int], tuple[list[int], bytes]] = field(default_factory=dict)
    flooded: set[tuple[int, int]] = field(default_factory=set)  # (height, round) done
    pushed: set[tuple[int, int]] = field(default_factory=set)

    @property
    def honest(self) -> bool:
        return self.mode == "honest"


class Simulation:
    """One seeded run. ``run()`` returns a SimResult."""

    def __init__(
        self,
        seed: int,
        config: SimConfig,
        engine_factory: EngineFactory | None = None,
        trace: Callable[[str], None] | None = None,
    ) -> None:
        self.seed = seed
        self.config = config
        self.rng = random.Random(seed)
        self.verify = CachedVerifier()
        self.engine_factory: EngineFactory = engine_factory or Engine
        self.trace = trace
        self.chain_id = CHAIN_ID
        self.now = 0
        self.events = 0
        self.crashes = 0
        self.evidence = 0
        self.rejected = 0
        self.longest_wait = 0
        self.heal_tick = 0
        self.violations: list[Violation] = []
        self._queue: list[tuple[int, int, tuple[Any, ...]]] = []
        self._seq = 0
        self._digest = hashlib.sha256()
        self._decode_cache: dict[bytes, Message | None] = {}
        self.partition: list[int] | None = None  # group of node indices cut off from the rest
        self.healed = False
        self.decided: dict[int, bytes] = {}
        self.proposed: set[tuple[int, bytes]] = set()
        self.signed: dict[tuple[bytes, int, int, int], bytes] = {}
        self.reported: dict[EvidenceSlot, int] = {}  # equivocation -> tick first reported
        self._unrecorded: dict[EvidenceSlot, int] = {}  # reported, not yet on chain
        self._heights_done: int | None = None  # when every honest node had its heights
        self._evidence_check = 0  # next tick to check that evidence gets recorded
        self.recorded: set[EvidenceSlot] = set()  # equivocations in committed blocks
        self._byzantine_signed: dict[tuple[bytes, int, int, int], bytes] = {}
        self._equivocations: set[tuple[bytes, int, int, int]] = set()
        self._crash_after: set[int] = set()  # nodes the lock attack crashes after this input
        self.outsider = crypto.SigningKey(hashlib.sha256(b"sim-outsider").digest())
        self.attack: LockAttack | None = None
        self._build_nodes()

    # -- setup -----------------------------------------------------------

    def _build_nodes(self) -> None:
        n, f = self.config.validators, self.config.byzantine
        keys = [validator_key(i) for i in range(n)]
        byzantine = sorted(self.rng.sample(range(n), f))
        if byzantine and self.rng.random() < self.config.coalition_rate:
            shared = self.rng.choice(self.config.byzantine_modes)
            modes = {i: shared for i in byzantine}
        else:
            modes = {i: self.rng.choice(self.config.byzantine_modes) for i in byzantine}
        powers = self._powers(n, byzantine)
        genesis = ValidatorSet.create(
            Validator.from_public_key(k.public_key, p) for k, p in zip(keys, powers, strict=True)
        )
        mutable = tuple(k.public_key for k in keys) if "valset" in self.config.faults else ()
        faulty = frozenset(address_of(keys[i].public_key) for i in byzantine)
        self.nodes: list[SimNode] = []
        self._index: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            app = SimApp(genesis, mutable, faulty, CHAIN_ID, self.verify)
            mode = modes.get(i, "honest")
            node = SimNode(
                i,
                key,
                address_of(key.public_key),
                mode,
                app,
                self._new_engine(i, key, mode, app, None),
            )
            self.nodes.append(node)
            self._index[node.address] = i
        self.byzantine = modes
        members = [node for node in self.nodes if node.mode == "lock-attack"]
        if members:
            self.attack = LockAttack(self, members)

    def _powers(self, n: int, byzantine: list[int]) -> list[int]:
        """Each validator's genesis power, by ``config.powers``."""
        rng, top, mode = self.rng, self.config.max_power, self.config.powers
        if mode == "equal":
            return [1] * n
        if mode == "light-byzantine":
            return [1 if i in byzantine else rng.randint(2, top + 1) for i in range(n)]
        powers = [1 if i in byzantine else rng.randint(1, top) for i in range(n)]
        if mode == "max-byzantine" and byzantine:
            honest = sum(p for i, p in enumerate(powers) if i not in byzantine)
            share = (honest - 1) // 2  # the most with 3 * share < share + honest
            for k, i in enumerate(byzantine):
                powers[i] = share // len(byzantine) + (1 if k < share % len(byzantine) else 0)
        return powers

    def _new_engine(
        self,
        index: int,
        key: crypto.SigningKey,
        mode: str,
        app: SimApp,
        state: SignerState | None,
    ) -> Engine:
        signer = GuardedSimSigner(key, CHAIN_ID, state, lambda s: self._save_guard(index, s))
        if mode != "honest":
            return Engine(self.config.engine, CHAIN_ID, signer, app, self.verify)
        return self.engine_factory(self.config.engine, CHAIN_ID, signer, app, self.verify)

    def _save_guard(self, index: int, state: SignerState) -> None:
        self.nodes[index].guard = state

    def _sets(self, node: SimNode, height: int) -> tuple[ValidatorSet, ValidatorSet]:
        """The validator sets of ``height`` and the next (known two heights ahead)."""
        return node.app.validator_set(height), node.app.validator_set(height + 1)

    def validator_set(self, height: int) -> ValidatorSet:
        """The validator set of ``height`` (every node that knows it agrees)."""
        return next(n.app.sets[height] for n in self.nodes if height in n.app.sets)

    def honest_node(self) -> SimNode:
        """Some honest node (for what all honest nodes agree on)."""
        return next(n for n in self.nodes if n.honest)

    def index_of(self, address: bytes) -> int:
        """The node index of a validator address (-1 for a stranger)."""
        return self._index.get(address, -1)

    # -- the event loop --------------------------------------------------

    def run(self) -> SimResult:
        for node in self.nodes:
            self._handle(node, node.engine.start_height(1, *self._sets(node, 1)))
        self._push(self.config.unstable_ticks, ("heal",))
        if self.attack is not None:
            self._push(self.config.engine.gossip_interval, ("coalition-gossip",))
        if "partition" in self.config.faults:
            self._push(1, ("partition-tick",))
        hard_limit = self.config.unstable_ticks + self.config.liveness_ticks * (
            self.config.heights + self.config.heights_after_heal + 2
        )
        while self._queue and not self.violations:
            tick, _, event = heapq.heappop(self._queue)
            self.now = tick
            if tick > hard_limit:
                self._violate("liveness", f"run not finished by tick {hard_limit}")
                break
            self.events += 1
            self._digest.update(b"%d %s" % (tick, repr(event[:3]).encode()))
            if event[0] == "deliver":
                self._digest.update(event[3])
            elif len(event) > 3:
                self._digest.update(repr(event[3:]).encode())
            if self.trace is not None:
                self.trace(self._describe(tick, event))
            self._dispatch(event)
            self._check_liveness()
            self._check_evidence_recorded()
            if self._finished():
                break
        honest = [n for n in self.nodes if n.honest]
        return SimResult(
            seed=self.seed,
            violations=self.violations,
            heights=min(n.app.height for n in honest),
            ticks=self.now,
            events=self.events,
            crashes=self.crashes,
            evidence=self.evidence,
            byzantine=dict(self.byzantine),
            trace_digest=self._digest.hexdigest(),
            longest_wait=self.longest_wait,
            equivocations=len(self._equivocations),
            detected=sum(1 for slot in self.reported if slot in self._equivocations),
            recorded=len(self.recorded),
            rejected=self.rejected,
        )

    def _push(self, tick: int, event: tuple[Any, ...]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (tick, self._seq, event))

    def _dispatch(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "deliver":
            _, to, sender, data = event
            node = self.nodes[to]
            if node.up:
                self._deliver(node, sender, data)
        elif kind == "timeout":
            _, index, epoch, timeout_kind, height, round_ = event
            node = self.nodes[index]
            if node.up and node.epoch == epoch:
                self._handle(node, node.engine.on_timeout(timeout_kind, height, round_))
        elif kind == "proposal":
            _, index, epoch, height, round_ = event
            node = self.nodes[index]
            if node.up and node.epoch == epoch:
                self._build_proposal(node, height, round_)
        elif kind == "evidence":
            _, to, _, data = event
            node = self.nodes[to]
            if node.up and node.honest:
                self._receive_evidence(node, data)
        elif kind == "restart":
            self._restart(self.nodes[event[1]])
        elif kind == "partition-tick":
            self._partition_tick()
        elif kind == "partition-end":
            self.partition = None
        elif kind == "heal":
            self._heal()
        elif kind == "coalition-gossip" and self.attack is not None and not self.healed:
            self.attack.gossip()
            self._push(self.now + self.config.engine.gossip_interval, ("coalition-gossip",))

    def _describe(self, tick: int, event: tuple[Any, ...]) -> str:
        if event[0] == "deliver":
            message = self._decode(event[3])
            what = "garbage" if message is None else type(message).__name__
            if isinstance(message, Vote):
                what = (
                    f"{message.step.name} h={message.height} r={message.round} "
                    f"from {message.validator.hex()[:8]} "
                    f"for {message.block_hash.hex()[:8] if message.block_hash else 'nil'}"
                )
            elif isinstance(message, ProposalMessage):
                p = message.proposal
                what = (
                    f"PROPOSAL h={p.height} r={p.round} pol={p.pol_round} {p.block_hash.hex()[:8]}"
                )
            elif isinstance(message, CommitMessage):
                what = f"COMMIT h={message.height}"
            return f"{tick:6d} deliver {event[2]}->{event[1]} {what}"
        return f"{tick:6d} {' '.join(str(x) for x in event)}"

    def _finished(self) -> bool:
        """Every honest node committed enough heights, and every equivocation
        reported until then is on chain (later ones are not waited for:
        Byzantine validators may equivocate forever)."""
        if not self.healed:
            return False
        if self._heights_done is None:
            if not all(
                n.app.height >= self.config.heights
                and n.committed_after_heal >= self.config.heights_after_heal
                for n in self.nodes
                if n.honest
            ):
                return False
            self._heights_done = self.now
        return all(tick > self._heights_done for tick in self._unrecorded.values())

    # -- network ---------------------------------------------------------

    @property
    def unstable(self) -> bool:
        return not self.healed

    def send(
        self,
        sender: SimNode,
        recipients: list[int],
        data: bytes,
        fast: bool = False,
        reliable: bool = False,
        kind: str = "deliver",
    ) -> None:
        """Send ``data`` from ``sender``: through the network's faults while
        unstable unless ``reliable`` (the lock attack's scheduler may also
        decide), delayed 1..max_delay ticks (1 if ``fast``)."""
        message = self._decode(data) if kind == "deliver" else None
        if not sender.honest and message is not None:
            self._note_byzantine_signature(sender, message)
            if isinstance(message, ProposalMessage) and message.proposal.proposer == sender.address:
                self._note_proposal(message)
        for to in recipients:
            if to == sender.index:
                continue
            route = None
            if self.attack is not None and kind == "deliver":
                route = self.attack.route(sender, to, message)
            if route is False:
                continue
            if self.unstable and not reliable and route is None:
                if self.partition is not None and (
                    (sender.index in self.partition) != (to in self.partition)
                ):
                    continue
                if "drop" in self.config.faults and (self.rng.random() < self.config.drop_rate):
                    continue
            delay = 1 if fast else self.rng.randint(1, self.config.max_delay)
            self._push(self.now + delay, (kind, to, sender.index, data))
            if "duplicate" in self.config.faults and (
                self.rng.random() < self.config.duplicate_rate
            ):
                self._push(
                    self.now + self.rng.randint(1, self.config.max_delay),
                    (kind, to, sender.index, data),
                )

    def _note_byzantine_signature(self, sender: SimNode, message: Message) -> None:
        """Count the equivocations Byzantine validators commit (to measure detection)."""
        if isinstance(message, Vote) and message.validator == sender.address:
            slot = (sender.address, message.height, message.round, int(message.step))
            digest = message.signing_digest(CHAIN_ID)
        elif isinstance(message, ProposalMessage) and message.proposal.proposer == sender.address:
            p = message.proposal
            slot = (sender.address, p.height, p.round, int(Step.PROPOSE))
            digest = p.signing_digest(CHAIN_ID)
        else:
            return
        if self._byzantine_signed.setdefault(slot, digest) != digest:
            self._equivocations.add(slot)

    def everyone(self) -> list[int]:
        return list(range(len(self.nodes)))

    def _partition_tick(self) -> None:
        """Every PARTITION_CHECK ticks while unstable, maybe cut the network in two."""
        if self.healed:
            return
        chance = self.config.partition_rate * PARTITION_CHECK
        if self.partition is None and len(self.nodes) > 1 and self.rng.random() < chance:
            size = self.rng.randint(1, len(self.nodes) - 1)
            self.partition = sorted(self.rng.sample(range(len(self.nodes)), size))
            self._push(self.now + self.rng.randint(20, 150), ("partition-end",))
        self._push(self.now + PARTITION_CHECK, ("partition-tick",))

    def _heal(self) -> None:
        self.healed = True
        self.heal_tick = self.now
        self.partition = None
        if self.attack is not None:
            self.attack.on_heal()
        for node in self.nodes:
            node.last_progress = self.now
            if not node.up:
                self._restart(node)

    def _decode(self, data: bytes) -> Message | None:
        if data not in self._decode_cache:
            try:
                self._decode_cache[data] = decode_message(data)
            except MessageError:
                self._decode_cache[data] = None
        return self._decode_cache[data]

    def _deliver(self, node: SimNode, sender: int, data: bytes) -> None:
        message = self._decode(data)
        if message is None:
            return  # garbage: a typed decode error, dropped
        if not node.honest:
            self._byzantine_receive(node, data, message)
            if node.mode == "silent":
                return
        if node.mode != "lock-attack":  # the coalition helps nobody catch up
            self._catch_up(node, sender, message)
        try:
            actions = node.engine.on_message(message)
        except InvalidMessage:
            if node.honest:
                self.rejected += 1
            return
        if node.honest and node.engine.buffered_bytes > self.config.engine.max_buffered_bytes:
            self._violate(
                "bounded",
                f"node {node.index} keeps {node.engine.buffered_bytes} bytes for the next height",
            )
        self._handle(node, actions)

    def _catch_up(self, node: SimNode, sender: int, message: Message) -> None:
        """The reactor's part: answer a peer that is behind with certificates."""
        height = message.height
        if height > node.app.height:
            return
        last = self.now - self.config.engine.gossip_interval
        if node.catch_up_sent.get((sender, height), last - 1) > last:
            return
        node.catch_up_sent[(sender, height)] = self.now
        for h in range(height, min(height + CATCH_UP_HEIGHTS, node.app.height + 1)):
            block, certificate = node.app.blocks[h]
            self.send(node, [sender], encode_message(CommitMessage(certificate, block)))

    # -- nodes -----------------------------------------------------------

    def _handle(self, node: SimNode, actions: list[Action]) -> None:
        """Carry out a node's actions in order; maybe crash part way (a random
        crash, a failing WAL write, or the lock attack's crash after a send)."""
        pending = list(actions)
        crash_at = -1
        if (
            node.honest
            and self.unstable
            and "crash" in self.config.faults
            and self.rng.random() < self.config.crash_rate
        ):
            crash_at = self.rng.randint(0, len(pending))
        done = 0
        while pending:
            if done == crash_at:
                self._crash(node)
                return
            action = pending.pop(0)
            done += 1
            if isinstance(action, Persist) and self._wal_write_fails(node):
                self._crash(node)  # fail-stop: nothing after the failed write leaves
                return
            more = self._carry_out(node, action)
            pending.extend(more)
        if node.index in self._crash_after:
            self._crash_after.discard(node.index)
            self._crash(node, self.rng.randint(5, 30))
        elif crash_at >= 0:
            self._crash(node)

    def _wal_write_fails(self, node: SimNode) -> bool:
        return (
            node.honest
            and self.unstable
            and "walfail" in self.config.faults
            and self.rng.random() < self.config.wal_fail_rate
        )

    def _carry_out(self, node: SimNode, action: Action) -> list[Action]:
        if isinstance(action, Broadcast):
            if node.honest:
                self._check_signed(node, action.message)
                self._note_proposal(action.message)
                self._observe_honest_send(node, action.message)
                self.send(node, self.everyone(), encode_message(action.message))
            else:
                self._byzantine_send(node, action.message)
        elif isinstance(action, Persist):
            node.wal = encode_record(action.record)
            node.durable |= frozenset(_signature(m) for m in action.record.messages)
            if action.lock_changed:
                node.lock_record = node.wal
        elif isinstance(action, ScheduleTimeout):
            if self.attack is not None and node.honest and action.kind is TimeoutKind.PROPOSE:
                self.attack.observe_round(action.height, action.round)  # a round starts
            self._push(
                self.now + action.duration,
                ("timeout", node.index, node.epoch, action.kind, action.height, action.round),
            )
        elif isinstance(action, RequestProposal):
            self._push(
                self.now + 1, ("proposal", node.index, node.epoch, action.height, action.round)
            )
        elif isinstance(action, Commit):
            return self._commit(node, action)
        elif isinstance(action, ReportEvidence):
            self._check_evidence(node, action)
        return []

    def _observe_honest_send(self, node: SimNode, message: Message) -> None:
        """Let the lock attack see an honest proposer's proposal, and crash a
        node it wants crashed after this send."""
        if self.attack is None:
            return
        if isinstance(message, ProposalMessage) and message.proposal.proposer == node.address:
            self.attack.observe_proposal(message)
        if "crash" in self.config.faults and self.attack.wants_crash(node, message):
            self._crash_after.add(node.index)

    def _commit(self, node: SimNode, commit: Commit) -> list[Action]:
        if node.honest:
            self._check_commit(node, commit)
        node.app.apply(commit.height, commit.block, commit.certificate)
        if node.honest:
            for slot in node.app.evidence_of(commit.block):
                self.recorded.add(slot)
                self._unrecorded.pop(slot, None)
            for slot in [s for s in node.evidence_pool if s in node.app.recorded]:
                del node.evidence_pool[slot]
        if self.healed:
            node.committed_after_heal += 1
            if node.honest:
                self.longest_wait = max(self.longest_wait, self.now - node.last_progress)
        node.last_progress = self.now
        height = commit.height + 1
        return node.engine.start_height(height, *self._sets(node, height))

    def _build_proposal(self, node: SimNode, height: int, round_: int) -> None:
        changes = "valset" in self.config.faults
        evidence: tuple[bytes, ...] = ()
        if node.honest:  # a Byzantine proposer leaves evidence out
            pending = [data for _, data in sorted(node.evidence_pool.items())]
            evidence = tuple(pending[:MAX_EVIDENCE_PER_BLOCK])
        block = node.app.build_block(height, round_, node.address, self.rng, changes, evidence)
        if node.mode == "garbage" and self.rng.random() < 0.5:
            block = encode_block(height + 1, round_, node.address, 0, (), ())  # invalid height
        self._handle(node, node.engine.on_proposal_ready(height, round_, block))

    def _crash(self, node: SimNode, downtime: int | None = None) -> None:
        self.crashes += 1
        node.up = False
        node.epoch += 1
        if downtime is None:
            downtime = self.rng.randint(10, 200)
        self._push(min(self.now + downtime, self.config.unstable_ticks), ("restart", node.index))

    def _restart(self, node: SimNode) -> None:
        """Restart from the WAL and the guard; with ``walloss`` the WAL is
        sometimes gone (moved aside after corruption) and only the guard is left."""
        if node.up:
            return
        node.up = True
        if "walloss" in self.config.faults and self.rng.random() < self.config.wal_loss_rate:
            node.wal = None  # what the guard keeps is left: the signer state, the lock record
        kept = node.wal if node.wal is not None else node.lock_record
        record = decode_record(kept) if kept is not None else None
        node.engine = self._new_engine(node.index, node.key, node.mode, node.app, node.guard)
        height = node.app.height + 1
        if record is not None and record.height == height:
            actions = node.engine.restore(record, *self._sets(node, height))
        else:
            actions = node.engine.start_height(height, *self._sets(node, height))
        node.last_progress = max(node.last_progress, self.now)
        self._handle(node, actions)

    # -- evidence ----------------------------------------------------------

    def _receive_evidence(self, node: SimNode, data: bytes) -> None:
        """Evidence gossiped by a peer (as the node's mempool would carry it)."""
        evidence = node.app.check_evidence(data)
        if evidence is not None:
            node.evidence_pool.setdefault(evidence_slot(evidence), data)

    # -- invariants ------------------------------------------------------

    def _violate(self, invariant: str, detail: str) -> None:
        self.violations.append(Violation(invariant, self.now, detail))

    def _check_signed(self, node: SimNode, message: Message) -> None:
        if isinstance(message, Vote):
            if message.validator != node.address:
                return  # a relayed vote (proof of lock, equivocation), not ours
            key = (node.address, message.height, message.round, int(message.step))
            digest = message.signing_digest(CHAIN_ID)
        elif isinstance(message, ProposalMessage):
            p = message.proposal
            if p.proposer != node.address:
                return  # a relayed proposal (an equivocation seen), not ours
            key = (node.address, p.height, p.round, int(Step.PROPOSE))
            digest = p.signing_digest(CHAIN_ID)
        else:
            return
        if _signature(message) not in node.durable:
            self._violate(
                "persist-before-send",
                f"node {node.index} sent a message it signed before its WAL held it "
                f"(height {key[1]} round {key[2]} step {Step(key[3]).name})",
            )
        previous = self.signed.setdefault(key, digest)
        if previous != digest:
            self._violate(
                "double-sign",
                f"node {node.index} signed two messages for "
                f"height {key[1]} round {key[2]} step {Step(key[3]).name}",
            )

    def _note_proposal(self, message: Message) -> None:
        if isinstance(message, ProposalMessage):
            self.proposed.add((message.proposal.height, message.proposal.block_hash))

    def _check_commit(self, node: SimNode, commit: Commit) -> None:
        height = commit.height
        first = self.decided.setdefault(height, commit.block_hash)
        if first != commit.block_hash:
            self._violate(
                "agreement",
                f"node {node.index} committed {commit.block_hash.hex()[:16]}"
                f" at height {height}, another honest node {first.hex()[:16]}",
            )
        if (height, commit.block_hash) not in self.proposed:
            self._violate("validity", f"height {height}: committed block was never proposed")
        try:
            matches = node.app.block_hash(commit.block) == commit.block_hash
        except MalformedBlock:
            matches = False
        if not matches:
            self._violate("validity", f"height {height}: block does not match its id")
        elif not node.app.validate_block(height, commit.block):
            self._violate("validity", f"height {height}: committed an invalid block")
        try:
            check_certificate_for(commit.certificate, height, commit.block_hash)
            verify_certificate(
                commit.certificate, node.app.validator_set(height), CHAIN_ID, self.verify
            )
        except InvalidCertificate as exc:
            self._violate("validity", f"height {height}: certificate: {exc}")

    def _check_evidence(self, node: SimNode, report: ReportEvidence) -> None:
        """Honest evidence must verify and accuse a Byzantine validator; it
        is then kept until recorded, and gossiped."""
        if not node.honest:
            return
        self.evidence += 1
        evidence = report.evidence
        accused = next(n for n in self.nodes if n.address == evidence.validator)
        if accused.honest:
            self._violate("evidence", f"node {node.index} accused honest node {accused.index}")
        try:
            verify_evidence(
                evidence, node.app.validator_set(evidence.height), CHAIN_ID, self.verify
            )
        except InvalidEvidence as exc:
            self._violate("evidence", f"node {node.index} reported invalid evidence: {exc}")
            return
        slot = evidence_slot(evidence)
        if slot in node.app.recorded:
            return
        if slot not in self.reported and slot not in self.recorded:
            self.reported[slot] = self._unrecorded[slot] = self.now
        data = encode_evidence(evidence)
        node.evidence_pool.setdefault(slot, data)
        self.send(node, self.everyone(), data, kind="evidence")

    def _check_evidence_recorded(self) -> None:
        """Every reported equivocation is on chain within liveness_ticks of
        its report (or of the heal, if reported before); checked every
        PARTITION_CHECK ticks."""
        if not self.healed or not self._unrecorded or self.now < self._evidence_check:
            return
        self._evidence_check = self.now + PARTITION_CHECK
        for slot, tick in self._unrecorded.items():
            if self.now - max(tick, self.heal_tick) > self.config.liveness_ticks:
                self._violate(
                    "evidence",
                    f"equivocation at height {slot[1]} round {slot[2]} reported at tick "
                    f"{tick} is not recorded",
                )
                return

    def _check_liveness(self) -> None:
        if not self.healed:
            return
        for node in self.nodes:
            if node.honest and self.now - node.last_progress > self.config.liveness_ticks:
                self._violate(
                    "liveness",
                    f"node {node.index} committed nothing for "
                    f"{self.config.liveness_ticks} ticks after the heal "
                    f"(stuck at height {node.app.height + 1})",
                )
                return

    # -- Byzantine behaviour ----------------------------------------------

    def _byzantine_receive(self, node: SimNode, data: bytes, message: Message) -> None:
        if node.mode == "replay":
            node.seen.append(data)
            if len(node.seen) > REPLAY_BUFFER:
                node.seen.pop(0)
        elif node.mode in ("double-vote", "amnesia") and isinstance(message, ProposalMessage):
            p = message.proposal
            self._vote_for_everything(node, p.height, p.round, p.block_hash)
        elif node.mode == "swap":
            relay_swapped(self, node, message)
        elif node.mode == "flood":
            flood_next_height(self, node, message)
        elif node.mode == "push-rounds":
            push_rounds(self, node, message)

    def _vote_for_everything(self, node: SimNode, height: int, round_: int, value: bytes) -> None:
        """Prevote and precommit ``value`` to everyone, whatever else was signed."""
        for step in (Step.PREVOTE, Step.PRECOMMIT):
            vote = sign_vote(node.key, CHAIN_ID, step, height, round_, value, node.address)
            self.send(node, self.everyone(), encode_message(vote))

    def _byzantine_send(self, node: SimNode, message: Message) -> None:
        self._note_proposal(message)
        data = encode_message(message)
        everyone = self.everyone()
        mode = node.mode
        if mode == "silent":
            return
        if mode == "lock-attack":
            assert self.attack is not None
            self.attack.member_send(node, message)
        elif mode == "fake-pol" and isinstance(message, ProposalMessage):
            if not propose_with_fake_pol(self, node, message):
                self.send(node, everyone, data)
        elif mode == "subset":
            self.send(node, self._random_subset(), data)
        elif mode == "equivocate":
            self._equivocate(node, message)
        elif (
            mode == "double-vote"
            and isinstance(message, Vote)
            and (message.validator == node.address)
        ):
            other = sign_vote(
                node.key,
                CHAIN_ID,
                message.step,
                message.height,
                message.round,
                None if message.block_hash else self.rng.randbytes(32),
                node.address,
            )
            group = self._random_subset()
            self.send(node, group, data)
            self.send(node, [i for i in everyone if i not in group], encode_message(other))
        elif mode == "amnesia" and isinstance(message, ProposalMessage):
            p = message.proposal
            block = node.app.build_block(p.height, p.round, node.address, self.rng, False)
            fresh = sign_proposal(
                node.key, CHAIN_ID, p.height, p.round, -1, node.app.block_hash(block), node.address
            )
            self._note_proposal(ProposalMessage(fresh, block))
            self.send(node, everyone, encode_message(ProposalMessage(fresh, block)))
            self._vote_for_everything(node, fresh.height, fresh.round, fresh.block_hash)
        elif mode == "garbage":
            self.send(node, everyone, data)
            for junk in self._garbage(node, message, data):
                self.send(node, self._random_subset(), junk)
        elif mode == "replay":
            self.send(node, everyone, data)
            for _ in range(self.rng.randint(0, 3)):
                if node.seen:
                    self.send(node, self._random_subset(), self.rng.choice(node.seen))
        else:
            self.send(node, everyone, data)

    def _random_subset(self) -> list[int]:
        everyone = self.everyone()
        return sorted(self.rng.sample(everyone, self.rng.randint(0, len(everyone))))

    def _equivocate(self, node: SimNode, message: Message) -> None:
        everyone = self.everyone()
        if isinstance(message, ProposalMessage):
            p = message.proposal
            slot = (p.height, p.round)
            if slot not in node.split:
                other_block = node.app.build_block(p.height, p.round, node.address, self.rng, False)
                other = sign_proposal(
                    node.key,
                    CHAIN_ID,
                    p.height,
                    p.round,
                    -1,
                    node.app.block_hash(other_block),
                    node.address,
                )
                group = sorted(self.rng.sample(everyone, len(everyone) // 2))
                node.split[slot] = (group, encode_message(ProposalMessage(other, other_block)))
                self._note_proposal(ProposalMessage(other, other_block))
            group, other_data = node.split[slot]
            self.send(node, [i for i in everyone if i not in group], encode_message(message))
            self.send(node, group, other_data)
            return
        if isinstance(message, Vote) and (message.height, message.round) in node.split:
            group, other_data = node.split[(message.height, message.round)]
            twin_proposal = self._decode(other_data)
            assert isinstance(twin_proposal, ProposalMessage)
            twin = sign_vote(
                node.key,
                CHAIN_ID,
                message.step,
                message.height,
                message.round,
                twin_proposal.proposal.block_hash,
                node.address,
            )
            self.send(node, [i for i in everyone if i not in group], encode_message(message))
            self.send(node, group, encode_message(twin))
            return
        self.send(node, everyone, encode_message(message))

    def _garbage(self, node: SimNode, message: Message, data: bytes) -> list[bytes]:
        rng = self.rng
        height = message.height
        junk = [rng.randbytes(rng.randint(0, 64))]
        flipped = bytearray(data)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        junk.append(bytes(flipped))
        junk.append(data[: rng.randrange(len(data))])
        unsigned = Vote(Step.PREVOTE, height, 0, rng.randbytes(32), node.address, rng.randbytes(64))
        junk.append(encode_message(unsigned))
        outsider = sign_vote(
            self.outsider,
            CHAIN_ID,
            Step.PRECOMMIT,
            height,
            0,
            rng.randbytes(32),
            address_of(self.outsider.public_key),
        )
        junk.append(encode_message(outsider))
        far = sign_vote(
            node.key,
            CHAIN_ID,
            Step.PREVOTE,
            height,
            rng.randint(1000, 2**31 - 1),
            None,
            node.address,
        )
        junk.append(encode_message(far))
        wrong_block = sign_proposal(
            node.key, CHAIN_ID, height, 0, -1, rng.randbytes(32), node.address
        )
        junk.append(encode_message(ProposalMessage(wrong_block, b"not the block")))
        lone = sign_vote(
            node.key, CHAIN_ID, Step.PRECOMMIT, height, 0, rng.randbytes(32), node.address
        )
        assert lone.block_hash is not None
        certificate = CommitCertificate(
            height, 0, lone.block_hash, (CommitSignature(node.address, lone.signature),)
        )
        junk.append(encode_message(CommitMessage(certificate, b"")))
        return junk


def run_seed(
    seed: int,
    config: SimConfig,
    engine_factory: EngineFactory | None = None,
    trace: Callable[[str], None] | None = None,
) -> SimResult:
    """Run one seed."""
    return Simulation(seed, config, engine_factory, trace).run()
