"""Compact proposals: a proposal sent as its transactions' hashes (BIP 152's
compact blocks, for Tendermint proposals), rebuilt by the receiver from its
mempool, with what it lacks fetched from the peer that sent it.

The engine never sees a compact proposal. A node that sends one (the
``[p2p] compact_proposals`` switch) sends, instead of the ProposalMessage
``[signed proposal, block bytes]``, the signed proposal with the block's
header, the hashes of its transactions in block order and its last commit
(docs/spec/p2p.md, "Compact proposals"). The receiver rebuilds the exact
block bytes from transactions it holds, fetches the rest, and hands the
engine the very ProposalMessage it would have received whole, so every
check of a proposal (signature, proposer, body against header, validity)
applies unchanged (ADR 0019).

**Who sends what.** Any peer (fresh keys for free) may send a compact
proposal, fetch requests, or answers. So a compact proposal must be for
the engine's height or the next, be signed by a validator of that height
(one signature check) and carry the header the signature names (its hash
is the signed block hash); before anything is fetched for it, its hashes'
Merkle root and its last commit must be the ones that header commits to
(with nothing to fetch, the engine checks the rebuilt body as always). A
signature, header or body that does not match proves the sender altered
or forged it (an honest node only compacts a block it checked): it is
punished like a body swap today. Then:

- Transactions found in the mempool (or kept from blocks validated since
  the last commit) are used as they are; the missing ones are asked of the
  sender by index, at most MAX_FETCH_TXS per request. If more than half are
  missing, the whole proposal is asked for instead.
- An answer must hold only indexes asked for, each with the bytes whose
  hash is at that index: anything else proves the peer lied and it is
  punished. An empty answer means "I do not have it".
- A sender that does not answer within FETCH_TIMEOUT_S is asked for the
  whole proposal (it, and up to MAX_SOURCES other peers that sent the same
  compact proposal); if that does not arrive within FETCH_TIMEOUT_S either,
  the rebuild is dropped and the round goes on as if no proposal had
  arrived (the engine's timeouts and the proposer's re-gossip handle it).
- A rebuilt block the engine refuses (BlockMismatch, or any InvalidMessage)
  gets its sender punished; nothing is cached under the block's id before
  the body has been checked against the header (the engine's own rule).

At most MAX_REBUILDS rebuilds run at once (MAX_REBUILDS_PER_PEER started
by one peer), each bounded by the hash count (MAX_COMPACT_TXS) and the
bytes of one frame; another compact proposal for a block being rebuilt only
adds its sender as a source. A compact proposal for the height after the
one being decided cannot be checked before that height's validator set is
known (at the commit): the latest MAX_EARLY are kept until then.

**Serving.** A node keeps the blocks of the proposals it sent or accepted
at its current height (at most MAX_HELD) and serves their transactions by
index, and the whole proposal, to peers that ask: at most MAX_FETCH_TXS per
request and what fits in one frame, and per peer and block at most
SERVE_FACTOR times the block (a whole proposal counts as all of its
transactions). Requests beyond that, or for blocks it does not hold, get
an empty answer. Indexes beyond the block prove a faulty peer.

Everything here runs on the node's event loop and reads no clock: the
node passes the time (``now``) in.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from consensus.engine.messages import MessageError, Proposal, proposal_from_value
from consensus.engine.wire import ProposalMessage, encode_message
from consensus.node.p2p import COMPACT_CHANNEL, CONSENSUS_CHANNEL, PeerMisbehaved
from consensus.node.wire_limits import MAX_COMPACT_TXS, MAX_FETCH_TXS
from ledger import codec, crypto
from ledger.types import (
    MAX_BLOCK_SIZE,
    MAX_TX_SIZE,
    Block,
    BlockHeader,
    DecodeError,
    Transaction,
    decode_transaction,
    header_from_value,
    merkle_root,
    transaction_hash,
)

log = logging.getLogger("consensus.node.compact")

TAG_COMPACT: Final = 1
TAG_GET_TXS: Final = 2
TAG_TXS: Final = 3
TAG_GET_PROPOSAL: Final = 4
HASH_SIZE: Final = 32
MAX_HEADER_SIZE: Final = 1024  # a header is about 250 bytes (64-byte chain id included)
FETCH_TIMEOUT_S: Final = 0.5  # for an answer to a fetch, then for the whole proposal
MAX_REBUILDS: Final = 4  # rebuilds in progress
MAX_REBUILDS_PER_PEER: Final = 2  # of those, started by one peer's compact proposal
MAX_SOURCES: Final = 4  # peers remembered per rebuild, asked for the whole proposal
MAX_HELD: Final = 8  # blocks held to serve (the current height's proposals)
MAX_EARLY: Final = 4  # compact proposals kept for the height after the next commit
SERVE_FACTOR: Final = 2  # per peer and block: at most twice the block's transactions
ANSWER_ROOM: Final = 256  # a Txs frame's bytes beyond the transactions and indexes
PER_ITEM_ROOM: Final = 16  # msgpack headers of one transaction and its index


class CompactMessageError(ValueError):
    """A compact-channel payload that is not well formed."""


@dataclass(frozen=True, slots=True)
class CompactProposal:
    """A signed proposal, its block's header (canonical bytes), the hashes
    of the block's transactions in order, and its last commit."""

    proposal: Proposal
    header: bytes
    tx_hashes: tuple[bytes, ...]
    last_commit: bytes


