"""The validator node: the ledger under Tendermint consensus, on the network.

``Node`` wires the parts together and is the only place where they meet
time and I/O:

- the **engine** (consensus.engine.engine) decides blocks; its actions are carried
  out in order: ``Persist`` goes to the WAL with fsync before anything
  after it, ``Broadcast`` to peers, ``ScheduleTimeout`` to the ticker,
  ``RequestProposal`` builds a block from the mempool, ``Commit`` stores the
  block atomically and starts the next height after ``block_interval_ms``;
- the **signer** is behind two guards: the engine's own (its state is in
  the WAL record) and the double-sign guard file (consensus.node.privval), which
  refuses any conflicting signature whatever the WAL says;
- **p2p** (consensus.node.p2p) carries five channels: consensus messages,
  compact proposals and their fetches (consensus.node.compact_proposals:
  with ``[p2p] compact_proposals`` a proposal goes out as its transactions'
  hashes, and a compact proposal that arrives is rebuilt from the mempool
  and handed to the engine whole), mempool gossip (batches of raw
  transactions), block sync (consensus.node.blocksync) and threshold-key
  ceremonies;
- the **threshold service** (consensus.node.threshold.service, validators only)
  hears of every commit through the event hub and runs the ceremonies the
  chain asks for on the THRESHOLD channel;
- the **mint service** (consensus.node.mint.service, validators only) runs
  the validator's key holder duties for the mint after every commit and
  submits them as transactions;
- the **mail service** (consensus.node.mail.service, validators only) does
  the validator's part in the anonymous mail mix after every commit
  (shuffles in its turn, decryption shares) and submits it as transactions;
- the **mempool** (consensus.node.mempool) admits transactions from RPC and
  peers (consensus.node.mempool_gossip, which punishes a peer relaying a
  forged one) without running them, journals them so a restart keeps them
  (consensus.node.mempool_journal), and hands its decoded transactions and
  verified hashes to block execution, so no transaction is decoded or
  verified twice on one node;
- the **RPC server** (consensus.node.rpc) serves the NodeView this class implements.

Validator sets: the set of height h+1 is the set of h after one proposer
step and the membership changes that the ledger schedules for h+1
(ledger.features.validators.schedule: a change executed at H is in force at H+2). It is saved
with block h, so a restarted node knows its proposer priorities.

Over 600 lines for a reason: this is the one place where the parts meet
time and I/O, by design (see above). Each part lives in its own module;
what is left here is their wiring, in the order an operator reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

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
    check_certificate_for,
    decode_certificate,
    encode_certificate,
    verify_certificate,
)
from consensus.engine.engine import Engine, EngineConfig, InvalidMessage
from consensus.engine.evidence import encode_evidence
from consensus.engine.messages import MessageError, Step
from consensus.engine.record import ConsensusRecord, RecordError, decode_record, encode_record
from consensus.engine.signer import DoubleSignError, Signer, SignerState
from consensus.engine.validators import Validator, ValidatorSet, decode_validator_set
from consensus.engine.wire import Message, ProposalMessage, decode_message, encode_message
from consensus.node.application import LedgerApplication
from consensus.node.block_budget import (
    PER_TX_ROOM,
    FrameTooSmallForBlocks,
    block_bytes_budget,
    check_frame_carries_blocks,
)
from consensus.node.blocksync import (
    BlockMessage,
    GetBlock,
    NoBlock,
    StatusMessage,
    SyncMessageError,
    SyncTracker,
    decode_sync_message,
    encode_sync_message,
)
from consensus.node.compact_proposals import (
    CompactProposals,
    Timing,
    compact_form,
    encode_compact_message,
)
from consensus.node.config import (
    ConfigError,
    ConsensusConfig,
    NodeConfig,
    insecure_key_warnings,
    load_config,
    load_key_file,
)
from consensus.node.fault_injection import inject_wal_failures
from consensus.node.lock_copy import LockCopy, LockCopyError
from consensus.node.logs import setup_logging
from consensus.node.mail.service import MailService, shares_from
from consensus.node.mempool import QUEUED, Mempool, MempoolConfig
from consensus.node.mempool_gossip import MempoolGossip
from consensus.node.mempool_journal import MempoolJournal
from consensus.node.mint.service import MintService
from consensus.node.p2p import (
    BLOCKSYNC_CHANNEL,
    COMPACT_CHANNEL,
    CONSENSUS_CHANNEL,
    MEMPOOL_CHANNEL,
    STATESYNC_CHANNEL,
    THRESHOLD_CHANNEL,
    FrameTooLarge,
    P2PConfig,
    P2PNode,
    PeerInfo,
    PeerMisbehaved,
)
from consensus.node.privval import DoubleSignGuard, DoubleSignRefused, GuardFileError
from consensus.node.privval import Step as GuardStep
from consensus.node.rpc.events import EventHub
from consensus.node.rpc.explorer import explorer_url
from consensus.node.rpc.node_view import MempoolInfo, NodeStatus, Submission, ValidatorInfo
from consensus.node.rpc.server import RpcServer
from consensus.node.serve_budget import ServeBudget
from consensus.node.statesync import (
    GetHeaders,
    GetNodes,
    Headers,
    Nodes,
    Offers,
    StateSyncMessage,
    StateSyncMessageError,
    decode_statesync_message,
    encode_statesync_message,
    next_validator_set,
)
from consensus.node.statesync_service import SnapshotServer, StateSyncClient, SyncReport
from consensus.node.threshold.service import ThresholdService
from consensus.node.threshold.store import ThresholdStoreError
from consensus.node.ticker import Ticker
from consensus.node.wal import WalError, WriteAheadLog
from consensus.node.wire_limits import (
    MAX_GOSSIP_TXS,
    certificate_limits,
    channel_limits,
    consensus_message_limits,
)
from ledger import codec
from ledger.address import address_of, encode_address
from ledger.chain import Chain
from ledger.crypto import SigningKey
from ledger.exceptions import AlreadyKnown, InvalidBlock, MalformedTransaction, TxRejected
from ledger.features.evidence.bodies import RecordEvidence
from ledger.features.threshold.ceremonies import PHASE_BLOCKS
from ledger.features.validators.interface import validator_set_for_height
from ledger.genesis import Genesis, load_genesis
from ledger.state import StateReader, tree_key
from ledger.state_tree import StateTree
from ledger.store import StoreError
from ledger.transition import BlockResult
from ledger.types import Block, DecodeError, Transaction, decode_transaction

log = logging.getLogger("consensus.node")

VALIDATOR_SET_RECORD: Final = b"vset"
SYNC_INTERVAL_S: Final = 0.2
STATUS_INTERVAL_S: Final = 2.0
GOSSIP_INTERVAL_S: Final = 0.1
START_GRACE_S: Final = 5.0  # consensus starts without news from peers after this
GOSSIP_FRAME_ROOM: Final = 64  # the frame's and the array's headers


class NodeError(Exception):
    """The node cannot start or must stop; the message says why and what to do."""


class GuardedSigner(Signer):
    """The engine's signer, which also asks the double-sign guard file before
    every new signature (persisted before the signature exists)."""

    def __init__(
        self, key: SigningKey, chain_id: str, guard: DoubleSignGuard, state: SignerState | None
    ) -> None:
        super().__init__(key, chain_id, state)
        self._guard = guard

    def _check(self, height: int, round: int, step: Step, digest: bytes) -> bytes | None:
        reused = super()._check(height, round, step, digest)
        if reused is None:
            try:
                self._guard.check_and_record(height, round, GuardStep(int(step)), digest)
            except DoubleSignRefused as refused:
                raise DoubleSignError(str(refused)) from refused
        return reused


class OverlayReader:
    """Committed state with one block's changes on top (the state after it)."""

    def __init__(self, base: StateReader, changes: Mapping[bytes, bytes | None]) -> None:
        self._base = base
        self._changes = changes

    def get_state(self, key: bytes) -> bytes | None:
        if key in self._changes:
            return self._changes[key]
        return self._base.get_state(key)


