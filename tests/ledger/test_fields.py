"""Text fields: the identifier rules accept exactly their pattern, nothing around it."""

from __future__ import annotations

import pytest

from ledger.features.contracts.bodies import check_entry
from ledger.fields import check_asset, check_chain_id
from ledger.types import DecodeError


@pytest.mark.parametrize("check", [check_asset, check_chain_id, check_entry])
def test_a_trailing_newline_is_not_part_of_a_valid_name(check: object) -> None:
    assert callable(check)
    assert check("coin") == "coin"
    for bad in ("coin\n", "coin\r\n", "\ncoin", "coin ", ""):
        with pytest.raises(DecodeError):
            check(bad)


def test_identifier_rules() -> None:
    assert check_asset("a" * 32) == "a" * 32
    assert check_chain_id("9-chain.test") == "9-chain.test"
    assert check_entry("_main_2") == "_main_2"
    for bad_asset in ("a" * 33, "1coin", "Coin", "co in"):
        with pytest.raises(DecodeError):
            check_asset(bad_asset)
    with pytest.raises(DecodeError):
        check_chain_id("c" * 65)
