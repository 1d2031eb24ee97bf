"""Compact proposals on real node processes (issue 21, ADR 0027).

Four validators with ``[p2p] compact_proposals = true`` commit under
transfer load, and a follower whose mempool holds a single transaction
(what a node that just restarted, or a peer that hears little gossip,
starts with) still gets every block, by fetching what it lacks from the
proposer: transactions by index, or the whole proposal. Every node ends
with the same chain; no peer is punished; the validators sent their
proposals compact and the follower fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from consensus.node.config import encode_config, load_config
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key

from .devnet_harness import Devnet, wait_until
from .transfer_load import TransferLoad

pytestmark = pytest.mark.timeout(300)

VALIDATORS = 4
FOLLOWER = VALIDATORS  # the spare node: follows the chain, never votes
LOAD_TX_S = 60
TRAFFIC = re.compile(r"proposal traffic: (\{.*\})")


def configure(net: Devnet) -> None:
    """Compact proposals everywhere; the follower's mempool holds one transaction."""
    for index, node in enumerate(net.nodes):
        path = Path(node["home"]) / "config.toml"
        config = load_config(path)
        config = replace(config, p2p=replace(config.p2p, compact_proposals=True))
        if index == FOLLOWER:
            config = replace(config, mempool=replace(config.mempool, max_txs=1))
        path.write_text(encode_config(config))


def traffic(log: str) -> dict[str, Any]:
    """The proposal traffic a node logged when it stopped."""
    found = TRAFFIC.findall(log)
    assert found, "the node logged no proposal traffic at stop"
    summary: dict[str, Any] = json.loads(found[-1])
    return summary


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Devnet]:
    devnet = Devnet(tmp_path / "devnet", validators=VALIDATORS, spares=1)
    configure(devnet)
    devnet.start_all()
    devnet.start(FOLLOWER)
    try:
        devnet.wait_height(2, timeout=90)
        yield devnet
    finally:
        devnet.stop_all()


def test_compact_proposals_commit_under_load_and_an_empty_mempool_fetches(net: Devnet) -> None:
    keys = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]
    urls = [node["rpc_url"] for node in net.nodes[:VALIDATORS]]
    start = max(net.heights())
    senders = [keys[2 * i : 2 * i + 2] for i in range(VALIDATORS)]
    load = TransferLoad(urls, senders, net.genesis.chain_id, LOAD_TX_S)
    with load:
        net.wait_height(start + 12, timeout=120)
        wait_until(lambda: len(load.acknowledged()) >= 200, 60, "200 acknowledged transfers")
    acknowledged = {a.tx_hash for a in load.acknowledged()}
    end = max(net.heights(list(range(VALIDATORS))))
    net.wait_height(end + 3, timeout=60)  # what was acknowledged is in by then
    common = net.assert_same_chain()  # the follower too
    committed: set[bytes] = set()
    for height in range(start, common + 1):
        block = net.clients[FOLLOWER].get_block(height)
        assert block is not None
        committed.update(block.transaction_hashes)
    assert acknowledged <= committed, f"{len(acknowledged - committed)} never committed"
    follower_log = net.logs()[f"val-{FOLLOWER}"]
    synced = [int(h) for h in re.findall(r"height=(\d+) synced from a peer", follower_log)]
    synced = [h for h in synced if h > start]  # not the blocks it caught up with at start
    net.stop_all()

    logs = net.logs()
    assert not any(re.search(r"punishing|banned", text) for text in logs.values())
    assert not any("Traceback" in text for text in logs.values())
    sent = [traffic(logs[f"val-{i}"]) for i in range(VALIDATORS)]
    assert all(t["proposals_full"] == 0 for t in sent)
    assert sum(t["proposals_compact"] for t in sent) >= common - start
    assert sum(t["served_txs"] for t in sent) + sum(t["served_bytes"] for t in sent) > 0
    follower = traffic(logs[f"val-{FOLLOWER}"])
    # The follower got its blocks as proposals, fetching what it lacked: by
    # whole proposals (more than half missing) or by transactions.
    assert follower["proposal_requests"] + follower["fetch_requests"] >= (common - start) // 2
    assert follower["whole_received"] + follower["rebuilt"] >= (common - start) // 2
    assert len(synced) <= (common - start) // 4, f"the follower block-synced {synced}"
