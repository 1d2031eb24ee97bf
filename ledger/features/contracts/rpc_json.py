"""Contracts' JSON in the RPC API (docs/spec/rpc.md): a contract, a mailbox
message, a contract value, and the JSON forms of the deploy, call, fund and
pay_call bodies. Conventions: ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger.address import encode_address
from ledger.crypto import sha256
from ledger.features.contracts.bodies import Call, Deploy, Fund, PayCall
from ledger.json_forms import amount_text
from vm.values import Value


def vm_value_json(value: Value) -> dict[str, str]:
    """A contract value (an argument, a stored message's argument):
    ``{"type": "int", "value": decimal}`` or ``{"type": "bytes", "value": hex}``."""
    if isinstance(value, int):
        return {"type": "int", "value": str(value)}
    return {"type": "bytes", "value": value.hex()}


def deploy_json(body: Deploy) -> dict[str, Any]:
    schedule = body.schedule
    return {
        "module": body.module.hex(),
        "codeHash": sha256(body.module).hex(),
        "cpu": amount_text(body.cpu),
        "disk": amount_text(body.disk),
        "net": amount_text(body.net),
        "salt": body.salt.hex(),
        "schedule": None
        if schedule is None
        else {
            "entry": schedule.entry,
            "interval": schedule.interval,
            "gas": amount_text(schedule.gas),
        },
    }


def call_json(body: Call) -> dict[str, Any]:
    return {
        "contract": encode_address(body.contract),
        "entry": body.entry,
        "args": [vm_value_json(a) for a in body.args],
        "gasLimit": amount_text(body.gas_limit),
    }


def pay_call_json(body: PayCall) -> dict[str, Any]:
    return {**call_json(body.as_call()), "amount": amount_text(body.amount)}


def fund_json(body: Fund) -> dict[str, Any]:
    return {
        "contract": encode_address(body.contract),
        "cpu": amount_text(body.cpu),
        "disk": amount_text(body.disk),
        "net": amount_text(body.net),
    }


def contract_json(info: dict[str, Any]) -> dict[str, Any]:
    """A contract as ledger.features.contracts.execution.contract_info describes it."""
    schedule = info["schedule"]
    return {
        "address": encode_address(info["address"]),
        "codeHash": info["code_hash"].hex(),
        "codeSize": info["code_size"],
        "entryPoints": list(info["entry_points"]),
        "deployer": encode_address(info["deployer"]),
        "created": info["created"],
        "storageKeys": info["storage_keys"],
        "storageBytes": info["storage_bytes"],
        "rentBytes": info["rent_bytes"],
        "rentPerBlock": amount_text(info["rent_per_block"]),
        "schedule": None
        if schedule is None
        else {
            "entry": schedule["entry"],
            "interval": schedule["interval"],
            "gas": amount_text(schedule["gas"]),
        },
        "nextRun": info["next_run"],
        "balances": {asset: amount_text(amount) for asset, amount in info["balances"].items()},
    }


def mail_json(mail: dict[str, Any]) -> dict[str, Any]:
    """A mailbox message as ledger.features.contracts.execution.mailbox describes it. ``payload``
    is the hex of the single byte-string argument of a ``deliver(payload)``
    message (what a relay sends), else null."""
    args = mail["args"]
    payload = args[0].hex() if len(args) == 1 and isinstance(args[0], bytes) else None
    return {
        "sequence": mail["sequence"],
        "sender": encode_address(mail["sender"]),
        "height": mail["height"],
        "entry": mail["entry"],
        "args": [vm_value_json(a) for a in args],
        "payload": payload,
    }
