"""docs/guide/shared-accounts.md runs as written: every ```sh block, in order, against a
LocalNode server on the devnet genesis, then the chain is what the guide says.

The blocks use a small part of sh, which this test interprets: blank lines
and comments, ``NAME=value`` assignments, ``$NAME`` expansion, ``\\``
line continuations and ``ledger ...`` commands. A trailing ``# exit N``
comment is the exit code the command must end with (default 0), and a
``# exit N: text`` comment also names text its error line must contain.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.client import LedgerClient
from ledger.client.devnet import DEVNET_BALANCE, DEVNET_BANK_BALANCE, account_key, validator_key
from tests.cli.test_cli import Ledger
from tests.consensus.node.rpc.conftest import address_text
from tests.consensus.node.rpc.server_thread import ServerThread

GUIDE = Path(__file__).resolve().parents[4] / "docs" / "guide" / "shared-accounts.md"
SH_BLOCK = re.compile(r"^[ \t]*```sh\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"([A-Z_][A-Z0-9_]*)=(\S+)")
EXPECTED_EXIT = re.compile(r"#\s*exit (\d+)(?::\s*(.*))?$")
VARIABLE = re.compile(r"\$([A-Z_][A-Z0-9_]*)")
WITHDRAWAL = 5 * 10**18
FEE = 1000


def guide_commands(text: str) -> list[str]:
    """The command lines of the sh blocks, continuations joined."""
    lines: list[str] = []
    for block in SH_BLOCK.findall(text):
        pending = ""
        for raw in block.splitlines():
            line = raw.strip()
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line = pending + line
            pending = ""
            if line and not line.startswith("#"):
                lines.append(line)
        assert not pending, "a block ends with a line continuation"
    return lines


def test_guide_has_the_commands() -> None:
    commands = guide_commands(GUIDE.read_text())
    assert any(c.startswith("ledger -y policy approve") for c in commands)
    assert all(ASSIGNMENT.fullmatch(c) or c.startswith("ledger ") for c in commands)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path, block_interval=0.05)
    try:
        yield server
    finally:
        server.close()


def run_guide(ledger: Ledger) -> dict[str, str]:
    variables: dict[str, str] = {}
    for line in guide_commands(GUIDE.read_text()):
        assignment = ASSIGNMENT.fullmatch(line)
        if assignment is not None:
            variables[assignment[1]] = assignment[2]
            continue
        expected = EXPECTED_EXIT.search(line)
        words = shlex.split(VARIABLE.sub(lambda m: variables[m[1]], line), comments=True)
        assert words[0] == "ledger", f"not a ledger command: {line}"
        stderr = ledger.stderr(*words[1:], code=int(expected[1]) if expected else 0)
        if expected is not None and expected[2]:
            assert expected[2] in stderr, (line, stderr)
    return variables


def test_the_bank_guide_runs_as_written(tmp_path: Path, node: ServerThread) -> None:
    variables = run_guide(Ledger(tmp_path / "home", node.url))
    bank = variables["BANK"]
    client = LedgerClient(node.url)
    heidi, carol = (address_text(account_key(n)) for n in ("heidi", "carol"))
    # heidi deposited 5 coin, was paid 5 coin and (approving proposal 2) 1000 base units,
    # and created a bank; carol only approved (her proposal was refused before signing).
    assert client.get_balance(bank) == DEVNET_BANK_BALANCE - 1000
    assert client.get_balance(heidi) == DEVNET_BALANCE + 1000 - 3 * FEE  # deposit, approve, create
    assert client.get_balance(carol) == DEVNET_BALANCE - FEE  # her one approval
    policy = client.get_policy(bank)
    assert policy is not None and policy.threshold == 2
    officers = {address_text(account_key(n)) for n in ("alice", "bob", "heidi")}
    assert set(policy.members) == officers
    assert client.get_pending_proposals(bank) == ()
    assert policy.next_proposal_id == 4
    governance = client.get_governance()
    assert governance.proposals == ()
    assert "val-4" in {v.name for v in governance.schedule[-1].validators}
    new_validator = next(v for v in governance.schedule[-1].validators if v.name == "val-4")
    assert new_validator.public_key == validator_key(4).public_key
