"""A deterministic simulation of Byzantine networks running N consensus engines.

One seed drives everything (``random.Random(seed)``, owned here, never by
an engine): message delays and reordering, drops, duplicates, partitions
that heal, crashes (at any point of an engine's action list) with restart
from the persisted record, the choice of Byzantine validators and their
behaviour. Time is an integer tick; events are processed in (tick, sequence)
order, and nothing iterates over a set or depends on hash order, so a seed
replays exactly, in any process.

The run has two phases. Until ``unstable_ticks`` the network misbehaves
(drops, partitions, crashes); then it heals: partitions end, crashed nodes
are back, messages arrive within ``max_delay`` ticks (still reordered and
duplicated). Byzantine validators misbehave throughout. The run ends when
every honest node has committed ``heights`` heights and at least
``heights_after_heal`` of them after the heal.

After every step the harness checks:
- agreement: no two honest nodes commit different blocks at one height;
- validity: a committed block was proposed and its certificate verifies
  against the height's validator set;
- no double sign: no honest validator broadcasts two different signed
  messages for one (height, round, step), across its crashes too;
- liveness: after the heal, every honest node commits a new height at least
  every ``liveness_ticks`` ticks;
- honest evidence: evidence reported by honest nodes verifies and accuses a
  Byzantine validator.

Byzantine behaviours (one per Byzantine validator, chosen by the seed from
the configured mix):
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
- ``replay``: also re-sends old messages it has seen to random peers.

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
)
from consensus.engine.certificate import (
    CommitCertificate,
    CommitSignature,
    InvalidCertificate,
    check_certificate_for,
    verify_certificate,
)
from consensus.engine.engine import Engine, EngineConfig, InvalidMessage
from consensus.engine.evidence import InvalidEvidence, verify_evidence
from consensus.engine.messages import MessageError, Step, Vote, sign_proposal, sign_vote
from consensus.engine.record import decode_record, encode_record
from consensus.engine.signer import Signer, SignerState
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import (
    CommitMessage,
    Message,
    ProposalMessage,
    decode_message,
    encode_message,
)
from ledger import codec, crypto
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
)
FAULTS: Final = ("drop", "duplicate", "partition", "crash", "valset")
CATCH_UP_HEIGHTS: Final = 4
REPLAY_BUFFER: Final = 256
PARTITION_CHECK: Final = 10
MAX_SIM_POWER: Final = 3  # power changes in blocks stay within [1, 3]

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
    max_power: int = 3  # honest validators get a power in [1, max_power]; Byzantine ones 1
    heights_after_heal: int = 2
    unstable_ticks: int = 400
    max_delay: int = 8
    drop_rate: float = 0.1
    duplicate_rate: float = 0.05
    crash_rate: float = 0.004  # per input handled by an honest node, while unstable
    partition_rate: float = 0.004  # per tick while unstable, when no partition is on
    liveness_ticks: int = 2500
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        if self.byzantine < 0 or 3 * self.byzantine >= self.validators:
            raise ValueError("need validators > 3 * byzantine >= 0")
        unknown = [m for m in self.byzantine_modes if m not in BYZANTINE_MODES]
        unknown += [f for f in self.faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}")
        if self.byzantine and not self.byzantine_modes:
            raise ValueError("byzantine validators need at least one behaviour")


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


class SimApp:
    """The replicated application of the simulation.

    A block is ``encode([height, round, proposer, nonce, changes])`` where
    changes are ``[[public_key, power], ...]``: power changes of honest
    validators, within [1, 3], which take effect two heights later. Byzantine
    validators keep power 1, so their power stays below one third.
    """

    def __init__(self, genesis: ValidatorSet, mutable: tuple[bytes, ...]) -> None:
        self.mutable = mutable  # public keys whose power blocks may change
        self.sets: dict[int, ValidatorSet] = {1: genesis, 2: genesis.next_height()}
        self.blocks: dict[int, tuple[bytes, CommitCertificate]] = {}

    @property
    def height(self) -> int:
        """The last committed height."""
        return len(self.blocks)

    def block_hash(self, block: bytes) -> bytes:
        return crypto.sha256(block)

    def validate_block(self, height: int, block: bytes) -> bool:
        try:
            value = codec.decode(block)
        except codec.CodecError:
            return False
        if not (isinstance(value, tuple) and len(value) == 5 and value[0] == height):
            return False
        changes = value[4]
        if not isinstance(changes, tuple) or len(changes) > 1:
            return False
        return all(
            isinstance(c, tuple)
            and len(c) == 2
            and c[0] in self.mutable
            and type(c[1]) is int
            and 1 <= c[1] <= MAX_SIM_POWER
            for c in changes
        )

    def build_block(
        self, height: int, round: int, proposer: bytes, rng: random.Random, change_powers: bool
    ) -> bytes:
        changes: tuple[tuple[bytes, int], ...] = ()
        if change_powers and self.mutable and rng.random() < 0.3:
            changes = ((rng.choice(self.mutable), rng.randint(1, MAX_SIM_POWER)),)
        return codec.encode((height, round, proposer, rng.getrandbits(64), changes))

    def apply(self, height: int, block: bytes, certificate: CommitCertificate) -> None:
        assert height == self.height + 1
        self.blocks[height] = (block, certificate)
        changes = codec.decode(block)[4]
        updates = [Validator.from_public_key(key, power) for key, power in changes]
        self.sets[height + 2] = self.sets[height + 1].next_height(updates)

    def validator_set(self, height: int) -> ValidatorSet:
        return self.sets[height]


@dataclass(eq=False)
class SimNode:
    """One simulated validator: its engine, durable state and network glue."""

    index: int
    key: crypto.SigningKey
    address: bytes
    mode: str  # "honest" or a Byzantine behaviour
    app: SimApp
    engine: Engine
    disk: bytes | None = None  # the latest persisted record
    up: bool = True
    epoch: int = 0  # bumped by a crash: stale timers are dropped
    last_progress: int = 0
    committed_after_heal: int = 0
    catch_up_sent: dict[tuple[int, int], int] = field(default_factory=dict)
    # Byzantine memory
    seen: list[bytes] = field(default_factory=list)
    split: dict[tuple[int, int], tuple[list[int], bytes]] = field(default_factory=dict)

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
        self.now = 0
        self.events = 0
        self.crashes = 0
        self.evidence = 0
        self.longest_wait = 0
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
        self._outsider = crypto.SigningKey(hashlib.sha256(b"sim-outsider").digest())
        self._build_nodes()

    # -- setup -----------------------------------------------------------

    def _build_nodes(self) -> None:
        n, f = self.config.validators, self.config.byzantine
        keys = [validator_key(i) for i in range(n)]
        byzantine = sorted(self.rng.sample(range(n), f))
        modes = {i: self.rng.choice(self.config.byzantine_modes) for i in byzantine}
        powers = [1 if i in modes else self.rng.randint(1, self.config.max_power) for i in range(n)]
        genesis = ValidatorSet.create(
            Validator.from_public_key(k.public_key, p) for k, p in zip(keys, powers, strict=True)
        )
        mutable = tuple(keys[i].public_key for i in range(n) if i not in modes)
        self.nodes: list[SimNode] = []
        for i, key in enumerate(keys):
            app = SimApp(genesis, mutable if "valset" in self.config.faults else ())
            mode = modes.get(i, "honest")
            node = SimNode(
                i,
                key,
                address_of(key.public_key),
                mode,
                app,
                self._new_engine(key, mode, app, None),
            )
            self.nodes.append(node)
        self.byzantine = modes

    def _new_engine(
        self, key: crypto.SigningKey, mode: str, app: SimApp, state: SignerState | None
    ) -> Engine:
        signer = Signer(key, CHAIN_ID, state)
        if mode != "honest":
            return Engine(self.config.engine, CHAIN_ID, signer, app, self.verify)
        return self.engine_factory(self.config.engine, CHAIN_ID, signer, app, self.verify)

    # -- the event loop --------------------------------------------------

    def run(self) -> SimResult:
        for node in self.nodes:
            self._handle(node, node.engine.start_height(1, node.app.validator_set(1)))
        self._push(self.config.unstable_ticks, ("heal",))
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
        elif kind == "restart":
            self._restart(self.nodes[event[1]])
        elif kind == "partition-tick":
            self._partition_tick()
        elif kind == "partition-end":
            self.partition = None
        elif kind == "heal":
            self._heal()

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
        if not self.healed:
            return False
        return all(
            n.app.height >= self.config.heights
            and n.committed_after_heal >= self.config.heights_after_heal
            for n in self.nodes
            if n.honest
        )

    # -- network ---------------------------------------------------------

    @property
    def unstable(self) -> bool:
        return not self.healed

    def _send(self, sender: SimNode, recipients: list[int], data: bytes) -> None:
        for to in recipients:
            if to == sender.index:
                continue
            if self.unstable:
                if self.partition is not None and (
                    (sender.index in self.partition) != (to in self.partition)
                ):
                    continue
                if "drop" in self.config.faults and (self.rng.random() < self.config.drop_rate):
                    continue
            self._push(
                self.now + self.rng.randint(1, self.config.max_delay),
                ("deliver", to, sender.index, data),
            )
            if "duplicate" in self.config.faults and (
                self.rng.random() < self.config.duplicate_rate
            ):
                self._push(
                    self.now + self.rng.randint(1, self.config.max_delay),
                    ("deliver", to, sender.index, data),
                )

    def _everyone(self) -> list[int]:
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
        self.partition = None
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
        self._catch_up(node, sender, message)
        try:
            actions = node.engine.on_message(message)
        except InvalidMessage:
            return
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
            self._send(node, [sender], encode_message(CommitMessage(certificate, block)))

    # -- nodes -----------------------------------------------------------

    def _handle(self, node: SimNode, actions: list[Action]) -> None:
        """Carry out a node's actions in order; maybe crash part way."""
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
            more = self._carry_out(node, action)
            pending.extend(more)
        if crash_at >= 0:
            self._crash(node)

    def _carry_out(self, node: SimNode, action: Action) -> list[Action]:
        if isinstance(action, Broadcast):
            if node.honest:
                self._check_signed(node, action.message)
                self._note_proposal(action.message)
                self._send(node, self._everyone(), encode_message(action.message))
            else:
                self._byzantine_send(node, action.message)
        elif isinstance(action, Persist):
            node.disk = encode_record(action.record)
        elif isinstance(action, ScheduleTimeout):
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

    def _commit(self, node: SimNode, commit: Commit) -> list[Action]:
        if node.honest:
            self._check_commit(node, commit)
        node.app.apply(commit.height, commit.block, commit.certificate)
        if self.healed:
            node.committed_after_heal += 1
            if node.honest:
                self.longest_wait = max(self.longest_wait, self.now - node.last_progress)
        node.last_progress = self.now
        height = commit.height + 1
        return node.engine.start_height(height, node.app.validator_set(height))

    def _build_proposal(self, node: SimNode, height: int, round_: int) -> None:
        changes = "valset" in self.config.faults
        block = node.app.build_block(height, round_, node.address, self.rng, changes)
        if node.mode == "garbage" and self.rng.random() < 0.5:
            block = codec.encode((height + 1, round_, node.address, 0, ()))  # invalid height
        self._handle(node, node.engine.on_proposal_ready(height, round_, block))

    def _crash(self, node: SimNode) -> None:
        self.crashes += 1
        node.up = False
        node.epoch += 1
        downtime = self.rng.randint(10, 200)
        self._push(min(self.now + downtime, self.config.unstable_ticks), ("restart", node.index))

    def _restart(self, node: SimNode) -> None:
        if node.up:
            return
        node.up = True
        record = decode_record(node.disk) if node.disk is not None else None
        state = record.signer_state if record is not None else None
        node.engine = self._new_engine(node.key, node.mode, node.app, state)
        height = node.app.height + 1
        if record is not None and record.height == height:
            actions = node.engine.restore(record, node.app.validator_set(height))
        else:
            actions = node.engine.start_height(height, node.app.validator_set(height))
        node.last_progress = max(node.last_progress, self.now)
        self._handle(node, actions)

    # -- invariants ------------------------------------------------------

    def _violate(self, invariant: str, detail: str) -> None:
        self.violations.append(Violation(invariant, self.now, detail))

    def _check_signed(self, node: SimNode, message: Message) -> None:
        if isinstance(message, Vote):
            if message.validator != node.address:
                return  # a relayed vote (proof of lock), not ours
            key = (node.address, message.height, message.round, int(message.step))
            digest = message.signing_digest(CHAIN_ID)
        elif isinstance(message, ProposalMessage):
            p = message.proposal
            key = (node.address, p.height, p.round, int(Step.PROPOSE))
            digest = p.signing_digest(CHAIN_ID)
        else:
            return
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
        if crypto.sha256(commit.block) != commit.block_hash:
            self._violate("validity", f"height {height}: block does not match its hash")
        try:
            check_certificate_for(commit.certificate, height, commit.block_hash)
            verify_certificate(
                commit.certificate, node.app.validator_set(height), CHAIN_ID, self.verify
            )
        except InvalidCertificate as exc:
            self._violate("validity", f"height {height}: certificate: {exc}")

    def _check_evidence(self, node: SimNode, report: ReportEvidence) -> None:
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

    def _vote_for_everything(self, node: SimNode, height: int, round_: int, value: bytes) -> None:
        """Prevote and precommit ``value`` to everyone, whatever else was signed."""
        for step in (Step.PREVOTE, Step.PRECOMMIT):
            vote = sign_vote(node.key, CHAIN_ID, step, height, round_, value, node.address)
            self._send(node, self._everyone(), encode_message(vote))

    def _byzantine_send(self, node: SimNode, message: Message) -> None:
        self._note_proposal(message)
        data = encode_message(message)
        everyone = self._everyone()
        mode = node.mode
        if mode == "silent":
            return
        if mode == "subset":
            self._send(node, self._random_subset(), data)
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
            self._send(node, group, data)
            self._send(node, [i for i in everyone if i not in group], encode_message(other))
        elif mode == "amnesia" and isinstance(message, ProposalMessage):
            p = message.proposal
            block = node.app.build_block(p.height, p.round, node.address, self.rng, False)
            fresh = sign_proposal(
                node.key, CHAIN_ID, p.height, p.round, -1, crypto.sha256(block), node.address
            )
            self._note_proposal(ProposalMessage(fresh, block))
            self._send(node, everyone, encode_message(ProposalMessage(fresh, block)))
            self._vote_for_everything(node, fresh.height, fresh.round, fresh.block_hash)
        elif mode == "garbage":
            self._send(node, everyone, data)
            for junk in self._garbage(node, message, data):
                self._send(node, self._random_subset(), junk)
        elif mode == "replay":
            self._send(node, everyone, data)
            for _ in range(self.rng.randint(0, 3)):
                if node.seen:
                    self._send(node, self._random_subset(), self.rng.choice(node.seen))
        else:
            self._send(node, everyone, data)

    def _random_subset(self) -> list[int]:
        everyone = self._everyone()
        return sorted(self.rng.sample(everyone, self.rng.randint(0, len(everyone))))

    def _equivocate(self, node: SimNode, message: Message) -> None:
        everyone = self._everyone()
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
                    crypto.sha256(other_block),
                    node.address,
                )
                group = sorted(self.rng.sample(everyone, len(everyone) // 2))
                node.split[slot] = (group, encode_message(ProposalMessage(other, other_block)))
                self._note_proposal(ProposalMessage(other, other_block))
            group, other_data = node.split[slot]
            self._send(node, [i for i in everyone if i not in group], encode_message(message))
            self._send(node, group, other_data)
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
            self._send(node, [i for i in everyone if i not in group], encode_message(message))
            self._send(node, group, encode_message(twin))
            return
        self._send(node, everyone, encode_message(message))

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
            self._outsider,
            CHAIN_ID,
            Step.PRECOMMIT,
            height,
            0,
            rng.randbytes(32),
            address_of(self._outsider.public_key),
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
