"""Transactions, blocks, receipts: frozen dataclasses with one canonical encoding.

A thing's hash is SHA-256 of its canonical encoding (ledger.codec). Field
order, types and signing payloads are specified in docs/spec/transactions.md.

Transaction bodies are versioned kinds: each kind has a small integer tag
and a fixed field order. The features define them (ledger/features/) and
register them with ledger.registry, which this module reads to decode a
body. New kinds get new tags, so old encodings never change meaning. Tag
ranges: 1-9 bank and evidence, 10-19 contracts, 20-39 assets, barter and
policy accounts, 40-49 threshold keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, ClassVar, Final, Protocol

from ledger import codec, crypto
from ledger.address import ADDRESS_SIZE
from ledger.fields import (
    MAX_AMOUNT,
    MAX_NONCE,
    NATIVE_ASSET,
    DecodeError,
    check_amount,
    check_asset,
    check_bytes,
    check_chain_id,
    check_uint,
    ensure,
    valid_chain_id,
)
from ledger.registry import RULES
from ledger.threshold import frost

__all__ = [
    "MAX_AMOUNT",
    "MAX_NONCE",
    "NATIVE_ASSET",
    "DecodeError",
    "check_amount",
    "check_asset",
    "check_bytes",
    "check_chain_id",
    "check_uint",
    "ensure",
]

TX_VERSION: Final = 1
BLOCK_VERSION: Final = 1
THRESHOLD_SIGNATURE_SIZE: Final = 65
TX_DOMAIN: Final = "ledger/tx/v1"
MAX_TX_SIZE: Final = 64 * 1024
_sha256 = hashlib.sha256  # crypto.sha256 without the wrapper, for the per-transaction hashes


class Body(Protocol):
    """A transaction body kind: a tag and its fields in fixed order."""

    KIND: ClassVar[int]
    NAME: ClassVar[str]

    def to_fields(self) -> tuple[Any, ...]: ...


def encode_body(body: Body) -> tuple[Any, ...]:
    """A body as the array ``[kind, field...]``."""
    return (body.KIND, *body.to_fields())


def decode_body(value: object) -> Body:
    """The body of a transaction from its array form. Raises DecodeError."""
    ensure(isinstance(value, tuple) and len(value) >= 1, "body must be [kind, fields...]")
    assert isinstance(value, tuple)
    kind = value[0]
    decoders = RULES.decoders
    ensure(type(kind) is int and kind in decoders, f"unknown transaction kind {kind!r}")
    body: Body = decoders[kind](value[1:])
    return body


@dataclass(frozen=True, slots=True)
class Transaction:
    """A signed transaction. Its hash covers the signature too."""

    chain_id: str
    sender: bytes  # 33-byte compressed public key
    nonce: int
    fee: int
    body: Body
    signature: bytes = b""
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def unsigned_fields(self) -> tuple[Any, ...]:
        """The signed payload: ``[version, chain_id, sender, nonce, fee, body]``."""
        return (
            TX_VERSION,
            self.chain_id,
            self.sender,
            self.nonce,
            self.fee,
            encode_body(self.body),
        )

    def signing_digest(self) -> bytes:
        """SHA-256 of encode([TX_DOMAIN, chain_id, unsigned_fields]), computed once
        (from the canonical bytes when they are known: see ``_unsigned_bytes``)."""
        cached = self._cache.get("digest")
        if cached is None:
            unsigned = self._unsigned_bytes()
            if unsigned is None:
                cached = crypto.signing_digest(TX_DOMAIN, self.chain_id, self.unsigned_fields())
            else:
                cached = _sha256(_signing_prefix(self.chain_id) + unsigned).digest()
            self._cache["digest"] = cached
        return cached

    def _unsigned_bytes(self) -> bytes | None:
        """encode(unsigned_fields()) cut from the cached canonical bytes, or None.

        The bytes are ``0x97 (array of 7), field 1..6, bin8 signature``; an
        array's encoding is its header and then its elements', so the six
        unsigned fields are ``0x96`` and the same middle. None (re-encode
        instead) when the bytes are not cached or the signature is not a
        byte string of at most 255 bytes (bin8: 2 header bytes) or the chain
        id is not text."""
        raw: bytes | None = self._cache.get("bytes")
        signature = self.signature
        if (
            raw is None
            or raw[0] != 0x97
            or type(signature) is not bytes
            or len(signature) > 255
            or type(self.chain_id) is not str
        ):
            return None
        return b"\x96" + raw[1 : len(raw) - 2 - len(signature)]

    def encode(self) -> bytes:
        """Canonical bytes: ``[version, chain_id, sender, nonce, fee, body, signature]``."""
        cached = self._cache.get("bytes")
        if cached is None:
            cached = codec.encode((*self.unsigned_fields(), self.signature))
            self._cache["bytes"] = cached
        return cached

    @property
    def hash(self) -> bytes:
        """SHA-256 of the canonical encoding."""
        cached = self._cache.get("hash")
        if cached is None:
            cached = _sha256(self.encode()).digest()
            self._cache["hash"] = cached
        return cached

    @property
    def sender_address(self) -> bytes:
        """The 20-byte address of the sender's public key."""
        cached = self._cache.get("address")
        if cached is None:
            cached = _sha256(self.sender).digest()[:ADDRESS_SIZE]
            self._cache["address"] = cached
        return cached

    def signed(self, key: crypto.SigningKey) -> Transaction:
        """A copy signed by ``key`` (which must be the sender's)."""
        assert key.public_key == self.sender, "signing key does not match the sender"
        return replace(self, signature=key.sign_digest(self.signing_digest()), _cache={})

    def signature_valid(self) -> bool:
        """True iff the signature authorizes the transaction: a 64-byte low-S
        ECDSA signature by the sender's key, or a 65-byte FROST (RFC 9591)
        signature by the sender when the sender is a threshold group key."""
        if len(self.signature) == THRESHOLD_SIGNATURE_SIZE:
            return frost.verify_signature(self.sender, self.signing_digest(), self.signature)
        return crypto.verify_digest(self.sender, self.signing_digest(), self.signature)


