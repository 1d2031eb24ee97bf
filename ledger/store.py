"""The node's database: blocks, indexes, receipts, state and state-tree nodes in LevelDB.

Every block is saved in ONE synced WriteBatch: the block, its hash index,
transaction locations, receipts, the flat state changes, the new tree nodes,
its commit certificate and the new chain tip. A crash at any instant leaves
either all of it or none of it; reopening yields the last fully committed
block and its state.

Key layout (one-byte prefixes; heights are 8-byte big-endian):

    M tip            -> [height, block hash, time_ms, state root]
    M genesis        -> genesis hash
    B height         -> block bytes
    H block hash     -> height
    T tx hash        -> [height, index]
    R height index4  -> receipt bytes
    C height         -> commit certificate bytes for the block at height
    E height         -> end-of-block events (e.g. contract evictions), if any
    S state key      -> latest value (flat copy of the state for fast reads)
    N node hash      -> state-tree node record (docs/spec/state-proofs.md; kept for
                        proofs at old roots)
    X key            -> the node's own records saved with a block (validator sets)
    I address height index4 -> b"" : the account's history, an index of the
                        transactions an address sent or is named in (by a
                        20-byte value of a receipt event), for
                        ledger_getAccountHistory
    M history from   -> the first height the history index covers (a store
                        written before the index existed starts it later)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import plyvel

from ledger import codec
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
# 2: the hexary state tree (docs/adr/0012-hexary-state-tree.md). 1 (unmarked): binary.
_FORMAT: Final = b"Mformat"
_HISTORY_FROM: Final = b"Mhistory from"
ADDRESS_SIZE: Final = 20
STORE_FORMAT: Final = b"2"


class StoreError(Exception):
    """The database is missing, locked, corrupt or belongs to another chain."""


def _height_key(prefix: bytes, height: int) -> bytes:
    return prefix + height.to_bytes(8, "big")


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
    """A LevelDB-backed block and state store. Implements StateReader and NodeReader."""

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
        self._check_format()

    def _check_format(self) -> None:
        """Refuse (and close) a database written in another format. Raises StoreError."""
        if self._db.get(_GENESIS) is None:
            return  # new or empty: save_genesis marks it
        found = self._db.get(_FORMAT) or b"1"
        if found != STORE_FORMAT:
            self._db.close()
            raise StoreError(
                f"the database at {self.path} is in store format {found.decode(errors='replace')}"
                f" and this version reads format {STORE_FORMAT.decode()} (the state tree"
                " changed): move it aside and start the node again to sync the chain afresh"
            )

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
        return value

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
        with self._db.write_batch(sync=True) as batch:
            self._put_state(batch, changes, nodes)
            batch.put(_GENESIS, genesis_hash)
            batch.put(_FORMAT, STORE_FORMAT)
            batch.put(_HISTORY_FROM, (1).to_bytes(8, "big"))
            batch.put(_TIP, _encode_tip(tip))

    def save_block(
        self,
        block: Block,
        result: BlockResult,
        certificate: bytes = b"",
        node_records: Mapping[bytes, bytes] | None = None,
    ) -> None:
        """Write a block and everything it changed in one synced batch.
        ``node_records`` are the node's own records that must move with the
        tip (e.g. the next height's validator set with proposer priorities)."""
        tip = self.load_tip()
        assert block.height == tip.height + 1, f"saving block {block.height} on tip {tip.height}"
        assert block.header.state_root == result.state_root
        height = block.height
        # [height, index] holds two integers: nothing for the codec's tree walk to reject.
        encode_location = codec.pack_plain if type(height) is int else codec.encode
        receipts_prefix = _height_key(b"R", height)
        with self._db.write_batch(sync=True) as batch:
            batch.put(_height_key(b"B", height), block.encode())
            batch.put(b"H" + block.hash, height.to_bytes(8, "big"))
            for index, (tx, receipt) in enumerate(
                zip(block.transactions, result.receipts, strict=True)
            ):
                batch.put(b"T" + tx.hash, encode_location((height, index)))
                batch.put(receipts_prefix + index.to_bytes(4, "big"), receipt.encode())
                position = height.to_bytes(8, "big") + index.to_bytes(4, "big")
                for address in _addresses_named(tx.sender_address, receipt):
                    batch.put(b"I" + address + position, b"")
            if self._db.get(_HISTORY_FROM) is None:
                batch.put(_HISTORY_FROM, height.to_bytes(8, "big"))
            if certificate:
                batch.put(_height_key(b"C", height), certificate)
            if result.block_events:
                events = tuple(event.to_value() for event in result.block_events)
                batch.put(_height_key(b"E", height), codec.encode(events))
            self._put_state(batch, result.changes, result.tree_nodes)
            for key, value in (node_records or {}).items():
                batch.put(b"X" + key, value)
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
    ) -> None:
        for key, value in changes.items():
            if value is None:
                batch.delete(b"S" + key)
            else:
                batch.put(b"S" + key, value)
        for node_hash, node in nodes.items():
            batch.put(b"N" + node_hash, node)

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
