"""A wallet's conversations with the mint through a node: deposit, swap,
send, receive and redeem, each a few transactions and waits, on an open
notes wallet (ledger.client.note_store) with the pure steps of
ledger.client.mint_wallet.

Every step that sends a transaction first records in the wallet file what a
crash must not lose (the signed transaction itself, the outputs' secrets
and blinding factors, the redemption's secrets, target and salt), and
``resume`` finishes whatever a previous command left in flight: it sends a
recorded transaction again if the node does not know it, reveals a
commitment, collects blind signatures, and gives back notes a failed
redemption did not spend.

Tokens name their mint ``ledger:<chain id>`` (NUT-00's mint URL field): a
wallet receives only notes of its own chain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.address import address_of
from ledger.crypto import SigningKey
from ledger.features.mint.bodies import MAX_SECRET_BYTES, MintRedeemReveal, RedeemTarget
from ledger.features.mint.interface import (
    Note,
    Token,
    decode_token,
    encode_token_v4,
    secret_point,
    split_amount,
    verify_note_proof,
)
from ledger.rpc_errors import TransactionRejected
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import RandomBytes, decode_element
from ledger.types import Body, DecodeError, Transaction, decode_transaction

from .asset_transactions import sign_body
from .mint_results import MintInfo, MintIssue, MintKeys, MintRedemption
from .mint_wallet import (
    MAX_NOTES_PER_REQUEST,
    PendingOutput,
    WalletError,
    address_target,
    choose_notes,
    deposit_body,
    notes_from_signatures,
    prepare_redemption,
    swap_outputs,
    swap_target,
)
from .note_store import NoteWallet, OpenWallet, PendingIssue, PendingRedemption
from .results import ReceiptInfo
from .sync import LedgerClient

TOKEN_MINT_PREFIX: Final = "ledger:"
NOTE_UNSPENT: Final = "UNSPENT"


class MintSessionError(Exception):
    """A mint operation could not be done (refused, refunded, timed out, a
    token of another chain, notes already spent)."""


def token_mint(chain_id: str) -> str:
    """What a token's mint URL field says on this chain."""
    return TOKEN_MINT_PREFIX + chain_id


@dataclass(frozen=True)
class Signer:
    """The account that signs and pays for the mint's transactions."""

    key: SigningKey
    name: str  # its name in the keystore (recorded to resume with it)

    @property
    def address(self) -> bytes:
        return address_of(self.key.public_key)


@dataclass(frozen=True)
class Redeemed:
    """What a redemption or swap came to: the value won (paid out, or swapped)
    and, for a swap, the fresh notes."""

    won: int
    lost: int
    notes: tuple[Note, ...] = ()