@lru_cache(maxsize=64)
def _signing_prefix(chain_id: str) -> bytes:
    """encode([TX_DOMAIN, chain_id, unsigned]) without its last element:
    the header of a 3-element array, the domain tag and the chain id."""
    return b"\x93" + codec.encode(TX_DOMAIN) + codec.encode(chain_id)


def check_signature(value: object) -> bytes:
    """64 bytes (ECDSA) or 65 bytes (FROST threshold signature), or DecodeError."""
    ensure(
        isinstance(value, bytes)
        and len(value) in (crypto.SIGNATURE_SIZE, THRESHOLD_SIGNATURE_SIZE),
        "signature must be 64 bytes (ECDSA) or 65 bytes (FROST)",
    )
    return value  # type: ignore[return-value]


def decode_transaction(data: bytes) -> Transaction:
    """Strictly decode a transaction. Raises DecodeError (never anything else).

    Checks structure, sizes and ranges; does not check the signature, the
    nonce or balances (that is the state transition's job). A well-formed
    transaction of a kind with a fast body decoder (a transfer) takes a fast
    path (``decode_transaction_fast``); everything else, and every
    rejection, goes through ``decode_transaction_strict``.
    """
    if isinstance(data, bytes) and len(data) <= MAX_TX_SIZE:
        tx = decode_transaction_fast(data)
        if tx is not None:
            return tx
    return decode_transaction_strict(data)


def decode_transaction_fast(data: bytes) -> Transaction | None:
    """``decode_transaction_strict(data)`` for a valid transaction whose body
    kind registered a fast decoder (ledger.registry.BodyKind.decode_fast), or None.

    Accepts only the shape ``[1, chain_id, sender, nonce, fee, [kind,
    field...], signature]`` with every field valid, the body's fields all
    scalars (the fast decoder's promise) and ``data`` its canonical packing:
    scalars in two levels of arrays, so the codec's tree walk (floats, maps,
    depth) has nothing to object to. Returns None for anything else (the
    caller then runs the strict path, which gives the same result or the
    error). ``data`` must be bytes of at most MAX_TX_SIZE.
    """
    value = codec.unpack_unchecked(data)
    if type(value) is not tuple or len(value) != 7:
        return None
    version, chain_id, sender, nonce, fee, body, signature = value
    if not (
        type(version) is int
        and version == TX_VERSION
        and type(sender) is bytes
        and len(sender) == crypto.PUBLIC_KEY_SIZE
        and type(nonce) is int
        and 0 <= nonce <= MAX_NONCE
        and type(fee) is int
        and 0 <= fee <= MAX_AMOUNT
        and type(signature) is bytes
        and len(signature) in _SIGNATURE_SIZES
        and type(body) is tuple
        and len(body) >= 1
        and type(body[0]) is int
        and type(chain_id) is str
        and valid_chain_id(chain_id)
    ):
        return None
    decode_fast = RULES.fast_decoders.get(body[0])
    if decode_fast is None:
        return None
    decoded = decode_fast(body)
    if decoded is None or not codec.is_canonical(value, data):
        return None
    tx = Transaction(chain_id, sender, nonce, fee, decoded, signature)
    tx._cache["bytes"] = data
    return tx


