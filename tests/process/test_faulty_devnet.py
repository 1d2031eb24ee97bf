"""A 4-validator devnet over a faulty wide-area network (issue 18 section 4).

Every link between two validators goes through the fault-injecting proxy
(tests/process/faulty_network.py): 100 ms round trip, ± 5 ms jitter,
20 Mbit/s each way. Under a steady transfer load the schedule is below;
each fault lasts until a condition shows it did what it is for (bounded,
so a hung net fails and says where), never for a fixed time:

1. kill -9 a validator until the others committed 5 blocks, restart it;
2. pause a validator (SIGSTOP) until the others committed 5 blocks, resume
   it (SIGCONT);
3. partition 2|2 until every validator has waited for a quorum for 10
   gossip intervals (the tap hears each re-broadcast its last vote 10 times
   and sign nothing newer; no block may commit without a quorum), then
   1|3 until the three committed 5 blocks and the one's connections died
   (keepalive) and it redialed into the partition on every link, then heal;
4. a lossy network: 5% segment loss on every link (retransmission delay
   spikes, see link_model.py) with random connection resets, until 30
   blocks and 2 resets went through, then clean.

Then it checks, exactly:

- **no fork**: every node has the same block hash at every height, and the
  block each node had at its tip after each recovery is still there;
- **no committed transaction lost**: every transaction a node's RPC
  acknowledged is committed, exactly once; the only exception is a
  transaction that only a node killed afterwards held (no other node knew
  it right after the kill), and only while the node keeps no mempool across
  restarts (no ``consensus.node.mempool_journal``): those are counted and
  reported, and required too once the journal exists;
- **no double sign**: no validator signed two different votes or proposals
  for one height, round and step, among everything a vote tap heard from
  every validator directly and every commit certificate on the chain; and
  no node logged evidence of equivocation;
- **recovery** after each fault: from the end of the fault until every node
  has committed a block above the highest one any node had then. Reported
  (printed and written to test-artifacts/netfault/recovery.json), never
  asserted against a time.

It runs for a minute and a half on an idle machine, so it is skipped
unless LEDGER_NETFAULT=1: ``make test-netfault`` runs it, and .ci/run runs
that after the suite (docs/guide/testing.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from consensus.engine.certificate import decode_certificate
from consensus.node.config import encode_config, load_config
from ledger.client import TransportError
from ledger.client.devnet import DEVNET_ACCOUNT_NAMES, account_key

from .devnet_harness import ROOT, Devnet, wait_until
from .faulty_network import FaultyNetwork
from .link_model import wan
from .transfer_load import Acknowledged, TransferLoad
from .vote_tap import VoteTap

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        os.environ.get("LEDGER_NETFAULT") != "1",
        reason="the faulty-network testnet: make test-netfault (LEDGER_NETFAULT=1), run by .ci/run",
    ),
]

RTT_MS = 100
JITTER_MS = 5
BANDWIDTH_MBIT = 20
LOAD_TX_S = 40
PROGRESS_HEIGHTS = 5  # blocks the others commit while a node is down or paused
# While split 2|2 no side has a quorum: every validator stays at its height
# and round, re-broadcasting its last vote every gossip interval (0.5 s here).
STUCK_GOSSIPS = 10
LOSSY_HEIGHTS = 30  # blocks every node commits through the lossy links
LOSSY_RESETS = 2  # connections the lossy links reset meanwhile
# Bounds on the waits below: far beyond what an idle or a busy machine takes
# (they make a hung net fail the test, and say where; they are no verdict).
FAULT_HANG_S = 150.0
RECOVERY_HANG_S = 180.0
MEMPOOL_SURVIVES_KILL = importlib.util.find_spec("consensus.node.mempool_journal") is not None
ARTIFACTS = ROOT / "test-artifacts" / "netfault"


@dataclass
class Recovery:
    fault: str
    lasted_s: float  # how long the fault was in force
    recovered_s: float  # from the end of the fault to a new block on every node
    heights: tuple[int, int]  # the highest height at the fault's start and end


def route_through(net: Devnet, network: FaultyNetwork) -> None:
    """Point every node's persistent peers at its proxies to the others."""
    for index, node in enumerate(net.nodes):
        path = Path(node["home"]) / "config.toml"
        config = load_config(path)
        config = replace(config, p2p=replace(config.p2p, persistent_peers=network.peers_of(index)))
        path.write_text(encode_config(config))


