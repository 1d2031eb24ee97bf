"""Benchmark: the e-cash mint end to end on a devnet of validator processes.

    python -m bench.mint [--quick] [--validators 4] [--window 1536] [--duration 60]

A devnet of ``--validators`` separate node processes (default consensus
settings: 500 ms between blocks) runs on 127.0.0.1 with the devnet genesis
(its mint: denominations 1..2^20, 3-of-4 keys from the validators' DKG)
plus ``--senders`` funded bench accounts. Once the keyset is active:

1. **Issuance.** Deposits of ``--outputs`` notes each (every note worth 1,
   so the books count notes) are signed and submitted in a closed loop for
   ``--duration`` seconds: about ``--window`` notes are always submitted
   and not yet issued, so the devnet runs at its own pace (an open loop
   faster than it signs would only grow a queue whose requests are
   refunded after ``issue_timeout_blocks``). Each sender always goes through
   the same node. The validators' key holder services sign the deposits in
   two rounds of transactions. A watcher samples ``ledger_getMint`` (the
   books) on node 0; the headline is the notes issued per second from a
   fifth into the run to its end (steady state); the extras the rate from
   the first submission until every note is issued, the issuance latency
   in blocks (deposit's block to the block that issued it), the block rate
   while submitting, and where the CPU went meanwhile: cores kept busy by
   the validator nodes, by this benchmark's client and by anything else on
   the machine (it is shared), and the nodes' CPU per note issued. With a
   fixed window, notes per second is the window divided by the issuance
   latency (Little's law): nodes well below the free cores say the window,
   not the CPU, is the limit.
2. **Redemption.** ``--redemptions`` deposits' notes are unblinded (each
   NUT-12 proof checked) and redeemed to their depositor, paced at
   ``--redeem-rate`` per second: commit, reveal as soon as the commitment is
   in a block, then wait for the settlement. Latency in blocks: from the
   commitment's block to the block that settles it (target p50 <= 3).
3. **Costs on one core, in process:** a key holder's issuance share and its
   check, a redemption share and its check, the NUT-12 check (bench.mint_crypto).
4. **The pending records** (issuance requests, redemption commitments,
   locked notes): each kind has a list of ids, read and rewritten when an
   entry comes or goes, and deadline buckets that the end-of-block steps
   read. In process, on a state holding N pending entries (the requests
   with 64 outputs and 3 holders' commitments each, the size an attacker's
   deposits would have), the time of the end-of-block steps, of one list
   rewrite, and of the block after a resharing (which restarts every
   pending round), for N up to the caps.

The reference, measured in the same run, is the crypto-bound limit of
issuance on this machine: the cores divided by the CPU time the
cryptography of one note takes across the devnet (every validator commits
to it and aggregates it, t of them respond). Progress on stderr, the JSON
line last on stdout (../shared/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench.devnet_throughput import node_rss_mb, percentile, rpc, wait_ready
from bench.mint_crypto import crypto_costs
from bench.report import emit, log
from cli.node.node_commands import free_local_ports, launch_devnet, prepare_devnet, stop_devnet
from ledger.address import address_of, encode_address
from ledger.client.devnet import devnet_genesis_document, insecure_key
from ledger.client.mint_wallet import (
    PendingOutput,
    address_target,
    notes_from_signatures,
    outputs_for,
    prepare_redemption,
)
from ledger.context import BlockContext
from ledger.crypto import SigningKey
from ledger.features.mint.bodies import MintDeposit, NoteInput
from ledger.features.mint.config import MintConfig, set_config
from ledger.features.mint.issue import advance_mint_issues
from ledger.features.mint.records import (
    COMMITTED,
    ISSUING,
    KEYSET_ACTIVE,
    LOCKED,
    PENDING_COMMITMENTS_KEY,
    PENDING_ISSUES_KEY,
    PENDING_LOCKS_KEY,
    ChainKeyset,
    Commitment,
    IssueRequest,
    Lock,
    get_pending,
    set_commitment,
    set_keyset,
    set_lock,
    set_meta,
    set_pending,
    set_request,
)
from ledger.features.mint.redeem import settle_mint_redemptions
from ledger.features.mint.wire import ISSUANCE_COMMITMENT_SIZE
from ledger.features.threshold.key_sets import KeySet, get_key_set, set_key_set
from ledger.params import Params
from ledger.state import MemoryStateReader, State
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import decode_element
from ledger.types import Transaction

FEE = 1000
TICK_S = 0.05
BATCH = 50


@dataclass
class Deposit:
    """A signed deposit and what its wallet keeps."""

    sender: int
    node: int
    raw: str
    hash: str
    pending: tuple[PendingOutput, ...]
    submitted_at: float = 0.0
    height: int = 0
    request_id: int = 0
    completed_at: int = 0


@dataclass
class Run:
    deposits: list[Deposit] = field(default_factory=list)
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)  # t, h, issued, fl
    start: float = 0.0
    end: float = 0.0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # where the CPU went: cpu_usage()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds a process has used (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_s() -> float:
    """CPU seconds every core of the machine spent busy since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def cpu_snapshot(pids: list[int]) -> tuple[float, float, float, float]:
    """(wall, the nodes' CPU s, this process's CPU s, the machine's busy CPU s)."""
    own = os.times()
    nodes = sum(process_cpu_s(pid) for pid in pids)
    return time.monotonic(), nodes, own.user + own.system, machine_busy_s()


