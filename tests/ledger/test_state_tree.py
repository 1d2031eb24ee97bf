"""The state tree against a plain dict, its byte-level hashing, and its proofs."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec, state_tree
from ledger.state_tree import (
    EMPTY_ROOT,
    MAX_VALUE_SIZE,
    CorruptNodeError,
    CountingNodeStore,
    InvalidKeyError,
    InvalidValueError,
    MemoryNodeStore,
    MissingNodeError,
    Proof,
    ProofError,
    StateTree,
    check_record,
    child_hashes,
    decode_proof,
    encode_internal_node,
    encode_leaf_node,
    encode_proof,
    is_leaf_record,
    leaf_parts,
    record_hash,
    verify_proof,
)
from tests.hypothesis_profiles import examples

Changes = dict[bytes, bytes | None]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(key: bytes, value: bytes) -> bytes:
    return sha256(b"\x00" + key + sha256(value))


def internal(children: list[bytes]) -> bytes:
    return sha256(b"\x01" + b"".join(children))


def key_with_bits(bits: str) -> bytes:
    """A key whose first bits are ``bits`` and the rest zero."""
    return int(bits.ljust(256, "0"), 2).to_bytes(32, "big")


def key_with_nibbles(nibbles: str) -> bytes:
    """A key whose first nibbles are ``nibbles`` (hex digits) and the rest zero."""
    return bytes.fromhex(nibbles.ljust(64, "0"))


def tree_of(
    mapping: dict[bytes, bytes], cache_size: int = 1 << 12
) -> tuple[StateTree, MemoryNodeStore]:
    store = MemoryNodeStore()
    tree = StateTree(store, cache_size=cache_size)
    store.write_nodes(tree.update(dict(mapping)).new_nodes)
    return tree, store


def apply(tree: StateTree, store: MemoryNodeStore, changes: Changes) -> None:
    store.write_nodes(tree.update(changes).new_nodes)


def numbered_map(count: int) -> dict[bytes, bytes]:
    return {sha256(b"key %d" % i): b"value %d" % i for i in range(count)}


# Keys that crowd into a few corners of the key space, so that paths share long
# prefixes (internal nodes with an empty half, leaves pushed down 255 levels).
_CROWDED_KEYS = [
    key_with_bits(""),
    key_with_bits("1"),
    key_with_bits("01"),
    key_with_bits("0" * 255 + "1"),
    key_with_bits("0" * 254 + "1"),
    key_with_bits("0" * 100 + "1"),
    key_with_bits("1" * 256),
    key_with_bits("1" * 255),
    key_with_bits("1" * 20),
    key_with_bits("1" * 19 + "01"),
    *[sha256(b"pool %d" % i) for i in range(6)],
]
keys = st.one_of(st.sampled_from(_CROWDED_KEYS), st.binary(min_size=32, max_size=32))
values = st.binary(max_size=40)
batches = st.dictionaries(keys, st.one_of(st.none(), values), max_size=12)


# MODEL


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(batches, max_size=8), st.sampled_from([0, 3, 1 << 12]), st.randoms())
def test_tree_matches_a_dict(
    batch_list: list[Changes], cache_size: int, rng: random.Random
) -> None:
    store = MemoryNodeStore()
    tree = StateTree(store, cache_size=cache_size)
    model: dict[bytes, bytes] = {}
    for changes in batch_list:
        apply(tree, store, changes)
        for key, value in changes.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
    probes = sorted({*model, *_CROWDED_KEYS})
    for key in probes:
        assert tree.get(key) == model.get(key)

    # The root is a function of the map alone: one batch, or one key at a time in any order.
    assert tree_of(model)[0].root == tree.root
    one_by_one_store = MemoryNodeStore()
    one_by_one = StateTree(one_by_one_store, cache_size=0)
    order = sorted(model)
    rng.shuffle(order)
    for key in order:
        apply(one_by_one, one_by_one_store, {key: model[key]})
    assert one_by_one.root == tree.root

    for key in probes:
        proof = tree.prove(key)
        assert decode_proof(encode_proof(proof)) == proof
        assert verify_proof(tree.root, key, model.get(key), proof)
        assert not verify_proof(tree.root, key, b"other" if key in model else b"", proof)

    apply(tree, store, dict.fromkeys(model))
    assert tree.root == EMPTY_ROOT


@settings(max_examples=examples(150), deadline=None)
@given(st.dictionaries(keys, values, min_size=1, max_size=20), st.data())
def test_invalid_tampered_proofs_fail(mapping: dict[bytes, bytes], data: st.DataObject) -> None:
    tree, _ = tree_of(mapping)
    other_root = tree_of({**mapping, sha256(b"extra"): b"x"})[0].root
    present = data.draw(st.sampled_from(sorted(mapping)))
    absent = data.draw(keys.filter(lambda key: key not in mapping))
    for key, value in ((present, mapping[present]), (absent, None)):
        proof = tree.prove(key)
        assert verify_proof(tree.root, key, value, proof)
        assert not verify_proof(other_root, key, value, proof)
        assert not verify_proof(tree.root, key, b"wrong", proof)
        assert not verify_proof(tree.root, key, None if value is not None else b"", proof)
        if value is not None:
            another = data.draw(keys.filter(lambda k: k != present))
            assert not verify_proof(tree.root, another, value, proof)
        else:
            # A non-membership proof covers every absent key on its path, never a present one.
            assert not verify_proof(tree.root, present, None, proof)
        encoded = encode_proof(proof)
        position = data.draw(st.integers(0, len(encoded) - 1))
        flip = data.draw(st.integers(1, 255))
        tampered = bytearray(encoded)
        tampered[position] ^= flip
        try:
            decoded = decode_proof(bytes(tampered))
        except ProofError:
            continue
        assert not verify_proof(tree.root, key, value, decoded)


def test_every_byte_of_a_proof_matters() -> None:
    mapping = numbered_map(64)
    tree, _ = tree_of(mapping)
    present = sha256(b"key 7")
    absent_next_to_leaf = sha256(b"key 7")[:31] + bytes([sha256(b"key 7")[31] ^ 1])
    cases = [(present, mapping[present]), (absent_next_to_leaf, None)]
    absent_in_empty = next(
        key
        for key in (sha256(b"absent %d" % i) for i in range(1000))
        if tree.prove(key).other_leaf is None
    )
    cases.append((absent_in_empty, None))
    assert tree.prove(absent_next_to_leaf).other_leaf is not None
    for key, value in cases:
        encoded = encode_proof(tree.prove(key))
        for position in range(len(encoded)):
            tampered = bytearray(encoded)
            tampered[position] ^= 0x01
            try:
                proof = decode_proof(bytes(tampered))
            except ProofError:
                continue
            assert not verify_proof(tree.root, key, value, proof), position


def test_proofs_against_older_roots_keep_working() -> None:
    tree, store = tree_of(numbered_map(50))
    old_root = tree.root
    key = sha256(b"key 3")
    apply(tree, store, {key: b"new", sha256(b"key 4"): None, sha256(b"key 99"): b"x"})
    old = StateTree(store, old_root)
    assert verify_proof(old_root, key, b"value 3", old.prove(key))
    assert verify_proof(tree.root, key, b"new", tree.prove(key))
    assert not verify_proof(tree.root, key, b"value 3", old.prove(key))


# KNOWN ANSWERS: these roots change only if the hashing or the tree shape changes.


def test_empty_tree() -> None:
    tree = StateTree(MemoryNodeStore())
    assert tree.root == EMPTY_ROOT == bytes(32)
    assert tree.get(bytes(32)) is None
    proof = tree.prove(bytes(32))
    assert proof == Proof(())
    assert verify_proof(EMPTY_ROOT, bytes(32), None, proof)
    assert encode_proof(proof).hex() == "9290c0"


def spec_root(mapping: dict[bytes, bytes], depth: int = 0) -> bytes:
    """T(S, d) of docs/spec/state-proofs.md, written as plainly as the spec says it."""
    if not mapping:
        return EMPTY_ROOT
    if len(mapping) == 1:
        ((key, value),) = mapping.items()
        return leaf(key, value)
    children = []
    for digit in range(16):
        part = {k: v for k, v in mapping.items() if nibble_of(k, depth) == digit}
        children.append(spec_root(part, depth + 1))
    return internal(children)


def nibble_of(key: bytes, depth: int) -> int:
    return int(key.hex()[depth], 16)


@settings(max_examples=examples(200), deadline=None)
@given(st.dictionaries(keys, values, max_size=40))
def test_root_is_the_spec_definition(mapping: dict[bytes, bytes]) -> None:
    assert tree_of(mapping)[0].root == spec_root(mapping)


def test_hashing_by_hand() -> None:
    a, b, c = key_with_nibbles("0"), key_with_nibbles("10"), key_with_nibbles("1f")
    assert tree_of({a: b"A"})[0].root == leaf(a, b"A")
    # a alone in slot 0; b and c split one level further down in slot 1.
    below = slots({0: leaf(b, b"B"), 15: leaf(c, b"C")})
    expected = slots({0: leaf(a, b"A"), 1: below})
    assert tree_of({a: b"A", b: b"B", c: b"C"})[0].root == expected
    # Two keys sharing 3 nibbles: internal nodes with a single child down to the split.
    d, e = key_with_nibbles("5a70"), key_with_nibbles("5a7f")
    split = slots({0: leaf(d, b"D"), 15: leaf(e, b"E")})
    expected = slots({5: slots({10: slots({7: split})})})
    assert tree_of({d: b"D", e: b"E"})[0].root == expected


def slots(children: dict[int, bytes]) -> bytes:
    """internal() over sixteen children, EMPTY where ``children`` says nothing."""
    return internal([children.get(i, EMPTY_ROOT) for i in range(16)])


@pytest.mark.parametrize(
    ("count", "root"),
    [
        (1, "263f3134568bd91568a048cb99c08729973fd146db930b054d91a3f79e7a346a"),
        (2, "a8be3643523b58582224692f4137ce59f0a5a7eb117e4e077b49081588fc7daf"),
        (10, "0e8412f52a48ef0326491e32e48aa4028d29a863df4377757aeed53a733496bc"),
        (1000, "fc8cb40977737a547be7af3a3b0c6ba5484f7e6fdb7af69b3680b773ff6cf8dc"),
    ],
)
def test_known_roots(count: int, root: str) -> None:
    assert tree_of(numbered_map(count))[0].root.hex() == root


def test_known_proof_bytes() -> None:
    tree, _ = tree_of(numbered_map(3))
    key = sha256(b"key 0")
    proof = tree.prove(key)
    # The three keys differ in their first nibble (4, 2 and 0): one level of
    # the 15 other children, "key 2" in slot 0 and "key 1" in slot 2.
    assert [sha256(b"key %d" % i).hex()[0] for i in range(3)] == ["4", "2", "0"]
    others = [EMPTY_ROOT] * 16
    others[0] = leaf(sha256(b"key 2"), b"value 2")
    others[2] = leaf(sha256(b"key 1"), b"value 1")
    del others[4]
    # [[bin16(480 bytes)], nil]
    assert encode_proof(proof) == bytes.fromhex("9291c501e0") + b"".join(others) + b"\xc0"


# NODES AND STORE


@pytest.mark.parametrize("size", [0, 1, 255, 256, 65535, 65536, MAX_VALUE_SIZE])
def test_records(size: int) -> None:
    key = sha256(b"k")
    value = bytes(range(256)) * (size // 256) + bytes(size % 256)
    record = encode_leaf_node(key, value)
    assert record == b"\x00" + key + value
    assert check_record(record) == record and is_leaf_record(record)
    assert leaf_parts(record) == (key, value)
    assert record_hash(record) == leaf(key, value)
    children = [sha256(bytes([i])) for i in range(16)]
    record = encode_internal_node(children)
    assert len(record) == 513 and not is_leaf_record(check_record(record))
    assert child_hashes(record) == tuple(children)
    assert record_hash(record) == internal(children) == sha256(record)


def test_invalid_records() -> None:
    key = sha256(b"k")
    for data in (
        b"",
        b"\x02" + key,
        b"\x00" + key[:31],
        b"\x01" + bytes(16 * 32 - 1),
        b"\x01" + bytes(16 * 32 + 1),
        b"\x00" + key + bytes(MAX_VALUE_SIZE + 1),
    ):
        with pytest.raises(CorruptNodeError):
            check_record(data)
    with pytest.raises(ValueError):
        encode_internal_node([key] * 15)
    with pytest.raises(ValueError):
        encode_internal_node([key] * 15 + [key[:31]])


def test_missing_node_is_reported() -> None:
    tree, store = tree_of(numbered_map(20))
    key = sha256(b"key 5")
    with pytest.raises(MissingNodeError):
        StateTree(MemoryNodeStore(), tree.root).get(key)
    # Lose the leaf of one key: reading it, proving it or updating it fails clearly.
    del store.nodes[leaf(key, b"value 5")]
    fresh = StateTree(store, tree.root, cache_size=0)
    with pytest.raises(MissingNodeError):
        fresh.get(key)
    with pytest.raises(MissingNodeError):
        fresh.prove(key)
    with pytest.raises(MissingNodeError):
        fresh.update({key: b"new"})
    assert fresh.root == tree.root
    # Told the old value, the update does not need to read that leaf at all.
    result = fresh.update({key: b"new"}, old_values={key: b"value 5"})
    assert fresh.root == result.root == tree_of({**numbered_map(20), key: b"new"})[0].root


def test_corrupt_node_is_reported() -> None:
    tree, store = tree_of(numbered_map(20))
    store.nodes[tree.root] = encode_internal_node([EMPTY_ROOT] * 15 + [tree.root])
    with pytest.raises(CorruptNodeError):
        StateTree(store, tree.root).get(sha256(b"key 1"))
    store.nodes[tree.root] = b"\x07" + tree.root
    with pytest.raises(CorruptNodeError):
        StateTree(store, tree.root).get(sha256(b"key 1"))


def test_one_change_writes_a_path() -> None:
    tree, store = tree_of(numbered_map(10_000))
    result = tree.update({sha256(b"key 1234"): b"changed"})
    # One leaf plus one internal node per level: log16(10,000) is about 3.3.
    assert 3 <= len(result.new_nodes) <= 7
    # The same value again: the tree already holds that leaf, nothing is new or stale.
    again = tree.update({sha256(b"key 1234"): b"changed"})
    assert again.new_nodes == {} and again.stale_nodes == ()
    assert leaf(sha256(b"key 1234"), b"changed") in result.new_nodes
    assert encode_leaf_node(sha256(b"key 1234"), b"changed") in result.new_nodes.values()
    store.write_nodes(result.new_nodes)
    assert tree.update({}).new_nodes == {}


def test_new_nodes_are_all_the_new_tree_needs() -> None:
    tree, store = tree_of(numbered_map(300))
    changes: Changes = {sha256(b"key %d" % i): b"new %d" % i for i in range(0, 300, 7)}
    changes.update({sha256(b"key %d" % i): None for i in range(1, 300, 11)})
    changes.update({sha256(b"fresh %d" % i): b"fresh" for i in range(40)})
    result = tree.update(changes)
    only_new = MemoryNodeStore()
    only_new.write_nodes({**store.nodes, **result.new_nodes})
    reader = StateTree(only_new, result.root, cache_size=0)
    for key, value in changes.items():
        assert reader.get(key) == value


@settings(max_examples=examples(100), deadline=None)
@given(st.dictionaries(keys, values, max_size=30), batches, st.sampled_from(["right", "wrong"]))
def test_old_value_hints_change_reads_not_results(
    mapping: dict[bytes, bytes], changes: Changes, hint_kind: str
) -> None:
    store = CountingNodeStore()
    store.write_nodes(StateTree(MemoryNodeStore()).update(dict(mapping)).new_nodes)
    root = StateTree(MemoryNodeStore()).update(dict(mapping)).root
    plain = StateTree(store, root, cache_size=0).update(changes)
    if hint_kind == "right":
        hints: dict[bytes, bytes | None] = {key: mapping.get(key) for key in changes}
    else:
        hints = {key: b"not the old value" for key in changes}
    store.reads = 0
    hinted_tree = StateTree(store, root, cache_size=0)
    hinted = hinted_tree.update(changes, old_values=hints)
    assert hinted == plain and hinted_tree.root == plain.root


def test_right_hints_save_the_leaf_reads() -> None:
    mapping = numbered_map(4096)
    store = CountingNodeStore()
    root = StateTree(MemoryNodeStore()).update(dict(mapping)).root
    store.write_nodes(StateTree(MemoryNodeStore()).update(dict(mapping)).new_nodes)
    changes: Changes = {sha256(b"key %d" % i): b"new" for i in range(0, 4096, 97)}
    StateTree(store, root, cache_size=0).update(changes)
    unhinted_reads, store.reads = store.reads, 0
    old = {key: mapping[key] for key in changes}
    StateTree(store, root, cache_size=0).update(changes, old_values=old)
    assert store.reads == unhinted_reads - len(changes)


def test_warm_pins_the_top_levels() -> None:
    mapping = numbered_map(5000)
    store = CountingNodeStore()
    tree = StateTree(store)
    store.write_nodes(tree.update(dict(mapping)).new_nodes)
    cold = StateTree(store, tree.root)
    pinned = cold.warm()
    # 5,000 keys: the root, 16 nodes below it, 256 below those, and a part of level 3.
    assert 1 + 16 + 256 < pinned <= 1 + 16 + 256 + 4096
    store.reads = 0
    assert cold.get(sha256(b"key 17")) == b"value 17"
    assert store.reads <= 2  # at most a level-4 node and the leaf
    assert StateTree(store, tree.root, cache_size=0).warm() == 0  # no cache, nothing pinned


# BAD INPUT


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33), "0" * 32])
def test_invalid_keys(key: bytes) -> None:
    tree, _ = tree_of(numbered_map(3))
    root = tree.root
    with pytest.raises(InvalidKeyError):
        tree.get(key)
    with pytest.raises(InvalidKeyError):
        tree.prove(key)
    with pytest.raises(InvalidKeyError):
        tree.update({sha256(b"fine"): b"v", key: b"v"})
    assert issubclass(InvalidKeyError, ValueError)
    assert tree.root == root
    assert not verify_proof(root, key, None, Proof(()))


def test_invalid_values() -> None:
    tree, _ = tree_of(numbered_map(3))
    root = tree.root
    for value in (bytes(MAX_VALUE_SIZE + 1), "text", 5):
        with pytest.raises(InvalidValueError):
            tree.update({sha256(b"key"): value})  # type: ignore[dict-item]
    assert tree.root == root


@settings(max_examples=examples(500), deadline=None)
@given(st.binary(max_size=200))
def test_decode_proof_raises_only_proof_error(data: bytes) -> None:
    try:
        proof = decode_proof(data)
    except ProofError:
        return
    assert encode_proof(proof) == data


proof_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=33) | st.text(max_size=3),
    lambda children: st.lists(children, max_size=4).map(tuple),
    max_leaves=12,
)


@settings(max_examples=examples(300), deadline=None)
@given(proof_like)
def test_decode_proof_rejects_wrong_shapes(value: object) -> None:
    try:
        proof = decode_proof(codec.encode(value))
    except ProofError:
        return
    assert verify_proof(EMPTY_ROOT, bytes(32), None, proof) in (True, False)


def test_invalid_proof_encodings() -> None:
    h, level = bytes(32), bytes(480)
    for value in (
        (),
        ((level,),),
        ((level,), None, None),
        ((h,), None),  # a level is the 15 other children, not one sibling
        ((level[:479],), None),
        ((level + h,), None),
        ((level,) * 65, None),
        ((), (h,)),
        ((), (h, h[:31])),
        ((), [h, h, h]),
        {"siblings": ()},
    ):
        with pytest.raises(ProofError):
            decode_proof(codec.encode(value))
    with pytest.raises(ProofError):
        decode_proof(b"\x92\x90\xc0\x00")  # trailing byte


@pytest.mark.parametrize(
    "proof",
    [
        Proof(("x",)),  # type: ignore[arg-type]
        Proof([bytes(480)]),  # type: ignore[arg-type]
        Proof((bytes(32),)),
        Proof((bytes(480),) * 65),
        Proof((), (bytes(32),)),  # type: ignore[arg-type]
        Proof((), (bytes(32), 5)),  # type: ignore[arg-type]
        "not a proof",
    ],
)
def test_verify_never_raises(proof: Proof) -> None:
    tree, _ = tree_of(numbered_map(4))
    for value in (None, b"value 1", "text"):
        assert verify_proof(tree.root, sha256(b"key 1"), value, proof) is False  # type: ignore[arg-type]
    assert verify_proof(b"short", sha256(b"key 1"), None, Proof(())) is False


def test_pinned_nodes_stay_bounded_when_versions_are_abandoned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Proposals that never commit leave their top-level nodes pinned; past
    # twice the bound the pinned set starts again, and answers never change.
    monkeypatch.setattr(state_tree, "MAX_PINNED_NODES", 8)
    mapping = numbered_map(2000)
    store = MemoryNodeStore()
    tree = StateTree(store)
    store.write_nodes(tree.update(dict(mapping)).new_nodes)
    pinned = tree._cache.pinned
    for round_number in range(40):
        proposal = tree.at_root(tree.root)  # abandoned: never written, never committed
        proposal.update({sha256(b"key %d" % round_number): b"proposed %d" % round_number})
        assert len(pinned) <= 2 * 8
    assert tree.get(sha256(b"key 3")) == b"value 3"
    assert tree.root == tree_of(mapping)[0].root
