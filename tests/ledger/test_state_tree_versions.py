"""What an update adds and retires: new_nodes and stale_nodes are exactly the
difference between the old and the new tree (what pruning relies on)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.state_tree import (
    EMPTY_ROOT,
    INTERNAL,
    MemoryNodeStore,
    StateTree,
    child_hashes,
)

Changes = dict[bytes, bytes | None]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reachable(store: MemoryNodeStore, root: bytes) -> set[bytes]:
    """Every node hash of the tree at ``root``, by walking it."""
    found: set[bytes] = set()
    pending = [root] if root != EMPTY_ROOT else []
    while pending:
        node = pending.pop()
        found.add(node)
        record = store.nodes[node]
        if record[0] == INTERNAL:
            pending.extend(child for child in child_hashes(record) if child != EMPTY_ROOT)
    return found


# A small key pool so that batches delete, re-insert and restore old values
# (nodes re-created after being retired), and crowded keys share long paths.
_POOL = [sha256(b"pool %d" % i) for i in range(24)] + [
    bytes.fromhex("00" * 31 + "01"),
    bytes.fromhex("00" * 31 + "02"),
    bytes.fromhex("00" * 30 + "0100"),
]
_batches = st.dictionaries(
    st.sampled_from(_POOL), st.one_of(st.none(), st.sampled_from([b"a", b"b", b"c"])), max_size=10
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_batches, min_size=1, max_size=10), st.sampled_from([0, 3, 1 << 12]))
def test_new_and_stale_nodes_are_the_difference_of_the_trees(
    batch_list: list[Changes], cache_size: int
) -> None:
    store = MemoryNodeStore()
    tree = StateTree(store, cache_size=cache_size)
    before: set[bytes] = set()
    for changes in batch_list:
        old_values = {key: _value_in(store, tree.root, key) for key in changes}
        result = tree.update(changes, old_values)
        store.write_nodes(result.new_nodes)
        after = reachable(store, result.root)
        assert set(result.new_nodes) == after - before
        assert set(result.stale_nodes) == before - after
        assert list(result.stale_nodes) == sorted(set(result.stale_nodes))
        before = after


def _value_in(store: MemoryNodeStore, root: bytes, key: bytes) -> bytes | None:
    return StateTree(store, root, cache_size=0).get(key)


def test_restoring_an_old_value_re_creates_its_leaf() -> None:
    """A leaf retired by one block and built again by a later one is new
    again (a pruner must not have deleted it for good)."""
    store = MemoryNodeStore()
    tree = StateTree(store)
    key, other = sha256(b"key"), sha256(b"other")
    first = tree.update({key: b"old", other: b"x"})
    store.write_nodes(first.new_nodes)
    old_leaf = next(h for h, r in first.new_nodes.items() if r[1:33] == key)
    second = tree.update({key: b"new"})
    store.write_nodes(second.new_nodes)
    assert old_leaf in second.stale_nodes
    third = tree.update({key: b"old"})
    assert old_leaf in third.new_nodes
    assert tree.update({key: b"old"}).new_nodes == {}  # the same value again: nothing new
