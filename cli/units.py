"""Amounts as people type and read them: base units, with coins alongside.

Every amount on chain is a whole number of base units. An asset's
``decimals`` (display metadata, docs/spec/assets.md) says how many base units
make one whole unit: the native coin has 18 (1 coin = 10^18 base units),
the resource credits cpu, disk and net have 0.

- ``parse_amount`` reads ``1_000`` (base units) or ``1.5coin`` (whole units
  of an asset with decimals, converted exactly); anything else is refused
  with a hint saying both forms.
- ``amount_text`` writes ``5000000000000000000 base units (5 coin)`` for an
  asset with decimals and ``1000 cpu`` for one without.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from ledger.types import MAX_AMOUNT, NATIVE_ASSET

from .context import CliContext, CliError

COIN: Final = NATIVE_ASSET
COIN_DECIMALS: Final = 18
_WHOLE_UNITS: Final = re.compile(
    r"^(?P<number>[0-9][0-9_]*(\.[0-9_]+)?)\s*(?P<unit>[a-z][a-z0-9.-]*)\Z"
)

Decimals = Callable[[str], int]  # an asset's decimals (raises CliError for an unknown asset)


def coin_decimals(asset: str) -> int:
    """The decimals known without asking a node: the coin's."""
    if asset != COIN:
        raise CliError(f"the decimals of {asset!r} are not known here: give base units")
    return COIN_DECIMALS


def parse_amount(
    text: str, what: str, decimals: Decimals = coin_decimals, asset: str | None = None
) -> int:
    """Base units from ``1_000`` or from whole units like ``1.5coin``
    (``asset``, if given, is the only unit allowed). Raises CliError."""
    digits = text.strip().replace("_", "")
    if digits.isdigit():
        value = int(digits)
    else:
        match = _WHOLE_UNITS.match(text.strip())
        if match is None:
            raise CliError(
                f"{what} must be a whole number of base units, or whole units with the asset "
                f"named (1 coin = 10^{COIN_DECIMALS} base units: 1.5coin), got {text!r}"
            )
        unit = match["unit"]
        if asset is not None and unit != asset:
            raise CliError(f"{what} {text!r} is in {unit}, but the asset is {asset}")
        value = whole_units(match["number"].replace("_", ""), unit, decimals(unit), what)
    if value > MAX_AMOUNT:
        raise CliError(f"{what} must be at most 2^128-1 base units, got {text!r}")
    return value


def whole_units(number: str, asset: str, places: int, what: str) -> int:
    """``number`` whole units of an asset with ``places`` decimals, in base units.
    Raises CliError if it is not a whole number of base units."""
    scaled = Decimal(number).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise CliError(
            f"{what} {number}{asset} is not a whole number of base units "
            f"({asset} has {places} decimals)"
        )
    return int(scaled)


def scaled_text(amount: int, places: int) -> str:
    """``amount`` base units as whole units, exactly, without trailing zeros."""
    whole, fraction = divmod(amount, 10**places)
    if not fraction:
        return str(whole)
    return f"{whole}." + str(fraction).rjust(places, "0").rstrip("0")


def amount_text(amount: int, asset: str, places: int) -> str:
    """``5000000000000000000 base units (5 coin)``, or ``1000 cpu`` without decimals."""
    if places == 0:
        return f"{amount} {asset}"
    return f"{amount} base units ({scaled_text(amount, places)} {asset})"


def coin_text(amount: int) -> str:
    """An amount of coin, e.g. a fee: ``1000 base units (0.000000000000001 coin)``."""
    return amount_text(amount, COIN, COIN_DECIMALS)


def asset_decimals(cli: CliContext, asset: str) -> int:
    """An asset's decimals from the node (the coin's without asking), asked
    once per command. Raises CliError for an asset the chain does not know."""
    if asset == COIN:
        return COIN_DECIMALS
    if asset not in cli.decimals:
        info = cli.client().get_asset(asset)
        if info is None:
            raise CliError(f"no asset {asset!r} on this chain")
        cli.decimals[asset] = info.decimals
    return cli.decimals[asset]


def shown_amount(cli: CliContext, amount: int, asset: str) -> str:
    """amount_text with the asset's decimals (none for an asset the chain does not know)."""
    try:
        places = asset_decimals(cli, asset)
    except CliError:
        places = 0
    return amount_text(amount, asset, places)


def parse_asset_amount(cli: CliContext, text: str, what: str, asset: str) -> int:
    """An amount of ``asset``: base units, or whole units of it (``2.5gold``)."""
    return parse_amount(text, what, lambda unit: asset_decimals(cli, unit), asset)


def parse_count(text: str, what: str) -> int:
    """A whole number that is not an amount of an asset (voting power, gas)."""
    digits = text.strip().replace("_", "")
    if not digits.isdigit() or int(digits) > MAX_AMOUNT:
        raise CliError(f"{what} must be a whole number in [0, 2^128-1], got {text!r}")
    return int(digits)
