"""Contracts' entry in the registry: deploy, call, fund, pay_call, scheduled runs, rent."""

from __future__ import annotations

from ledger.features.contracts.bodies import Call, Deploy, Fund, PayCall
from ledger.features.contracts.credits import (
    call_gas,
    call_spends,
    deploy_gas_of,
    deploy_spends,
    fund_spends,
    pay_call_gas,
    pay_call_spends,
)
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
        BodyKind(Deploy, execute_deploy, json=deploy_json, gas=deploy_gas_of, spends=deploy_spends),
        BodyKind(Call, execute_call, json=call_json, gas=call_gas, spends=call_spends),
        BodyKind(Fund, execute_fund, json=fund_json, spends=fund_spends),
        BodyKind(
            PayCall, execute_pay_call, json=pay_call_json, gas=pay_call_gas, spends=pay_call_spends
        ),
    ),
    end_block_steps=(
        ("run_scheduled_contracts", run_scheduled_contracts),
        ("charge_rent", charge_rent),
    ),
)