_SIGNATURE_SIZES: Final = frozenset((crypto.SIGNATURE_SIZE, THRESHOLD_SIGNATURE_SIZE))


def decode_transaction_strict(data: bytes) -> Transaction:
    """decode_transaction through the generic strict codec and field checks
    (the reference for the fast path; gives every rejection its message)."""
    ensure(isinstance(data, bytes), "transaction must be bytes")
    ensure(len(data) <= MAX_TX_SIZE, f"transaction exceeds {MAX_TX_SIZE} bytes")
    try:
        value = codec.decode(data, max_size=MAX_TX_SIZE)
    except codec.CodecError as exc:
        raise DecodeError(f"transaction encoding: {exc}") from exc
    ensure(isinstance(value, tuple) and len(value) == 7, "transaction must be a 7-element array")
    version, chain_id, sender, nonce, fee, body, signature = value
    ensure(version == TX_VERSION and type(version) is int, f"unsupported tx version {version!r}")
    tx = Transaction(
        chain_id=check_chain_id(chain_id),
        sender=check_bytes(sender, "sender", crypto.PUBLIC_KEY_SIZE),
        nonce=check_uint(nonce, "nonce"),
        fee=check_amount(fee, "fee"),
        body=decode_body(body),
        signature=check_signature(signature),
    )
    tx._cache["bytes"] = data
    return tx


def merkle_root(leaves: list[bytes]) -> bytes:
    """Binary Merkle root of 32-byte leaf hashes (RFC 6962 shape with
    domain-separated leaf 0x00 and node 0x01 prefixes; empty list -> 32 zero bytes)."""
    if not leaves:
        return bytes(32)
    sha256 = _sha256  # called twice per leaf: hashlib directly, no wrapper
    level = [sha256(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        paired = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])  # an odd node is promoted unchanged
        level = paired
    return level[0]


