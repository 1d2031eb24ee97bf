"""The validators' JSON in the RPC API (docs/spec/rpc.md): a validator, an
entry of the validator schedule, and the JSON form of ``validator_update``.
Conventions: ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger.address import address_of, encode_address
from ledger.features.validators.bodies import UpdateValidator
from ledger.features.validators.schedule import Validator
from ledger.json_forms import amount_text


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


def validator_update_json(body: UpdateValidator) -> dict[str, Any]:
    return {
        "publicKey": body.public_key.hex(),
        "address": encode_address(address_of(body.public_key)),
        "power": amount_text(body.power),
        "name": body.name,
    }
