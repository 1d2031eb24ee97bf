"""The node's trust boundaries, in process, with hostile inputs (issue 20
section 2; issue 13 section 1 on the node's commit and block-sync paths).

The real Node class (store, application, engine, block-sync tracker) of one
devnet validator; a second devnet node, on its own store, builds the
genuine blocks, and the test signs certificates with the devnet's public
validator keys. What peers send goes through the node's own handlers, as
p2p hands it over; a handler that raises PeerMisbehaved has the peer
banned (consensus.node.p2p). Each test checks both that the bad input is
refused with the peer blamed and that it changed nothing (the tip, the
stored body), and that the genuine input still goes through afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consensus.engine.certificate import CommitCertificate, encode_certificate
from consensus.engine.messages import Step, sign_vote
from consensus.engine.wire import CommitMessage, ProposalMessage
from consensus.node.blocksync import (
    MAX_HEIGHT,
    BlockMessage,
    GetBlock,
    NoBlock,
    StatusMessage,
    decode_sync_message,
    encode_sync_message,
)
from consensus.node.p2p import BLOCKSYNC_CHANNEL, PeerMisbehaved
from ledger.address import address_of
from ledger.client.devnet import account_key, validator_key
from ledger.crypto import SigningKey, sha256
from ledger.features.bank.bodies import Transfer
from ledger.types import Block, Transaction, decode_block

from .node_driver import DrivenNode, close, open_node, prepare, proposal, run

HOSTILE = b"hostile peer"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[DrivenNode, DrivenNode]]:
    """(the node under test, the node that builds genuine blocks)."""
    homes = prepare(tmp_path)
    node, builder = open_node(homes[0]), open_node(homes[1])
    try:
        yield node, builder
    finally:
        close(node)
        close(builder)


def transfers(driven: DrivenNode) -> list[Transaction]:
    chain_id, fee = driven.chain_id, driven.node.chain.params().min_fee
    recipient = address_of(account_key("heidi").public_key)
    return [
        Transaction(chain_id, key.public_key, 0, fee, Transfer("coin", 5, recipient)).signed(key)
        for key in (account_key(name) for name in ("alice", "bob", "carol"))
    ]


def genuine_block(builder: DrivenNode) -> bytes:
    """Block 1 with three transfers, proposed by round 0's proposer."""
    proposer = builder.node.validator_set(1).proposer(0).address
    return builder.node.app.build(transfers(builder), proposer, 1_000, b"")


def swapped_body(raw: bytes) -> bytes:
    """The same header (so the same id) with one transaction left out."""
    block = decode_block(raw)
    return Block(block.header, block.transactions[:2], block.last_commit).encode()


def certificate(
    driven: DrivenNode, raw: bytes, keys: list[SigningKey], height: int = 1
) -> CommitCertificate:
    block_hash = decode_block(raw).hash
    precommits = [
        sign_vote(
            key,
            driven.chain_id,
            Step.PRECOMMIT,
            height,
            0,
            block_hash,
            address_of(key.public_key),
        )
        for key in keys
    ]
    return CommitCertificate.from_precommits(precommits)


QUORUM = [validator_key(i) for i in range(3)]  # 30 of 40: more than two thirds


def sync_reply(driven: DrivenNode, raw: bytes, cert: CommitCertificate, height: int = 1) -> None:
    message = BlockMessage(height, raw, encode_certificate(cert))
    run(lambda: driven.node._on_sync_message(HOSTILE, encode_sync_message(message)))


def assert_nothing_committed(driven: DrivenNode) -> None:
    assert driven.node.chain.tip.height == 0
    assert driven.node.chain.store.load_block_bytes(1) is None


def test_invalid_synced_block_with_a_swapped_body_is_refused_and_the_peer_blamed(
    pair: tuple[DrivenNode, DrivenNode],
) -> None:
    """Worst case: the node already executed the genuine block (it validated
    the round's proposal), so the swapped body's header finds that result."""
    node, builder = pair
    raw = genuine_block(builder)
    run(node.node._start_engine)
    run(lambda: node.deliver(proposal(node, 1, 0, raw)))
    assert node.own_votes(Step.PREVOTE, 0)[0].block_hash == decode_block(raw).hash
    cert = certificate(node, raw, QUORUM)  # a genuine certificate: it signs the header
    with pytest.raises(PeerMisbehaved, match="transactions root"):
        sync_reply(node, swapped_body(raw), cert)
    assert_nothing_committed(node)
    sync_reply(node, raw, cert)  # the genuine block from an honest peer
    assert node.node.chain.tip.height == 1
    assert node.node.chain.store.load_block_bytes(1) == raw


