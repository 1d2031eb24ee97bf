"""The ledger as the consensus engine's application: block values are block bytes.

``LedgerApplication`` answers the engine's two questions (a block's id;
may this block be decided at this height?) from the committed chain, builds
proposals from the mempool, and keeps each block it executed while
validating, so the commit that follows does not execute it again (nor
verify any signature twice: the mempool's verified hashes are passed on,
nor decode a transaction twice: a block's transactions the mempool holds
are taken from it).

A block's id is its header's hash. The header commits to the body (the
transactions' Merkle root and the hash of the last commit), so the id binds
every byte of the block only if the body matches: ``block_hash`` raises
MalformedBlock otherwise (the engine then treats the message as never
received), and ``execute`` raises BodyMismatch before anything is looked up
by the id, so a block with a swapped body is never executed, cached or
stored in the place of the genuine one (block sync goes through ``execute``).

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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final

from consensus.engine.certificate import (
    InvalidCertificate,
    check_certificate_for,
    decode_certificate,
    verify_certificate,
)
from consensus.engine.message_checks import MalformedBlock
from consensus.engine.validators import ValidatorSet
from consensus.node.wire_limits import block_limits
from ledger import codec, crypto
from ledger.chain import Chain
from ledger.exceptions import InvalidBlock
from ledger.transition import BlockResult, verify_signatures
from ledger.types import (
    MAX_BLOCK_SIZE,
    Block,
    DecodeError,
    KnownTransactions,
    Transaction,
    block_txs_root,
    decode_block,
)

log = logging.getLogger("consensus.node.application")

MAX_CACHED_BLOCKS: Final = 16


class BodyMismatch(InvalidBlock):
    """The block's body (transactions, last commit) is not what its header
    commits to: whoever sent it altered a block, so that peer is to blame."""


RememberVerified = Callable[[Sequence[Transaction], Collection[bytes]], None]


def _none_known(tx_hash: bytes) -> Transaction | None:
    return None


def _forget(txs: Sequence[Transaction], verified: Collection[bytes]) -> None:
    return None


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
        known: KnownTransactions = _none_known,
        remember_verified: RememberVerified = _forget,
    ) -> None:
        """``validator_sets(h)`` is the set of height h (known for the tip's
        height and the next); ``verified()`` the hashes of transactions whose
        signatures this node already checked; ``known(hash)`` a transaction
        this node already decoded (the mempool's), used when a block carries
        its bytes instead of decoding them again; ``remember_verified(txs,
        hashes)`` hears of the transactions a validated block carried and
        which of them have valid signatures (the mempool keeps them until
        the next commit, for gossip that brings them later)."""
        self.chain = chain
        self._validator_sets = validator_sets
        self._verified = verified
        self._known = known
        self._remember_verified = remember_verified
        self._decoded: OrderedDict[bytes, Block] = OrderedDict()  # block bytes hash -> Block
        self._executed: dict[bytes, ExecutedBlock] = {}  # block hash -> executed on this tip

    # -- the engine's Application ------------------------------------------
    def block_hash(self, block: bytes) -> bytes:
        """The header hash of a block value. Raises MalformedBlock for bytes
        that do not decode or whose body does not match the header."""
        decoded = self.decode(block)
        if decoded is None:
            raise MalformedBlock("the bytes are not a block")
        try:
            self.check_body(decoded)
        except BodyMismatch as exc:
            raise MalformedBlock(str(exc)) from exc
        return decoded.hash

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
        decoded = decode_block(block, self._known)
        self._decoded[key] = decoded
        if len(self._decoded) > MAX_CACHED_BLOCKS:
            self._decoded.popitem(last=False)
        return decoded

    @staticmethod
    def check_body(block: Block) -> None:
        """Raise BodyMismatch unless the transactions and the last commit are
        those the header commits to (then the header hash binds the block)."""
        if block.header.txs_root != block_txs_root(block.transactions):
            raise BodyMismatch("the transactions do not match the header's transactions root")
        if block.header.last_commit_hash != crypto.sha256(block.last_commit):
            raise BodyMismatch("the last commit does not match the header's last-commit hash")

    def execute(self, block: Block) -> ExecutedBlock:
        """Check and execute ``block`` on the tip (once; the result is kept
        until the next commit). Raises InvalidBlock (BodyMismatch for a body
        that does not match the header, before the kept results are consulted)."""
        executed = self._executed.get(block.hash)
        if executed is not None and executed.block is block:
            return executed
        self.check_body(block)
        if executed is not None:
            return executed  # the same header and a matching body: the same block
        self.check_last_commit(block)
        self.check_proposer(block)
        verified = verify_signatures(block.transactions, self._verified())
        self._remember_verified(block.transactions, verified)
        result = self.chain.execute_block(block, verified)
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
        if skipped:
            tx, reason = skipped[0]
            log.info(
                "height=%d leaving out %d txs for now, first %s: %s",
                block.height,
                len(skipped),
                tx.hash.hex()[:16],
                reason,
            )
        self._executed[block.hash] = ExecutedBlock(block, result)
        raw = block.encode()
        self._decoded[_bytes_key(raw)] = block
        return raw

    def adopt(self, block: Block) -> bytes:
        """The bytes of ``block``, a block assembled from transactions this
        node holds decoded (a rebuilt compact proposal), kept decoded like a
        block it built: checking them later decodes nothing again. Nothing
        about the block is assumed: its body is checked against its header,
        and it is executed, like any other."""
        raw = block.encode()
        self._decoded[_bytes_key(raw)] = block
        if len(self._decoded) > MAX_CACHED_BLOCKS:
            self._decoded.popitem(last=False)
        return raw

    def committed(self) -> None:
        """The tip moved: every kept execution is stale."""
        self._executed.clear()


def _bytes_key(block: bytes) -> bytes:
    """A short stable key for block bytes (the caches hold a few blocks)."""
    return hashlib.sha256(block).digest()