def cpu_usage(
    before: tuple[float, float, float, float], after: tuple[float, float, float, float]
) -> dict[str, float]:
    """Cores kept busy between two snapshots: by the validator nodes, by this
    benchmark's client, and by everything else on the (shared) machine."""
    wall = max(after[0] - before[0], 1e-9)
    nodes = (after[1] - before[1]) / wall
    client = (after[2] - before[2]) / wall
    machine = (after[3] - before[3]) / wall
    return {
        "node_cores_busy": round(nodes, 2),
        "client_cores_busy": round(client, 2),
        "other_cores_busy": round(max(machine - nodes - client, 0.0), 2),
    }


def bench_genesis(validators: int, senders: int) -> tuple[dict[str, Any], list[SigningKey]]:
    """The devnet genesis plus ``senders`` funded bench accounts."""
    document = devnet_genesis_document(validators)
    keys = [insecure_key(f"bench-mint/{i}") for i in range(senders)]
    document["accounts"] += [
        {
            "name": f"bench-{i}",
            "address": encode_address(address_of(key.public_key)),
            "balances": {"coin": str(10**24)},
        }
        for i, key in enumerate(keys)
    ]
    return document, keys


@dataclass
class DepositSigner:
    """Signs the next deposit of ``outputs`` one-coin notes, round robin over
    the senders, each sender always through the same node."""

    keys: list[SigningKey]
    outputs: int
    epoch: int
    max_exponent: int
    nodes: int
    chain_id: str
    rng: random.Random
    nonces: list[int] = field(default_factory=list)
    count: int = 0

    def next(self) -> Deposit:
        if not self.nonces:
            self.nonces = [0] * len(self.keys)
        sender = self.count % len(self.keys)
        self.count += 1
        key = self.keys[sender]
        body_outputs, pending = outputs_for(
            [1] * self.outputs, self.max_exponent, self.rng.randbytes
        )
        body = MintDeposit(self.epoch, body_outputs)
        tx = Transaction(self.chain_id, key.public_key, self.nonces[sender], FEE, body).signed(key)
        self.nonces[sender] += 1
        return Deposit(sender, sender % self.nodes, tx.encode().hex(), tx.hash.hex(), pending)


