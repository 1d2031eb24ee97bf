"""The mutation gate: every engine mutant (tests/consensus/engine/mutants.py) must
fail an invariant in the default configurations within the seeds CI runs.

For each mutant, seeds 0, 1, 2, ... run in every default configuration in
turn until one violates an invariant; the number of seeds that took is the
mutant's seeds-to-kill (at most CI_SEEDS). The killing seed must replay
exactly, and the real engine must pass it.

The table of seeds-to-kill: ``python -m tests.consensus.engine.test_mutation_gate``.
"""

from __future__ import annotations

import time

import pytest

from consensus.engine.engine import Engine
from consensus.engine.simulation import DEFAULT_CONFIGS, SimResult, run_seed
from tests.consensus.engine.mutants import MUTANTS
from tests.consensus.engine.test_simulation import CI_SEEDS


def first_kill(mutant: type[Engine], seeds: int = CI_SEEDS) -> tuple[str, SimResult] | None:
    """The first (configuration name, failing result) over seeds x configurations."""
    for seed in range(seeds):
        for name, config in DEFAULT_CONFIGS.items():
            result = run_seed(seed, config, engine_factory=mutant)
            if not result.ok:
                return name, result
    return None


@pytest.mark.parametrize("name", MUTANTS)
def test_the_default_configurations_kill_the_mutant(name: str) -> None:
    mutant = MUTANTS[name]
    killed = first_kill(mutant)
    assert killed is not None, f"{name} survived {CI_SEEDS} seeds of every default configuration"
    config_name, result = killed
    config = DEFAULT_CONFIGS[config_name]
    again = run_seed(result.seed, config, engine_factory=mutant)
    assert again.violations == result.violations
    assert again.trace_digest == result.trace_digest
    assert run_seed(result.seed, config).ok


def main() -> None:
    """Print each mutant's seeds-to-kill, configuration and violation."""
    print(f"{'mutant':32} {'seeds':>5}  {'configuration':12} {'time':>6}  violation")
    for name, mutant in MUTANTS.items():
        started = time.perf_counter()
        killed = first_kill(mutant)
        elapsed = time.perf_counter() - started
        if killed is None:
            print(f"{name:32} {'-':>5}  {'survived':12} {elapsed:5.1f}s")
            continue
        config_name, result = killed
        violation = result.violations[0]
        print(
            f"{name:32} {result.seed + 1:>5}  {config_name:12} {elapsed:5.1f}s  "
            f"{violation.invariant} ({', '.join(sorted(set(result.byzantine.values())))})"
        )


if __name__ == "__main__":
    main()
