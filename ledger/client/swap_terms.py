"""Two-party swaps in two steps: the counterparty signs the terms, the
initiator submits them.

A swap (kind 27, docs/spec/barter.md) moves two legs in one transaction
sent by the *initiator*; the *counterparty* authorizes its leg by signing
the terms, which name its next nonce (so the signature works once, and the
counterparty revokes it by sending any transaction of its own first):

1. the counterparty: ``SwapTerms(...).sign(key)`` -> ``SignedSwap``, and
   hands ``signed.to_hex()`` (a file, a message) to the initiator;
2. the initiator: ``SignedSwap.from_hex(text)``, checks ``verify()`` and the
   terms, and sends ``signed.body()`` (``LedgerClient.send_body``).

The hex blob is the canonical encoding of
``["ledger/swap-terms/v1", chain_id, counterparty_public_key, terms, signature]``
with ``terms`` exactly what the counterparty signed
(``ledger.features.bank.bodies.swap_terms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger import codec, crypto
from ledger.address import ADDRESS_SIZE, address_of
from ledger.codec import CodecError
from ledger.crypto import SigningKey
from ledger.features.barter.bodies import (
    SIGNATURE_SIZES,
    Swap,
    signature_valid,
    swap_digest,
    swap_terms,
)
from ledger.fields import (
    DecodeError,
    check_asset,
    check_bytes,
    check_chain_id,
    check_positive,
    check_uint,
    ensure,
)

from .asset_transactions import checked

BLOB_TAG: Final = "ledger/swap-terms/v1"
MAX_BLOB_SIZE: Final = 1024


@dataclass(frozen=True, slots=True)
class SwapTerms:
    """What both parties agree on. Legs are named from the initiator's side:
    the initiator gives ``give_amount`` of ``give_asset`` and gets
    ``get_amount`` of ``get_asset`` from the counterparty."""

    chain_id: str
    initiator: bytes  # 20-byte address
    counterparty_key: bytes  # 33-byte public key of the signing counterparty
    give_asset: str
    give_amount: int
    get_asset: str
    get_amount: int
    expires_at: int  # the swap must be included by the end of this block
    counterparty_nonce: int  # the counterparty's next nonce when it signs

    @property
    def counterparty(self) -> bytes:
        return address_of(self.counterparty_key)

    def terms(self) -> tuple[object, ...]:
        return swap_terms(
            self.initiator,
            self.counterparty,
            self.give_asset,
            self.give_amount,
            self.get_asset,
            self.get_amount,
            self.expires_at,
            self.counterparty_nonce,
        )

    def digest(self) -> bytes:
        """What the counterparty signs."""
        return swap_digest(self.chain_id, self.terms())

    def sign(self, key: SigningKey) -> SignedSwap:
        """The counterparty's signature over these terms. Raises ValueError if
        ``key`` is not the counterparty's or the terms are malformed."""
        if key.public_key != self.counterparty_key:
            raise ValueError("only the counterparty named in the terms can sign them")
        signed = SignedSwap(self, key.sign_digest(self.digest()))
        signed.body()  # the node's decoding rules, before anything leaves this machine
        return signed


@dataclass(frozen=True, slots=True)
class SignedSwap:
    """Terms with the counterparty's signature: what the initiator submits."""

    terms: SwapTerms
    signature: bytes

    def verify(self) -> bool:
        """True iff the signature is the counterparty's over these terms
        (64-byte ECDSA, or 65-byte FROST for a threshold group key)."""
        try:
            body = self.body()
        except DecodeError:
            return False
        return signature_valid(self.terms.counterparty_key, self.terms.digest(), body)

    def body(self) -> Swap:
        """The swap body for the initiator's transaction. Raises DecodeError."""
        t = self.terms
        ensure(t.initiator != t.counterparty, "a swap needs two different parties")
        ensure(t.give_asset != t.get_asset, "a swap exchanges two different assets")
        return checked(
            Swap(
                t.counterparty_key,
                t.give_asset,
                t.give_amount,
                t.get_asset,
                t.get_amount,
                t.expires_at,
                t.counterparty_nonce,
                self.signature,
            )
        )

    def encode(self) -> bytes:
        t = self.terms
        return codec.encode((BLOB_TAG, t.chain_id, t.counterparty_key, t.terms(), self.signature))

    def to_hex(self) -> str:
        return self.encode().hex()

    @classmethod
    def decode(cls, data: bytes) -> SignedSwap:
        """Strictly, from ``encode()``'s bytes. Raises DecodeError."""
        try:
            value = codec.decode(data, MAX_BLOB_SIZE)
        except CodecError as exc:
            raise DecodeError(f"not signed swap terms: {exc}") from None
        ensure(
            isinstance(value, tuple) and len(value) == 5 and value[0] == BLOB_TAG,
            f"not signed swap terms (expected a {BLOB_TAG} blob)",
        )
        assert isinstance(value, tuple)
        _, chain_id, counterparty_key, terms, signature = value
        ensure(isinstance(terms, tuple) and len(terms) == 8, "swap terms have 8 fields")
        initiator, counterparty, give_asset, give_amount, get_asset, get_amount, expires, nonce = (
            terms
        )
        swap = SwapTerms(
            check_chain_id(chain_id),
            check_bytes(initiator, "initiator", ADDRESS_SIZE),
            check_bytes(counterparty_key, "counterparty", crypto.PUBLIC_KEY_SIZE),
            check_asset(give_asset),
            check_positive(give_amount, "give_amount"),
            check_asset(get_asset),
            check_positive(get_amount, "get_amount"),
            check_uint(expires, "expires_at"),
            check_uint(nonce, "counterparty_nonce"),
        )
        ensure(counterparty == swap.counterparty, "the counterparty address does not match its key")
        ensure(
            isinstance(signature, bytes) and len(signature) in SIGNATURE_SIZES,
            "the signature must be 64 or 65 bytes",
        )
        assert isinstance(signature, bytes)
        signed = cls(swap, signature)
        signed.body()
        return signed

    @classmethod
    def from_hex(cls, text: str) -> SignedSwap:
        """From ``to_hex()`` text (surrounding whitespace ignored). Raises DecodeError."""
        try:
            data = bytes.fromhex(text.strip())
        except ValueError:
            raise DecodeError("signed swap terms must be hex") from None
        return cls.decode(data)
