"""The ``validator_update`` body (kind 32): add a validator, change its power
or remove it. Only the governance policy runs it, as a proposal's action
(ledger.features.policy); its rules are in ledger.features.validators.schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger import crypto
from ledger.fields import check_bytes, check_text, check_uint, ensure

MAX_VALIDATOR_POWER: Final = 1 << 60


@dataclass(frozen=True, slots=True)
class UpdateValidator:
    """Add a validator, change its power, or remove it (power 0), effective at
    height H+2 for a change executed in block H. Only valid as an action of
    the governance policy account."""

    KIND: ClassVar[int] = 32
    NAME: ClassVar[str] = "validator_update"
    public_key: bytes
    power: int
    name: str

    def to_fields(self) -> tuple[Any, ...]:
        return (self.public_key, self.power, self.name)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> UpdateValidator:
        ensure(len(fields) == 3, "validator_update has 3 fields")
        public_key, power, name = fields
        name = check_text(name, "name", 64)
        ensure(len(name) >= 1, "name must be 1-64 characters")
        public_key = check_bytes(public_key, "public_key", crypto.PUBLIC_KEY_SIZE)
        try:
            crypto.validate_public_key(public_key)
        except crypto.CryptoError as exc:
            ensure(False, f"public_key: {exc}")
        return cls(public_key, check_uint(power, "power", MAX_VALIDATOR_POWER), name)
