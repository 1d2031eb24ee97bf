"""Build and sign transactions of kinds 20-32: assets, barter, policy accounts.

Each builder takes friendly values (addresses as ``lg1...`` text or 20
bytes, members in any order) and returns the body, checked with the same
rules the node applies when it decodes it, so a bad argument fails here
with ``DecodeError`` naming the field instead of coming back from the node
as a malformed transaction. ``sign_body`` makes the signed transaction;
``LedgerClient.send_body`` (and the async twin) fills in the fee and the
nonce and sends it:

    from ledger.client import LedgerClient, asset_transactions as build

    client = LedgerClient()
    sent = client.send_body(key, build.create_offer("cpu", 1_000, "coin", 1, 5, expires_at=500))

Two-party swaps need the counterparty's signature first: see
ledger.client.swap_terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from ledger.address import decode_address
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import BurnAsset, IssueAsset, MintAsset, Transfer
from ledger.features.barter.bodies import CancelOffer, CreateOffer, TakeBest, TakeOffer
from ledger.features.policy.bodies import (
    ApproveProposal,
    CreatePolicy,
    ProposeAction,
    SpendingLimit,
    UpdatePolicy,
    encode_action,
)
from ledger.features.validators.bodies import UpdateValidator
from ledger.fields import ensure
from ledger.types import Body, Transaction, decode_body, encode_body

from .calls import Address

B = TypeVar("B", bound=Body)


def address_bytes(address: Address) -> bytes:
    """20 bytes from ``lg1...`` text or 20 bytes. Raises AddressError."""
    return decode_address(address) if isinstance(address, str) else address


def checked(body: B) -> B:
    """``body`` if it passes the node's decoding rules. Raises DecodeError."""
    decoded = decode_body(encode_body(body))
    ensure(decoded == body, f"{body.NAME} does not round-trip")  # a builder bug if it fires
    return body


def sign_body(key: SigningKey, chain_id: str, nonce: int, fee: int, body: Body) -> Transaction:
    """A signed transaction carrying ``body`` from ``key``'s account (nothing is sent)."""
    return Transaction(chain_id, key.public_key, nonce, fee, body).signed(key)


# -- assets ----------------------------------------------------------------------


def issue_asset(asset: str, max_supply: int, decimals: int = 0) -> IssueAsset:
    """Register ``asset`` with the sender as issuer (supply starts at 0)."""
    return checked(IssueAsset(asset, decimals, max_supply))


def mint_asset(asset: str, amount: int, recipient: Address) -> MintAsset:
    """The issuer creates ``amount`` new units for ``recipient``."""
    return checked(MintAsset(asset, amount, address_bytes(recipient)))


def burn_asset(asset: str, amount: int) -> BurnAsset:
    """The issuer destroys ``amount`` units of its own balance."""
    return checked(BurnAsset(asset, amount))


# -- barter ----------------------------------------------------------------------


def create_offer(
    sell_asset: str, amount: int, buy_asset: str, price_sell: int, price_buy: int, expires_at: int
) -> CreateOffer:
    """Escrow ``amount`` of ``sell_asset``, asking ``price_buy`` units of
    ``buy_asset`` per ``price_sell`` units sold, through block ``expires_at``."""
    return checked(CreateOffer(sell_asset, amount, buy_asset, price_sell, price_buy, expires_at))


def take_offer(offer_id: int, amount: int) -> TakeOffer:
    """Buy up to ``amount`` units of what offer ``offer_id`` sells, at its price."""
    return checked(TakeOffer(offer_id, amount))


def take_best(
    sell_asset: str, buy_asset: str, amount: int, limit_sell: int, limit_buy: int
) -> TakeBest:
    """Buy up to ``amount`` of ``sell_asset`` (what the makers sell) paying
    ``buy_asset``, best offers first, at most ``limit_buy`` per ``limit_sell``."""
    return checked(TakeBest(sell_asset, buy_asset, amount, limit_sell, limit_buy))


def cancel_offer(offer_id: int) -> CancelOffer:
    """Close one's own offer; the escrow comes back."""
    return checked(CancelOffer(offer_id))


# -- policy accounts ---------------------------------------------------------------


def spending_limits(limits: Iterable[tuple[str, int, int]]) -> tuple[SpendingLimit, ...]:
    """``(asset, amount, window)`` triples as spending limits, sorted by asset."""
    return tuple(sorted((SpendingLimit(*limit) for limit in limits), key=lambda x: x.asset))


def members_of(members: Iterable[Address]) -> tuple[bytes, ...]:
    """Member addresses, sorted ascending (the order the chain requires)."""
    return tuple(sorted(address_bytes(m) for m in members))


def create_policy(
    members: Iterable[Address], threshold: int, limits: Iterable[tuple[str, int, int]] = ()
) -> CreatePolicy:
    """A new ``threshold``-of-n policy account. Raises DecodeError for a
    repeated member, a threshold outside [1, n], or repeated limit assets."""
    return checked(CreatePolicy(members_of(members), threshold, spending_limits(limits)))


def update_policy(
    members: Iterable[Address], threshold: int, limits: Iterable[tuple[str, int, int]] = ()
) -> UpdatePolicy:
    """The action that replaces a policy's members, threshold and limits
    (only valid inside ``propose``)."""
    return checked(UpdatePolicy(members_of(members), threshold, spending_limits(limits)))


def update_validator(public_key: bytes, power: int, name: str) -> UpdateValidator:
    """The governance action that adds, changes (or with power 0 removes) a validator."""
    return checked(UpdateValidator(public_key, power, name))


def transfer(asset: str, amount: int, recipient: Address) -> Transfer:
    """A transfer (as a policy action: from the policy account)."""
    return checked(Transfer(asset, amount, address_bytes(recipient)))


def propose(policy: Address, action: Body, expires_at: int) -> ProposeAction:
    """A member proposes that ``policy`` executes ``action``; counts as the
    proposer's approval. The proposal lives through block ``expires_at``."""
    return checked(ProposeAction(address_bytes(policy), encode_action(action), expires_at))


def approve(policy: Address, proposal_id: int) -> ApproveProposal:
    """A member approves proposal ``proposal_id``; the k-th approval executes it."""
    return checked(ApproveProposal(address_bytes(policy), proposal_id))
