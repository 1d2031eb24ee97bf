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
from ledger.registry import BodyKind, Feature

FEATURE = Feature(
    name="contracts",
    body_kinds=(
        BodyKind(Deploy, execute_deploy),
        BodyKind(Call, execute_call),
        BodyKind(Fund, execute_fund),
    ),
    end_block_steps=(
        ("run_scheduled_contracts", run_scheduled_contracts),
        ("charge_rent", charge_rent),
    ),
)
