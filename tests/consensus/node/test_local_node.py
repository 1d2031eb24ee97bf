"""The single-node chain answers ledger_validators by the consensus node's rule."""

from __future__ import annotations

from pathlib import Path

from ledger.client import LedgerClient
from ledger.client import asset_transactions as build
from ledger.client.devnet import account_key
from ledger.crypto import SigningKey

from .rpc.server_thread import ServerThread

NEWCOMER = SigningKey(bytes(31) + b"\x07")


def names(client: LedgerClient, height: int | None) -> list[str]:
    return sorted(v.name for v in client.validators(height).validators)


def test_a_validator_change_is_in_force_two_blocks_after_it_executes(tmp_path: Path) -> None:
    server = ServerThread(tmp_path)
    try:
        client = LedgerClient(server.url)
        governance = client.get_governance().address
        assert governance is not None
        action = build.update_validator(NEWCOMER.public_key, 10, "newcomer")
        client.send_body(account_key("dave"), build.propose(governance, action, 100), wait=False)
        server.produce()
        for approver in ("erin", "frank"):
            client.send_body(account_key(approver), build.approve(governance, 1), wait=False)
            executed = server.produce()
        executed_at = executed.block.height  # the third approval executed the change here
        old = ["val-0", "val-1", "val-2", "val-3"]
        assert names(client, executed_at) == old
        assert names(client, executed_at + 1) == old  # the next block: still the old set
        assert names(client, None) == old  # ... which is the tip's next block
        assert names(client, executed_at + 2) == sorted([*old, "newcomer"])
        server.produce()
        assert names(client, None) == sorted([*old, "newcomer"])
        assert names(client, executed_at + 1) == old  # read back from the older state
    finally:
        server.close()
