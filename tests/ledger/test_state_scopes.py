"""Nested journal scopes of the State overlay: pre / operation / post."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.state import MemoryStateReader, State
from tests.hypothesis_profiles import examples

A = b"\x01" * 20
KEYS = st.sampled_from([b"k1", b"k2", b"k3"])


def fresh() -> State:
    return State(MemoryStateReader({b"k1": b"committed"}))


def test_inner_commit_folds_into_the_outer_scope_only() -> None:
    state = fresh()
    state.begin()
    state.set_raw(b"k1", b"outer")
    state.begin()
    state.set_raw(b"k1", b"inner")
    state.add_balance(A, "cpu", 5)
    state.commit()
    assert state.get_raw(b"k1") == b"inner" and state.depth == 1
    state.revert()
    assert state.get_raw(b"k1") == b"committed"
    assert state.get_account(A).balance("cpu") == 0
    assert state.changes() == {}


def test_inner_revert_keeps_the_outer_scope() -> None:
    state = fresh()
    state.begin()
    state.add_balance(A, "coin", 10)
    state.begin()
    state.sub_balance(A, "coin", 4)
    state.set_raw(b"k2", b"new")
    assert state.get_account(A).balance("coin") == 6
    state.revert()
    assert state.get_account(A).balance("coin") == 10
    assert state.get_raw(b"k2") is None
    state.commit()
    assert state.depth == 0
    assert set(state.changes()) == {b"a" + A}


def test_three_levels_and_deletion_through_scopes() -> None:
    state = fresh()
    state.begin()
    state.begin()
    state.set_raw(b"k1", None)
    state.begin()
    assert state.get_raw(b"k1") is None
    state.set_raw(b"k1", b"back")
    state.commit()
    state.commit()
    state.commit()
    assert state.changes() == {b"k1": b"back"}


def test_invalid_unbalanced_commit_or_revert() -> None:
    state = fresh()
    with pytest.raises(AssertionError):
        state.commit()
    with pytest.raises(AssertionError):
        state.revert()
    state.begin()
    with pytest.raises(AssertionError):
        state.changes()


@settings(max_examples=examples(80), deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("set"), KEYS, st.binary(min_size=1, max_size=3)),
            st.tuples(st.just("del"), KEYS, st.just(b"")),
            st.tuples(st.just("begin"), st.just(b""), st.just(b"")),
            st.tuples(st.just("commit"), st.just(b""), st.just(b"")),
            st.tuples(st.just("revert"), st.just(b""), st.just(b"")),
        ),
        max_size=40,
    )
)
def test_scopes_match_a_stack_of_dict_copies(ops: list[tuple[str, bytes, bytes]]) -> None:
    """Model: a stack of full snapshots; begin copies, commit replaces, revert drops."""
    state = fresh()
    model: list[dict[bytes, bytes | None]] = [{b"k1": b"committed", b"k2": None, b"k3": None}]
    for op, key, value in ops:
        if op == "set":
            state.set_raw(key, value)
            model[-1][key] = value
        elif op == "del":
            state.set_raw(key, None)
            model[-1][key] = None
        elif op == "begin":
            state.begin()
            model.append(dict(model[-1]))
        elif op == "commit" and len(model) > 1:
            state.commit()
            top = model.pop()
            model[-1] = top
        elif op == "revert" and len(model) > 1:
            state.revert()
            model.pop()
        for k in (b"k1", b"k2", b"k3"):
            assert state.get_raw(k) == model[-1][k]
    while state.depth:
        state.commit()
        top = model.pop()
        model[-1] = top
    expected = {k: v for k, v in model[0].items() if v != {b"k1": b"committed"}.get(k)}
    assert state.changes() == expected
