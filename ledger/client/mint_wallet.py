"""The wallet side of the mint, pure: make blinded outputs for a deposit or a
swap, turn the chain's blind signatures into notes (checking each NUT-12
proof against the keyset), and prepare the two transactions of a
redemption (commit, then reveal).

Nothing here talks to a node or touches a file; the CLI (cli/features/bank/)
and the encrypted wallet file (ledger.client.note_store) build on it. The
random source is injected (``os.urandom`` in the CLI, seeded in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.features.mint.bodies import (
    TARGET_ADDRESS,
    TARGET_SWAP,
    MintDeposit,
    MintRedeemCommit,
    MintRedeemReveal,
    NoteInput,
    RedeemTarget,
)
from ledger.features.mint.interface import (
    DleqProof,
    Note,
    NoteDleq,
    blind_message,
    random_blinding_factor,
    redemption_digest,
    secret_point,
    split_amount,
    unblind_signature,
    verify_blind_signature_proof,
)
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import RandomBytes, decode_element

MAX_NOTES_PER_REQUEST = 64


class WalletError(Exception):
    """The wallet cannot do what was asked (not enough notes, a bad signature
    from the chain, an amount that needs too many notes)."""


@dataclass(frozen=True)
class PendingOutput:
    """A blinded output the wallet waits to have signed: its secret and
    blinding factor stay with the wallet."""

    amount: int
    secret: str
    blinding_factor: int
    blinded: bytes


def make_outputs(
    amount: int, max_exponent: int, rng: RandomBytes
) -> tuple[tuple[tuple[int, bytes], ...], tuple[PendingOutput, ...]]:
    """Fresh secrets and blinded messages for ``amount`` in the fewest notes.
    Returns (the body's outputs, what the wallet keeps). Raises WalletError."""
    try:
        amounts = split_amount(amount, max_exponent, MAX_NOTES_PER_REQUEST)
    except ThresholdError as exc:
        raise WalletError(str(exc)) from exc
    return outputs_for(amounts, max_exponent, rng)


def outputs_for(
    amounts: Sequence[int], max_exponent: int, rng: RandomBytes
) -> tuple[tuple[tuple[int, bytes], ...], tuple[PendingOutput, ...]]:
    """Fresh secrets and blinded messages for notes of exactly ``amounts``
    (powers of two up to 2^max_exponent, at most MAX_NOTES_PER_REQUEST).
    Raises WalletError."""
    if not 1 <= len(amounts) <= MAX_NOTES_PER_REQUEST:
        raise WalletError(f"1 to {MAX_NOTES_PER_REQUEST} notes per request")
    for amount in amounts:
        if amount <= 0 or amount & (amount - 1) or amount > 1 << max_exponent:
            raise WalletError(f"{amount} is not a denomination (1..2^{max_exponent})")
    pending = []
    for note_amount in amounts:
        secret = rng(32).hex()
        r = random_blinding_factor(rng)
        blinded = blind_message(secret.encode("utf-8"), r).sec
        pending.append(PendingOutput(note_amount, secret, r, blinded))
    return tuple((p.amount, p.blinded) for p in pending), tuple(pending)


def swap_outputs(
    value: int, amounts: Sequence[int] | None, max_exponent: int, rng: RandomBytes
) -> tuple[tuple[tuple[int, bytes], ...], tuple[PendingOutput, ...]]:
    """Outputs of a swap worth ``value``: of ``amounts`` (which must add up to
    it), else the fewest notes. Raises WalletError."""
    if amounts is None:
        return make_outputs(value, max_exponent, rng)
    if sum(amounts) != value:
        raise WalletError(f"the new notes must add up to {value}")
    return outputs_for(amounts, max_exponent, rng)


def deposit_body(
    amount: int, keyset_epoch: int, max_exponent: int, rng: RandomBytes
) -> tuple[MintDeposit, tuple[PendingOutput, ...]]:
    outputs, pending = make_outputs(amount, max_exponent, rng)
    return MintDeposit(keyset_epoch, outputs), pending


def notes_from_signatures(
    pending: Sequence[PendingOutput],
    signatures: Sequence[bytes],
    keyset_id: str,
    public_keys: Sequence[bytes],
) -> tuple[Note, ...]:
    """Unblind the chain's 97-byte blind signatures (C_ || e || s) into notes
    carrying their NUT-12 proofs. Raises WalletError if any proof fails."""
    if len(pending) != len(signatures):
        raise WalletError("as many signatures as outputs are expected")
    notes = []
    for output, signature in zip(pending, signatures, strict=True):
        index = output.amount.bit_length() - 1
        key = decode_element(public_keys[index])
        blind = decode_element(signature[:33])
        proof = DleqProof(
            int.from_bytes(signature[33:65], "big"), int.from_bytes(signature[65:97], "big")
        )
        if not verify_blind_signature_proof(key, decode_element(output.blinded), blind, proof):
            raise WalletError("a blind signature's DLEQ proof does not verify")
        c = unblind_signature(blind, output.blinding_factor, key)
        notes.append(
            Note(
                output.amount, keyset_id, output.secret, c, NoteDleq(proof, output.blinding_factor)
            )
        )
    return tuple(notes)


def choose_notes(notes: Sequence[Note], amount: int) -> tuple[Note, ...]:
    """Notes adding up to exactly ``amount``, largest first. Raises
    WalletError if the wallet holds no such combination (swap first)."""
    chosen = []
    rest = amount
    for note in sorted(notes, key=lambda n: (-n.amount, n.secret)):
        if note.amount <= rest:
            chosen.append(note)
            rest -= note.amount
        if rest == 0:
            return tuple(chosen)
    raise WalletError(f"the wallet's notes do not make exactly {amount}")


@dataclass(frozen=True)
class Redemption:
    """The two bodies of a redemption (the reveal needs the commitment's id,
    known once the commit is included)."""

    commit: MintRedeemCommit
    secrets: tuple[str, ...]
    target: RedeemTarget
    salt: bytes

    def reveal(self, commitment_id: int) -> MintRedeemReveal:
        return MintRedeemReveal(commitment_id, self.secrets, self.target, self.salt)


def prepare_redemption(
    chain_id: str,
    sender: bytes,
    notes: Sequence[Note],
    epochs: dict[str, int],
    target: RedeemTarget,
    rng: RandomBytes,
) -> Redemption:
    """Commit to redeeming ``notes`` (keyset id -> epoch in ``epochs``) to
    ``target``, from account ``sender``."""
    inputs = tuple(
        NoteInput(epochs[n.keyset_id], n.amount, secret_point(n.secret).sec, n.signature.sec)
        for n in notes
    )
    secrets = tuple(n.secret for n in notes)
    salt = rng(32)
    digest = redemption_digest(chain_id, sender, secrets, target, salt)
    return Redemption(MintRedeemCommit(inputs, digest), secrets, target, salt)


def address_target(address: bytes) -> RedeemTarget:
    return RedeemTarget(TARGET_ADDRESS, address=address)


def swap_target(keyset_epoch: int, outputs: tuple[tuple[int, bytes], ...]) -> RedeemTarget:
    return RedeemTarget(TARGET_SWAP, keyset_epoch=keyset_epoch, outputs=outputs)
