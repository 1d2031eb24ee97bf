"""Deterministic, publicly known keys and the genesis document of the devnet.

INSECURE BY DESIGN: every key here is SHA-256 of a public string, so anyone
can spend devnet funds. They exist so that a local devnet, the tests and the
benchmarks start in one command. Never use them on a real network; the
keystore marks files made from them as insecure.
"""

from __future__ import annotations

from typing import Any, Final

from ledger.address import address_of, encode_address
from ledger.crypto import SigningKey, sha256

DEVNET_CHAIN_ID: Final = "ledger-devnet-1"
DEVNET_GENESIS_TIME: Final = "2026-11-21T00:00:00Z"
DEVNET_ACCOUNT_NAMES: Final = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
DEVNET_BALANCE: Final = 13 * 10**24  # 13,000,000 coins of 18 decimals each
DEVNET_CREDITS: Final = 10**12  # cpu, disk and net credits per test account
DEVNET_VALIDATOR_POWER: Final = 10
DEVNET_CREDITS_PER_BLOCK: Final = 1_000_000  # cpu, disk and net minted to the validators per block
# The bank policy account's example balance: 4,000,000 coins. (It held the
# devnet's 10^26 reserve until the mint became the bank; the rest of that coin
# went to the test accounts, so that they can deposit into the mint.)
DEVNET_BANK_BALANCE: Final = 4 * 10**24
DEVNET_BANK_OFFICERS: Final = ("alice", "bob", "carol")  # 2-of-3
DEVNET_BANK_THRESHOLD: Final = 2
DEVNET_GOVERNORS: Final = ("dave", "erin", "frank", "grace")  # 3-of-4
DEVNET_GOVERNANCE_THRESHOLD: Final = 3
DEVNET_VALIDATOR_BALANCE: Final = 10**21  # 1,000 coins: fees for threshold-ceremony results


def insecure_key(label: str) -> SigningKey:
    """The devnet key for ``label`` (e.g. "account/alice", "validator/0"). INSECURE."""
    return SigningKey(sha256(b"ledger insecure devnet key:" + label.encode()))


def validator_key(index: int) -> SigningKey:
    return insecure_key(f"validator/{index}")


def account_key(name: str) -> SigningKey:
    return insecure_key(f"account/{name}")


DEVNET_MINT: dict[str, Any] = {
    "asset": "coin",
    "unit": "coin",
    "max_exponent": 20,
    "issue_timeout_blocks": 40,
    "round_blocks": 8,
    "lock_window_blocks": 1,
    "reveal_blocks": 20,
    "keyset_grace_blocks": 100000,
}


DEVNET_MAIL: dict[str, Any] = {
    "cell_width": 8,
    "batch_cells": 16,
    "batch_blocks": 10,
    "shuffle_timeout_blocks": 4,
    "decryption_timeout_blocks": 100,
    "retention_blocks": 1000,
    "gas_per_term": 1000,
    "max_batches_in_flight": 4,
    "mailbox_capacity": 256,
}


def devnet_genesis_document(validators: int = 4, chain_id: str = DEVNET_CHAIN_ID) -> dict[str, Any]:
    """The devnet genesis as a JSON-ready dict (what genesis/devnet.json holds for 4 validators).

    The devnet's bank is the mint (``mint``: e-cash notes under the
    validators' threshold keys, denominations 1 to 2^20 coin,
    ledger.features.mint); its reserve starts empty and holds exactly the
    value of the notes outstanding. Besides the validators and the funded
    test accounts (who deposit into the mint) it creates the policy account
    ``bank`` (2-of-3 of alice, bob and carol, with an example balance: a
    k-of-n shared account) and the governance policy (3-of-4 of dave, erin,
    frank and grace), whose proposals change the validator set. The
    validators' own accounts hold some coin to pay for the threshold-ceremony
    results and mint duties they submit, and the threshold key is enabled (a
    DKG among the validators at block 1, ledger.features.threshold.ceremonies).
    Anonymous mail is on (``mail``, ledger.features.mail): batches of 16
    letters of 176 bytes, closing after 10 blocks at the latest, kept 1000
    blocks after delivery; its key is made by the validators' DKG too.
    """
    credits = str(DEVNET_CREDITS_PER_BLOCK)
    return {
        "chain_id": chain_id,
        "genesis_time": DEVNET_GENESIS_TIME,
        "params": {
            "min_fee": "1000",
            "max_block_txs": 10000,
            "max_block_bytes": 8388608,
            "max_block_gas": 20000000,
            "cpu_credits_per_block": credits,
            "disk_credits_per_block": credits,
            "net_credits_per_block": credits,
        },
        "validators": [
            {
                "name": f"val-{i}",
                "public_key": validator_key(i).public_key.hex(),
                "power": DEVNET_VALIDATOR_POWER,
            }
            for i in range(validators)
        ],
        "accounts": [
            {
                "name": name,
                "address": _address_text(name),
                "balances": {
                    "coin": str(DEVNET_BALANCE),
                    "cpu": str(DEVNET_CREDITS),
                    "disk": str(DEVNET_CREDITS),
                    "net": str(DEVNET_CREDITS),
                },
            }
            for name in DEVNET_ACCOUNT_NAMES
        ]
        + [
            {
                "name": f"val-{i}",
                "address": encode_address(address_of(validator_key(i).public_key)),
                "balances": {"coin": str(DEVNET_VALIDATOR_BALANCE)},
            }
            for i in range(validators)
        ],
        "policies": [
            {
                "name": "bank",
                "members": [_address_text(name) for name in DEVNET_BANK_OFFICERS],
                "threshold": DEVNET_BANK_THRESHOLD,
                "balances": {"coin": str(DEVNET_BANK_BALANCE)},
            },
            {
                "name": "governance",
                "members": [_address_text(name) for name in DEVNET_GOVERNORS],
                "threshold": DEVNET_GOVERNANCE_THRESHOLD,
                "governance": True,
            },
        ],
        "threshold_key": True,
        "mint": dict(DEVNET_MINT),
        "mail": dict(DEVNET_MAIL),
    }


def _address_text(name: str) -> str:
    return encode_address(address_of(account_key(name).public_key))
