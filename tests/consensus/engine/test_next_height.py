"""Messages for the next height: checked before they are kept, bounded per
signer and in bytes, reported when provably bad, and a genuine proposal is
never pushed out by junk."""

from __future__ import annotations

import pytest

from consensus.engine.actions import Action, Broadcast
from consensus.engine.engine import BlockMismatch, Engine, EngineConfig, InvalidMessage
from consensus.engine.messages import Step, Vote, sign_proposal, sign_vote
from consensus.engine.signer import Signer
from consensus.engine.validators import ValidatorSet
from consensus.engine.wire import ProposalMessage
from ledger import crypto
from ledger.address import address_of
from tests.consensus.conftest import CHAIN, Committee, PlainApp, key

BLOCK = b"the genuine block of height 2"
SMALL = EngineConfig(max_block_size=1 << 20, max_buffered_bytes=(1 << 21) + (1 << 16))


def engine_at_height_1(committee: Committee, config: EngineConfig = SMALL) -> tuple[Engine, int]:
    """A validator engine at height 1 that knows height 2's set; its index."""
    me = 0
    engine = Engine(config, CHAIN, Signer(committee.keys[me], CHAIN), PlainApp())
    engine.start_height(1, committee.validator_set, committee.validator_set.next_height())
    return engine, me


def proposal(committee: Committee, height: int, round_: int, block: bytes) -> ProposalMessage:
    validators = committee.validator_set if height == 1 else committee.validator_set.next_height()
    proposer = validators.proposer(round_).address
    i = next(i for i in range(len(committee.keys)) if committee.address(i) == proposer)
    signed = sign_proposal(
        committee.keys[i], CHAIN, height, round_, -1, crypto.sha256(block), proposer
    )
    return ProposalMessage(signed, block)


def own_prevotes(actions: list[Action], engine: Engine) -> list[bytes | None]:
    assert engine.signer is not None
    return [
        a.message.block_hash
        for a in actions
        if isinstance(a, Broadcast)
        and isinstance(a.message, Vote)
        and a.message.step is Step.PREVOTE
        and a.message.validator == engine.signer.address
    ]


def test_invalid_next_height_junk_is_reported_and_not_kept(committee: Committee) -> None:
    engine, _ = engine_at_height_1(committee)
    stranger = key(9)
    stranger_address = address_of(stranger.public_key)
    for i in range(100):  # a non-validator's 1 MiB proposals
        block = bytes([i]) * (1 << 20)
        junk = sign_proposal(stranger, CHAIN, 2, 0, -1, crypto.sha256(block), stranger_address)
        with pytest.raises(InvalidMessage):
            engine.on_message(ProposalMessage(junk, block))
    assert engine.buffered_bytes == 0
    genuine = proposal(committee, 2, 0, BLOCK)
    assert engine.on_message(genuine) == []
    assert engine.buffered_bytes > len(BLOCK)
    # Height 2 starts with the genuine proposal: the engine prevotes it at once.
    actions = engine.start_height(2, committee.validator_set.next_height())
    assert own_prevotes(actions, engine) == [crypto.sha256(BLOCK)]


def test_invalid_next_height_messages_raise(committee: Committee) -> None:
    engine, _ = engine_at_height_1(committee)
    good = proposal(committee, 2, 0, BLOCK)
    with pytest.raises(BlockMismatch):
        engine.on_message(ProposalMessage(good.proposal, b"another block"))
    proposer_2 = committee.validator_set.next_height().proposer(0).address
    other = next(i for i in range(4) if committee.address(i) != proposer_2)
    wrong = sign_proposal(
        committee.keys[other], CHAIN, 2, 0, -1, crypto.sha256(BLOCK), committee.address(other)
    )
    with pytest.raises(InvalidMessage, match="proposer"):
        engine.on_message(ProposalMessage(wrong, BLOCK))
    vote = committee.vote(1, Step.PREVOTE, 2, 0, None)
    forged = Vote(vote.step, 2, 0, crypto.sha256(BLOCK), vote.validator, vote.signature)
    with pytest.raises(InvalidMessage, match="signature"):
        engine.on_message(forged)
    with pytest.raises(InvalidMessage, match="too large"):
        big = b"x" * (SMALL.max_block_size + 1)
        engine.on_message(proposal(committee, 2, 0, big))
    assert engine.buffered_bytes == 0


