"""A devnet chain with a mint, run in memory: the validators' key set DKG and
resharings done in process, their key holder duties
(consensus.node.mint.duties) run after every block, and wallets
(ledger.client.mint_wallet) that deposit, swap and redeem. A test may keep a
validator silent, or rewrite what one sends.

The chain is a ``MemoryChain`` unless another ``BlockRunner`` is given (the
chain vectors run the same scenarios on a real store, with certificates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from consensus.node.mint.duties import Body, MintDuties
from ledger import crypto
from ledger.address import address_of
from ledger.client.devnet import account_key, devnet_genesis_document, validator_key
from ledger.client.mint_wallet import (
    PendingOutput,
    Redemption,
    address_target,
    deposit_body,
    make_outputs,
    notes_from_signatures,
    prepare_redemption,
    swap_target,
)
from ledger.crypto import SigningKey
from ledger.features.mint.queries import mint_books, mint_keysets, pending_work
from ledger.features.mint.records import ISSUED, get_keyset, get_request
from ledger.features.mint.tokens import Note
from ledger.features.policy.bodies import ApproveProposal, ProposeAction, encode_action
from ledger.features.threshold.bodies import ThresholdResult
from ledger.features.threshold.ceremonies import (
    KIND_DKG,
    KIND_RESHARE,
    encode_keygen_result,
    key_set_holders,
    threshold_ceremonies,
)
from ledger.features.threshold.key_sets import KeySet
from ledger.genesis import Genesis, parse_genesis
from ledger.state import State, StateReader
from ledger.threshold import dkg, reshare
from ledger.threshold.keys import KeyPackage
from ledger.threshold.transport import encode_public_key_package
from ledger.transition import BlockResult
from ledger.types import Body as AnyBody
from ledger.types import Receipt, Transaction
from tests.ledger.memory_chain import MemoryChain
from tests.ledger.threshold.inprocess import run_dkg, run_reshare, seeded_rng

MINT_SECTION = {
    "max_exponent": 4,
    "issue_timeout_blocks": 12,
    "round_blocks": 3,
    "lock_window_blocks": 1,
    "reveal_blocks": 6,
    "keyset_grace_blocks": 50,
}
Tamper = Callable[[bytes, Body], Body]


class BlockRunner(Protocol):
    """What MintNet needs of a chain: MemoryChain's interface."""

    genesis: Genesis
    reader: StateReader
    block_events: list[Any]

    @property
    def height(self) -> int: ...

    def state(self) -> State: ...

    def sign(
        self, signer: Any, body: AnyBody, nonce: int | None = None, fee: int | None = None
    ) -> Transaction: ...

    def run(self, txs: list[Transaction]) -> BlockResult: ...

    def nonce(self, address: bytes) -> int: ...

    def balance(self, who: Any, asset: str = "coin") -> int: ...


def mint_genesis_document(**mint: Any) -> dict[str, Any]:
    document = devnet_genesis_document()
    document["mint"] = {**MINT_SECTION, **mint}
    return document


@dataclass
class Wallet:
    """A user's account and notes."""

    key: SigningKey
    notes: list[Note] = field(default_factory=list)

    @property
    def address(self) -> bytes:
        return address_of(self.key.public_key)

    @property
    def balance(self) -> int:
        return sum(n.amount for n in self.notes)


