"""The node's database: blocks, indexes, receipts, state and state-tree nodes in LevelDB.

Every block is saved in ONE synced WriteBatch: the block, its hash index,
transaction locations, receipts, the flat state changes, the new tree nodes,
its commit certificate and the new chain tip. A crash at any instant leaves
either all of it or none of it; reopening yields the last fully committed
block and its state. Pruning (``prune_states``, ``prune_blocks``; the policy
is ledger.pruning, the design docs/adr/0024-pruning.md) deletes in batches of
its own, each atomic with the markers saying how far it got.

Key layout (one-byte prefixes; heights are 8-byte big-endian):

    M tip            -> [height, block hash, time_ms, state root]
    M genesis        -> genesis hash
    B height         -> block bytes
    H block hash     -> height
    T tx hash        -> [height, index]
    R height index4  -> receipt bytes
    C height         -> commit certificate bytes for the block at height
    E height         -> end-of-block events (e.g. contract evictions), if any
    L height         -> what to delete with the block: [block hash, tx hashes,
                        account-history entries (address || index4), node record keys]
    S state key      -> latest value (flat copy of the state for fast reads)
    N node hash      -> state-tree node record (docs/spec/state-proofs.md) || trailer,
                        trailer = state key (a leaf's preimage; empty for an internal
                        node) || its length (2 bytes) || birth height (8 bytes): the
                        height whose block created the node (last created, if again)
    Z height         -> the hashes of the tree nodes block ``height`` retired
                        (concatenated; only while states are pruned)
    Q height         -> state root || block hash: the state of ``height`` is kept
    P node hash      -> b"": a node of a state kept for good (keep_every)
    X key            -> the node's own records saved with a block (validator sets)
    V height         -> [schedule, proof]: the validator schedule (state key ``V``) after
                        block ``height`` and its Merkle proof under that block's state
                        root, so that the header chain can be followed (state sync)
                        with blocks alone, after the states are pruned (ADR 0025)
    I address height index4 -> b"" : the account's history, an index of the
                        transactions an address sent or is named in (by a
                        20-byte value of a receipt event), for
                        ledger_getAccountHistory
    M history from   -> the first height the history index covers
    M state from     -> states below this height are pruned (except those with a
                        Q record) and the Z lists up to it are done
    M blocks from    -> the first height whose block is stored
    M schedule from  -> the first height of the unbroken run of V records up to the
                        tip (a store written before V records existed starts it at
                        the tip it had when first opened by a version that writes them)
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import plyvel

from ledger import codec
from ledger.state import tree_key
from ledger.transition import BlockResult, ChainTip
from ledger.types import Block, Event, Receipt, decode_block, decode_receipt

_TIP: Final = b"Mtip"
# LevelDB's own block cache: tree nodes are read at random (they are keyed by hash),
# so reads that miss the tree's node cache should at least not go to disk.
LEVELDB_CACHE_BYTES: Final = 128 * 1024 * 1024
# A block writes tens of thousands of records at once; a larger memtable turns
# them into fewer level-0 files and fewer write stalls while LevelDB compacts.
LEVELDB_WRITE_BUFFER_BYTES: Final = 64 * 1024 * 1024
# Block compression of new tables ("snappy" or None; a store reads either). Snappy
# halves the store (the EMPTY runs of sparse tree nodes); without it cold reads at
# 1,000,000 accounts cost ~3 us less and a transfer ~12% less (ADR 0014).
LEVELDB_COMPRESSION: Final[str | None] = "snappy"
_GENESIS: Final = b"Mgenesis"
# The layout of the records below; a store of another format is refused on open.
# 3: node records carry their preimage and birth height (docs/adr/0024-pruning.md).
# 2: the hexary state tree (docs/adr/0012-hexary-state-tree.md). 1 (unmarked): binary.
_FORMAT: Final = b"Mformat"
_HISTORY_FROM: Final = b"Mhistory from"
_STATE_FROM: Final = b"Mstate from"
_BLOCKS_FROM: Final = b"Mblocks from"
_SCHEDULE_FROM: Final = b"Mschedule from"
ADDRESS_SIZE: Final = 20
HASH_SIZE: Final = 32
STORE_FORMAT: Final = b"3"
_BIRTH_SIZE: Final = 8
_PREIMAGE_LENGTH_SIZE: Final = 2
_TRAILER_SIZE: Final = _PREIMAGE_LENGTH_SIZE + _BIRTH_SIZE
_HISTORY_ENTRY_SIZE: Final = ADDRESS_SIZE + 4


class StoreError(Exception):
    """The database is missing, locked, corrupt or belongs to another chain."""


@dataclass(frozen=True)
class NodeEntry:
    """A stored tree node with what the store keeps beside its record."""

    record: bytes
    preimage: bytes  # a leaf's state key (empty for an internal node)
    birth: int  # the height whose block created it (0: genesis)


@dataclass(frozen=True)
class PruneReport:
    """What one pruning pass did."""

    heights: int = 0  # heights whose states (or blocks) were forgotten
    deleted: int = 0  # records deleted
    kept: int = 0  # stale nodes kept (re-created since, or part of a state kept for good)


def _height_key(prefix: bytes, height: int) -> bytes:
    return prefix + height.to_bytes(8, "big")


def node_value(record: bytes, preimage: bytes, birth: int) -> bytes:
    """What the store keeps under ``N || hash``: the record and its trailer."""
    return record + preimage + len(preimage).to_bytes(2, "big") + birth.to_bytes(8, "big")


def parse_node_value(value: bytes) -> NodeEntry:
    """The inverse of node_value. Raises StoreError for a value too short for its trailer."""
    if len(value) < _TRAILER_SIZE:
        raise StoreError("a stored tree node is shorter than its trailer")
    preimage_size = int.from_bytes(value[-_TRAILER_SIZE:-_BIRTH_SIZE], "big")
    end = len(value) - _TRAILER_SIZE - preimage_size
    if end < 1:
        raise StoreError("a stored tree node's preimage is longer than the node")
    return NodeEntry(
        value[:end], value[end:-_TRAILER_SIZE], int.from_bytes(value[-_BIRTH_SIZE:], "big")
    )


def open_leveldb(path: str | Path) -> plyvel.DB:
    """The LevelDB at ``path`` (created if missing) with the node's options
    (also used by bench.primitive_costs). Raises plyvel.Error."""
    return plyvel.DB(
        str(path),
        create_if_missing=True,
        lru_cache_size=LEVELDB_CACHE_BYTES,
        bloom_filter_bits=10,  # a read of an absent key rarely touches a table
        write_buffer_size=LEVELDB_WRITE_BUFFER_BYTES,
        compression=LEVELDB_COMPRESSION,
    )


class StateSnapshot:
    """The state as it was when the snapshot was taken (see Store.snapshot_reader)."""

    def __init__(self, snapshot: Any) -> None:
        self._snapshot = snapshot

    def get_state(self, key: bytes) -> bytes | None:
        value: bytes | None = self._snapshot.get(b"S" + key)
        return value

    def close(self) -> None:
        self._snapshot.close()

    def __enter__(self) -> StateSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Store:
    """A LevelDB-backed block and state store. Implements StateReader and NodeReader.

    ``keep_stale_lists``: whether save_block records the tree nodes each
    block retires (the Z lists). Only a node that prunes states needs them;
    an archive node does not pay for them (and cannot later prune the
    states it saved without them: pruning forgets what was retired after
    it was turned on)."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) the database at ``path``. Raises StoreError."""
        Path(path).mkdir(parents=True, exist_ok=True)
        try:
            self._db = open_leveldb(path)
        except plyvel.Error as exc:
            raise StoreError(f"cannot open the database at {path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot open the database at {path}: {exc}") from exc
        self.path = Path(path)
        self.keep_stale_lists = False
        self._kept_for_good: list[int] | None = None  # heights below "state from" with Q
        self._check_format()
        self._start_schedule_records()

    def _check_format(self) -> None:
        """Refuse (and close) a database written in another format. Raises StoreError."""
        if self._db.get(_GENESIS) is None:
            return  # new or empty: save_genesis marks it
        found = self._db.get(_FORMAT) or b"1"
        if found != STORE_FORMAT:
            self._db.close()
            raise StoreError(
                f"the database at {self.path} is in store format {found.decode(errors='replace')}"
                f" and this version reads format {STORE_FORMAT.decode()} (the node store"
                " changed): move it aside and start the node again to sync the chain afresh"
            )

    def _start_schedule_records(self) -> None:
        """A store written before schedule records existed has none below its
        tip: say that they start with the next block."""
        if self._db.get(_GENESIS) is None or self._db.get(_SCHEDULE_FROM) is not None:
            return
        after = self.load_tip().height + 1
        self._db.put(_SCHEDULE_FROM, after.to_bytes(8, "big"), sync=True)

    def close(self) -> None:
        if not self._db.closed:
            self._db.close()

    def compact(self) -> None:
        """Compact the whole database now (blocking): LevelDB rewrites its
        files into their settled form, which it otherwise does in the
        background. For maintenance and benchmarks (a store compacted right
        after a bulk genesis import behaves as it will once the node has run
        for a while)."""
        self._db.compact_range()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- readers used by the state transition ---------------------------
    def get_state(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(b"S" + key)
        return value

    def get_node(self, node_hash: bytes) -> bytes | None:
        value: bytes | None = self._db.get(b"N" + node_hash)
        if value is None:
            return None
        preimage_size = int.from_bytes(value[-_TRAILER_SIZE:-_BIRTH_SIZE], "big")
        return value[: -_TRAILER_SIZE - preimage_size]

    def get_node_entry(self, node_hash: bytes) -> NodeEntry | None:
        """A node's record with its preimage and birth height (state sync, tests)."""
        value: bytes | None = self._db.get(b"N" + node_hash)
        return parse_node_value(value) if value is not None else None

    def snapshot_reader(self) -> StateSnapshot:
        """A StateReader frozen at the latest committed state, for a reader on
        another thread while blocks keep being committed; close it when done."""
        return StateSnapshot(self._db.snapshot())

    # -- chain tip -------------------------------------------------------
    def is_initialized(self) -> bool:
        return self._db.get(_TIP) is not None

    def load_tip(self) -> ChainTip:
        """The last committed block's tip (height 0 right after genesis). Raises StoreError."""
        raw = self._db.get(_TIP)
        if raw is None:
            raise StoreError(f"the database at {self.path} has no chain: run init first")
        height, block_hash, time_ms, state_root = codec.decode(raw)
        return ChainTip(height, block_hash, time_ms, state_root)

    def load_genesis_hash(self) -> bytes:
        raw: bytes | None = self._db.get(_GENESIS)
        if raw is None:
            raise StoreError(f"the database at {self.path} has no genesis")
        return raw

    # -- saving ----------------------------------------------------------
    def save_genesis(
        self,
        genesis_hash: bytes,
        changes: Mapping[bytes, bytes | None],
        tip: ChainTip,
        nodes: Mapping[bytes, bytes],
    ) -> None:
        """Write the genesis state in one synced batch. Raises StoreError if a
        different chain is already here; re-saving the same genesis is a no-op."""
        existing = self._db.get(_GENESIS)
        if existing is not None:
            if existing != genesis_hash:
                raise StoreError(f"the database at {self.path} holds another chain's genesis")
            return
        preimages = {tree_key(key): key for key in changes}
        with self._db.write_batch(sync=True) as batch:
            self._put_state(batch, changes, nodes, preimages, 0)
            batch.put(_GENESIS, genesis_hash)
            batch.put(_FORMAT, STORE_FORMAT)
            batch.put(_HISTORY_FROM, (1).to_bytes(8, "big"))
            batch.put(_STATE_FROM, (0).to_bytes(8, "big"))
            batch.put(_BLOCKS_FROM, (1).to_bytes(8, "big"))
            batch.put(_SCHEDULE_FROM, (1).to_bytes(8, "big"))
            batch.put(_height_key(b"Q", 0), tip.state_root + tip.block_hash)
            batch.put(_TIP, _encode_tip(tip))

    def save_block(
        self,
        block: Block,
        result: BlockResult,
        certificate: bytes = b"",
        node_records: Mapping[bytes, bytes] | None = None,
        schedule: tuple[bytes, bytes] | None = None,
    ) -> None:
        """Write a block and everything it changed in one synced batch.
        ``schedule`` is the validator schedule after the block with its
        encoded proof (the ``V`` record; None: not recorded, and the
        unbroken run of records, ``schedule_from``, starts after this block).
        ``node_records`` are the node's own records that must move with the
        tip (e.g. the next height's validator set with proposer priorities);
        they belong to this block (their keys name its height) and are
        deleted with it when blocks are pruned."""
        tip = self.load_tip()
        assert block.height == tip.height + 1, f"saving block {block.height} on tip {tip.height}"
        assert block.header.state_root == result.state_root
        height = block.height
        # [height, index] holds two integers: nothing for the codec's tree walk to reject.
        encode_location = codec.pack_plain if type(height) is int else codec.encode
        receipts_prefix = _height_key(b"R", height)
        tx_hashes: list[bytes] = []
        history: list[bytes] = []
        with self._db.write_batch(sync=True) as batch:
            batch.put(_height_key(b"B", height), block.encode())
            batch.put(b"H" + block.hash, height.to_bytes(8, "big"))
            for index, (tx, receipt) in enumerate(
                zip(block.transactions, result.receipts, strict=True)
            ):
                tx_hash = tx.hash
                tx_hashes.append(tx_hash)
                batch.put(b"T" + tx_hash, encode_location((height, index)))
                batch.put(receipts_prefix + index.to_bytes(4, "big"), receipt.encode())
                index_bytes = index.to_bytes(4, "big")
                position = height.to_bytes(8, "big") + index_bytes
                for address in _addresses_named(tx.sender_address, receipt):
                    batch.put(b"I" + address + position, b"")
                    history.append(address + index_bytes)
            if self._db.get(_HISTORY_FROM) is None:
                batch.put(_HISTORY_FROM, height.to_bytes(8, "big"))
            if certificate:
                batch.put(_height_key(b"C", height), certificate)
            if result.block_events:
                events = tuple(event.to_value() for event in result.block_events)
                batch.put(_height_key(b"E", height), codec.encode(events))
            self._put_state(batch, result.changes, result.tree_nodes, result.preimages, height)
            if self.keep_stale_lists and result.stale_nodes:
                batch.put(_height_key(b"Z", height), b"".join(result.stale_nodes))
            if schedule is not None:
                batch.put(_height_key(b"V", height), codec.encode(schedule))
            else:  # the run of V records is broken here: it starts again after
                batch.put(_SCHEDULE_FROM, (height + 1).to_bytes(8, "big"))
            records = node_records or {}
            for key, value in records.items():
                batch.put(b"X" + key, value)
            listing = (block.hash, b"".join(tx_hashes), b"".join(history), tuple(records))
            batch.put(_height_key(b"L", height), codec.encode(listing))
            batch.put(_height_key(b"Q", height), result.state_root + block.hash)
            new_tip = ChainTip(height, block.hash, block.header.time_ms, result.state_root)
            batch.put(_TIP, _encode_tip(new_tip))

    def save_certificate(self, height: int, certificate: bytes) -> None:
        """Record (or replace) the commit certificate seen for the block at ``height``."""
        self._db.put(_height_key(b"C", height), certificate, sync=True)

    @staticmethod
    def _put_state(
        batch: plyvel.WriteBatch,
        changes: Mapping[bytes, bytes | None],
        nodes: Mapping[bytes, bytes],
        preimages: Mapping[bytes, bytes],
        height: int,
    ) -> None:
        for key, value in changes.items():
            if value is None:
                batch.delete(b"S" + key)
            else:
                batch.put(b"S" + key, value)
        internal_trailer = b"\x00\x00" + height.to_bytes(8, "big")
        birth = height.to_bytes(8, "big")
        for node_hash, record in nodes.items():
            if record[0] == 0:  # a leaf: keep the state key its tree key hashes
                preimage = preimages.get(record[1:33], b"")
                trailer = preimage + len(preimage).to_bytes(2, "big") + birth
            else:
                trailer = internal_trailer
            batch.put(b"N" + node_hash, record + trailer)

    # -- state sync (consensus.node.statesync; docs/adr/0025-state-sync.md) ---
    def put_synced_nodes(self, entries: list[tuple[bytes, bytes, bytes]], birth: int) -> None:
        """Write checked tree nodes fetched from peers, ``(hash, record,
        preimage)``, born at the snapshot height ``birth``, in one synced
        batch. Nodes are content-addressed: a node of a snapshot that is
        never finished is unreferenced, never wrong."""
        with self._db.write_batch(sync=True) as batch:
            for node_hash, record, preimage in entries:
                batch.put(b"N" + node_hash, node_value(record, preimage, birth))

    def finish_snapshot(
        self,
        tip: ChainTip,
        state: Iterator[tuple[bytes, bytes]],
        certificate: bytes,
        node_records: Mapping[bytes, bytes],
    ) -> int:
        """Make the snapshot whose nodes are stored the chain's state, in ONE
        synced batch (a crash leaves the old tip, or all of this): the flat
        state ``state`` (state key, value) replaces the old one; the tip,
        the certificate of the tip's block and ``node_records`` (the
        validator sets) are written; the markers say that no state, block or
        history below the tip's height is here (queries answer "pruned").
        Returns the number of state entries."""
        height = tip.height
        count = 0
        with self._db.write_batch(sync=True) as batch:
            with self._db.iterator(prefix=b"S", include_value=False) as keys:
                for key in keys:
                    batch.delete(key)
            for key, value in state:
                batch.put(b"S" + key, value)
                count += 1
            with self._db.iterator(prefix=b"Q", include_value=False) as keys:
                for key in keys:
                    batch.delete(key)
            batch.put(_height_key(b"Q", height), tip.state_root + tip.block_hash)
            batch.put(_height_key(b"C", height), certificate)
            for key, value in node_records.items():
                batch.put(b"X" + key, value)
            after = (height + 1).to_bytes(8, "big")
            batch.put(_STATE_FROM, height.to_bytes(8, "big"))
            batch.put(_BLOCKS_FROM, after)
            batch.put(_HISTORY_FROM, after)
            batch.put(_SCHEDULE_FROM, after)
            batch.put(_TIP, _encode_tip(tip))
        self._kept_for_good = None
        return count

    # -- pruning (ledger.pruning decides what; docs/adr/0024-pruning.md) -----
    def state_from(self) -> int:
        """States below this height are pruned, except those kept for good."""
        return self._marker(_STATE_FROM, 0)

    def blocks_from(self) -> int:
        """The first height whose block is stored."""
        return self._marker(_BLOCKS_FROM, 1)

    def schedule_from(self) -> int:
        """The first height from which every stored block has its V record."""
        return self._marker(_SCHEDULE_FROM, 1)

    def load_schedule(self, height: int) -> tuple[bytes, bytes] | None:
        """The validator schedule after block ``height`` and its encoded proof
        under that block's state root, if recorded (see save_block)."""
        raw = self._db.get(_height_key(b"V", height))
        if raw is None:
            return None
        schedule, proof = codec.decode(raw)
        return schedule, proof

    def load_state_root(self, height: int) -> bytes | None:
        """The state root after block ``height`` if its state is kept, else None."""
        raw = self._db.get(_height_key(b"Q", height))
        return raw[:HASH_SIZE] if raw is not None else None

    def load_kept_block_hash(self, height: int) -> bytes | None:
        """The hash of block ``height`` if its state is kept (0: the genesis hash)."""
        raw = self._db.get(_height_key(b"Q", height))
        return raw[HASH_SIZE:] if raw is not None else None

    def kept_for_good(self) -> list[int]:
        """The heights below ``state_from`` whose states are kept (keep_every)."""
        if self._kept_for_good is None:
            start, stop = _height_key(b"Q", 0), _height_key(b"Q", self.state_from())
            with self._db.iterator(start=start, stop=stop, include_value=False) as keys:
                self._kept_for_good = [int.from_bytes(key[1:], "big") for key in keys]
        return self._kept_for_good

    def prune_states(
        self, below: int, kept_for_good: Callable[[int], bool], max_heights: int
    ) -> PruneReport:
        """Forget the states of the heights below ``below`` (at most
        ``max_heights`` more of them than before), except those for which
        ``kept_for_good`` holds: delete every tree node that no kept state
        holds, in one synced batch.

        A node retired by block v (its Z list) was held by the states from
        its birth c to v - 1. It is deleted unless it was created again
        since (its stored birth is v or later: it is live, or retired again
        and listed again), or a state kept for good lies in [c, v - 1] (then
        it is pinned, so that a later re-creation, which overwrites its
        birth, cannot release it)."""
        done = self.state_from()
        target = min(below, done + max_heights)
        if target <= done:
            return PruneReport()
        kept = self.kept_for_good()
        deleted = kept_nodes = 0
        pinned_now: set[bytes] = set()
        with self._db.write_batch(sync=True) as batch:
            for height in range(done, target):
                if kept_for_good(height) and self.load_state_root(height) is not None:
                    kept.append(height)
                else:
                    batch.delete(_height_key(b"Q", height))
            for retired_at in range(done + 1, target + 1):
                listed = self._db.get(_height_key(b"Z", retired_at))
                if listed is None:
                    continue
                for offset in range(0, len(listed), HASH_SIZE):
                    node_hash = listed[offset : offset + HASH_SIZE]
                    if self._release_node(batch, node_hash, retired_at, kept, pinned_now):
                        deleted += 1
                    else:
                        kept_nodes += 1
                batch.delete(_height_key(b"Z", retired_at))
            batch.put(_STATE_FROM, target.to_bytes(8, "big"))
        return PruneReport(target - done, deleted, kept_nodes)

    def _release_node(
        self,
        batch: plyvel.WriteBatch,
        node_hash: bytes,
        retired_at: int,
        kept: list[int],
        pinned_now: set[bytes],
    ) -> bool:
        """Delete a node retired at ``retired_at`` if no kept state holds it
        (prune_states); True if deleted."""
        key = b"N" + node_hash
        value = self._db.get(key)
        if value is None:
            return False
        birth = int.from_bytes(value[-_BIRTH_SIZE:], "big")
        if birth >= retired_at:
            # Created again since: live, or listed again when retired again. Its
            # birth before ``retired_at`` was overwritten, so whether a state kept
            # for good held it then is unknown: pin it if one could have.
            if kept and kept[0] < retired_at and node_hash not in pinned_now:
                batch.put(b"P" + node_hash, b"")
                pinned_now.add(node_hash)
            return False
        if kept:
            at = bisect_left(kept, birth)
            if at < len(kept) and kept[at] < retired_at:
                batch.put(b"P" + node_hash, b"")
                pinned_now.add(node_hash)
                return False
            if node_hash in pinned_now or self._db.get(b"P" + node_hash) is not None:
                return False
        batch.delete(key)
        return True

    def prune_blocks(self, below: int, max_heights: int) -> PruneReport:
        """Forget the blocks below ``below`` (at most ``max_heights`` more of
        them than before) with their receipts, certificates, events, index
        entries and node records, in one synced batch."""
        done = self.blocks_from()
        target = min(below, done + max_heights)
        if target <= done:
            return PruneReport()
        deleted = 0
        with self._db.write_batch(sync=True) as batch:
            for height in range(done, target):
                deleted += self._delete_block(batch, height)
            batch.put(_BLOCKS_FROM, target.to_bytes(8, "big"))
            if self._marker(_HISTORY_FROM, 1) < target:
                batch.put(_HISTORY_FROM, target.to_bytes(8, "big"))
        return PruneReport(target - done, deleted)

    def _delete_block(self, batch: plyvel.WriteBatch, height: int) -> int:
        """Delete block ``height`` and what was saved with it; the number of records."""
        keys = [_height_key(prefix, height) for prefix in (b"B", b"C", b"E", b"L", b"V")]
        listed = self._db.get(_height_key(b"L", height))
        if listed is not None:
            block_hash, tx_hashes, history, node_keys = codec.decode(listed)
            keys.append(b"H" + block_hash)
            position = height.to_bytes(8, "big")
            for index, offset in enumerate(range(0, len(tx_hashes), HASH_SIZE)):
                keys.append(b"T" + tx_hashes[offset : offset + HASH_SIZE])
                keys.append(_height_key(b"R", height) + index.to_bytes(4, "big"))
            for offset in range(0, len(history), _HISTORY_ENTRY_SIZE):
                entry = history[offset : offset + _HISTORY_ENTRY_SIZE]
                keys.append(b"I" + entry[:ADDRESS_SIZE] + position + entry[ADDRESS_SIZE:])
            keys.extend(b"X" + key for key in node_keys)
        for key in keys:
            batch.delete(key)
        return len(keys)

    def _marker(self, key: bytes, default: int) -> int:
        raw = self._db.get(key)
        return int.from_bytes(raw, "big") if raw is not None else default

    def disk_bytes(self) -> int:
        """The size of the database's files on disk."""
        return sum(path.stat().st_size for path in self.path.iterdir() if path.is_file())

    # -- loading ---------------------------------------------------------
    def load_block(self, height: int) -> Block | None:
        raw = self._db.get(_height_key(b"B", height))
        return decode_block(raw) if raw is not None else None

    def load_block_bytes(self, height: int) -> bytes | None:
        value: bytes | None = self._db.get(_height_key(b"B", height))
        return value

    def load_height_of(self, block_hash: bytes) -> int | None:
        raw = self._db.get(b"H" + block_hash)
        return int.from_bytes(raw, "big") if raw is not None else None

    def load_tx_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        raw = self._db.get(b"T" + tx_hash)
        if raw is None:
            return None
        height, index = codec.decode(raw)
        return int(height), int(index)

    def load_receipt(self, height: int, index: int) -> Receipt | None:
        raw = self._db.get(_height_key(b"R", height) + index.to_bytes(4, "big"))
        return decode_receipt(raw) if raw is not None else None

    def load_block_events(self, height: int) -> tuple[Event, ...]:
        """The end-of-block events of the block at ``height`` (empty if none)."""
        raw = self._db.get(_height_key(b"E", height))
        if raw is None:
            return ()
        return tuple(
            Event(kind, tuple(tuple(a) for a in attrs)) for kind, attrs in codec.decode(raw)
        )

    def load_certificate(self, height: int) -> bytes | None:
        value: bytes | None = self._db.get(_height_key(b"C", height))
        return value

    def load_history_start(self) -> int:
        """The first height whose transactions the history index holds."""
        raw = self._db.get(_HISTORY_FROM)
        return int.from_bytes(raw, "big") if raw is not None else self.load_tip().height + 1

    def load_account_history(
        self, address: bytes, before: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, int]]:
        """Up to ``limit`` (height, index) positions of transactions that
        ``address`` sent or is named in, newest first, strictly before the
        position ``before`` (None: from the newest)."""
        prefix = b"I" + address
        stop = prefix + (
            before[0].to_bytes(8, "big") + before[1].to_bytes(4, "big")
            if before is not None
            else b"\xff" * 12
        )
        out = []
        with self._db.iterator(start=prefix, stop=stop, reverse=True, include_value=False) as keys:
            for key in keys:
                out.append((int.from_bytes(key[21:29], "big"), int.from_bytes(key[29:33], "big")))
                if len(out) >= limit:
                    break
        return out

    def load_node_record(self, key: bytes) -> bytes | None:
        """A node record saved with a block (see save_block)."""
        value: bytes | None = self._db.get(b"X" + key)
        return value

    def iter_state(self, prefix: bytes = b"", start: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """The latest (state key, value) pairs whose key starts with ``prefix``,
        in key order, from ``prefix + start`` on (audits, tests, paged queries)."""
        first = b"S" + prefix + start
        with self._db.iterator(start=first) as entries:
            for key, value in entries:
                if not key.startswith(b"S" + prefix):
                    break
                yield key[1:], value


def _addresses_named(sender: bytes, receipt: Receipt) -> set[bytes]:
    """The sender and every 20-byte value in the receipt's events: whom a
    transaction concerns (the rule of the WebSocket receipts subscription)."""
    named = {sender}
    for event in receipt.events:
        for _, value in event.attributes:
            if type(value) is bytes and len(value) == ADDRESS_SIZE:
                named.add(value)
    return named


def _encode_tip(tip: ChainTip) -> bytes:
    return codec.encode((tip.height, tip.block_hash, tip.time_ms, tip.state_root))
