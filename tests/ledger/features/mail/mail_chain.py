"""A MemoryChain with the mix: four validators holding a mail key made by
the in-process DKG, their duties (consensus.node.mail.duties) run after
every block, a remailer deployed by Joe, and users who buy postage and send
letters through it."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from consensus.node.mail.duties import MailDuties
from ledger import crypto
from ledger.address import address_of, encode_address
from ledger.features.contracts.bodies import Call, Deploy, PayCall, contract_address
from ledger.features.mail.config import MailConfig, set_config
from ledger.features.mail.key import MAIL_KEY_SET, MailKey, request_mail_key
from ledger.features.mail.letters import Letter as SealedLetter
from ledger.features.mail.letters import open_letter, seal_letter
from ledger.features.mail.mailboxes import read_mailbox
from ledger.features.mail.records import Batch, get_batch, get_meta
from ledger.features.mail.submission import SubmissionContext, submit_letter
from ledger.features.mail.wire import encode_submission
from ledger.features.threshold.key_sets import KeySet, set_key_set, wanted_count
from ledger.genesis import parse_genesis
from ledger.state import State
from ledger.threshold import dkg
from ledger.threshold.group import RandomBytes
from ledger.threshold.keys import KeyPackage
from ledger.transition import BlockResult
from ledger.types import Body, Event, Receipt, Transaction
from tests.ledger.test_transition import CHAIN, MemoryChain
from tests.ledger.threshold.inprocess import run_dkg, seeded_rng
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.module import encode_module

FEE = 10
CREDITS = 10**12
ASSETS = ("coin", "cpu", "disk", "net")
VALIDATOR_KEYS = [crypto.SigningKey(crypto.sha256(b"mail validator %d" % i)) for i in range(4)]
SECRETS = [crypto.sha256(b"mail person %d" % i) for i in range(34)]
PEOPLE = [crypto.SigningKey(secret) for secret in SECRETS]
JOE = 33  # the remailer's operator
PROPOSER = address_of(VALIDATOR_KEYS[0].public_key)
REMAILER = encode_module(assemble(contract_source("remailer")))
PRICE = 1000


def address(index: int) -> bytes:
    return address_of(PEOPLE[index].public_key)


def make_mail_key(seed: int) -> tuple[MailKey, dict[bytes, KeyPackage]]:
    """A 3-of-4 mail key from the in-process DKG; each validator's share by its key."""
    session = dkg.DkgSession(b"mail key epoch 1", 3, (1, 2, 3, 4))
    results = run_dkg(session, seeded_rng(seed))
    packages = {i: results[i].key_package for i in sorted(results)}
    public = packages[1].public
    members = tuple(
        (i, VALIDATOR_KEYS[i - 1].public_key, public.verification_shares[i])
        for i in sorted(packages)
    )
    key = MailKey(public.group_public_key, public.threshold, members, 1)
    shares = {VALIDATOR_KEYS[i - 1].public_key: packages[i] for i in packages}
    return key, shares


def install_mail_key(state: State, key: MailKey) -> None:
    """Write the mail key as the threshold ceremonies would: the key set
    ``mail`` (wanted, and held in ``key.epoch``)."""
    if wanted_count(state, MAIL_KEY_SET) is None:
        request_mail_key(state, len(key.members))
    members = tuple((i, validator, (share.sec,)) for i, validator, share in key.members)
    held = KeySet(MAIL_KEY_SET, (key.public_key.sec,), key.threshold, members, key.epoch, 0)
    set_key_set(state, held)


@dataclass
class Letter:
    sender: int
    recipient: int
    text: bytes
    tx: Transaction


