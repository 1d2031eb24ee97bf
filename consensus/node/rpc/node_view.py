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
from functools import lru_cache
from typing import Protocol

from ledger import codec
from ledger.address import address_of
from ledger.chain import Chain
from ledger.genesis import Genesis, genesis_state
from ledger.state import VALIDATORS_KEY, tree_key
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

    async def submit_transaction(self, raw: bytes) -> bytes:
        """Check ``raw`` (decode strictly, CheckTx against the latest state and
        the sender's pending transactions) and add it to the mempool (and
        gossip it). Returns the transaction hash. Raises a
        ledger.exceptions.TxRejected subclass: MalformedTransaction for
        bytes that do not decode, WrongChainId, BadSignature, BadNonce,
        FeeTooLow, CannotPayFee, MempoolFull, AlreadyKnown."""
        ...

    def pending_transaction(self, tx_hash: bytes) -> Transaction | None:
        """The transaction with this hash if it waits in the mempool."""
        ...

    def pending_nonce(self, address: bytes) -> int:
        """The next nonce for ``address`` counting its pending transactions
        (the committed nonce if it has none)."""
        ...

    def mempool_info(self) -> MempoolInfo: ...

    def status(self) -> NodeStatus: ...

    def validators(self, height: int | None) -> list[ValidatorInfo]:
        """The validator set that signs block ``height`` (None: the next block).
        Raises LookupError for a height the node does not know."""
        ...


def read_validator_set(chain: Chain, state_root: bytes | None = None) -> list[ValidatorInfo]:
    """The validator set record (state key ``v``) at ``state_root`` (default:
    the latest state), sorted by address. Raises LookupError if it is absent."""
    if state_root is None:
        raw = chain.store.get_state(VALIDATORS_KEY)
    else:
        raw = StateTree(chain.store, state_root, cache_size=0).get(tree_key(VALIDATORS_KEY))
    if raw is None:
        raise LookupError("no validator set in this state")
    return [
        ValidatorInfo(address_of(public_key), public_key, power, name)
        for public_key, power, name in codec.decode(raw)
    ]


class TreeStateReader:
    """A StateReader over the state tree at one root: the state after an
    older block (the store's flat copy holds only the latest state). Reads
    raise StateTreeError when the tree's nodes are not there."""

    def __init__(self, chain: Chain, state_root: bytes) -> None:
        self._tree = StateTree(chain.store, state_root, cache_size=0)

    def get_state(self, key: bytes) -> bytes | None:
        return self._tree.get(tree_key(key))


@lru_cache(maxsize=8)
def genesis_state_root(genesis: Genesis) -> bytes:
    """The state root before block 1 (computed from the genesis document)."""
    return genesis_state(genesis)[1].state_root


def state_root_at(chain: Chain, genesis: Genesis, height: int) -> bytes:
    """The state root after block ``height`` (0: the genesis state).
    Raises LookupError for a height above the tip."""
    tip = chain.tip
    if height == tip.height:
        return tip.state_root
    if height == 0:
        return genesis_state_root(genesis)
    block = chain.store.load_block(height) if height < tip.height else None
    if block is None:
        raise LookupError(f"no block at height {height} (the tip is {tip.height})")
    return block.header.state_root
