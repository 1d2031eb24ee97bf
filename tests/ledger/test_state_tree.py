"""The state tree against a plain dict, its byte-level hashing, and its proofs."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.state_tree import (
    EMPTY_ROOT,
    MAX_VALUE_SIZE,
    CorruptNodeError,
    InvalidKeyError,
    InvalidValueError,
    MemoryNodeStore,
    MissingNodeError,
    Proof,
    ProofError,
    StateTree,
    decode_node,
    decode_proof,
    encode_internal_node,
    encode_leaf_node,
    encode_proof,
    verify_proof,
)

Changes = dict[bytes, bytes | None]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(key: bytes, value: bytes) -> bytes:
    return sha256(b"\x00" + key + sha256(value))


def internal(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def key_with_bits(bits: str) -> bytes:
    """A key whose first bits are ``bits`` and the rest zero."""
    return int(bits.ljust(256, "0"), 2).to_bytes(32, "big")


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


@settings(max_examples=200, deadline=None)
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


@settings(max_examples=150, deadline=None)
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


def test_hashing_by_hand() -> None:
    a, b, c = key_with_bits("0"), key_with_bits("10"), key_with_bits("11")
    assert tree_of({a: b"A"})[0].root == leaf(a, b"A")
    # a alone on the left, b and c split one level further down on the right.
    expected = internal(leaf(a, b"A"), internal(leaf(b, b"B"), leaf(c, b"C")))
    assert tree_of({a: b"A", b: b"B", c: b"C"})[0].root == expected
    # Two keys sharing 3 bits: internal nodes with an empty half down to the split.
    d, e = key_with_bits("0100"), key_with_bits("0101")
    split = internal(leaf(d, b"D"), leaf(e, b"E"))
    expected = internal(internal(EMPTY_ROOT, internal(split, EMPTY_ROOT)), EMPTY_ROOT)
    assert tree_of({d: b"D", e: b"E"})[0].root == expected


@pytest.mark.parametrize(
    ("count", "root"),
    [
        (1, "263f3134568bd91568a048cb99c08729973fd146db930b054d91a3f79e7a346a"),
        (2, "978e1405e68c6035b3d130831dde63ae9c8225e591448286d456124dbb41a025"),
        (10, "5b633d355f05323be0536779baffc085082369d8ffd8c122f70ebbdf9f5e2f88"),
        (1000, "94e14a12fb00fff7ad653aa82359e0cffb2664d906947ecfe5d1dabb7f1e5255"),
    ],
)
def test_known_roots(count: int, root: str) -> None:
    assert tree_of(numbered_map(count))[0].root.hex() == root


def test_known_proof_bytes() -> None:
    tree, _ = tree_of(numbered_map(3))
    proof = tree.prove(sha256(b"key 0"))
    # [[EMPTY, sibling], nil]: all three keys start with bit 0, so the first sibling is empty.
    assert encode_proof(proof).hex() == (
        "9292c420" + "00" * 32 + "c420"
        "eb043fdbc2887fe47bffa6fad448a28d207ad127c3c0f1a4a06fdd0d6a6ce3ce" + "c0"
    )


# NODES AND STORE


@pytest.mark.parametrize("size", [0, 1, 255, 256, 65535, 65536, MAX_VALUE_SIZE])
def test_node_encoding_is_the_codec_encoding(size: int) -> None:
    key = sha256(b"k")
    value = bytes(range(256)) * (size // 256) + bytes(size % 256)
    encoded = encode_leaf_node(key, value)
    assert encoded == codec.encode((0, key, value))
    assert decode_node(encoded) == (0, key, value)
    assert encode_internal_node(key, EMPTY_ROOT) == codec.encode((1, key, EMPTY_ROOT))
    assert decode_node(encode_internal_node(key, EMPTY_ROOT)) == (1, key, EMPTY_ROOT)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_decode_node_accepts_only_canonical_nodes(data: bytes) -> None:
    try:
        node = decode_node(data)
    except CorruptNodeError:
        return
    assert codec.encode(node) == data


def test_invalid_node_encodings() -> None:
    key = sha256(b"k")
    for data in (
        b"",
        codec.encode((0, key)),
        codec.encode((2, key, key)),
        codec.encode((1, key, key[:31])),
        codec.encode((0, key[:31], b"v")),
        b"\x93\x00\xc4\x20" + key + b"\xc5\x00\x01" + b"v",  # bin16 for a 1-byte value
        encode_leaf_node(key, b"v") + b"\x00",
        encode_internal_node(key, key)[:-1],
    ):
        with pytest.raises(CorruptNodeError):
            decode_node(data)


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


def test_corrupt_node_is_reported() -> None:
    tree, store = tree_of(numbered_map(20))
    store.nodes[tree.root] = encode_internal_node(EMPTY_ROOT, tree.root)
    with pytest.raises(CorruptNodeError):
        StateTree(store, tree.root).get(sha256(b"key 1"))


def test_one_change_writes_a_path() -> None:
    tree, store = tree_of(numbered_map(10_000))
    result = tree.update({sha256(b"key 1234"): b"changed"})
    # One leaf plus one internal node per level: log2(10,000) is about 13.3.
    assert 10 <= len(result.new_nodes) <= 40
    assert tree.update({sha256(b"key 1234"): b"changed"}).new_nodes == {
        leaf(sha256(b"key 1234"), b"changed"): encode_leaf_node(sha256(b"key 1234"), b"changed")
    }
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


@settings(max_examples=500, deadline=None)
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


@settings(max_examples=300, deadline=None)
@given(proof_like)
def test_decode_proof_rejects_wrong_shapes(value: object) -> None:
    try:
        proof = decode_proof(codec.encode(value))
    except ProofError:
        return
    assert verify_proof(EMPTY_ROOT, bytes(32), None, proof) in (True, False)


def test_invalid_proof_encodings() -> None:
    h = bytes(32)
    for value in (
        (),
        ((h,),),
        ((h,), None, None),
        ((h[:31],), None),
        ((h,) * 257, None),
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
        Proof([bytes(32)]),  # type: ignore[arg-type]
        Proof((bytes(32),) * 257),
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