def test_invalid_synced_block_with_a_forged_certificate_is_refused(
    pair: tuple[DrivenNode, DrivenNode],
) -> None:
    node, builder = pair
    raw = genuine_block(builder)
    cert = certificate(node, raw, QUORUM)
    forged = CommitCertificate(
        cert.height,
        cert.round,
        cert.block_hash,
        tuple(
            type(s)(s.validator, cert.signatures[0].signature) for s in cert.signatures
        ),  # one signature copied under every validator
    )
    with pytest.raises(PeerMisbehaved, match="bad synced block 1"):
        sync_reply(node, raw, forged)
    strangers = [SigningKey(sha256(b"stranger %d" % i)) for i in range(4)]
    with pytest.raises(PeerMisbehaved, match="bad synced block 1"):
        sync_reply(node, raw, certificate(node, raw, strangers))
    assert_nothing_committed(node)


def test_invalid_synced_block_with_a_weak_certificate_is_refused(
    pair: tuple[DrivenNode, DrivenNode],
) -> None:
    node, builder = pair
    raw = genuine_block(builder)
    with pytest.raises(PeerMisbehaved, match="bad synced block 1"):
        sync_reply(node, raw, certificate(node, raw, QUORUM[:2]))  # 20 of 40
    assert_nothing_committed(node)


def test_invalid_certificate_signed_by_an_old_validator_set_is_refused(
    pair: tuple[DrivenNode, DrivenNode],
) -> None:
    """Signed by a set of which only two members are in the set of height 1
    (the other two keys belong to validators that are no longer in it): a
    quorum of that set is not a quorum of this height's set."""
    node, builder = pair
    raw = genuine_block(builder)
    former = [SigningKey(sha256(b"former validator %d" % i)) for i in range(2)]
    old_set_quorum = [validator_key(0), validator_key(1), *former]
    with pytest.raises(PeerMisbehaved, match="bad synced block 1"):
        sync_reply(node, raw, certificate(node, raw, old_set_quorum))
    assert_nothing_committed(node)


def test_invalid_certificate_for_another_height_is_refused(
    pair: tuple[DrivenNode, DrivenNode],
) -> None:
    node, builder = pair
    raw = genuine_block(builder)
    with pytest.raises(PeerMisbehaved, match="bad synced block 1"):
        sync_reply(node, raw, certificate(node, raw, QUORUM, height=2))
    assert_nothing_committed(node)


def test_invalid_peer_announcing_heights_it_cannot_serve_steers_nothing(
    pair: tuple[DrivenNode, DrivenNode],
) -> None:
    node, builder = pair
    requests: list[tuple[bytes, object]] = []

    def record(peer: bytes, channel: int, payload: object) -> bool:
        if channel == BLOCKSYNC_CHANNEL:
            requests.append((peer, decode_sync_message(payload)))
        return True

    node.node.p2p.send = record  # type: ignore[method-assign]

    def lie() -> None:
        node.node._on_sync_message(HOSTILE, encode_sync_message(StatusMessage(MAX_HEIGHT)))
        node.node._request_next_block()

    run(lie)
    assert requests == [(HOSTILE, GetBlock(1))]  # it is asked (the answer would be verified)
    assert node.node.network_height() == 0 and not node.node.fetching()
    assert not node.node.status().catching_up
    run(lambda: node.node._on_sync_message(HOSTILE, encode_sync_message(NoBlock(1))))
    run(node.node._request_next_block)
    assert requests == [(HOSTILE, GetBlock(1))]  # its claim is gone: not asked again
    # A block for another height than the one after the tip is not applied.
    raw = genuine_block(builder)
    sync_reply(node, raw, certificate(node, raw, QUORUM), height=5)
    assert_nothing_committed(node)


def test_invalid_relayed_proposal_and_commit_with_swapped_bodies_on_the_node(
    pair: tuple[DrivenNode, DrivenNode],
) -> None:
    """The consensus path: a relayed signed proposal, then a commit message,
    each with a swapped body, are refused with the relay blamed; the
    genuine ones are still taken, and the genuine body is what is stored."""
    node, builder = pair
    raw = genuine_block(builder)
    genuine = proposal(node, 1, 0, raw)
    relayed = ProposalMessage(genuine.proposal, swapped_body(raw))
    run(node.node._start_engine)
    with pytest.raises(PeerMisbehaved, match="invalid consensus message"):
        run(lambda: node.deliver(relayed))
    assert node.node.engine.votes.round(0).proposal is None
    cert = certificate(node, raw, QUORUM)
    with pytest.raises(PeerMisbehaved, match="invalid consensus message"):
        run(lambda: node.deliver(CommitMessage(cert, swapped_body(raw))))
    assert_nothing_committed(node)
    run(lambda: node.deliver(genuine))
    assert [v.block_hash for v in node.own_votes(Step.PREVOTE, 0)] == [decode_block(raw).hash]
    run(lambda: node.deliver(CommitMessage(cert, raw)))
    assert node.node.chain.tip.height == 1
    assert node.node.chain.store.load_block_bytes(1) == raw
