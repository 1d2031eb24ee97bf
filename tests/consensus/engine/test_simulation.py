"""The simulation at CI scale: 500 seeds at 4 validators with 1 Byzantine and
500 at 7 with 2 (in chunks, so pytest -n 2 spreads them), exact replay, crash
safety, and a mutant engine that ignores its lock, which the simulation must
catch."""

from __future__ import annotations

import pytest

from consensus.engine.engine import Engine
from consensus.engine.simulation import BYZANTINE_MODES, SimConfig, SimResult, run_seed

CHUNK = 50


def failures(results: list[SimResult]) -> list[str]:
    return [f"seed {r.seed} ({r.byzantine}): {r.violations[0]}" for r in results if not r.ok]


@pytest.mark.parametrize("start", range(0, 500, CHUNK))
def test_seeds_4_validators_1_byzantine(start: int) -> None:
    config = SimConfig(validators=4, byzantine=1)
    results = [run_seed(seed, config) for seed in range(start, start + CHUNK)]
    assert failures(results) == []
    assert all(r.heights >= config.heights for r in results)


@pytest.mark.parametrize("start", range(0, 500, CHUNK))
def test_seeds_7_validators_2_byzantine(start: int) -> None:
    config = SimConfig(validators=7, byzantine=2)
    results = [run_seed(seed, config) for seed in range(start, start + CHUNK)]
    assert failures(results) == []


@pytest.mark.parametrize("mode", BYZANTINE_MODES)
def test_each_byzantine_behaviour_alone(mode: str) -> None:
    config = SimConfig(validators=4, byzantine=1, byzantine_modes=(mode,))
    results = [run_seed(seed, config) for seed in range(1000, 1030)]
    assert failures(results) == []
    assert all(r.byzantine == {next(iter(r.byzantine)): mode} for r in results)


def test_equivocation_is_reported_as_evidence() -> None:
    config = SimConfig(validators=4, byzantine=1, byzantine_modes=("double-vote",))
    results = [run_seed(seed, config) for seed in range(20)]
    assert failures(results) == []
    assert sum(r.evidence for r in results) > 0


def test_a_seed_replays_exactly() -> None:
    config = SimConfig(validators=4, byzantine=1)
    first, second = run_seed(123, config), run_seed(123, config)
    assert first.trace_digest == second.trace_digest
    assert (first.heights, first.ticks, first.events) == (
        second.heights,
        second.ticks,
        second.events,
    )
    assert run_seed(124, config).trace_digest != first.trace_digest


def test_crashes_and_restarts_never_double_sign() -> None:
    # Many crashes, cut anywhere in an action list, restarted from the persisted
    # record: the harness checks every honest broadcast against all earlier ones.
    config = SimConfig(validators=4, byzantine=1, crash_rate=0.05)
    results = [run_seed(seed, config) for seed in range(40)]
    assert failures(results) == []
    assert sum(r.crashes for r in results) > 200


def test_without_faults_everything_commits_quickly() -> None:
    config = SimConfig(validators=4, byzantine=0, faults=(), unstable_ticks=0, heights=10)
    result = run_seed(7, config)
    assert result.ok and result.heights >= 10


class LockIgnoringEngine(Engine):
    """A mutant: it prevotes any valid proposal, whatever it is locked on
    (lines 23 and 29 without their lock condition)."""

    def _lock_allows(self, block_hash: bytes, pol_round: int) -> bool:
        return True


# Lossy network, one Byzantine validator that attacks locks ("amnesia": it
# proposes fresh blocks and votes for everything), equal powers so it
# proposes often.
MUTANT_HUNT = SimConfig(
    validators=4,
    byzantine=1,
    byzantine_modes=("amnesia",),
    max_power=1,
    drop_rate=0.3,
    faults=("drop",),
    unstable_ticks=2000,
    heights=10,
)


def test_the_simulation_catches_a_lock_ignoring_mutant() -> None:
    caught = None
    for seed in range(100):
        result = run_seed(seed, MUTANT_HUNT, engine_factory=LockIgnoringEngine)
        if not result.ok:
            caught = result
            break
    assert caught is not None, "the mutant survived 100 seeds"
    assert caught.violations[0].invariant == "agreement"
    # The failing seed replays exactly, and the real engine survives it.
    again = run_seed(caught.seed, MUTANT_HUNT, engine_factory=LockIgnoringEngine)
    assert again.violations == caught.violations
    assert again.trace_digest == caught.trace_digest
    assert run_seed(caught.seed, MUTANT_HUNT).ok


def test_the_correct_engine_survives_the_mutant_hunt() -> None:
    results = [run_seed(seed, MUTANT_HUNT) for seed in range(20)]
    assert failures(results) == []


@pytest.mark.slow
@pytest.mark.parametrize("validators,byzantine", [(4, 1), (7, 2), (10, 3)])
def test_many_more_seeds(validators: int, byzantine: int) -> None:
    config = SimConfig(validators=validators, byzantine=byzantine)
    results = [run_seed(seed, config) for seed in range(10_000, 11_000)]
    assert failures(results) == []
