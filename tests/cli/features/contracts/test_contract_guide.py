"""docs/guide/contracts.md runs as written: every ```sh block of the page, in
order, each command in its own ``bash -euo pipefail`` (the runner of
tests/docs/test_guide.py: variables carry over, ``# exit N: text`` marks a
command that must fail so), against a LocalNode RPC server on the devnet
genesis; then the outputs and the chain are what the page says.

What the test provides, and nothing else: the node the page asks the reader
to start (`ledger single`), at LEDGER_NODE; HOME and the working directory
in a temporary directory, with ``vm`` linked in (the page runs from the top
of the repository); ``ledger`` and ``python`` running this checkout. The
node makes a block only when a transaction waits until the page first waits
for a height; from then on it also makes empty blocks, as `ledger single`
does. So the block heights the page's comments show are the ones it gets.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.client import LedgerClient
from ledger.client.devnet import account_key
from tests.cli.features.contracts.test_contract_commands import BOB
from tests.consensus.node.rpc.conftest import address_text
from tests.consensus.node.rpc.server_thread import ServerThread
from tests.docs.test_guide import Command, GuideShell, parse_guide

ROOT = Path(__file__).resolve().parents[4]
GUIDE = ROOT / "docs" / "guide" / "contracts.md"
pytestmark = pytest.mark.timeout(1200)  # a bound for a hang: about 1 min alone
CALL_FIRST = "ledger -y contract call $FIRST send $PACKET"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path, block_interval=0.05, empty_blocks=False)
    try:
        yield server
    finally:
        server.close()


def _shell(tmp_path: Path, node: ServerThread) -> GuideShell:
    work = tmp_path / "work"
    work.mkdir()
    (work / "vm").symlink_to(ROOT / "vm")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, command in (("ledger", f"{sys.executable} -m cli.main"), ("python", sys.executable)):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        (bin_dir / name).chmod(0o755)
    (tmp_path / "user").mkdir()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LEDGER_") and key not in ("PYTHONPATH", "HOME")
    }
    environment |= {
        "PATH": f"{bin_dir}:{environment.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path / "user"),
        "LEDGER_NODE": node.url,
    }
    return GuideShell(work, environment, {}, page="docs/guide/contracts.md")


def test_the_page_has_its_story() -> None:
    blocks = parse_guide(GUIDE.read_text())
    commands = [c.text for b in blocks if b.language == "sh" for c in b.commands]
    assert commands[0].startswith("ledger keys devnet")
    assert sum(c.startswith(CALL_FIRST) for c in commands) == 4
    assert any("# exit 1: no contract at" in c for c in commands)
    assert not [b for b in blocks if b.skip_reason is not None]


def test_the_contract_guide_runs_as_written(tmp_path: Path, node: ServerThread) -> None:
    if os.system("command -v jq >/dev/null 2>&1"):
        pytest.skip("the page needs jq")
    shell = _shell(tmp_path, node)
    outputs: list[tuple[Command, str]] = []
    try:
        for block in parse_guide(GUIDE.read_text()):
            for command in block.commands:
                if "--wait-height" in command.text:
                    node.run(lambda: setattr(node.node, "empty_blocks", True))
                outputs.append((command, shell.run(command)))
    finally:
        (tmp_path / "transcript.txt").write_text("\n".join(shell.transcript))

    def output_of(prefix: str) -> list[str]:
        found = [out for command, out in outputs if command.text.startswith(prefix)]
        assert found, f"no command of the page starts with {prefix!r}"
        return found

    variables = shell.variables
    assert variables["BOB"] == BOB == address_text(account_key("bob"))
    # Four letters: the first three are held, the fourth flushes both remailers.
    held = [re.search(r"returned\s+(\d+)", out) for out in output_of(CALL_FIRST)]
    assert [int(m[1]) for m in held if m] == [1, 2, 3, 0]
    (mailbox,) = output_of("ledger contract mailbox devnet:bob")
    assert mailbox.count('deliver("to bob")') == 4
    assert "#0  block 6  from " in mailbox  # the page's comment
    (storage,) = output_of("ledger contract storage $FIRST")
    assert "no storage entries" in storage
    assert "lives" in output_of("ledger contract info $FIRST")[0]
    # The doomed remailer went at the block the page waited for, with its letter.
    alive, left = int(variables["ALIVE"]), int(variables["LEFT"])
    (events,) = output_of("ledger query events $ALIVE")
    evicted = f"block {alive + left + 1}  contract_evicted  address={variables['DOOMED']}"
    assert evicted in events and "reason=cannot pay rent" in events
    assert "block 12  contract_evicted" in events  # the page's comment
    alice = address_text(account_key("alice"))
    assert f"beneficiary={alice}" in events  # what was left went back to the deployer
    assert LedgerClient(node.url).get_mailbox(BOB).received == 4  # the lost letter died with it
    (before,) = output_of("ledger contract info $DOOMED --height $ALIVE")
    assert variables["DOOMED"] in before
