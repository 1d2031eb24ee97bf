"""What each message a peer sends may hold, checked before it is unpacked
(issue 14 section 3; ledger.codec.check_limits).

msgpack builds one Python object per value it unpacks, so the cost of
unpacking is the number of values, which a sender chooses: a 4 MiB frame
can hold four million empty maps. Every message type below has a fixed
shape, so its values are counted, its nesting, strings, byte strings and
arrays bounded, before anything is built. A frame is checked against its
channel's limits by the transport; the bytes inside (a consensus message,
a block, a certificate, a threshold envelope) against their own limits by
the node before they are decoded.

Pure functions of a few sizes: no I/O.
"""

from __future__ import annotations

from typing import Final

from consensus.node.p2p import (
    BLOCKSYNC_CHANNEL,
    COMPACT_CHANNEL,
    CONSENSUS_CHANNEL,
    MEMPOOL_CHANNEL,
    STATESYNC_CHANNEL,
    THRESHOLD_CHANNEL,
)
from consensus.node.statesync import MAX_NODE_HASHES
from ledger.codec import DecodeLimits
from ledger.types import MAX_TX_SIZE

MAX_GOSSIP_TXS: Final = 4096  # transactions in one mempool frame
MAX_COMPACT_TXS: Final = 16_384  # transaction hashes in one compact proposal
MAX_FETCH_TXS: Final = 4096  # transactions asked for, or served, in one compact-channel message
MAX_THRESHOLD_ENVELOPES: Final = 64  # envelopes in one threshold frame
MAX_CHAIN_ID: Final = 64  # bytes (ledger.fields: a chain id is 1-64 characters)
BLOCK_FIXED_VALUES: Final = 16  # the block's array, its header's fields, last_commit
HEADER_FIELDS: Final = 10


def channel_limits(max_frame_bytes: int) -> dict[int, DecodeLimits]:
    """The payload limits of the node's five channels."""
    return {
        # a consensus message, as bytes (consensus_message_limits checks inside)
        CONSENSUS_CHANNEL: DecodeLimits(
            max_objects=1, max_depth=1, max_str=0, max_bin=max_frame_bytes
        ),
        # [tag, scalars..., [hash | index | tx bytes, ...], ...]: at most two
        # arrays, the larger one a compact proposal's hashes (consensus.node.compact_proposals)
        COMPACT_CHANNEL: DecodeLimits(
            max_objects=16 + max(MAX_COMPACT_TXS, 2 * MAX_FETCH_TXS),
            max_depth=2,
            max_array=max(MAX_COMPACT_TXS, MAX_FETCH_TXS),
            max_str=0,
            max_bin=max_frame_bytes,
        ),
        # an array of encoded transactions
        MEMPOOL_CHANNEL: DecodeLimits(
            max_objects=1 + MAX_GOSSIP_TXS,
            max_depth=1,
            max_array=MAX_GOSSIP_TXS,
            max_str=0,
            max_bin=MAX_TX_SIZE,
        ),
        # ["status"|"get"|"none", height] or ["block", height, block, certificate]
        BLOCKSYNC_CHANNEL: DecodeLimits(
            max_objects=5, max_depth=1, max_array=4, max_str=8, max_bin=max_frame_bytes
        ),
        # an array of envelopes, as bytes (envelope_limits checks inside)
        THRESHOLD_CHANNEL: DecodeLimits(
            max_objects=1 + MAX_THRESHOLD_ENVELOPES,
            max_depth=1,
            max_array=MAX_THRESHOLD_ENVELOPES,
            max_str=0,
            max_bin=max_frame_bytes,
        ),
        # ["nodes", [[record, key], ...]] and the smaller ones (consensus.node.statesync)
        STATESYNC_CHANNEL: DecodeLimits(
            max_objects=8 + 3 * MAX_NODE_HASHES,
            max_depth=3,
            max_array=MAX_NODE_HASHES,
            max_str=16,
            max_bin=max_frame_bytes,
        ),
    }


def consensus_message_limits(max_frame_bytes: int, validators: int) -> DecodeLimits:
    """A proposal (8 fields), a vote (7) or a commit message ``[3,
    [height, round, hash, [[address, signature], ...]], block]`` with at
    most one signature per validator."""
    return DecodeLimits(
        max_objects=16 + 3 * validators,
        max_depth=4,
        max_array=max(8, validators),
        max_str=0,
        max_bin=max_frame_bytes,
    )


def certificate_limits(validators: int) -> DecodeLimits:
    """``[height, round, hash, [[address, signature], ...]]``."""
    return DecodeLimits(
        max_objects=8 + 3 * validators,
        max_depth=3,
        max_array=max(4, validators),
        max_str=0,
        max_bin=64,
    )


def block_limits(max_block_txs: int, max_block_bytes: int) -> DecodeLimits:
    """``[header, [tx bytes, ...], last_commit]``; each transaction is
    decoded (within MAX_TX_SIZE) afterwards."""
    return DecodeLimits(
        max_objects=BLOCK_FIXED_VALUES + max_block_txs,
        max_depth=2,
        max_array=max(HEADER_FIELDS, max_block_txs),
        max_str=MAX_CHAIN_ID,
        max_bin=max_block_bytes,
    )


ENVELOPE_LIMITS: Final = DecodeLimits(
    max_objects=7, max_depth=1, max_array=6, max_str=0, max_bin=1 << 24
)
