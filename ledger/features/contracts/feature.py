"""Contracts' entry in the registry: deploy, call, fund, pay_call, scheduled runs, rent."""

from __future__ import annotations

from ledger.features.contracts.bodies import Call, Deploy, Fund, PayCall
from ledger.features.contracts.execution import (
    charge_rent,
    execute_call,
    execute_deploy,
    execute_fund,
    execute_pay_call,
    run_scheduled_contracts,
)
from ledger.features.contracts.rpc_json import call_json, deploy_json, fund_json, pay_call_json
from ledger.registry import BodyKind, Feature

FEATURE = Feature(
    name="contracts",
    body_kinds=(
        BodyKind(Deploy, execute_deploy, json=deploy_json),
        BodyKind(Call, execute_call, json=call_json),
        BodyKind(Fund, execute_fund, json=fund_json),
        BodyKind(PayCall, execute_pay_call, json=pay_call_json),
    ),
    end_block_steps=(
        ("run_scheduled_contracts", run_scheduled_contracts),
        ("charge_rent", charge_rent),
    ),
)
