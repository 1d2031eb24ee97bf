"""World state: accounts and chain records, read through an injected reader.

The state is a map from byte keys to canonical byte values. Every key
starts with a one-byte namespace (``ACCOUNT_PREFIX`` ...). The authenticated
state tree (ledger.state_tree) commits to the map under
``SHA-256(state key)``; the store also keeps a flat copy of the latest values
for fast reads.

``State`` is a write overlay over a ``StateReader`` with a journal of nested
scopes: ``begin()`` opens a scope (inside the open one, if any), ``commit()``
folds the innermost scope into its parent (or into the block's changes),
``revert()`` drops it. A transaction runs in one scope; a contract message
inside it runs in a scope of its own. Nothing here does I/O; the reader is
the store at the edge (or a dict in tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from ledger import codec
from ledger.fields import valid_asset
from ledger.types import MAX_AMOUNT, MAX_NONCE, check_amount, check_asset, check_uint, ensure

ACCOUNT_PREFIX: Final = b"a"
PARAMS_KEY: Final = b"p"
VALIDATORS_KEY: Final = b"v"
# The validator schedule (ledger.features.validators.schedule owns its value);
# the chain stores its proof with every block for state sync (ledger.chain).
SCHEDULE_KEY: Final = b"V"
CHAIN_KEY: Final = b"c"


class StateReader(Protocol):
    """Where the overlay reads committed values from (the store, or a dict)."""

    def get_state(self, key: bytes) -> bytes | None: ...


class MemoryStateReader:
    """A dict-backed StateReader for tests, genesis and simulations."""

    def __init__(self, values: Mapping[bytes, bytes] | None = None) -> None:
        self.values: dict[bytes, bytes] = dict(values or {})

    def get_state(self, key: bytes) -> bytes | None:
        return self.values.get(key)

    def apply(self, changes: Mapping[bytes, bytes | None]) -> None:
        """Apply a block's changes (None deletes)."""
        for key, value in changes.items():
            if value is None:
                self.values.pop(key, None)
            else:
                self.values[key] = value


class BalanceOverflow(ArithmeticError):
    """A balance would exceed 2**128 - 1."""


class InsufficientBalance(ArithmeticError):
    """A balance would go below zero."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account: next nonce and balances by asset (zero balances are not stored)."""

    nonce: int = 0
    balances: tuple[tuple[str, int], ...] = ()

    def balance(self, asset: str) -> int:
        for name, amount in self.balances:
            if name == asset:
                return amount
        return 0

    def with_balance(self, asset: str, amount: int) -> Account:
        """A copy with ``asset`` set to ``amount`` (kept sorted; zero removes it)."""
        if amount < 0:
            raise InsufficientBalance(f"balance of {asset} would be negative")
        if amount > MAX_AMOUNT:
            raise BalanceOverflow(f"balance of {asset} would exceed 2^128-1")
        balances = self.balances
        if len(balances) == 1 and balances[0][0] == asset:  # one asset: nothing to sort
            return Account(self.nonce, ((asset, amount),) if amount else ())
        others = [(name, value) for name, value in self.balances if name != asset]
        if amount:
            others.append((asset, amount))
        others.sort()
        return Account(self.nonce, tuple(others))

    def with_nonce(self, nonce: int) -> Account:
        assert 0 <= nonce <= MAX_NONCE
        return Account(nonce, self.balances)

    def is_empty(self) -> bool:
        return self.nonce == 0 and not self.balances


def tree_key(state_key: bytes) -> bytes:
    """Where a state key lives in the state tree: its SHA-256 (uniformly spread, fixed size)."""
    return hashlib.sha256(state_key).digest()


SCHEDULE_TREE_KEY: Final = tree_key(SCHEDULE_KEY)  # the schedule's key in the state tree


def tree_changes(changes: Mapping[bytes, bytes | None]) -> dict[bytes, bytes | None]:
    """A block's state changes keyed by tree key, ready for StateTree.update."""
    return {tree_key(key): value for key, value in changes.items()}


def account_key(address: bytes) -> bytes:
    """The state key of an account."""
    return ACCOUNT_PREFIX + address


