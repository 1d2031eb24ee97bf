"""Issue 14 section 1: a block within the proposer's byte budget fits every
frame that carries it (proposal, commit message, block-sync answer), and a
frame limit too small for the chain's blocks is refused with a clear error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.engine.certificate import CommitCertificate, CommitSignature, encode_certificate
from consensus.engine.messages import Proposal
from consensus.engine.wire import CommitMessage, ProposalMessage, encode_message
from consensus.node.block_budget import (
    FrameTooSmallForBlocks,
    block_bytes_budget,
    check_frame_carries_blocks,
    envelope_room,
    frame_bytes_needed,
)
from consensus.node.blocksync import BlockMessage, encode_sync_message
from consensus.node.node import gossip_frames
from consensus.node.p2p import BLOCKSYNC_CHANNEL, CONSENSUS_CHANNEL, MEMPOOL_CHANNEL
from ledger import codec
from ledger.address import encode_address
from ledger.client import calls
from ledger.crypto import SigningKey
from ledger.params import Params
from ledger.types import MAX_TX_SIZE, Block, BlockHeader, Transaction

KEY = SigningKey(bytes(31) + b"\x07")
CHAIN = "x" * 64  # the longest chain id
NOWHERE = encode_address(bytes(20))


def _certificate(validators: int, height: int) -> CommitCertificate:
    signatures = tuple(
        CommitSignature(i.to_bytes(20, "big"), b"\xff" * 64) for i in range(validators)
    )
    return CommitCertificate(height, (1 << 31) - 1, b"\xee" * 32, signatures)


def _transactions(budget: int, tx_size: int) -> list[Transaction]:
    """Transactions of about ``tx_size`` bytes filling at most ``budget`` bytes."""
    txs: list[Transaction] = []
    total = 0
    nonce = 0
    while True:
        args = (b"\xaa" * min(4096, tx_size),) * max(1, min(15, tx_size // 4096))
        tx = calls.sign_call(KEY, CHAIN, nonce, NOWHERE, "f", args, 1, 10**20)
        if total + len(tx.encode()) > budget:
            return txs
        txs.append(tx)
        total += len(tx.encode())
        nonce += 1


def _frames_carrying(block: Block, validators: int) -> list[bytes]:
    raw = block.encode()
    top = (1 << 63) - 1
    proposal = Proposal(top, (1 << 31) - 1, (1 << 31) - 2, block.hash, bytes(20), b"\xff" * 64)
    certificate = _certificate(validators, top)
    return [
        codec.encode((CONSENSUS_CHANNEL, encode_message(ProposalMessage(proposal, raw)))),
        codec.encode((CONSENSUS_CHANNEL, encode_message(CommitMessage(certificate, raw)))),
        codec.encode(
            (
                BLOCKSYNC_CHANNEL,
                encode_sync_message(BlockMessage(top, raw, encode_certificate(certificate))),
            )
        ),
    ]


@settings(max_examples=8, deadline=None)
@given(
    validators=st.sampled_from([1, 4, 100, 1000]),
    tx_size=st.sampled_from([200, 4096, 61_000]),
)
def test_a_block_at_the_budget_fits_every_frame_that_carries_it(
    validators: int, tx_size: int
) -> None:
    max_frame = 2 * 1024 * 1024
    params = Params(max_block_txs=10_000, max_block_bytes=8 * 1024 * 1024)
    budget = block_bytes_budget(max_frame, params, validators)
    assert 0 < budget < max_frame
    txs = _transactions(budget, tx_size)
    header = BlockHeader(
        CHAIN, (1 << 63) - 1, (1 << 63) - 1, *(b"\xee" * 32,) * 5, b"\xdd" * 20
    )
    last_commit = encode_certificate(_certificate(validators, (1 << 63) - 2))
    block = Block(header, tuple(txs), last_commit)
    for frame in _frames_carrying(block, validators):
        assert len(frame) <= max_frame


def test_the_budget_is_the_chains_limit_when_the_frame_carries_it() -> None:
    params = Params(max_block_txs=10_000, max_block_bytes=8 * 1024 * 1024)
    assert block_bytes_budget(9 * 1024 * 1024, params, 4) == params.max_block_bytes
    assert block_bytes_budget(4 * 1024 * 1024, params, 4) == 4 * 1024 * 1024 - envelope_room(
        10_000, 4
    )
    assert block_bytes_budget(1000, params, 4) == 0


def test_invalid_frame_smaller_than_the_chains_blocks_is_refused_with_the_fix() -> None:
    params = Params(max_block_txs=10_000, max_block_bytes=8 * 1024 * 1024)
    needed = frame_bytes_needed(params, 4)
    check_frame_carries_blocks(needed, params, 4)
    with pytest.raises(FrameTooSmallForBlocks) as refused:
        check_frame_carries_blocks(4 * 1024 * 1024, params, 4)
    message = str(refused.value)
    assert "p2p.max_frame_bytes" in message and str(needed) in message
    assert "max_block_bytes = 8388608" in message


def test_gossip_frames_split_a_burst_of_big_transactions_under_the_frame_limit() -> None:
    txs = _transactions(130 * 62_000, 61_000)
    assert all(len(tx.encode()) <= MAX_TX_SIZE for tx in txs)
    max_frame = 1024 * 1024
    frames = gossip_frames(tuple(txs), max_frame)
    assert len(frames) > 1
    assert [raw for frame in frames for raw in frame] == [tx.encode() for tx in txs]
    for payload in frames:
        assert len(codec.encode((MEMPOOL_CHANNEL, payload))) <= max_frame
    assert gossip_frames((), max_frame) == []
