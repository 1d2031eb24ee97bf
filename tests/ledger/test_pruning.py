"""Pruning (ledger.pruning, ledger.store): the store forgets exactly what no
kept state or block needs, even when a retired tree node is created again.

The model test drives a real LevelDB store with synthetic blocks over a small
pool of keys whose values cycle, so that leaves and internal nodes are
retired and later re-created, under every combination of keep_recent,
keep_every and the per-pass limit; after every block it checks that each
kept state reads back whole and that the stored nodes are exactly the union
of the nodes of the kept states (nothing missing, nothing leaked).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.address import address_of
from ledger.chain import Chain
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key, devnet_genesis_document
from ledger.client.devnet import validator_key as devnet_validator_key
from ledger.features.bank.bodies import Transfer
from ledger.genesis import parse_genesis
from ledger.pruning import HeightPruned, PruningError, PruningPolicy
from ledger.state import SCHEDULE_KEY, SCHEDULE_TREE_KEY, tree_key
from ledger.state_tree import (
    EMPTY_ROOT,
    INTERNAL,
    StateTree,
    child_hashes,
    decode_proof,
    verify_proof,
)
from ledger.store import Store
from ledger.transition import BlockResult, ChainTip
from ledger.types import NATIVE_ASSET, Block, BlockHeader, Transaction

Changes = dict[bytes, bytes | None]
_STATE_KEYS = [b"k%d" % i for i in range(10)]
_batches = st.dictionaries(
    st.sampled_from(_STATE_KEYS), st.one_of(st.none(), st.sampled_from([b"x", b"y"])), max_size=6
)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class SyntheticChain:
    """Blocks without transactions whose state changes are given, saved by a real Store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.tree = StateTree(store, cache_size=0)
        self.model: dict[bytes, bytes] = {}
        self.states: list[dict[bytes, bytes]] = []  # the map after each height
        self.roots: list[bytes] = []
        changes: Changes = {b"genesis": b"g"}
        self._apply_model(changes)
        update = self.tree.update({tree_key(k): v for k, v in changes.items()})
        tip = ChainTip(0, sha256(b"genesis"), 0, update.root)
        store.save_genesis(sha256(b"genesis"), changes, tip, update.new_nodes)
        self.roots.append(update.root)
        self.tip = tip

    def _apply_model(self, changes: Changes) -> None:
        for key, value in changes.items():
            if value is None:
                self.model.pop(key, None)
            else:
                self.model[key] = value
        self.states.append(dict(self.model))

    def commit(self, changes: Changes) -> None:
        height = self.tip.height + 1
        keys = {key: tree_key(key) for key in changes}
        update = self.tree.update({keys[k]: v for k, v in changes.items()})
        self._apply_model(changes)
        header = BlockHeader(
            "pruning-test", height, height, self.tip.block_hash, sha256(b""),
            EMPTY_ROOT, EMPTY_ROOT, update.root, bytes(20),
        )  # fmt: skip
        block = Block(header, ())
        result = BlockResult(
            (), update.root, EMPTY_ROOT, dict(changes), update.new_nodes, (),
            update.stale_nodes, {tree: key for key, tree in keys.items()},
        )  # fmt: skip
        self.store.save_block(block, result)
        self.tip = ChainTip(height, block.hash, height, update.root)
        self.roots.append(update.root)


def reachable(store: Store, root: bytes) -> set[bytes]:
    found: set[bytes] = set()
    pending = [root] if root != EMPTY_ROOT else []
    while pending:
        node = pending.pop()
        found.add(node)
        record = store.get_node(node)
        assert record is not None, f"node {node.hex()} of a kept state is missing"
        if record[0] == INTERNAL:
            pending.extend(child for child in child_hashes(record) if child != EMPTY_ROOT)
    return found


def pinned_nodes(store: Store) -> set[bytes]:
    with store._db.iterator(prefix=b"P", include_value=False) as keys:
        return {key[1:] for key in keys}


