"""`ledger threshold ...` against a single LocalNode (which runs no ceremonies:
the DKG of block 1 stays pending there; the devnet test covers the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import Ledger
from tests.consensus.node.rpc.server_thread import ServerThread


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path, block_interval=0.05, empty_blocks=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ledger(tmp_path: Path, node: ServerThread) -> Ledger:
    runner = Ledger(tmp_path / "home", node.url)
    runner("keys", "devnet", "alice", "dave")
    return runner


def test_status_shows_the_pending_dkg(ledger: Ledger) -> None:
    ledger("-y", "tx", "send", "--from", "devnet:alice", "--to", "devnet:dave", "--amount", "1")
    text = ledger("threshold", "status")
    assert "threshold key: none (enabled, no key yet)" in text
    assert "#1 dkg pending" in text
    data = ledger.json("threshold", "status")
    assert data["key"] is None  # type: ignore[index]
    # The group's DKG, beside the key sets' (the mint's keyset, the mail key).
    pending = data["ceremonies"]["pending"]  # type: ignore[index]
    (group,) = [c for c in pending if c["key_set"] == ""]
    assert group["kind"] == "dkg" and group["status"] == "pending"
    assert {c["key_set"] for c in pending} == {"", "mail", "mint/1"}


def test_reshare_without_a_key_explains_the_governance_route(ledger: Ledger) -> None:
    text = ledger("threshold", "reshare")
    assert "governance action" in text and "ledger threshold approve" in text


def test_a_message_request_before_the_key_exists_fails_on_chain(ledger: Ledger) -> None:
    ledger.stderr(
        "-y", "threshold", "sign-request", "--from", "devnet:alice", "--message", "hi", code=5
    )


def test_a_governance_proposal_goes_to_the_chains_governance_policy(ledger: Ledger) -> None:
    # The node names the governance policy; a governor's proposal is submitted
    # (it executes only once enough governors approve; the group must exist by then).
    out = ledger.json("-y", "threshold", "reshare", "--from", "devnet:dave")
    receipt = out["receipt"]  # type: ignore[index]
    assert receipt["status"] == 0 and receipt["events"][0]["kind"] == "proposal_created"


def test_status_shows_a_completed_signature() -> None:
    from cli.features.threshold.threshold_commands import _ceremony_line
    from ledger.client import CeremonyInfo

    signed = CeremonyInfo(
        7, "sign", "completed", 10, 30, 12, None, 1, 3, ("lg1a", "lg1b", "lg1c", "lg1d"),
        b"hello", None, bytes(range(64)), 3,
    )  # fmt: skip
    line = _ceremony_line(signed)
    assert line.startswith("#7 sign completed: 3 of 4, requested at 10, finished at 12")
    assert f"message    {b'hello'.hex()}" in line
    assert f"signature  {bytes(range(64)).hex()}" in line
    pending = CeremonyInfo(
        8, "sign", "pending", 10, 30, None, None, 1, 3, (), b"", b"\x01", None, 0
    )
    assert "signature" not in _ceremony_line(pending)
    assert "(a transaction)" in _ceremony_line(pending)