class TreeReader:
    """The state at one root, read through the state tree (historical queries)."""

    def __init__(self, tree: StateTree) -> None:
        self._tree = tree

    def get_state(self, key: bytes) -> bytes | None:
        return self._tree.get(tree_key(key))


def gossip_frames(
    transactions: tuple[Transaction, ...], max_frame_bytes: int
) -> list[tuple[bytes, ...]]:
    """Mempool payloads (arrays of encoded transactions) that each fit a frame
    of ``max_frame_bytes`` and the channel's limits, in order."""
    room = max_frame_bytes - GOSSIP_FRAME_ROOM
    frames: list[tuple[bytes, ...]] = []
    current: list[bytes] = []
    size = 0
    for tx in transactions:
        raw = tx.encode()
        cost = len(raw) + PER_TX_ROOM
        if current and (size + cost > room or len(current) >= MAX_GOSSIP_TXS):
            frames.append(tuple(current))
            current, size = [], 0
        current.append(raw)
        size += cost
    if current:
        frames.append(tuple(current))
    return frames


def validator_record_key(height: int) -> bytes:
    return VALIDATOR_SET_RECORD + height.to_bytes(8, "big")


def mempool_config(config: NodeConfig) -> MempoolConfig:
    """The mempool's limits from the node's [mempool] settings."""
    settings = config.mempool
    return MempoolConfig(
        max_txs=settings.max_txs,
        max_bytes=settings.max_bytes,
        max_txs_per_sender=settings.max_txs_per_sender,
        max_queued=settings.max_queued,
        max_queued_per_sender=settings.max_queued_per_sender,
        queued_lifetime_blocks=settings.queued_lifetime_blocks,
    )


def engine_config(config: ConsensusConfig) -> EngineConfig:
    """Engine timeouts (in ticks) from the node's consensus settings."""
    return EngineConfig(
        propose_timeout=config.timeout_propose_ticks,
        propose_timeout_delta=config.timeout_delta_ticks,
        prevote_timeout=config.timeout_vote_ticks,
        prevote_timeout_delta=config.timeout_delta_ticks // 2 or 1,
        precommit_timeout=config.timeout_vote_ticks,
        precommit_timeout_delta=config.timeout_delta_ticks // 2 or 1,
    )