def stored_nodes(store: Store) -> set[bytes]:
    with store._db.iterator(prefix=b"N", include_value=False) as keys:
        return {key[1:] for key in keys}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(_batches, min_size=1, max_size=14),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(1, 3),
)
def test_the_store_keeps_exactly_the_nodes_of_the_kept_states(
    tmp_path_factory: pytest.TempPathFactory,
    batches: list[Changes],
    keep_recent: int,
    keep_every: int,
    per_pass: int,
) -> None:
    policy = PruningPolicy(keep_recent, keep_every, 0, per_pass)
    store = Store(tmp_path_factory.mktemp("db"))
    store.keep_stale_lists = True
    chain = SyntheticChain(store)
    try:
        for changes in batches:
            chain.commit(changes)
            horizon = policy.state_horizon(chain.tip.height)
            store.prune_states(horizon, policy.kept_for_good, per_pass)
            kept_roots = []
            for height, root in enumerate(chain.roots):
                stored_root = store.load_state_root(height)
                window = height >= store.state_from()
                for_good = height < store.state_from() and policy.kept_for_good(height)
                assert (stored_root is not None) == (window or for_good), height
                if stored_root is None:
                    continue
                assert stored_root == root
                kept_roots.append(root)
                tree = StateTree(store, root, cache_size=0)
                for key in [*_STATE_KEYS, b"genesis"]:
                    assert tree.get(tree_key(key)) == chain.states[height].get(key)
            needed = set().union(*(reachable(store, root) for root in kept_roots))
            stored = stored_nodes(store)
            assert needed <= stored
            if keep_every:  # a node re-created before its list was done may be pinned needlessly
                assert stored - needed <= pinned_nodes(store)
            else:
                assert stored == needed
            assert store.state_from() >= min(horizon, per_pass * chain.tip.height)
    finally:
        store.close()


