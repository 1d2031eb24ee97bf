"""Vote tallies, equivocation evidence and the future-round memory bound."""

from __future__ import annotations

import pytest

from consensus.engine.evidence import (
    DuplicateVote,
    InvalidEvidence,
    decode_evidence,
    duplicate_proposal,
    duplicate_vote,
    encode_evidence,
    verify_evidence,
)
from consensus.engine.messages import Step, sign_proposal
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.votes import Added, HeightVotes
from consensus.engine.wire import ProposalMessage
from tests.consensus.conftest import CHAIN, Committee, key

A = b"\xaa" * 32
B = b"\xbb" * 32


def test_tally_counts_power_per_value() -> None:
    committee = Committee.of([1, 2, 3, 4])
    votes = HeightVotes(1, committee.validator_set)
    for i, value in [(0, A), (1, A), (2, None)]:
        assert votes.add_vote(committee.vote(i, Step.PREVOTE, 1, 0, value), 0) == (Added.NEW, None)
    tally = votes.round(0).prevotes
    powers = [v.power for v in committee.validator_set.validators]
    assert tally.power_for(A) == powers[0] + powers[1]
    assert tally.power_for(None) == powers[2]
    assert tally.total_power == sum(powers[:3])
    assert votes.round(0).sender_power == sum(powers[:3])
    assert votes.round(0).precommits.total_power == 0


def test_duplicate_is_not_counted_twice(committee: Committee) -> None:
    votes = HeightVotes(1, committee.validator_set)
    vote = committee.vote(0, Step.PREVOTE, 1, 0, A)
    votes.add_vote(vote, 0)
    assert votes.add_vote(vote, 0) == (Added.DUPLICATE, None)
    assert votes.round(0).prevotes.power_for(A) == 1


def test_equivocation_gives_evidence_once(committee: Committee) -> None:
    votes = HeightVotes(1, committee.validator_set)
    first = committee.vote(0, Step.PRECOMMIT, 1, 0, A)
    second = committee.vote(0, Step.PRECOMMIT, 1, 0, B)
    third = committee.vote(0, Step.PRECOMMIT, 1, 0, None)
    votes.add_vote(first, 0)
    outcome, evidence = votes.add_vote(second, 0)
    assert outcome is Added.CONFLICT
    assert isinstance(evidence, DuplicateVote)
    assert {evidence.first, evidence.second} == {first, second}
    verify_evidence(evidence, committee.validator_set, CHAIN)
    assert decode_evidence(encode_evidence(evidence)) == evidence
    assert votes.add_vote(third, 0)[1] is None  # reported once per slot
    tally = votes.round(0).precommits
    assert tally.total_power == 1
    assert tally.power_for(B) == 0  # B was never proposed: not counted
    assert tally.power_for(None) == 1  # nil always counts


def test_conflicting_vote_for_a_proposed_value_counts(committee: Committee) -> None:
    # An equivocator must not be able to hide an honest quorum for a proposed block.
    votes = HeightVotes(1, committee.validator_set)
    proposer = committee.validator_set.proposer(0).address
    index = next(i for i in range(4) if committee.address(i) == proposer)
    proposal = sign_proposal(committee.keys[index], CHAIN, 1, 0, -1, A, proposer)
    votes.add_proposal(ProposalMessage(proposal, b"a"), 0)
    votes.add_vote(committee.vote(3, Step.PREVOTE, 1, 0, B), 0)
    outcome, _ = votes.add_vote(committee.vote(3, Step.PREVOTE, 1, 0, A), 0)
    assert outcome is Added.CONFLICT
    tally = votes.round(0).prevotes
    assert tally.power_for(A) == 1 and tally.power_for(B) == 1 and tally.total_power == 1
    assert len(tally.votes_for(A)) == 1


def test_conflicting_proposals_give_evidence(committee: Committee) -> None:
    votes = HeightVotes(1, committee.validator_set)
    proposer = committee.validator_set.proposer(0).address
    index = next(i for i in range(4) if committee.address(i) == proposer)
    a = sign_proposal(committee.keys[index], CHAIN, 1, 0, -1, A, proposer)
    b = sign_proposal(committee.keys[index], CHAIN, 1, 0, -1, B, proposer)
    votes.add_proposal(ProposalMessage(a, b"a"), 0)
    outcome, evidence = votes.add_proposal(ProposalMessage(b, b"b"), 0)
    assert outcome is Added.CONFLICT and evidence == duplicate_proposal(a, b)
    verify_evidence(evidence, committee.validator_set, CHAIN)
    assert decode_evidence(encode_evidence(evidence)) == evidence


def test_future_rounds_keep_only_each_validators_highest(committee: Committee) -> None:
    votes = HeightVotes(1, committee.validator_set)
    votes.add_vote(committee.vote(1, Step.PREVOTE, 1, 5, A), 0)
    votes.add_vote(committee.vote(1, Step.PRECOMMIT, 1, 5, A), 0)
    assert votes.round(5).sender_power == 1
    votes.add_vote(committee.vote(1, Step.PREVOTE, 1, 9, None), 0)
    assert votes.round(5).sender_power == 0
    assert votes.round(5).prevotes.total_power == 0
    assert votes.round(5).precommits.power_for(A) == 0
    assert votes.add_vote(committee.vote(1, Step.PREVOTE, 1, 7, None), 0)[0] is Added.IGNORED
    # Rounds at or below the current one are always kept.
    assert votes.add_vote(committee.vote(1, Step.PREVOTE, 1, 7, None), 7)[0] is Added.NEW


def test_invalid_evidence(committee: Committee) -> None:
    a = committee.vote(0, Step.PREVOTE, 1, 0, A)
    with pytest.raises(InvalidEvidence, match="do not conflict"):
        verify_evidence(DuplicateVote(a, a), committee.validator_set, CHAIN)
    other_round = committee.vote(0, Step.PREVOTE, 1, 1, B)
    with pytest.raises(InvalidEvidence, match="not for one"):
        verify_evidence(duplicate_vote(a, other_round), committee.validator_set, CHAIN)
    other_signer = committee.vote(1, Step.PREVOTE, 1, 0, B)
    with pytest.raises(InvalidEvidence, match="not for one"):
        verify_evidence(duplicate_vote(a, other_signer), committee.validator_set, CHAIN)
    wrong_chain = committee.vote(0, Step.PREVOTE, 1, 0, B, chain="elsewhere")
    with pytest.raises(InvalidEvidence, match="signature"):
        verify_evidence(duplicate_vote(a, wrong_chain), committee.validator_set, CHAIN)
    strangers = ValidatorSet.create(Validator.from_public_key(key(i).public_key, 1) for i in (5, 6))
    with pytest.raises(InvalidEvidence, match="not in the validator set"):
        verify_evidence(
            duplicate_vote(a, committee.vote(0, Step.PREVOTE, 1, 0, B)), strangers, CHAIN
        )
    good = duplicate_vote(a, committee.vote(0, Step.PREVOTE, 1, 0, B))
    swapped = encode_evidence(DuplicateVote(good.second, good.first))
    with pytest.raises(InvalidEvidence, match="canonical order"):
        decode_evidence(swapped)
    with pytest.raises(InvalidEvidence):
        decode_evidence(b"\x93\x07\x01\x02")
