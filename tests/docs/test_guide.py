"""Run every command of docs/guide.md, in order, against a real devnet.

The guide's ```sh blocks are split into commands (a command is a line, with
its `\\` continuations and its here-document); each runs in its own
`bash -euo pipefail` process, exactly as written, with a failure (non-zero
exit) failing the test. Shell variables flow from one command to the next:
when a command assigns `NAME=...` (or `export NAME=...`), the test reads the
value back and hands it to every later command in the environment.

What the test changes, and nothing else:

- `ledger` and `python` on PATH run this checkout (`python -m cli.main`)
  with the interpreter running the tests;
- HOME is a temporary directory (so `~/.ledger` is too) and so is the
  working directory where `.devnet/`, `mynode/` and the other files land;
- ports: `ledger devnet` reads its port bases from LEDGER_DEVNET_P2P_BASE
  and LEDGER_DEVNET_RPC_BASE (options of the command), and the guide's
  assignments of P2P_PORT and RPC_PORT take the values in OVERRIDES instead
  of the ones written. The ports are drawn at random below the kernel's
  ephemeral range, not probed: if a node finds one taken (its log says
  "Address already in use"), everything the attempt started is stopped and
  the guide runs again from the top, on other ports, in a fresh directory.

A command that ends with a comment `# exit N` (or `# exit N: text`) must
exit with status N (and print that text on stderr); docs/guide/contracts.md
uses this too (tests/cli/features/contracts/test_contract_guide.py).

A block preceded by `<!-- guide-test: skip (reason) -->` is not run; the
test allows exactly the install block to be skipped.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.node.node_commands import stop_devnet_manifest
from tests.process.devnet_harness import BIND_CLASH, PORT_FLOOR, ephemeral_port_floor

pytestmark = pytest.mark.timeout(1200)  # a bound for a hang: ~2 min alone, 7+ min at load 16

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
SKIP_MARK = re.compile(r"<!--\s*guide-test:\s*skip\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")
ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")
HEREDOC = re.compile(r"<<-?\s*'?\"?([A-Za-z_]+)'?\"?")
EXPECTED_EXIT = re.compile(r"#\s*exit (\d+)(?::\s*(.*?))?\s*$")
COMMAND_TIMEOUT = 150.0

# What some commands must print, beyond exiting with 0: (command, expected text); the
# command is the one whose text is exactly that, else every one that contains it.
EXPECTED_OUTPUT = [
    ("ledger keys list", "main"),
    ("query balance main", "3999999999999999000 base units (3.999999999999999 coin)"),  # 5-1-fee
    ("query proof main --height", "VERIFIED against --state-root"),
    ("--node $MYNODE query proof main", "VERIFIED"),
    ("\"$TX\" <<'EOF'", "included in block"),
    ("query receipt $TX", "success"),
    ("ledger query validators", "total power"),
    ("query validators | grep mynode", "power 10"),
    ("--node $MYNODE query status --wait-height $(", "validator    lg1"),
    ("ledger policy governance", "mynode"),
]


@dataclass(frozen=True)
class Command:
    text: str
    line: int  # where it starts in guide.md


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    commands: tuple[Command, ...]
    skip_reason: str | None


def parse_guide(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text with the commands of each."""
    blocks = []
    lines = text.splitlines()
    index = 0
    skip_reason: str | None = None
    while index < len(lines):
        mark = SKIP_MARK.search(lines[index])
        if mark:
            skip_reason = mark.group(1) or "no reason given"
        fence = FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        start = index
        index += 1
        body_start = index
        while index < len(lines) and not lines[index].startswith("```"):
            index += 1
        body = lines[body_start:index]
        index += 1
        commands = split_commands(body, body_start + 1) if fence.group(1) == "sh" else ()
        blocks.append(Block(start + 1, fence.group(1), tuple(commands), skip_reason))
        skip_reason = None
    return blocks


def split_commands(lines: list[str], first_line: int) -> list[Command]:
    """Commands of a shell block: comment and blank lines dropped, a line
    ending in a backslash joined with the next, as is a line that leaves a
    quote open, a here-document kept with its command."""
    commands = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            index += 1
            continue
        start = index
        parts = [line]
        while parts[-1].endswith("\\") and index + 1 < len(lines):
            index += 1
            parts.append(lines[index])
        while not complete_shell("\n".join(parts)) and index + 1 < len(lines):
            index += 1  # a quoted string that goes on over the next line
            parts.append(lines[index])
        heredoc = HEREDOC.search("\n".join(parts))
        if heredoc:
            delimiter = heredoc.group(1)
            while index + 1 < len(lines):
                index += 1
                parts.append(lines[index])
                if lines[index] == delimiter:
                    break
            else:
                raise AssertionError(f"line {first_line + start}: here-document never ends")
        commands.append(Command("\n".join(parts), first_line + start))
        index += 1
    return commands