def max_height(net: Devnet, nodes: list[int]) -> int:
    heights = []
    for index in nodes:
        try:
            heights.append(net.height(index))
        except (TransportError, OSError):
            continue
    return max(heights, default=0)


def caught_up(net: Devnet, nodes: list[int], above: int) -> bool:
    """Every node in ``nodes`` has committed a block above ``above`` and is
    within one block of the others (none still fetching far behind)."""
    heights = [net.height(i) for i in nodes]
    return min(heights) > above and max(heights) - min(heights) <= 1


class SignalledPause:
    """SIGSTOP a node process; SIGCONT on resume (and on any exit)."""

    def __init__(self, net: Devnet, index: int) -> None:
        process = net.processes[index]
        assert process is not None
        self.process = process

    def __enter__(self) -> SignalledPause:
        self.process.send_signal(signal.SIGSTOP)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGCONT)


def at_risk_after_kill(net: Devnet, victim: int, acknowledged: list[Acknowledged]) -> set[bytes]:
    """Transactions the killed node acknowledged that no surviving node
    knows, pending or committed, right after the kill."""
    survivors = [i for i in range(net.count) if i != victim]
    at_risk = set()
    for ack in acknowledged:
        if ack.node != victim:
            continue
        if not any(net.clients[i].get_transaction(ack.tx_hash) for i in survivors):
            at_risk.add(ack.tx_hash)
    return at_risk


class ChainScan:
    """Every node's block hashes by height, read once each, and the
    transactions and certificates of node 0's chain."""

    def __init__(self, net: Devnet) -> None:
        self.net = net
        self.hashes: list[dict[int, bytes]] = [{} for _ in range(net.count)]
        self.committed: Counter[bytes] = Counter()
        self.certificates: list[bytes] = []

    def read(self, index: int, up_to: int) -> None:
        known = self.hashes[index]
        for height in range(len(known) + 1, up_to + 1):
            block = self.net.clients[index].get_block(height)
            assert block is not None, f"node {index} has no block {height}"
            known[height] = block.hash
            if index == 0:
                self.committed.update(block.transaction_hashes)
                if block.last_commit:
                    self.certificates.append(block.last_commit)

    def read_all(self) -> int:
        common = min(self.net.height(i) for i in range(self.net.count))
        for index in range(self.net.count):
            self.read(index, common)
        return common

    def forks(self, up_to: int) -> list[int]:
        return [h for h in range(1, up_to + 1) if len({known[h] for known in self.hashes}) != 1]


