"""Contracts' entry in the registry: deploy, call, fund, scheduled runs, rent."""

from __future__ import annotations

from ledger.features.contracts.bodies import Call, Deploy, Fund
from ledger.features.contracts.execution import (
    charge_rent,
    execute_call,
    execute_deploy,
    execute_fund,
    run_scheduled_contracts,
)
from ledger.features.contracts.rpc_json import call_json, deploy_json, fund_json
from ledger.registry import BodyKind, Feature

FEATURE = Feature(
    name="contracts",
    body_kinds=(
        BodyKind(Deploy, execute_deploy, json=deploy_json),
        BodyKind(Call, execute_call, json=call_json),
        BodyKind(Fund, execute_fund, json=fund_json),
    ),
    end_block_steps=(
        ("run_scheduled_contracts", run_scheduled_contracts),
        ("charge_rent", charge_rent),
    ),
)
