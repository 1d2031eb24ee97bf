"""Denominations, amount splitting and NUT-02 keyset ids, V1 and V2, checked
against the spec's vectors (cashubtc/nuts tests/02-tests.md)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.features.mint import keysets
from ledger.features.mint.errors import InvalidKeyset
from ledger.threshold.errors import InvalidParameters
from ledger.threshold.group import GENERATOR, IDENTITY, Point, base_mul, decode_element


def keys_of(case: dict[str, Any]) -> dict[int, Point]:
    return {int(a): decode_element(bytes.fromhex(k)) for a, k in case["keys"].items()}


def test_keyset_id_v1_vectors(spec_vectors: dict[str, Any]) -> None:
    cases = spec_vectors["keyset_id_v1"]
    assert len(cases) == 2
    for case in cases:
        assert keysets.keyset_id_v1(keys_of(case)) == case["id"]


def test_keyset_id_v2_vectors(spec_vectors: dict[str, Any]) -> None:
    cases = spec_vectors["keyset_id_v2"]
    assert len(cases) == 3
    for case in cases:
        keys = keys_of(case)
        fee = case["input_fee_ppk"] or 0
        derived = keysets.keyset_id_v2(keys, case["unit"], fee, case["final_expiry"])
        assert derived == case["id"]
        keyset = keysets.Keyset(case["unit"], tuple(keys.items()), fee, case["final_expiry"])
        assert keyset.id == case["id"]
        assert keyset.amounts == tuple(sorted(keys))


def test_keyset_id_does_not_depend_on_key_order() -> None:
    keys = {1: base_mul(11), 2: base_mul(22), 4: base_mul(44)}
    reordered = dict(reversed(list(keys.items())))
    assert keysets.keyset_id_v1(keys) == keysets.keyset_id_v1(reordered)
    assert keysets.keyset_id_v2(keys, "sat") == keysets.keyset_id_v2(reordered, "sat")
    assert keysets.keyset_id_v2(keys, "sat") != keysets.keyset_id_v2(keys, "sat", 0, 1)
    assert keysets.keyset_id_v2(keys, "sat", 0, 0) == keysets.keyset_id_v2(keys, "sat")


def test_invalid_keysets_are_refused() -> None:
    with pytest.raises(InvalidKeyset):
        keysets.keyset_id_v1({})
    with pytest.raises(InvalidKeyset):
        keysets.keyset_id_v1({0: GENERATOR})
    with pytest.raises(InvalidKeyset):
        keysets.keyset_id_v1({1: IDENTITY})
    with pytest.raises(InvalidKeyset):
        keysets.keyset_id_v2({1: GENERATOR}, "SAT")
    with pytest.raises(InvalidKeyset):
        keysets.keyset_id_v2({1: GENERATOR}, "sat", -1)
    with pytest.raises(InvalidKeyset):
        keysets.Keyset("sat", ((1, GENERATOR), (1, base_mul(2))))
    keyset = keysets.Keyset("sat", ((2, base_mul(2)), (1, GENERATOR)))
    assert keyset.keys == ((1, GENERATOR), (2, base_mul(2)))
    assert keyset.key_for(2) == base_mul(2)
    with pytest.raises(InvalidKeyset):
        keyset.key_for(4)


def test_keyset_id_forms_and_resolution() -> None:
    v2 = keysets.keyset_id_v2({1: GENERATOR}, "sat")
    v1 = keysets.keyset_id_v1({1: GENERATOR})
    short = keysets.short_keyset_id(v2)
    assert len(short) == 16 and v2.startswith(short)
    assert keysets.short_keyset_id(v1) == v1
    assert keysets.resolve_keyset_id(short, [v1, v2]) == v2
    assert keysets.resolve_keyset_id(v1, [v1, v2]) == v1
    with pytest.raises(InvalidKeyset, match="unknown"):
        keysets.resolve_keyset_id(short, [v1])
    twin = short + "ff" * 25
    with pytest.raises(InvalidKeyset, match="ambiguous"):
        keysets.resolve_keyset_id(short, [v2, twin])
    for bad in (
        "",
        "00abc",
        "02" + "00" * 7,
        "9mlfd5vCzgGl",
        v2.upper(),
        v2 + "00",
        "01" + "zz" * 7,
    ):
        with pytest.raises(InvalidKeyset):
            keysets.check_keyset_id(bad)


def test_denominations() -> None:
    assert keysets.denominations(0) == (1,)
    assert keysets.denominations(4) == (1, 2, 4, 8, 16)
    assert keysets.denominations(63)[-1] == 2**63
    for bad in (-1, 64):
        with pytest.raises(InvalidParameters):
            keysets.denominations(bad)


@given(amount=st.integers(min_value=1, max_value=2**70), max_exponent=st.integers(0, 63))
def test_split_amount_adds_up_with_fewest_notes(amount: int, max_exponent: int) -> None:
    largest = 2**max_exponent
    needed = amount // largest + (amount % largest).bit_count()
    if needed > 1000:
        with pytest.raises(InvalidParameters):
            keysets.split_amount(amount, max_exponent, 1000)
        return
    notes = keysets.split_amount(amount, max_exponent, 1000)
    assert sum(notes) == amount
    assert len(notes) == needed
    assert list(notes) == sorted(notes)
    assert set(notes) <= set(keysets.denominations(max_exponent))


def test_split_amount_refuses_non_positive() -> None:
    for bad in (0, -5):
        with pytest.raises(InvalidParameters):
            keysets.split_amount(bad, 10, 10)