class FaultSchedule:
    """The faults, one after the other, each followed by its recovery: what
    it took, the transactions at risk from the kill, what was seen on the way."""

    def __init__(
        self,
        net: Devnet,
        network: FaultyNetwork,
        tap: VoteTap,
        load: TransferLoad,
        note: Callable[[str], None],
    ) -> None:
        self.net = net
        self.network = network
        self.tap = tap
        self.validators = [v.address for v in net.genesis.validators]
        self.load = load
        self.note = note
        self.everyone = list(range(net.count))
        self.recoveries: list[Recovery] = []
        self.at_risk: set[bytes] = set()
        self.observed: dict[str, Any] = {}
        self.tips: list[tuple[int, int, bytes]] = []  # (node, height, block hash) seen
        self.height = 0  # the highest height when the current fault began

    def run(self) -> None:
        self.kill_and_restart(1)
        self.pause_and_resume(2)
        self.partitions()
        self.lossy_network()

    def recover(self, fault: str, started: float, nodes: list[int] | None = None) -> None:
        """Record the time from now (the fault's end) until ``nodes`` (default:
        all) have caught up above the highest block any node has now; then,
        for the whole net, let two more blocks commit before the next fault."""
        nodes = nodes if nodes is not None else self.everyone
        ended = time.monotonic()
        top = max_height(self.net, self.everyone)
        wait_until(
            lambda: caught_up(self.net, nodes, top),
            RECOVERY_HANG_S,
            f"recovery after {fault}",
            0.05,
        )
        recovered = time.monotonic() - ended
        self.recoveries.append(Recovery(fault, ended - started, recovered, (self.height, top)))
        self.remember_tips(nodes)
        self.note(f"recovered from {fault} in {recovered:.2f} s")
        if nodes == self.everyone:
            settled = max_height(self.net, self.everyone) + 2
            wait_until(
                lambda: caught_up(self.net, nodes, settled), RECOVERY_HANG_S, "a settled net", 0.1
            )

    def remember_tips(self, nodes: list[int]) -> None:
        """What each node has committed at its tip now: it must still be there,
        unchanged, at the end (a committed block is never rolled back). A node
        too busy to answer now is skipped: this only adds checks."""
        for index in nodes:
            try:
                height = self.net.height(index)
                self.tips.append((index, height, self.net.block_hash(index, height)))
            except (TransportError, OSError):
                continue

    def begin(self, what: str) -> float:
        self.height = max_height(self.net, self.everyone)
        self.note(f"{what} at height {self.height}")
        return time.monotonic()

    def others_progress(self, others: list[int]) -> None:
        """The others go on without the faulty node (PROGRESS_HEIGHTS blocks)."""
        base = max_height(self.net, others)
        self.net.wait_height(base + PROGRESS_HEIGHTS, indexes=others, timeout=FAULT_HANG_S)

    def kill_and_restart(self, victim: int) -> None:
        # All of the node's acknowledgements count: it started before the load.
        start = self.begin(f"kill -9 node {victim}")
        self.net.kill(victim)
        self.at_risk = at_risk_after_kill(self.net, victim, self.load.acknowledged())
        self.others_progress([i for i in self.everyone if i != victim])
        self.net.start(victim)
        self.recover("kill -9 and restart", start)

    def pause_and_resume(self, victim: int) -> None:
        start = self.begin(f"SIGSTOP node {victim}")
        with SignalledPause(self.net, victim):
            self.others_progress([i for i in self.everyone if i != victim])
        self.recover("pause (SIGSTOP) and resume", start)

    def partitions(self) -> None:
        start = self.begin("partition 2|2")
        self.network.partition([0, 1], [2, 3])
        self.hold("every validator stuck without a quorum", self.stuck_without_quorum)
        halted = max_height(self.net, self.everyone)
        self.observed["blocks_committed_during_2_2"] = halted - self.height
        self.observed["stuck_at_during_2_2"] = [
            [position[1:] if position else None, heard]
            for position, heard in map(self.tap.latest_of, self.validators)
        ]
        # A block whose precommits were on the way may still land; no more.
        assert halted <= self.height + 1, f"{halted - self.height} blocks without a quorum"
        switch = self.begin("partition 1|3")
        opened = self.connections_opened()
        self.network.partition([0, 1, 2], [3])
        self.recover("partition 2|2, then 1|3 (the three)", start, [0, 1, 2])
        self.hold(
            "the three go on, the one's links die and it redials into the partition",
            lambda: self.isolated_and_redialing(3, opened, halted),
        )
        self.observed["blocks_committed_by_the_three_during_1_3"] = (
            max_height(self.net, [0, 1, 2]) - halted
        )
        self.network.heal()
        self.note("healed")
        self.recover("heal after 1|3", switch)

    def lossy_network(self) -> None:
        start = self.begin("5% loss and resets on every link")
        before = self.link_totals()
        self.network.update_all(loss=0.05, resets_per_minute=2.0)
        target = self.height + LOSSY_HEIGHTS

        def enough_through_loss() -> bool:
            resets = self.link_totals()["resets"] - before["resets"]
            return resets >= LOSSY_RESETS and caught_up(self.net, self.everyone, target)

        what = f"{LOSSY_HEIGHTS} blocks and {LOSSY_RESETS} connection resets through loss"
        self.hold(what, enough_through_loss)
        lasted = time.monotonic() - start
        after = self.link_totals()
        blocks = max_height(self.net, self.everyone) - self.height
        self.observed["blocks_per_s_during_loss"] = round(blocks / lasted, 2)
        self.observed["connections_reset_during_loss"] = after["resets"] - before["resets"]
        retransmitted = after["retransmitted_chunks"] - before["retransmitted_chunks"]
        self.observed["chunks_held_back_by_loss"] = retransmitted
        assert retransmitted > 0, "the lossy links lost nothing"
        self.network.update_all(loss=0.0, resets_per_minute=0.0)
        self.recover("5% loss with resets, then clean", start)

    # -- the conditions that end a fault ---------------------------------------
    def hold(self, what: str, condition: Callable[[], bool]) -> None:
        """Keep the fault in force until ``condition`` holds (bounded)."""
        wait_until(condition, FAULT_HANG_S, what, 0.1)
        self.note(what)

    def stuck_without_quorum(self) -> bool:
        """Every validator's latest signed message (as the tap hears it) is
        at the height being decided or the one before, and it has re-broadcast
        it STUCK_GOSSIPS times without signing anything newer: the nodes
        themselves have spent that many gossip intervals without a quorum."""
        for address in self.validators:
            position, heard = self.tap.latest_of(address)
            if position is None or position[1] < self.height or heard < STUCK_GOSSIPS:
                return False
        return True

    def isolated_and_redialing(self, isolated: int, opened: dict[str, int], halted: int) -> bool:
        """The others committed PROGRESS_HEIGHTS blocks and every link of
        ``isolated`` saw a new connection since the partition: its old ones
        were given up (keepalive) and a dial went into the partition."""
        if max_height(self.net, [i for i in self.everyone if i != isolated]) < (
            halted + PROGRESS_HEIGHTS
        ):
            return False
        now = self.connections_opened()
        links = [f"{min(i, isolated)}-{max(i, isolated)}" for i in self.everyone if i != isolated]
        return all(now[name] > opened[name] for name in links)

    def connections_opened(self) -> dict[str, int]:
        return {name: int(link["opened"]) for name, link in self.network.stats().items()}

    def link_totals(self) -> dict[str, int]:
        links = self.network.stats().values()
        return {
            key: sum(int(link[key]) for link in links)
            for key in ("resets", "retransmitted_chunks", "opened")
        }


