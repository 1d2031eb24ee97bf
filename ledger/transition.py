"""The state transition: pure functions from (state, block) to (receipts, state root).

``apply_block`` is the whole rule book, as a list of named steps. A block
that breaks any rule raises ``InvalidBlock`` and nothing is kept. Inside a
valid block, every transaction has passed ``check_transaction`` (chain id,
signature, nonce, fee); its body may still fail (e.g. insufficient funds):
then it is included with a failure receipt, its nonce is consumed and its
fee charged, and every other effect is reverted. Fees go to the block's
proposer, so the supply of every asset is conserved.

The body kinds and the end-of-block steps are the features' (ledger/features/):
this module runs them through the registry (ledger.registry.RULES) and knows
none of them.

No I/O: committed state arrives through the State's reader and the tree's
node reader; the results (changes and tree nodes) go back to the caller to
store in one atomic batch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final

from ledger import crypto
from ledger.context import BlockContext
from ledger.exceptions import (
    BadNonce,
    BadSignature,
    BalanceOverflowFailure,
    CannotPayFee,
    ExecutionFailure,
    FeeTooLow,
    InsufficientFunds,
    InvalidBlock,
    TxRejected,
    WrongChainId,
)
from ledger.params import Params, decode_params
from ledger.registry import RULES
from ledger.state import (
    PARAMS_KEY,
    Account,
    BalanceOverflow,
    InsufficientBalance,
    State,
    tree_key,
)
from ledger.state_tree import StateTree
from ledger.types import (
    NATIVE_ASSET,
    Block,
    BlockHeader,
    Event,
    Receipt,
    Transaction,
    block_receipts_root,
    block_txs_root,
)

STATUS_OK: Final = 0


@dataclass(frozen=True, slots=True)
class ChainTip:
    """What the next block builds on: the last block's height, hash, time and state root.
    At genesis: height 0, the genesis hash, the genesis time and the genesis state root."""

    height: int
    block_hash: bytes
    time_ms: int
    state_root: bytes


@dataclass(frozen=True, slots=True)
class BlockResult:
    """The outcome of executing a block: what to store and what to check."""

    receipts: tuple[Receipt, ...]
    state_root: bytes
    receipts_root: bytes
    changes: dict[bytes, bytes | None]
    tree_nodes: dict[bytes, bytes]
    block_events: tuple[Event, ...] = ()




def read_params(state: State) -> Params:
    """The chain parameters stored at genesis."""
    raw = state.get_raw(PARAMS_KEY)
    assert raw is not None, "state has no parameters: genesis was not applied"
    return decode_params(raw)


def check_transaction(
    state: State, tx: Transaction, chain_id: str, params: Params, signature_checked: bool = False
) -> Account:
    """May ``tx`` enter a block on top of ``state``? Raises a TxRejected subclass if not.
    Returns the sender's account as read (for ``charge_nonce_and_fee``).

    ``signature_checked`` skips the signature check when the caller has
    already verified this exact transaction (the mempool's cache).
    """
    if tx.chain_id != chain_id:
        raise WrongChainId(f"transaction is for chain {tx.chain_id!r}, this is {chain_id!r}")
    if not signature_checked and not tx.signature_valid():
        raise BadSignature("signature does not verify against the sender's key")
    account = state.get_account(tx.sender_address)
    if tx.nonce != account.nonce:
        raise BadNonce(f"nonce {tx.nonce} but the account's next nonce is {account.nonce}")
    if tx.fee < params.min_fee:
        raise FeeTooLow(f"fee {tx.fee} is below the minimum {params.min_fee}")
    if account.balance(NATIVE_ASSET) < tx.fee:
        raise CannotPayFee(f"balance of {NATIVE_ASSET} cannot pay the fee {tx.fee}")
    if tx.body.KIND not in RULES.executors:
        raise TxRejected(f"transaction kind {tx.body.KIND} is not executable")
    return account


def charge_nonce_and_fee(state: State, tx: Transaction, account: Account | None = None) -> None:
    """Consume the sender's nonce and fee (kept even if the body fails).
    ``account`` is the sender's account in ``state`` if the caller has just read it."""
    sender = tx.sender_address
    if account is None:
        account = state.get_account(sender)
    account = account.with_nonce(account.nonce + 1)
    state.set_account(
        sender, account.with_balance(NATIVE_ASSET, account.balance(NATIVE_ASSET) - tx.fee)
    )


def execute_body(state: State, tx: Transaction, ctx: BlockContext) -> Receipt:
    """Run the body in its own journal scope; revert it on failure."""
    state.begin()
    try:
        outcome = RULES.executors[tx.body.KIND](state, tx, ctx)
    except ExecutionFailure as failure:
        state.revert()
        if failure.kept_charges is not None:
            failure.kept_charges(state)
        return Receipt(failure.status, tx.fee, failure.gas_used, error=failure.message)
    except BalanceOverflow as overflow:
        state.revert()
        return Receipt(BalanceOverflowFailure.status, tx.fee, error=str(overflow))
    except InsufficientBalance as shortfall:
        state.revert()
        return Receipt(InsufficientFunds.status, tx.fee, error=str(shortfall))
    state.commit()
    return Receipt(STATUS_OK, tx.fee, outcome.gas_used, outcome.events)


def apply_transaction(
    state: State, tx: Transaction, ctx: BlockContext, signature_checked: bool
) -> Receipt:
    """Check, charge and execute one transaction. Raises TxRejected."""
    account = check_transaction(state, tx, ctx.chain_id, ctx.params, signature_checked)
    charge_nonce_and_fee(state, tx, account)
    return execute_body(state, tx, ctx)


def process_transactions(
    state: State,
    transactions: Iterable[Transaction],
    ctx: BlockContext,
    verified: Collection[bytes],
) -> tuple[Receipt, ...]:
    """Apply every transaction in order. Raises InvalidBlock for one that may not be included."""
    receipts = []
    for index, tx in enumerate(transactions):
        try:
            receipts.append(apply_transaction(state, tx, ctx, tx.hash in verified))
        except TxRejected as rejected:
            raise InvalidBlock(f"transaction {index} ({tx.hash.hex()}): {rejected}") from rejected
    return tuple(receipts)


def pay_fees_to_proposer(state: State, proposer: bytes, receipts: Iterable[Receipt]) -> None:
    """Credit the block's fees to the proposer (the documented fee rule)."""
    total = sum(receipt.fee_charged for receipt in receipts)
    if total:
        state.add_balance(proposer, NATIVE_ASSET, total)


def run_end_block_steps(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """Every end-of-block step the features registered, in the registry's order
    (ledger/features/__init__.py)."""
    events: list[Event] = []
    for _name, step in RULES.end_block_steps:
        events.extend(step(state, ctx))
    return tuple(events)


def finish_block(
    state: State, tree: StateTree, ctx: BlockContext, receipts: tuple[Receipt, ...]
) -> BlockResult:
    """The steps after the transactions: fees, end-of-block steps, the state root."""
    pay_fees_to_proposer(state, ctx.proposer, receipts)
    block_events = run_end_block_steps(state, ctx)
    changes = state.changes()
    tree_keys = {key: tree_key(key) for key in changes}  # hashed once for both maps
    update = tree.update(
        {tree_keys[key]: value for key, value in changes.items()},
        {tree_keys[key]: old for key, old in state.committed_values(changes).items()},
    )
    return BlockResult(
        receipts,
        update.root,
        block_receipts_root(receipts),
        changes,
        update.new_nodes,
        block_events,
    )


def validate_header(block: Block, tip: ChainTip, chain_id: str, params: Params) -> None:
    """Header rules that need no execution. Raises InvalidBlock."""
    header = block.header
    ensure_block(header.chain_id == chain_id, f"block is for chain {header.chain_id!r}")
    ensure_block(header.height == tip.height + 1, f"height {header.height} after {tip.height}")
    ensure_block(header.prev_hash == tip.block_hash, "previous block hash does not match")
    ensure_block(header.time_ms >= tip.time_ms, "block time goes backwards")
    ensure_block(
        header.last_commit_hash == crypto.sha256(block.last_commit),
        "last commit hash does not match the certificate carried",
    )
    ensure_block(len(block.transactions) <= params.max_block_txs, "too many transactions")
    size = sum(len(tx.encode()) for tx in block.transactions)
    ensure_block(size <= params.max_block_bytes, f"{size} bytes of transactions exceed the limit")
    ensure_block(
        header.txs_root == block_txs_root(block.transactions), "transactions root mismatch"
    )


def ensure_block(condition: bool, message: str) -> None:
    """Raise InvalidBlock(message) unless condition holds."""
    if not condition:
        raise InvalidBlock(message)


def execute_block(
    state: State,
    tree: StateTree,
    block: Block,
    tip: ChainTip,
    chain_id: str,
    verified: Collection[bytes] = frozenset(),
) -> BlockResult:
    """Validate and execute ``block`` without checking the roots it claims
    (a proposer uses this to fill them in). Raises InvalidBlock."""
    assert tree.root == tip.state_root, "tree is not at the parent state root"
    params = read_params(state)
    validate_header(block, tip, chain_id, params)
    header = block.header
    ctx = BlockContext(chain_id, header.height, header.time_ms, header.proposer, params)
    verified = verify_signatures(block.transactions, verified)
    receipts = process_transactions(state, block.transactions, ctx, verified)
    return finish_block(state, tree, ctx, receipts)


def verify_signatures(
    transactions: Iterable[Transaction], verified: Collection[bytes]
) -> frozenset[bytes]:
    """Hashes of the transactions that are in ``verified`` or whose signature verifies.

    A block's signatures are checked in one loop before any transaction
    runs, so libsecp256k1's tables stay in the CPU caches (about 31 us a
    transaction instead of 34 when interleaved with execution). The rules
    do not change: a transaction left out (bad signature, or any error while
    checking it) is checked again in order by ``check_transaction``, which
    rejects it, or not, exactly as it would have.
    """
    checked = set()
    for tx in transactions:
        tx_hash = tx.hash
        if tx_hash in verified:
            checked.add(tx_hash)
            continue
        try:
            valid = tx.signature_valid()
        except Exception:  # left to check_transaction, in order
            continue
        if valid:
            checked.add(tx_hash)
    return frozenset(checked)


def apply_block(
    state: State,
    tree: StateTree,
    block: Block,
    tip: ChainTip,
    chain_id: str,
    verified: Collection[bytes] = frozenset(),
) -> BlockResult:
    """Validate, execute and check ``block`` against its header's roots.

    ``state`` and ``tree`` must be at ``tip``. ``verified`` holds hashes of
    transactions whose signatures were already checked on this node.
    Raises InvalidBlock; the caller then discards state and tree.
    """
    result = execute_block(state, tree, block, tip, chain_id, verified)
    ensure_block(result.state_root == block.header.state_root, "state root mismatch")
    ensure_block(result.receipts_root == block.header.receipts_root, "receipts root mismatch")
    return result


def build_block(
    state: State,
    tree: StateTree,
    tip: ChainTip,
    chain_id: str,
    candidates: Iterable[Transaction],
    proposer: bytes,
    time_ms: int,
    last_commit: bytes = b"",
    verified: Collection[bytes] = frozenset(),
) -> tuple[Block, BlockResult, list[tuple[Transaction, TxRejected]]]:
    """Assemble a valid block from candidate transactions (a proposer's job).

    Candidates that may not be included are skipped and returned with their
    reasons; the rest are applied in order, within the block limits.
    """
    params = read_params(state)
    ctx = BlockContext(chain_id, tip.height + 1, max(time_ms, tip.time_ms), proposer, params)
    included: list[Transaction] = []
    receipts: list[Receipt] = []
    skipped: list[tuple[Transaction, TxRejected]] = []
    size = 0
    for tx in candidates:
        if len(included) >= params.max_block_txs:
            break
        if size + len(tx.encode()) > params.max_block_bytes:
            break
        try:
            receipts.append(apply_transaction(state, tx, ctx, tx.hash in verified))
        except TxRejected as rejected:
            skipped.append((tx, rejected))
            continue
        included.append(tx)
        size += len(tx.encode())
    result = finish_block(state, tree, ctx, tuple(receipts))
    header = BlockHeader(
        chain_id=chain_id,
        height=ctx.height,
        time_ms=ctx.time_ms,
        prev_hash=tip.block_hash,
        last_commit_hash=crypto.sha256(last_commit),
        txs_root=block_txs_root(included),
        receipts_root=result.receipts_root,
        state_root=result.state_root,
        proposer=proposer,
    )
    return Block(header, tuple(included), last_commit), result, skipped
