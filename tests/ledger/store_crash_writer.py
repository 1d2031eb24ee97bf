"""A writer process for the crash test: commits blocks of transfers forever.

Run as ``python -m tests.ledger.store_crash_writer DIR``; the test kills it
with SIGKILL at random moments and checks the store each time.
"""

from __future__ import annotations

import sys

from ledger.address import address_of
from ledger.chain import Chain
from ledger.client.devnet import (
    DEVNET_ACCOUNT_NAMES,
    account_key,
    devnet_genesis_document,
    validator_key,
)
from ledger.features.bank.bodies import Transfer
from ledger.genesis import parse_genesis
from ledger.types import NATIVE_ASSET, Transaction


def main(home: str) -> None:
    genesis = parse_genesis(devnet_genesis_document())
    chain = Chain.open(home, genesis)
    keys = [account_key(name) for name in DEVNET_ACCOUNT_NAMES]
    proposer = address_of(validator_key(0).public_key)
    print("ready", flush=True)
    while True:
        txs = []
        for i, key in enumerate(keys):
            nonce = chain.nonce(address_of(key.public_key))
            recipient = address_of(keys[(i + 3) % len(keys)].public_key)
            body = Transfer(NATIVE_ASSET, 1 + chain.tip.height % 97, recipient)
            txs.append(Transaction(genesis.chain_id, key.public_key, nonce, 1000, body).signed(key))
        block, result, _ = chain.build_block(txs, proposer, chain.tip.time_ms + 1)
        chain.commit_block(block, result)


if __name__ == "__main__":
    main(sys.argv[1])