def encode_account(account: Account) -> bytes:
    """``[nonce, [[asset, amount], ...]]`` with assets sorted."""
    nonce, balances = account.nonce, account.balances
    if type(nonce) is int and type(balances) is tuple:
        for pair in balances:
            if type(pair) is not tuple or len(pair) != 2:
                break
            if type(pair[0]) is not str or type(pair[1]) is not int:
                break
        else:  # scalars in two levels of tuples: nothing for the codec's tree walk to reject
            return codec.pack_plain((nonce, balances))
    return codec.encode((nonce, tuple(balances)))


def decode_account(data: bytes) -> Account:
    """Decode a stored account. Raises DecodeError, or CodecError for bytes
    that are not canonical. A well-formed account takes a fast path
    (``decode_account_fast``); anything else, and every rejection, goes
    through ``decode_account_strict``."""
    if type(data) is bytes and len(data) <= codec.DEFAULT_MAX_SIZE:
        account = decode_account_fast(data)
        if account is not None:
            return account
    return decode_account_strict(data)


def decode_account_fast(data: bytes) -> Account | None:
    """``decode_account_strict(data)`` for a valid account, or None.

    Accepts only ``[nonce, [[asset, amount], ...]]`` with the nonce in range,
    asset ids valid and strictly increasing, amounts in [1, 2^128-1] and
    ``data`` the canonical packing (scalars in three levels of arrays: the
    codec's tree walk would find nothing). None for anything else: the caller
    then runs the strict path. ``data`` must be bytes within the codec's
    default size limit."""
    value = codec.unpack_unchecked(data)
    if type(value) is not tuple or len(value) != 2:
        return None
    nonce, balances = value
    if type(nonce) is not int or not 0 <= nonce <= MAX_NONCE or type(balances) is not tuple:
        return None
    previous = ""  # every asset id is longer, so greater
    for pair in balances:
        if type(pair) is not tuple or len(pair) != 2:
            return None
        asset, amount = pair
        if type(asset) is not str or not previous < asset or not valid_asset(asset):
            return None
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            return None
        previous = asset
    if not codec.is_canonical(value, data):
        return None
    return Account(nonce, balances)


def decode_account_strict(data: bytes) -> Account:
    """decode_account through the generic strict codec and checks (the
    reference for the fast path; gives every rejection its message)."""
    value = codec.decode(data)
    ensure(isinstance(value, tuple) and len(value) == 2, "account must be [nonce, balances]")
    nonce, balances = value
    ensure(isinstance(balances, tuple), "balances must be an array")
    pairs: list[tuple[str, int]] = []
    for pair in balances:
        ensure(isinstance(pair, tuple) and len(pair) == 2, "balance must be [asset, amount]")
        pairs.append((check_asset(pair[0]), check_amount(pair[1], "balance")))
    ensure(pairs == sorted(pairs) and len({a for a, _ in pairs}) == len(pairs), "unsorted balances")
    ensure(all(amount > 0 for _, amount in pairs), "zero balance stored")
    return Account(check_uint(nonce, "nonce"), tuple(pairs))


_MISSING: Final = object()


