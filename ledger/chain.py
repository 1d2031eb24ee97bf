"""A chain on one store: genesis, executing and committing blocks, queries.

This is the edge between the pure state transition and the database. The
consensus node drives it (propose with ``build_block``, validate with
``execute_block``, commit with ``commit_block``); the single-node run, the
benchmarks and the tests drive it directly.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ledger.exceptions import TxRejected
from ledger.genesis import Genesis, genesis_state
from ledger.params import Params
from ledger.pruning import HeightPruned, PruningPolicy
from ledger.state import SCHEDULE_TREE_KEY, State, account_key, decode_account, tree_key
from ledger.state_tree import Proof, StateTree, StateTreeError, encode_proof
from ledger.store import PruneReport, Store, StoreError
from ledger.transition import (
    BlockResult,
    ChainTip,
    apply_block,
    build_block,
    check_transaction,
    read_params,
)
from ledger.types import Block, Transaction

# Nodes a schedule proof walks: the path to one key (a few levels), read twice.
_SCHEDULE_WALK_CACHE = 64


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one block's execution.

    A block allocates (and keeps until it is done) tens of thousands of
    objects; with the collector running, every 700 of them trigger a
    collection and survivors pile up into full collections of the whole heap
    (at 1,000 accounts 3 us, at 100,000 accounts 17 us per transaction).
    Paused, the block's short-lived objects are still freed at once by
    reference counting, and the collector catches up with one young
    collection after the block. Results never depend on the collector. If
    it was already disabled it stays so."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Chain:
    """One chain's committed state in a Store, and the operations on it.

    With a ``pruning`` policy (ledger.pruning) every commit is followed by a
    pruning pass, unless ``prune_on_commit`` is off: then the owner calls
    ``prune`` when it suits it (the node does, in the pause after a commit,
    so that pruning stays off the path of applying blocks; ADR 0024).
    ``state_floor`` (set by the node while it serves a state snapshot) keeps
    the states from that height on whatever the policy says. With
    ``record_schedules`` (the default) every block is stored with its
    validator schedule proven (``schedule_proof``), which a node serving
    state sync needs; a node that serves none turns it off."""

    def __init__(
        self,
        store: Store,
        chain_id: str,
        pruning: PruningPolicy | None = None,
        prune_on_commit: bool = True,
        record_schedules: bool = True,
    ) -> None:
        self.store = store
        self.record_schedules = record_schedules
        self.chain_id = chain_id
        self.pruning = pruning or PruningPolicy()
        self.prune_on_commit = prune_on_commit
        self.state_floor: int | None = None
        store.keep_stale_lists = self.pruning.prunes_states
        self.tip = store.load_tip()
        self._tree = StateTree(store, self.tip.state_root)
        try:
            self._tree.warm()  # the top levels stay in memory from the first block on
        except StateTreeError as exc:
            raise StoreError(f"the state tree in {store.path} is damaged: {exc}") from exc

    @classmethod
    def open(
        cls,
        path: str | Path,
        genesis: Genesis,
        pruning: PruningPolicy | None = None,
        prune_on_commit: bool = True,
        record_schedules: bool = True,
    ) -> Chain:
        """Open the store at ``path``, writing the genesis state if it is new.
        Raises StoreError if the store belongs to another chain."""
        store = Store(path)
        try:
            if not store.is_initialized():
                changes, tip, nodes = genesis_state(genesis)
                store.save_genesis(genesis.hash, changes, tip, nodes)
            elif store.load_genesis_hash() != genesis.hash:
                raise StoreError(f"the database at {path} holds another chain's genesis")
            return cls(store, genesis.chain_id, pruning, prune_on_commit, record_schedules)
        except StoreError:
            store.close()
            raise

    def close(self) -> None:
        self.store.close()

    def _fresh_tree(self) -> StateTree:
        """A tree at the tip that shares the node cache of the committed one."""
        return self._tree.at_root(self.tip.state_root)

    # -- proposing and validating ------------------------------------------
    def build_block(
        self,
        candidates: Iterable[Transaction],
        proposer: bytes,
        time_ms: int,
        last_commit: bytes = b"",
        verified: Collection[bytes] = frozenset(),
    ) -> tuple[Block, BlockResult, list[tuple[Transaction, TxRejected]]]:
        """A new block on the tip from candidate transactions (nothing is stored).
        The garbage collector is paused meanwhile (``paused_gc``)."""
        with paused_gc():
            return build_block(
                State(self.store),
                self._fresh_tree(),
                self.tip,
                self.chain_id,
                candidates,
                proposer,
                time_ms,
                last_commit,
                verified,
            )

    def execute_block(self, block: Block, verified: Collection[bytes] = frozenset()) -> BlockResult:
        """Validate and execute a block on the tip (nothing is stored). Raises InvalidBlock.
        The garbage collector is paused meanwhile (``paused_gc``)."""
        with paused_gc():
            return apply_block(
                State(self.store), self._fresh_tree(), block, self.tip, self.chain_id, verified
            )

    def commit_block(
        self,
        block: Block,
        result: BlockResult,
        certificate: bytes = b"",
        node_records: Mapping[bytes, bytes] | None = None,
    ) -> None:
        """Store an executed block atomically, with the proof of its validator
        schedule (``schedule_proof``) if ``record_schedules``, and advance the tip."""
        schedule = self.schedule_proof(result) if self.record_schedules else None
        self.store.save_block(block, result, certificate, node_records, schedule)
        self.tip = ChainTip(block.height, block.hash, block.header.time_ms, result.state_root)
        self._tree = self._tree.at_root(result.state_root)
        if self.prune_on_commit:
            self.prune()

    def schedule_proof(self, result: BlockResult) -> tuple[bytes, bytes] | None:
        """The validator schedule in the state ``result`` leads to, with its
        encoded proof under ``result.state_root`` (None if the state has no
        schedule). Stored beside the block (the ``V`` record), it lets a
        state-sync joiner follow the validator sets from genesis after the
        states are pruned (docs/adr/0025-state-sync.md). The block's new tree
        nodes are read from ``result``, the others from the store."""
        reader = _PendingNodes(result.tree_nodes, self.store)
        return proven_schedule(
            StateTree(reader, result.state_root, cache_size=_SCHEDULE_WALK_CACHE)
        )

    def reload_tip(self) -> None:
        """Read the tip again after the store was given a new one outside
        ``commit_block`` (a state-sync snapshot, Store.finish_snapshot)."""
        self.tip = self.store.load_tip()
        self._tree = self._tree.at_root(self.tip.state_root)

    def prune(self) -> tuple[PruneReport, PruneReport]:
        """One pruning pass (a no-op for an archive node): the
        states and the blocks the policy no longer keeps, a few heights at a
        time (ledger.pruning). Returns what was done to states and to blocks."""
        policy = self.pruning
        states = blocks = PruneReport()
        if policy.prunes_states:
            horizon = policy.state_horizon(self.tip.height, self.state_floor)
            states = self.store.prune_states(
                horizon, policy.kept_for_good, policy.max_heights_per_pass
            )
        if policy.prunes_blocks:
            blocks = self.store.prune_blocks(
                policy.retain_height(self.tip.height), policy.max_heights_per_pass
            )
        return states, blocks

    def params(self) -> Params:
        """The chain parameters in the committed state."""
        return read_params(State(self.store))

    def check_transaction(self, tx: Transaction, signature_checked: bool = False) -> None:
        """CheckTx against the committed state. Raises TxRejected."""
        state = State(self.store)
        check_transaction(state, tx, self.chain_id, read_params(state), signature_checked)

    # -- queries -----------------------------------------------------------
    def state_root_at(self, height: int) -> bytes:
        """The state root after block ``height`` (0: the genesis state).
        Raises HeightPruned if this node no longer keeps that state, and
        LookupError for a height above the tip."""
        if height == self.tip.height:
            return self.tip.state_root
        if height > self.tip.height or height < 0:
            raise LookupError(f"no block at height {height} (the tip is {self.tip.height})")
        root = self.store.load_state_root(height)
        if root is None:
            raise HeightPruned("state", height, self.earliest_state())
        return root

    def earliest_state(self) -> int:
        """The first height of the window of states this node keeps (below
        it, only the states kept for good by ``keep_every`` remain)."""
        return self.store.state_from()

    def check_block_kept(self, height: int) -> None:
        """Raises HeightPruned if block ``height`` (1..tip) is below the
        first block this node keeps."""
        first = self.store.blocks_from()
        if 1 <= height < first:
            raise HeightPruned("block", height, first)

    def balance(self, address: bytes, asset: str) -> int:
        raw = self.store.get_state(account_key(address))
        return decode_account(raw).balance(asset) if raw is not None else 0

    def nonce(self, address: bytes) -> int:
        raw = self.store.get_state(account_key(address))
        return decode_account(raw).nonce if raw is not None else 0

    def prove_account(
        self, address: bytes, state_root: bytes | None = None
    ) -> tuple[bytes | None, Proof]:
        """The account's encoded value (None if absent) and its proof against
        ``state_root`` (default: the tip's)."""
        tree = self._tree.at_root(state_root if state_root is not None else self.tip.state_root)
        key = tree_key(account_key(address))
        return tree.get(key), tree.prove(key)


def proven_schedule(view: StateTree) -> tuple[bytes, bytes] | None:
    """The validator schedule in the state at ``view``'s root and its encoded
    proof under that root (None if the state holds no schedule)."""
    schedule = view.get(SCHEDULE_TREE_KEY)
    if schedule is None:
        return None
    return schedule, encode_proof(view.prove(SCHEDULE_TREE_KEY))


class _PendingNodes:
    """Tree nodes of a block not yet stored, in front of the store's."""

    def __init__(self, pending: Mapping[bytes, bytes], store: Store) -> None:
        self.pending = pending
        self.store = store

    def get_node(self, node_hash: bytes) -> bytes | None:
        record = self.pending.get(node_hash)
        return record if record is not None else self.store.get_node(node_hash)
