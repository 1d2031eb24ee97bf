"""The authenticated state map: a compact hexary (16-ary) sparse Merkle tree.

Every piece of state is a ``key -> value`` pair with a 32-byte key (the state
layer passes keys that are already SHA-256 hashes, so they are uniformly
spread) and a byte-string value. The tree commits to the whole map with one
32-byte root, proves membership and non-membership of a key against that
root, and updates a batch of keys in O(touched keys x log16 n).

Shape (docs/adr/0003-state-commitment.md; bytes in docs/spec/state-proofs.md):
a key's path is its 64 nibbles (4-bit digits), most significant first. A
subtree holding no keys is EMPTY, a subtree holding one key is that key's
leaf (so a leaf sits at the shortest nibble prefix that tells it apart from
every other key), and a subtree holding two or more keys is an internal node
over its sixteen children::

    EMPTY                = 32 zero bytes
    leaf(key, value)     = SHA-256(0x00 || key || SHA-256(value))
    internal(c0 .. c15)  = SHA-256(0x01 || c0 || ... || c15)

The root is therefore a pure function of the map, whatever the order or
batching of the updates that built it.

Nodes are stored content-addressed under their hash, as *records*: an
internal node's record is its hash preimage ``0x01 || c0 || ... || c15``
(513 bytes), a leaf's is ``0x00 || key || value``. ``StateTree.update``
returns the new records for the caller to write in its block's atomic batch;
old records are never deleted, so proofs against older roots keep working
(no pruning yet).

Sixteen children per node (rather than two) keep a path short: about 5
nodes at a million keys instead of about 21, so an update creates, hashes,
writes and (on a cache miss) reads four times fewer nodes. The top
``PINNED_LEVELS`` levels (at most 69,905 internal nodes, ~40 MB) stay in
memory once loaded; ``StateTree.warm`` loads them when a chain opens.

Over 600 lines for a reason: this is one data structure. The node format,
the proofs and the batched update share the private node helpers and the
cache; split apart, those helpers would become a public surface.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ledger import codec

KEY_SIZE: Final = 32
HASH_SIZE: Final = 32
ARITY: Final = 16
KEY_NIBBLES: Final = 2 * KEY_SIZE
SIBLINGS_SIZE: Final = (ARITY - 1) * HASH_SIZE  # one proof level: the 15 other children
MAX_VALUE_SIZE: Final = 1 << 20
EMPTY_ROOT: Final = bytes(HASH_SIZE)
# Levels 0 .. PINNED_LEVELS - 1 hold at most 1 + 16 + 256 + 4096 + 65536 internal nodes.
PINNED_LEVELS: Final = 5
MAX_PINNED_NODES: Final = sum(ARITY**level for level in range(PINNED_LEVELS))
# Nodes below the pinned levels kept in the two-generation cache (~35 MB of internal nodes).
DEFAULT_CACHE_SIZE: Final = 1 << 16
MAX_PROOF_SIZE: Final = 1 + 3 + KEY_NIBBLES * (3 + SIBLINGS_SIZE) + 1 + 2 * (2 + HASH_SIZE)

LEAF: Final = 0
INTERNAL: Final = 1
INTERNAL_RECORD_SIZE: Final = 1 + ARITY * HASH_SIZE
LEAF_RECORD_MIN_SIZE: Final = 1 + KEY_SIZE

_EMPTY: Final = EMPTY_ROOT
_LEAF_PREFIX: Final = b"\x00"
_INTERNAL_PREFIX: Final = b"\x01"
_NO_OTHER_CHILDREN: Final = bytes(SIBLINGS_SIZE)
_ALL_EMPTY: Final = (EMPTY_ROOT,) * ARITY
# Leaves with bigger values are not kept in the cache (the cache counts nodes, not bytes).
_CACHED_VALUE_LIMIT: Final = 4096

_sha256 = hashlib.sha256


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
    """A stored record is malformed or does not hash to the key it is stored under."""


class ProofError(StateTreeError, ValueError):
    """Bytes that are not the canonical encoding of a proof."""


class NodeReader(Protocol):
    """Read access to the content-addressed node store."""

    def get_node(self, node_hash: bytes) -> bytes | None:
        """The record stored under ``node_hash``, or None."""
        ...


class MemoryNodeStore:
    """A dict-backed node store (tests, benchmarks, tools)."""

    def __init__(self) -> None:
        self.nodes: dict[bytes, bytes] = {}

    def get_node(self, node_hash: bytes) -> bytes | None:
        return self.nodes.get(node_hash)

    def write_nodes(self, nodes: Mapping[bytes, bytes]) -> None:
        """Store every ``hash -> record`` of ``nodes``."""
        self.nodes.update(nodes)


class CountingNodeStore(MemoryNodeStore):
    """A MemoryNodeStore that counts reads, i.e. the tree's cache misses
    (tests and benchmarks)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_node(self, node_hash: bytes) -> bytes | None:
        self.reads += 1
        return self.nodes.get(node_hash)


