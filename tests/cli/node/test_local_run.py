"""The quick start's `ledger run`: a single-node chain on LevelDB."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app


def test_run_commits_blocks_and_prints_balances(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--home", str(tmp_path / "local"), "--blocks", "2"])
    assert result.exit_code == 0, result.output
    assert "committed block 2: 4 txs (0 failed, 0 skipped)" in result.output
    assert "alice" in result.output and "lg1" in result.output
    again = CliRunner().invoke(app, ["run", "--home", str(tmp_path / "local"), "--blocks", "1"])
    assert "committed block 3" in again.output


def test_run_reports_a_bad_genesis_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "genesis.json"
    bad.write_text("{}")
    result = CliRunner().invoke(app, ["run", "--home", str(tmp_path / "x"), "--genesis", str(bad)])
    assert result.exit_code == 1
    assert "error:" in result.output
