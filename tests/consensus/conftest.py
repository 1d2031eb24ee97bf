"""Fixtures for the consensus tests: deterministic validator keys and a
test application whose blocks are opaque bytes identified by SHA-256."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import pytest

from consensus.engine.messages import Step, Vote, sign_vote
from consensus.engine.validators import Validator, ValidatorSet
from ledger import crypto
from ledger.address import address_of

CHAIN = "test-chain"


def key(index: int) -> crypto.SigningKey:
    return crypto.SigningKey(hashlib.sha256(b"test-validator-%d" % index).digest())


@dataclass
class Committee:
    """Keys and the validator set built from them (powers by index)."""

    keys: list[crypto.SigningKey]
    validator_set: ValidatorSet

    @classmethod
    def of(cls, powers: list[int]) -> Committee:
        keys = [key(i) for i in range(len(powers))]
        validators = [
            Validator.from_public_key(k.public_key, p) for k, p in zip(keys, powers, strict=True)
        ]
        # Order keys like the set (by address) so index i is validator i of the set.
        keys.sort(key=lambda k: address_of(k.public_key))
        return cls(keys, ValidatorSet.create(validators))

    def address(self, i: int) -> bytes:
        return address_of(self.keys[i].public_key)

    def vote(
        self, i: int, step: Step, height: int, round: int, value: bytes | None, chain: str = CHAIN
    ) -> Vote:
        return sign_vote(self.keys[i], chain, step, height, round, value, self.address(i))


class PlainApp:
    """Blocks are bytes; b"invalid..." blocks fail validation."""

    def block_hash(self, block: bytes) -> bytes:
        return crypto.sha256(block)

    def validate_block(self, height: int, block: bytes) -> bool:
        return not block.startswith(b"invalid")


@pytest.fixture
def committee() -> Committee:
    return Committee.of([1, 1, 1, 1])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow run only when asked for: ``-m slow`` or LEDGER_SLOW_TESTS=1."""
    if "slow" in (config.getoption("-m") or "") or os.environ.get("LEDGER_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or LEDGER_SLOW_TESTS=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
