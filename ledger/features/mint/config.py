"""The mint's settings: the genesis document's ``mint`` section, stored in
state at genesis and read by every mint rule.

    "mint": {"asset": "coin", "unit": "coin", "max_exponent": 20,
             "issue_timeout_blocks": 40, "round_blocks": 8,
             "lock_window_blocks": 1, "reveal_blocks": 20,
             "keyset_grace_blocks": 100000}

- ``asset``: what deposits lock and redemptions pay out (the native coin);
- ``unit``: the keysets' unit (NUT-02), part of their ids;
- ``max_exponent``: the denominations are 1, 2, 4, ..., 2^max_exponent;
- ``issue_timeout_blocks``: a deposit (or swap) not issued within this many
  blocks is refunded;
- ``round_blocks``: a signing round whose chosen validators have not all
  answered within this many blocks starts again without the silent ones;
- ``lock_window_blocks``: for how many blocks after a note is first locked
  other redemption commitments may still claim it (validators publish no
  evaluation share before the window closes);
- ``reveal_blocks``: how long after the window a commitment may be revealed;
- ``keyset_grace_blocks``: after a rotation, for how long the old keyset's
  notes are still redeemed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.fields import ensure
from ledger.genesis import GenesisError, check_only_keys, parse_object
from ledger.state import State
from ledger.threshold.errors import ThresholdError

from .keysets import MAX_EXPONENT, check_unit

CONFIG_KEY: Final = b"Mp"
MAX_BLOCKS: Final = 10_000_000


@dataclass(frozen=True, slots=True)
class MintConfig:
    """The mint's settings (see the module docstring)."""

    asset: str = "coin"
    unit: str = "coin"
    max_exponent: int = 20
    issue_timeout_blocks: int = 40
    round_blocks: int = 8
    lock_window_blocks: int = 1
    reveal_blocks: int = 20
    keyset_grace_blocks: int = 100_000

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.asset,
            self.unit,
            self.max_exponent,
            self.issue_timeout_blocks,
            self.round_blocks,
            self.lock_window_blocks,
            self.reveal_blocks,
            self.keyset_grace_blocks,
        )

    @property
    def denominations(self) -> tuple[int, ...]:
        return tuple(1 << e for e in range(self.max_exponent + 1))

    @property
    def key_count(self) -> int:
        return self.max_exponent + 1


def config_from_value(value: object) -> MintConfig:
    """Raises DecodeError."""
    ensure(isinstance(value, tuple) and len(value) == 8, "mint config has 8 fields")
    assert isinstance(value, tuple)
    config = MintConfig(*value)
    ensure(isinstance(config.asset, str) and isinstance(config.unit, str), "asset, unit")
    ensure(all(type(v) is int for v in value[2:]), "integers")
    return config


def get_config(state: State) -> MintConfig | None:
    """The mint's settings, or None on a chain without a mint."""
    raw = state.get_raw(CONFIG_KEY)
    return None if raw is None else config_from_value(codec.decode(raw))


def set_config(state: State, config: MintConfig) -> None:
    state.set_raw(CONFIG_KEY, codec.encode(config.to_value()))


_BLOCK_FIELDS: Final = (
    "issue_timeout_blocks",
    "round_blocks",
    "lock_window_blocks",
    "reveal_blocks",
    "keyset_grace_blocks",
)


def parse_genesis_mint(document: dict[str, Any]) -> tuple[Any, ...]:
    """The document's ``mint`` section as MintConfig's value. Raises GenesisError."""
    doc = parse_object(document.get("mint"), "mint")
    check_only_keys(doc, "mint", {"asset", "unit", "max_exponent", *_BLOCK_FIELDS})
    defaults = MintConfig()
    asset = doc.get("asset", defaults.asset)
    if not isinstance(asset, str) or not 1 <= len(asset) <= 32:
        raise GenesisError("mint.asset: an asset id")
    unit = doc.get("unit", defaults.unit)
    try:
        check_unit(unit)
    except ThresholdError as exc:
        raise GenesisError(f"mint.unit: {exc}") from exc
    max_exponent = doc.get("max_exponent", defaults.max_exponent)
    if type(max_exponent) is not int or not 0 <= max_exponent <= MAX_EXPONENT:
        raise GenesisError(f"mint.max_exponent: an integer in [0, {MAX_EXPONENT}]")
    blocks = []
    for name in _BLOCK_FIELDS:
        value = doc.get(name, getattr(defaults, name))
        if type(value) is not int or not 1 <= value <= MAX_BLOCKS:
            raise GenesisError(f"mint.{name}: an integer in [1, {MAX_BLOCKS}]")
        blocks.append(value)
    return MintConfig(asset, unit, max_exponent, *blocks).to_value()
