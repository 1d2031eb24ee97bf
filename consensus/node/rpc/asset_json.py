"""The JSON shapes of assets, offers, policy accounts and governance, the
JSON forms of transaction kinds 20-32, and the parsers of their parameters.

The conventions are those of consensus.node.rpc.json_format: amounts and powers as
decimal strings, heights, ids and counts as integers, bytes as hex,
addresses as bech32m, camelCase names. Importing this module registers the
body forms with ``json_format.register_body_json``, so transactions of these
kinds render as objects everywhere (``ledger_getTransactionByHash``,
blocks with full transactions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ledger import codec
from ledger.address import address_of, encode_address
from ledger.codec import CodecError
from ledger.features.bank.assets import AssetInfo
from ledger.features.bank.bodies import BurnAsset, IssueAsset, MintAsset
from ledger.features.barter.bodies import CancelOffer, CreateOffer, Swap, TakeBest, TakeOffer
from ledger.features.barter.offers import MAX_BOOK_OFFERS, Offer
from ledger.features.policy.accounts import Policy, Proposal
from ledger.features.policy.bodies import (
    ApproveProposal,
    CreatePolicy,
    ProposeAction,
    SpendingLimit,
    UpdatePolicy,
)
from ledger.features.validators.bodies import UpdateValidator
from ledger.features.validators.schedule import Validator
from ledger.rpc_errors import InvalidParams
from ledger.types import DecodeError, decode_body

from .json_format import amount_text, body_json, register_body_json

MAX_ID: Final = (1 << 64) - 1
DEFAULT_BOOK_DEPTH: Final = 50
MAX_BOOK_DEPTH: Final = MAX_BOOK_OFFERS  # a whole book direction


# -- records -------------------------------------------------------------------


def asset_json(info: AssetInfo) -> dict[str, Any]:
    """An asset's registry record; ``issuer`` is null for protocol assets."""
    return {
        "asset": info.asset,
        "issuer": encode_address(info.issuer) if info.issuer else None,
        "decimals": info.decimals,
        "maxSupply": amount_text(info.max_supply),
        "supply": amount_text(info.supply),
    }


def offer_json(offer: Offer) -> dict[str, Any]:
    """An open offer: ``remaining`` units of ``sellAsset`` escrowed, priced at
    ``priceBuy`` units of ``buyAsset`` per ``priceSell`` units sold."""
    return {
        "id": offer.offer_id,
        "maker": encode_address(offer.maker),
        "sellAsset": offer.sell_asset,
        "buyAsset": offer.buy_asset,
        "remaining": amount_text(offer.remaining),
        "priceSell": amount_text(offer.price_sell),
        "priceBuy": amount_text(offer.price_buy),
        "expiresAt": offer.expires_at,
    }


def limit_json(limit: SpendingLimit) -> dict[str, Any]:
    return {"asset": limit.asset, "amount": amount_text(limit.amount), "window": limit.window}


def policy_json(policy: Policy) -> dict[str, Any]:
    """A policy account: members, threshold, limits, what was spent per window,
    the pending proposal ids and the id the next proposal gets."""
    return {
        "address": encode_address(policy.address),
        "members": [encode_address(m) for m in policy.members],
        "threshold": policy.threshold,
        "limits": [limit_json(limit) for limit in policy.limits],
        "spending": [
            {"asset": s.asset, "windowIndex": s.window_index, "spent": amount_text(s.spent)}
            for s in policy.spending
        ],
        "pendingProposals": list(policy.pending),
        "nextProposalId": policy.next_proposal,
        "governance": policy.governance,
    }


def action_json(action: bytes) -> dict[str, Any] | None:
    """A proposal's action as ``{"kind", "kindId", "body"}``; None if the bytes
    do not decode to a known body (the chain checks actions when proposed)."""
    try:
        body = decode_body(codec.decode(action))
    except (CodecError, DecodeError):
        return None
    return {"kind": body.NAME, "kindId": body.KIND, "body": body_json(body)}


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    """A pending proposal with its decoded action and its approvals so far."""
    return {
        "policy": encode_address(proposal.policy),
        "id": proposal.proposal_id,
        "proposer": encode_address(proposal.proposer),
        "expiresAt": proposal.expires_at,
        "approvals": [encode_address(a) for a in proposal.approvals],
        "action": action_json(proposal.action),
        "actionHex": proposal.action.hex(),
    }


def validator_json(validator: Validator) -> dict[str, Any]:
    return {
        "address": encode_address(validator.address),
        "publicKey": validator.public_key.hex(),
        "power": amount_text(validator.power),
        "name": validator.name,
    }


