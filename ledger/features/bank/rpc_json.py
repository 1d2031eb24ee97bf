"""The bank's JSON in the RPC API (docs/spec/rpc.md): an asset's registry
record and the JSON forms of the transfer and asset bodies. Conventions:
ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger.address import encode_address
from ledger.features.bank.assets import AssetInfo
from ledger.features.bank.bodies import BurnAsset, IssueAsset, MintAsset, Transfer
from ledger.json_forms import amount_text


def asset_json(info: AssetInfo) -> dict[str, Any]:
    """An asset's registry record; ``issuer`` is null for protocol assets."""
    return {
        "asset": info.asset,
        "issuer": encode_address(info.issuer) if info.issuer else None,
        "decimals": info.decimals,
        "maxSupply": amount_text(info.max_supply),
        "supply": amount_text(info.supply),
    }


def transfer_json(body: Transfer) -> dict[str, Any]:
    return {
        "asset": body.asset,
        "amount": amount_text(body.amount),
        "recipient": encode_address(body.recipient),
    }


def issue_json(body: IssueAsset) -> dict[str, Any]:
    return {"asset": body.asset, "decimals": body.decimals, "maxSupply": str(body.max_supply)}


def mint_json(body: MintAsset) -> dict[str, Any]:
    return {
        "asset": body.asset,
        "amount": amount_text(body.amount),
        "recipient": encode_address(body.recipient),
    }


def burn_json(body: BurnAsset) -> dict[str, Any]:
    return {"asset": body.asset, "amount": amount_text(body.amount)}