def complete_shell(text: str) -> bool:
    """Whether ``text`` parses as complete shell commands (``bash -n``): no
    quote or here-document left open."""
    checked = subprocess.run(["bash", "-n", "-c", text], capture_output=True, text=True)
    return "unexpected end of file" not in checked.stderr and "unexpected EOF" not in checked.stderr


PORT_ATTEMPTS = 4
PORTS_PER_KIND = 6  # four devnet validators, one spare, and the reader's own node


def draw_port_bases(rng: random.Random) -> tuple[int, int]:
    """Bases of two runs of PORTS_PER_KIND consecutive ports (p2p, then RPC),
    at random below the ephemeral range; not probed (a clash is retried)."""
    base = rng.randrange(PORT_FLOOR, ephemeral_port_floor() - 2 * PORTS_PER_KIND)
    return base, base + PORTS_PER_KIND


def port_clash(directory: Path) -> bool:
    """Whether a node started under ``directory`` failed to bind its port."""
    return any(
        BIND_CLASH in log.read_text(errors="replace") for log in directory.rglob("node.log")
    )


class GuideShell:
    """Runs guide commands one by one, carrying variables between them."""

    def __init__(
        self,
        work: Path,
        environment: dict[str, str],
        overrides: dict[str, str],
        page: str = "docs/guide.md",
    ):
        self.work = work
        self.page = page
        self.environment = environment
        self.overrides = overrides
        self.variables: dict[str, str] = {}
        self.transcript: list[str] = []

    def run(self, command: Command) -> str:
        assigned = ASSIGNMENT.match(command.text)
        name = assigned.group(1) if assigned else None
        if name is not None and name in self.overrides:
            self.variables[name] = self.overrides[name]
            self.transcript.append(
                f"$ {command.text}\n  (test override: {name}={self.overrides[name]})"
            )
            return ""
        script = "set -euo pipefail\n" + command.text + "\n"
        value_file = self.work / ".guide-variable"
        if name is not None:
            script += f'printf "%s" "${{{name}}}" > {value_file}\n'
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=self.work,
            env={**self.environment, **self.variables},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        self.transcript.append(f"$ {command.text}\n{result.stdout}{result.stderr}")
        # A trailing "# exit N: text" says the command must fail so.
        expected = EXPECTED_EXIT.search(command.text.splitlines()[-1])
        code = int(expected[1]) if expected else 0
        assert result.returncode == code, (
            f"{self.page} line {command.line}: exit {result.returncode}, not {code}\n"
            f"$ {command.text}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
        if expected is not None and expected[2]:
            assert expected[2] in result.stderr, (command.text, result.stderr)
        if name is not None:
            self.variables[name] = value_file.read_text()
        return result.stdout


def _wrapper(path: Path, command: str) -> None:
    path.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
    path.chmod(0o755)


def stop_guide_processes(directory: Path) -> None:
    """Stop whatever the guide started in ``directory``: its own node and the devnet."""
    for pid_file in directory.glob("*/node.pid"):
        _stop_pid(pid_file)
    devnet = directory / ".devnet"
    if (devnet / "devnet.json").exists():
        stop_devnet_manifest(devnet, 15.0)


def shell_environment(tmp_path: Path) -> tuple[dict[str, str], int, int]:
    """The environment guide commands run in (see the module docstring):
    ``ledger`` and ``python`` of this checkout on PATH, a fresh HOME, no
    LEDGER_ variables but the devnet's port bases (six free ports each).
    Returns it with the two bases."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _wrapper(bin_dir / "ledger", f"{sys.executable} -m cli.main")
    _wrapper(bin_dir / "python", sys.executable)
    p2p_base, rpc_base = draw_port_bases(random.Random())  # ports only
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LEDGER_") and key not in ("PYTHONPATH", "HOME")
    }
    environment |= {
        "PATH": f"{bin_dir}:{environment.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path / "user"),
        "LEDGER_DEVNET_P2P_BASE": str(p2p_base),
        "LEDGER_DEVNET_RPC_BASE": str(rpc_base),
    }
    (tmp_path / "user").mkdir()
    return environment, p2p_base, rpc_base


@pytest.fixture
def work(tmp_path: Path) -> Iterator[list[Path]]:
    """The guide's working directories (one per attempt); afterwards,
    whatever the guide started in any of them is stopped."""
    directories: list[Path] = []
    try:
        yield directories
    finally:
        for directory in directories:
            stop_guide_processes(directory)


@pytest.fixture
def guide_work(tmp_path: Path) -> Iterator[Path]:
    """One working directory for a guide page; afterwards, whatever the page
    started there is stopped."""
    directory = tmp_path / "work"
    directory.mkdir()
    try:
        yield directory
    finally:
        stop_guide_processes(directory)


def _stop_pid(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"cli.main" in cmdline:
        os.kill(pid, signal.SIGKILL)


def test_parse_commands_joins_continuations_and_here_documents() -> None:
    text = "\n".join(
        [
            "<!-- guide-test: skip (why) -->",
            "```sh",
            "make it",
            "```",
            "```sh",
            "# a comment",
            "A=$(ledger x \\",
            "    --y)   # trailing comment",
            "",
            "python - <<'EOF'",
            "print(1)",
            "EOF",
            "echo done",
            "```",
            "```python",
            "x = 1",
            "```",
        ]
    )
    skipped, block, python = parse_guide(text)
    assert skipped.skip_reason == "(why)" and [c.text for c in skipped.commands] == ["make it"]
    assert block.skip_reason is None and python.language == "python" and not python.commands
    assert [(c.text, c.line) for c in block.commands] == [
        ("A=$(ledger x \\\n    --y)   # trailing comment", 7),
        ("python - <<'EOF'\nprint(1)\nEOF", 10),
        ("echo done", 13),
    ]


def test_every_command_of_the_guide_runs(tmp_path: Path, work: list[Path]) -> None:
    if subprocess.run(["sh", "-c", "command -v jq bash"], capture_output=True).returncode:
        pytest.skip("the guide needs jq and bash")
    blocks = parse_guide(GUIDE.read_text())
    skipped = [b for b in blocks if b.skip_reason is not None]
    assert len(skipped) == 1 and "pip install" in skipped[0].commands[1].text, (
        "only the install block may be skipped"
    )
    assert not [b for b in blocks if b.language not in ("sh", "")], "only sh blocks are run"
    runnable = [c for b in blocks if b.skip_reason is None for c in b.commands]
    assert len(runnable) > 30

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _wrapper(bin_dir / "ledger", f"{sys.executable} -m cli.main")
    _wrapper(bin_dir / "python", sys.executable)
    rng = random.Random()  # ports only: no verdict depends on it
    for attempt in range(PORT_ATTEMPTS):
        directory = tmp_path / f"work-{attempt}"
        directory.mkdir()
        work.append(directory)
        p2p_base, rpc_base = draw_port_bases(rng)
        try:
            shell, outputs = _run_guide(runnable, directory, bin_dir, p2p_base, rpc_base)
        except AssertionError:
            if not port_clash(directory):
                raise
            stop_guide_processes(directory)
            continue
        break
    else:
        raise AssertionError(f"{PORT_ATTEMPTS} port clashes in a row")

    for fragment, expected in EXPECTED_OUTPUT:
        matching = [out for command, out in outputs if command.text == fragment] or [
            out for command, out in outputs if fragment in command.text
        ]
        assert matching, f"no command of the guide contains {fragment!r}"
        assert all(expected in out for out in matching), (fragment, expected, matching)
    assert shell.variables["LEDGER_NODE"] == f"http://127.0.0.1:{rpc_base}"
    assert shell.variables["MYNODE"] == f"http://127.0.0.1:{rpc_base + 5}"
    log = (directory / "mynode" / "node.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    for index in range(4):
        node_log = (directory / ".devnet" / f"val-{index}" / "node.log").read_text()
        assert "Traceback" not in node_log, node_log[-3000:]
        assert "evidence of equivocation" not in node_log


def test_the_guides_secret_files_are_git_ignored() -> None:
    """The guide writes a passphrase file, a genesis copy and a node home (with
    its private keys) in the checkout: none of them can be committed by accident."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    created = [
        "passphrase.txt",
        "genesis.json",
        "mynode/validator_key.json",
        "mynode/node_key.json",
    ]
    text = GUIDE.read_text()
    assert all(name.split("/")[0] in text for name in created)
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", *created], capture_output=True, text=True
    )
    assert ignored.stdout.split() == created, ignored


def _run_guide(
    runnable: list[Command], directory: Path, bin_dir: Path, p2p_base: int, rpc_base: int
) -> tuple[GuideShell, list[tuple[Command, str]]]:
    """Run every command in ``directory`` (a fresh HOME beside it); the
    shell (for its variables) and each command with its output."""
    home = directory.parent / f"{directory.name}-home"
    home.mkdir()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LEDGER_") and key not in ("PYTHONPATH", "HOME")
    }
    environment |= {
        "PATH": f"{bin_dir}:{environment.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(home),
        "LEDGER_DEVNET_P2P_BASE": str(p2p_base),
        "LEDGER_DEVNET_RPC_BASE": str(rpc_base),
    }
    overrides = {"P2P_PORT": str(p2p_base + 5), "RPC_PORT": str(rpc_base + 5)}
    shell = GuideShell(directory, environment, overrides)
    outputs: list[tuple[Command, str]] = []
    try:
        for command in runnable:
            outputs.append((command, shell.run(command)))
    finally:
        (directory.parent / f"{directory.name}-transcript.txt").write_text(
            "\n".join(shell.transcript)
        )
    return shell, outputs
