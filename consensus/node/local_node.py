"""A single-node chain behind the NodeView protocol: no consensus, no peers.

``LocalNode`` keeps a mempool (consensus.node.mempool, the validators' own) and
a block producer that, every ``block_interval`` seconds, builds a block
from the mempool with its proposer address, executes it and commits it to
the chain, then publishes it on the event hub. It is what ``ledger single``
runs for development and what the RPC tests and benchmarks serve. It is
honest about being one node: ``status().mode`` is "single-node", there are
no peers, and nothing is replicated; a block is final because this node
alone says so.

Mempool admission is CheckTx against the committed state *plus* the
pending transactions already admitted (so a sender can queue nonces n,
n+1, ...); see consensus.node.mempool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Final

from consensus.node.mempool import Mempool, MempoolConfig
from consensus.node.rpc.events import CommittedBlock, EventHub
from consensus.node.rpc.node_view import (
    MempoolInfo,
    NodeStatus,
    ValidatorInfo,
    read_validator_set,
    state_root_at,
)
from ledger.chain import Chain
from ledger.exceptions import AlreadyKnown, MalformedTransaction
from ledger.genesis import Genesis
from ledger.types import DecodeError, Transaction, decode_transaction

log = logging.getLogger("consensus.local_node")  # the name its log lines have always carried

DEFAULT_MAX_MEMPOOL_TXS: Final = 20_000
DEFAULT_MAX_MEMPOOL_BYTES: Final = 64 * 1024 * 1024


class LocalNode:
    """One node that proposes and commits every block itself (implements NodeView)."""

    def __init__(
        self,
        chain: Chain,
        genesis: Genesis,
        proposer: bytes | None = None,
        *,
        block_interval: float = 1.0,
        empty_blocks: bool = True,
        max_mempool_txs: int = DEFAULT_MAX_MEMPOOL_TXS,
        max_mempool_bytes: int = DEFAULT_MAX_MEMPOOL_BYTES,
        moniker: str = "local",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``proposer`` (default: the first genesis validator) receives the fees.
        Raises ValueError if the chain is not the genesis's chain."""
        if chain.chain_id != genesis.chain_id:
            raise ValueError(f"chain {chain.chain_id!r} is not genesis {genesis.chain_id!r}")
        self._chain = chain
        self._genesis = genesis
        self._events = EventHub()
        self.proposer = proposer if proposer is not None else genesis.validators[0].address
        self.block_interval = block_interval
        self.empty_blocks = empty_blocks
        self.max_mempool_txs = max_mempool_txs
        self.max_mempool_bytes = max_mempool_bytes
        self.moniker = moniker
        self._clock = clock
        self._mempool = Mempool(
            chain,
            MempoolConfig(max_txs=max_mempool_txs, max_bytes=max_mempool_bytes),
        )
        self._task: asyncio.Task[None] | None = None

    # -- NodeView ----------------------------------------------------------
    @property
    def chain(self) -> Chain:
        return self._chain

    @property
    def genesis(self) -> Genesis:
        return self._genesis

    @property
    def events(self) -> EventHub:
        return self._events

    async def submit_transaction(self, raw: bytes) -> bytes:
        """Decode, check against the pending state and queue ``raw``. Raises TxRejected."""
        try:
            tx = decode_transaction(raw)
        except DecodeError as exc:
            raise MalformedTransaction(str(exc)) from exc
        if self._chain.store.load_tx_location(tx.hash) is not None:
            raise AlreadyKnown(f"transaction {tx.hash.hex()} is already committed")
        self._mempool.add(tx)  # verifies the signature once; raises TxRejected
        return tx.hash

    def pending_transaction(self, tx_hash: bytes) -> Transaction | None:
        return self._mempool.get(tx_hash)

    def pending_nonce(self, address: bytes) -> int:
        return self._mempool.pending_nonce(address)

    def mempool_info(self) -> MempoolInfo:
        info = self._mempool.info()
        return MempoolInfo(info.size, info.bytes, info.max_txs, info.max_bytes)

    def status(self) -> NodeStatus:
        power = sum(v.power for v in self._genesis.validators if v.address == self.proposer)
        return NodeStatus(
            moniker=self.moniker,
            mode="single-node",
            catching_up=False,
            peers=0,
            validator_address=self.proposer,
            voting_power=power,
        )

    def validators(self, height: int | None) -> list[ValidatorInfo]:
        tip = self._chain.tip.height
        if height is None or height == tip + 1:
            return read_validator_set(self._chain)
        if not 1 <= height <= tip:
            raise LookupError(f"no block at height {height} (the tip is {tip})")
        # The set that signs block h is the one in the state after block h - 1.
        return read_validator_set(
            self._chain, state_root_at(self._chain, self._genesis, height - 1)
        )

    # -- producing blocks -----------------------------------------------------
    def produce_block(self) -> CommittedBlock | None:
        """Build, commit and publish one block from the mempool (None when the
        mempool is empty and empty blocks are off)."""
        if not len(self._mempool) and not self.empty_blocks:
            return None
        params = self._chain.params()
        candidates = self._mempool.reap(params.max_block_txs, params.max_block_bytes)
        time_ms = int(self._clock() * 1000)
        block, result, skipped = self._chain.build_block(
            candidates, self.proposer, time_ms, verified=self._mempool.verified_hashes()
        )
        self._chain.commit_block(block, result)
        for tx, reason in skipped:
            log.info("skipped transaction %s: %s", tx.hash.hex(), reason)
        for tx, reason in self._mempool.update(block.transactions):
            log.info("dropped transaction %s on recheck: %s", tx.hash.hex(), reason)
        self._events.publish_block(block, result.receipts, rounds=1)
        return self._events.last

    async def run(self) -> None:
        """Produce a block every ``block_interval`` seconds until cancelled."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += self.block_interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            try:
                self.produce_block()
            except Exception:
                # A failing commit (disk full, ...) must be loud, and must stop production.
                log.exception("block production failed; the local node stops producing")
                raise
            if loop.time() > next_at + self.block_interval:
                next_at = loop.time()  # fell behind (slow disk): do not burst to catch up

    def start(self) -> None:
        """Start the block producer on the running loop."""
        assert self._task is None, "already started"
        self._task = asyncio.get_running_loop().create_task(self.run(), name="local-node")

    async def stop(self) -> None:
        """Stop producing blocks (the chain stays open; the caller closes it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
