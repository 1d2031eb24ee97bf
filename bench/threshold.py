"""Threshold keys: a 7-of-10 FROST signing ceremony and a 10-member DKG, in
process and over a devnet of validator processes.

    python -m bench.threshold [--quick] [--devnet-validators N] [--no-devnet]

In process (one core, members one after another): signing 7-of-10, DKG of
10 with threshold 7, resharing 7 -> 10. The headline is the median wall
time of a whole in-process signing ceremony (7 commits, 7 signature shares,
aggregation that verifies every share, final verify).

Over the devnet (N separate `ledger start` processes on 127.0.0.1, default
10, threshold floor(2N/3)+1 = 7 of 10): the DKG the chain requests at block
1, then signing ceremonies for messages. Two figures each: on the nodes (the
longest time a node spent from starting its run to agreeing / signing, from
the nodes' logs) and on chain (wall time from submitting the request until
``ledger_getCeremonies`` reports it completed, which adds inclusion of the
request and of the result, about two blocks). All N processes share this
machine's 2 cores, so the devnet figures measure contention as much as the
protocol; ``params`` says what ran.

The reference, measured in the same run, is the time of one raw
libsecp256k1 ECDSA verification through coincurve, so the ratio says how
many verifications a 7-of-10 signing ceremony costs. Progress goes to stderr; the
last line of stdout is the JSON result (see ../shared/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from coincurve import PrivateKey

from cli.node.node_commands import launch_devnet, prepare_devnet
from consensus.node.config import ConsensusConfig, encode_config, load_config
from ledger.address import address_of
from ledger.client import LedgerClient, TransportError
from ledger.client.devnet import account_key
from ledger.crypto import SigningKey
from ledger.features.threshold.bodies import ThresholdSignMessage
from ledger.threshold import ceremony, dkg, frost, reshare
from ledger.threshold.ceremony import CeremonyResult, SecretShare
from ledger.threshold.group import encode_element
from ledger.threshold.keys import KeyPackage
from ledger.types import Transaction

MEMBERS = 10
THRESHOLD = 7
MESSAGE = b"bench: transfer 1 coin from the threshold bank"


def log(line: str) -> None:
    """Progress to stderr."""
    print(line, file=sys.stderr, flush=True)


def measure_ecdsa_verify_per_s(seconds: float) -> float:
    """Raw coincurve ECDSA verifications per second on this core."""
    key = PrivateKey(os.urandom(32))
    signature = key.sign(MESSAGE)
    public = key.public_key
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            public.verify(signature, MESSAGE)
        count += 200
    return count / elapsed


def run_dkg(n: int, t: int) -> dict[int, CeremonyResult]:
    """A complete honest DKG, every member in turn, with the agreement check."""
    session = dkg.DkgSession(os.urandom(16), t, tuple(range(1, n + 1)))
    round1 = {i: dkg.dkg_round1(session, i, os.urandom) for i in session.participants}
    packages = [p for _, p in round1.values()]
    round2 = {i: dkg.dkg_round2(round1[i][0], packages) for i in session.participants}
    shares = [s for _, sent in round2.values() for s in sent]
    round3 = {i: dkg.dkg_round3(round2[i][0], _inbox(shares, i)) for i in session.participants}
    complaints = [c for _, mine in round3.values() for c in mine]
    assert not complaints
    results = {i: dkg.dkg_finalize(state, complaints, []) for i, (state, _) in round3.items()}
    _agree(results)
    return results


def run_reshare(keys: Sequence[KeyPackage], n: int, t: int) -> dict[int, CeremonyResult]:
    """A complete honest resharing from keys to members 1..n, threshold t."""
    session = reshare.ReshareSession(os.urandom(16), keys[0].public, t, tuple(range(1, n + 1)))
    dealt = [reshare.reshare_deal(session, k, os.urandom) for k in keys]
    packages = [p for _, p, _ in dealt]
    shares = [s for _, _, sent in dealt for s in sent]
    results = {}
    for j in session.new_members:
        state, complaints = reshare.reshare_receive(session, j, packages, _inbox(shares, j))
        assert not complaints
        results[j] = reshare.reshare_finalize(state, [], [])
    _agree(results)
    return results


def _inbox(shares: Sequence[SecretShare], receiver: int) -> list[SecretShare]:
    return [s for s in shares if s.receiver == receiver]


def _agree(results: dict[int, CeremonyResult]) -> None:
    confirmations = [ceremony.confirm(r, os.urandom) for r in results.values()]
    for r in results.values():
        ceremony.check_agreement(r, confirmations)


def run_signing(keys: Sequence[KeyPackage]) -> bytes:
    """A complete signing ceremony among keys; returns the checked signature."""
    round1 = [frost.commit(k, os.urandom) for k in keys]
    commitments = [c for _, c in round1]
    shares = [
        frost.sign(k, n, MESSAGE, commitments) for k, (n, _) in zip(keys, round1, strict=True)
    ]
    signature = frost.encode_signature(
        frost.aggregate(commitments, MESSAGE, keys[0].public, shares)
    )
    assert frost.verify_signature(encode_element(keys[0].group_public_key), MESSAGE, signature)
    return signature


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of action over repeats runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_verify_per_s(group_key: bytes, signature: bytes, seconds: float) -> float:
    """FROST signature verifications per second (the on-chain check)."""
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            frost.verify_signature(group_key, MESSAGE, signature)
        count += 100
    return count / elapsed


# -- over a devnet ------------------------------------------------------------

DEVNET_CONSENSUS = ConsensusConfig(
    tick_ms=20,
    timeout_propose_ticks=60,
    timeout_vote_ticks=30,
    timeout_delta_ticks=20,
    block_interval_ms=200,
)
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (TransportError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def _log_seconds(homes: list[Path], ceremony_id: int, end: str) -> float:
    """The longest time a node spent on the ceremony's attempt that succeeded:
    from "attempt A started" to the line ending in ``end``, from the logs."""
    longest = 0.0
    for home in homes:
        started: dict[str, datetime] = {}
        for line in (home / "node.log").read_text(errors="replace").splitlines():
            match = _LOG_TIME.match(line)
            if match is None or f"ceremony {ceremony_id} " not in line:
                continue
            moment = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
            attempt = re.search(r"attempt (\d+)", line)
            if attempt is None:
                continue
            if "started" in line:
                started[attempt[1]] = moment
            elif line.endswith(end) and attempt[1] in started:
                longest = max(longest, (moment - started[attempt[1]]).total_seconds())
    return longest


class BenchDevnet:
    """N validator processes of the devnet on free loopback ports."""

    def __init__(self, validators: int) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench-threshold-"))
        ports = _free_ports(2 * validators)
        self.nodes = prepare_devnet(
            self.directory, validators, ports[0], ports[validators], DEVNET_CONSENSUS
        )
        for index, node in enumerate(self.nodes):
            path = Path(node["home"]) / "config.toml"
            config = load_config(path)
            peers = tuple(f"127.0.0.1:{p}" for j, p in enumerate(ports[:validators]) if j != index)
            config = replace(
                config,
                p2p=replace(config.p2p, listen_port=ports[index], persistent_peers=peers),
                rpc=replace(config.rpc, listen_port=ports[validators + index]),
            )
            path.write_text(encode_config(config))
            node["rpc_url"] = f"http://127.0.0.1:{ports[validators + index]}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.client = LedgerClient(self.nodes[0]["rpc_url"], timeout=10.0)

    @property
    def homes(self) -> list[Path]:
        return [Path(node["home"]) for node in self.nodes]

    def start(self) -> None:
        self.processes = launch_devnet(self.directory, self.nodes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.client.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _completed(client: LedgerClient, ceremony_id: int) -> bool:
    found = client.get_ceremonies().find(ceremony_id)
    if found is not None and found.status == "failed":
        raise RuntimeError(f"ceremony {ceremony_id} failed")
    return found is not None and found.status == "completed"


def run_devnet(validators: int, signings: int) -> dict[str, Any]:
    """The DKG of block 1 and ``signings`` message signings over a devnet."""
    net = BenchDevnet(validators)
    try:
        log(f"devnet: starting {validators} validator processes ...")
        start = time.monotonic()
        net.start()
        _wait(lambda: net.client.block_number() >= 1, 120, "block 1")
        log(f"devnet: block 1 after {time.monotonic() - start:.1f} s; waiting for the DKG ...")
        _wait(lambda: net.client.get_threshold_key() is not None, 300, "the group key")
        group = net.client.get_threshold_key()
        assert group is not None
        dkg_chain_s = time.monotonic() - start  # from process start: an upper bound
        dkg_nodes_s = _log_seconds(net.homes, group.ceremony_id, ": agreed")
        log(
            f"devnet: DKG {group.threshold}-of-{len(group.members)}: "
            f"{dkg_nodes_s:.3f} s on the nodes"
        )
        alice: SigningKey = account_key("alice")
        chain_times, node_times = [], []
        for index in range(signings):
            before = time.monotonic()
            sent = net.client.send_transaction(
                _sign_request(net.client, alice, b"bench %d" % index), timeout=60
            )
            assert sent.receipt is not None and sent.receipt.status == 0, sent.receipt
            ceremony_id = int(sent.receipt.events[0].attributes["ceremony_id"])
            _wait(lambda c=ceremony_id: _completed(net.client, c), 120, "the signing")
            chain_times.append(time.monotonic() - before)
            node_times.append(_log_seconds(net.homes, ceremony_id, ": signed"))
            log(f"devnet: signing {index + 1}: {chain_times[-1]:.3f} s request to completion")
        return {
            "validators": validators,
            "threshold": group.threshold,
            "dkg_nodes_s": round(dkg_nodes_s, 4),
            "dkg_from_process_start_s": round(dkg_chain_s, 3),
            "sign_nodes_median_s": round(statistics.median(node_times), 4),
            "sign_request_to_completed_median_s": round(statistics.median(chain_times), 4),
            "signings": signings,
        }
    finally:
        net.stop()


def _sign_request(client: LedgerClient, key: SigningKey, message: bytes) -> Transaction:
    nonce = client.get_transaction_count(address_of(key.public_key), "pending")
    body = ThresholdSignMessage(message)
    fee = client.get_params().min_fee
    return Transaction(client.chain_id(), key.public_key, nonce, fee, body).signed(key)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the JSON result as the last stdout line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short run (under 60 s)")
    parser.add_argument(
        "--devnet-validators", type=int, default=MEMBERS, help="validator processes (default 10)"
    )
    parser.add_argument("--no-devnet", action="store_true", help="in process only")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 21
    window = 0.5 if args.quick else 2.0

    log(f"reference: coincurve ECDSA verify for {window} s ...")
    ecdsa_per_s = measure_ecdsa_verify_per_s(window)

    log(f"DKG {THRESHOLD}-of-{MEMBERS}, {repeats} runs ...")
    results = run_dkg(MEMBERS, THRESHOLD)
    dkg_s = median_seconds(lambda: run_dkg(MEMBERS, THRESHOLD), repeats)

    keys = [results[i].key_package for i in range(1, MEMBERS + 1)]
    signers = keys[:THRESHOLD]
    log(f"signing ceremony {THRESHOLD}-of-{MEMBERS}, {repeats * 4} runs ...")
    sign_s = median_seconds(lambda: run_signing(signers), repeats * 4)

    log(f"resharing {THRESHOLD}-of-{MEMBERS} -> {THRESHOLD}-of-{MEMBERS}, {repeats} runs ...")
    reshare_s = median_seconds(lambda: run_reshare(signers, MEMBERS, THRESHOLD), repeats)

    group_key = encode_element(keys[0].group_public_key)
    signature = run_signing(signers)
    frost_verify_per_s = measure_verify_per_s(group_key, signature, window)

    devnet: dict[str, Any] | None = None
    if not args.no_devnet:
        try:
            devnet = run_devnet(args.devnet_validators, 3 if args.quick else 7)
        except (TimeoutError, RuntimeError, OSError) as exc:
            log(f"devnet part failed: {exc}")
            devnet = {"validators": args.devnet_validators, "error": str(exc)}

    log("")
    log(f"{'figure':<44}{'value':>14}")
    log(f"{'signing ceremony 7-of-10 (s)':<44}{sign_s:>14.4f}")
    log(f"{'DKG 10 members, threshold 7 (s)':<44}{dkg_s:>14.4f}")
    log(f"{'reshare 7 dealers -> 10 members (s)':<44}{reshare_s:>14.4f}")
    log(f"{'FROST verify_signature (verify/s)':<44}{frost_verify_per_s:>14.0f}")
    log(f"{'reference: coincurve ECDSA verify (verify/s)':<44}{ecdsa_per_s:>14.0f}")
    for name, value in (devnet or {}).items():
        log(f"{'devnet ' + name:<44}{value!s:>14}")

    result = {
        "bench": "threshold",
        "value": round(sign_s, 6),
        "unit": "s",
        # A time against a time: the ceremony costs ``ratio`` ECDSA verifications.
        "reference": {
            "name": "secp256k1_verify_seconds",
            "value": round(1 / ecdsa_per_s, 9),
            "unit": "s",
        },
        "ratio": round(sign_s * ecdsa_per_s, 1),
        "params": {
            "members": MEMBERS,
            "threshold": THRESHOLD,
            "signers": THRESHOLD,
            "repeats": repeats,
            "quick": args.quick,
            "in_process": True,
            "statistic": "median",
            "devnet_validators": None if args.no_devnet else args.devnet_validators,
            "devnet_cores": os.cpu_count(),
        },
        "extra": {
            "dkg_10_s": round(dkg_s, 6),
            "reshare_10_s": round(reshare_s, 6),
            "secp256k1_verify_per_s": round(ecdsa_per_s, 1),
            "frost_verify_per_s": round(frost_verify_per_s, 1),
            "frost_verify_vs_ecdsa": round(frost_verify_per_s / ecdsa_per_s, 4),
            "devnet": devnet,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
