"""Run every command of docs/guide/bank.md, in order, against a real devnet
of four validator processes, the way tests/docs/test_guide.py runs the user
guide (each command in its own `bash -euo pipefail`, variables carried
from one to the next, a fresh HOME, free ports); then check what the page
says the commands print: the balances of the wallets, the token, carol's
payout and the reserve."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ledger.address import encode_address
from ledger.client.devnet import DEVNET_BALANCE
from ledger.features.mint.interface import RESERVE_ADDRESS, decode_token
from tests.docs.test_guide import Command, GuideShell, guide_work, parse_guide, shell_environment

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "bank.md"

# (command text, what each of its runs prints, in order)
EXPECTED: list[tuple[str, list[str]]] = [
    ("ledger bank keys | head -n 4", ["epoch 1  active  unit coin"]),
    ("ledger bank balance", ["balance 1000", "balance 700"]),
    ("ledger bank balance --wallet bob", ["balance 300", "balance 100"]),
    ("ledger query balance devnet:carol", [f"{DEVNET_BALANCE + 200} base units"]),
    ("ledger query balance $RESERVE", ["800 base units (0.0000000000000008 coin)"]),
]

__all__ = ["guide_work"]  # the fixture that stops whatever the page started


def test_every_command_of_the_bank_guide_runs(tmp_path: Path, guide_work: Path) -> None:
    if subprocess.run(["sh", "-c", "command -v jq bash"], capture_output=True).returncode:
        pytest.skip("the guide needs jq and bash")
    blocks = parse_guide(PAGE.read_text())
    assert not [b for b in blocks if b.skip_reason is not None], "every block runs"
    assert not [b for b in blocks if b.language not in ("sh", "")], "only sh blocks are run"
    commands = [c for b in blocks for c in b.commands]
    for verb in ("deposit", "send", "receive", "redeem", "balance", "keys"):
        assert any(f"ledger -y bank {verb}" in c.text or f"ledger bank {verb}" in c.text
                   for c in commands), verb

    environment, _, _ = shell_environment(tmp_path)
    work = guide_work
    shell = GuideShell(work, environment, {}, page="docs/guide/bank.md")
    outputs: list[tuple[Command, str]] = []
    try:
        for command in commands:
            outputs.append((command, shell.run(command)))
    finally:
        (tmp_path / "transcript.txt").write_text("\n".join(shell.transcript))

    for text, expected in EXPECTED:
        printed = [out for command, out in outputs if command.text == text]
        assert len(printed) == len(expected), (text, printed)
        for out, wanted in zip(printed, expected, strict=True):
            assert wanted in out, (text, wanted, out)
    token = decode_token(shell.variables["TOKEN"])
    assert token.amount == 300 and token.mint_url.startswith("ledger:")
    assert all(note.dleq is not None for note in token.notes)
    assert shell.variables["RESERVE"] == encode_address(RESERVE_ADDRESS)
    for index in range(4):
        log = (work / ".devnet" / f"val-{index}" / "node.log").read_text()
        assert "Traceback" not in log, log[-3000:]
