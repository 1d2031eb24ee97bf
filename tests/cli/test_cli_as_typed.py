"""The `ledger` command as people type it (issue 19, section 4): global options
after the command, checks before signing, units, readable output, the
little things (--version, help, suggestions, stdin secrets, SIGINT).

Most cases run the console entry point as a real process (`python -m
cli.main`, what `ledger` runs), because that is where the global options
are moved and the help is cleaned; the rest use CliRunner like test_cli.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.main import build_command, hoist_global_options
from cli.query_commands import event_text
from ledger.client import EventInfo, LedgerClient
from ledger.client import keystore as keystore_module
from ledger.client.devnet import DEVNET_BALANCE
from tests.cli.test_cli import BOB, Ledger
from tests.consensus.node.rpc.server_thread import ServerThread

ROOT = Path(__file__).resolve().parents[2]
COIN = 10**18
FEE = 1000
BANK = "lg1964xudq6swwn4e7tquvw5lelqm5p42sn4dhhev"
GOVERNANCE = "lg1mypl97v7ssnlug5qq5el9pm64uvn57wcnau0qj"


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore_module, "DEFAULT_SCRYPT_N", 1 << 4)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path, block_interval=0.05)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ledger(tmp_path: Path, node: ServerThread) -> Ledger:
    ledger = Ledger(tmp_path / "home", node.url)
    ledger("keys", "devnet")
    # Tests read block 1: wait for it (on a loaded machine it can come late).
    ledger("query", "status", "--wait-height", "1", "--timeout", "60")
    return ledger


def run_ledger(
    home: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`ledger ARGS` as its own process (no terminal: stdin is a pipe)."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
        "PYTHONPATH": str(ROOT),
        "LEDGER_HOME": str(home),
        "COLUMNS": "120",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=ROOT,
    )


# -- global options anywhere ------------------------------------------------------
def test_hoisting_moves_only_the_global_options_the_command_lacks() -> None:
    command = build_command()
    assert hoist_global_options(command, ["tx", "send", "--from", "a", "-y", "-o", "json"]) == [
        "-y", "-o", "json", "tx", "send", "--from", "a",
    ]  # fmt: skip
    assert hoist_global_options(command, ["query", "status", "--node=http://x:1", "--debug"]) == [
        "--node=http://x:1", "--debug", "query", "status",
    ]  # fmt: skip
    # init and devnet have a --home of their own; vm asm has -o; values are not options.
    assert hoist_global_options(command, ["init", "--home", "h", "-y"]) == [
        "-y", "init", "--home", "h",
    ]  # fmt: skip
    assert hoist_global_options(command, ["vm", "asm", "f.asm", "-o", "out"]) == [
        "vm", "asm", "f.asm", "-o", "out",
    ]  # fmt: skip
    assert hoist_global_options(command, ["threshold", "sign-request", "--message", "-y"]) == [
        "threshold", "sign-request", "--message", "-y",
    ]  # fmt: skip
    assert hoist_global_options(command, ["--node=u", "--debug", "query", "status", "-y"]) == [
        "--node=u", "--debug", "-y", "query", "status",
    ]  # fmt: skip
    assert hoist_global_options(command, ["query", "balance", "--", "-y"]) == [
        "query", "balance", "--", "-y",
    ]  # fmt: skip


def test_global_options_after_the_command(tmp_path: Path, node: ServerThread) -> None:
    home = tmp_path / "home"
    assert run_ledger(home, "keys", "devnet", "alice").returncode == 0
    sent = run_ledger(
        home, "tx", "send", "--from", "devnet:alice", "--to", BOB, "--amount", "5",
        "-y", "--node", node.url, "-o", "json",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["receipt"]["status"] == 0
    status = run_ledger(home, "query", "status", "--output", "json", f"--node={node.url}")
    assert json.loads(status.stdout)["chain_id"] == "ledger-devnet-1"
    single_help = run_ledger(home, "single", "--help")
    assert "before or after" in single_help.stdout


# -- --version, help ----------------------------------------------------------------
def test_version_and_help_without_bool_noise(tmp_path: Path) -> None:
    version = run_ledger(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("ledger ")
    for command in (["--help"], ["tx", "send", "--help"], ["devnet", "--help"]):
        shown = run_ledger(tmp_path, *command)
        assert shown.returncode == 0 and "--help" in shown.stdout
        assert "<bool>" not in shown.stdout, command
    assert "base units" in run_ledger(tmp_path, "tx", "send", "--help").stdout


# -- checks before signing ------------------------------------------------------------
def test_overspending_is_refused_before_signing(ledger: Ledger, node: ServerThread) -> None:
    alice_address = ledger.json("keys", "show", "devnet:alice")["address"]  # type: ignore[index]
    send = ("-y", "tx", "send", "--from", "devnet:alice", "--to", BOB)
    everything = str(DEVNET_BALANCE)
    refused = ledger.stderr(*send, "--amount", everything, code=1)
    assert f"balance {DEVNET_BALANCE} < amount + fee {DEVNET_BALANCE + FEE}" in refused
    # "balance minus fee" is what the account can send, and it goes through.
    ledger(*send, "--amount", str(DEVNET_BALANCE - FEE))
    assert LedgerClient(node.url).get_balance(alice_address) == 0
    assert "at least 1 base unit" in ledger.stderr(*send, "--amount", "0", code=1)
    assert ledger.stderr(*send, "--amount", "1", code=1).startswith(
        "error: devnet:alice cannot pay: balance 0 < amount + fee 1001"
    )


def test_the_pending_state_counts(ledger: Ledger) -> None:
    """Two transfers of 60% each: the second is refused while the first is
    still in the mempool, not signed and charged."""
    send = ("-y", "tx", "send", "--from", "devnet:carol", "--to", BOB, "--no-wait")
    ledger(*send, "--amount", str(DEVNET_BALANCE * 6 // 10))
    refused = ledger.stderr(*send, "--amount", str(DEVNET_BALANCE * 6 // 10), code=1)
    assert "< amount + fee" in refused and "pending transactions counted" in refused


def test_amounts_in_coins(ledger: Ledger, node: ServerThread) -> None:
    client = LedgerClient(node.url)
    before = client.get_balance(BOB)
    out = ledger("-y", "tx", "send", "--from", "devnet:dave", "--to", BOB, "--amount", "1.5coin")
    assert client.get_balance(BOB) == before + 3 * COIN // 2
    assert "1000 base units (0.000000000000001 coin)" in out  # the fee charged
    assert "amount=1500000000000000000 base units (1.5 coin)" in out
    hint = ledger.stderr("-y", "tx", "send", "--from", "devnet:dave", "--to", BOB,
                         "--amount", "1.5", code=1)  # fmt: skip
    assert "1 coin = 10^18 base units: 1.5coin" in hint
    assert "in coin, but the asset is cpu" in ledger.stderr(
        "-y", "tx", "send", "--from", "devnet:dave", "--to", BOB, "--amount", "1coin",
        "--asset", "cpu", code=1,
    )  # fmt: skip
    shown = ledger("query", "account", "devnet:dave")
    assert "base units (" in shown and "coin)" in shown


def test_approving_a_spend_the_policy_cannot_cover(ledger: Ledger) -> None:
    too_much = str(10**27)  # the bank holds 10^26
    proposed: Any = ledger.json(
        "-y", "policy", "propose", "transfer", BANK, "--to", "devnet:alice", "--amount",
        too_much, "--from", "devnet:alice",
    )  # fmt: skip
    assert proposed["executed"].startswith("no")  # 2 of 3: nothing moves yet
    refused = ledger.stderr(
        "-y", "policy", "approve", BANK, str(proposed["proposal_id"]), "--from", "devnet:bob",
        code=1,
    )  # fmt: skip
    assert "cannot cover this transfer: coin balance" in refused
    assert "this approval would execute it" in refused


# -- readable output --------------------------------------------------------------------
def test_queries_people_read(ledger: Ledger, node: ServerThread) -> None:
    mempool: Any = ledger.json("query", "mempool")
    assert set(mempool) == {"size", "bytes", "max_size", "max_bytes"}
    assert "transactions  0 of at most" in ledger("query", "mempool")
    params: Any = ledger.json("query", "params")
    assert params["min_fee"] == "1000" and params["cpu_credits_per_block"] == "1000000"
    assert "cpu credits per block   1000000" in ledger("query", "params")
    sent: Any = ledger.json("-y", "tx", "send", "--from", "devnet:erin", "--to", BOB,
                            "--amount", "42")  # fmt: skip
    height = sent["receipt"]["block_height"]
    full = ledger("query", "block", str(height), "--full")
    assert "transfer from lg1" in full and "amount=42" in full
    minted = ledger("query", "events", "1", "--kind", "mint")
    assert minted.count("mint") >= 3 and "amount=" in minted
    assert "no end-of-block events" in ledger("query", "events", "1", "--kind", "nothing")


def test_a_proof_that_fails_is_not_shown_as_facts(ledger: Ledger) -> None:
    root = ledger.json("query", "block", "1")["state_root"]  # type: ignore[index]
    wrong = ("0" if root[0] != "0" else "1") + root[1:]
    out = ledger("query", "proof", BOB, "--height", "1", "--state-root", wrong, code=3)
    assert "INVALID" in out and "nothing it says" in out
    assert "nonce" not in out and "balance" not in out
    shown: Any = ledger.json("query", "proof", BOB, "--height", "1", "--state-root", wrong, code=3)
    assert shown["verified"] is False and shown["account"] is None


def test_events_name_their_amounts() -> None:
    evicted = EventInfo(
        "contract_evicted",
        {"address": "lg1x", "returned": [["cpu", "5"], ["disk", "10"]], "reason": "rent"},
    )
    assert "returned=5 cpu, 10 disk" in event_text(evicted)
    called = EventInfo(
        "contract_called",
        {"entry": "bump", "gas_used": "321", "returns": [["0", "2a"], ["1", "6869"]]},
    )
    assert event_text(called) == 'entry=bump, gas_used=321 gas, returns=42, "hi"'
    transfer = EventInfo("transfer", {"amount": "2500000000000000000", "asset": "coin"})
    assert "amount=2500000000000000000 base units (2.5 coin)" in event_text(transfer)


def test_threshold_proposals_are_decoded(ledger: Ledger) -> None:
    out = ledger("-y", "threshold", "reshare", "--from", "devnet:dave", "--threshold", "3")
    assert "proposal id" in out
    governance = ledger("policy", "governance")
    assert "reshare the validators' threshold key to the current validators, threshold 3" in (
        governance
    )
    assert "fields=" not in governance


# -- names, secrets, files ------------------------------------------------------------------
def test_unknown_key_names_suggest_close_ones(ledger: Ledger) -> None:
    assert "did you mean devnet:alice?" in ledger.stderr("query", "balance", "alcie", code=1)
    assert "did you mean devnet:alice?" in ledger.stderr(
        "-y", "tx", "send", "--from", "alice", "--to", BOB, "--amount", "1", code=1
    )


def test_secrets_from_a_pipe_without_getpass_warnings(tmp_path: Path) -> None:
    created = run_ledger(tmp_path, "keys", "new", "piped", stdin="s3cret\n")
    assert created.returncode == 0, created.stderr
    assert "Warning" not in created.stderr and "echo" not in created.stderr
    exported = run_ledger(tmp_path, "-y", "keys", "export", "piped", stdin="s3cret\n")
    assert exported.returncode == 0 and len(exported.stdout.strip()) == 64
    nothing = run_ledger(tmp_path, "keys", "new", "empty-stdin", stdin="")
    assert nothing.returncode == 1 and "use --password-file FILE" in nothing.stderr
    assert "GetPassWarning" not in nothing.stderr


def test_an_empty_passphrase_must_be_asked_for(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    ledger = Ledger(tmp_path / "home")
    refused = ledger.stderr("keys", "new", "k", "--password-file", str(empty), code=1)
    assert "refusing an empty passphrase" in refused
    ledger("keys", "new", "k", "--password-file", str(empty), "--allow-empty-passphrase")


# -- processes: devnet --stop, SIGINT -----------------------------------------------------------
def test_devnet_stop_without_a_devnet_fails(tmp_path: Path) -> None:
    stopped = run_ledger(tmp_path, "devnet", "--stop", "--home", str(tmp_path / "nothing"))
    assert stopped.returncode == 1 and "no devnet in" in stopped.stderr


def interrupt_and_wait(process: subprocess.Popen[str], ready: str, log: Path) -> str:
    """Wait (bounded) until ``log`` shows ``ready``, SIGINT the process, return its log."""
    deadline = time.monotonic() + 60
    while ready not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"never saw {ready!r}: {log.read_text()}"
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, log.read_text()
    return log.read_text()


@pytest.mark.parametrize("kind", ["single", "start"])
def test_sigint_ends_with_a_stopped_line(tmp_path: Path, kind: str) -> None:
    # Port 0: the kernel picks free ports as the node binds (a port chosen ahead
    # could be taken meanwhile by another test's node).
    home = tmp_path / "home"
    if kind == "single":
        args = ["single", "--rpc-port", "0", "--home", str(home)]
        ready = "JSON-RPC on"
    else:
        init = run_ledger(
            tmp_path, "init", "--home", str(home), "--devnet", "--rpc-port", "0", "--p2p-port", "0"
        )
        assert init.returncode == 0, init.stderr
        args = ["start", "--home", str(home)]
        ready = "JSON-RPC listening"
    log = tmp_path / "out.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            text = interrupt_and_wait(process, ready, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert text.rstrip().splitlines()[-1].endswith("stopped"), text[-500:]