@dataclass(frozen=True, slots=True)
class GetTxs:
    """Send me the transactions at these indexes of block ``block_hash``."""

    block_hash: bytes
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Txs:
    """The transactions at ``indexes`` of block ``block_hash`` (possibly fewer
    than asked for; none: the sender does not hold the block)."""

    block_hash: bytes
    indexes: tuple[int, ...]
    txs: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class GetProposal:
    """Send me the whole proposal of block ``block_hash`` (on the consensus channel)."""

    block_hash: bytes


CompactMessage = CompactProposal | GetTxs | Txs | GetProposal


def encode_compact_message(message: CompactMessage) -> tuple[Any, ...]:
    """The compact channel's payload for ``message``."""
    if isinstance(message, CompactProposal):
        return (
            TAG_COMPACT,
            *message.proposal.to_value(),
            message.header,
            message.tx_hashes,
            message.last_commit,
        )
    if isinstance(message, GetTxs):
        return (TAG_GET_TXS, message.block_hash, message.indexes)
    if isinstance(message, Txs):
        return (TAG_TXS, message.block_hash, message.indexes, message.txs)
    return (TAG_GET_PROPOSAL, message.block_hash)


def decode_compact_message(payload: object) -> CompactMessage:
    """Strictly decode a compact-channel payload. Raises CompactMessageError."""
    _ensure(type(payload) is tuple and len(payload) >= 2, "a compact message is [tag, ...]")
    assert isinstance(payload, tuple)
    tag = payload[0]
    if tag == TAG_COMPACT and type(tag) is int:
        _ensure(len(payload) == 10, "a compact proposal has 10 elements")
        try:
            proposal = proposal_from_value(payload[1:7])
        except MessageError as exc:
            raise CompactMessageError(f"compact proposal: {exc}") from exc
        header, hashes, last_commit = payload[7:]
        _ensure(type(header) is bytes and len(header) <= MAX_HEADER_SIZE, "the header is bytes")
        _ensure(
            type(hashes) is tuple and len(hashes) <= MAX_COMPACT_TXS,
            f"the hashes are an array of at most {MAX_COMPACT_TXS}",
        )
        _ensure(
            all(type(h) is bytes and len(h) == HASH_SIZE for h in hashes),
            "a transaction hash is 32 bytes",
        )
        _ensure(
            type(last_commit) is bytes and len(last_commit) <= MAX_BLOCK_SIZE,
            "the last commit is bytes",
        )
        return CompactProposal(proposal, header, hashes, last_commit)
    block_hash = payload[1]
    _ensure(type(block_hash) is bytes and len(block_hash) == HASH_SIZE, "a block hash is 32 bytes")
    assert isinstance(block_hash, bytes)
    if tag == TAG_GET_TXS and type(tag) is int:
        _ensure(len(payload) == 3, "a fetch request has 3 elements")
        indexes = _indexes(payload[2])
        _ensure(len(indexes) >= 1, "a fetch request asks for at least one transaction")
        return GetTxs(block_hash, indexes)
    if tag == TAG_TXS and type(tag) is int:
        _ensure(len(payload) == 4, "a fetch answer has 4 elements")
        indexes, txs = _indexes(payload[2]), payload[3]
        _ensure(
            type(txs) is tuple and len(txs) == len(indexes),
            "a fetch answer has one transaction per index",
        )
        _ensure(
            all(type(tx) is bytes and len(tx) <= MAX_TX_SIZE for tx in txs),
            f"a transaction is bytes of at most {MAX_TX_SIZE}",
        )
        return Txs(block_hash, indexes, txs)
    if tag == TAG_GET_PROPOSAL and type(tag) is int:
        _ensure(len(payload) == 2, "a proposal request has 2 elements")
        return GetProposal(block_hash)
    raise CompactMessageError(f"unknown compact message tag {tag!r}")


