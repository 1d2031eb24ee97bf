"""The engine's rules one at a time (pre-state, operation, post-state), with
the paper's line numbers in the test names."""

from __future__ import annotations

from collections import deque

import pytest

from consensus.engine.actions import (
    Action,
    Broadcast,
    Commit,
    Persist,
    ReportEvidence,
    RequestProposal,
    ScheduleTimeout,
    TimeoutKind,
)
from consensus.engine.certificate import CommitCertificate, verify_certificate
from consensus.engine.engine import Engine, EngineConfig, InvalidMessage
from consensus.engine.evidence import DuplicateVote
from consensus.engine.messages import Step, Vote, sign_proposal
from consensus.engine.record import decode_record, encode_record
from consensus.engine.signer import Signer
from consensus.engine.validators import Validator
from consensus.engine.wire import CommitMessage, Message, ProposalMessage
from ledger import crypto
from tests.consensus.conftest import CHAIN, Committee, PlainApp, key

CONFIG = EngineConfig()
BLOCK_A = b"block A"
BLOCK_B = b"block B"
A = crypto.sha256(BLOCK_A)
B = crypto.sha256(BLOCK_B)


def engine_for(committee: Committee, i: int, signer: Signer | None = None) -> Engine:
    return Engine(CONFIG, CHAIN, signer or Signer(committee.keys[i], CHAIN), PlainApp())


def index_of(committee: Committee, address: bytes) -> int:
    return next(i for i in range(len(committee.keys)) if committee.address(i) == address)


def proposer_index(committee: Committee, round_: int) -> int:
    return index_of(committee, committee.validator_set.proposer(round_).address)


def non_proposer(committee: Committee, rounds: range = range(3)) -> int:
    proposers = {proposer_index(committee, r) for r in rounds}
    return next(i for i in range(len(committee.keys)) if i not in proposers)


def proposal(
    committee: Committee, height: int, round_: int, block: bytes, pol_round: int = -1
) -> ProposalMessage:
    i = proposer_index(committee, round_)
    signed = sign_proposal(
        committee.keys[i],
        CHAIN,
        height,
        round_,
        pol_round,
        crypto.sha256(block),
        committee.address(i),
    )
    return ProposalMessage(signed, block)


def sent(actions: list[Action]) -> list[Message]:
    return [a.message for a in actions if isinstance(a, Broadcast)]


def own_votes(actions: list[Action], engine: Engine) -> list[Vote]:
    assert engine.signer is not None
    return [
        m for m in sent(actions) if isinstance(m, Vote) and m.validator == engine.signer.address
    ]


def others(committee: Committee, me: int, count: int) -> list[int]:
    return [i for i in range(len(committee.keys)) if i != me][:count]


def feed(engine: Engine, messages: list[Message]) -> list[Action]:
    actions: list[Action] = []
    for message in messages:
        actions += engine.on_message(message)
    return actions


# -- StartRound (lines 11-21) ----------------------------------------------


def test_start_round_proposer_asks_for_a_value(committee: Committee) -> None:
    p = proposer_index(committee, 0)
    actions = engine_for(committee, p).start_height(1, committee.validator_set)
    assert RequestProposal(1, 0) in actions
    assert (
        ScheduleTimeout(TimeoutKind.PROPOSE, 1, 0, CONFIG.timeout(TimeoutKind.PROPOSE, 0))
        in actions
    )


def test_start_round_others_schedule_timeout_propose(committee: Committee) -> None:
    me = non_proposer(committee)
    actions = engine_for(committee, me).start_height(1, committee.validator_set)
    assert not any(isinstance(a, RequestProposal) for a in actions)
    assert any(isinstance(a, ScheduleTimeout) and a.kind is TimeoutKind.PROPOSE for a in actions)
    assert not sent(actions)


