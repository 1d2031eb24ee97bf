"""An account controlled by a FROST group key: its transactions verify on
chain like any other, signed by k of n members and never by one key."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.address import address_of, encode_address
from ledger.exceptions import BadSignature
from ledger.features.bank.bodies import Transfer
from ledger.genesis import parse_genesis
from ledger.threshold import dkg
from ledger.threshold.group import encode_element
from ledger.transition import check_transaction, read_params
from ledger.types import NATIVE_ASSET, Transaction, decode_transaction
from tests.ledger.test_transition import ADDRS, KEYS, MemoryChain
from tests.ledger.threshold.inprocess import run_dkg, seeded_rng, sign


def _group() -> tuple[bytes, list]:  # type: ignore[type-arg]
    rng = seeded_rng(7)
    results = run_dkg(dkg.DkgSession(b"bank-key", 2, (1, 2, 3)), rng)
    keys = [r.key_package for r in results.values()]
    return encode_element(keys[0].public.group_public_key), keys


def test_frost_signed_transfer_from_a_group_account() -> None:
    group_key, keys = _group()
    bank = address_of(group_key)
    genesis = parse_genesis(
        {
            "chain_id": "test-chain",
            "genesis_time": "2026-01-01T00:00:00Z",
            "params": {"min_fee": "10"},
            "validators": [{"name": "v", "public_key": KEYS[4].public_key.hex(), "power": 1}],
            "accounts": [
                {"name": "bank", "address": encode_address(bank), "balances": {"coin": "1000"}}
            ],
        }
    )
    chain = MemoryChain(genesis)
    unsigned = Transaction("test-chain", group_key, 0, 10, Transfer(NATIVE_ASSET, 300, ADDRS[1]))
    signature = sign(keys[:2], unsigned.signing_digest(), seeded_rng(8))
    tx = decode_transaction(replace(unsigned, signature=signature, _cache={}).encode())
    assert len(tx.signature) == 65 and tx.signature_valid()
    _, result = chain.apply(chain.build([tx]))
    assert result.receipts[0].status == 0  # type: ignore[attr-defined]
    assert chain.balance(bank) == 1000 - 300 - 10
    assert chain.balance(ADDRS[1]) == 300

    # A signature over another transaction, or a tampered one, does not authorize.
    other = replace(unsigned, nonce=1, _cache={})
    forged = replace(other, signature=signature, _cache={})
    state = chain.state()
    with pytest.raises(BadSignature):
        check_transaction(state, forged, "test-chain", read_params(state))
    tampered = replace(other, signature=signature[:-1] + bytes([signature[-1] ^ 1]), _cache={})
    with pytest.raises(BadSignature):
        check_transaction(state, tampered, "test-chain", read_params(state))
