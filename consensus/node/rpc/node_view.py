"""What the RPC layer needs from a node: the ``NodeView`` protocol.

The consensus node and the single-node ``LocalNode`` both implement it.
Queries of committed data go straight to ``chain`` (a ledger.chain.Chain);
everything about the mempool, the network and consensus goes through the
methods below. All methods are called on the event loop's thread, between
awaits, so they see a consistent chain as long as the node commits on that
thread too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ledger.chain import Chain
from ledger.genesis import Genesis
from ledger.state import StateReader, tree_key
from ledger.state_tree import StateTree
from ledger.types import Transaction

from .events import EventHub


@dataclass(frozen=True, slots=True)
class ValidatorInfo:
    """One member of the validator set."""

    address: bytes
    public_key: bytes
    power: int
    name: str


@dataclass(frozen=True, slots=True)
class MempoolInfo:
    """How full the mempool is."""

    size: int  # transactions waiting
    bytes: int  # their total encoded size
    max_size: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Submission:
    """What became of a transaction a client sent: its hash, whether it
    waits for an earlier nonce of its sender (queued) or may go into the
    next block, and whether this node is behind the network (then its checks
    ran against an old state, and the transaction moves once the node has
    caught up), with the node's height."""

    tx_hash: bytes
    queued: bool
    catching_up: bool
    height: int


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What a node says about itself (``ledger_status``, GET /status)."""

    moniker: str  # a human name for the node
    mode: str  # "single-node" (LocalNode, no consensus) or "validator" / "full"
    catching_up: bool  # True while block sync is behind the network
    peers: int  # connected peers
    validator_address: bytes | None  # this node's validator address, if it is one
    voting_power: int  # 0 unless a validator


class NodeView(Protocol):
    """The node as the RPC server sees it."""

    @property
    def chain(self) -> Chain:
        """The committed chain (tip, store lookups, proofs)."""
        ...

    @property
    def genesis(self) -> Genesis:
        """The chain's genesis (chain id, the state root at height 0)."""
        ...

    @property
    def events(self) -> EventHub:
        """Where the node publishes every commit (EventHub.publish_block)."""
        ...

    async def submit_transaction(self, raw: bytes) -> Submission:
        """Check ``raw`` (decode strictly, CheckTx against the latest state and
        the sender's pending transactions) and add it to the mempool (and
        gossip it). Raises a ledger.exceptions.TxRejected subclass:
        MalformedTransaction for bytes that do not decode, WrongChainId,
        BadSignature, BadNonce, FeeTooLow, CannotPayFee, CannotPay,
        OverGasLimit, MempoolFull, AlreadyKnown."""
        ...

    def pending_transaction(self, tx_hash: bytes) -> Transaction | None:
        """The transaction with this hash if it waits in the mempool."""
        ...

    def pending_nonce(self, address: bytes) -> int:
        """The next nonce for ``address`` counting its pending transactions
        (the committed nonce if it has none)."""
        ...

    def pending_state(self) -> StateReader:
        """The latest committed state with every pending transaction applied in
        arrival order (what CheckTx checks a new transaction against)."""
        ...

    def mempool_info(self) -> MempoolInfo: ...

    def status(self) -> NodeStatus: ...

    def validators(self, height: int | None) -> list[ValidatorInfo]:
        """The validator set that signs block ``height`` (None: the next block).
        Raises LookupError for a height the node does not know."""
        ...


class TreeStateReader:
    """A StateReader over the state tree at one root: the state after an
    older block (the store's flat copy holds only the latest state). Reads
    raise StateTreeError when the tree's nodes are not there."""

    def __init__(self, chain: Chain, state_root: bytes) -> None:
        self._tree = StateTree(chain.store, state_root, cache_size=0)

    def get_state(self, key: bytes) -> bytes | None:
        return self._tree.get(tree_key(key))


def state_root_at(chain: Chain, height: int) -> bytes:
    """The state root after block ``height`` (0: the genesis state).
    Raises LookupError for a height above the tip, and its subclass
    HeightPruned for a state this node pruned."""
    return chain.state_root_at(height)
