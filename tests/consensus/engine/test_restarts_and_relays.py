"""What the engine does around the paper's rules: it relays equivocations so
that they are seen everywhere, marks the record that carries a new lock (the
node keeps that one with its double-sign guard), restores the lock from it
when the WAL is lost, sends its last signed vote again when a restart lost
it, and leaves a step whose votes can never all arrive."""

from __future__ import annotations

from consensus.engine.actions import Action, Broadcast, Persist, ReportEvidence, TimeoutKind
from consensus.engine.engine import Engine, EngineConfig
from consensus.engine.messages import Step, Vote
from consensus.engine.record import decode_record, encode_record
from consensus.engine.signer import Signer, SignerState, decode_signer_state
from ledger import codec
from tests.consensus.conftest import CHAIN, Committee, PlainApp
from tests.consensus.engine.test_engine import (
    BLOCK_A,
    BLOCK_B,
    A,
    B,
    engine_for,
    feed,
    non_proposer,
    others,
    own_votes,
    proposal,
    sent,
)

CONFIG = EngineConfig()


def persists(actions: list[Action]) -> list[Persist]:
    return [a for a in actions if isinstance(a, Persist)]


# -- relaying equivocations -------------------------------------------------


def test_a_conflicting_vote_is_reported_and_both_are_relayed(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    other = others(committee, me, 1)[0]
    first = committee.vote(other, Step.PREVOTE, 1, 0, A)
    engine.on_message(first)
    second = committee.vote(other, Step.PREVOTE, 1, 0, B)
    actions = engine.on_message(second)
    assert [type(a.evidence).__name__ for a in actions if isinstance(a, ReportEvidence)] == [
        "DuplicateVote"
    ]
    relayed = sent(actions)
    assert first in relayed and second in relayed
    # Once per validator and round: a third vote adds no relay.
    third = committee.vote(other, Step.PREVOTE, 1, 0, None)
    assert not any(isinstance(a, Broadcast) for a in engine.on_message(third))


def test_votes_for_another_value_make_the_engine_relay_its_proposal(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    ours = proposal(committee, 1, 0, BLOCK_A)
    engine.on_message(ours)
    a, b = others(committee, me, 3)[1:]
    # One validator voting for B may be Byzantine: nothing relayed yet.
    assert ours not in sent(engine.on_message(committee.vote(a, Step.PREVOTE, 1, 0, B)))
    # More than a third did: the proposer gave them another proposal. Relay ours, once.
    assert ours in sent(engine.on_message(committee.vote(b, Step.PREVOTE, 1, 0, B)))
    c = others(committee, me, 1)[0]
    assert ours not in sent(engine.on_message(committee.vote(c, Step.PRECOMMIT, 1, 0, B)))


# -- the lock survives losing the WAL ---------------------------------------


def test_the_record_with_a_new_lock_is_marked(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    actions = engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    assert [p.lock_changed for p in persists(actions)] == [False]  # the prevote
    actions = feed(
        engine, [committee.vote(i, Step.PREVOTE, 1, 0, A) for i in others(committee, me, 2)]
    )
    (locking,) = persists(actions)
    assert locking.lock_changed and locking.record.locked_block == BLOCK_A
    assert locking.record.valid_block == BLOCK_A and locking.record.valid_proof


def test_restoring_from_the_lock_record_keeps_the_lock(committee: Committee) -> None:
    """The WAL is lost after a precommit and more progress; the copy of the
    lock record kept with the guard is restored: no conflicting vote."""
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    lock_record = None
    actions = engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    actions += feed(
        engine, [committee.vote(i, Step.PREVOTE, 1, 0, A) for i in others(committee, me, 2)]
    )
    feed(engine, [committee.vote(i, Step.PRECOMMIT, 1, 0, None) for i in others(committee, me, 2)])
    actions += engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 0)
    actions += engine.on_timeout(TimeoutKind.PROPOSE, 1, 1)  # prevote nil in round 1
    for p in persists(actions):
        if p.lock_changed:
            lock_record = encode_record(p.record)
    assert lock_record is not None
    assert engine.signer is not None
    guard = engine.signer.state  # the guard: prevote of round 1
    # Restart with the guard and the lock record only.
    restarted = engine_for(committee, me, Signer(committee.keys[me], CHAIN, guard))
    restarted.restore(decode_record(lock_record), committee.validator_set)
    assert (restarted.locked_round, restarted.locked_hash, restarted.round) == (0, A, 1)
    feed(
        restarted,
        [committee.vote(i, Step.PRECOMMIT, 1, 1, None) for i in others(committee, me, 2)],
    )
    restarted.on_timeout(TimeoutKind.PRECOMMIT, 1, 1)
    votes = own_votes(restarted.on_message(proposal(committee, 1, 2, BLOCK_B)), restarted)
    assert [v.block_hash for v in votes] == [None]  # still locked on A
    # As a proposer later, it re-proposes A with its proof of lock.
    assert restarted.valid_block == BLOCK_A


def test_a_restart_sends_the_last_signed_vote_again(committee: Committee) -> None:
    """The guard is written before a signature exists, the WAL after: a crash
    in between leaves the guard ahead of the record. The restarted engine
    sends that vote again instead of leaving its place empty."""
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    actions = engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    record = persists(actions)[-1].record  # covers the prevote for A
    engine.on_timeout(TimeoutKind.PREVOTE, 1, 0)  # precommit nil: guard ahead, WAL lost it
    assert engine.signer is not None
    guard = engine.signer.state
    assert (guard.step, guard.value) == (Step.PRECOMMIT, None)
    restarted = engine_for(committee, me, Signer(committee.keys[me], CHAIN, guard))
    actions = restarted.restore(record, committee.validator_set)
    again = {v for v in own_votes(actions, restarted) if v.step is Step.PRECOMMIT}
    assert [(v.block_hash, v.signature) for v in again] == [(None, guard.signature)]
    assert restarted.step is Step.PRECOMMIT
    # Without any record (the WAL lost too), start_height does the same.
    fresh = engine_for(committee, me, Signer(committee.keys[me], CHAIN, guard))
    resent = own_votes(fresh.start_height(1, committee.validator_set), fresh)
    assert [(v.step, v.block_hash) for v in resent] == [(Step.PRECOMMIT, None)]


def test_an_unsent_precommit_for_a_value_is_not_sent_without_its_lock(
    committee: Committee,
) -> None:
    """A precommit for a value signed but never persisted (so never sent):
    sending it after a restart whose record has no lock would bind a lock
    the node cannot restore. It stays silent in that step instead."""
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    actions = engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    record = persists(actions)[-1].record  # before the lock
    feed(engine, [committee.vote(i, Step.PREVOTE, 1, 0, A) for i in others(committee, me, 2)])
    assert engine.signer is not None
    guard = engine.signer.state
    assert (guard.step, guard.value) == (Step.PRECOMMIT, A)
    restarted = engine_for(committee, me, Signer(committee.keys[me], CHAIN, guard))
    actions = restarted.restore(record, committee.validator_set)
    assert [v.step for v in own_votes(actions, restarted)] == [Step.PREVOTE]  # the old prevote
    assert restarted.locked_round == -1


def test_signer_state_keeps_the_signed_value() -> None:
    key = Committee.of([1]).keys[0]
    signer = Signer(key, CHAIN)
    vote = signer.sign_vote(Step.PRECOMMIT, 3, 1, A)
    state = decode_signer_state(signer.state.encode())
    assert state == signer.state and state.value == A
    assert Signer(key, CHAIN, state).signed_vote(3, 1, Step.PRECOMMIT) == vote
    assert Signer(key, CHAIN, state).signed_vote(3, 1, Step.PREVOTE) is None
    legacy = codec.encode((3, 1, 3, state.digest, state.signature))  # the form written before
    decoded = decode_signer_state(legacy)
    assert decoded == SignerState(3, 1, 3, state.digest, state.signature)
    assert decoded.value is None
    assert Signer(key, CHAIN, decoded).signed_vote(3, 1, Step.PRECOMMIT) is None


# -- a step whose votes cannot all arrive ------------------------------------


def test_a_stalled_prevote_step_ends_as_its_timeout_would(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = Engine(CONFIG, CHAIN, Signer(committee.keys[me], CHAIN), PlainApp())
    engine.start_height(1, committee.validator_set)
    engine.on_message(proposal(committee, 1, 0, BLOCK_A))  # prevote A
    # Only one other prevote ever arrives: line 34 never schedules timeoutPrevote.
    engine.on_message(committee.vote(others(committee, me, 1)[0], Step.PREVOTE, 1, 0, A))
    waited = 0
    precommits: list[Vote] = []
    while not precommits and waited <= CONFIG.stall_timeout + CONFIG.gossip_interval:
        waited += CONFIG.gossip_interval
        actions = engine.on_timeout(TimeoutKind.GOSSIP, 1, 0)
        precommits = [v for v in own_votes(actions, engine) if v.step is Step.PRECOMMIT]
    assert [v.block_hash for v in precommits] == [None]
    assert CONFIG.stall_timeout <= waited <= CONFIG.stall_timeout + CONFIG.gossip_interval