def test_a_devnet_over_a_faulty_network_keeps_one_chain_and_every_transaction(
    tmp_path: Path,
) -> None:
    net = Devnet(tmp_path / "devnet", validators=4)
    keys = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]
    validators = {v.address: v.public_key for v in net.genesis.validators}
    ports = [node["p2p_port"] for node in net.nodes]
    link = wan(RTT_MS, JITTER_MS, BANDWIDTH_MBIT)
    lines: list[str] = []
    t0 = time.monotonic()

    def note(text: str) -> None:
        lines.append(f"{time.monotonic() - t0:7.1f} s  {text}")
        print(lines[-1], flush=True)

    with (
        FaultyNetwork(ports, link, seed=18) as network,
        VoteTap(ports, net.genesis.chain_id, validators) as tap,
    ):
        route_through(net, network)
        try:
            net.start_all()
            net.wait_height(2, timeout=120)
            note(f"running at height {max_height(net, list(range(4)))}")
            load = TransferLoad(
                [node["rpc_url"] for node in net.nodes],
                [keys[2 * i : 2 * i + 2] for i in range(4)],
                net.genesis.chain_id,
                LOAD_TX_S,
            )
            schedule = FaultSchedule(net, network, tap, load, note)
            with load:
                base, began = max_height(net, [0]), time.monotonic()
                net.wait_height(base + 10, timeout=120)  # the load flows
                healthy = (max_height(net, [0]) - base) / (time.monotonic() - began)
                schedule.run()
            acknowledged = load.acknowledged()
            note(f"load stopped: {load.counts}")

            required = {a.tx_hash for a in acknowledged}
            if not MEMPOOL_SURVIVES_KILL:
                required -= schedule.at_risk
            scan = ChainScan(net)

            def all_required_committed() -> bool:
                scan.read_all()
                return required <= set(scan.committed)

            try:
                wait_until(all_required_committed, 180, "every required transaction", 0.5)
            except AssertionError as timed_out:
                missing = [a for a in acknowledged if a.tx_hash in required - set(scan.committed)]
                message = f"{len(missing)} acknowledged, never committed: {missing[:5]}"
                raise AssertionError(message) from timed_out
            common = scan.read_all()
            note(f"all {len(required)} required transactions committed; common height {common}")
        finally:
            net.stop_all()

        # No fork.
        assert scan.forks(common) == [], f"nodes disagree at heights {scan.forks(common)}"
        rolled_back = [
            (node, height)
            for node, height, block_hash in schedule.tips
            if scan.hashes[node].get(height) != block_hash
        ]
        assert rolled_back == [], f"committed blocks replaced or gone: {rolled_back}"
        # Every committed transaction once, every required one committed.
        duplicates = [h.hex() for h, n in scan.committed.items() if n > 1]
        assert duplicates == [], f"committed more than once: {duplicates}"
        lost_at_risk = schedule.at_risk - set(scan.committed)
        # No double sign: the tap's messages and the chain's certificates.
        for raw in scan.certificates:
            tap.add_certificate(decode_certificate(raw))
        assert tap.rejected == 0, "the tap heard messages whose signatures do not verify"
        assert tap.equivocations() == [], f"double signs: {tap.equivocations()}"
        logs = net.logs()
        assert not any("evidence of equivocation" in text for text in logs.values())
        silent = [
            index
            for index, address in enumerate(validators)
            if len(tap.heights_signed_by(address)) < common // 2
        ]
        assert silent == [], f"the tap heard too little from validators {silent}"

        report = {
            "links": link.to_json(),
            "load_tx_s": LOAD_TX_S,
            "recoveries": [r.__dict__ for r in schedule.recoveries],
            "blocks_per_s_before_faults": round(healthy, 2),
            "observed": schedule.observed,
            "keepalive_disconnects": sum(t.count("No PONG received") for t in logs.values()),
            "acknowledged": len(acknowledged),
            "required": len(required),
            "committed": sum(scan.committed.values()),
            "at_risk_after_kill": len(schedule.at_risk),
            "at_risk_lost": len(lost_at_risk),
            "mempool_survives_kill": MEMPOOL_SURVIVES_KILL,
            "refused": load.counts.refused,
            "refusals": load.counts.reasons,
            "unreachable": load.counts.unreachable,
            "heights": common,
            "tap_positions": tap.positions(),
            "tap_messages": tap.messages,
            "timeline": lines,
        }
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "recovery.json").write_text(json.dumps(report, indent=2) + "\n")
        for recovery in schedule.recoveries:
            print(
                f"{recovery.fault:40s} lasted {recovery.lasted_s:6.1f} s, "
                f"recovered in {recovery.recovered_s:5.2f} s (heights {recovery.heights})"
            )
        print(json.dumps({k: v for k, v in report.items() if k != "timeline"}))
