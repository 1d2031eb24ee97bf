"""tests/vectors/mail_blocks.json: a chain with anonymous mail for
independent clients, generated with the other chain vectors
(tests/ledger/test_chain_vectors.py, ``python -m tests.ledger.test_chain_vectors``).

The devnet genesis under its own chain id, without the mint and with small
mail settings (cells of 3 points, batches of 2, short timeouts and
retention), committed on a real store with certificates, keeping the blocks
that show an event kind for the first time. The scenario: the mail key from
the validators' DKG (run in process, reported with ``threshold_result``); a
remailer; two letters filling batch 1; its first shuffler silent (skipped),
the second posting a tampered shuffle (refused, status 70), the other two
shuffling; three decryption shares delivering it; a lone letter in batch 2
closing after its wait and failing with every validator silent; batch 1's
letters expiring. The validators' bodies come from their real duties
(consensus.node.mail.duties), with seeded randomness.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from consensus.node.mail.duties import MailDuties
from consensus.node.rpc.methods import LedgerMethods
from ledger import crypto
from ledger.address import address_of
from ledger.chain import Chain
from ledger.client.devnet import account_key, devnet_genesis_document
from ledger.client.mail_letters import BUNDLED_REMAILER_PRICE, letter_call, postage_call
from ledger.features.contracts.bodies import Deploy, contract_address
from ledger.features.mail.bodies import MailShuffle
from ledger.features.mail.key import mail_key
from ledger.features.mail.records import get_batch
from ledger.features.threshold.bodies import ThresholdResult
from ledger.features.threshold.ceremonies import (
    KIND_DKG,
    encode_keygen_result,
    threshold_ceremonies,
)
from ledger.genesis import parse_genesis
from ledger.state import State
from ledger.threshold import dkg
from ledger.threshold.keys import KeyPackage
from ledger.threshold.transport import encode_public_key_package
from ledger.types import Transaction
from tests.ledger.test_chain_vectors import ScenarioChain, VectorNode, block_case
from tests.ledger.threshold.inprocess import run_dkg, seeded_rng
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.module import encode_module

MAIL_CHAIN_ID: Final = "ledger-mail-vectors-1"
MAIL_VECTOR_SETTINGS: Final = {
    "cell_width": 3,
    "batch_cells": 2,
    "batch_blocks": 3,
    "shuffle_timeout_blocks": 2,
    "decryption_timeout_blocks": 3,
    "retention_blocks": 6,
    "max_batches_in_flight": 2,
}


def mail_genesis_document() -> dict[str, Any]:
    """The devnet genesis under its own chain id, mail on with small settings, no mint."""
    document = devnet_genesis_document(chain_id=MAIL_CHAIN_ID)
    document.pop("mint", None)
    document["mail"] = {**document["mail"], **MAIL_VECTOR_SETTINGS}
    return document


class MailScenario:
    """The scenario of the module docstring on a ScenarioChain."""

    def __init__(self, chain: ScenarioChain) -> None:
        self.chain = chain
        self.rng = seeded_rng(71)
        self.validators = {k.public_key: k for k in chain.validators()}
        self.duties = {
            key: MailDuties(chain.chain_id, key, random.Random(index).randbytes)
            for index, key in enumerate(sorted(self.validators))
        }
        self.shares: dict[bytes, KeyPackage] = {}
        self.nonces: dict[bytes, int] = {}

    def sign(self, key: crypto.SigningKey, body: Any) -> Transaction:
        sender = address_of(key.public_key)
        nonce = self.nonces.get(sender, self.chain.chain.nonce(sender))
        self.nonces[sender] = nonce + 1
        return self.chain.sign(key, body, nonce)

    def block(self, *txs: Transaction) -> None:
        self.chain.block(*txs)
        self.nonces.clear()

    def duty_txs(self, silent: set[bytes]) -> list[Transaction]:
        state = State(self.chain.chain.store)
        txs = []
        for me, duties in self.duties.items():
            if me in silent:
                continue
            for body in duties.work(state, self.shares.get(me)):
                txs.append(self.sign(self.validators[me], body))
        return txs

    def make_key(self) -> None:
        """Block 1 asks for the mail key; the DKG runs in process and three
        validators report it."""
        self.block()
        pending, _ = threshold_ceremonies(self.chain.chain.store)
        (ceremony,) = [c for c in pending if c.key_set == "mail" and c.kind == KIND_DKG]
        ids = tuple(range(1, len(ceremony.participants) + 1))
        session = dkg.DkgSession(b"mail vectors", ceremony.threshold, ids)
        results = run_dkg(session, seeded_rng(72))
        package = encode_public_key_package(results[1].key_package.public)
        payload = encode_keygen_result(crypto.sha256(b"mail vectors transcript"), [package])
        for index, participant in enumerate(ceremony.participants):
            self.shares[participant] = results[index + 1].key_package
        reporters = ceremony.participants[: ceremony.threshold]
        self.block(
            *(
                self.sign(self.validators[p], ThresholdResult(ceremony.ceremony_id, payload))
                for p in reporters
            )
        )
        assert mail_key(State(self.chain.chain.store)) is not None

    def letter(self, sender: str, recipient: str, text: bytes, remailer: bytes) -> Transaction:
        key = account_key(sender)
        state = State(self.chain.chain.store)
        found = mail_key(state)
        assert found is not None
        sender = address_of(key.public_key)
        nonce = self.nonces.get(sender, self.chain.chain.nonce(sender))
        body = letter_call(
            remailer,
            account_key(recipient).public_key,
            text,
            found.public_key.sec,
            MAIL_VECTOR_SETTINGS["cell_width"],
            MAIL_CHAIN_ID,
            sender,
            nonce,
            self.rng,
        )
        return self.sign(key, body)

    def run(self) -> None:
        self.make_key()
        joe = account_key("heidi")
        module = encode_module(assemble(contract_source("remailer")))
        deploy = self.sign(joe, Deploy(module, 10**9, 10**9, 10**9))
        remailer = contract_address(address_of(joe.public_key), deploy.nonce)
        self.block(deploy)
        self.block(
            *(
                self.sign(account_key(n), postage_call(remailer, 2, BUNDLED_REMAILER_PRICE))
                for n in ("alice", "bob")
            )
        )
        # Batch 1: two letters fill it; it closes in their block.
        self.block(
            self.letter("alice", "carol", b"the eagle", remailer),
            self.letter("bob", "dave", b"lands", remailer),
        )
        state = State(self.chain.chain.store)
        batch = get_batch(state, 1)
        assert batch is not None and batch.status == 1
        first, second = batch.schedule[0][0], batch.schedule[1][0]
        # The first shuffler stays silent: skipped after the timeout.
        for _ in range(2):
            self.block(*self.duty_txs({first}))
        # The second posts a tampered shuffle: refused, recorded, its turn passes.
        (honest,) = self.duties[second].work(State(self.chain.chain.store), None)
        assert isinstance(honest, MailShuffle)
        tampered = bytearray(honest.shuffle)
        tampered[40] ^= 1
        self.block(self.sign(self.validators[second], replace(honest, shuffle=bytes(tampered))))
        # The other two shuffle, then the key holders decrypt.
        for _ in range(6):
            found = get_batch(State(self.chain.chain.store), 1)
            assert found is not None
            if found.status == 3:
                break
            self.block(*self.duty_txs({first, second} if found.status == 1 else set()))
        # Batch 2: a lone letter, closed after its wait; nobody shuffles: it fails.
        self.block(self.letter("alice", "erin", b"alone", remailer))
        everyone = set(self.validators)
        for _ in range(20):
            self.block(*self.duty_txs(everyone))
            found = get_batch(State(self.chain.chain.store), 2)
            if found is not None and found.status == 4:
                break
        # Batch 1's letters expire.
        for _ in range(MAIL_VECTOR_SETTINGS["retention_blocks"]):
            self.block()


def mail_chain_file() -> dict[str, Any]:
    """mail_blocks.json: the blocks that show an event kind for the first time."""
    document = mail_genesis_document()
    genesis = parse_genesis(document)
    with tempfile.TemporaryDirectory(prefix="mail-vectors-") as directory:
        chain = Chain.open(Path(directory) / "chain", genesis)
        try:
            scenario = ScenarioChain(chain, genesis, keep_new_kinds_only=True)
            MailScenario(scenario).run()
            methods = LedgerMethods(VectorNode(chain, genesis))
            blocks = [block_case(methods, chain, h) for h in scenario.keep]
        finally:
            chain.close()
    return {
        "description": (
            "Blocks of a chain with anonymous mail (the devnet genesis under its own chain id, "
            "without the mint, with small mail settings): every block that shows an event kind "
            "for the first time, as in blocks.json. See docs/spec/transactions.md and "
            "docs/spec/mail.md."
        ),
        "chainId": genesis.chain_id,
        "genesis": document,
        "genesisHash": genesis.hash.hex(),
        "blocks": blocks,
    }