@dataclass(frozen=True, slots=True)
class Event:
    """Something a transaction did, for receipts and subscriptions."""

    kind: str
    attributes: tuple[tuple[str, Any], ...]

    def to_value(self) -> tuple[Any, ...]:
        return (self.kind, tuple((k, v) for k, v in self.attributes))


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of one transaction in a block."""

    status: int  # 0 = success; otherwise a ReceiptStatus code
    fee_charged: int
    gas_used: int = 0
    events: tuple[Event, ...] = ()
    error: str = ""
    _cache: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.status,
            self.fee_charged,
            self.gas_used,
            tuple(e.to_value() for e in self.events),
            self.error,
        )

    def encode(self) -> bytes:
        """Canonical bytes (computed once: a receipt is hashed and stored)."""
        cached = self._cache.get("bytes")
        if cached is None:
            plain = self._plain_value()  # None: let the codec walk the value
            cached = codec.encode(self.to_value()) if plain is None else codec.pack_plain(plain)
            self._cache["bytes"] = cached
        return cached

    def _plain_value(self) -> tuple[Any, ...] | None:
        """``to_value()`` if it holds only plain scalars (then the codec's tree
        walk has nothing to reject and ``codec.pack_plain`` encodes it), else None:
        events must be Events whose attributes are a tuple of 2-tuples."""
        plain = codec.PLAIN_TYPES
        if not (
            type(self.status) in plain
            and type(self.fee_charged) in plain
            and type(self.gas_used) in plain
            and type(self.error) in plain
            and type(self.events) is tuple
        ):
            return None
        events = []
        for event in self.events:
            if type(event) is not Event or type(event.kind) not in plain:
                return None
            attributes = event.attributes
            if type(attributes) is not tuple:
                return None
            for pair in attributes:
                if type(pair) is not tuple or len(pair) != 2:
                    return None
                if type(pair[0]) not in plain or type(pair[1]) not in plain:
                    return None
            events.append((event.kind, attributes))
        return (self.status, self.fee_charged, self.gas_used, tuple(events), self.error)

    @property
    def hash(self) -> bytes:
        return _sha256(self.encode()).digest()


def decode_receipt(data: bytes) -> Receipt:
    """Decode a stored receipt. Raises DecodeError."""
    try:
        value = codec.decode(data)
    except codec.CodecError as exc:
        raise DecodeError(f"receipt encoding: {exc}") from exc
    ensure(isinstance(value, tuple) and len(value) == 5, "receipt must be a 5-element array")
    status, fee, gas, events, error = value
    return Receipt(
        status=check_uint(status, "status"),
        fee_charged=check_amount(fee, "fee"),
        gas_used=check_uint(gas, "gas_used"),
        events=tuple(Event(kind, tuple(tuple(a) for a in attrs)) for kind, attrs in events),
        error=error,
    )


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """A block header; the block hash is the hash of its encoding."""

    chain_id: str
    height: int
    time_ms: int  # proposer's clock, milliseconds since the Unix epoch; never read by nodes
    prev_hash: bytes
    last_commit_hash: bytes  # SHA-256 of the previous block's commit certificate bytes
    txs_root: bytes
    receipts_root: bytes
    state_root: bytes  # state root after executing this block
    proposer: bytes  # 20-byte address of the proposing validator
    version: int = BLOCK_VERSION

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.version,
            self.chain_id,
            self.height,
            self.time_ms,
            self.prev_hash,
            self.last_commit_hash,
            self.txs_root,
            self.receipts_root,
            self.state_root,
            self.proposer,
        )

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @property
    def hash(self) -> bytes:
        return crypto.sha256(self.encode())


def header_from_value(value: object) -> BlockHeader:
    """A header from its array form. Raises DecodeError."""
    ensure(isinstance(value, tuple) and len(value) == 10, "header must be a 10-element array")
    assert isinstance(value, tuple)
    version, chain_id, height, time_ms, prev, last_commit, txs_root, receipts_root, state, prop = (
        value
    )
    ensure(
        version == BLOCK_VERSION and type(version) is int, f"unsupported block version {version!r}"
    )
    return BlockHeader(
        chain_id=check_chain_id(chain_id),
        height=check_uint(height, "height"),
        time_ms=check_uint(time_ms, "time_ms"),
        prev_hash=check_bytes(prev, "prev_hash", 32),
        last_commit_hash=check_bytes(last_commit, "last_commit_hash", 32),
        txs_root=check_bytes(txs_root, "txs_root", 32),
        receipts_root=check_bytes(receipts_root, "receipts_root", 32),
        state_root=check_bytes(state, "state_root", 32),
        proposer=check_bytes(prop, "proposer", ADDRESS_SIZE),
    )


@dataclass(frozen=True, slots=True)
class Block:
    """A header, its transactions, and the previous block's commit certificate
    (opaque canonical bytes defined by consensus; empty at height 1)."""

    header: BlockHeader
    transactions: tuple[Transaction, ...]
    last_commit: bytes = b""

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def height(self) -> int:
        return self.header.height

    def encode(self) -> bytes:
        """``[header, [tx bytes...], last_commit]`` (transactions nested as bytes)."""
        return codec.encode(
            (
                self.header.to_value(),
                tuple(tx.encode() for tx in self.transactions),
                self.last_commit,
            )
        )


MAX_BLOCK_SIZE: Final = 32 * 1024 * 1024


def decode_block(data: bytes) -> Block:
    """Strictly decode a block (header fields, each transaction). Raises DecodeError.
    Does not check roots, signatures or state: see ledger.transition."""
    try:
        value = codec.decode(data, max_size=MAX_BLOCK_SIZE)
    except codec.CodecError as exc:
        raise DecodeError(f"block encoding: {exc}") from exc
    ensure(isinstance(value, tuple) and len(value) == 3, "block must be a 3-element array")
    header_value, txs, last_commit = value
    ensure(isinstance(txs, tuple), "block transactions must be an array")
    return Block(
        header=header_from_value(header_value),
        transactions=decode_block_transactions(txs),
        last_commit=check_bytes(last_commit, "last_commit", max_size=MAX_BLOCK_SIZE),
    )


def decode_block_transactions(txs: tuple[Any, ...]) -> tuple[Transaction, ...]:
    """Each element of a block's transaction array, decoded. Raises DecodeError."""
    decoded = []
    for t in txs:
        if type(t) is not bytes or len(t) > MAX_TX_SIZE:  # check_bytes says what is wrong
            t = check_bytes(t, "tx", max_size=MAX_TX_SIZE)
        decoded.append(decode_transaction(t))
    return tuple(decoded)


def block_txs_root(transactions: tuple[Transaction, ...] | list[Transaction]) -> bytes:
    """Merkle root of the transaction hashes, in block order."""
    return merkle_root([tx.hash for tx in transactions])


def block_receipts_root(receipts: tuple[Receipt, ...] | list[Receipt]) -> bytes:
    """Merkle root of the receipt hashes, in block order."""
    return merkle_root([r.hash for r in receipts])
