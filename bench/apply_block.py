"""Benchmark: signed transfers executed per second by one core.

Each block of signed transfers is decoded from bytes, every signature is
verified, the transfers are executed, the state root is computed and the
block is committed to LevelDB in one synced batch: the whole cost of a
block on a validator except consensus. Transactions are signed before the
timed window, and the store is compacted after the genesis import (see
run_case). The reference is raw libsecp256k1 verification on this core.

The per-transaction cost is also measured at 1,000 and at 1,000,000 (quick:
50,000) accounts. A block among 1,000 accounts can change at most 1,000 of
them, one among 1,000,000 changes about 8,000, so a third case runs the
large state with only its first 1,000 accounts active: the same keys
changed per block as the small case, separating the cost of a larger state
from the cost of changing more of it (docs/adr/0014-apply-block-targets.md).

    python -m bench.apply_block [--quick]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench.report import emit, log, rss_mb, secp256k1_verify_per_core
from ledger import crypto
from ledger.address import address_of
from ledger.chain import Chain
from ledger.features.bank.bodies import Transfer
from ledger.genesis import Genesis, GenesisAccount, GenesisValidator
from ledger.params import Params
from ledger.types import NATIVE_ASSET, Block, Transaction, decode_block

CHAIN_ID = "bench-chain"
FEE = 1


def make_genesis(accounts: int, senders: list[crypto.SigningKey]) -> Genesis:
    """Senders first (funded), then filler accounts up to ``accounts``."""
    sender_addresses = [address_of(k.public_key) for k in senders]
    filler = [crypto.sha256(b"filler %d" % i)[:20] for i in range(accounts - len(senders))]
    return Genesis(
        chain_id=CHAIN_ID,
        genesis_time_ms=0,
        params=Params(min_fee=FEE, max_block_txs=100_000, max_block_bytes=1 << 28),
        validators=(GenesisValidator("bench", senders[0].public_key, 1),),
        accounts=tuple(
            GenesisAccount(f"a{i}", addr, ((NATIVE_ASSET, 10**20),))
            for i, addr in enumerate(sender_addresses + filler)
        ),
    )


def signed_blocks(
    chain: Chain,
    senders: list[crypto.SigningKey],
    recipients: list[bytes],
    blocks: int,
    per_block: int,
    rng: random.Random,
) -> list[bytes]:
    """Pre-build and encode ``blocks`` blocks of signed transfers (outside the timed window)."""
    nonces = [0] * len(senders)
    encoded: list[bytes] = []
    scratch_tip = chain.tip
    for _ in range(blocks):
        txs = []
        for _ in range(per_block):
            i = rng.randrange(len(senders))
            body = Transfer(NATIVE_ASSET, rng.randrange(1, 1000), rng.choice(recipients))
            tx = Transaction(CHAIN_ID, senders[i].public_key, nonces[i], FEE, body).signed(
                senders[i]
            )
            nonces[i] += 1
            txs.append(tx)
        block, result, skipped = chain.build_block(
            txs, address_of(senders[0].public_key), chain.tip.time_ms + 1
        )
        assert not skipped
        chain.commit_block(block, result)  # the builder chain advances; the timed one replays
        encoded.append(block.encode())
    assert chain.tip != scratch_tip
    return encoded


def run_case(
    accounts: int,
    blocks: int,
    per_block: int,
    workdir: Path,
    seed: int,
    active: int | None = None,
) -> dict[str, float]:
    """Time applying pre-signed blocks on a fresh store holding ``accounts``
    accounts. Senders are the first min(active, 5,000) accounts and
    recipients any of the first ``active`` (default: all accounts)."""
    rng = random.Random(seed)
    active = accounts if active is None else active
    senders = [
        crypto.SigningKey(crypto.sha256(b"sender %d" % i)) for i in range(min(active, 5_000))
    ]
    genesis = make_genesis(accounts, senders)
    recipients = [a.address for a in genesis.accounts][:active]
    log(f"  {accounts:,} accounts ({active:,} active): writing genesis ...")
    start = time.perf_counter()
    builder = Chain.open(workdir / f"builder-{accounts}-{active}", genesis)
    timed = Chain.open(workdir / f"timed-{accounts}-{active}", genesis)
    log(
        f"  genesis written twice in {time.perf_counter() - start:.1f} s; "
        f"signing {blocks} x {per_block} transfers ..."
    )
    encoded = signed_blocks(builder, senders, recipients, blocks, per_block, rng)
    builder.close()
    # Writing a large genesis leaves LevelDB minutes of background compaction,
    # which would compete with the timed blocks for the cores. A node that has
    # run for a while has none of it, so settle the store first; the
    # compaction the timed blocks' own writes cause is still measured.
    start = time.perf_counter()
    timed.store.compact()
    log(f"  store compacted in {time.perf_counter() - start:.1f} s")
    crypto.forget_parsed_keys()  # signing parsed every sender's key: start cold
    durations = []
    for raw in encoded:
        start = time.perf_counter()
        block: Block = decode_block(raw)
        result = timed.execute_block(block)  # verifies every signature: no cache given
        timed.commit_block(block, result)
        durations.append(time.perf_counter() - start)
        log(f"    block {block.height}: {per_block / durations[-1]:,.0f} tx/s")
    timed.close()
    total = sum(durations)
    return {"tx_per_s": blocks * per_block / total, "us_per_tx": total / (blocks * per_block) * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    per_block = 1_000 if args.quick else 5_000
    blocks = 2 if args.quick else 4
    main_accounts = 20_000 if args.quick else 100_000
    small_accounts, large_accounts = 1_000, (50_000 if args.quick else 1_000_000)
    log(f"apply_block: {blocks} blocks of {per_block} transfers")
    reference = secp256k1_verify_per_core()
    log(f"reference: {reference:,.0f} secp256k1 verifications/s on one core")
    workdir = Path(tempfile.mkdtemp(prefix="bench-apply-block-"))
    try:
        main_case = run_case(main_accounts, blocks, per_block, workdir, args.seed)
        small = run_case(small_accounts, 2, per_block, workdir, args.seed)
        large = run_case(large_accounts, 2, per_block, workdir, args.seed)
        large_same_active = run_case(
            large_accounts, 2, per_block, workdir, args.seed, active=small_accounts
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    spread = large["us_per_tx"] / small["us_per_tx"]
    spread_same_active = large_same_active["us_per_tx"] / small["us_per_tx"]
    log(
        f"result: {main_case['tx_per_s']:,.0f} tx/s at {main_accounts:,} accounts "
        f"(ratio {main_case['tx_per_s'] / reference:.3f}); per tx {small['us_per_tx']:.0f} us at "
        f"{small_accounts:,} accounts, {large['us_per_tx']:.0f} us at {large_accounts:,} "
        f"(x{spread:.2f}); {large_same_active['us_per_tx']:.0f} us at {large_accounts:,} "
        f"with {small_accounts:,} active (x{spread_same_active:.2f})"
    )
    emit(
        "apply_block",
        main_case["tx_per_s"],
        "tx/s",
        {"name": "secp256k1_verify_per_core", "value": round(reference, 1), "unit": "verify/s"},
        {
            "accounts": main_accounts,
            "blocks": blocks,
            "txs_per_block": per_block,
            "seed": args.seed,
            "quick": args.quick,
        },
        {
            "us_per_tx_main": round(main_case["us_per_tx"], 1),
            f"us_per_tx_{small_accounts}_accounts": round(small["us_per_tx"], 1),
            f"us_per_tx_{large_accounts}_accounts": round(large["us_per_tx"], 1),
            "large_over_small": round(spread, 3),
            f"us_per_tx_{large_accounts}_accounts_{small_accounts}_active": round(
                large_same_active["us_per_tx"], 1
            ),
            "large_over_small_same_active": round(spread_same_active, 3),
            "rss_mb_max": round(rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()