class State:
    """A write overlay over committed state, with a journal of nested scopes."""

    def __init__(self, reader: StateReader) -> None:
        self._reader = reader
        self._committed: dict[bytes, Account | None] = {}  # decoded reads of committed accounts
        self._committed_raw: dict[bytes, bytes | None] = {}  # the same reads, as stored
        self._block: dict[bytes, Any] = {}  # this block's writes: Account, bytes, or None
        self._scopes: list[dict[bytes, Any]] = []  # open scopes' writes, innermost last

    # -- journal ---------------------------------------------------------
    def begin(self) -> None:
        """Open a scope inside the current one; its changes stay provisional
        until commit()."""
        self._scopes.append({})

    def commit(self) -> None:
        """Fold the innermost scope into its parent (or the block's changes)."""
        assert self._scopes, "no open scope"
        writes = self._scopes.pop()
        (self._scopes[-1] if self._scopes else self._block).update(writes)

    def revert(self) -> None:
        """Drop every change made since the matching begin()."""
        assert self._scopes, "no open scope"
        self._scopes.pop()

    @property
    def depth(self) -> int:
        """How many scopes are open."""
        return len(self._scopes)

    def _lookup(self, key: bytes) -> Any:
        for scope in reversed(self._scopes):
            if key in scope:
                return scope[key]
        return self._block.get(key, _MISSING)

    def _store(self, key: bytes, value: Any) -> None:
        (self._scopes[-1] if self._scopes else self._block)[key] = value

    # -- generic records ---------------------------------------------------
    def get_raw(self, key: bytes) -> bytes | None:
        """A raw value (for records other modules encode themselves)."""
        assert not key.startswith(ACCOUNT_PREFIX), "accounts go through get_account"
        value = self._lookup(key)
        if value is _MISSING:
            return self._reader.get_state(key)
        assert value is None or isinstance(value, bytes)
        return value

    def get_state(self, key: bytes) -> bytes | None:
        """The current encoded value of any key, accounts included, so that the
        overlay is itself a StateReader (the node's pending state for queries)."""
        if key.startswith(ACCOUNT_PREFIX):
            account = self.get_account(key[len(ACCOUNT_PREFIX) :])
            return None if account.is_empty() else encode_account(account)
        return self.get_raw(key)

    def set_raw(self, key: bytes, value: bytes | None) -> None:
        """Set (or with None, delete) a raw value."""
        assert not key.startswith(ACCOUNT_PREFIX), "accounts go through set_account"
        self._store(key, value)

    # -- accounts ----------------------------------------------------------
    def _committed_account(self, key: bytes) -> Account | None:
        if key in self._committed:
            return self._committed[key]
        raw = self._reader.get_state(key)
        account = decode_account(raw) if raw is not None else None
        self._committed[key] = account
        self._committed_raw[key] = raw
        return account

    def get_account(self, address: bytes) -> Account:
        """The account at ``address`` (an empty account if it does not exist)."""
        key = ACCOUNT_PREFIX + address
        value = self._lookup(key)
        if value is _MISSING:
            value = self._committed_account(key)
        return value if value is not None else Account()

    def set_account(self, address: bytes, account: Account) -> None:
        self._store(ACCOUNT_PREFIX + address, account)

    def add_balance(self, address: bytes, asset: str, amount: int) -> None:
        """Credit ``amount`` (>= 0). Raises BalanceOverflow."""
        assert amount >= 0
        account = self.get_account(address)
        self.set_account(address, account.with_balance(asset, account.balance(asset) + amount))

    def sub_balance(self, address: bytes, asset: str, amount: int) -> None:
        """Debit ``amount`` (>= 0). Raises InsufficientBalance."""
        assert amount >= 0
        account = self.get_account(address)
        self.set_account(address, account.with_balance(asset, account.balance(asset) - amount))

    # -- results -----------------------------------------------------------
    def changes(self) -> dict[bytes, bytes | None]:
        """Every changed key with its new encoded value (None = deleted), sorted by key."""
        assert not self._scopes, "a scope is still open"
        out: dict[bytes, bytes | None] = {}
        for key in sorted(self._block):
            value = self._block[key]
            if isinstance(value, Account):
                committed = self._committed_account(key)
                if value == committed or (value.is_empty() and committed is None):
                    continue
                out[key] = None if value.is_empty() else encode_account(value)
            elif value != self._reader.get_state(key):
                out[key] = value
        return out

    def committed_values(self, keys: Iterable[bytes]) -> dict[bytes, bytes | None]:
        """The committed (stored) value of each of ``keys`` this state has
        read (None for an absent one; keys not read are left out): what the
        changed keys held before this block, which lets the state tree skip
        reading their old leaves."""
        raw = self._committed_raw
        return {key: raw[key] for key in keys if key in raw}


def total_supply(values: Iterable[tuple[bytes, bytes]], asset: str) -> int:
    """Sum of ``asset`` over every account in ``(key, value)`` pairs (for tests and audits)."""
    return sum(
        decode_account(value).balance(asset)
        for key, value in values
        if key.startswith(ACCOUNT_PREFIX)
    )