async def rpc_batch(
    session: aiohttp.ClientSession, url: str, calls: list[tuple[str, list[Any]]]
) -> list[Any]:
    """Results of a JSON-RPC batch, in order (None for an error)."""
    body = [
        {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
        for i, (method, params) in enumerate(calls)
    ]
    async with session.post(url, json=body) as response:
        replies = await response.json()
    by_id = {reply["id"]: reply for reply in replies}
    return [by_id[i].get("result") for i in range(len(calls))]


async def submit(
    run: Run,
    signer: DepositSigner,
    urls: list[str],
    window: int,
    duration: float,
    session: aiohttp.ClientSession,
) -> None:
    """Closed loop for ``duration`` seconds: keep about ``window`` notes
    submitted and not yet issued (the books' issued count tells), so the
    devnet works at its own pace, never behind a queue that outgrows the
    refund timeout."""
    loop = asyncio.get_running_loop()
    run.start = time.monotonic()
    deadline = run.start + duration
    sends: list[asyncio.Task[None]] = []
    base = run.samples[0][2] if run.samples else 0
    while time.monotonic() < deadline:
        issued = (run.samples[-1][2] if run.samples else base) - base
        outstanding = len(run.deposits) * signer.outputs - issued
        while outstanding + signer.outputs <= window:
            deposit = signer.next()
            run.deposits.append(deposit)
            outstanding += signer.outputs
            sends.append(loop.create_task(send(run, urls[deposit.node], [deposit], session)))
        await asyncio.sleep(TICK_S)
    run.end = time.monotonic()
    await asyncio.gather(*sends)


async def send(run: Run, url: str, items: list[Deposit], session: aiohttp.ClientSession) -> None:
    now = time.monotonic()
    for deposit in items:
        deposit.submitted_at = now
    body = [
        {"jsonrpc": "2.0", "id": i, "method": "ledger_sendRawTransaction", "params": [d.raw]}
        for i, d in enumerate(items)
    ]
    async with session.post(url, json=body) as response:
        replies = await response.json()
    for reply in replies:
        if "error" in reply:
            run.rejected += 1
            reason = str(reply["error"].get("message", "?"))[:80]
            run.reasons[reason] = run.reasons.get(reason, 0) + 1


async def sample_books(
    run: Run, url: str, session: aiohttp.ClientSession, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        mint = await rpc(session, url, "ledger_getMint", [])
        height = await rpc(session, url, "ledger_blockNumber", [])
        run.samples.append((time.monotonic(), height, int(mint["issued"]), int(mint["inFlight"])))
        await asyncio.sleep(0.25)


def overall_rate(run: Run) -> float:
    """Notes issued per second from the first submission to the sample that
    first showed every note issued (or the last sample)."""
    if not run.samples:
        return float("nan")
    first, final = run.samples[0][2], run.samples[-1][2]
    done_at = next(t for t, _, issued, _ in run.samples if issued == final)
    return (final - first) / max(done_at - run.start, 1e-9)


def issued_rate(run: Run, since: float, until: float) -> float:
    """Notes issued per second between two instants (linear over the samples)."""
    inside = [s for s in run.samples if since <= s[0] <= until]
    if len(inside) < 2:
        return float("nan")
    return (inside[-1][2] - inside[0][2]) / (inside[-1][0] - inside[0][0])


async def issuance_phase(
    urls: list[str],
    run: Run,
    signer: DepositSigner,
    window: int,
    duration: float,
    drain_s: float,
    pids: list[int],
) -> None:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        stop = asyncio.Event()
        sampler = asyncio.get_running_loop().create_task(sample_books(run, urls[0], session, stop))
        while not run.samples:
            await asyncio.sleep(0.05)
        before = cpu_snapshot(pids)
        await submit(run, signer, urls, window, duration, session)
        run.cpu = cpu_usage(before, cpu_snapshot(pids))
        log(f"  submitted {len(run.deposits)} deposits ({run.rejected} refused); draining ...")
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            if run.samples and run.samples[-1][3] == 0 and run.samples[-1][0] > run.end:
                break
            await asyncio.sleep(0.2)
        stop.set()
        await sampler
        await locate(run, urls[0], session)


async def locate(run: Run, url: str, session: aiohttp.ClientSession) -> None:
    """Each deposit's block and request id, and the block that issued it."""
    for start in range(0, len(run.deposits), BATCH):
        chunk = run.deposits[start : start + BATCH]
        receipts = await rpc_batch(
            session, url, [("ledger_getTransactionReceipt", [d.hash]) for d in chunk]
        )
        for deposit, receipt in zip(chunk, receipts, strict=True):
            if receipt is None or receipt["status"] != 0:
                continue
            deposit.height = int(receipt["blockHeight"])
            for event in receipt["events"]:
                if event["kind"] == "mint_deposit":
                    deposit.request_id = int(event["attributes"]["request_id"])
        located = [d for d in chunk if d.request_id]
        issues = await rpc_batch(
            session, url, [("ledger_getMintIssue", [d.request_id]) for d in located]
        )
        for deposit, issue in zip(located, issues, strict=True):
            if issue is not None and issue["status"] == "issued":
                deposit.completed_at = int(issue["completedAt"])


@dataclass
class Redemption:
    deposit: Deposit
    commit_height: int = 0
    settled_at: int = 0
    won: int = 0
    seconds: float = 0.0


async def redemption_phase(
    urls: list[str],
    keys: list[SigningKey],
    deposits: list[Deposit],
    nonces: dict[int, int],
    chain_id: str,
    epoch: int,
    rate: float,
    rng: random.Random,
) -> list[Redemption]:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        keys_json = await rpc(session, urls[0], "ledger_getMintKeys", [])
        active = next(k for k in keys_json["keysets"] if k["active"])
        public_keys = [
            bytes.fromhex(active["keys"][str(1 << i)]) for i in range(len(active["keys"]))
        ]
        runs = [Redemption(d) for d in deposits]
        tasks = []
        for index, redemption in enumerate(runs):
            tasks.append(
                asyncio.get_running_loop().create_task(
                    redeem_one(
                        session,
                        urls[0],
                        keys,
                        redemption,
                        nonces,
                        chain_id,
                        epoch,
                        active["id"],
                        public_keys,
                        rng,
                    )
                )
            )
            if index + 1 < len(runs):
                await asyncio.sleep(1.0 / rate)
        await asyncio.gather(*tasks)
        return runs


async def redeem_one(
    session: aiohttp.ClientSession,
    url: str,
    keys: list[SigningKey],
    redemption: Redemption,
    nonces: dict[int, int],
    chain_id: str,
    epoch: int,
    keyset_id: str,
    public_keys: list[bytes],
    rng: random.Random,
) -> None:
    deposit = redemption.deposit
    issue = await rpc(session, url, "ledger_getMintIssue", [deposit.request_id])
    signatures = [
        bytes.fromhex(s["C_"] + s["dleq"]["e"] + s["dleq"]["s"]) for s in issue["signatures"]
    ]
    notes = notes_from_signatures(deposit.pending, signatures, keyset_id, public_keys)
    key = keys[deposit.sender]
    sender = address_of(key.public_key)
    prepared = prepare_redemption(
        chain_id, sender, notes, {keyset_id: epoch}, address_target(sender), rng.randbytes
    )
    nonce = nonces[deposit.sender]
    nonces[deposit.sender] += 2
    commit = Transaction(chain_id, key.public_key, nonce, FEE, prepared.commit).signed(key)
    started = time.monotonic()
    await rpc(session, url, "ledger_sendRawTransaction", [commit.encode().hex()])
    receipt = await until_result(session, url, "ledger_getTransactionReceipt", [commit.hash.hex()])
    redemption.commit_height = int(receipt["blockHeight"])
    commitment_id = next(
        int(e["attributes"]["commitment_id"])
        for e in receipt["events"]
        if e["kind"] == "mint_redeem_committed"
    )
    reveal_body = prepared.reveal(commitment_id)
    reveal = Transaction(chain_id, key.public_key, nonce + 1, FEE, reveal_body).signed(key)
    await rpc(session, url, "ledger_sendRawTransaction", [reveal.encode().hex()])
    while True:
        commitment = await rpc(session, url, "ledger_getMintRedemption", [commitment_id])
        if commitment["status"] in ("settled", "expired"):
            break
        await asyncio.sleep(0.05)
    redemption.settled_at = int(commitment["settledAt"])
    redemption.won = int(commitment["won"])
    redemption.seconds = time.monotonic() - started


async def until_result(
    session: aiohttp.ClientSession, url: str, method: str, params: list[Any], timeout: float = 60
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await rpc(session, url, method, params)
        if result is not None:
            return result
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{method}{params}: nothing after {timeout} s")


async def active_keyset(url: str, timeout: float) -> tuple[int, int]:
    """(epoch, max exponent) once the validators have made the first keyset."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            mint = await rpc(session, url, "ledger_getMint", [])
            if mint and mint["activeKeysetEpoch"]:
                return int(mint["activeKeysetEpoch"]), int(mint["maxExponent"])
            await asyncio.sleep(0.25)
    raise RuntimeError("the mint's keyset was not made in time")


# -- the pending records, in process ---------------------------------------------------


def _point(rng: random.Random) -> bytes:
    while True:
        candidate = b"\x02" + rng.randbytes(32)
        try:
            decode_element(candidate)
            return candidate
        except ThresholdError:
            continue


def pending_state(count: int, outputs: int, rng: random.Random) -> MemoryStateReader:
    """A mint state with ``count`` pending issuance requests (``outputs``
    outputs, three holders' commitments each), ``count`` pending redemption
    commitments and ``count`` locked notes awaiting evaluation."""
    reader = MemoryStateReader()
    state = State(reader)
    config = MintConfig()
    set_config(state, config)
    keys = tuple(_point(rng) for _ in range(config.key_count))
    members = tuple(
        (i, _point(rng), tuple(_point(rng) for _ in range(config.key_count))) for i in range(1, 5)
    )
    set_key_set(state, KeySet("mint/1", keys, 3, members, 1, 1))
    keyset = ChainKeyset(1, KEYSET_ACTIVE, "mint/1", "01" + "ab" * 32, keys, 0, 0, 1)
    set_keyset(state, keyset)
    set_meta(state, 1, 1)
    owner = bytes(20)
    blinded = tuple((1, _point(rng)) for _ in range(outputs))
    blob = bytes(ISSUANCE_COMMITMENT_SIZE * outputs)
    ys = [_point(rng) for _ in range(count)]
    for i in range(1, count + 1):
        commitments = ((1, blob), (2, blob), (3, blob))
        request = IssueRequest(i, owner, 0, 1, blinded, ISSUING, 0, 10**6, 0, 10**6, 1, commitments)
        set_request(state, request)
        note = NoteInput(1, 1, ys[i - 1], ys[i - 1])
        set_commitment(state, Commitment(i, owner, (note,), bytes(32), 0, COMMITTED, 10**6))
        set_lock(state, Lock(ys[i - 1], LOCKED, 1, 1, 0, (i,)))
    set_pending(state, PENDING_ISSUES_KEY, tuple(range(1, count + 1)))
    set_pending(state, PENDING_COMMITMENTS_KEY, tuple(range(1, count + 1)))
    set_pending(state, PENDING_LOCKS_KEY, tuple(ys))
    reader.apply(state.changes())
    return reader


def pending_costs(counts: list[int], outputs: int, repeat: int) -> dict[str, dict[str, float]]:
    """Milliseconds, per block, of the end-of-block steps and of one list
    rewrite (an entry appended), on states holding N pending entries; and of
    the block after a resharing (every pending request restarts its round)."""
    rng = random.Random(7)
    ctx = BlockContext("bench-mint", 10, 0, bytes(20), Params())
    found: dict[str, dict[str, float]] = {}
    for count in counts:
        reader = pending_state(count, outputs, rng)
        start = time.perf_counter()
        for _ in range(repeat):
            advance_mint_issues(State(reader), ctx)
        issues_ms = (time.perf_counter() - start) * 1000 / repeat
        start = time.perf_counter()
        for _ in range(repeat):
            settle_mint_redemptions(State(reader), ctx)
        redemptions_ms = (time.perf_counter() - start) * 1000 / repeat
        start = time.perf_counter()
        for _ in range(repeat):
            state = State(reader)
            pending = get_pending(state, PENDING_ISSUES_KEY)
            set_pending(state, PENDING_ISSUES_KEY, (*pending, count + 1))
            state.changes()
        rewrite_ms = (time.perf_counter() - start) * 1000 / repeat
        reshared = State(reader)
        held = get_key_set(reshared, "mint/1")
        assert held is not None
        set_key_set(reshared, replace(held, epoch=2))
        after = MemoryStateReader(reader.values)
        after.apply(reshared.changes())
        start = time.perf_counter()
        advance_mint_issues(State(after), ctx)
        reshare_ms = (time.perf_counter() - start) * 1000
        found[str(count)] = {
            "advance_mint_issues_ms": round(issues_ms, 3),
            "settle_mint_redemptions_ms": round(redemptions_ms, 3),
            "list_rewrite_ms": round(rewrite_ms, 4),
            "after_resharing_ms": round(reshare_ms, 1),
        }
        log(f"  {count:5d} pending: {json.dumps(found[str(count)])}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--senders", type=int, default=64)
    parser.add_argument("--outputs", type=int, default=32, help="notes per deposit (1-64)")
    parser.add_argument(
        "--window", type=int, default=1536, help="notes submitted and not yet issued"
    )
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--redemptions", type=int, default=24)
    parser.add_argument("--redeem-rate", type=float, default=2.0, help="redemptions/s")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.redemptions = 12.0, 8
    rng = random.Random(args.seed)
    cores = os.cpu_count() or 1
    seconds = 0.3 if args.quick else 1.0
    log("one core, in process: the mint's cryptography ...")
    costs = crypto_costs(args.validators, args.validators * 2 // 3 + 1, seconds)
    threshold = args.validators * 2 // 3 + 1
    note_cpu_s = (
        args.validators / costs["issuance_share"]
        + args.validators / costs["issuance_aggregation"]
        + threshold / costs["issuance_response"]
    )
    reference = cores / note_cpu_s
    log(f"crypto-bound issuance limit: {reference:,.0f} notes/s on {cores} cores")
    log("one core, in process: the pending records ...")
    pending = pending_costs([16, 256, 2048], 64, 3 if args.quick else 10)

    workdir = Path(tempfile.mkdtemp(prefix="bench-mint-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = free_local_ports(2 * args.validators)
        nodes = prepare_devnet(workdir, args.validators, ports[0], ports[args.validators])
        document, keys = bench_genesis(args.validators, args.senders)
        for node in nodes:
            (Path(node["home"]) / "genesis.json").write_text(json.dumps(document))
        processes = launch_devnet(workdir, nodes)
        urls = [node["rpc_url"] for node in nodes]
        asyncio.run(wait_ready(urls, 60))
        epoch, max_exponent = asyncio.run(active_keyset(urls[0], 120))
        signer = DepositSigner(
            keys, args.outputs, epoch, max_exponent, len(urls), document["chain_id"], rng
        )
        run = Run()
        log(f"issuance: {args.window} notes in flight for {args.duration:g} s")
        pids = [p.pid for p in processes]
        asyncio.run(
            issuance_phase(urls, run, signer, args.window, args.duration, 90.0, pids)
        )
        deposits = run.deposits
        steady = issued_rate(run, run.start + args.duration / 5, run.end)
        overall = overall_rate(run)
        total_issued = run.samples[-1][2] - run.samples[0][2] if run.samples else 0
        done = [d for d in deposits if d.completed_at]
        issue_blocks = [float(d.completed_at - d.height) for d in done]
        in_flight = run.samples[-1][3] if run.samples else 0
        window_samples = [x for x in run.samples if run.start <= x[0] <= run.end]
        blocks_per_s = (
            (window_samples[-1][1] - window_samples[0][1])
            / max(window_samples[-1][0] - window_samples[0][0], 1e-9)
            if len(window_samples) > 1
            else float("nan")
        )
        if steady > 0 and "node_cores_busy" in run.cpu:
            run.cpu["node_cpu_ms_per_note"] = round(run.cpu["node_cores_busy"] * 1000 / steady, 2)
        log(f"  while submitting: {blocks_per_s:.2f} blocks/s; cores busy {run.cpu}")
        log(
            f"  {steady:,.1f} notes/s steady, {overall:,.1f} overall; "
            f"issued {total_issued} of "
            f"{len(deposits) * args.outputs}; latency p50 {percentile(issue_blocks, 0.5)} blocks"
        )
        nonces: dict[int, int] = {}
        for deposit in deposits:
            nonces[deposit.sender] = nonces.get(deposit.sender, 0) + 1
        chosen = done[-args.redemptions :]
        log(f"redemption: {len(chosen)} redemptions of {args.outputs} notes")
        redeemed = asyncio.run(
            redemption_phase(
                urls, keys, chosen, nonces, document["chain_id"], epoch, args.redeem_rate, rng
            )
        )
        redeem_blocks = [float(r.settled_at - r.commit_height) for r in redeemed]
        redeem_seconds = [r.seconds for r in redeemed]
        won = sum(r.won for r in redeemed)
        log(f"  latency blocks {sorted(redeem_blocks)}; won {won}")
        rss = [round(node_rss_mb(p.pid), 1) for p in processes]
    finally:
        stop_devnet(processes)
        shutil.rmtree(workdir, ignore_errors=True)
    emit(
        "mint",
        steady,
        "notes/s",
        {"name": "issuance_crypto_bound", "value": round(reference, 1), "unit": "notes/s"},
        {
            "validators": args.validators,
            "threshold": threshold,
            "outputs_per_deposit": args.outputs,
            "window_notes": args.window,
            "duration_s": args.duration,
            "redemptions": args.redemptions,
            "redeem_rate_s": args.redeem_rate,
            "senders": args.senders,
            "block_interval_ms": 500,
            "quick": args.quick,
            "cores": cores,
            "python": sys.version.split()[0],
        },
        {
            "notes_issued": total_issued,
            "overall_notes_s": round(overall, 1),
            "notes_submitted": len(deposits) * args.outputs,
            "deposits_refused": run.rejected,
            "refusals": run.reasons,
            "in_flight_at_end": in_flight,
            "blocks_per_s": round(blocks_per_s, 2),
            **run.cpu,
            "issue_latency_blocks_p50": percentile(issue_blocks, 0.5),
            "issue_latency_blocks_p99": percentile(issue_blocks, 0.99),
            "redeem_latency_blocks_p50": percentile(redeem_blocks, 0.5),
            "redeem_latency_blocks_max": max(redeem_blocks) if redeem_blocks else None,
            "redeem_latency_s_p50": round(percentile(redeem_seconds, 0.5), 3),
            "redeemed_value": won,
            "issuance_share_us": round(1e6 / costs["issuance_share"], 1),
            "issuance_share_check_us": round(1e6 / costs["issuance_share_check"], 1),
            "issuance_response_us": round(1e6 / costs["issuance_response"], 1),
            "issuance_aggregation_us": round(1e6 / costs["issuance_aggregation"], 1),
            "redemption_share_us": round(1e6 / costs["redemption_share"], 1),
            "redemption_share_check_us": round(1e6 / costs["redemption_share_check"], 1),
            "nut12_check_us": round(1e6 / costs["nut12_blind_signature_check"], 1),
            "pending_records": pending,
            "rss_mb_per_node": rss,
        },
    )


if __name__ == "__main__":
    main()
