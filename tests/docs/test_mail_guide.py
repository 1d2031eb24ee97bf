"""Run every command of docs/guide/mail.md, in order, against a real devnet,
as tests/docs/test_guide.py runs docs/guide.md (same shell, same rules).

What this test changes beyond what test_guide.py does: the working
directory holds a link ``vm`` to this checkout's ``vm/`` folder, since the
guide deploys ``vm/contracts/remailer.asm`` "from a checkout".
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.node.node_commands import stop_devnet_manifest
from tests.docs.test_guide import ROOT, Command, GuideShell, parse_guide, shell_environment

pytestmark = pytest.mark.timeout(900)

GUIDE = ROOT / "docs" / "guide" / "mail.md"

# What some commands must print, beyond exiting with 0.
EXPECTED_OUTPUT = [
    ("ledger mail status\n", "postage"),
    ("ledger mail read --key devnet:bob", "the eagle lands at noon"),
    ("ledger mail read --key devnet:carol", "meet me at the old mill"),
    ("--address devnet:alice", "2 prepaid letters"),
]


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "work"
    directory.mkdir()
    (directory / "vm").symlink_to(ROOT / "vm")
    try:
        yield directory
    finally:
        devnet = directory / ".devnet"
        if (devnet / "devnet.json").exists():
            stop_devnet_manifest(devnet, 15.0)


def test_every_command_of_the_mail_guide_runs(tmp_path: Path, work: Path) -> None:
    if subprocess.run(["sh", "-c", "command -v jq bash timeout"], capture_output=True).returncode:
        pytest.skip("the guide needs jq, bash and timeout")
    blocks = parse_guide(GUIDE.read_text())
    assert not [b for b in blocks if b.skip_reason is not None], "no block is skipped"
    runnable = [c for b in blocks for c in b.commands]
    assert len(runnable) > 15

    environment, _, _ = shell_environment(tmp_path)
    shell = GuideShell(work, environment, {}, "docs/guide/mail.md")
    outputs: list[tuple[Command, str]] = []
    try:
        for command in runnable:
            outputs.append((command, shell.run(command)))
    finally:
        (tmp_path / "transcript.txt").write_text("\n".join(shell.transcript))

    for fragment, expected in EXPECTED_OUTPUT:
        matching = [out for command, out in outputs if command.text + "\n" == fragment] or [
            out for command, out in outputs if fragment in command.text
        ]
        assert matching, f"no command of the guide matches {fragment!r}"
        assert all(expected in out for out in matching), (fragment, expected, matching)
    for index in range(4):
        node_log = (work / ".devnet" / f"val-{index}" / "node.log").read_text()
        assert "Traceback" not in node_log, node_log[-3000:]