def _indexes(value: object) -> tuple[int, ...]:
    """At most MAX_FETCH_TXS indexes below MAX_COMPACT_TXS, strictly ascending."""
    _ensure(
        type(value) is tuple and len(value) <= MAX_FETCH_TXS,
        f"indexes are an array of at most {MAX_FETCH_TXS}",
    )
    assert isinstance(value, tuple)
    previous = -1
    for index in value:
        _ensure(
            type(index) is int and previous < index < MAX_COMPACT_TXS,
            "indexes are ascending, distinct, below the hash limit",
        )
        previous = index
    return value


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise CompactMessageError(message)


def compact_form(message: ProposalMessage, block: Block) -> CompactProposal | None:
    """The compact form of a proposal of ``block``, or None if the block has
    more transactions than a compact proposal may list (send it whole)."""
    if len(block.transactions) > MAX_COMPACT_TXS:
        return None
    hashes = tuple(tx.hash for tx in block.transactions)
    return CompactProposal(message.proposal, block.header.encode(), hashes, block.last_commit)


@dataclass
class ProposalTraffic:
    """What this node sent and fetched for proposals (logged at stop, for the
    benchmark). Bytes are payload bytes times the peers they were queued for."""

    proposals_full: int = 0
    proposals_compact: int = 0
    proposal_bytes: int = 0  # proposals broadcast (own and relayed, re-gossip included)
    served_txs: int = 0
    served_bytes: int = 0  # fetch answers and whole proposals sent on request
    fetch_requests: int = 0
    fetched_txs: int = 0
    proposal_requests: int = 0
    rebuilt: int = 0  # compact proposals handed to the engine whole
    whole_received: int = 0  # rebuilds ended by the whole proposal (asked for, or re-sent)
    dropped: int = 0  # rebuilds that timed out

    def summary(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class _Held:
    """A block this node can serve: the latest proposal of it and its bytes."""

    message: ProposalMessage
    block: Block


@dataclass
class _Rebuild:
    """A compact proposal being completed."""

    compact: CompactProposal
    header: BlockHeader
    txs: list[Transaction | bytes | None]
    missing: dict[bytes, list[int]]  # hash -> its positions, for the hashes still missing
    sources: list[bytes]  # peers that sent it; the first is asked for transactions
    deadline: float
    size: int = 0  # bytes of the transactions at hand
    fetched: int = 0  # transactions fetched
    asked: set[int] = field(default_factory=set)  # indexes asked for and not yet answered
    whole_asked: bool = False

    @property
    def block_hash(self) -> bytes:
        return self.compact.proposal.block_hash


Send = Callable[[bytes, int, codec.Value], bool]
"""``send(peer, channel, payload)``: queue a frame for one peer (p2p.send)."""

Timing = Literal["now", "later", "never"]
"""Of a proposal's height: rebuild it now; keep it until the next commit
(the height after the one being decided, whose validator set the node
learns at that commit); or ignore it."""

Deliver = Callable[[bytes, ProposalMessage], None]
"""``deliver(peer, message)``: hand a whole proposal to the engine as if
``peer`` had sent it; raises PeerMisbehaved if the engine refuses it."""


class CompactProposals:
    """Sends, rebuilds and serves compact proposals (see the module docstring)."""

    def __init__(
        self,
        chain_id: str,
        send: Send,
        deliver: Deliver,
        known: Callable[[bytes], Transaction | None],
        proposer_key: Callable[[int, bytes], bytes | None],
        timing: Callable[[int], Timing],
        punish: Callable[[bytes, str], None],
        max_frame_bytes: int,
        encode_block: Callable[[Block], bytes] = Block.encode,
    ) -> None:
        """``known(hash)``: a transaction this node holds; ``proposer_key(h,
        address)``: the public key of a validator of height h (None: not
        one); ``timing(h)``: when to rebuild a proposal of height h (see
        Timing); ``punish(peer, reason)``: for a fault found outside the
        peer's own message handler (a compact proposal kept for later);
        ``encode_block(block)``: its bytes (the node's application keeps the
        decoded block with them)."""
        self._chain_id = chain_id
        self._send = send
        self._deliver = deliver
        self._known = known
        self._proposer_key = proposer_key
        self._timing = timing
        self._punish = punish
        self._max_frame_bytes = max_frame_bytes
        self._encode_block = encode_block
        self._held: OrderedDict[bytes, _Held] = OrderedDict()
        self._served: dict[tuple[bytes, bytes], int] = {}  # (peer, block hash) -> units
        self._rebuilds: dict[bytes, _Rebuild] = {}  # block hash -> rebuild
        self._early: list[tuple[bytes, CompactProposal]] = []  # (sender, compact), oldest first
        self.traffic = ProposalTraffic()

    # -- holding and sending --------------------------------------------------
    def hold(self, message: ProposalMessage, block: Block) -> None:
        """Keep ``block`` (checked: its body matches its header, and it is the
        one ``message`` signs) to serve to peers; ends a rebuild of it."""
        block_hash = message.proposal.block_hash
        assert block.hash == block_hash
        self._held[block_hash] = _Held(message, block)
        self._held.move_to_end(block_hash)
        while len(self._held) > MAX_HELD:
            self._forget_held(next(iter(self._held)))
        if self._rebuilds.pop(block_hash, None) is not None:
            self.traffic.whole_received += 1
            log.info(
                "height=%d round=%d got the whole proposal %s",
                message.proposal.height,
                message.proposal.round,
                block_hash.hex()[:16],
            )

    def holds(self, block_hash: bytes) -> bool:
        return block_hash in self._held

    def committed(self, height: int) -> None:
        """Block ``height`` is committed: forget the blocks and rebuilds of it and below."""
        for block_hash in [h for h, held in self._held.items() if held.block.height <= height]:
            self._forget_held(block_hash)
        for block_hash in [
            h for h, r in self._rebuilds.items() if r.compact.proposal.height <= height
        ]:
            del self._rebuilds[block_hash]

    def replay_early(self, now: float) -> None:
        """After a commit: rebuild the compact proposals kept for the height
        that just became the next one (its validator set is known now)."""
        early, self._early = self._early, []
        for peer, compact in early:
            try:
                self._on_compact(peer, compact, now)
            except PeerMisbehaved as exc:
                self._punish(peer, str(exc))

    def forget_peer(self, peer: bytes) -> None:
        for key in [key for key in self._served if key[0] == peer]:
            del self._served[key]

    def _forget_held(self, block_hash: bytes) -> None:
        del self._held[block_hash]
        for key in [key for key in self._served if key[1] == block_hash]:
            del self._served[key]

    # -- receiving --------------------------------------------------------------
    def on_message(self, peer: bytes, payload: object, now: float) -> None:
        """A compact-channel payload from ``peer``. Raises PeerMisbehaved."""
        try:
            message = decode_compact_message(payload)
        except CompactMessageError as exc:
            raise PeerMisbehaved(f"malformed compact message: {exc}") from exc
        if isinstance(message, CompactProposal):
            self._on_compact(peer, message, now)
        elif isinstance(message, GetTxs):
            self._serve_txs(peer, message)
        elif isinstance(message, Txs):
            self._on_txs(peer, message, now)
        else:
            self._serve_proposal(peer, message)

    def _on_compact(self, peer: bytes, compact: CompactProposal, now: float) -> None:
        proposal = compact.proposal
        timing = self._timing(proposal.height)
        if timing == "later":
            self._early.append((peer, compact))
            del self._early[:-MAX_EARLY]
        if timing != "now":
            return
        block_hash = proposal.block_hash
        held = self._held.get(block_hash)
        if held is not None:  # our own block, or one rebuilt already: no work
            self._deliver(peer, ProposalMessage(proposal, _block_bytes(held)))
            return
        rebuild = self._rebuilds.get(block_hash)
        if rebuild is not None:
            if peer not in rebuild.sources and len(rebuild.sources) < MAX_SOURCES:
                rebuild.sources.append(peer)
            return
        header = self._check_signed_header(compact)
        if len(self._rebuilds) >= MAX_REBUILDS or (
            sum(r.sources[0] == peer for r in self._rebuilds.values()) >= MAX_REBUILDS_PER_PEER
        ):
            log.debug("height=%d too many rebuilds in progress: dropping one", proposal.height)
            return
        rebuild = self._start(peer, compact, header, now)
        if not rebuild.missing:
            # The engine checks the body against the header (and blames the
            # sender); checking the hashes here too would only double the work.
            self._finish(rebuild)
            return
        self._check_body_hashes(compact, header)  # before anything is fetched for it
        if 2 * sum(len(p) for p in rebuild.missing.values()) > len(compact.tx_hashes):
            self._rebuilds[block_hash] = rebuild
            self._ask_whole(rebuild, now)
        else:
            self._rebuilds[block_hash] = rebuild
            self._ask_txs(rebuild)

    def _check_signed_header(self, compact: CompactProposal) -> BlockHeader:
        """The header, after the checks that bind it to a validator's
        signature. Raises PeerMisbehaved."""
        proposal = compact.proposal
        key = self._proposer_key(proposal.height, proposal.proposer)
        if key is None:
            raise PeerMisbehaved("a compact proposal from no validator of its height")
        digest = proposal.signing_digest(self._chain_id)
        if not crypto.verify_digest(key, digest, proposal.signature):
            raise PeerMisbehaved("a compact proposal with an invalid signature")
        try:
            header = header_from_value(codec.decode(compact.header, max_size=MAX_HEADER_SIZE))
        except (codec.CodecError, DecodeError) as exc:
            raise PeerMisbehaved(f"a compact proposal's header does not decode: {exc}") from exc
        if header.hash != proposal.block_hash or header.height != proposal.height:
            raise PeerMisbehaved("a compact proposal's header is not the one signed")
        return header

    @staticmethod
    def _check_body_hashes(compact: CompactProposal, header: BlockHeader) -> None:
        """The hashes and the last commit are what the header commits to.
        Raises PeerMisbehaved."""
        if merkle_root(list(compact.tx_hashes)) != header.txs_root:
            raise PeerMisbehaved("a compact proposal's hashes do not match the header")
        if crypto.sha256(compact.last_commit) != header.last_commit_hash:
            raise PeerMisbehaved("a compact proposal's last commit does not match the header")

    def _start(
        self, peer: bytes, compact: CompactProposal, header: BlockHeader, now: float
    ) -> _Rebuild:
        txs: list[Transaction | bytes | None] = []
        missing: dict[bytes, list[int]] = {}
        size = 0
        for index, tx_hash in enumerate(compact.tx_hashes):
            tx = self._known(tx_hash)
            txs.append(tx)
            if tx is None:
                missing.setdefault(tx_hash, []).append(index)
            else:
                size += len(tx.encode())
        return _Rebuild(compact, header, txs, missing, [peer], now + FETCH_TIMEOUT_S, size)

    def _ask_txs(self, rebuild: _Rebuild) -> None:
        """Ask the first source for up to MAX_FETCH_TXS missing transactions."""
        indexes = tuple(sorted(positions[0] for positions in rebuild.missing.values()))
        indexes = indexes[:MAX_FETCH_TXS]
        rebuild.asked = set(indexes)
        self.traffic.fetch_requests += 1
        request = GetTxs(rebuild.block_hash, indexes)
        self._send(rebuild.sources[0], COMPACT_CHANNEL, encode_compact_message(request))

    def _ask_whole(self, rebuild: _Rebuild, now: float) -> None:
        rebuild.whole_asked = True
        rebuild.asked = set()
        rebuild.deadline = now + FETCH_TIMEOUT_S
        request = encode_compact_message(GetProposal(rebuild.block_hash))
        for source in rebuild.sources:
            self.traffic.proposal_requests += 1
            self._send(source, COMPACT_CHANNEL, request)

    def _on_txs(self, peer: bytes, answer: Txs, now: float) -> None:
        rebuild = self._rebuilds.get(answer.block_hash)
        if rebuild is None or rebuild.sources[0] != peer or not rebuild.asked:
            return  # late, or not asked of this peer: nothing to check it against
        hashes = rebuild.compact.tx_hashes
        for index, raw in zip(answer.indexes, answer.txs, strict=True):
            if index not in rebuild.asked:
                raise PeerMisbehaved("served a transaction that was not asked for")
            tx_hash = transaction_hash(raw)
            if tx_hash != hashes[index]:
                raise PeerMisbehaved("served a transaction that is not the one asked for")
            tx: Transaction | bytes
            try:
                tx = decode_transaction(raw, tx_hash)
            except DecodeError:
                tx = raw  # the engine will find the block malformed, and blame the sender
            positions = rebuild.missing.pop(tx_hash, [])
            for position in positions:
                rebuild.txs[position] = tx
            rebuild.size += len(raw) * len(positions)
            rebuild.fetched += 1
        self.traffic.fetched_txs += len(answer.txs)
        rebuild.asked = set()
        if rebuild.size > self._max_frame_bytes:
            # No honest node holds a block that could not travel whole in a frame.
            del self._rebuilds[rebuild.block_hash]
            self.traffic.dropped += 1
            log.info("compact proposal %s larger than a frame: dropped", answer.block_hash.hex())
            return
        if not rebuild.missing:
            del self._rebuilds[rebuild.block_hash]
            self._finish(rebuild)
        elif not answer.txs:  # "I do not have it"
            self._ask_whole(rebuild, now)
        else:  # a partial answer (its frame was full): ask for the rest
            rebuild.deadline = now + FETCH_TIMEOUT_S
            self._ask_txs(rebuild)

    def _finish(self, rebuild: _Rebuild) -> None:
        """Hand the rebuilt proposal to the engine (as its first source sent it)."""
        compact = rebuild.compact
        txs = rebuild.txs
        block = None
        if all(isinstance(tx, Transaction) for tx in txs):
            decoded = tuple(tx for tx in txs if isinstance(tx, Transaction))
            block = Block(rebuild.header, decoded, compact.last_commit)
            raw = self._encode_block(block)
        else:  # a transaction that does not decode: the engine finds the block malformed
            parts = tuple(tx.encode() if isinstance(tx, Transaction) else tx for tx in txs)
            assert all(type(part) is bytes for part in parts)
            raw = codec.encode((rebuild.header.to_value(), parts, compact.last_commit))
        self.traffic.rebuilt += 1
        log.log(
            logging.INFO if rebuild.fetched else logging.DEBUG,
            "height=%d round=%d rebuilt compact proposal %s of %d txs (%d fetched)",
            compact.proposal.height,
            compact.proposal.round,
            rebuild.block_hash.hex()[:16],
            len(txs),
            rebuild.fetched,
        )
        message = ProposalMessage(compact.proposal, raw)
        self._deliver(rebuild.sources[0], message)
        if block is not None and self._timing(block.height) == "now":
            self.hold(message, block)  # its hashes matched the signed header: serve it

    def expire(self, now: float) -> None:
        """Past a rebuild's deadline: ask for the whole proposal, or (already
        asked) drop the rebuild."""
        for rebuild in [r for r in self._rebuilds.values() if r.deadline <= now]:
            if rebuild.whole_asked:
                del self._rebuilds[rebuild.block_hash]
                self.traffic.dropped += 1
                log.info(
                    "height=%d round=%d could not complete compact proposal %s: dropped",
                    rebuild.compact.proposal.height,
                    rebuild.compact.proposal.round,
                    rebuild.block_hash.hex()[:16],
                )
            else:
                self._ask_whole(rebuild, now)

    def rebuilding(self, block_hash: bytes) -> bool:
        return block_hash in self._rebuilds

    # -- serving ----------------------------------------------------------------
    def _serve_txs(self, peer: bytes, request: GetTxs) -> None:
        held = self._held.get(request.block_hash)
        txs: list[bytes] = []
        indexes: list[int] = []
        if held is not None:
            transactions = held.block.transactions
            if request.indexes[-1] >= len(transactions):
                raise PeerMisbehaved("asked for a transaction beyond the block")
            room = self._max_frame_bytes - ANSWER_ROOM
            for index in request.indexes[: max(0, self._budget(peer, held))]:
                raw = transactions[index].encode()
                room -= len(raw) + PER_ITEM_ROOM
                if room < 0:
                    break
                txs.append(raw)
                indexes.append(index)
            self._charge(peer, held, len(txs))
        answer = encode_compact_message(Txs(request.block_hash, tuple(indexes), tuple(txs)))
        if self._send(peer, COMPACT_CHANNEL, answer):
            self.traffic.served_txs += len(txs)
            self.traffic.served_bytes += sum(len(raw) + PER_ITEM_ROOM for raw in txs)

    def _serve_proposal(self, peer: bytes, request: GetProposal) -> None:
        held = self._held.get(request.block_hash)
        if held is None:
            return
        cost = len(held.block.transactions) + 1
        if self._budget(peer, held) < cost:
            return
        self._charge(peer, held, cost)
        payload = encode_message(held.message)
        if self._send(peer, CONSENSUS_CHANNEL, payload):
            self.traffic.served_bytes += len(payload)

    def _budget(self, peer: bytes, held: _Held) -> int:
        """Units (transactions) ``peer`` may still be served of ``held``."""
        limit = SERVE_FACTOR * (len(held.block.transactions) + 1)
        return limit - self._served.get((peer, held.block.hash), 0)

    def _charge(self, peer: bytes, held: _Held, units: int) -> None:
        key = (peer, held.block.hash)
        self._served[key] = self._served.get(key, 0) + units


def _block_bytes(held: _Held) -> bytes:
    return held.message.block