# HASHING AND RECORDS


def hash_leaf(key: bytes, value: bytes) -> bytes:
    """The hash of the leaf for ``key -> value``."""
    return _sha256(_LEAF_PREFIX + key + _sha256(value).digest()).digest()


def hash_leaf_of_value_hash(key: bytes, value_hash: bytes) -> bytes:
    """The hash of the leaf for ``key`` whose value hashes to ``value_hash``."""
    return _sha256(_LEAF_PREFIX + key + value_hash).digest()


def nibble(key: bytes, depth: int) -> int:
    """Nibble ``depth`` (0..63) of ``key``: the high half of byte 0 first."""
    byte = key[depth >> 1]
    return byte & 0x0F if depth & 1 else byte >> 4


def encode_leaf_node(key: bytes, value: bytes) -> bytes:
    """A leaf's record: ``0x00 || key || value``."""
    return _LEAF_PREFIX + key + value


def encode_internal_node(children: Sequence[bytes]) -> bytes:
    """An internal node's record, which is also its hash preimage: ``0x01 || c0 || ... || c15``."""
    if len(children) != ARITY or not all(_is_hash(child) for child in children):
        raise ValueError(f"an internal node has {ARITY} children of {HASH_SIZE} bytes")
    return _INTERNAL_PREFIX + b"".join(children)


def is_leaf_record(record: bytes) -> bool:
    """Whether a (checked) record is a leaf."""
    return record[0] == LEAF


def leaf_parts(record: bytes) -> tuple[bytes, bytes]:
    """``(key, value)`` of a checked leaf record."""
    return record[1:33], record[33:]


def child_hashes(record: bytes) -> tuple[bytes, ...]:
    """The sixteen child hashes of a checked internal record."""
    return tuple(record[1 + HASH_SIZE * i : 1 + HASH_SIZE * (i + 1)] for i in range(ARITY))


def check_record(data: bytes) -> bytes:
    """``data`` if it is a well-formed record; raises CorruptNodeError otherwise."""
    if not isinstance(data, bytes) or not data:
        raise CorruptNodeError("a stored node is a non-empty byte string")
    if data[0] == INTERNAL:
        if len(data) != INTERNAL_RECORD_SIZE:
            raise CorruptNodeError(f"an internal node's record is {INTERNAL_RECORD_SIZE} bytes")
    elif data[0] == LEAF:
        if not LEAF_RECORD_MIN_SIZE <= len(data) <= LEAF_RECORD_MIN_SIZE + MAX_VALUE_SIZE:
            raise CorruptNodeError("a leaf's record is 0x00, a 32-byte key and a value")
    else:
        raise CorruptNodeError(f"unknown node tag {data[0]}")
    return data


def record_hash(record: bytes) -> bytes:
    """The hash of the node a checked record stores."""
    if record[0] == INTERNAL:
        return _sha256(record).digest()
    return hash_leaf(record[1:33], record[33:])


# PROOFS


