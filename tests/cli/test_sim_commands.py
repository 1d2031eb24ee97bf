"""`ledger sim` through typer's CliRunner on a local app."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from cli import sim_commands
from cli.sim_commands import sim
from consensus.engine.simulation import SimResult, Violation

runner = CliRunner()


def local_app() -> typer.Typer:
    app = typer.Typer()
    app.command("sim")(sim)

    @app.command("other")
    def other() -> None:  # a second command, so "sim" is a real subcommand
        pass

    return app


def test_runs_seeds_and_prints_a_summary() -> None:
    result = runner.invoke(
        local_app(), ["sim", "--seeds", "0:3", "--validators", "4", "--byzantine", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "seeds run: 3 (0:3)" in result.output
    assert "violations: 0" in result.output
    assert "heights committed:" in result.output


def test_fault_and_behaviour_mix() -> None:
    result = runner.invoke(
        local_app(),
        [
            "sim",
            "--seeds",
            "5:7",
            "--validators",
            "7",
            "--byzantine",
            "2",
            "--behaviours",
            "silent,garbage",
            "--faults",
            "drop,crash",
        ],
    )
    assert result.exit_code == 0, result.output


def test_verbose_prints_events() -> None:
    result = runner.invoke(local_app(), ["sim", "--seeds", "1", "--verbose", "--faults", "none"])
    assert result.exit_code == 0
    assert "deliver" in result.output


def test_invalid_options_are_rejected() -> None:
    app = local_app()
    assert runner.invoke(app, ["sim", "--seeds", "5:2"]).exit_code == 2
    assert runner.invoke(app, ["sim", "--seeds", "x"]).exit_code == 2
    assert runner.invoke(app, ["sim", "--validators", "3", "--byzantine", "1"]).exit_code == 2
    assert runner.invoke(app, ["sim", "--faults", "meteor"]).exit_code == 2


def test_a_violation_exits_non_zero_and_names_the_seed(monkeypatch: object) -> None:
    def failing(seed: int, config: object, trace: object = None) -> SimResult:
        violations = [Violation("agreement", 42, "two blocks")] if seed == 3 else []
        return SimResult(seed, violations, 6, 100, 10, 0, 0, {1: "silent"}, "digest")

    monkeypatch.setattr(sim_commands, "run_seed", failing)  # type: ignore[attr-defined]
    result = runner.invoke(local_app(), ["sim", "--seeds", "2:5"])
    assert result.exit_code == 1
    assert "seed 3 FAILED" in result.output
    assert "agreement at tick 42" in result.output
    assert "--seeds 3:4" in result.output
    assert "violations: 1" in result.output
    assert "failing seeds: 3" in result.output
