"""The ledger as the consensus engine's application: block values are block bytes.

``LedgerApplication`` answers the engine's two questions (a block's hash;
may this block be decided at this height?) from the committed chain, builds
proposals from the mempool, and keeps each block it executed while
validating, so the commit that follows does not execute it again (nor
verify any signature twice: the mempool's verified hashes are passed on).

A block is valid at height h when it decodes strictly, is at the tip's
height + 1 on the tip's hash, carries in ``last_commit`` a certificate that
proves block h-1 under the validator set of h-1 (nothing at h = 1), names a
proposer from the set of h, and executes to exactly the state root and
receipts root its header claims. Every rule is a pure function of the block
and the committed chain, so every honest node gives the same answer.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final

from consensus.engine.certificate import (
    InvalidCertificate,
    check_certificate_for,
    decode_certificate,
    verify_certificate,
)
from consensus.engine.validators import ValidatorSet
from consensus.node.wire_limits import block_limits
from ledger import codec
from ledger.chain import Chain
from ledger.exceptions import InvalidBlock
from ledger.transition import BlockResult
from ledger.types import MAX_BLOCK_SIZE, Block, DecodeError, Transaction, decode_block

log = logging.getLogger("consensus.application")

MAX_CACHED_BLOCKS: Final = 16


@dataclass(frozen=True, slots=True)
class ExecutedBlock:
    """A block decoded and executed on the current tip."""

    block: Block
    result: BlockResult


class LedgerApplication:
    """Implements consensus.engine.engine.Application over a Chain."""

    def __init__(
        self,
        chain: Chain,
        validator_sets: Callable[[int], ValidatorSet],
        verified: Callable[[], Collection[bytes]] = frozenset,
    ) -> None:
        """``validator_sets(h)`` is the set of height h (known for the tip's
        height and the next); ``verified()`` the hashes of transactions whose
        signatures this node already checked."""
        self.chain = chain
        self._validator_sets = validator_sets
        self._verified = verified
        self._decoded: OrderedDict[bytes, Block] = OrderedDict()  # block bytes hash -> Block
        self._executed: dict[bytes, ExecutedBlock] = {}  # block hash -> executed on this tip

    # -- the engine's Application ------------------------------------------
    def block_hash(self, block: bytes) -> bytes:
        """The header hash of a block value; 32 zero bytes for bytes that do
        not decode (such a block is never valid, so its id only has to be stable)."""
        decoded = self.decode(block)
        return decoded.hash if decoded is not None else bytes(32)

    def validate_block(self, height: int, block: bytes) -> bool:
        """valid(v): see the module docstring."""
        decoded = self.decode(block)
        if decoded is None or decoded.height != height:
            return False
        try:
            self.execute(decoded)
        except InvalidBlock as reason:
            log.warning("height=%d rejecting block %s: %s", height, decoded.hash.hex()[:16], reason)
            return False
        return True

    # -- blocks ----------------------------------------------------------------
    def decode(self, block: bytes) -> Block | None:
        """The decoded block (cached by the hash of its bytes), or None."""
        try:
            return self.decode_checked(block)
        except DecodeError:
            return None

    def decode_checked(self, block: bytes) -> Block:
        """The decoded block (cached by the hash of its bytes); its shape is
        bounded by the chain's block limits before it is unpacked
        (consensus.node.wire_limits). Raises DecodeError."""
        key = _bytes_key(block)
        cached = self._decoded.get(key)
        if cached is not None:
            return cached
        params = self.chain.params()
        try:
            codec.check_limits(block, block_limits(params.max_block_txs, MAX_BLOCK_SIZE))
        except codec.CodecError as exc:
            raise DecodeError(f"block encoding: {exc}") from exc
        decoded = decode_block(block)
        self._decoded[key] = decoded
        if len(self._decoded) > MAX_CACHED_BLOCKS:
            self._decoded.popitem(last=False)
        return decoded

    def execute(self, block: Block) -> ExecutedBlock:
        """Check and execute ``block`` on the tip (once; the result is kept
        until the next commit). Raises InvalidBlock."""
        executed = self._executed.get(block.hash)
        if executed is not None:
            return executed
        self.check_last_commit(block)
        self.check_proposer(block)
        result = self.chain.execute_block(block, self._verified())
        executed = ExecutedBlock(block, result)
        self._executed[block.hash] = executed
        return executed

    def check_last_commit(self, block: Block) -> None:
        """Block h carries a valid certificate for block h-1. Raises InvalidBlock."""
        tip = self.chain.tip
        if block.height == 1 or tip.height == 0:
            if block.last_commit:
                raise InvalidBlock("the first block carries no certificate")
            return
        try:
            certificate = decode_certificate(block.last_commit)
            check_certificate_for(certificate, tip.height, tip.block_hash)
            verify_certificate(certificate, self._validator_sets(tip.height), self.chain.chain_id)
        except InvalidCertificate as exc:
            raise InvalidBlock(f"last commit: {exc}") from exc

    def check_proposer(self, block: Block) -> None:
        """The fee recipient must be a validator of the block's height."""
        if self._validator_sets(block.height).get(block.header.proposer) is None:
            raise InvalidBlock("the proposer is not in the validator set")

    def build(
        self,
        candidates: list[Transaction],
        proposer: bytes,
        time_ms: int,
        last_commit: bytes,
    ) -> bytes:
        """A new block on the tip from mempool candidates, already executed."""
        block, result, skipped = self.chain.build_block(
            candidates, proposer, time_ms, last_commit, self._verified()
        )
        for tx, reason in skipped:
            log.info("height=%d leaving out tx %s: %s", block.height, tx.hash.hex()[:16], reason)
        self._executed[block.hash] = ExecutedBlock(block, result)
        raw = block.encode()
        self._decoded[_bytes_key(raw)] = block
        return raw

    def committed(self) -> None:
        """The tip moved: every kept execution is stale."""
        self._executed.clear()


def _bytes_key(block: bytes) -> bytes:
    """A short stable key for block bytes (the caches hold a few blocks)."""
    return hashlib.sha256(block).digest()
