"""A block's id binds its body: a relayed proposal, commit message or synced
block whose body does not match its header is never received, never
executed, never cached under the genuine block's id, and names the message
so the node can punish the peer that sent it.

The chain is real (LevelDB in a temporary directory) and so is the
application (consensus.application.LedgerApplication): its block id is the
header hash, which binds the body only through the transactions root and
the last-commit hash.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.engine.actions import Action, Broadcast, Commit
from consensus.engine.certificate import CommitCertificate
from consensus.engine.engine import (
    BlockMismatch,
    Engine,
    EngineConfig,
    InvalidMessage,
    MalformedBlock,
)
from consensus.engine.messages import Step, Vote, sign_proposal, sign_vote
from consensus.engine.signer import Signer
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import CommitMessage, ProposalMessage
from consensus.node.application import BodyMismatch, LedgerApplication
from ledger.address import address_of
from ledger.chain import Chain
from ledger.features.bank.bodies import Transfer
from ledger.types import Block, Transaction, decode_block
from tests.ledger.memory_chain import CHAIN, FEE, KEYS, VALIDATOR_KEYS, make_genesis

VALIDATORS = ValidatorSet.create(Validator.from_public_key(k.public_key, 1) for k in VALIDATOR_KEYS)
ADDRESSES = {address_of(k.public_key): k for k in VALIDATOR_KEYS}


@pytest.fixture
def app(tmp_path: Path) -> LedgerApplication:
    chain = Chain.open(tmp_path / "store", make_genesis(powers=(1, 1, 1, 1)))
    sets = {1: VALIDATORS, 2: VALIDATORS.next_height()}
    return LedgerApplication(chain, lambda height: sets[height])


def transfer(sender: int, nonce: int) -> Transaction:
    body = Transfer("coin", 5, address_of(KEYS[5].public_key))
    return Transaction(CHAIN, KEYS[sender].public_key, nonce, FEE, body).signed(KEYS[sender])


def genuine_and_swapped(app: LedgerApplication) -> tuple[bytes, bytes]:
    """A block of three transfers, and the same header with one left out."""
    proposer = VALIDATORS.proposer(0).address
    raw = app.build([transfer(0, 0), transfer(1, 0), transfer(2, 0)], proposer, 1_000, b"")
    block = decode_block(raw)
    swapped = Block(block.header, block.transactions[:2], block.last_commit).encode()
    return raw, swapped


def proposal_for(block_hash: bytes) -> ProposalMessage:
    proposer = VALIDATORS.proposer(0).address
    key = ADDRESSES[proposer]
    return ProposalMessage(sign_proposal(key, CHAIN, 1, 0, -1, block_hash, proposer), b"")


def an_engine(app: LedgerApplication) -> Engine:
    """A validator that is not the proposer of round 0."""
    proposer = VALIDATORS.proposer(0).address
    key = next(k for a, k in ADDRESSES.items() if a != proposer)
    engine = Engine(EngineConfig(), CHAIN, Signer(key, CHAIN), app)
    engine.start_height(1, VALIDATORS, VALIDATORS.next_height())
    return engine


def prevotes(actions: list[Action]) -> list[bytes | None]:
    return [
        a.message.block_hash
        for a in actions
        if isinstance(a, Broadcast)
        and isinstance(a.message, Vote)
        and a.message.step is Step.PREVOTE
    ]


def test_the_id_of_a_swapped_body_is_refused(app: LedgerApplication) -> None:
    raw, swapped = genuine_and_swapped(app)
    assert decode_block(swapped).hash == decode_block(raw).hash  # the header is the same
    assert app.block_hash(raw) == decode_block(raw).hash
    with pytest.raises(MalformedBlock, match="transactions root"):
        app.block_hash(swapped)
    with pytest.raises(MalformedBlock, match="not a block"):
        app.block_hash(b"\x93junk")


def test_invalid_relayed_proposal_with_a_swapped_body_leaves_the_slot_free(
    app: LedgerApplication,
) -> None:
    raw, swapped = genuine_and_swapped(app)
    signed = proposal_for(decode_block(raw).hash).proposal
    engine = an_engine(app)
    relayed = ProposalMessage(signed, swapped)
    with pytest.raises(BlockMismatch) as caught:
        engine.on_message(relayed)
    assert caught.value.message == relayed  # names the message, to punish its sender
    assert engine.votes.round(0).proposal is None  # kept nothing
    assert engine._validity == {}  # cached nothing under the genuine id
    # The genuine proposal, arriving later, is taken and prevoted.
    actions = engine.on_message(ProposalMessage(signed, raw))
    assert prevotes(actions) == [decode_block(raw).hash]


def test_invalid_commit_message_with_a_swapped_body_does_not_decide(
    app: LedgerApplication,
) -> None:
    raw, swapped = genuine_and_swapped(app)
    block_hash = decode_block(raw).hash
    engine = an_engine(app)
    engine.on_message(ProposalMessage(proposal_for(block_hash).proposal, raw))  # validated
    precommits = [
        sign_vote(key, CHAIN, Step.PRECOMMIT, 1, 0, block_hash, address)
        for address, key in sorted(ADDRESSES.items())[:3]
    ]
    certificate = CommitCertificate.from_precommits(precommits)
    with pytest.raises(BlockMismatch):
        engine.on_message(CommitMessage(certificate, swapped))
    assert not engine.decided
    actions = engine.on_message(CommitMessage(certificate, raw))
    assert [a.block for a in actions if isinstance(a, Commit)] == [raw]


def test_invalid_synced_body_is_not_executed_after_the_genuine_one(
    app: LedgerApplication,
) -> None:
    raw, swapped = genuine_and_swapped(app)
    assert app.validate_block(1, raw)  # executed and kept under the header hash
    with pytest.raises(BodyMismatch, match="transactions root"):
        app.execute(decode_block(swapped))
    changed_commit = decode_block(raw)
    changed = Block(changed_commit.header, changed_commit.transactions, b"\x01")
    with pytest.raises(BodyMismatch, match="last-commit hash"):
        app.execute(changed)
    again = app.execute(decode_block(raw))  # a fresh copy of the genuine block
    assert again.block.transactions == decode_block(raw).transactions


def test_invalid_messages_name_themselves(app: LedgerApplication) -> None:
    engine = an_engine(app)
    stranger = KEYS[9]
    vote = sign_vote(stranger, CHAIN, Step.PREVOTE, 1, 0, None, address_of(stranger.public_key))
    with pytest.raises(InvalidMessage) as caught:
        engine.on_message(vote)
    assert caught.value.message == vote and not isinstance(caught.value, BlockMismatch)