def test_a_flooding_validator_only_fills_its_own_place(committee: Committee) -> None:
    engine, _ = engine_at_height_1(committee)
    genuine = proposal(committee, 2, 0, BLOCK)
    engine.on_message(genuine)
    flooder = 3
    for round_ in range(1, 300):  # its own signed votes for ever higher rounds
        for step in (Step.PREVOTE, Step.PRECOMMIT):
            engine.on_message(committee.vote(flooder, step, 2, round_, None))
    # Only its highest round is kept (two votes), beside the genuine proposal.
    assert engine.buffered_bytes <= len(BLOCK) + 200 + 2 * 160
    actions = engine.start_height(2, committee.validator_set.next_height())
    assert own_prevotes(actions, engine) == [crypto.sha256(BLOCK)]


def rounds_of_other_proposers(next_set: ValidatorSet, count: int) -> list[int]:
    """``count`` rounds above 0 whose proposers differ from each other and
    from round 0's."""
    chosen: list[int] = []
    taken = {next_set.proposer(0).address}
    for round_ in range(1, 64):
        proposer = next_set.proposer(round_).address
        if proposer not in taken:
            taken.add(proposer)
            chosen.append(round_)
        if len(chosen) == count:
            return chosen
    raise AssertionError("not enough proposers")


def test_the_byte_bound_evicts_higher_rounds_first(committee: Committee) -> None:
    next_set = committee.validator_set.next_height()
    mib = 1 << 20
    config = EngineConfig(max_block_size=mib, max_buffered_bytes=2 * mib + 4096)  # two, not three
    engine, _ = engine_at_height_1(committee, config)
    low, high = rounds_of_other_proposers(next_set, 2)
    engine.on_message(proposal(committee, 2, high, b"h" * mib))
    engine.on_message(proposal(committee, 2, low, b"l" * mib))
    assert engine.buffered_bytes > 2 * mib
    engine.on_message(proposal(committee, 2, 0, b"0" * mib))  # evicts round `high`'s
    assert engine.buffered_bytes <= config.max_buffered_bytes
    engine.on_message(proposal(committee, 2, high, b"h" * mib))  # no room above round 0 and low
    assert engine.buffered_bytes <= config.max_buffered_bytes
    actions = engine.start_height(2, next_set)
    assert own_prevotes(actions, engine) == [crypto.sha256(b"0" * mib)]
    kept = {r for r, rec in engine.votes.rounds.items() if rec.proposal is not None}
    assert kept == {0, low}


def test_without_the_next_set_unknown_signers_are_dropped(committee: Committee) -> None:
    engine = Engine(SMALL, CHAIN, Signer(committee.keys[0], CHAIN), PlainApp())
    engine.start_height(1, committee.validator_set)  # the next set is not known
    stranger = key(9)
    vote = sign_vote(stranger, CHAIN, Step.PREVOTE, 2, 0, None, address_of(stranger.public_key))
    assert engine.on_message(vote) == []  # cannot be checked: dropped quietly
    assert engine.buffered_bytes == 0
    member = committee.vote(1, Step.PREVOTE, 2, 0, None)
    forged = Vote(member.step, 2, 0, crypto.sha256(BLOCK), member.validator, member.signature)
    with pytest.raises(InvalidMessage, match="signature"):
        engine.on_message(forged)  # a member's key is known: checked
    engine.on_message(member)
    assert engine.buffered_bytes > 0