def schedule_entry_json(activation: int, validators: tuple[Validator, ...]) -> dict[str, Any]:
    return {
        "activationHeight": activation,
        "totalPower": amount_text(sum(v.power for v in validators)),
        "validators": [validator_json(v) for v in validators],
    }


# -- transaction bodies (kinds 20-32) -----------------------------------------


def _issue_json(body: IssueAsset) -> dict[str, Any]:
    return {"asset": body.asset, "decimals": body.decimals, "maxSupply": str(body.max_supply)}


def _mint_json(body: MintAsset) -> dict[str, Any]:
    return {
        "asset": body.asset,
        "amount": amount_text(body.amount),
        "recipient": encode_address(body.recipient),
    }


def _burn_json(body: BurnAsset) -> dict[str, Any]:
    return {"asset": body.asset, "amount": amount_text(body.amount)}


def _offer_body_json(body: CreateOffer) -> dict[str, Any]:
    return {
        "sellAsset": body.sell_asset,
        "amount": amount_text(body.amount),
        "buyAsset": body.buy_asset,
        "priceSell": amount_text(body.price_sell),
        "priceBuy": amount_text(body.price_buy),
        "expiresAt": body.expires_at,
    }


def _take_json(body: TakeOffer) -> dict[str, Any]:
    return {"offerId": body.offer_id, "amount": amount_text(body.amount)}


def _take_best_json(body: TakeBest) -> dict[str, Any]:
    return {
        "sellAsset": body.sell_asset,
        "buyAsset": body.buy_asset,
        "amount": amount_text(body.amount),
        "limitSell": amount_text(body.limit_sell),
        "limitBuy": amount_text(body.limit_buy),
    }


def _cancel_json(body: CancelOffer) -> dict[str, Any]:
    return {"offerId": body.offer_id}


def _swap_json(body: Swap) -> dict[str, Any]:
    return {
        "counterparty": encode_address(address_of(body.counterparty)),
        "counterpartyKey": body.counterparty.hex(),
        "giveAsset": body.give_asset,
        "giveAmount": amount_text(body.give_amount),
        "getAsset": body.get_asset,
        "getAmount": amount_text(body.get_amount),
        "expiresAt": body.expires_at,
        "counterpartyNonce": amount_text(body.counterparty_nonce),
        "counterpartySignature": body.counterparty_signature.hex(),
    }


def _policy_body_json(body: CreatePolicy | UpdatePolicy) -> dict[str, Any]:
    return {
        "members": [encode_address(m) for m in body.members],
        "threshold": body.threshold,
        "limits": [limit_json(limit) for limit in body.limits],
    }


def _propose_json(body: ProposeAction) -> dict[str, Any]:
    return {
        "policy": encode_address(body.policy),
        "action": action_json(body.action),
        "actionHex": body.action.hex(),
        "expiresAt": body.expires_at,
    }


def _approve_json(body: ApproveProposal) -> dict[str, Any]:
    return {"policy": encode_address(body.policy), "proposalId": body.proposal_id}


def _validator_update_json(body: UpdateValidator) -> dict[str, Any]:
    return {
        "publicKey": body.public_key.hex(),
        "address": encode_address(address_of(body.public_key)),
        "power": amount_text(body.power),
        "name": body.name,
    }


BODY_FORMS: Final[dict[int, Callable[[Any], dict[str, Any]]]] = {
    IssueAsset.KIND: _issue_json,
    MintAsset.KIND: _mint_json,
    BurnAsset.KIND: _burn_json,
    CreateOffer.KIND: _offer_body_json,
    TakeOffer.KIND: _take_json,
    TakeBest.KIND: _take_best_json,
    CancelOffer.KIND: _cancel_json,
    Swap.KIND: _swap_json,
    CreatePolicy.KIND: _policy_body_json,
    ProposeAction.KIND: _propose_json,
    ApproveProposal.KIND: _approve_json,
    UpdatePolicy.KIND: _policy_body_json,
    UpdateValidator.KIND: _validator_update_json,
}

for _kind, _render in BODY_FORMS.items():
    register_body_json(_kind, _render)


# -- input -----------------------------------------------------------------------


def parse_id(value: object, name: str) -> int:
    """An offer or proposal id: a JSON integer in [0, 2^64-1]."""
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise InvalidParams(f"{name}: expected an integer in [0, 2^64-1]", {"param": name})
    return value


def parse_depth(value: object, name: str = "depth") -> int:
    """How many offers of a book to return: an integer in [1, MAX_BOOK_DEPTH]."""
    if type(value) is not int or not 1 <= value <= MAX_BOOK_DEPTH:
        raise InvalidParams(
            f"{name}: expected an integer in [1, {MAX_BOOK_DEPTH}]", {"param": name}
        )
    return value
