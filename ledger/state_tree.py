"""The authenticated state map: a compact binary sparse Merkle tree.

Every piece of state is a ``key -> value`` pair with a 32-byte key (the state
layer passes keys that are already SHA-256 hashes, so they are uniformly
spread) and a byte-string value. The tree commits to the whole map with one
32-byte root, proves membership and non-membership of a key against that
root, and updates a batch of keys in O(touched keys x log n).

Shape (docs/adr/0003-state-commitment.md; bytes in docs/spec/state-proofs.md):
a key's path is its bits, most significant first, 0 = left. A subtree holding
no keys is EMPTY, a subtree holding one key is that key's leaf (so a leaf
sits at the shortest prefix that tells it apart from every other key), and a
subtree holding two or more keys is an internal node over its two halves::

    EMPTY            = 32 zero bytes
    leaf(key, value) = SHA-256(0x00 || key || SHA-256(value))
    internal(l, r)   = SHA-256(0x01 || l || r)

The root is therefore a pure function of the map, whatever the order or
batching of the updates that built it.

Nodes are stored content-addressed (node hash -> canonical msgpack bytes,
``[0, key, value]`` for a leaf, ``[1, left, right]`` for an internal node)
and read through ``NodeReader``. ``StateTree.update`` returns the new nodes
for the caller to write in its block's atomic batch; old nodes are never
deleted, so proofs against older roots keep working (no pruning yet).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from ledger import codec

KEY_SIZE: Final = 32
HASH_SIZE: Final = 32
KEY_BITS: Final = 8 * KEY_SIZE
MAX_VALUE_SIZE: Final = 1 << 20
EMPTY_ROOT: Final = bytes(HASH_SIZE)
DEFAULT_CACHE_SIZE: Final = 1 << 18
MAX_PROOF_SIZE: Final = 1 + 3 + KEY_BITS * (2 + HASH_SIZE) + 1 + 2 * (2 + HASH_SIZE)

LEAF: Final = 0
INTERNAL: Final = 1

_EMPTY: Final = EMPTY_ROOT
_LEAF_PREFIX: Final = b"\x00"
_INTERNAL_PREFIX: Final = b"\x01"
# Canonical msgpack of [0, key, value] and [1, left, right], written out by hand
# because codec.encode costs more than the hashing on the update path; the
# tests check these bytes against codec.encode.
_LEAF_NODE_HEAD: Final = b"\x93\x00\xc4\x20"
_INTERNAL_NODE_HEAD: Final = b"\x93\x01\xc4\x20"
_BIN32_HEAD: Final = b"\xc4\x20"
_INTERNAL_NODE_SIZE: Final = 4 + HASH_SIZE + 2 + HASH_SIZE
# Leaves with bigger values are not kept in the cache (the cache counts nodes, not bytes).
_CACHED_VALUE_LIMIT: Final = 4096

_sha256 = hashlib.sha256

# A decoded node: (LEAF, key, value) or (INTERNAL, left_hash, right_hash).
Node = tuple[int, bytes, bytes]


class StateTreeError(Exception):
    """Base class of every error raised by this module."""


class InvalidKeyError(StateTreeError, ValueError):
    """A key that is not exactly 32 bytes."""


class InvalidValueError(StateTreeError, ValueError):
    """A value that is not bytes or is longer than MAX_VALUE_SIZE."""


class MissingNodeError(StateTreeError):
    """A node the tree refers to is absent from the store: the store lost a
    write or the root is unknown. An internal invariant is broken."""


class CorruptNodeError(StateTreeError):
    """A stored node does not decode or does not hash to the key it is stored under."""


class ProofError(StateTreeError, ValueError):
    """Bytes that are not the canonical encoding of a proof."""


class NodeReader(Protocol):
    """Read access to the content-addressed node store."""

    def get_node(self, node_hash: bytes) -> bytes | None:
        """The encoded node stored under ``node_hash``, or None."""
        ...


class MemoryNodeStore:
    """A dict-backed node store (tests, benchmarks, tools)."""

    def __init__(self) -> None:
        self.nodes: dict[bytes, bytes] = {}

    def get_node(self, node_hash: bytes) -> bytes | None:
        return self.nodes.get(node_hash)

    def write_nodes(self, nodes: Mapping[bytes, bytes]) -> None:
        """Store every ``hash -> encoded node`` of ``nodes``."""
        self.nodes.update(nodes)


# HASHING


def hash_leaf(key: bytes, value: bytes) -> bytes:
    """The hash of the leaf for ``key -> value``."""
    return _sha256(_LEAF_PREFIX + key + _sha256(value).digest()).digest()


def hash_leaf_of_value_hash(key: bytes, value_hash: bytes) -> bytes:
    """The hash of the leaf for ``key`` whose value hashes to ``value_hash``."""
    return _sha256(_LEAF_PREFIX + key + value_hash).digest()


def hash_internal(left: bytes, right: bytes) -> bytes:
    """The hash of the internal node over two child hashes."""
    return _sha256(_INTERNAL_PREFIX + left + right).digest()


def _bit(key: bytes, depth: int) -> int:
    """Bit ``depth`` of ``key``, most significant bit of byte 0 first."""
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


# NODE ENCODING


def encode_leaf_node(key: bytes, value: bytes) -> bytes:
    """Canonical bytes of a leaf node: ``codec.encode((0, key, value))``."""
    size = len(value)
    if size < 0x100:
        head = b"\xc4" + size.to_bytes(1, "big")
    elif size < 0x10000:
        head = b"\xc5" + size.to_bytes(2, "big")
    else:
        head = b"\xc6" + size.to_bytes(4, "big")
    return _LEAF_NODE_HEAD + key + head + value


def encode_internal_node(left: bytes, right: bytes) -> bytes:
    """Canonical bytes of an internal node: ``codec.encode((1, left, right))``."""
    return _INTERNAL_NODE_HEAD + left + _BIN32_HEAD + right


def decode_node(data: bytes) -> Node:
    """Decode stored node bytes into ``(LEAF, key, value)`` or
    ``(INTERNAL, left, right)``. Accepts exactly what encode_leaf_node and
    encode_internal_node produce; raises CorruptNodeError otherwise."""
    head = data[:4]
    if head == _INTERNAL_NODE_HEAD:
        if len(data) == _INTERNAL_NODE_SIZE and data[36:38] == _BIN32_HEAD:
            return (INTERNAL, data[4:36], data[38:])
    elif head == _LEAF_NODE_HEAD and len(data) >= 38:
        # The value's bin header: the smallest of bin8, bin16, bin32 that fits.
        size_format = data[36]
        if size_format == 0xC4:
            value_start, minimum = 38, 0
        elif size_format == 0xC5:
            value_start, minimum = 39, 0x100
        elif size_format == 0xC6:
            value_start, minimum = 41, 0x10000
        else:
            value_start = 0
        if value_start:
            size = int.from_bytes(data[37:value_start], "big")
            if minimum <= size <= MAX_VALUE_SIZE and len(data) == value_start + size:
                return (LEAF, data[4:36], data[value_start:])
    raise CorruptNodeError("stored bytes are not a canonical tree node")


def hash_node(node: Node) -> bytes:
    """The hash of a decoded node."""
    if node[0] == LEAF:
        return hash_leaf(node[1], node[2])
    return hash_internal(node[1], node[2])


# PROOFS


@dataclass(frozen=True)
class Proof:
    """The path from the root towards a key.

    ``siblings`` are the sibling hashes met on the way down, root first (one
    per internal node passed; EMPTY_ROOT stands for an empty sibling). The
    path ends at depth ``len(siblings)`` in one of three things:

    - the key's own leaf (membership; ``other_leaf`` is None);
    - an empty subtree (non-membership; ``other_leaf`` is None);
    - the leaf of another key sharing the path so far (non-membership;
      ``other_leaf`` is that leaf's ``(key, SHA-256(value))``).
    """

    siblings: tuple[bytes, ...]
    other_leaf: tuple[bytes, bytes] | None = None


def encode_proof(proof: Proof) -> bytes:
    """Canonical bytes of a proof: ``codec.encode((siblings, other_leaf))``."""
    return codec.encode((proof.siblings, proof.other_leaf))


def decode_proof(data: bytes) -> Proof:
    """Decode canonical proof bytes. Raises ProofError for anything else
    (malformed or non-canonical msgpack, wrong shape or sizes, more than 256
    siblings)."""
    try:
        value = codec.decode(data, max_size=MAX_PROOF_SIZE)
    except codec.CodecError as exc:
        raise ProofError(f"malformed proof: {exc}") from exc
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ProofError("a proof is an array of two items")
    siblings, other_leaf = value
    if not (isinstance(siblings, tuple) and len(siblings) <= KEY_BITS):
        raise ProofError(f"proof siblings must be an array of at most {KEY_BITS} hashes")
    if not all(_is_hash(sibling) for sibling in siblings):
        raise ProofError("every proof sibling must be 32 bytes")
    if other_leaf is not None and not (
        isinstance(other_leaf, tuple)
        and len(other_leaf) == 2
        and all(_is_hash(item) for item in other_leaf)
    ):
        raise ProofError("a proof's other leaf is nil or [key, value hash] of 32 bytes each")
    return Proof(siblings, other_leaf)


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: Proof) -> bool:
    """True iff ``proof`` shows that, in the map whose root is ``root``,
    ``key`` maps to ``value`` (or, with ``value`` None, that ``key`` is
    absent). Pure: needs only the root. Never raises: malformed arguments
    give False."""
    if not (_is_hash(root) and _is_hash(key) and isinstance(proof, Proof)):
        return False
    siblings = proof.siblings
    if not (
        isinstance(siblings, tuple)
        and len(siblings) <= KEY_BITS
        and all(_is_hash(sibling) for sibling in siblings)
    ):
        return False
    depth = len(siblings)
    other_leaf = proof.other_leaf
    if value is not None:
        if not isinstance(value, bytes) or other_leaf is not None:
            return False
        node = hash_leaf(key, value)
    elif other_leaf is None:
        node = _EMPTY
    else:
        if not (isinstance(other_leaf, tuple) and len(other_leaf) == 2):
            return False
        other_key, other_value_hash = other_leaf
        if not (_is_hash(other_key) and _is_hash(other_value_hash)) or other_key == key:
            return False
        if _common_prefix_bits(key, other_key) < depth:
            return False  # that leaf is not on this key's path
        node = hash_leaf_of_value_hash(other_key, other_value_hash)
    for d in range(depth - 1, -1, -1):
        if _bit(key, d):
            node = hash_internal(siblings[d], node)
        else:
            node = hash_internal(node, siblings[d])
    return node == root


def _is_hash(item: object) -> bool:
    return isinstance(item, bytes) and len(item) == HASH_SIZE


def _common_prefix_bits(a: bytes, b: bytes) -> int:
    return KEY_BITS - (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_length()


# THE TREE


@dataclass(frozen=True)
class UpdateResult:
    """The outcome of StateTree.update: the new root and the nodes to write
    (``hash -> encoded node``). Writing a node that is already stored is
    harmless: it is the same bytes under the same hash."""

    root: bytes
    new_nodes: dict[bytes, bytes]


class _NodeCache:
    """Two generations of decoded nodes, shared by the views of one store."""

    __slots__ = ("generation_size", "older", "recent")

    def __init__(self, generation_size: int) -> None:
        self.generation_size = generation_size
        self.recent: dict[bytes, Node] = {}
        self.older: dict[bytes, Node] = {}


class StateTree:
    """The state map at one root, read through a NodeReader.

    Keeps a bounded cache of decoded nodes (at most ``cache_size``; below 2
    nothing is cached) so that the upper levels are not read and decoded
    again every block. It has two generations: nodes are used and created in
    the recent one, found ones are promoted from the older one, and when the
    recent one is full it becomes the older one and the older one is dropped,
    an approximate LRU without per-hit bookkeeping. Nodes are
    content-addressed, so a cached node is the same whichever root reaches
    it: the cache changes speed, never answers.
    """

    def __init__(
        self, reader: NodeReader, root: bytes = EMPTY_ROOT, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        """Raises ValueError for a root that is not 32 bytes or a negative cache size."""
        if not _is_hash(root):
            raise ValueError("a root is 32 bytes")
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self.reader = reader
        self.root: bytes = root
        self._cache = _NodeCache(cache_size // 2)

    def at_root(self, root: bytes) -> StateTree:
        """Another view of the same store at ``root``, sharing this tree's node
        cache (safe: nodes are content-addressed). Raises ValueError for a bad root."""
        if not _is_hash(root):
            raise ValueError("a root is 32 bytes")
        view = StateTree.__new__(StateTree)
        view.reader = self.reader
        view.root = root
        view._cache = self._cache
        return view

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None.

        Raises InvalidKeyError, MissingNodeError, CorruptNodeError."""
        _check_key(key)
        terminal, _ = self._walk(key)
        if terminal is not None and terminal[1] == key:
            return terminal[2]
        return None

    def prove(self, key: bytes) -> Proof:
        """A proof of ``key``'s value, or of its absence, against ``self.root``.

        Raises InvalidKeyError, MissingNodeError, CorruptNodeError."""
        _check_key(key)
        terminal, siblings = self._walk(key)
        if terminal is None or terminal[1] == key:
            return Proof(tuple(siblings))
        return Proof(tuple(siblings), (terminal[1], _sha256(terminal[2]).digest()))

    def update(self, changes: Mapping[bytes, bytes | None]) -> UpdateResult:
        """Apply ``key -> value`` changes (None deletes; deleting an absent
        key does nothing) in one batched pass, set ``self.root`` and return
        the new root with the nodes to write.

        Raises InvalidKeyError or InvalidValueError before changing anything;
        MissingNodeError or CorruptNodeError if the store fails (the root is
        then left as it was)."""
        for key, value in changes.items():
            _check_key(key)
            _check_value(value)
        keys = sorted(changes)
        batch = _BatchUpdate(self, keys, [changes[key] for key in keys])
        root = batch.update_range(self.root, 0, 0, len(keys))
        self.root = root
        return UpdateResult(root, batch.new_nodes)

    def _walk(self, key: bytes) -> tuple[Node | None, list[bytes]]:
        """Follow ``key``'s path: the leaf it ends in (None for an empty
        subtree) and the sibling hashes passed, root first."""
        siblings: list[bytes] = []
        node_hash = self.root
        for depth in range(KEY_BITS + 1):
            if node_hash == _EMPTY:
                return None, siblings
            node = self._load(node_hash)
            if node[0] == LEAF:
                return node, siblings
            if _bit(key, depth):
                siblings.append(node[1])
                node_hash = node[2]
            else:
                siblings.append(node[2])
                node_hash = node[1]
        raise CorruptNodeError("tree path longer than 256 bits")

    def _load(self, node_hash: bytes) -> Node:
        """The decoded node ``node_hash``, from the cache or the store."""
        cache = self._cache
        node = cache.recent.get(node_hash)
        if node is None:
            node = cache.older.get(node_hash)
            if node is None:
                node = self._read(node_hash)
            self._remember(node_hash, node)
        return node

    def _read(self, node_hash: bytes) -> Node:
        data = self.reader.get_node(node_hash)
        if data is None:
            raise MissingNodeError(f"node {node_hash.hex()} is not in the store")
        node = decode_node(data)
        if hash_node(node) != node_hash:
            raise CorruptNodeError(f"node stored under {node_hash.hex()} hashes otherwise")
        return node

    def _forget(self, node_hash: bytes) -> None:
        """Drop a node the current tree no longer uses from the cache, so the
        cache fills with the live tree rather than with replaced versions."""
        self._cache.recent.pop(node_hash, None)
        self._cache.older.pop(node_hash, None)

    def _remember(self, node_hash: bytes, node: Node) -> None:
        """Put a node in the recent generation of the cache."""
        cache = self._cache
        if not cache.generation_size or (node[0] == LEAF and len(node[2]) > _CACHED_VALUE_LIMIT):
            return
        recent = cache.recent
        recent[node_hash] = node
        if len(recent) >= cache.generation_size:
            cache.older = recent
            cache.recent = {}


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise InvalidKeyError(f"a state key is {KEY_SIZE} bytes")


def _check_value(value: bytes | None) -> None:
    if value is not None and not (isinstance(value, bytes) and len(value) <= MAX_VALUE_SIZE):
        raise InvalidValueError(f"a state value is bytes of at most {MAX_VALUE_SIZE}")


class _BatchUpdate:
    """One StateTree.update: sorted changed keys, their new leaf hashes
    (None = delete), and the nodes created so far.

    The recursion follows the old tree down, splitting the sorted key range
    at each internal node, so every touched node is read once and every new
    node hashed once; a range of one key continues in a loop."""

    def __init__(self, tree: StateTree, keys: list[bytes], values: list[bytes | None]) -> None:
        self.load = tree._load
        self.remember = tree._remember
        self.forget = tree._forget
        self.keys = keys
        self.new_nodes: dict[bytes, bytes] = {}
        self.leaves: list[bytes | None] = []
        for key, value in zip(keys, values, strict=True):
            if value is None:
                self.leaves.append(None)
                continue
            leaf_hash = hash_leaf(key, value)
            self.new_nodes[leaf_hash] = encode_leaf_node(key, value)
            self.remember(leaf_hash, (LEAF, key, value))
            self.leaves.append(leaf_hash)

    def update_range(self, node_hash: bytes, depth: int, lo: int, hi: int) -> bytes:
        """The new hash of the subtree ``node_hash`` at ``depth`` after the
        changes ``keys[lo:hi]`` (all under this subtree's prefix)."""
        if lo == hi:
            return node_hash
        if hi - lo == 1:
            return self.update_one(node_hash, depth, lo)
        if node_hash == _EMPTY:
            return self.build_from(depth, self.keys[lo:hi], self.leaves[lo:hi])
        node = self.load(node_hash)
        if node[0] == LEAF:
            return self.merge_leaf(node_hash, node[1], depth, lo, hi)
        mid = _split(self.keys, lo, hi, depth)
        left = self.update_range(node[1], depth + 1, lo, mid)
        right = self.update_range(node[2], depth + 1, mid, hi)
        if left == node[1] and right == node[2]:
            return node_hash
        self.forget(node_hash)
        return self.join(left, right)

    def update_one(self, node_hash: bytes, depth: int, index: int) -> bytes:
        """update_range for the single change ``keys[index]``."""
        key = self.keys[index]
        new_leaf = self.leaves[index]
        start_hash = node_hash
        top_depth = depth
        siblings: list[bytes] = []  # one per internal node passed
        path_hashes: list[bytes] = []  # the internal nodes passed
        node: Node | None = None
        load = self.load
        while node_hash != _EMPTY:
            node = load(node_hash)
            if node[0] == LEAF:
                break
            path_hashes.append(node_hash)
            if (key[depth >> 3] >> (7 - (depth & 7))) & 1:  # _bit(key, depth), inlined
                siblings.append(node[1])
                node_hash = node[2]
            else:
                siblings.append(node[2])
                node_hash = node[1]
            depth += 1
        if node_hash == _EMPTY:
            if new_leaf is None:
                return start_hash  # deleting an absent key
            subtree = new_leaf
        elif node is not None and node[1] == key:
            if new_leaf == node_hash:
                return start_hash  # same value again
            self.forget(node_hash)
            subtree = _EMPTY if new_leaf is None else new_leaf
        else:
            if new_leaf is None or node is None:
                return start_hash  # deleting an absent key
            subtree = self.pair(node_hash, node[1], new_leaf, key, depth)
        # Back up the path. This is join() and internal() inlined for the common
        # case (both halves non-empty): it is the hottest loop of an update.
        new_nodes = self.new_nodes
        remember = self.remember
        while depth > top_depth:
            depth -= 1
            sibling = siblings.pop()
            self.forget(path_hashes.pop())
            if (key[depth >> 3] >> (7 - (depth & 7))) & 1:
                left, right = sibling, subtree
            else:
                left, right = subtree, sibling
            if left == _EMPTY or right == _EMPTY:
                subtree = self.join(left, right)
                continue
            subtree = _sha256(_INTERNAL_PREFIX + left + right).digest()
            new_nodes[subtree] = _INTERNAL_NODE_HEAD + left + _BIN32_HEAD + right
            remember(subtree, (INTERNAL, left, right))
        return subtree

    def merge_leaf(self, leaf_hash: bytes, leaf_key: bytes, depth: int, lo: int, hi: int) -> bytes:
        """The subtree at ``depth`` holding the existing leaf and the changes
        ``keys[lo:hi]`` (a change to the leaf's own key replaces it)."""
        keys = self.keys[lo:hi]
        leaves = self.leaves[lo:hi]
        at = bisect_left(keys, leaf_key)
        if not (at < len(keys) and keys[at] == leaf_key):
            keys.insert(at, leaf_key)
            leaves.insert(at, leaf_hash)
        return self.build_from(depth, keys, leaves)

    def build_from(self, depth: int, keys: list[bytes], leaves: list[bytes | None]) -> bytes:
        """The subtree at ``depth`` holding exactly the non-deleted entries."""
        kept_keys = [key for key, leaf in zip(keys, leaves, strict=True) if leaf is not None]
        kept_leaves = [leaf for leaf in leaves if leaf is not None]
        return self.build(kept_keys, kept_leaves, 0, len(kept_keys), depth)

    def build(self, keys: list[bytes], leaves: list[bytes], lo: int, hi: int, depth: int) -> bytes:
        """A fresh subtree at ``depth`` over the leaves ``leaves[lo:hi]``."""
        if hi - lo <= 1:
            return leaves[lo] if hi > lo else _EMPTY
        mid = _split(keys, lo, hi, depth)
        # Two or more keys: whichever half holds them is internal, so no hoisting here.
        return self.internal(
            self.build(keys, leaves, lo, mid, depth + 1),
            self.build(keys, leaves, mid, hi, depth + 1),
        )

    def pair(self, leaf_a: bytes, key_a: bytes, leaf_b: bytes, key_b: bytes, depth: int) -> bytes:
        """The subtree at ``depth`` holding two leaves whose keys agree on
        their first ``depth`` bits."""
        split_depth = _common_prefix_bits(key_a, key_b)
        if _bit(key_a, split_depth):
            subtree = self.internal(leaf_b, leaf_a)
        else:
            subtree = self.internal(leaf_a, leaf_b)
        for d in range(split_depth - 1, depth - 1, -1):
            if _bit(key_a, d):
                subtree = self.internal(_EMPTY, subtree)
            else:
                subtree = self.internal(subtree, _EMPTY)
        return subtree

    def join(self, left: bytes, right: bytes) -> bytes:
        """The subtree over two halves: EMPTY if both are empty, the leaf
        itself if the other half is empty, otherwise an internal node."""
        if left == _EMPTY:
            if right == _EMPTY or self.is_leaf(right):
                return right
        elif right == _EMPTY and self.is_leaf(left):
            return left
        return self.internal(left, right)

    def internal(self, left: bytes, right: bytes) -> bytes:
        """A new internal node over two non-collapsible halves."""
        node_hash = _sha256(_INTERNAL_PREFIX + left + right).digest()
        self.new_nodes[node_hash] = _INTERNAL_NODE_HEAD + left + _BIN32_HEAD + right
        self.remember(node_hash, (INTERNAL, left, right))
        return node_hash

    def is_leaf(self, node_hash: bytes) -> bool:
        created = self.new_nodes.get(node_hash)
        if created is not None:
            return created[1] == LEAF  # the tag byte after the array header
        return self.load(node_hash)[0] == LEAF


def _split(keys: list[bytes], lo: int, hi: int, depth: int) -> int:
    """The first index in ``keys[lo:hi]`` (sorted, all sharing their first
    ``depth`` bits) whose bit ``depth`` is 1."""
    byte_index = depth >> 3
    mask = 0x80 >> (depth & 7)
    first = keys[lo]
    if first[byte_index] & mask:
        return lo
    if not keys[hi - 1][byte_index] & mask:
        return hi
    # The smallest byte string with this prefix and bit set: everything at or above it goes right.
    boundary = first[:byte_index] + bytes(((first[byte_index] & (0x100 - 2 * mask)) | mask,))
    return bisect_left(keys, boundary, lo, hi)
