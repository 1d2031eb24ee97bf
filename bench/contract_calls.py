"""Benchmark: contract call transactions executed per second, and the cost of
the end-of-block contract steps (rent, schedules) per live contract.

Part 1 executes blocks of signed `bump` calls to a counter contract (decode
is skipped, signatures are verified, each call runs in the VM's compiled
fast path, storage goes through the State, the state root is computed).
Part 2 deploys N contracts, then times an empty block, whose cost is the
end-of-block steps: one record read, one rent burn per contract. Everything
is in memory (no LevelDB), so the figures are the state transition's own.

    python -m bench.contract_calls [--quick]
"""

from __future__ import annotations

import argparse
import time

from bench.report import emit, log, rss_mb
from ledger import crypto
from ledger.address import address_of
from ledger.features.contracts.bodies import Call, Deploy, contract_address
from ledger.genesis import Genesis, GenesisAccount, GenesisValidator, genesis_state
from ledger.params import Params
from ledger.state import MemoryStateReader, State
from ledger.state_tree import MemoryNodeStore, StateTree
from ledger.transition import ChainTip, build_block
from ledger.types import Transaction
from vm.assembler import assemble
from vm.module import encode_module

CHAIN_ID = "bench-chain"
COUNTER = """
.entry bump -> int
    PUSH "count"
    SLOAD
    BTOI
    PUSH 1
    ADD
    PUSH "count"
    DUP 2
    ITOB
    SSTORE
    RET
"""


class Chain:
    """In-memory state, tree and tip."""

    def __init__(self, senders: list[crypto.SigningKey]) -> None:
        balances = tuple((asset, 10**20) for asset in ("coin", "cpu", "disk", "net"))
        genesis = Genesis(
            chain_id=CHAIN_ID,
            genesis_time_ms=0,
            params=Params(min_fee=1, max_block_txs=100_000, max_block_bytes=1 << 28),
            validators=(GenesisValidator("bench", senders[0].public_key, 1),),
            accounts=tuple(
                GenesisAccount(f"a{i}", address_of(k.public_key), balances)
                for i, k in enumerate(senders)
            ),
        )
        changes, self.tip, nodes = genesis_state(genesis)
        self.reader = MemoryStateReader(changes)  # type: ignore[arg-type]
        self.nodes = MemoryNodeStore()
        self.nodes.write_nodes(nodes)

    def run(self, txs: list[Transaction]) -> float:
        """Execute one block; seconds taken."""
        start = time.perf_counter()
        block, result, skipped = build_block(
            State(self.reader),
            StateTree(self.nodes, self.tip.state_root),
            self.tip,
            CHAIN_ID,
            txs,
            b"\x00" * 20,
            self.tip.time_ms + 1000,
        )
        elapsed = time.perf_counter() - start
        assert not skipped and all(r.status == 0 for r in result.receipts)
        self.reader.apply(result.changes)
        self.nodes.write_nodes(result.tree_nodes)
        self.tip = ChainTip(block.height, block.hash, block.header.time_ms, result.state_root)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    blocks, per_block, contracts = (2, 200, 200) if args.quick else (5, 1000, 2000)
    senders = [crypto.SigningKey(crypto.sha256(b"bench sender %d" % i)) for i in range(per_block)]
    chain = Chain(senders)
    module = encode_module(assemble(COUNTER))
    deployer = senders[0]
    counter = contract_address(address_of(deployer.public_key), 0)
    deploy = Transaction(CHAIN_ID, deployer.public_key, 0, 1, Deploy(module, 0, 10**15, 0))
    chain.run([deploy.signed(deployer)])
    nonces = [1] + [0] * (per_block - 1)

    calls_time = 0.0
    for _ in range(blocks):
        txs = []
        for i, key in enumerate(senders):
            body = Call(counter, "bump", (), 10_000)
            txs.append(Transaction(CHAIN_ID, key.public_key, nonces[i], 1, body).signed(key))
            nonces[i] += 1
        calls_time += chain.run(txs)
    calls_per_second = blocks * per_block / calls_time
    log(f"calls: {blocks} blocks x {per_block}: {calls_per_second:,.0f} calls/s")

    deploys = []
    for n in range(contracts):
        key = senders[n % per_block]
        body = Deploy(module, 0, 10**12, 0, b"%d" % n)
        tx = Transaction(CHAIN_ID, key.public_key, nonces[n % per_block], 1, body)
        deploys.append(tx.signed(key))
        nonces[n % per_block] += 1
    chain.run(deploys)
    empty = min(chain.run([]) for _ in range(3))
    per_contract_us = empty / (contracts + 1) * 1e6
    log(
        f"end of block with {contracts + 1} contracts: {empty * 1000:.1f} ms"
        f" ({per_contract_us:.1f} us each)"
    )
    emit(
        "contract_calls",
        calls_per_second,
        "calls/s",
        {},
        {"blocks": blocks, "calls_per_block": per_block, "contracts": contracts + 1},
        {
            "empty_block_ms": round(empty * 1000, 2),
            "rent_us_per_contract": round(per_contract_us, 2),
            "rss_mb": round(rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()
