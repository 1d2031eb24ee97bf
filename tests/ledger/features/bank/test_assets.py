"""Assets: the registry, issue, mint, burn, validator credits; pre / operation / post."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.exceptions import AlreadyExists, LimitExceeded, NotAuthorized, UnknownRecord
from ledger.features.bank.assets import PROTOCOL_ISSUER, asset_info, split_by_power, supply
from ledger.features.bank.bodies import BurnAsset, IssueAsset, MintAsset, Transfer
from ledger.fields import MAX_AMOUNT, DecodeError
from ledger.types import decode_body, encode_body
from tests.ledger.memory_chain import ADDRS, FUNDED, PROPOSER, MemoryChain, make_genesis


def issued_chain(max_supply: int = 1_000) -> MemoryChain:
    chain = MemoryChain(make_genesis())
    assert chain.submit(0, IssueAsset("alice.cpuh", 2, max_supply)).status == 0
    return chain


def test_genesis_registers_native_and_allocated_assets() -> None:
    chain = MemoryChain(make_genesis(accounts=3, balances={"coin": 100, "gold": 7}))
    coin = asset_info(chain.reader, "coin")
    assert coin is not None and coin.issuer == PROTOCOL_ISSUER and coin.decimals == 18
    assert coin.supply == 300
    assert supply(chain.reader, "gold") == 21
    for credit in ("cpu", "disk", "net"):
        info = asset_info(chain.reader, credit)
        assert info is not None and info.supply == 0 and info.decimals == 0
    assert asset_info(chain.reader, "nothing") is None and supply(chain.reader, "nothing") == 0


def test_issue_registers_the_sender_as_issuer_with_zero_supply() -> None:
    chain = issued_chain()
    info = asset_info(chain.reader, "alice.cpuh")
    assert info is not None
    assert (info.issuer, info.decimals, info.max_supply, info.supply) == (ADDRS[0], 2, 1_000, 0)


def test_mint_credits_the_recipient_and_raises_the_supply() -> None:
    chain = issued_chain()
    receipt = chain.submit(0, MintAsset("alice.cpuh", 400, ADDRS[1]))
    assert receipt.status == 0 and receipt.events[0].kind == "mint"
    assert chain.balance(1, "alice.cpuh") == 400
    assert supply(chain.reader, "alice.cpuh") == 400


def test_burn_destroys_the_issuers_own_units() -> None:
    chain = issued_chain()
    chain.submit(0, MintAsset("alice.cpuh", 400, ADDRS[0]))
    assert chain.submit(0, BurnAsset("alice.cpuh", 150)).status == 0
    assert chain.balance(0, "alice.cpuh") == 250
    assert supply(chain.reader, "alice.cpuh") == 250


def test_mint_up_to_exactly_the_maximum_supply() -> None:
    chain = issued_chain(max_supply=MAX_AMOUNT)
    assert chain.submit(0, MintAsset("alice.cpuh", MAX_AMOUNT, ADDRS[2])).status == 0
    assert chain.balance(2, "alice.cpuh") == MAX_AMOUNT


def test_issued_asset_moves_by_transfer() -> None:
    chain = issued_chain()
    chain.submit(0, MintAsset("alice.cpuh", 10, ADDRS[0]))
    assert chain.submit(0, Transfer("alice.cpuh", 4, ADDRS[3])).status == 0
    assert chain.balance(3, "alice.cpuh") == 4


@pytest.mark.parametrize("asset", ["coin", "cpu", "disk", "net", "alice.cpuh"])
def test_invalid_issue_of_a_taken_id(asset: str) -> None:
    chain = issued_chain()
    receipt = chain.submit(1, IssueAsset(asset, 0, 5))
    assert receipt.status == AlreadyExists.status and "taken" in receipt.error
    info = asset_info(chain.reader, asset)
    assert info is not None and info.issuer != ADDRS[1]


def test_invalid_mint_by_someone_else() -> None:
    chain = issued_chain()
    receipt = chain.submit(1, MintAsset("alice.cpuh", 1, ADDRS[1]))
    assert receipt.status == NotAuthorized.status
    assert chain.balance(1, "alice.cpuh") == 0 and supply(chain.reader, "alice.cpuh") == 0


def test_invalid_mint_of_a_protocol_asset() -> None:
    chain = issued_chain()
    assert chain.submit(0, MintAsset("coin", 1, ADDRS[0])).status == NotAuthorized.status


def test_invalid_mint_of_an_unknown_asset() -> None:
    chain = issued_chain()
    assert chain.submit(0, MintAsset("ghost", 1, ADDRS[0])).status == UnknownRecord.status


def test_invalid_mint_beyond_the_maximum_supply() -> None:
    chain = issued_chain(max_supply=100)
    chain.submit(0, MintAsset("alice.cpuh", 60, ADDRS[0]))
    receipt = chain.submit(0, MintAsset("alice.cpuh", 41, ADDRS[0]))
    assert receipt.status == LimitExceeded.status
    assert supply(chain.reader, "alice.cpuh") == 60


def test_invalid_burn_by_a_holder_who_is_not_the_issuer() -> None:
    chain = issued_chain()
    chain.submit(0, MintAsset("alice.cpuh", 10, ADDRS[1]))
    assert chain.submit(1, BurnAsset("alice.cpuh", 5)).status == NotAuthorized.status
    assert chain.balance(1, "alice.cpuh") == 10


def test_invalid_burn_beyond_the_issuers_balance() -> None:
    chain = issued_chain()
    chain.submit(0, MintAsset("alice.cpuh", 10, ADDRS[0]))
    assert chain.submit(0, BurnAsset("alice.cpuh", 11)).status == 2
    assert supply(chain.reader, "alice.cpuh") == 10


@pytest.mark.parametrize(
    "value",
    [
        (20, "Bad", 0, 1),
        (20, "ok", 39, 1),
        (20, "ok", 0, 0),
        (20, "ok", 0, MAX_AMOUNT + 1),
        (20, "ok", 0),
        (21, "ok", 0, b"\x00" * 20),
        (21, "ok", 1, b"\x00" * 19),
        (22, "ok", 0),
    ],
)
def test_invalid_asset_bodies_do_not_decode(value: tuple[object, ...]) -> None:
    with pytest.raises(DecodeError):
        decode_body(value)


def test_asset_bodies_round_trip() -> None:
    for body in (IssueAsset("x", 3, 9), MintAsset("x", 1, ADDRS[0]), BurnAsset("x", 2)):
        assert decode_body(encode_body(body)) == body


# -- validator credits ---------------------------------------------------------


def test_credits_split_by_power_with_rotating_remainder() -> None:
    assert split_by_power(100, [1, 2, 3], height=0) == [17, 33, 50]
    assert split_by_power(100, [1, 2, 3], height=1) == [16, 34, 50]
    assert split_by_power(100, [1, 2, 3], height=2) == [16, 33, 51]
    assert split_by_power(7, [5], height=9) == [7]


@given(
    st.integers(0, MAX_AMOUNT),
    st.lists(st.integers(1, 1 << 60), min_size=1, max_size=100),
    st.integers(0, 1 << 40),
)
def test_credit_shares_sum_to_the_amount_and_stay_proportional(
    amount: int, powers: list[int], height: int
) -> None:
    shares = split_by_power(amount, powers, height)
    total = sum(powers)
    assert sum(shares) == amount
    for share, power in zip(shares, powers, strict=True):
        assert amount * power // total <= share <= amount * power // total + 1


def test_every_block_mints_credits_to_the_validators_by_power() -> None:
    params = {"cpu_credits_per_block": "600", "disk_credits_per_block": "60"}
    chain = MemoryChain(make_genesis(params=params, powers=(1, 2, 3)))
    validators = {address for address in _validator_addresses(chain)}
    chain.run([])
    chain.run([])
    minted = {v: chain.balance(v, "cpu") for v in validators}
    assert sorted(minted.values()) == [200, 400, 600]
    assert supply(chain.reader, "cpu") == 6 * FUNDED + 1200
    assert supply(chain.reader, "disk") == 6 * FUNDED + 120
    assert supply(chain.reader, "net") == 0  # zero per block: nothing minted
    assert all(e.kind == "mint" for e in chain.block_events)
    assert sum(dict(e.attributes)["amount"] for e in chain.block_events) == 660
    assert chain.holdings() == chain.supplies()


def test_credit_minting_stops_at_the_largest_amount() -> None:
    params = {"net_credits_per_block": str(MAX_AMOUNT)}
    chain = MemoryChain(make_genesis(balances={"coin": FUNDED, "net": 5}, params=params))
    chain.run([])
    chain.run([])
    assert supply(chain.reader, "net") == MAX_AMOUNT
    assert chain.balance(PROPOSER, "net") == MAX_AMOUNT - 6 * 5


def _validator_addresses(chain: MemoryChain) -> list[bytes]:
    from ledger.features.validators.schedule import validator_set_for_height

    return [v.address for v in validator_set_for_height(chain.reader, chain.height + 1)]
