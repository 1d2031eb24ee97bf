"""State sync on real node processes (issue 18 section 2).

Four validators and a fifth, ``val-4``, that is in the genesis set with
power 1 (of 41: the chain runs without it). The four run the chain past
height 2,000 with fast timings, pruning every state older than 100 heights
(``SERVER_KEEP_RECENT``) except the one they offer, so no node holds the
states the header chain from genesis passes through: the joiner follows
the validator sets with the schedule proofs stored beside the blocks
(ADR 0025). Then val-4 starts with ``[state_sync] enabled`` and must:
import a snapshot at a height of 2,000 or more without executing any
block at or below it (its store holds no block, state or history there:
queries answer "pruned"; its log shows no block synced or committed
there), reach the same state root as the others at later
heights, and validate (its precommits appear in later commit certificates).
``make test-state-sync`` runs it (marked slow).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from consensus.node.config import (
    ConsensusConfig,
    StateSyncConfig,
    encode_config,
    load_config,
)
from ledger.address import address_of, encode_address
from ledger.client import HeightPrunedError
from ledger.client.devnet import devnet_genesis_document, validator_key
from ledger.crypto import SigningKey, sha256

from .devnet_harness import Devnet, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

TARGET = 2_000
INTERVAL = 500  # snapshots at multiples of 500: the one at 2,000
FAST = ConsensusConfig(
    tick_ms=10,
    timeout_propose_ticks=100,
    timeout_vote_ticks=50,
    timeout_delta_ticks=50,
    block_interval_ms=0,
)
JOINER = 4
SERVER_KEEP_RECENT = 100  # the four validators keep the states of the last 100 heights
IMPORTED = re.compile(r"state sync: imported snapshot=(\d+) .*")


def genesis_with_spare(validators: int, extra_accounts: int = 0) -> dict[str, object]:
    """The devnet genesis without the threshold key, mint and mail (their
    ceremonies are not the subject) and with val-4 at power 1; plus
    ``extra_accounts`` funded accounts (a larger state to sync)."""
    document = devnet_genesis_document(validators)
    for key in ("threshold_key", "mint", "mail"):
        document.pop(key)
    members = document["validators"]
    assert isinstance(members, list)
    members.append({"name": "val-4", "public_key": validator_key(4).public_key.hex(), "power": 1})
    accounts = document["accounts"]
    assert isinstance(accounts, list)
    for index in range(extra_accounts):
        address = encode_address(address_of(extra_account_key(index).public_key))
        accounts.append({"address": address, "balances": {"coin": str(EXTRA_BALANCE)}})
    return document


EXTRA_BALANCE = 1_000_000  # coin of each extra account: fees for a few transfers


def extra_account_key(index: int) -> SigningKey:
    """The key of extra genesis account ``index`` (public: a test fixture)."""
    return SigningKey(sha256(b"extra account %d" % index))


def state_sync_devnet(home: Path, snapshot_interval: int, extra_accounts: int = 0) -> Devnet:
    """Four validators (pruning states past ``SERVER_KEEP_RECENT``) and the
    joiner (``JOINER``, state sync on), with the genesis that holds the
    joiner (and ``extra_accounts`` more accounts) and the fast consensus
    timings, not started."""
    net = Devnet(home, validators=4, spares=1)
    genesis = json.dumps(genesis_with_spare(4, extra_accounts))
    for index, node in enumerate(net.nodes):
        node_home = Path(node["home"])
        (node_home / "genesis.json").write_text(genesis)
        config = load_config(node_home / "config.toml")
        state_sync = StateSyncConfig(enabled=index == JOINER, snapshot_interval=snapshot_interval)
        pruning = replace(config.pruning, keep_recent=SERVER_KEEP_RECENT)
        (node_home / "config.toml").write_text(
            encode_config(replace(config, consensus=FAST, state_sync=state_sync, pruning=pruning))
        )
    return net


@pytest.fixture
def devnet(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = state_sync_devnet(tmp_path / "devnet", INTERVAL)
    try:
        yield net
    finally:
        net.stop_all()
        logs = net.logs()
        assert not any("evidence of equivocation" in text for text in logs.values()), "double sign"
        assert not any("Traceback" in text for text in logs.values()), "a node raised"


def test_a_validator_joins_at_height_2000_from_a_snapshot_and_validates(devnet: Devnet) -> None:
    net = devnet
    started = time.monotonic()
    net.start_all()
    net.wait_height(TARGET, list(range(4)), timeout=300)
    chain_seconds = time.monotonic() - started
    print(f"devnet reached height {TARGET} in {chain_seconds:.1f} s")
    # No validator holds the early states any more (only the blocks).
    alice = address_of(validator_key(0).public_key)
    for index in range(4):
        with pytest.raises(HeightPrunedError):
            net.clients[index].get_account(alice, height=TARGET // 5)
        assert net.clients[index].get_block(1) is not None

    joined = time.monotonic()
    net.start(JOINER)
    log_path = Path(net.nodes[JOINER]["home"]) / "node.log"

    def imported() -> int:
        found = IMPORTED.search(log_path.read_text(errors="replace"))
        return int(found.group(1)) if found else 0

    wait_until(lambda: imported() > 0, 120, "the joiner to import a snapshot")
    snapshot = imported()
    import_seconds = time.monotonic() - joined
    print(f"snapshot {snapshot} imported {import_seconds:.1f} s after start")
    assert snapshot >= TARGET

    # It catches up by block sync and agrees with the others on later states.
    net.wait_height(snapshot + 30, [JOINER], timeout=120)
    common = net.assert_same_chain()
    assert common > snapshot

    # Nothing at or below the snapshot was executed or is stored.
    client = net.clients[JOINER]
    for height in (1, snapshot // 2, snapshot):
        with pytest.raises(HeightPrunedError):
            client.get_block(height)
    text = log_path.read_text(errors="replace")
    executed = [int(h) for h in re.findall(r"height=(\d+) round=\d+ committed", text)]
    assert executed and min(executed) == snapshot + 1

    # It validates: its precommits are in later commit certificates.
    address = address_of(validator_key(JOINER).public_key)
    first = max(net.heights())

    def signed() -> bool:
        top = min(net.heights()) - 1
        return any(
            address in {s.validator for s in net.certificate(0, h).signatures}
            for h in range(max(first, top - 20), top)
        )

    wait_until(signed, 90, "a certificate with the joiner's precommit", step=0.5)
    print(f"joiner signed a certificate {time.monotonic() - joined:.1f} s after start")
