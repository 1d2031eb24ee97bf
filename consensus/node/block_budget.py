"""How big a block may be so that every message that carries it fits one p2p frame.

A block travels whole in one frame: in a proposal, in a commit message to a
peer that fell behind, and in a block-sync answer with its certificate. The
chain's own limit (``params.max_block_bytes``) counts only the bytes of the
transactions; around them come the block's header and last-commit
certificate, one array header per transaction, the message's fields (a
proposal's signature, a commit certificate) and the frame's own header.
``envelope_room`` bounds all of that from above; a block whose transactions
take at most ``max_frame_bytes - envelope_room`` bytes therefore fits every
frame that carries it.

Two rules follow (docs/spec/node.md, "Block size and the frame limit"):

- at start, a node whose frame limit cannot carry the largest block the
  chain allows refuses to start (``check_frame_carries_blocks``): it could
  neither relay nor fetch such a block, and would be stuck at that height;
- a proposer reaps at most ``block_bytes_budget`` bytes of transactions,
  the smaller of the chain's limit and what the frame can carry (so even
  a validator set that grew since the start check never makes a proposer
  build a block it cannot send).

Pure arithmetic: no I/O.
"""

from __future__ import annotations

from typing import Final

from ledger.params import Params

# The frame ([channel, payload]), the message's own fields (a proposal's
# height, rounds, hash, proposer and signature; a block-sync answer's kind
# and height), the block's array and header (under 300 bytes with the
# longest chain id) and the array and bin headers around them: all well
# under this.
FIXED_ROOM: Final = 1024
PER_TX_ROOM: Final = 5  # the largest msgpack bin header (bin32)
CERTIFICATE_FIXED: Final = 64  # [height, round, block hash, [...]] with headers
PER_SIGNATURE: Final = 90  # [address, signature] with its headers


class FrameTooSmallForBlocks(ValueError):
    """The node's frame limit cannot carry the largest block the chain allows."""


def certificate_bytes_bound(validators: int) -> int:
    """An upper bound on the encoded size of a commit certificate signed by
    at most ``validators`` validators."""
    return CERTIFICATE_FIXED + PER_SIGNATURE * validators


def envelope_room(max_block_txs: int, validators: int) -> int:
    """Bytes a frame carrying a block needs beyond its transactions' bytes:
    the block's last-commit certificate and the message's certificate (a
    commit message or block-sync answer), one bin header per transaction,
    and FIXED_ROOM for the rest."""
    return FIXED_ROOM + PER_TX_ROOM * max_block_txs + 2 * certificate_bytes_bound(validators)


def block_bytes_budget(max_frame_bytes: int, params: Params, validators: int) -> int:
    """The most transaction bytes a proposer may put in one block: the chain's
    limit, or less if the frame cannot carry that much (never below 0)."""
    carried = max_frame_bytes - envelope_room(params.max_block_txs, validators)
    return max(0, min(params.max_block_bytes, carried))


def frame_bytes_needed(params: Params, validators: int) -> int:
    """The smallest frame limit that carries every block the chain allows."""
    return params.max_block_bytes + envelope_room(params.max_block_txs, validators)


def check_frame_carries_blocks(max_frame_bytes: int, params: Params, validators: int) -> None:
    """Raise FrameTooSmallForBlocks, saying what to change, unless a frame of
    ``max_frame_bytes`` carries the largest block the chain allows with a
    validator set of ``validators``."""
    needed = frame_bytes_needed(params, validators)
    if max_frame_bytes < needed:
        raise FrameTooSmallForBlocks(
            f"p2p.max_frame_bytes = {max_frame_bytes} cannot carry the chain's largest block "
            f"(genesis params.max_block_bytes = {params.max_block_bytes} bytes of transactions, "
            f"up to {params.max_block_txs} of them, plus certificates of {validators} "
            f"validators): set p2p.max_frame_bytes to at least {needed} in config.toml"
        )
