"""The simulation at CI scale: CI_SEEDS seeds of every default configuration
(in chunks, so pytest -n 2 spreads them), each Byzantine behaviour alone,
equivocations detected and recorded, exact replay, crash safety, and the
power modes. The mutation gate is in test_mutation_gate.py; the slow profile
(LEDGER_SLOW_TESTS=1) runs SLOW_SEEDS seeds of every default configuration."""

from __future__ import annotations

import pytest

from consensus.engine.simulation import (
    BYZANTINE_MODES,
    DEFAULT_CONFIGS,
    SimConfig,
    SimResult,
    Simulation,
    run_seed,
)

CI_SEEDS = 200
CHUNK = 50
SLOW_SEEDS = 20_000
SLOW_CHUNK = 1_000


def failures(results: list[SimResult]) -> list[str]:
    return [f"seed {r.seed} ({r.byzantine}): {r.violations[0]}" for r in results if not r.ok]


@pytest.mark.parametrize("start", range(0, CI_SEEDS, CHUNK))
@pytest.mark.parametrize("name", DEFAULT_CONFIGS)
def test_default_configurations(name: str, start: int) -> None:
    config = DEFAULT_CONFIGS[name]
    results = [run_seed(seed, config) for seed in range(start, start + CHUNK)]
    assert failures(results) == []
    assert all(r.heights >= config.heights for r in results)


@pytest.mark.parametrize("mode", BYZANTINE_MODES)
def test_each_byzantine_behaviour_alone(mode: str) -> None:
    config = SimConfig(validators=4, byzantine=1, byzantine_modes=(mode,))
    results = [run_seed(seed, config) for seed in range(1000, 1020)]
    assert failures(results) == []
    assert all(r.byzantine == {next(iter(r.byzantine)): mode} for r in results)


def test_invalid_messages_are_rejected_not_kept() -> None:
    # garbage, swap and flood send provably bad messages; honest engines reject them.
    for mode in ("garbage", "swap", "flood"):
        config = SimConfig(validators=4, byzantine=1, byzantine_modes=(mode,))
        results = [run_seed(seed, config) for seed in range(10)]
        assert failures(results) == []
        assert sum(r.rejected for r in results) > 0, mode


def test_split_equivocations_are_detected_like_double_votes() -> None:
    """``equivocate`` splits its proposals and votes between two halves of
    the network, so no honest node gets both unless honest nodes relay them;
    its equivocations must be detected about as often as ``double-vote``'s.
    (Every one detected until a run's heights are done is recorded on chain:
    the simulation's invariant, checked by failures().)"""
    rates = {}
    for mode in ("equivocate", "double-vote"):
        config = SimConfig(validators=4, byzantine=1, byzantine_modes=(mode,))
        results = [run_seed(seed, config) for seed in range(20)]
        assert failures(results) == []
        equivocations = sum(r.equivocations for r in results)
        detected = sum(r.detected for r in results)
        assert equivocations > 50, mode
        assert sum(r.recorded for r in results) > 0
        rates[mode] = detected / equivocations
    assert rates["equivocate"] >= 0.7 * rates["double-vote"], rates


def test_a_seed_replays_exactly() -> None:
    config = DEFAULT_CONFIGS["7x2-max"]
    first, second = run_seed(123, config), run_seed(123, config)
    assert first.trace_digest == second.trace_digest
    assert (first.heights, first.ticks, first.events) == (
        second.heights,
        second.ticks,
        second.events,
    )
    assert run_seed(124, config).trace_digest != first.trace_digest


def test_crashes_wal_failures_and_lost_wals_never_double_sign() -> None:
    # Many crashes, cut anywhere in an action list, failing WAL writes and
    # lost WALs, restarted from what the node kept: the harness checks every
    # honest broadcast against all earlier ones, and each against the WAL.
    config = SimConfig(
        validators=4, byzantine=1, crash_rate=0.05, wal_fail_rate=0.1, wal_loss_rate=0.5
    )
    results = [run_seed(seed, config) for seed in range(40)]
    assert failures(results) == []
    assert sum(r.crashes for r in results) > 200


def test_without_faults_everything_commits_quickly() -> None:
    config = SimConfig(validators=4, byzantine=0, faults=(), unstable_ticks=0, heights=10)
    result = run_seed(7, config)
    assert result.ok and result.heights >= 10


@pytest.mark.parametrize("name", DEFAULT_CONFIGS)
def test_byzantine_power_stays_below_a_third(name: str) -> None:
    """At every committed height, and just under a third where the
    configuration says so (issue 20, section 4)."""
    config = DEFAULT_CONFIGS[name]
    largest = 0.0
    for seed in range(20):
        sim = Simulation(seed, config)
        sim.run()
        app = sim.honest_node().app
        faulty = {sim.nodes[i].address for i in sim.byzantine}
        for height, validators in app.sets.items():
            power = sum(v.power for v in validators.validators if v.address in faulty)
            assert 3 * power < validators.total_power, (seed, height)
            if height == 1:
                largest = max(largest, power / validators.total_power)
    if config.powers == "equal":
        assert largest == config.byzantine / config.validators
    if config.powers == "max-byzantine":
        assert largest > 0.3
    if config.powers == "light-byzantine":
        assert 3 * config.byzantine >= config.validators  # a third or more by number


@pytest.mark.slow
@pytest.mark.parametrize("start", range(0, SLOW_SEEDS, SLOW_CHUNK))
@pytest.mark.parametrize("name", DEFAULT_CONFIGS)
def test_many_more_seeds(name: str, start: int) -> None:
    config = DEFAULT_CONFIGS[name]
    results = [run_seed(seed, config) for seed in range(start, start + SLOW_CHUNK)]
    assert failures(results) == []
