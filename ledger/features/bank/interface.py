"""What other features may use of the bank: an asset must exist before it is
traded (barter), and credits burned for contract work leave the asset's
recorded supply (contracts). Everything else in ledger.features.bank is its own."""

from __future__ import annotations

from ledger.features.bank.assets import AssetInfo, record_burn, require_asset

__all__ = ["AssetInfo", "record_burn", "require_asset"]