class MintNet:
    """The chain, its key holders and their shares (see the module docstring)."""

    def __init__(self, seed: int = 1, chain: BlockRunner | None = None, **mint: Any) -> None:
        if chain is None:
            chain = MemoryChain(parse_genesis(mint_genesis_document(**mint)))
        self.chain: BlockRunner = chain
        self.validators = {validator_key(i).public_key: validator_key(i) for i in range(4)}
        self.rng = seeded_rng(seed)
        self.shares: dict[bytes, dict[str, tuple[int, tuple[KeyPackage, ...]]]] = {}
        self.silent: set[bytes] = set()
        self.tamper: Tamper | None = None
        self.duties: dict[bytes, MintDuties] = {}
        self.last_receipts: list[Receipt] = []
        self.history: list[tuple[int, list[Transaction], list[Receipt]]] = []
        for index, key in enumerate(self.validators):
            self.duties[key] = MintDuties(
                self.chain.genesis.chain_id, key, seeded_rng(seed * 100 + index), 1
            )
        self._sync_window()

    def _sync_window(self) -> None:
        from ledger.features.mint.config import get_config

        config = get_config(self.chain.state())
        assert config is not None
        self.config = config
        for duties in self.duties.values():
            duties.lock_window_blocks = config.lock_window_blocks

    # -- key generation ----------------------------------------------------------
    def add_validator(self, key: SigningKey) -> None:
        self.validators[key.public_key] = key
        self.duties[key.public_key] = MintDuties(
            self.chain.genesis.chain_id,
            key.public_key,
            seeded_rng(len(self.duties) + 7),
            self.config.lock_window_blocks,
        )

    def finish_keygen(self) -> None:
        """Run every pending key set DKG or resharing in process and report it."""
        pending, _ = threshold_ceremonies(self.chain.reader)
        for ceremony in pending:
            if not ceremony.key_set or ceremony.kind not in (KIND_DKG, KIND_RESHARE):
                continue
            ids = tuple(range(1, len(ceremony.participants) + 1))
            lanes = []
            for lane in range(ceremony.key_count):
                tag = b"mint-test-%d-%d" % (ceremony.ceremony_id, lane)
                if ceremony.kind == KIND_DKG:
                    session = dkg.DkgSession(tag, ceremony.threshold, ids)
                    lanes.append(run_dkg(session, self.rng))
                else:
                    holders = key_set_holders(self.chain.reader, ceremony.key_set)
                    assert holders is not None
                    dealers = [
                        self.shares[key][ceremony.key_set][1][lane]
                        for key in holders.member_keys()
                        if key in self.shares and ceremony.key_set in self.shares[key]
                    ]
                    session = reshare.ReshareSession(
                        tag, holders.public_package(lane), ceremony.threshold, ids
                    )
                    lanes.append(run_reshare(session, dealers[: holders.threshold], self.rng))
            transcript = crypto.sha256(b"transcript %d" % ceremony.ceremony_id)
            packages = [encode_public_key_package(r[1].key_package.public) for r in lanes]
            payload = encode_keygen_result(transcript, packages)
            for index, participant in enumerate(ceremony.participants):
                identifier = index + 1
                keys = tuple(results[identifier].key_package for results in lanes)
                self.shares.setdefault(participant, {})[ceremony.key_set] = (
                    ceremony.ceremony_id,
                    keys,
                )
            txs = [
                self.chain.sign(self.validators[p], ThresholdResult(ceremony.ceremony_id, payload))
                for p in ceremony.participants[: ceremony.threshold]
            ]
            self.chain.run(txs)

    def start(self) -> None:
        """Block 1 (the DKG request), the DKG, and the block activating the keyset."""
        self.chain.run([])
        self.finish_keygen()
        self.chain.run([])
        active, _ = mint_keysets(self.chain.reader)
        assert active == 1

    # -- blocks --------------------------------------------------------------------
    def shares_of(self, me: bytes) -> Callable[[str], tuple[KeySet, tuple[KeyPackage, ...]] | None]:
        def lookup(name: str) -> tuple[KeySet, tuple[KeyPackage, ...]] | None:
            holders = key_set_holders(self.chain.reader, name)
            mine = self.shares.get(me, {}).get(name)
            if holders is None or mine is None or mine[0] != holders.ceremony_id:
                return None
            return holders, mine[1]

        return lookup

    def duty_txs(self) -> list[Transaction]:
        state = self.chain.state()
        work = pending_work(self.chain.reader)
        txs = []
        for me, duties in self.duties.items():
            if me in self.silent:
                continue
            _, bodies = duties.work(
                self.chain.height, work, lambda e: get_keyset(state, e), self.shares_of(me)
            )
            nonce = self.chain.nonce(address_of(me))
            for body in bodies:
                if self.tamper is not None:
                    body = self.tamper(me, body)
                txs.append(self.chain.sign(self.validators[me], body, nonce=nonce))
                nonce += 1
        return txs

    def block(self, *user_txs: Transaction) -> list[Receipt]:
        """One block: the users' transactions, then every key holder's duties."""
        txs = [*user_txs, *self.duty_txs()]
        result = self.chain.run(txs)
        self.last_receipts = list(result.receipts)
        self.history.append((self.chain.height, txs, list(result.receipts)))
        return list(result.receipts[: len(user_txs)])

    def chain_bodies(self) -> list[tuple[int, object]]:
        """(height, body fields and receipt events) of every block run by ``block``."""
        found: list[tuple[int, object]] = []
        for height, txs, receipts in self.history:
            for tx, receipt in zip(txs, receipts, strict=False):
                events = tuple(e.to_value() for e in receipt.events)
                found.append((height, (tx.body.to_fields(), events)))
        return found

    def keyset_public_keys(self) -> list[bytes]:
        return [k for ks in mint_keysets(self.chain.reader)[1] for k in ks.public_keys]

    def validator_data(self) -> set[bytes]:
        """Validator keys and addresses (they sign both kinds of transactions)."""
        found = set()
        for key in self.validators:
            for value in (key, address_of(key)):
                found.update(value[i : i + 16] for i in range(len(value) - 15))
        return found

    def blocks(self, count: int) -> None:
        for _ in range(count):
            self.block()

    def govern(self, action: AnyBody) -> Receipt:
        """A governance action: dave proposes it, erin and frank approve it
        (the last approval executes it); the executing receipt."""
        governance = self.chain.genesis.policy("governance").address
        expires = self.chain.height + 50
        proposal = ProposeAction(governance, encode_action(action), expires)
        (proposed,) = self.block(self.chain.sign(account_key("dave"), proposal))
        assert proposed.status == 0, proposed.error
        proposal_id = dict(proposed.events[0].attributes)["proposal_id"]
        approve = ApproveProposal(governance, proposal_id)
        erin, frank = account_key("erin"), account_key("frank")
        receipts = self.block(self.chain.sign(erin, approve), self.chain.sign(frank, approve))
        assert all(r.status == 0 for r in receipts), [r.error for r in receipts]
        return receipts[-1]

    # -- wallets -----------------------------------------------------------------------
    def wallet(self, name: str) -> Wallet:
        """A devnet account's wallet (alice, bob, ...: funded at genesis)."""
        return Wallet(account_key(name))

    def active_epoch(self) -> int:
        return mint_keysets(self.chain.reader)[0]

    def deposit(self, wallet: Wallet, amount: int) -> tuple[int, tuple[PendingOutput, ...]]:
        body, pending = deposit_body(
            amount, self.active_epoch(), self.config.max_exponent, self.rng
        )
        (receipt,) = self.block(self.chain.sign(wallet.key, body))
        assert receipt.status == 0, receipt.error
        request_id = dict(receipt.events[0].attributes)["request_id"]
        return request_id, pending

    def collect(self, wallet: Wallet, request_id: int, pending: tuple[PendingOutput, ...]) -> None:
        request = get_request(State(self.chain.reader), request_id)
        assert request is not None and request.status == ISSUED, request
        keyset = get_keyset(State(self.chain.reader), request.keyset_epoch)
        assert keyset is not None
        wallet.notes += notes_from_signatures(
            pending, request.signatures, keyset.keyset_id, keyset.public_keys
        )

    def issue(self, wallet: Wallet, amount: int, blocks: int = 4) -> int:
        """Deposit and wait for the notes (at most ``blocks`` blocks)."""
        request_id, pending = self.deposit(wallet, amount)
        for _ in range(blocks):
            request = get_request(State(self.chain.reader), request_id)
            if request is not None and request.status == ISSUED:
                break
            self.block()
        self.collect(wallet, request_id, pending)
        return request_id

    def epochs(self) -> dict[str, int]:
        return {k.keyset_id: k.epoch for k in mint_keysets(self.chain.reader)[1] if k.keyset_id}

    def commit(
        self, wallet: Wallet, notes: list[Note], to: bytes | None = None, swap: bool = False
    ) -> tuple[Receipt, Redemption, tuple[PendingOutput, ...]]:
        pending: tuple[PendingOutput, ...] = ()
        if swap:
            outputs, pending = make_outputs(
                sum(n.amount for n in notes), self.config.max_exponent, self.rng
            )
            target = swap_target(self.active_epoch(), outputs)
        else:
            target = address_target(to if to is not None else wallet.address)
        redemption = prepare_redemption(
            self.chain.genesis.chain_id, wallet.address, notes, self.epochs(), target, self.rng
        )
        (receipt,) = self.block(self.chain.sign(wallet.key, redemption.commit))
        return receipt, redemption, pending

    def reveal(self, wallet: Wallet, redemption: Redemption, commitment_id: int) -> Receipt:
        (receipt,) = self.block(self.chain.sign(wallet.key, redemption.reveal(commitment_id)))
        return receipt

    def reserve_balanced(self) -> bool:
        books = mint_books(self.chain.reader)
        assert books is not None
        return books.reserve == books.books.issued - books.books.redeemed + books.books.in_flight


def commitment_id_of(receipt: Receipt) -> int:
    assert receipt.status == 0, receipt.error
    return int(dict(receipt.events[0].attributes)["commitment_id"])