@dataclass(frozen=True)
class Proof:
    """The path from the root towards a key.

    ``siblings`` has one entry per internal node passed, root first: the 15
    hashes of that node's other children, in child order (480 bytes; EMPTY
    stands for an empty child). The path ends at depth ``len(siblings)`` in
    one of three things:

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
    (malformed or non-canonical msgpack, wrong shape or sizes, more than 64
    levels)."""
    try:
        value = codec.decode(data, max_size=MAX_PROOF_SIZE)
    except codec.CodecError as exc:
        raise ProofError(f"malformed proof: {exc}") from exc
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ProofError("a proof is an array of two items")
    siblings, other_leaf = value
    if not (isinstance(siblings, tuple) and len(siblings) <= KEY_NIBBLES):
        raise ProofError(f"proof siblings must be an array of at most {KEY_NIBBLES} levels")
    if not all(_is_level(level) for level in siblings):
        raise ProofError(f"every proof level must be {SIBLINGS_SIZE} bytes")
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
        and len(siblings) <= KEY_NIBBLES
        and all(_is_level(level) for level in siblings)
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
        if _common_prefix_nibbles(key, other_key) < depth:
            return False  # that leaf is not on this key's path
        node = hash_leaf_of_value_hash(other_key, other_value_hash)
    for d in range(depth - 1, -1, -1):
        level = siblings[d]
        cut = HASH_SIZE * nibble(key, d)
        node = _sha256(_INTERNAL_PREFIX + level[:cut] + node + level[cut:]).digest()
    return node == root


def _is_hash(item: object) -> bool:
    return isinstance(item, bytes) and len(item) == HASH_SIZE


def _is_level(item: object) -> bool:
    return isinstance(item, bytes) and len(item) == SIBLINGS_SIZE