class Node:
    """One validator (or full node) process. Implements consensus.node.rpc.NodeView."""

    def __init__(
        self,
        home: Path,
        config: NodeConfig,
        genesis: Genesis,
        node_key: SigningKey,
        validator_key: SigningKey | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Open the node's store, WAL and guard. Raises NodeError."""
        self.home = home
        self.config = config
        self._genesis = genesis
        self._clock = clock
        data = home / "data"
        data.mkdir(parents=True, exist_ok=True)
        try:
            # Pruning passes run in the pause after each commit (_schedule_pruning).
            # Schedule proofs are stored only by a node that serves snapshots.
            self._chain = Chain.open(
                data / "chain",
                genesis,
                config.pruning.policy(),
                prune_on_commit=False,
                record_schedules=config.state_sync.snapshot_interval > 0,
            )
        except (StoreError, ConfigError) as exc:
            raise NodeError(str(exc)) from exc
        try:
            self.wal = WriteAheadLog(data / "wal")
            inject_wal_failures(self.wal)  # test only: see consensus.node.fault_injection
        except (WalError, ValueError) as exc:
            self._chain.close()
            raise NodeError(str(exc)) from exc
        self.validator_key = validator_key
        self.validator_address = address_of(validator_key.public_key) if validator_key else None
        self.guard: DoubleSignGuard | None = None
        self.lock_copy: LockCopy | None = None
        if validator_key is not None:
            try:
                self.guard = DoubleSignGuard(data / "signer_guard.json")
                self.lock_copy = LockCopy(data / "signer_lock.bin")
            except (GuardFileError, LockCopyError) as exc:
                if self.guard is not None:
                    self.guard.close()
                self.wal.close()
                self._chain.close()
                raise NodeError(str(exc)) from exc
        try:
            self._journal = MempoolJournal(data / "mempool.journal")
        except OSError as exc:
            if self.guard is not None:
                self.guard.close()
            self.wal.close()
            self._chain.close()
            raise NodeError(f"cannot open the mempool journal: {exc}") from exc
        self.mempool = Mempool(self._chain, mempool_config(config), self._journal_admitted)
        self._recover_mempool()
        self._gossip_in = MempoolGossip(
            self.mempool,
            # A peer that relays a forged transaction is disconnected and banned.
            lambda peer, reason: self.p2p.punish(peer, reason),
        )
        self._events = EventHub()
        self._pruning_scheduled = False
        self._sets: dict[int, ValidatorSet] = {}
        self._load_validator_sets()
        self._check_frame_limit()
        self.app = LedgerApplication(
            self._chain,
            self.validator_set,
            self.mempool.verified_hashes,
            self.mempool.get,
            self.mempool.remember_verified,
        )
        self.ticker: Ticker[tuple[TimeoutKind, int, int]] = Ticker()
        self.sync = SyncTracker()
        served = config.p2p
        self.serve_budget = ServeBudget(
            served.serve_requests_per_s, served.serve_peer_bytes_per_s, served.serve_bytes_per_s
        )
        settings = config.state_sync
        self.snapshots = SnapshotServer(
            self._chain,
            self._send_statesync,
            settings.snapshot_interval,
            settings.serve_requests_per_s,
            self.serve_budget,
        )
        self.state_sync: StateSyncClient | None = None
        if settings.enabled and self._chain.tip.height == 0:
            self.state_sync = StateSyncClient(
                self._chain,
                self._sets[1],
                self._send_statesync,
                validator_record_key,
                settings.request_timeout_ms / 1000,
                settings.offer_wait_ms / 1000,
                lambda peer, reason: self.p2p.punish(peer, reason),
            )
        self.engine = self._new_engine(None)
        self.p2p = P2PNode(
            P2PConfig(
                node_key=node_key,
                chain_id=genesis.chain_id,
                listen_host=config.p2p.listen_host,
                listen_port=config.p2p.listen_port,
                persistent_peers=config.p2p.persistent_peers,
                is_voter=self._is_voter,
                validator_key=validator_key,
                channel_limits=channel_limits(config.p2p.max_frame_bytes),
                max_frame_size=config.p2p.max_frame_bytes,
                send_queue_size=config.p2p.send_queue,
                send_queue_bytes=config.p2p.send_queue_bytes,
                max_peers=config.p2p.max_peers,
                max_peers_per_ip=config.p2p.max_peers_per_ip,
            ),
            self._on_p2p_message,
            on_peer_up=self._on_peer_up,
            on_peer_down=self._on_peer_down,
        )
        self.compact = CompactProposals(
            genesis.chain_id,
            lambda peer, channel, payload: self.p2p.send(peer, channel, payload),
            self._on_proposal,
            self._known_transaction,
            self._proposer_key,
            self._compact_timing,
            lambda peer, reason: self.p2p.punish(peer, reason),
            config.p2p.max_frame_bytes,
            self.app.adopt,
        )
        self.rpc = RpcServer(self, config.rpc.server_config())
        self.threshold: ThresholdService | None = None
        self.mint: MintService | None = None
        self.mail: MailService | None = None
        if validator_key is not None:
            self.threshold = self._open_threshold(data / "threshold", validator_key)
            self.mint = self._open_mint(data / "mint", validator_key, self.threshold)
            self.mail = self._open_mail(validator_key, self.threshold)
        self._tasks: list[asyncio.Task[None]] = []
        self._next_height_handle: asyncio.TimerHandle | None = None
        self._gossip_cursor = 0
        self._stopped = asyncio.Event()
        self._halted = False
        self.halt_reason: str | None = None
        self._abstaining_at: int | None = None  # a height this validator sits out
        self._engine_started = False
        self._started_at = 0.0
        self.state_sync_report: SyncReport | None = None

    def _open_threshold(self, directory: Path, key: SigningKey) -> ThresholdService:
        try:
            service = ThresholdService(
                directory,
                self._chain,
                self.mempool.add,
                self.mempool.pending_nonce,
                key,
                lambda payload: self.p2p.broadcast(THRESHOLD_CHANNEL, payload),
                # Behind by more than a phase: replaying, not joining ceremonies.
                lambda: self.network_height() > self._chain.tip.height + PHASE_BLOCKS,
                is_validator=self._is_voter,
            )
        except ThresholdStoreError as exc:
            if self.guard is not None:
                self.guard.close()
            self.wal.close()
            self._chain.close()
            raise NodeError(str(exc)) from exc
        self._events.add_listener(service.on_committed)
        return service

    # -- the mempool's journal ------------------------------------------------
    def _recover_mempool(self) -> None:
        """Offer the journal's transactions to the fresh mempool again (those
        committed or no longer valid are refused as usual), then rewrite it
        with what was kept (consensus.node.mempool_journal)."""
        recovered = self._journal.recover()
        kept = 0
        for raw in recovered:
            try:
                self.mempool.add(decode_transaction(raw))
            except (DecodeError, TxRejected):
                continue
            kept += 1
        try:
            self._journal.rewrite(self.mempool.transactions())
        except OSError as exc:
            log.error("cannot rewrite the mempool journal: %s", exc)
        if recovered:
            log.info("mempool: recovered %d of %d journaled transactions", kept, len(recovered))

    def _journal_admitted(self, txs: Sequence[Transaction]) -> None:
        try:
            self._journal.append(txs)
        except OSError as exc:  # the transactions are still pending, in memory only
            log.error("cannot append to the mempool journal: %s", exc)

    def _compact_journal(self) -> None:
        """After a commit: fsync the journal, and rewrite it once it is much
        larger than what the mempool holds."""
        try:
            if self._journal.needs_rewrite(self.mempool.info().bytes):
                self._journal.rewrite(self.mempool.transactions())
            else:
                self._journal.sync()
        except OSError as exc:
            log.error("cannot sync the mempool journal: %s", exc)

    def _open_mint(
        self, directory: Path, key: SigningKey, threshold: ThresholdService
    ) -> MintService:
        """The validator's mint duties, run after the threshold service has
        adopted the block's keys (listeners run in the order they were added)."""
        service = MintService(
            directory,
            self._chain,
            self._add_duty_transaction,
            self.mempool.pending_nonce,
            key,
            threshold,
            lambda: self.network_height() > self._chain.tip.height + PHASE_BLOCKS,
        )
        self._events.add_listener(service.on_committed)
        return service

    def _add_duty_transaction(self, tx: Transaction) -> None:
        """A transaction of this validator's mint or mail duties, into the
        mempool like any other (journaled, then gossiped). Raises TxRejected."""
        self.mempool.add(tx)

    def _open_mail(self, key: SigningKey, threshold: ThresholdService) -> MailService:
        """The validator's duties in the mix, run after the threshold service
        has adopted the block's keys (listeners run in the order they were added)."""
        service = MailService(
            self._chain,
            self._add_duty_transaction,
            self.mempool.pending_nonce,
            key,
            shares_from(threshold),
            lambda: self.network_height() > self._chain.tip.height + PHASE_BLOCKS,
        )
        self._events.add_listener(service.on_committed)
        return service

    # -- NodeView -----------------------------------------------------------
    @property
    def chain(self) -> Chain:
        return self._chain

    @property
    def genesis(self) -> Genesis:
        return self._genesis

    @property
    def events(self) -> EventHub:
        return self._events

    async def submit_transaction(self, raw: bytes) -> Submission:
        """Decode, CheckTx and keep ``raw`` (journaled before this returns;
        gossip follows). Raises TxRejected."""
        try:
            tx = decode_transaction(raw)
        except DecodeError as exc:
            raise MalformedTransaction(str(exc)) from exc
        if self._chain.store.load_tx_location(tx.hash) is not None:
            raise AlreadyKnown(f"transaction {tx.hash.hex()} is already committed")
        status = self.mempool.add(tx)
        tip = self._chain.tip.height
        return Submission(tx.hash, status == QUEUED, self.network_height() > tip, tip)

    def pending_transaction(self, tx_hash: bytes) -> Transaction | None:
        return self.mempool.get(tx_hash)

    def pending_nonce(self, address: bytes) -> int:
        return self.mempool.pending_nonce(address)

    def pending_state(self) -> StateReader:
        return self.mempool.pending_state()

    def mempool_info(self) -> MempoolInfo:
        info = self.mempool.info()
        return MempoolInfo(info.size, info.bytes, info.max_txs, info.max_bytes)

    def status(self) -> NodeStatus:
        next_set = self.validator_set(self._chain.tip.height + 1)
        member = next_set.get(self.validator_address) if self.validator_address else None
        return NodeStatus(
            moniker=self.config.moniker,
            mode="validator" if member is not None else "full",
            catching_up=self.network_height() > self._chain.tip.height,
            peers=len(self.p2p.peers()),
            validator_address=self.validator_address if member is not None else None,
            voting_power=member.power if member is not None else 0,
        )

    def validators(self, height: int | None) -> list[ValidatorInfo]:
        """The membership that signs block ``height`` (None: the next block)."""
        tip = self._chain.tip.height
        wanted = tip + 1 if height is None else height
        if not 1 <= wanted <= tip + 2:
            raise LookupError(f"no validator set known for height {wanted} (the tip is {tip})")
        reader: StateReader
        if wanted >= tip + 1:
            reader = self._chain.store
        else:
            # The set of h is final in the state committed at h - 1 (HeightPruned
            # if this node pruned that state).
            root = self._chain.state_root_at(wanted - 1)
            reader = TreeReader(StateTree(self._chain.store, root, cache_size=0))
        return [
            ValidatorInfo(v.address, v.public_key, v.power, v.name)
            for v in validator_set_for_height(reader, wanted)
        ]

    # -- validator sets -----------------------------------------------------
    def validator_set(self, height: int) -> ValidatorSet:
        """The consensus validator set (with proposer priorities) of ``height``;
        known for the tip's height and the next."""
        return self._sets[height]

    def _load_validator_sets(self) -> None:
        tip = self._chain.tip.height
        for height in (tip, tip + 1):
            if height == 0:
                continue
            if height == 1:
                self._sets[1] = ValidatorSet.create(
                    Validator.from_public_key(v.public_key, v.power)
                    for v in self._genesis.validators
                )
                continue
            raw = self._chain.store.load_node_record(validator_record_key(height))
            if raw is None:
                raise NodeError(
                    f"the store has no validator set for height {height}: the data "
                    "directory is not from this version; resync from an empty data directory"
                )
            self._sets[height] = decode_validator_set(raw)

    def _check_frame_limit(self) -> None:
        """Refuse to start with a frame limit that cannot carry the chain's
        largest block (consensus.node.block_budget). Raises NodeError."""
        validators = len(self.validator_set(self._chain.tip.height + 1).validators)
        try:
            check_frame_carries_blocks(
                self.config.p2p.max_frame_bytes, self._chain.params(), validators
            )
        except FrameTooSmallForBlocks as exc:
            if self.guard is not None:
                self.guard.close()
            self.wal.close()
            self._chain.close()
            raise NodeError(str(exc)) from exc

    def _next_validator_set(self, block: Block, result: BlockResult) -> ValidatorSet:
        """The set of block.height + 1 from the set of block.height and the
        membership the ledger schedules for it (read from the post-block state)."""
        reader = OverlayReader(self._chain.store, result.changes)
        scheduled = validator_set_for_height(reader, block.height + 1)
        return next_validator_set(self._sets[block.height], scheduled)

    def network_height(self) -> int:
        """The highest height peers we can believe have committed (at least
        our tip): see consensus.node.blocksync. No single peer can raise it."""
        tip = self._chain.tip.height
        validators = self.validator_set(tip + 1)

        def voting_power(peer: bytes) -> int:
            key = self.p2p.voter_key(peer)
            member = validators.get(address_of(key)) if key is not None else None
            return member.power if member is not None else 0

        return self.sync.corroborated_height(
            tip, voting_power, validators.total_power, self.p2p.is_persistent
        )

    def _trusted_peer(self, peer: bytes) -> bool:
        """A peer the operator chose, or one that proved a validator key of
        the next height: asked first for blocks."""
        if self.p2p.is_persistent(peer):
            return True
        key = self.p2p.voter_key(peer)
        next_set = self.validator_set(self._chain.tip.height + 1)
        return key is not None and next_set.get(address_of(key)) is not None

    def fetching(self) -> bool:
        """Whether the network is beyond the height after our tip: this node
        fetches blocks instead of running consensus rounds for them."""
        return self.network_height() >= self._chain.tip.height + 2

    def _is_voter(self, public_key: bytes) -> bool:
        next_set = self._sets.get(self._chain.tip.height + 1)
        return next_set is not None and next_set.get(address_of(public_key)) is not None

    # -- the engine ---------------------------------------------------------
    def _new_engine(self, signer_state: SignerState | None, voting: bool = True) -> Engine:
        signer = None
        if voting and self.validator_key is not None and self.guard is not None:
            signer = GuardedSigner(
                self.validator_key, self._genesis.chain_id, self.guard, signer_state
            )
        return Engine(
            engine_config(self.config.consensus), self._genesis.chain_id, signer, self.app
        )

    def _ready_for_consensus(self, now: float) -> bool:
        """Consensus starts once the node knows where the network is (heights
        heard from validators with more than a third of the power, this node
        included) and is not behind it, or after START_GRACE_S without news:
        a node that was down fetches the blocks it missed before it runs any
        round (issue 13 section 6)."""
        if self.fetching():
            return False
        validators = self.validator_set(self._chain.tip.height + 1)
        heard = 0
        if self.validator_address is not None:
            member = validators.get(self.validator_address)
            heard += member.power if member is not None else 0
        for peer in self.sync.peer_heights:
            key = self.p2p.voter_key(peer)
            member = validators.get(address_of(key)) if key is not None else None
            heard += member.power if member is not None else 0
        return 3 * heard > validators.total_power or now - self._started_at >= START_GRACE_S

    def _read_wal_record(self, height: int) -> ConsensusRecord | None:
        """The WAL's record of ``height``, if any. Raises NodeError for an
        unreadable one."""
        record = None
        for entry in self.wal.replay(from_height=height):
            if entry.height == height:
                try:
                    record = decode_record(entry.record)
                except RecordError as exc:
                    raise NodeError(
                        f"the WAL record for height {height} is unreadable ({exc}); move "
                        f"{self.wal.directory} aside and restart (the double-sign guard and "
                        "the lock copy kept with it still prevent conflicting votes)"
                    ) from exc
        return record

    def _resume_record(self, height: int) -> ConsensusRecord | None:
        """The record to resume ``height`` from: the WAL's, or, if the WAL has
        none (lost, moved aside), the lock copy kept with the guard. Without
        either, a validator that already signed at ``height`` and kept no lock
        copies sits the height out (it cannot know its lock). Raises NodeError."""
        record = self._read_wal_record(height)
        if self.lock_copy is None or self.guard is None:
            return record
        try:
            if record is not None:
                if record.locked_block is not None:
                    self.lock_copy.save(encode_record(record))  # an upgrade mid-height
                return record
            kept = self.lock_copy.load()
        except LockCopyError as exc:
            raise NodeError(str(exc)) from exc
        if kept is not None and kept.height == height:
            log.warning(
                "height=%d round=%d the WAL has no record of this height: resuming from the "
                "lock copy (locked in round %d)",
                height,
                kept.round,
                kept.locked_round,
            )
            return kept
        last = self.guard.last
        if not self.lock_copy.existed and last is not None and last.height == height:
            log.warning(
                "height=%d signed at this height but neither the WAL nor a lock copy "
                "remembers the lock: not voting until the next height",
                height,
            )
            self._abstaining_at = height
        return None

    def _start_engine(self) -> None:
        """Resume the height in progress from the WAL, or start the next height."""
        self._engine_started = True
        height = self._chain.tip.height + 1
        record = self._resume_record(height)
        self.wal.start_height(height)
        self.wal.prune_below(height)
        if self._abstaining_at == height:
            self.engine = self._new_engine(None, voting=False)
        if record is not None and record.height == height:
            self.engine = self._new_engine(record.signer_state)
            log.info("height=%d round=%d resuming from its record", height, record.round)
            self._carry_out(self.engine.restore(record, self.validator_set(height)))
        else:
            log.info("height=%d round=0 starting", height)
            self._carry_out(self.engine.start_height(height, self.validator_set(height)))

    def _advance_engine(self, height: int) -> None:
        """Start consensus at ``height`` (the tip + 1) unless already there, or
        while the node is fetching blocks (the network has decided that height)."""
        if self._next_height_handle is not None:
            self._next_height_handle.cancel()
            self._next_height_handle = None
        if not self._engine_started:
            return  # the sync loop starts it (from the WAL) when the node is ready
        if height != self._chain.tip.height + 1 or height <= self.engine.height:
            return
        if self.fetching():
            log.debug(
                "height=%d round=0 not started: fetching blocks up to %d",
                height,
                self.network_height(),
            )
            return
        if self._abstaining_at is not None and height > self._abstaining_at:
            self._abstaining_at = None
            self.engine = self._new_engine(None)  # votes again (the guard guards)
        self.ticker.clear()
        self.wal.start_height(height)
        self.wal.prune_below(height)
        log.info("height=%d round=0 starting", height)
        self._carry_out(self.engine.start_height(height, self.validator_set(height)))

    def _carry_out(self, actions: list[Action]) -> None:
        """Carry out the engine's actions, in order (persist before send).

        One failing action never silently drops the rest (docs/adr/0017):
        a failed ``Persist`` or ``Commit`` stops the node before anything
        after it happens (what follows depended on it: a vote must not leave
        unpersisted, a height must not start on a block that is not stored);
        any other failure is logged with its traceback and the remaining
        actions (timeouts above all) are still carried out, so the engine's
        rounds go on."""
        for action in actions:
            if self._halted:
                return
            try:
                self._carry_out_one(action)
            except Exception as exc:
                if isinstance(action, Persist | Commit):
                    self._halt(f"{type(action).__name__} failed: {exc!r}")
                    return
                log.exception(
                    "height=%d carrying out %s failed; carrying on with the remaining actions",
                    self.engine.height,
                    type(action).__name__,
                )

    def _carry_out_one(self, action: Action) -> None:
        if isinstance(action, Persist):
            record = encode_record(action.record)
            self.wal.append(record, sync=True)
            if action.lock_changed and self.lock_copy is not None:
                self.lock_copy.save(record)  # the lock outlives the WAL
        elif isinstance(action, Broadcast):
            self._broadcast(action.message)
        elif isinstance(action, ScheduleTimeout):
            item = (action.kind, action.height, action.round)
            self.ticker.schedule(action.duration, item)
        elif isinstance(action, RequestProposal):
            self._propose(action.height, action.round)
        elif isinstance(action, Commit):
            self._on_decided(action)
        elif isinstance(action, ReportEvidence):
            self._report_evidence(action)

    def _broadcast(self, message: Message) -> None:
        if isinstance(message, ProposalMessage):
            self._broadcast_proposal(message)
        else:
            self.p2p.broadcast(CONSENSUS_CHANNEL, encode_message(message))

    def _broadcast_proposal(self, message: ProposalMessage) -> None:
        """Send a proposal (ours, re-gossiped, or relayed) whole, or with
        ``[p2p] compact_proposals`` as its transactions' hashes (then keep its
        block to serve the peers that fetch from us)."""
        compact = None
        if self.config.p2p.compact_proposals:
            block = self.app.decode(message.block)  # built or checked here: cached
            if block is not None and block.hash == message.proposal.block_hash:
                compact = compact_form(message, block)
                self.compact.hold(message, block)
        traffic = self.compact.traffic
        if compact is None:
            payload = encode_message(message)
            traffic.proposals_full += 1
            traffic.proposal_bytes += len(payload) * self.p2p.broadcast(CONSENSUS_CHANNEL, payload)
            return
        # What peers lack goes first, on the same ordered connections: most
        # rebuilds then need no fetch.
        self._gossip_pass(drain=True)
        value = encode_compact_message(compact)
        peers = self.p2p.broadcast(COMPACT_CHANNEL, value)
        traffic.proposals_compact += 1
        traffic.proposal_bytes += len(codec.encode(value)) * peers

    def _halt(self, reason: str) -> None:
        """Stop the node at once (fail-stop): nothing more is carried out and
        the process exits; a restart resumes from the store and the WAL."""
        log.critical("stopping the node: %s", reason, exc_info=True)
        self.halt_reason = reason
        self._halted = True
        self._stopped.set()

    def _report_evidence(self, action: ReportEvidence) -> None:
        """Log an equivocation and, as a validator, submit it to be recorded on chain."""
        evidence = action.evidence
        log.warning(
            "height=%d evidence of equivocation by %s (%s)",
            evidence.height,
            encode_address(evidence.validator),
            type(evidence).__name__,
        )
        if self.validator_key is None or self.validator_address is None:
            return
        key = self.validator_key
        tx = Transaction(
            self._genesis.chain_id,
            key.public_key,
            self.mempool.pending_nonce(self.validator_address),
            self._chain.params().min_fee,
            RecordEvidence(encode_evidence(evidence)),
        ).signed(key)
        try:
            self.mempool.add(tx)
        except TxRejected as rejected:
            log.warning("height=%d cannot submit the evidence: %s", evidence.height, rejected)

    def _propose(self, height: int, round: int) -> None:
        tip = self._chain.tip
        if height != tip.height + 1:
            return
        params = self._chain.params()
        limit = min(params.max_block_txs, self.config.consensus.max_block_txs)
        validators = len(self.validator_set(height).validators)
        budget = block_bytes_budget(self.config.p2p.max_frame_bytes, params, validators)
        if budget < params.max_block_bytes:
            log.warning(
                "height=%d blocks limited to %d bytes of transactions by p2p.max_frame_bytes "
                "(the chain allows %d: raise the frame limit)",
                height,
                budget,
                params.max_block_bytes,
            )
        candidates = self.mempool.reap(limit, budget)
        last_commit = b""
        if tip.height > 0:
            last_commit = self._chain.store.load_certificate(tip.height) or b""
        time_ms = max(int(self._clock() * 1000), tip.time_ms)
        assert self.validator_address is not None
        block = self.app.build(candidates, self.validator_address, time_ms, last_commit)
        log.info("height=%d round=%d proposing a block of %d txs", height, round, len(candidates))
        self._carry_out(self.engine.on_proposal_ready(height, round, block))

    def _on_decided(self, action: Commit) -> None:
        block = self.app.decode(action.block)
        assert block is not None and block.hash == action.block_hash
        try:
            executed = self.app.execute(block)
        except InvalidBlock as exc:  # the engine only decides valid blocks
            raise AssertionError(f"decided an invalid block: {exc}") from exc
        self._commit(block, executed.result, action.certificate)
        delay = self.config.consensus.block_interval_ms / 1000
        loop = asyncio.get_running_loop()
        self._next_height_handle = loop.call_later(delay, self._advance_engine, block.height + 1)

    def _commit(self, block: Block, result: BlockResult, certificate: CommitCertificate) -> None:
        """Store ``block`` atomically with its certificate and the next
        validator set, then tell the mempool, subscribers and peers."""
        next_set = self._next_validator_set(block, result)
        self._chain.commit_block(
            block,
            result,
            encode_certificate(certificate),
            {validator_record_key(block.height + 1): next_set.encode()},
        )
        self._sets[block.height + 1] = next_set
        for height in [h for h in self._sets if h < block.height]:
            del self._sets[height]
        self.app.committed()
        self.compact.committed(block.height)
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: self.compact.replay_early(loop.time()))
        self.mempool.update(block.transactions, result.changes)
        self._compact_journal()
        self._events.publish_block(block, result.receipts, rounds=certificate.round + 1)
        log.info(
            "height=%d round=%d committed %s with %d txs, state root %s",
            block.height,
            certificate.round,
            block.hash.hex()[:16],
            len(block.transactions),
            result.state_root.hex()[:16],
        )
        self._announce_status()
        self._schedule_pruning()

    def _schedule_pruning(self) -> None:
        """Run one pruning pass (ledger.pruning) once the event loop is done
        with what the commit queued: after the block is announced, in the
        pause before the next height (``block_interval_ms``), so that it
        delays neither the commit nor the next round (ADR 0024)."""
        if self._pruning_scheduled or not (
            self._chain.pruning.prunes_states or self._chain.pruning.prunes_blocks
        ):
            return
        self._pruning_scheduled = True
        asyncio.get_running_loop().call_soon(self._prune)

    def _prune(self) -> None:
        self._pruning_scheduled = False
        states, blocks = self._chain.prune()
        if states.heights or blocks.heights:
            log.debug(
                "height=%d pruned %d states (%d nodes deleted, %d kept) and %d blocks (%d records)",
                self._chain.tip.height,
                states.heights,
                states.deleted,
                states.kept,
                blocks.heights,
                blocks.deleted,
            )

    # -- p2p ----------------------------------------------------------------
    async def _on_p2p_message(self, peer: bytes, channel: int, payload: object) -> None:
        if channel == STATESYNC_CHANNEL:
            self._on_statesync_message(peer, payload)
        elif self.state_sync is not None:
            # Joining from a snapshot: no state to check consensus messages,
            # transactions or blocks against yet (block heights are announced).
            if channel == BLOCKSYNC_CHANNEL:
                self._on_sync_message(peer, payload)
        elif channel == CONSENSUS_CHANNEL:
            self._on_consensus_message(payload, peer)
        elif channel == COMPACT_CHANNEL:
            self.compact.on_message(peer, payload, asyncio.get_running_loop().time())
        elif channel == MEMPOOL_CHANNEL:
            await self._gossip_in.on_batch(peer, payload)
        elif channel == BLOCKSYNC_CHANNEL:
            self._on_sync_message(peer, payload)
        elif channel == THRESHOLD_CHANNEL and self.threshold is not None:
            self.threshold.on_message(payload)

    def _wire_validators(self) -> int:
        """How many signatures a certificate on the wire may carry: room for
        the sets of the next heights to grow (more is refused as junk)."""
        return max(2 * len(self.validator_set(self._chain.tip.height + 1).validators), 256)

    def _on_consensus_message(self, payload: object, peer: bytes = b"") -> None:
        if not isinstance(payload, bytes):
            raise PeerMisbehaved("a consensus payload is message bytes")
        limits = consensus_message_limits(self.config.p2p.max_frame_bytes, self._wire_validators())
        try:
            codec.check_limits(payload, limits)
            message = decode_message(payload)
        except (MessageError, InvalidCertificate, ValueError) as exc:  # CodecError included
            raise PeerMisbehaved(f"undecodable consensus message: {exc}") from exc
        if isinstance(message, ProposalMessage):
            self._on_proposal(peer, message)
            if self.compact.rebuilding(message.proposal.block_hash):
                self._end_rebuild(message)
            return
        try:
            actions = self.engine.on_message(message)
        except InvalidMessage as exc:
            raise PeerMisbehaved(f"invalid consensus message: {exc}") from exc
        self._carry_out(actions)

    def _on_proposal(self, peer: bytes, message: ProposalMessage) -> None:
        """A whole proposal, as a peer sent it or as a compact one was rebuilt
        (consensus.node.compact_proposals): to the engine, which checks it as
        always. Raises PeerMisbehaved if the engine refuses it."""
        try:
            actions = self.engine.on_message(message)
        except InvalidMessage as exc:
            raise PeerMisbehaved(f"invalid consensus message: {exc}") from exc
        self._carry_out(actions)

    def _end_rebuild(self, message: ProposalMessage) -> None:
        """A whole proposal of a block being rebuilt arrived (asked for, or
        re-gossiped): keep it to serve, which ends the rebuild, if its body
        is the one its header commits to."""
        block = self.app.decode(message.block)  # the engine decoded it: cached
        if block is None or block.hash != message.proposal.block_hash:
            return
        try:
            self.app.check_body(block)
        except InvalidBlock:
            return
        self.compact.hold(message, block)

    def _known_transaction(self, tx_hash: bytes) -> Transaction | None:
        """A transaction this node holds decoded: in its mempool, or from a
        block it validated since the last commit."""
        return self.mempool.get(tx_hash) or self.mempool.remembered(tx_hash)

    def _proposer_key(self, height: int, address: bytes) -> bytes | None:
        validators = self._sets.get(height)
        member = validators.get(address) if validators is not None else None
        return member.public_key if member is not None else None

    def _compact_timing(self, height: int) -> Timing:
        """Compact proposals are rebuilt for the engine's height, and the next
        one once its validator set is known (kept until then)."""
        engine_height = self.engine.height
        if height not in (engine_height, engine_height + 1):
            return "never"
        return "now" if height in self._sets else "later"

    def _on_sync_message(self, peer: bytes, payload: object) -> None:
        try:
            message = decode_sync_message(payload)
        except SyncMessageError as exc:
            raise PeerMisbehaved(str(exc)) from exc
        if isinstance(message, StatusMessage):
            self.sync.on_status(peer, message.height)
        elif isinstance(message, GetBlock):
            self._serve_block(peer, message.height)
        elif isinstance(message, BlockMessage):
            self.sync.answered(message.height)
            if self.state_sync is None:
                self._apply_synced_block(message)
        elif isinstance(message, NoBlock):
            self.sync.on_no_block(peer, message.height)

    def _serve_block(self, peer: bytes, height: int) -> None:
        """Send block ``height`` with its certificate (NoBlock if not kept),
        within the serving budget (a request past it is dropped)."""
        if not self.serve_budget.allow(peer, asyncio.get_running_loop().time()):
            return
        raw = self._chain.store.load_block_bytes(height)
        certificate = self._chain.store.load_certificate(height)
        if raw is None or certificate is None:
            self.p2p.send(peer, BLOCKSYNC_CHANNEL, encode_sync_message(NoBlock(height)))
            return
        reply = BlockMessage(height, raw, certificate)
        self.serve_budget.charge(peer, len(raw) + len(certificate))
        try:
            self.p2p.send(peer, BLOCKSYNC_CHANNEL, encode_sync_message(reply))
        except FrameTooLarge as exc:  # only a chain started with a larger frame limit
            log.error("height=%d cannot serve block %d: %s", self._chain.tip.height, height, exc)
            self.p2p.send(peer, BLOCKSYNC_CHANNEL, encode_sync_message(NoBlock(height)))

    def _apply_synced_block(self, message: BlockMessage) -> None:
        """Verify a fetched block against its certificate, execute and commit it.
        Raises PeerMisbehaved (the peer is banned) for a block that does not
        decode, whose body does not match its header (checked first: the
        certificate signs the header's hash only), whose certificate is not
        +2/3 of the height's set for it, or that does not execute."""
        if message.height != self._chain.tip.height + 1:
            return  # stale or early: consensus or another answer got there first
        try:
            codec.check_limits(message.certificate, certificate_limits(self._wire_validators()))
            block = self.app.decode_checked(message.block)
            self.app.check_body(block)
            certificate = decode_certificate(message.certificate)
            check_certificate_for(certificate, message.height, block.hash)
            verify_certificate(
                certificate, self.validator_set(message.height), self._genesis.chain_id
            )
            executed = self.app.execute(block)
        except (DecodeError, InvalidCertificate, InvalidBlock, codec.CodecError) as exc:
            raise PeerMisbehaved(f"bad synced block {message.height}: {exc}") from exc
        self._commit(block, executed.result, certificate)
        log.info("height=%d synced from a peer", block.height)
        self._advance_engine(block.height + 1)
        self._request_next_block()  # keep the pipe full while behind

    def _request_next_block(self) -> None:
        if self.state_sync is not None:
            return  # the blocks above the snapshot come after it
        request = self.sync.next_request(
            self._chain.tip.height, asyncio.get_running_loop().time(), self._trusted_peer
        )
        if request is not None:
            height, peer = request
            self.p2p.send(peer, BLOCKSYNC_CHANNEL, encode_sync_message(GetBlock(height)))

    def _announce_status(self) -> None:
        status = encode_sync_message(StatusMessage(self._chain.tip.height))
        self.p2p.broadcast(BLOCKSYNC_CHANNEL, status)

    def _on_peer_up(self, peer: PeerInfo) -> None:
        status = encode_sync_message(StatusMessage(self._chain.tip.height))
        self.p2p.send(peer.peer_id, BLOCKSYNC_CHANNEL, status)
        if self.state_sync is None:
            self._send_statesync(peer.peer_id, self.snapshots.offers())

    def _on_peer_down(self, peer: bytes) -> None:
        self.sync.forget(peer)
        self.compact.forget_peer(peer)
        self.snapshots.forget(peer)
        self.serve_budget.forget(peer)
        if self.state_sync is not None:
            self.state_sync.forget(peer)

    # -- state sync (consensus.node.statesync) ------------------------------
    def _send_statesync(self, peer: bytes, message: StateSyncMessage) -> None:
        self.p2p.send(peer, STATESYNC_CHANNEL, encode_statesync_message(message))

    def _on_statesync_message(self, peer: bytes, payload: object) -> None:
        """Serve snapshots; while joining, take offers and replies. Raises
        PeerMisbehaved (the peer is banned) for a malformed payload or a
        reply that is provably wrong."""
        try:
            message = decode_statesync_message(payload)
        except StateSyncMessageError as exc:
            raise PeerMisbehaved(str(exc)) from exc
        now = asyncio.get_running_loop().time()
        if isinstance(message, GetHeaders | GetNodes):
            if self.state_sync is None:
                self.snapshots.on_request(peer, message, now)
            return
        client = self.state_sync
        if client is None:
            return  # offers and replies are for joining nodes
        if isinstance(message, Offers):
            client.on_offers(peer, message, now)
            return
        if isinstance(message, Headers):
            client.on_headers(peer, message)
        elif isinstance(message, Nodes):
            client.on_nodes(peer, message)
        self._step_state_sync(now)

    def _step_state_sync(self, now: float) -> None:
        client = self.state_sync
        if client is None or not client.step(now):
            return
        # Imported: the node now stands at the snapshot's height, as if it had
        # committed it; block sync and consensus carry on from there.
        self.state_sync = None
        self.state_sync_report = client.report
        self._sets = {}
        self._load_validator_sets()
        self.app.committed()
        self._started_at = now
        self._announce_status()

    # -- loops ----------------------------------------------------------------
    async def _tick_loop(self) -> None:
        tick = self.config.consensus.tick_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() - next_at > 10 * tick:
                next_at = loop.time()  # the loop stalled (slow disk): do not burst
            self.compact.expire(loop.time())
            if self.fetching():
                continue  # no rounds for a height the network has already decided
            for kind, height, round in self.ticker.advance(1):
                self._carry_out(self.engine.on_timeout(kind, height, round))

    async def _gossip_loop(self) -> None:
        while True:
            await asyncio.sleep(GOSSIP_INTERVAL_S)
            self._gossip_pass(drain=False)

    def _gossip_pass(self, drain: bool) -> None:
        """Broadcast the transactions that became ready since the last pass:
        one batch of ``gossip_batch``, or with ``drain`` all of them."""
        while True:
            batch = self.mempool.batch_for_gossip(
                self._gossip_cursor, self.config.mempool.gossip_batch
            )
            for payload in gossip_frames(batch.transactions, self.config.p2p.max_frame_bytes):
                self.p2p.broadcast(MEMPOOL_CHANNEL, payload)
            self._gossip_cursor = batch.cursor
            if not drain or not batch.transactions:
                return

    async def _sync_loop(self) -> None:
        last_status = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SYNC_INTERVAL_S)
            now = loop.time()
            if now - last_status >= STATUS_INTERVAL_S:
                self._announce_status()
                if self.state_sync is None:
                    offers = encode_statesync_message(self.snapshots.offers())
                    self.p2p.broadcast(STATESYNC_CHANNEL, offers)
                last_status = now
            if self.state_sync is not None:
                self._step_state_sync(now)
                continue
            self._request_next_block()
            if not self._engine_started:
                if self._ready_for_consensus(now):
                    self._start_engine()
                continue
            tip = self._chain.tip.height
            idle = self.engine.height <= tip and self._next_height_handle is None
            if idle and not self.fetching():
                self._advance_engine(tip + 1)  # done fetching: consensus resumes

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        """Start RPC, p2p, consensus and the background loops."""
        self._read_wal_record(self._chain.tip.height + 1)  # refuse an unreadable one now
        await self.rpc.start()
        await self.p2p.start()
        self._started_at = asyncio.get_running_loop().time()
        loops = [self._tick_loop, self._gossip_loop, self._sync_loop]
        if self.threshold is not None:
            loops.append(self.threshold.resend_loop)
        for loop in loops:
            self._tasks.append(asyncio.get_running_loop().create_task(self._guarded(loop)))
        log.info(
            "node %s started: p2p %s, rpc http://%s:%d, height %d",
            self.config.moniker,
            self.p2p.listen_address,
            self.config.rpc.listen_host,
            self.rpc.port,
            self._chain.tip.height,
        )
        log.info("block explorer: %s", explorer_url(self.rpc.url))

    async def _guarded(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run a background loop; a crash in one stops the node loudly."""
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("a node loop failed; stopping")
            self.halt_reason = f"a node loop failed: {exc!r}"
            self._stopped.set()

    async def stop(self) -> None:
        """Stop everything and close the store, WAL and guard."""
        log.info("proposal traffic: %s", self.compact.traffic.summary())
        if self._next_height_handle is not None:
            self._next_height_handle.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.p2p.stop()
        await self.rpc.stop()
        self._journal.close()
        self.wal.close()
        if self.guard is not None:
            self.guard.close()
        if self.mint is not None:
            await self.mint.close()  # its worker reads the store
        if self.mail is not None:
            await self.mail.close()  # so does this one
        if self.threshold is not None:
            self.threshold.close()
        self._chain.close()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def request_stop(self) -> None:
        self._stopped.set()


def open_node(home: Path) -> Node:
    """A Node from a home directory (see consensus.node.config). Raises NodeError,
    ConfigError or GenesisError."""
    config = load_config(home / "config.toml")
    genesis = load_genesis(home / "genesis.json")
    node_key = load_key_file(home / "node_key.json")
    validator_path = home / "validator_key.json"
    validator_key = load_key_file(validator_path) if validator_path.exists() else None
    setup_logging(config.log.level, config.log.format, config.moniker)
    for warning in insecure_key_warnings(home, genesis.chain_id):
        log.warning(warning)
    return Node(home, config, genesis, node_key, validator_key)


def run_node(home: Path) -> None:
    """Run a node until SIGINT or SIGTERM. Raises NodeError, ConfigError,
    GenesisError; NodeError also after a fail-stop (a failed Persist or
    Commit), so that the process exits with status 1."""

    async def main() -> None:
        node = open_node(home)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, node.request_stop)
        try:
            await node.start()
            await node.wait_stopped()
        finally:
            log.info("stopping")
            await node.stop()
        if node.halt_reason is not None:  # fail-stop: the exit status says so
            raise NodeError(f"the node stopped after a failure: {node.halt_reason}")

    asyncio.run(main())