class MintSession:
    """One command's work with the mint (see the module docstring)."""

    def __init__(
        self,
        client: LedgerClient,
        opened: OpenWallet,
        rng: RandomBytes = os.urandom,
        timeout: float = 120.0,
        poll: float = 0.2,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.client = client
        self.opened = opened
        self.rng = rng
        self.timeout = timeout
        self.poll = poll
        self.progress = progress
        self._info: MintInfo | None = None

    @property
    def wallet(self) -> NoteWallet:
        return self.opened.wallet

    def save(self) -> None:
        self.opened.save()

    # -- the mint as the node sees it ---------------------------------------------
    def info(self) -> MintInfo:
        if self._info is None:
            info = self.client.get_mint()
            if info is None:
                raise MintSessionError("this chain has no mint")
            self._info = info
        return self._info

    def keysets(self) -> dict[str, tuple[int, MintKeys]]:
        """The redeemable keysets: id -> (epoch, public keys)."""
        epochs = {k.keyset_id: k.epoch for k in self.client.get_mint_keysets() if k.keyset_id}
        return {k.keyset_id: (epochs[k.keyset_id], k) for k in self.client.get_mint_keys()}

    def active_keys(self) -> tuple[int, MintKeys]:
        for epoch, keys in self.keysets().values():
            if keys.active:
                return epoch, keys
        raise MintSessionError("the mint has no active keyset yet (its keys are being made)")

    # -- transactions ----------------------------------------------------------------
    def _sign(self, signer: Signer, body: Body) -> Transaction:
        nonce = self.client.get_transaction_count(signer.address, "pending")
        fee = self.client.get_params().min_fee
        return sign_body(signer.key, self.client.chain_id(), nonce, fee, body)

    def _settle_tx(self, raw: bytes) -> ReceiptInfo | None:
        """Send a recorded transaction (again) and wait for its receipt; None
        if the node refuses it (its nonce was used by another one, ...)."""
        tx = decode_raw(raw)
        receipt = self.client.get_receipt(tx.hash)
        if receipt is not None:
            return receipt
        try:
            return self.client.send_transaction(tx, True, self.timeout).receipt
        except TransactionRejected as exc:
            self.progress(f"transaction {tx.hash.hex()} refused: {exc.message}")
            return None

    def _wait(self, what: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            if time.monotonic() >= deadline:
                raise MintSessionError(f"timed out after {self.timeout:g} s waiting for {what}")
            time.sleep(self.poll)

    # -- issuance ------------------------------------------------------------------------
    def deposit(self, signer: Signer, amount: int) -> tuple[Note, ...]:
        """Lock ``amount`` in the mint's reserve and collect the notes.
        Raises WalletError, MintSessionError (refused, refunded, timed out)."""
        epoch, keys = self.active_keys()
        body, pending = deposit_body(amount, epoch, self.info().max_exponent, self.rng)
        tx = self._sign(signer, body)
        issue = PendingIssue(keys.keyset_id, pending, tx=tx.encode())
        self.wallet.issues.append(issue)
        self.save()  # the outputs' secrets are on disk before the deposit leaves
        self.progress(f"deposit {tx.hash.hex()} sent")
        return self._finish_issue(issue)

    def _finish_issue(self, issue: PendingIssue) -> tuple[Note, ...]:
        if not issue.request_id:
            receipt = self._settle_tx(issue.tx)
            if receipt is None or not receipt.success:
                self._forget_issue(issue)
                error = receipt.error if receipt is not None else "refused by the node"
                raise MintSessionError(f"the deposit failed: {error}")
            issue.request_id = _event_int(receipt, "mint_deposit", "request_id")
            self.save()
        self.progress(f"issuance request {issue.request_id}: waiting for the validators")
        request = self._await_issue(issue.request_id)
        if request.status == "refunded":
            self._forget_issue(issue)
            raise MintSessionError(
                f"issuance request {issue.request_id} was refunded: the validators did not "
                "sign it in time"
            )
        keys = self._keys_of(issue.keyset_id)
        try:
            notes = notes_from_signatures(
                issue.outputs, request.signatures, issue.keyset_id, keys.keys
            )
        except WalletError as exc:
            raise MintSessionError(f"issuance request {issue.request_id}: {exc}") from None
        self.wallet.notes.extend(notes)
        self._forget_issue(issue)
        return notes

    def _await_issue(self, request_id: int) -> MintIssue:
        found: list[MintIssue] = []

        def finished() -> bool:
            request = self.client.get_mint_issue(request_id)
            if request is None:
                raise MintSessionError(f"the mint knows no issuance request {request_id}")
            found[:] = [request]
            return request.status != "issuing"

        self._wait(f"issuance request {request_id}", finished)
        return found[0]

    def _forget_issue(self, issue: PendingIssue) -> None:
        self.wallet.issues = [i for i in self.wallet.issues if i is not issue]
        self.save()

    def _keys_of(self, keyset_id: str) -> MintKeys:
        found = self.client.get_mint_keys(keyset_id)
        if len(found) != 1:
            raise MintSessionError(f"keyset {keyset_id} is not redeemable on this chain")
        return found[0]

    # -- redemption and swap ---------------------------------------------------------------
    def redeem(self, signer: Signer, notes: Sequence[Note], to: bytes) -> Redeemed:
        """Redeem ``notes`` to the account ``to``: commit, reveal, settle."""
        return self._spend(signer, notes, address_target(to), ())

    def swap(
        self, signer: Signer, notes: Sequence[Note], amounts: Sequence[int] | None = None
    ) -> Redeemed:
        """Trade ``notes`` for fresh ones (of ``amounts``, default the fewest)."""
        epoch, keys = self.active_keys()
        value = sum(n.amount for n in notes)
        try:
            outputs, pending = swap_outputs(value, amounts, self.info().max_exponent, self.rng)
        except WalletError as exc:
            raise MintSessionError(str(exc)) from None
        target = swap_target(epoch, outputs)
        return self._spend(signer, notes, target, pending, keys.keyset_id)

    def _spend(
        self,
        signer: Signer,
        notes: Sequence[Note],
        target: RedeemTarget,
        swap: tuple[PendingOutput, ...],
        swap_keyset_id: str = "",
    ) -> Redeemed:
        epochs = {keyset_id: epoch for keyset_id, (epoch, _) in self.keysets().items()}
        for note in notes:
            if note.keyset_id not in epochs:
                raise MintSessionError(f"keyset {note.keyset_id} is no longer redeemable")
        chain_id = self.client.chain_id()
        redemption = prepare_redemption(chain_id, signer.address, notes, epochs, target, self.rng)
        tx = self._sign(signer, redemption.commit)
        record = PendingRedemption(
            signer.address,
            signer.name,
            tuple(notes),
            redemption.target,
            redemption.salt,
            tx.encode(),
            swap_keyset_id=swap_keyset_id,
            swap_outputs=swap,
        )
        spent = {n.secret for n in notes}
        self.wallet.notes = [n for n in self.wallet.notes if n.secret not in spent]
        self.wallet.redemptions.append(record)
        self.save()  # the notes leave the wallet, the redemption is recorded
        self.progress(f"redemption commitment {tx.hash.hex()} sent")
        return self._finish_redemption(record, signer)

    def _finish_redemption(self, record: PendingRedemption, signer: Signer | None) -> Redeemed:
        if not record.commitment_id:
            receipt = self._settle_tx(record.commit_tx)
            if receipt is None or not receipt.success:
                error = receipt.error if receipt is not None else "refused by the node"
                self._give_back(record)
                raise MintSessionError(f"the redemption's commitment failed: {error}")
            record.commitment_id = _event_int(receipt, "mint_redeem_committed", "commitment_id")
            self.save()
        if not record.reveal_tx:
            if signer is None or signer.address != record.sender:
                raise MintSessionError(
                    f"redemption {record.commitment_id} waits for its reveal: run the command "
                    f"again with --from {record.key_name}"
                )
            reveal = self._sign(signer, _reveal_body(record))
            record.reveal_tx = reveal.encode()
            self.save()
        receipt = self._settle_tx(record.reveal_tx)
        if receipt is None or not receipt.success:
            self.progress(
                f"the reveal of commitment {record.commitment_id} failed: "
                f"{receipt.error if receipt is not None else 'refused by the node'}"
            )
        self.progress(f"redemption {record.commitment_id}: waiting for the validators")
        settled = self._await_redemption(record.commitment_id)
        if settled.status == "expired":
            self._give_back(record)
            raise MintSessionError(f"redemption {record.commitment_id} expired unrevealed")
        if settled.issue_request_id is not None and record.swap_outputs:
            issue = PendingIssue(
                record.swap_keyset_id, record.swap_outputs, request_id=settled.issue_request_id
            )
            self.wallet.issues.append(issue)
            self._forget_redemption(record)
            return Redeemed(settled.won, record.value - settled.won, self._finish_issue(issue))
        self._forget_redemption(record)
        return Redeemed(settled.won, record.value - settled.won)

    def _await_redemption(self, commitment_id: int) -> MintRedemption:
        found: list[MintRedemption] = []

        def finished() -> bool:
            commitment = self.client.get_mint_redemption(commitment_id)
            if commitment is None:
                raise MintSessionError(f"the mint knows no redemption {commitment_id}")
            found[:] = [commitment]
            return commitment.status in ("settled", "expired")

        self._wait(f"redemption {commitment_id}", finished)
        return found[0]

    def _give_back(self, record: PendingRedemption) -> None:
        """Return the notes a failed redemption did not spend to the wallet."""
        states = self.client.check_note_states([secret_point(n.secret).sec for n in record.notes])
        kept = [n for n in record.notes if states.get(secret_point(n.secret).sec) == NOTE_UNSPENT]
        self.wallet.notes.extend(kept)
        self._forget_redemption(record)

    def _forget_redemption(self, record: PendingRedemption) -> None:
        self.wallet.redemptions = [r for r in self.wallet.redemptions if r is not record]
        self.save()

    # -- notes of an exact value, tokens ---------------------------------------------------
    def exact_notes(self, signer: Signer | None, amount: int) -> tuple[Note, ...]:
        """Notes of the wallet worth exactly ``amount``, swapping some for
        smaller ones first if it holds no such combination (which needs
        ``signer``). Raises WalletError, MintSessionError."""
        if amount <= 0:
            raise WalletError("the amount must be at least 1")
        if amount > self.wallet.balance:
            raise WalletError(f"the wallet holds {self.wallet.balance}, not {amount}")
        try:
            return choose_notes(self.wallet.notes, amount)
        except WalletError:
            if signer is None:
                raise WalletError(
                    f"no notes of the wallet make exactly {amount}: give --from KEY to swap "
                    "some for smaller ones first"
                ) from None
        chosen = _covering(self.wallet.notes, amount)
        change = sum(n.amount for n in chosen) - amount
        limit = MAX_NOTES_PER_REQUEST
        exponent = self.info().max_exponent
        try:
            amounts = [*split_amount(amount, exponent, limit)]
            if change:
                amounts += split_amount(change, exponent, limit)
        except ThresholdError as exc:
            raise WalletError(str(exc)) from None
        self.progress(f"swapping {len(chosen)} notes for {len(amounts)} smaller ones")
        self.swap(signer, chosen, amounts)
        return choose_notes(self.wallet.notes, amount)

    def send(self, signer: Signer | None, amount: int, memo: str | None = None) -> str:
        """A cashuB token of notes worth exactly ``amount``; the notes leave
        the wallet (the token is kept among the sent ones)."""
        notes = self.exact_notes(signer, amount)
        token = encode_token_v4(
            Token(token_mint(self.client.chain_id()), self.info().unit, notes, memo)
        )
        taken = {n.secret for n in notes}
        self.wallet.notes = [n for n in self.wallet.notes if n.secret not in taken]
        self.wallet.remember_sent(token)
        self.save()
        return token

    def receive(self, signer: Signer, text: str) -> Redeemed:
        """Check a token's notes (mint, unit, keysets, DLEQ proofs, NUT-07
        states) and swap them for fresh notes, so that the sender can no
        longer spend them."""
        notes = self.check_token(text)
        return self.swap(signer, notes)

    def check_token(self, text: str) -> tuple[Note, ...]:
        """The notes of a token for this chain's mint, each checked. Raises
        MintSessionError."""
        try:
            token = decode_token(text.strip())
        except ThresholdError as exc:
            raise MintSessionError(f"not a valid token: {exc}") from None
        chain_id = self.client.chain_id()
        if token.mint_url != token_mint(chain_id):
            raise MintSessionError(f"the token is for mint {token.mint_url!r}, not this chain's")
        if token.unit != self.info().unit:
            raise MintSessionError(f"the token's unit is {token.unit!r}, not {self.info().unit!r}")
        keysets = self.keysets()
        notes = []
        for note in token.notes:
            if len(note.secret.encode("utf-8")) > MAX_SECRET_BYTES:
                raise MintSessionError(f"a note's secret is longer than {MAX_SECRET_BYTES} bytes")
            matching = [k for k in keysets if k.startswith(note.keyset_id)]
            if len(matching) != 1:
                raise MintSessionError(f"keyset {note.keyset_id} is not redeemable on this chain")
            _, keys = keysets[matching[0]]
            try:
                key = decode_element(keys.key_for(note.amount))
            except KeyError as exc:
                raise MintSessionError(str(exc)) from None
            if note.dleq is not None and not verify_note_proof(
                key,
                note.secret.encode("utf-8"),
                note.signature,
                note.dleq.proof,
                note.dleq.blinding_factor,
            ):
                raise MintSessionError("a note's DLEQ proof does not verify: not the mint's")
            notes.append(
                Note(note.amount, matching[0], note.secret, note.signature, note.dleq, note.witness)
            )
        states = self.client.check_note_states([secret_point(n.secret).sec for n in notes])
        if any(state != NOTE_UNSPENT for state in states.values()):
            raise MintSessionError("some of the token's notes are already spent (or being spent)")
        return tuple(notes)

    # -- what a previous command left in flight -------------------------------------------
    def resume(self, signer: Signer | None) -> list[str]:
        """Finish the deposits, swaps and redemptions in flight; returns a line
        for each that still waits (for the validators, or for ``--from``)."""
        waiting = []
        for issue in list(self.wallet.issues):
            try:
                self._finish_issue(issue)
            except MintSessionError as exc:
                waiting.append(str(exc))
        for record in list(self.wallet.redemptions):
            try:
                self._finish_redemption(record, signer)
            except MintSessionError as exc:
                waiting.append(str(exc))
        return waiting


def _reveal_body(record: PendingRedemption) -> Body:
    return MintRedeemReveal(
        record.commitment_id, tuple(n.secret for n in record.notes), record.target, record.salt
    )


def _covering(notes: Sequence[Note], amount: int) -> tuple[Note, ...]:
    """The smallest notes, in ascending order, until they reach ``amount``."""
    chosen = []
    total = 0
    for note in sorted(notes, key=lambda n: (n.amount, n.secret)):
        chosen.append(note)
        total += note.amount
        if total >= amount:
            return tuple(chosen)
    raise WalletError(f"the wallet's notes add up to {total}, not {amount}")


def _event_int(receipt: ReceiptInfo, kind: str, name: str) -> int:
    for event in receipt.events:
        if event.kind == kind:
            value = event.attributes[name]
            if isinstance(value, int):
                return value
            if isinstance(value, str) and value.isdigit():
                return int(value)
    raise MintSessionError(f"the receipt has no {kind} event")


def decode_raw(raw: bytes) -> Transaction:
    """A recorded transaction. Raises MintSessionError if the record is damaged."""
    try:
        return decode_transaction(raw)
    except DecodeError as exc:
        raise MintSessionError(f"a recorded transaction does not decode: {exc}") from None