@dataclass
class MailChain(MemoryChain):
    """Blocks on an in-memory chain with the mix enabled (see the module docstring)."""

    config: MailConfig = field(default_factory=MailConfig)
    seed: int = 7

    def __post_init__(self) -> None:
        super().__init__(self._genesis())
        state = State(self.reader)
        set_config(state, self.config)
        self.key, self.shares = make_mail_key(self.seed)
        install_mail_key(state, self.key)
        self.reader.apply(state.changes())
        self.rng: RandomBytes = seeded_rng(self.seed + 1)
        self.duties = {
            key.public_key: MailDuties(CHAIN, key.public_key, seeded_rng(100 + i))
            for i, key in enumerate(VALIDATOR_KEYS)
        }
        self.next_nonce: dict[bytes, int] = {}
        self.events: list[Event] = []
        self.receipts: list[Receipt] = []
        self.included: list[tuple[Transaction, Receipt]] = []  # every transaction, in order
        self.remailer = b""

    def _genesis(self) -> Any:
        balances = {asset: str(CREDITS) for asset in ASSETS}
        keys = [*VALIDATOR_KEYS, *PEOPLE]
        return parse_genesis(
            {
                "chain_id": CHAIN,
                "genesis_time": "2026-01-01T00:00:00Z",
                "params": {"min_fee": str(FEE)},
                "validators": [
                    {"name": f"v{i}", "public_key": k.public_key.hex(), "power": 10}
                    for i, k in enumerate(VALIDATOR_KEYS)
                ],
                "accounts": [
                    {
                        "name": f"a{i}",
                        "address": encode_address(address_of(k.public_key)),
                        "balances": balances,
                    }
                    for i, k in enumerate(keys)
                ],
            }
        )

    # -- transactions -----------------------------------------------------------
    def tx(self, key: crypto.SigningKey, body: Body) -> Transaction:
        sender = address_of(key.public_key)
        nonce = self.next_nonce.get(sender, self._nonce_of(sender))
        self.next_nonce[sender] = nonce + 1
        return Transaction(CHAIN, key.public_key, nonce, FEE, body).signed(key)

    def _nonce_of(self, sender: bytes) -> int:
        return State(self.reader).get_account(sender).nonce

    def block(self, *txs: Transaction) -> tuple[Receipt, ...]:
        """Build and apply a block; keep its receipts and events."""
        block = self.build(list(txs))
        assert len(block.transactions) == len(txs), "a transaction was left out"
        _, result = self.apply(block)
        assert isinstance(result, BlockResult)
        self.receipts.extend(result.receipts)
        self.included.extend(zip(txs, result.receipts, strict=True))
        self.events.extend(e for r in result.receipts for e in r.events)
        self.events.extend(result.block_events)
        return result.receipts

    def deploy_remailer(self) -> bytes:
        tx = self.tx(PEOPLE[JOE], Deploy(REMAILER, 10**9, 10**9, 10**9))
        (receipt,) = self.block(tx)
        assert receipt.status == 0, receipt.error
        self.remailer = contract_address(address(JOE), tx.nonce)
        return self.remailer

    def buy_postage(self, person: int, letters: int) -> Transaction:
        body = PayCall(self.remailer, "buy", (), 100_000, letters * PRICE)
        return self.tx(PEOPLE[person], body)

    def letter(self, sender: int, recipient: int, text: bytes) -> Letter:
        """A send(submission) call to the remailer, bound to its own nonce."""
        key = PEOPLE[sender]
        nonce = self.next_nonce.get(address(sender), self._nonce_of(address(sender)))
        sealed = seal_letter(PEOPLE[recipient].public_key, text, self.config.cell_width, self.rng)
        context = SubmissionContext(CHAIN, address(sender), nonce)
        submission = submit_letter(self.key.public_key, sealed, context, self.rng).submission
        body = Call(self.remailer, "send", (encode_submission(submission),), 2_000_000)
        tx = self.tx(key, body)
        assert tx.nonce == nonce
        return Letter(sender, recipient, text, tx)

    # -- the validators -----------------------------------------------------------
    def duty_txs(self, silent: Collection[int] = ()) -> list[Transaction]:
        """What every validator but the silent ones submits for the state now."""
        txs = []
        state = State(self.reader)
        for index, key in enumerate(VALIDATOR_KEYS):
            if index in silent:
                continue
            share = self.shares.get(key.public_key)
            for body in self.duties[key.public_key].work(state, share):
                txs.append(self.tx(key, body))
        return txs

    def run(
        self, blocks: int, silent: Collection[int] = (), extra: Iterable[Transaction] = ()
    ) -> None:
        """``blocks`` blocks, each carrying the validators' duties for the state before it."""
        first = list(extra)
        for _ in range(blocks):
            self.block(*first, *self.duty_txs(silent))
            first = []

    # -- reading ------------------------------------------------------------------
    def batch(self, batch_id: int) -> Batch:
        batch = get_batch(State(self.reader), batch_id)
        assert batch is not None
        return batch

    def in_flight(self) -> tuple[int, ...]:
        return get_meta(State(self.reader)).in_flight

    def mailbox(self, person: int) -> list[bytes]:
        """The person's letters, opened with their key."""
        letters, _, _ = read_mailbox(State(self.reader), address(person))
        return [
            open_letter(SealedLetter(address(person), letter.sealed), SECRETS[person])
            for _, letter in letters
        ]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]