def _common_prefix_nibbles(a: bytes, b: bytes) -> int:
    """How many leading nibbles two 32-byte keys share (64 if equal)."""
    differing_bits = (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_length()
    return (8 * KEY_SIZE - differing_bits) // 4


# THE TREE


@dataclass(frozen=True)
class UpdateResult:
    """The outcome of StateTree.update: the new root and the records to
    write (``hash -> record``). Writing a record that is already stored is
    harmless: it is the same bytes under the same hash."""

    root: bytes
    new_nodes: dict[bytes, bytes]


class _NodeCache:
    """Records shared by the views of one store: the pinned top levels, and
    two generations of everything else."""

    __slots__ = ("generation_size", "older", "pinned", "recent")

    def __init__(self, generation_size: int) -> None:
        self.generation_size = generation_size
        self.pinned: dict[bytes, bytes] = {}
        self.recent: dict[bytes, bytes] = {}
        self.older: dict[bytes, bytes] = {}


class StateTree:
    """The state map at one root, read through a NodeReader.

    Keeps a cache of records so that the upper levels are not read and
    checked again every block. Internal nodes of the top PINNED_LEVELS
    levels stay once loaded (dropped when replaced; all of them dropped if
    abandoned versions ever push the count past twice MAX_PINNED_NODES).
    Below them, a bounded cache of at most ``cache_size`` records (below 2
    nothing is cached) in two generations: records are used and created in
    the recent one, found ones are promoted from the older one, and when the
    recent one is full it becomes the older one and the older one is
    dropped, an approximate LRU without per-hit bookkeeping. With
    ``cache_size`` 0 nothing at all is cached. Records are
    content-addressed, so a cached record is the same whichever root reaches
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
        self._pin_levels = PINNED_LEVELS if cache_size else 0

    def at_root(self, root: bytes) -> StateTree:
        """Another view of the same store at ``root``, sharing this tree's node
        cache (safe: records are content-addressed). Raises ValueError for a bad root."""
        if not _is_hash(root):
            raise ValueError("a root is 32 bytes")
        view = StateTree.__new__(StateTree)
        view.reader = self.reader
        view.root = root
        view._cache = self._cache
        view._pin_levels = self._pin_levels
        return view

    def warm(self) -> int:
        """Load the internal nodes of the pinned levels under the root (at
        most MAX_PINNED_NODES reads, level by level); return how many are
        pinned. Done once when a chain opens, so that the first blocks do not
        pay for them one cache miss at a time.

        Raises MissingNodeError, CorruptNodeError."""
        level = [self.root]
        for depth in range(self._pin_levels):
            below: list[bytes] = []
            for node_hash in level:
                if node_hash == _EMPTY:
                    continue
                record = self._load(node_hash, depth)
                if record[0] == INTERNAL:
                    below.extend(child_hashes(record))
            level = below
        return len(self._cache.pinned)

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None.

        Raises InvalidKeyError, MissingNodeError, CorruptNodeError."""
        _check_key(key)
        terminal, _ = self._walk(key)
        if terminal is not None and terminal[1:33] == key:
            return terminal[33:]
        return None

    def prove(self, key: bytes) -> Proof:
        """A proof of ``key``'s value, or of its absence, against ``self.root``.

        Raises InvalidKeyError, MissingNodeError, CorruptNodeError."""
        _check_key(key)
        terminal, siblings = self._walk(key)
        if terminal is None or terminal[1:33] == key:
            return Proof(tuple(siblings))
        other_key, other_value = leaf_parts(terminal)
        return Proof(tuple(siblings), (other_key, _sha256(other_value).digest()))

    def update(
        self,
        changes: Mapping[bytes, bytes | None],
        old_values: Mapping[bytes, bytes | None] | None = None,
    ) -> UpdateResult:
        """Apply ``key -> value`` changes (None deletes; deleting an absent
        key does nothing) in one batched pass, set ``self.root`` and return
        the new root with the records to write.

        ``old_values`` may say what a changed key held before (None: absent).
        It only saves reads: a leaf whose hash is ``hash_leaf(key, old value)``
        is known to be that key's leaf without reading it; a wrong hint
        matches no node and changes nothing.

        Raises InvalidKeyError or InvalidValueError before changing anything;
        MissingNodeError or CorruptNodeError if the store fails (the root is
        then left as it was)."""
        for key, value in changes.items():
            _check_key(key)
            _check_value(value)
        keys = sorted(changes)
        hints: list[bytes | None] = (
            _leaf_hints(keys, old_values) if old_values else [None] * len(keys)
        )
        batch = _BatchUpdate(self, keys, [changes[key] for key in keys], hints)
        root = batch.update_range(self.root, 0, 0, len(keys))
        self.root = root
        return UpdateResult(root, batch.new_nodes)

    def _walk(self, key: bytes) -> tuple[bytes | None, list[bytes]]:
        """Follow ``key``'s path: the leaf record it ends in (None for an
        empty subtree) and the sibling levels passed, root first."""
        siblings: list[bytes] = []
        node_hash = self.root
        for depth in range(KEY_NIBBLES + 1):
            if node_hash == _EMPTY:
                return None, siblings
            record = self._load(node_hash, depth)
            if record[0] == LEAF:
                return record, siblings
            start = 1 + HASH_SIZE * nibble(key, depth)
            siblings.append(record[1:start] + record[start + HASH_SIZE :])
            node_hash = record[start : start + HASH_SIZE]
        raise CorruptNodeError("tree path longer than 64 nibbles")

    def _load(self, node_hash: bytes, depth: int) -> bytes:
        """The record of ``node_hash`` (at ``depth``), from the cache or the store."""
        cache = self._cache
        record = cache.pinned.get(node_hash)
        if record is None:
            record = cache.recent.get(node_hash)
            if record is None:
                record = cache.older.get(node_hash)
                if record is None:
                    record = self._read(node_hash)
            self._remember(node_hash, record, depth)
        return record

    def _read(self, node_hash: bytes) -> bytes:
        data = self.reader.get_node(node_hash)
        if data is None:
            raise MissingNodeError(f"node {node_hash.hex()} is not in the store")
        record = check_record(data)
        if record_hash(record) != node_hash:
            raise CorruptNodeError(f"node stored under {node_hash.hex()} hashes otherwise")
        return record

    def _forget(self, node_hash: bytes, depth: int) -> None:
        """Drop a replaced node from the cache, so that the cache fills with
        the live tree rather than with replaced versions. A node on an
        update's path was just loaded, so it sits in the pinned dict or the
        recent generation; a copy left in the older one ages out."""
        cache = self._cache
        if depth < self._pin_levels:
            cache.pinned.pop(node_hash, None)
        cache.recent.pop(node_hash, None)

    def _remember(self, node_hash: bytes, record: bytes, depth: int) -> None:
        """Keep a record: pinned if it is an internal node of a pinned level,
        otherwise in the recent generation."""
        cache = self._cache
        if depth < self._pin_levels and record[0] == INTERNAL:
            pinned = cache.pinned
            pinned[node_hash] = record
            if len(pinned) > 2 * MAX_PINNED_NODES:
                pinned.clear()  # abandoned versions piled up: start again
            return
        if not cache.generation_size or len(record) > _CACHED_VALUE_LIMIT:
            return
        recent = cache.recent
        recent[node_hash] = record
        if len(recent) >= cache.generation_size:
            cache.older = recent
            cache.recent = {}


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise InvalidKeyError(f"a state key is {KEY_SIZE} bytes")


def _check_value(value: bytes | None) -> None:
    if value is not None and not (isinstance(value, bytes) and len(value) <= MAX_VALUE_SIZE):
        raise InvalidValueError(f"a state value is bytes of at most {MAX_VALUE_SIZE}")


def _leaf_hints(keys: list[bytes], old_values: Mapping[bytes, bytes | None]) -> list[bytes | None]:
    """For each key, the hash its leaf has if ``old_values`` is right (None: no hint)."""
    hints: list[bytes | None] = []
    for key in keys:
        old = old_values.get(key)
        hints.append(hash_leaf(key, old) if isinstance(old, bytes) else None)
    return hints


def _nibble_groups(keys: list[bytes], lo: int, hi: int, depth: int) -> list[tuple[int, int, int]]:
    """``(nibble, start, end)`` for each run of ``keys[lo:hi]`` (sorted, all
    sharing their first ``depth`` nibbles) with the same nibble ``depth``."""
    byte_index = depth >> 1
    shift = 0 if depth & 1 else 4
    groups: list[tuple[int, int, int]] = []
    start = lo
    current = (keys[lo][byte_index] >> shift) & 0x0F
    for index in range(lo + 1, hi):
        digit = (keys[index][byte_index] >> shift) & 0x0F
        if digit != current:
            groups.append((current, start, index))
            current, start = digit, index
    groups.append((current, start, hi))
    return groups


class _BatchUpdate:
    """One StateTree.update: sorted changed keys, their new leaf hashes
    (None = delete), old-leaf hints, and the records created so far.

    The recursion follows the old tree down, splitting the sorted key range
    by nibble at each internal node, so every touched node is read once and
    every new node hashed once; a range of one key continues in a loop."""

    def __init__(
        self,
        tree: StateTree,
        keys: list[bytes],
        values: list[bytes | None],
        hints: list[bytes | None],
    ) -> None:
        self.load = tree._load
        self.remember = tree._remember
        self.forget = tree._forget
        self.pinned = tree._cache.pinned
        self.keys = keys
        self.hints = hints
        self.new_nodes: dict[bytes, bytes] = {}
        self.new_leaves: set[bytes] = set()
        self.leaves: list[bytes | None] = []
        for key, value in zip(keys, values, strict=True):
            if value is None:
                self.leaves.append(None)
                continue
            leaf_hash = hash_leaf(key, value)
            record = _LEAF_PREFIX + key + value
            self.new_nodes[leaf_hash] = record
            self.new_leaves.add(leaf_hash)
            self.remember(leaf_hash, record, KEY_NIBBLES)
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
        record = self.load(node_hash, depth)
        if record[0] == LEAF:
            return self.merge_leaf(node_hash, record[1:33], depth, lo, hi)
        children = list(child_hashes(record))
        changed = False
        for digit, start, end in _nibble_groups(self.keys, lo, hi, depth):
            old = children[digit]
            new = self.update_range(old, depth + 1, start, end)
            if new != old:
                children[digit] = new
                changed = True
        if not changed:
            return node_hash
        self.forget(node_hash, depth)
        return self.join(children, depth)

    def update_one(self, node_hash: bytes, depth: int, index: int) -> bytes:
        """update_range for the single change ``keys[index]``."""
        key = self.keys[index]
        new_leaf = self.leaves[index]
        hint = self.hints[index]
        start_hash = node_hash
        path: list[tuple[bytes, bytes, int]] = []  # (hash, record, child slot start) passed
        terminal_key: bytes | None = None  # the key of the leaf the walk ends at
        load = self.load
        pinned = self.pinned
        while node_hash != _EMPTY:
            if node_hash == hint:
                terminal_key = key  # hash_leaf(key, old value): this key's leaf, unread
                break
            record = pinned.get(node_hash) or load(node_hash, depth)
            if record[0] == LEAF:
                terminal_key = record[1:33]
                break
            byte = key[depth >> 1]  # nibble(key, depth), inlined on the hot path
            start = 1 + HASH_SIZE * (byte & 0x0F if depth & 1 else byte >> 4)
            path.append((node_hash, record, start))
            node_hash = record[start : start + HASH_SIZE]
            depth += 1
        if terminal_key is None:  # an empty slot
            if new_leaf is None:
                return start_hash  # deleting an absent key
            subtree, subtree_is_leaf = new_leaf, True
        elif terminal_key == key:
            if new_leaf == node_hash:
                return start_hash  # same value again
            self.forget(node_hash, depth)
            subtree, subtree_is_leaf = (_EMPTY, False) if new_leaf is None else (new_leaf, True)
        else:
            if new_leaf is None:
                return start_hash  # deleting an absent key
            subtree = self.pair(node_hash, terminal_key, new_leaf, key, depth)
            subtree_is_leaf = False
        # Back up the path, replacing one child per level; a level whose other
        # children are all empty collapses onto a leaf or vanishes (deletes).
        new_nodes = self.new_nodes
        remember = self.remember
        while path:
            node_hash, record, start = path.pop()
            depth -= 1
            self.forget(node_hash, depth)
            if (subtree_is_leaf or subtree == _EMPTY) and (
                record[1:start] + record[start + HASH_SIZE :] == _NO_OTHER_CHILDREN
            ):
                continue  # this node held only the path's subtree: it is that subtree now
            record = record[:start] + subtree + record[start + HASH_SIZE :]
            if subtree == _EMPTY:
                subtree = self.join(list(child_hashes(record)), depth)
                subtree_is_leaf = self.is_leaf(subtree)
                continue
            subtree = _sha256(record).digest()
            subtree_is_leaf = False
            new_nodes[subtree] = record
            remember(subtree, record, depth)
        return subtree

    def merge_leaf(self, leaf_hash: bytes, leaf_key: bytes, depth: int, lo: int, hi: int) -> bytes:
        """The subtree at ``depth`` holding the existing leaf and the changes
        ``keys[lo:hi]`` (a change to the leaf's own key replaces it)."""
        keys = self.keys[lo:hi]
        leaves = self.leaves[lo:hi]
        if leaf_key in keys:
            self.forget(leaf_hash, depth)
        else:
            at = bisect_left(keys, leaf_key)
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
        children = list(_ALL_EMPTY)
        for digit, start, end in _nibble_groups(keys, lo, hi, depth):
            children[digit] = self.build(keys, leaves, start, end, depth + 1)
        return self.internal(children, depth)  # two or more keys: always internal

    def pair(self, leaf_a: bytes, key_a: bytes, leaf_b: bytes, key_b: bytes, depth: int) -> bytes:
        """The subtree at ``depth`` holding two leaves whose keys agree on
        their first ``depth`` nibbles."""
        split_depth = _common_prefix_nibbles(key_a, key_b)
        children = list(_ALL_EMPTY)
        children[nibble(key_a, split_depth)] = leaf_a
        children[nibble(key_b, split_depth)] = leaf_b
        subtree = self.internal(children, split_depth)
        for d in range(split_depth - 1, depth - 1, -1):
            children = list(_ALL_EMPTY)
            children[nibble(key_a, d)] = subtree
            subtree = self.internal(children, d)
        return subtree

    def join(self, children: list[bytes], depth: int) -> bytes:
        """The subtree over sixteen children: EMPTY if all are empty, the
        leaf itself if it is the only non-empty one, otherwise an internal node."""
        occupied = [child for child in children if child != _EMPTY]
        if not occupied:
            return _EMPTY
        if len(occupied) == 1 and self.is_leaf(occupied[0]):
            return occupied[0]
        return self.internal(children, depth)

    def internal(self, children: list[bytes], depth: int) -> bytes:
        """A new internal node over children that do not collapse."""
        record = _INTERNAL_PREFIX + b"".join(children)
        node_hash = _sha256(record).digest()
        self.new_nodes[node_hash] = record
        self.remember(node_hash, record, depth)
        return node_hash

    def is_leaf(self, node_hash: bytes) -> bool:
        if node_hash in self.new_leaves:
            return True
        created = self.new_nodes.get(node_hash)
        if created is not None:
            return created[0] == LEAF
        return self.load(node_hash, KEY_NIBBLES)[0] == LEAF