def test_proposal_is_persisted_before_it_is_sent(committee: Committee) -> None:
    p = proposer_index(committee, 0)
    engine = engine_for(committee, p)
    engine.start_height(1, committee.validator_set)
    actions = engine.on_proposal_ready(1, 0, BLOCK_A)
    # The proposal, then (delivered to itself, line 22) its prevote: each after its Persist.
    kinds = [type(a).__name__ for a in actions if isinstance(a, Persist | Broadcast)]
    assert kinds == ["Persist", "Broadcast", "Persist", "Broadcast"]
    first_persist = next(a for a in actions if isinstance(a, Persist))
    first_sent = sent(actions)[0]
    assert isinstance(first_sent, ProposalMessage)
    assert first_persist.record.signer_state.signature == first_sent.proposal.signature
    assert own_votes(actions, engine)[0].block_hash == A
    # A late or repeated ready is ignored.
    assert engine.on_proposal_ready(1, 0, BLOCK_B) == []


def test_timeouts_grow_with_the_round() -> None:
    for kind in (TimeoutKind.PROPOSE, TimeoutKind.PREVOTE, TimeoutKind.PRECOMMIT):
        assert CONFIG.timeout(kind, 3) > CONFIG.timeout(kind, 2) > CONFIG.timeout(kind, 0)


# -- lines 22-27 -----------------------------------------------------------