def test_leaf_records_keep_their_state_key_and_birth(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    chain = SyntheticChain(store)
    chain.commit({b"k1": b"x"})
    leaf = StateTree(store, chain.tip.state_root).prove(tree_key(b"k1"))
    assert leaf.other_leaf is None
    node_hash = next(
        h
        for h in reachable(store, chain.tip.state_root)
        if store.get_node(h)[0] == 0  # type: ignore[index]
        and store.get_node(h)[1:33] == tree_key(b"k1")  # type: ignore[index]
    )
    entry = store.get_node_entry(node_hash)
    assert entry is not None and entry.preimage == b"k1" and entry.birth == 1
    store.close()


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(PruningError, match="keep_every needs"):
        PruningPolicy(keep_every=10)
    with pytest.raises(PruningError, match="at least 2"):
        PruningPolicy(retain_blocks=1)
    with pytest.raises(PruningError, match="negative"):
        PruningPolicy(keep_recent=-1)


GENESIS = parse_genesis(devnet_genesis_document())
ALICE, BOB = (account_key(name) for name in DEVNET_ACCOUNT_NAMES[:2])
PROPOSER = address_of(devnet_validator_key(0).public_key)


def _commit_transfers(chain: Chain, count: int) -> Block:
    nonce = chain.nonce(address_of(ALICE.public_key))
    txs = [
        Transaction(
            GENESIS.chain_id,
            ALICE.public_key,
            nonce + i,
            1000,
            Transfer(NATIVE_ASSET, 1 + i, address_of(BOB.public_key)),
        ).signed(ALICE)
        for i in range(count)
    ]
    block, result, skipped = chain.build_block(txs, PROPOSER, chain.tip.time_ms + 1)
    assert skipped == []
    own = {b"own %d" % (block.height + 1): b"record"}  # like the next height's validator set
    chain.commit_block(block, result, b"certificate %d" % block.height, own)
    return block


def _keys_with_prefix(store: Store, prefix: bytes) -> int:
    with store._db.iterator(prefix=prefix, include_value=False) as keys:
        return sum(1 for _ in keys)


def test_a_pruning_chain_forgets_old_blocks_states_and_indexes(tmp_path: Path) -> None:
    policy = PruningPolicy(keep_recent=2, keep_every=0, retain_blocks=3)
    chain = Chain.open(tmp_path / "db", GENESIS, policy)
    blocks = [_commit_transfers(chain, 3) for _ in range(8)]
    store = chain.store
    tip = chain.tip.height
    assert tip == 8
    assert store.blocks_from() == 6 and store.load_history_start() == 6
    for block in blocks[:5]:
        height = block.height
        assert store.load_block(height) is None and store.load_certificate(height) is None
        assert store.load_height_of(block.hash) is None
        assert store.load_receipt(height, 0) is None
        assert all(store.load_tx_location(tx.hash) is None for tx in block.transactions)
        with pytest.raises(HeightPruned, match=f"block at height {height} is pruned"):
            chain.check_block_kept(height)
    for block in blocks[5:]:
        assert store.load_block(block.height) == block
        assert store.load_tx_location(block.transactions[0].hash) == (block.height, 0)
    history = store.load_account_history(address_of(BOB.public_key), None, 100)
    assert sorted({height for height, _ in history}) == [6, 7, 8]
    assert _keys_with_prefix(store, b"I") == 2 * 3 * 3  # sender and recipient, 3 txs, 3 blocks
    assert _keys_with_prefix(store, b"T") == 9 and _keys_with_prefix(store, b"R") == 9
    assert _keys_with_prefix(store, b"X") == 3 and _keys_with_prefix(store, b"L") == 3
    assert _keys_with_prefix(store, b"V") == 3  # the schedule proofs go with their blocks
    assert store.state_from() == 7
    assert chain.state_root_at(7) == blocks[6].header.state_root
    with pytest.raises(HeightPruned, match="state at height 6 is pruned") as pruned:
        chain.state_root_at(6)
    assert pruned.value.earliest == 7
    with pytest.raises(LookupError):
        chain.state_root_at(9)
    bob = address_of(BOB.public_key)
    value, _proof = chain.prove_account(bob, chain.state_root_at(7))
    assert value is not None
    chain.close()
    reopened = Chain.open(tmp_path / "db", GENESIS, policy)
    assert reopened.tip.height == 8 and reopened.store.state_from() == 7
    _commit_transfers(reopened, 1)
    assert reopened.store.state_from() == 8 and reopened.store.blocks_from() == 7
    reopened.close()


def test_an_archive_store_writes_no_stale_lists(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", GENESIS)
    for _ in range(3):
        _commit_transfers(chain, 2)
    assert _keys_with_prefix(chain.store, b"Z") == 0
    assert chain.store.state_from() == 0 and chain.store.blocks_from() == 1
    assert all(chain.store.load_state_root(h) is not None for h in range(4))
    chain.close()


def test_turning_pruning_on_catches_up_a_few_heights_per_block(tmp_path: Path) -> None:
    archive = Chain.open(tmp_path / "db", GENESIS)
    for _ in range(10):
        _commit_transfers(archive, 1)
    archive.close()
    policy = PruningPolicy(keep_recent=1, retain_blocks=2, max_heights_per_pass=3)
    chain = Chain.open(tmp_path / "db", GENESIS, policy)
    _commit_transfers(chain, 1)
    assert chain.store.blocks_from() == 4 and chain.store.state_from() == 3
    for _ in range(4):
        _commit_transfers(chain, 1)
    assert chain.store.blocks_from() == 14 and chain.store.state_from() == 15
    chain.close()


def test_every_block_keeps_its_schedule_proven_after_its_state_is_pruned(tmp_path: Path) -> None:
    """The V record of each block: the validator schedule after it and a
    proof under its state root, kept with the block when the state goes
    (state sync follows the validator sets with it, ADR 0025)."""
    chain = Chain.open(tmp_path / "db", GENESIS, PruningPolicy(keep_recent=2))
    blocks = [_commit_transfers(chain, 1) for _ in range(6)]
    store = chain.store
    assert store.state_from() == 5 and store.schedule_from() == 1
    archive_schedule = store.get_state(SCHEDULE_KEY)
    for block in blocks:
        recorded = store.load_schedule(block.height)
        assert recorded is not None
        schedule, proof = recorded
        assert schedule == archive_schedule  # no validator change on this chain
        assert verify_proof(
            block.header.state_root, SCHEDULE_TREE_KEY, schedule, decode_proof(proof)
        )
        assert not verify_proof(
            blocks[0].header.state_root if block.height > 1 else blocks[1].header.state_root,
            SCHEDULE_TREE_KEY,
            schedule,
            decode_proof(proof),
        )
    chain.close()


def test_a_store_from_before_schedule_records_marks_where_they_start(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", GENESIS)
    for _ in range(3):
        _commit_transfers(chain, 1)
    # As a store written before V records existed: none, and no marker.
    with chain.store._db.write_batch() as batch:
        for height in range(1, 4):
            batch.delete(b"V" + height.to_bytes(8, "big"))
        batch.delete(b"Mschedule from")
    chain.close()
    reopened = Chain.open(tmp_path / "db", GENESIS)
    assert reopened.store.schedule_from() == 4  # the records start with the next block
    _commit_transfers(reopened, 1)
    assert reopened.store.load_schedule(4) is not None
    assert reopened.store.load_schedule(3) is None
    reopened.close()
    with Store(tmp_path / "db") as store:
        assert store.schedule_from() == 4  # said once, not moved on each open


def test_a_chain_not_recording_schedules_breaks_the_run_of_records(tmp_path: Path) -> None:
    """A node that serves no snapshots stores no V records; when it records
    again, the unbroken run (``schedule_from``) starts after the last gap."""
    chain = Chain.open(tmp_path / "db", GENESIS, record_schedules=False)
    for _ in range(2):
        _commit_transfers(chain, 1)
    assert _keys_with_prefix(chain.store, b"V") == 0 and chain.store.schedule_from() == 3
    chain.record_schedules = True
    _commit_transfers(chain, 1)
    assert chain.store.load_schedule(3) is not None and chain.store.schedule_from() == 3
    chain.record_schedules = False
    _commit_transfers(chain, 1)
    chain.record_schedules = True
    _commit_transfers(chain, 1)
    assert chain.store.schedule_from() == 5
    chain.close()
