"""Validator sets: thresholds, weighted round robin, changes at the next height."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.engine.validators import (
    Validator,
    ValidatorSet,
    ValidatorSetError,
    decode_validator_set,
)
from tests.consensus.conftest import Committee, key


def test_quorum_is_more_than_two_thirds() -> None:
    vset = Committee.of([1, 1, 1, 1]).validator_set
    assert vset.total_power == 4
    assert vset.quorum_power == 3
    assert vset.has_quorum(3) and not vset.has_quorum(2)
    assert vset.exceeds_one_third(2) and not vset.exceeds_one_third(1)
    vset = Committee.of([1, 1, 1]).validator_set  # total 3: quorum 3, f+1 = 2
    assert vset.quorum_power == 3 and vset.has_quorum(3) and not vset.has_quorum(2)
    vset = Committee.of([10, 20, 30, 40]).validator_set  # total 100
    assert vset.quorum_power == 67 and vset.has_quorum(67) and not vset.has_quorum(66)
    assert vset.exceeds_one_third(34) and not vset.exceeds_one_third(33)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=7))
def test_proposer_frequency_equals_power_over_a_full_cycle(powers: list[int]) -> None:
    vset = Committee.of(powers).validator_set
    chosen = Counter(v.address for v in vset.proposers(vset.total_power))
    assert chosen == {v.address: v.power for v in vset.validators}


def test_proposer_selection_is_deterministic_and_smooth() -> None:
    vset = Committee.of([3, 1, 1]).validator_set
    order = [v.power for v in vset.proposers(5)]
    assert order == [v.power for v in vset.proposers(5)]
    heavy = next(v for v in vset.validators if v.power == 3).address
    sequence = [v.address for v in vset.proposers(5)]
    # Smooth: the heavy validator never proposes three rounds in a row.
    assert sequence.count(heavy) == 3
    assert all(sequence[i : i + 3].count(heavy) < 3 for i in range(3))


def test_proposer_of_round_continues_the_sequence() -> None:
    vset = Committee.of([2, 1, 1]).validator_set
    assert [vset.proposer(r) for r in range(4)] == vset.proposers(4)
    # The next height starts one step further: its round 0 is this height's round 1.
    assert vset.next_height().proposer(0) == vset.proposer(1)


def test_ties_go_to_the_smaller_address() -> None:
    vset = Committee.of([1, 1, 1]).validator_set
    assert vset.proposer(0) == vset.validators[0]


def test_next_height_applies_changes() -> None:
    committee = Committee.of([1, 1, 1, 1])
    vset = committee.validator_set
    newcomer = Validator.from_public_key(key(9).public_key, 2)
    removed = vset.validators[0]
    changed = Validator(vset.validators[1].address, vset.validators[1].public_key, 5)
    nxt = vset.next_height([newcomer, Validator(removed.address, removed.public_key, 0), changed])
    assert nxt.get(removed.address) is None
    assert nxt.get(newcomer.address) == newcomer
    assert nxt.get(changed.address) == changed
    assert nxt.total_power == 2 + 5 + 1 + 1
    # Re-centred: priorities sum to (almost) zero; the newcomer starts behind.
    assert abs(sum(nxt.priorities)) < len(nxt)
    index = [v.address for v in nxt.validators].index(newcomer.address)
    assert nxt.priorities[index] == min(nxt.priorities)


@pytest.mark.parametrize(
    "changes",
    [
        "duplicate",
        "remove-unknown",
        "remove-all",
        "key-change",
    ],
)
def test_invalid_changes(changes: str) -> None:
    vset = Committee.of([1, 1]).validator_set
    a, b = vset.validators
    updates = {
        "duplicate": [Validator(a.address, a.public_key, 2)] * 2,
        "remove-unknown": [Validator.from_public_key(key(9).public_key, 0)],
        "remove-all": [
            Validator(a.address, a.public_key, 0),
            Validator(b.address, b.public_key, 0),
        ],
        "key-change": [Validator(a.address, b.public_key, 1)],
    }[changes]
    with pytest.raises(ValidatorSetError):
        vset.next_height(updates)


def test_invalid_sets() -> None:
    with pytest.raises(ValidatorSetError):
        ValidatorSet.create([])
    v = Validator.from_public_key(key(1).public_key, 1)
    with pytest.raises(ValidatorSetError):
        ValidatorSet.create([v, v])
    with pytest.raises(ValidatorSetError):
        ValidatorSet.create([Validator.from_public_key(key(1).public_key, 0)])
    with pytest.raises(ValidatorSetError):
        ValidatorSet.create([Validator(b"\x00" * 20, key(1).public_key, 1)])


def test_encoding_round_trip() -> None:
    vset = Committee.of([1, 2, 3]).validator_set.next_height()
    assert decode_validator_set(vset.encode()) == vset
    with pytest.raises(ValidatorSetError):
        decode_validator_set(b"\x01")