def test_line_22_prevote_for_a_valid_proposal(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    actions = engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    assert [v.block_hash for v in own_votes(actions, engine)] == [A]
    assert engine.step is Step.PREVOTE


def test_line_26_prevote_nil_for_an_invalid_block(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    actions = engine.on_message(proposal(committee, 1, 0, b"invalid block"))
    assert [v.block_hash for v in own_votes(actions, engine)] == [None]


def locked_on_a(committee: Committee, me: int) -> Engine:
    """An engine that precommitted (locked) A in round 0 and moved to round 1."""
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    feed(engine, [committee.vote(i, Step.PREVOTE, 1, 0, A) for i in others(committee, me, 2)])
    assert (engine.locked_round, engine.locked_hash, engine.step) == (0, A, Step.PRECOMMIT)
    feed(engine, [committee.vote(i, Step.PRECOMMIT, 1, 0, None) for i in others(committee, me, 2)])
    engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 0)
    assert (engine.round, engine.step) == (1, Step.PROPOSE)
    return engine


def test_line_23_locked_validator_prevotes_nil_for_another_value(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = locked_on_a(committee, me)
    actions = engine.on_message(proposal(committee, 1, 1, BLOCK_B))
    assert [v.block_hash for v in own_votes(actions, engine)] == [None]


def test_line_23_locked_validator_prevotes_its_locked_value(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = locked_on_a(committee, me)
    actions = engine.on_message(proposal(committee, 1, 1, BLOCK_A))
    assert [v.block_hash for v in own_votes(actions, engine)] == [A]


# -- lines 28-33 -----------------------------------------------------------


def test_line_28_newer_proof_of_lock_unlocks(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = locked_on_a(committee, me)
    # Round 1: a polka for B that this engine did not take part in.
    feed(engine, [committee.vote(i, Step.PREVOTE, 1, 1, B) for i in others(committee, me, 3)])
    engine.on_timeout(TimeoutKind.PROPOSE, 1, 1)  # prevote nil in round 1
    feed(engine, [committee.vote(i, Step.PRECOMMIT, 1, 1, None) for i in others(committee, me, 2)])
    engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 1)
    assert engine.round == 2 and engine.locked_hash == A
    actions = engine.on_message(proposal(committee, 1, 2, BLOCK_B, pol_round=1))
    assert [v.block_hash for v in own_votes(actions, engine)] == [B]


def test_line_29_older_proof_of_lock_does_not_unlock(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    # Round 0: a polka for B forms while this engine prevoted nil and precommits nil.
    engine.on_timeout(TimeoutKind.PROPOSE, 1, 0)
    feed(engine, [committee.vote(i, Step.PREVOTE, 1, 0, B) for i in others(committee, me, 3)])
    engine.on_timeout(TimeoutKind.PREVOTE, 1, 0)
    feed(engine, [committee.vote(i, Step.PRECOMMIT, 1, 0, None) for i in others(committee, me, 2)])
    engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 0)
    # Round 1: it locks on A.
    engine.on_message(proposal(committee, 1, 1, BLOCK_A))
    feed(engine, [committee.vote(i, Step.PREVOTE, 1, 1, A) for i in others(committee, me, 2)])
    assert (engine.locked_round, engine.locked_hash) == (1, A)
    feed(engine, [committee.vote(i, Step.PRECOMMIT, 1, 1, None) for i in others(committee, me, 2)])
    engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 1)
    # Round 2: B with its proof of lock from round 0 < lockedRound 1: prevote nil.
    actions = engine.on_message(proposal(committee, 1, 2, BLOCK_B, pol_round=0))
    assert [v.block_hash for v in own_votes(actions, engine)] == [None]


def test_line_28_waits_for_the_proof_of_lock(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = locked_on_a(committee, me)
    engine.on_timeout(TimeoutKind.PROPOSE, 1, 1)
    feed(engine, [committee.vote(i, Step.PRECOMMIT, 1, 1, None) for i in others(committee, me, 2)])
    engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 1)
    actions = engine.on_message(proposal(committee, 1, 2, BLOCK_B, pol_round=1))
    assert own_votes(actions, engine) == [] and engine.step is Step.PROPOSE
    actions = feed(
        engine, [committee.vote(i, Step.PREVOTE, 1, 1, B) for i in others(committee, me, 3)]
    )
    assert [v.block_hash for v in own_votes(actions, engine)] == [B]


# -- lines 34-48 -----------------------------------------------------------


def test_line_34_schedules_prevote_timeout_once(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    engine.on_timeout(TimeoutKind.PROPOSE, 1, 0)  # lines 57-60: prevote nil
    assert engine.step is Step.PREVOTE
    a, b, c = others(committee, me, 3)
    actions = feed(
        engine, [committee.vote(a, Step.PREVOTE, 1, 0, A), committee.vote(b, Step.PREVOTE, 1, 0, B)]
    )
    timeouts = [
        x for x in actions if isinstance(x, ScheduleTimeout) and x.kind is TimeoutKind.PREVOTE
    ]
    assert len(timeouts) == 1
    more = engine.on_message(committee.vote(c, Step.PREVOTE, 1, 0, A))
    assert not any(isinstance(x, ScheduleTimeout) and x.kind is TimeoutKind.PREVOTE for x in more)
    # lines 61-64: the timeout precommits nil
    actions = engine.on_timeout(TimeoutKind.PREVOTE, 1, 0)
    assert [v.block_hash for v in own_votes(actions, engine)] == [None]
    assert engine.step is Step.PRECOMMIT


def test_line_36_polka_locks_and_precommits(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    actions = feed(
        engine, [committee.vote(i, Step.PREVOTE, 1, 0, A) for i in others(committee, me, 2)]
    )
    votes = own_votes(actions, engine)
    assert [(v.step, v.block_hash) for v in votes] == [(Step.PRECOMMIT, A)]
    assert (engine.locked_round, engine.locked_hash) == (0, A)
    assert (engine.valid_round, engine.valid_hash) == (0, A)
    record = next(a.record for a in actions if isinstance(a, Persist))
    assert record.locked_block == BLOCK_A and record.step is Step.PRECOMMIT


def test_line_42_polka_seen_after_precommitting_updates_valid_value(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    engine.on_message(proposal(committee, 1, 0, BLOCK_A))  # prevotes A
    a, b, c = others(committee, me, 3)
    feed(
        engine,
        [committee.vote(a, Step.PREVOTE, 1, 0, A), committee.vote(b, Step.PREVOTE, 1, 0, None)],
    )
    engine.on_timeout(TimeoutKind.PREVOTE, 1, 0)  # lines 61-64: precommit nil
    assert engine.step is Step.PRECOMMIT and engine.locked_round == -1
    actions = engine.on_message(committee.vote(c, Step.PREVOTE, 1, 0, A))  # now a polka for A
    assert own_votes(actions, engine) == []  # line 37: no precommit in the precommit step
    assert engine.locked_round == -1
    assert (engine.valid_round, engine.valid_hash) == (0, A)  # lines 42-43
    assert any(isinstance(x, Persist) and x.record.valid_block == BLOCK_A for x in actions)


def test_line_44_nil_polka_precommits_nil(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    engine.on_timeout(TimeoutKind.PROPOSE, 1, 0)
    actions = feed(
        engine, [committee.vote(i, Step.PREVOTE, 1, 0, None) for i in others(committee, me, 2)]
    )
    assert [(v.step, v.block_hash) for v in own_votes(actions, engine)] == [(Step.PRECOMMIT, None)]


def test_line_47_and_65_precommit_timeout_starts_the_next_round(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    actions = feed(
        engine, [committee.vote(i, Step.PRECOMMIT, 1, 0, None) for i in others(committee, me, 3)]
    )
    assert any(isinstance(x, ScheduleTimeout) and x.kind is TimeoutKind.PRECOMMIT for x in actions)
    assert engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 5) == []  # another round: stale
    assert engine.on_timeout(TimeoutKind.PRECOMMIT, 2, 0) == []  # another height: stale
    engine.on_timeout(TimeoutKind.PRECOMMIT, 1, 0)
    assert (engine.round, engine.step) == (1, Step.PROPOSE)


# -- lines 49-56 -----------------------------------------------------------


def test_line_49_decides_with_a_certificate(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    actions = feed(
        engine, [committee.vote(i, Step.PRECOMMIT, 1, 0, A) for i in others(committee, me, 3)]
    )
    commits = [a for a in actions if isinstance(a, Commit)]
    assert len(commits) == 1
    commit = commits[0]
    assert (commit.height, commit.block_hash, commit.block) == (1, A, BLOCK_A)
    verify_certificate(commit.certificate, committee.validator_set, CHAIN)
    assert engine.decided
    assert engine.on_message(committee.vote(me, Step.PREVOTE, 1, 0, A)) == []


def test_line_49_decides_for_an_earlier_round(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = locked_on_a(committee, me)  # now in round 1
    actions = feed(
        engine, [committee.vote(i, Step.PRECOMMIT, 1, 0, A) for i in others(committee, me, 2)]
    )
    assert [a.block_hash for a in actions if isinstance(a, Commit)] == [A]


def test_line_55_skips_to_a_round_with_more_than_a_third(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    a, b = others(committee, me, 2)
    engine.on_message(committee.vote(a, Step.PREVOTE, 1, 4, None))
    assert engine.round == 0
    engine.on_message(committee.vote(b, Step.PRECOMMIT, 1, 4, None))
    assert engine.round == 4


# -- catch-up, bad input, evidence -----------------------------------------


def test_commit_message_decides_directly(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    certificate = CommitCertificate.from_precommits(
        [committee.vote(i, Step.PRECOMMIT, 1, 3, A) for i in others(committee, me, 3)]
    )
    with pytest.raises(InvalidMessage, match="does not match"):
        engine.on_message(CommitMessage(certificate, BLOCK_B))
    weak = CommitCertificate.from_precommits(
        [committee.vote(i, Step.PRECOMMIT, 1, 3, A) for i in others(committee, me, 2)]
    )
    with pytest.raises(InvalidMessage, match="certificate"):
        engine.on_message(CommitMessage(weak, BLOCK_A))
    actions = engine.on_message(CommitMessage(certificate, BLOCK_A))
    assert [a.certificate for a in actions if isinstance(a, Commit)] == [certificate]


def test_invalid_messages_raise(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    stranger = key(9)
    from consensus.engine.messages import sign_vote
    from ledger.address import address_of

    outsider = sign_vote(stranger, CHAIN, Step.PREVOTE, 1, 0, A, address_of(stranger.public_key))
    with pytest.raises(InvalidMessage, match="not in this height's set"):
        engine.on_message(outsider)
    good = committee.vote(0, Step.PREVOTE, 1, 0, A)
    forged = Vote(good.step, 1, 0, B, good.validator, good.signature)
    with pytest.raises(InvalidMessage, match="signature"):
        engine.on_message(forged)
    wrong_chain = committee.vote(0, Step.PREVOTE, 1, 0, A, chain="other")
    with pytest.raises(InvalidMessage, match="signature"):
        engine.on_message(wrong_chain)
    intruder = next(i for i in range(4) if i != proposer_index(committee, 0))
    signed = sign_proposal(
        committee.keys[intruder], CHAIN, 1, 0, -1, A, committee.address(intruder)
    )
    with pytest.raises(InvalidMessage, match="proposer"):
        engine.on_message(ProposalMessage(signed, BLOCK_A))
    with pytest.raises(InvalidMessage, match="does not match"):
        engine.on_message(ProposalMessage(proposal(committee, 1, 0, BLOCK_A).proposal, BLOCK_B))
    # Stale heights are ignored quietly.
    assert engine.on_message(committee.vote(0, Step.PREVOTE, 7, 0, A)) == []


def test_equivocation_is_reported(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    other = others(committee, me, 1)[0]
    engine.on_message(committee.vote(other, Step.PREVOTE, 1, 0, A))
    actions = engine.on_message(committee.vote(other, Step.PREVOTE, 1, 0, B))
    evidence = [a.evidence for a in actions if isinstance(a, ReportEvidence)]
    assert len(evidence) == 1 and isinstance(evidence[0], DuplicateVote)
    assert evidence[0].validator == committee.address(other)


def test_next_height_messages_are_buffered(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    a, b = others(committee, me, 2)
    early = [
        committee.vote(a, Step.PREVOTE, 2, 3, None),
        committee.vote(b, Step.PREVOTE, 2, 3, None),
    ]
    assert feed(engine, early) == []
    engine.start_height(2, committee.validator_set.next_height())
    assert engine.round == 3  # the buffered votes made it skip (line 55)


# -- crash and restore -----------------------------------------------------


def test_restore_keeps_the_lock_and_never_double_signs(committee: Committee) -> None:
    me = non_proposer(committee)
    engine = engine_for(committee, me)
    engine.start_height(1, committee.validator_set)
    engine.on_message(proposal(committee, 1, 0, BLOCK_A))
    actions = feed(
        engine, [committee.vote(i, Step.PREVOTE, 1, 0, A) for i in others(committee, me, 2)]
    )
    disk = encode_record([a.record for a in actions if isinstance(a, Persist)][-1])
    sent_before = own_votes(actions, engine)
    # crash; restart from disk
    record = decode_record(disk)
    restarted = engine_for(committee, me, Signer(committee.keys[me], CHAIN, record.signer_state))
    actions = restarted.restore(record, committee.validator_set)
    assert (restarted.round, restarted.step) == (0, Step.PRECOMMIT)
    assert (restarted.locked_round, restarted.locked_hash) == (0, A)
    assert restarted.valid_hash == A  # with its proof of lock
    assert set(sent_before) <= set(sent(actions))  # own messages re-sent
    # The prevote of round 0 is already signed: a timeout cannot make it sign nil.
    assert restarted.on_timeout(TimeoutKind.PROPOSE, 1, 0) == []
    # Next round: still locked, so a new value gets a nil prevote.
    feed(
        restarted, [committee.vote(i, Step.PRECOMMIT, 1, 0, None) for i in others(committee, me, 2)]
    )
    restarted.on_timeout(TimeoutKind.PRECOMMIT, 1, 0)
    votes = own_votes(restarted.on_message(proposal(committee, 1, 1, BLOCK_B)), restarted)
    assert [v.block_hash for v in votes] == [None]


# -- four engines on a perfect network ------------------------------------


def run_perfect_network(committee: Committee, heights: int) -> dict[int, list[bytes]]:
    engines = [engine_for(committee, i) for i in range(len(committee.keys))]
    committed: dict[int, list[bytes]] = {i: [] for i in range(len(engines))}
    queue: deque[tuple[int, Action]] = deque()
    for i, engine in enumerate(engines):
        queue.extend((i, a) for a in engine.start_height(1, committee.validator_set))
    persisted: dict[int, int] = {i: 0 for i in range(len(engines))}
    while queue and min(len(c) for c in committed.values()) < heights:
        i, action = queue.popleft()
        engine = engines[i]
        if isinstance(action, Broadcast):
            for j, other in enumerate(engines):
                if j != i:
                    queue.extend((j, a) for a in other.on_message(action.message))
        elif isinstance(action, Persist):
            persisted[i] += 1
        elif isinstance(action, RequestProposal):
            block = b"h%d r%d by %d" % (action.height, action.round, i)
            queue.extend(
                (i, a) for a in engine.on_proposal_ready(action.height, action.round, block)
            )
        elif isinstance(action, Commit):
            committed[i].append(action.block_hash)
            queue.extend(
                (i, a) for a in engine.start_height(action.height + 1, committee.validator_set)
            )
    assert all(count > 0 for count in persisted.values())
    return committed


def test_four_engines_agree_on_a_perfect_network(committee: Committee) -> None:
    committed = run_perfect_network(committee, 3)
    chains = [c[:3] for c in committed.values()]
    assert all(chain == chains[0] for chain in chains) and len(chains[0]) == 3


def test_validator_set_change_takes_effect_two_heights_later() -> None:
    from consensus.engine.simulation import SimApp

    committee = Committee.of([1, 1, 1, 1])
    genesis = committee.validator_set
    target = genesis.validators[2]
    app = SimApp(genesis, (target.public_key,))
    from ledger import codec

    block = codec.encode((1, 0, b"\x00" * 20, 0, ((target.public_key, 3),)))
    assert app.validate_block(1, block)
    certificate = CommitCertificate.from_precommits(
        [committee.vote(i, Step.PRECOMMIT, 1, 0, crypto.sha256(block)) for i in range(3)]
    )
    app.apply(1, block, certificate)
    assert app.validator_set(2).get(target.address) == target  # height 2: unchanged
    assert app.validator_set(3).get(target.address).power == 3  # height 3 = 1 + 2
    # At height 3 the quorum is 5 of 6: three validators of power 1 no longer commit.
    height3 = app.validator_set(3)
    assert height3.quorum_power == 5
    engine = engine_for(committee, 0)
    engine.start_height(3, height3)
    weak = CommitCertificate.from_precommits(
        [committee.vote(i, Step.PRECOMMIT, 3, 0, A) for i in range(4) if i != 2][:3]
    )
    with pytest.raises(InvalidMessage):
        engine.on_message(CommitMessage(weak, BLOCK_A))


def test_a_new_validator_votes_only_from_its_first_height(committee: Committee) -> None:
    newcomer_key = key(8)
    from ledger.address import address_of

    newcomer = Validator.from_public_key(newcomer_key.public_key, 1)
    height2 = committee.validator_set.next_height()
    height3 = height2.next_height([newcomer])
    vote2 = Signer(newcomer_key, CHAIN).sign_vote(Step.PREVOTE, 2, 0, None)
    engine = engine_for(committee, 0)
    engine.start_height(2, height2)
    with pytest.raises(InvalidMessage):
        engine.on_message(vote2)
    vote3 = Signer(newcomer_key, CHAIN).sign_vote(Step.PREVOTE, 3, 0, None)
    engine.start_height(3, height3)
    engine.on_message(vote3)
    assert engine.votes.round(0).prevotes.power_for(None) >= 1
    assert address_of(newcomer_key.public_key) in engine.votes.round(0).senders
