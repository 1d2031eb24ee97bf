"""Fast paths against their strict references: same answers, same rejections.

Each fast path (decoding a transfer, the signing digest, encoding a
receipt, decoding and encoding an account, checking a block's signatures
before executing it ...) must accept exactly what the
strict path accepts and return the same value; for anything else it defers
to the strict path, so every rejection keeps its type and message. These
tests feed both random valid encodings, near-miss values (a field of the
wrong type or out of range, floats, maps, booleans for integers) and
randomly mutated or re-encoded bytes, and compare the outcomes.

Over 600 lines for a reason: every fast path is checked against its strict
twin with the same generators of near-miss inputs, kept together.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from dataclasses import replace
from typing import Any

import msgpack
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from ledger import codec, crypto, transition
from ledger.chain import paused_gc
from ledger.features.bank.bodies import Transfer
from ledger.fields import MAX_AMOUNT, MAX_NONCE
from ledger.state import (
    Account,
    BalanceOverflow,
    InsufficientBalance,
    decode_account,
    decode_account_fast,
    decode_account_strict,
    encode_account,
)
from ledger.transition import execute_block
from ledger.types import (
    TX_DOMAIN,
    Block,
    DecodeError,
    Event,
    Receipt,
    Transaction,
    block_txs_root,
    decode_transaction,
    decode_transaction_fast,
    decode_transaction_strict,
)
from tests.ledger.test_codec import _wide_encoding, values
from tests.ledger.test_transition import CHAIN, FEE, MemoryChain, make_genesis, transfer

ASSET = st.from_regex(r"\A[a-z][a-z0-9.\-]{0,31}\Z")
CHAIN_ID = st.from_regex(r"\A[a-z0-9][a-z0-9.\-]{0,63}\Z")


def _edges(maximum: int) -> list[Any]:
    """Integers at and just beyond the edges of [0, maximum], and look-alikes."""
    return [0, maximum, maximum + 1, -1, (1 << 256) - 1, -(1 << 256) + 1, True, False, 1.0]


# Wrong (or edge) values for each field of a transfer: by position, the body's as "body i".
ODD_FIELDS: dict[Any, list[Any]] = {
    0: [0, 2, -1, 1.0, True, "1", None],
    1: ["", "Bad", "chain\n", "a" * 64, "a" * 65, "-a", b"chain", ("chain",), {"a": 1}],
    2: [b"\x02" * 32, b"\x02" * 34, b"", "x" * 33, None],
    3: _edges(MAX_NONCE),
    4: _edges(MAX_AMOUNT),
    5: [(1, "coin", 5), (1, "coin", 5, b"\x01" * 20, 0), (), [1, "coin", 5, b"\x01" * 20], b""],
    6: [b"", b"\x00" * 63, b"\x00" * 66, "x" * 64, None],
    "body 0": [2, 0, 99, 1.0, True, -1],
    "body 1": ["COIN", "coin\n", "", "1coin", b"coin", "c" * 32, "c" * 33, "c-.9"],
    "body 2": _edges(MAX_AMOUNT),
    "body 3": [b"\x01" * 19, b"\x01" * 21, "x" * 20, None],
    "extra": [0, b"", None],
}


def _odd(where: Any) -> st.SearchStrategy[Any]:
    """A wrong value for the field at ``where``: a listed one, a float or any codec value."""
    return st.one_of(st.sampled_from(ODD_FIELDS[where]), st.floats(), values)


valid_transfer_values = st.tuples(
    st.just(1),
    CHAIN_ID,
    st.binary(min_size=33, max_size=33),
    st.integers(0, MAX_NONCE),
    st.integers(0, MAX_AMOUNT),
    st.tuples(st.just(1), ASSET, st.integers(0, MAX_AMOUNT), st.binary(min_size=20, max_size=20)),
    st.binary(min_size=64, max_size=65),
)


def _with_odd(value: tuple[Any, ...], where: Any, odd: Any, extra_in_body: bool) -> Any:
    """``value`` with the field at ``where`` replaced by ``odd`` (or ``odd`` appended)."""
    fields = list(value)
    in_body = isinstance(where, str) and where.startswith("body")
    if not isinstance(fields[5], tuple) or len(fields[5]) != 4:  # no body left to change
        extra_in_body, where = False, ("extra" if in_body else where)
    if where == "extra":
        if extra_in_body:
            fields[5] = (*fields[5], odd)
        else:
            fields.append(odd)
    elif in_body:
        body = list(fields[5])
        body[int(where.split()[1])] = odd
        fields[5] = tuple(body)
    else:
        fields[where] = odd
    return tuple(fields)


@st.composite
def near_transfer_values(draw: st.DrawFn) -> Any:
    """A valid transfer value with zero, one or two fields made wrong (or an extra one)."""
    value = draw(valid_transfer_values)
    for where in draw(st.lists(st.sampled_from(list(ODD_FIELDS)), max_size=2)):
        value = _with_odd(value, where, draw(_odd(where)), draw(st.booleans()))
    return value


def _pack_loosely(value: object) -> bytes:
    """msgpack bytes for any value, floats, maps and lists included (no canonical checks)."""
    packed: bytes = msgpack.packb(value, use_bin_type=True, default=codec._encode_bigint)
    return packed


def _outcome(decode: Any, data: bytes) -> tuple[Any, ...]:
    """What a decoder does with ``data``: the value with its field types, or the error."""
    try:
        tx = decode(data)
    except Exception as exc:  # the type and message must match too
        return ("error", type(exc), str(exc))
    assert isinstance(tx, Transaction)
    fields = (tx.chain_id, tx.sender, tx.nonce, tx.fee, tx.body, tx.signature)
    return ("ok", tx.encode(), tuple(type(f) for f in fields), fields, tx)


def _mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """``data`` with a byte changed, inserted or removed, truncated or extended."""
    if not data:
        return draw(st.binary(max_size=4))
    position = draw(st.integers(0, len(data) - 1))
    how = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "append"]))
    if how == "flip":
        flipped = bytes([data[position] ^ draw(st.integers(1, 255))])
        return data[:position] + flipped + data[position + 1 :]
    if how == "insert":
        return data[:position] + draw(st.binary(min_size=1, max_size=3)) + data[position:]
    if how == "delete":
        return data[:position] + data[position + 1 :]
    if how == "truncate":
        return data[:position]
    return data + draw(st.binary(min_size=1, max_size=3))


@given(valid_transfer_values)
@settings(max_examples=300)
def test_fast_transfer_decode_takes_every_valid_transfer(value: tuple[Any, ...]) -> None:
    data = codec.encode(value)
    fast = decode_transaction_fast(data)
    assert fast is not None
    assert _outcome(decode_transaction_fast, data) == _outcome(decode_transaction_strict, data)


def _some_form_of(raw: bytes, data: st.DataObject) -> tuple[str, bytes]:
    """``raw`` as is, with a byte mutated, or re-encoded with wider (non-canonical)
    headers; and which of the three it is."""
    how = data.draw(st.sampled_from(["as is", "mutated", "wide"]))
    if how == "mutated":
        raw = _mutate(raw, data.draw)
    elif how == "wide":
        with contextlib.suppress(codec.CodecError):  # a value the codec rejects stays as is
            raw = _wide_encoding(codec.decode(raw), data.draw)
    return how, raw


@given(near_transfer_values(), st.data())
@settings(max_examples=1500)
def test_transaction_decode_matches_the_strict_path(
    value: tuple[Any, ...], data: st.DataObject
) -> None:
    how, raw = _some_form_of(_pack_loosely(value), data)
    strict = _outcome(decode_transaction_strict, raw)
    event(f"{how}: {strict[0]}")
    assert _outcome(decode_transaction, raw) == strict
    fast = decode_transaction_fast(raw) if len(raw) <= 64 * 1024 else None
    assert fast is None or (strict[0] == "ok" and _outcome(lambda _: fast, raw) == strict)


@given(st.binary(max_size=200))
@settings(max_examples=1000)
def test_transaction_decode_of_arbitrary_bytes_matches_the_strict_path(data: bytes) -> None:
    assert _outcome(decode_transaction, data) == _outcome(decode_transaction_strict, data)


@pytest.mark.parametrize("where", list(ODD_FIELDS))
@pytest.mark.parametrize("extra_in_body", [False, True])
def test_transaction_decode_of_every_listed_odd_field_matches_the_strict_path(
    where: Any, extra_in_body: bool
) -> None:
    valid = (1, "chain", b"\x02" * 33, 7, 10, (1, "coin", 5, b"\x01" * 20), b"\x00" * 64)
    assert decode_transaction_fast(codec.encode(valid)) is not None
    for odd in ODD_FIELDS[where]:
        raw = _pack_loosely(_with_odd(valid, where, odd, extra_in_body))
        assert _outcome(decode_transaction, raw) == _outcome(decode_transaction_strict, raw)


def test_transaction_decode_rejects_non_bytes_like_the_strict_path() -> None:
    for data in (bytearray(b"\x97"), "x", None, memoryview(b"\x01")):
        assert _outcome(decode_transaction, data) == _outcome(decode_transaction_strict, data)
        assert _outcome(decode_transaction, data)[1] is DecodeError


def _reference_digest(tx: Transaction) -> bytes:
    """The signing digest re-encoded from the fields (the rule as specified)."""
    return crypto.signing_digest(TX_DOMAIN, tx.chain_id, tx.unsigned_fields())


@given(
    st.one_of(CHAIN_ID, values),
    st.one_of(st.binary(min_size=33, max_size=33), values),
    values,
    values,
    st.tuples(values, values, values),
    st.one_of(
        st.binary(min_size=64, max_size=65),
        st.sampled_from([0, 1, 255, 256, 300]).map(bytes),  # bin8 ends at 255 bytes
        values,
    ),
)
@settings(max_examples=500)
def test_signing_digest_from_the_bytes_is_the_specified_digest(
    chain_id: Any, sender: Any, nonce: Any, fee: Any, body: tuple[Any, ...], signature: Any
) -> None:
    tx = Transaction(chain_id, sender, nonce, fee, Transfer(*body), signature)
    try:
        tx.encode()  # caches the bytes the digest is cut from
    except codec.CodecError:
        return
    assert tx.signing_digest() == _reference_digest(tx)


@given(valid_transfer_values)
@settings(max_examples=200)
def test_signing_digest_of_a_decoded_transfer_is_the_specified_digest(
    value: tuple[Any, ...],
) -> None:
    tx = decode_transaction(codec.encode(value))
    assert tx.signing_digest() == _reference_digest(tx)
    assert tx.signing_digest() == _reference_digest(tx)  # cached: the same


def _encoded(encode: Any) -> tuple[Any, ...]:
    """What an encoder does: its bytes, or the error's type and message."""
    try:
        return ("ok", encode())
    except Exception as exc:
        return ("error", type(exc), str(exc))


plain_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(1 << 256) + 1, (1 << 256) - 1),
    st.binary(max_size=24),
    st.text(max_size=8),
)
odd_values = st.one_of(
    st.floats(),
    st.dictionaries(st.text(max_size=4), plain_scalars, min_size=1, max_size=2),
    st.lists(plain_scalars, max_size=3),
    st.lists(plain_scalars, max_size=3).map(tuple),
    st.tuples(st.floats()),
    st.just(1 << 256),
    values,
)
RECEIPT_PARTS = ("status", "fee", "gas", "error", "events", "event", "kind", "attributes")
PAIR_PARTS = ("pair", "name", "value")


@st.composite
def receipts(draw: st.DrawFn) -> tuple[Receipt, str]:
    """A receipt of plain values, with nothing or one part of it made odd
    (a float, a map, a list, a tuple, a 3-tuple for a pair ...), and which part."""
    fields: dict[str, Any] = {
        "status": draw(st.integers(0, 9)),
        "fee": draw(st.integers(0, MAX_AMOUNT)),
        "gas": draw(st.integers(0, 10**6)),
        "error": draw(st.text(max_size=20)),
    }
    event_list: list[Any] = [
        [kind, draw(st.lists(st.tuples(st.text(max_size=8), plain_scalars), max_size=4))]
        for kind in draw(st.lists(st.text(max_size=8), max_size=3))
    ]
    where = draw(st.sampled_from(("nothing", *RECEIPT_PARTS, *PAIR_PARTS)))
    odd = draw(odd_values)
    if where in fields:
        fields[where] = odd
    elif where in ("event", "kind", "attributes", *PAIR_PARTS):
        event_list = event_list or [["transfer", []]]
        index = draw(st.integers(0, len(event_list) - 1))
        if where == "kind":
            event_list[index][0] = odd
        elif where == "attributes":
            event_list[index][1] = odd
        elif where in PAIR_PARTS:
            pairs = event_list[index][1] = event_list[index][1] or [("amount", 1)]
            at = draw(st.integers(0, len(pairs) - 1))
            name, value = pairs[at]
            pairs[at] = {"pair": odd, "name": (odd, value), "value": (name, odd)}[where]
    built: list[Any] = [
        Event(kind, tuple(attrs) if isinstance(attrs, list) else attrs)
        for kind, attrs in event_list
    ]
    if where == "event":
        built[draw(st.integers(0, len(built) - 1))] = odd
    events: Any = odd if where == "events" else tuple(built)
    return Receipt(fields["status"], fields["fee"], fields["gas"], events, fields["error"]), where


@given(receipts())
@settings(max_examples=3000)
def test_receipt_encoding_is_the_codec_encoding_of_its_value(case: tuple[Receipt, str]) -> None:
    receipt, where = case

    def fresh() -> Receipt:  # encode() caches: every encoding starts from a copy
        return Receipt(
            receipt.status, receipt.fee_charged, receipt.gas_used, receipt.events, receipt.error
        )

    expected = _encoded(lambda: codec.encode(fresh().to_value()))
    event(f"{where}: {expected[0]}, {'plain' if fresh()._plain_value() else 'walked'}")
    assert _encoded(fresh().encode) == expected


def test_a_transfer_receipt_takes_the_plain_path() -> None:
    event = Event("transfer", (("amount", 5), ("asset", "coin"), ("to", b"\x01" * 20)))
    receipt = Receipt(0, 1, 0, (event,))
    assert receipt._plain_value() == receipt.to_value()
    assert receipt.encode() == codec.encode(receipt.to_value())


def test_packing_from_several_threads_gives_each_thread_its_own_bytes() -> None:
    """codec keeps one Packer per thread: threads switching in the middle of a
    pack (big integers call back into Python) must not mix their buffers."""
    work = [(i, "x" * i, (1 << 200) + i, (b"y" * i, -(1 << 100) - i)) for i in range(4)]
    expected = [_pack_loosely(value) for value in work]
    wrong: list[object] = []

    def encode_many(value: object, encoded: bytes) -> None:
        for _ in range(3000):
            if codec.encode(value) != encoded or codec.decode(encoded) != value:
                wrong.append(value)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [
            threading.Thread(target=encode_many, args=pair)
            for pair in zip(work, expected, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not wrong


# -- accounts ---------------------------------------------------------------------

valid_accounts = st.tuples(
    st.integers(0, MAX_NONCE),
    st.dictionaries(ASSET, st.integers(1, MAX_AMOUNT), max_size=4).map(
        lambda balances: tuple(sorted(balances.items()))
    ),
)
ODD_ACCOUNT_PARTS: dict[str, list[Any]] = {
    "nonce": _edges(MAX_NONCE),
    "balances": [[], (("coin", 1),), None, b"", "coin"],
    "pair": [("coin",), ("coin", 1, 2), ["coin", 1], None, 5],
    "asset": ["COIN", "coin\n", "", "1x", b"coin", "c" * 33, "zzz", "a", None],
    "amount": [*_edges(MAX_AMOUNT), 0],
    "duplicate": [None],
    "extra": [0, None, ()],
}


def _account_with_odd(value: tuple[Any, ...], where: str, odd: Any) -> Any:
    """An account value with one part made odd (or its first pair repeated)."""
    nonce, balances = value
    pairs = list(balances) or [("coin", 1)]
    if where == "nonce":
        return (odd, balances)
    if where == "balances":
        return (nonce, odd)
    if where == "extra":
        return (nonce, balances, odd)
    if where == "duplicate":
        return (nonce, (pairs[0], *pairs))
    at = len(pairs) - 1
    if where == "pair":
        pairs[at] = odd
    else:
        asset, amount = pairs[at]
        pairs[at] = (odd, amount) if where == "asset" else (asset, odd)
    return (nonce, tuple(pairs))


def _account_outcome(decode: Any, data: Any) -> tuple[Any, ...]:
    """What an account decoder does with ``data``: the account with its types, or the error."""
    try:
        account = decode(data)
    except Exception as exc:
        return ("error", type(exc), str(exc))
    types = (type(account.nonce), tuple(tuple(map(type, p)) for p in account.balances))
    return ("ok", account, types, type(account.balances))


@given(valid_accounts)
@settings(max_examples=300)
def test_fast_account_decode_takes_every_valid_account(value: tuple[Any, ...]) -> None:
    data = codec.encode(value)
    assert decode_account_fast(data) is not None
    assert _account_outcome(decode_account_fast, data) == _account_outcome(
        decode_account_strict, data
    )


@given(valid_accounts, st.sampled_from(["nothing", *ODD_ACCOUNT_PARTS]), st.data())
@settings(max_examples=1500)
def test_account_decode_matches_the_strict_path(
    value: tuple[Any, ...], where: str, data: st.DataObject
) -> None:
    if where != "nothing":
        odd = data.draw(st.one_of(st.sampled_from(ODD_ACCOUNT_PARTS[where]), odd_values))
        value = _account_with_odd(value, where, odd)
    try:
        raw = _pack_loosely(value)
    except codec.CodecError:  # an integer beyond 256 bits has no encoding at all
        assume(False)
    how, raw = _some_form_of(raw, data)
    strict = _account_outcome(decode_account_strict, raw)
    event(f"{how}, {where}: {strict[0]}")
    assert _account_outcome(decode_account, raw) == strict


@pytest.mark.parametrize("where", list(ODD_ACCOUNT_PARTS))
def test_account_decode_of_every_listed_odd_part_matches_the_strict_path(where: str) -> None:
    valid = (3, (("cpu", 7), ("disk", 1), ("net", MAX_AMOUNT)))
    for odd in ODD_ACCOUNT_PARTS[where]:
        raw = _pack_loosely(_account_with_odd(valid, where, odd))
        assert _account_outcome(decode_account, raw) == _account_outcome(decode_account_strict, raw)


@given(st.binary(max_size=100))
@settings(max_examples=1000)
def test_account_decode_of_arbitrary_bytes_matches_the_strict_path(data: bytes) -> None:
    assert _account_outcome(decode_account, data) == _account_outcome(decode_account_strict, data)


def test_account_decode_of_non_bytes_and_oversized_input_matches_the_strict_path() -> None:
    big = codec.encode((1, tuple((f"a{i:07d}", 1) for i in range(400_000))))
    assert len(big) > codec.DEFAULT_MAX_SIZE
    for data in (bytearray(codec.encode((1, ()))), memoryview(b"\x92\x01\x90"), big):
        assert _account_outcome(decode_account, data) == _account_outcome(
            decode_account_strict, data
        )


@given(
    valid_accounts,
    st.sampled_from(["nothing", "nonce", "balances", "pair", "asset", "amount", "extra"]),
    st.one_of(plain_scalars, odd_values),
)
@settings(max_examples=1000)
def test_account_encoding_is_the_codec_encoding(
    value: tuple[Any, ...], where: str, odd: Any
) -> None:
    if where != "nothing":
        value = _account_with_odd(value, where, odd)
    account = Account(*value[:2])
    expected = _encoded(lambda: codec.encode((account.nonce, tuple(account.balances))))
    event(f"{where}: {expected[0]}")
    assert _encoded(lambda: encode_account(account)) == expected


def _reference_with_balance(account: Account, asset: str, amount: int) -> Account:
    """Account.with_balance as first written: filter, append, sort."""
    if amount < 0:
        raise InsufficientBalance(f"balance of {asset} would be negative")
    if amount > MAX_AMOUNT:
        raise BalanceOverflow(f"balance of {asset} would exceed 2^128-1")
    others = [(name, value) for name, value in account.balances if name != asset]
    if amount:
        others.append((asset, amount))
    others.sort()
    return Account(account.nonce, tuple(others))


@given(
    st.integers(0, MAX_NONCE),
    st.lists(st.tuples(st.sampled_from(["coin", "cpu", "net", "x"]), st.integers(0, 9))).map(tuple),
    st.sampled_from(["coin", "cpu", "net", "x"]),
    st.sampled_from([-1, 0, 1, 5, MAX_AMOUNT, MAX_AMOUNT + 1]),
)
def test_with_balance_matches_the_reference(
    nonce: int, balances: tuple[tuple[str, int], ...], asset: str, amount: int
) -> None:
    account = Account(nonce, balances)
    expected = _encoded(lambda: _reference_with_balance(account, asset, amount))
    assert _encoded(lambda: account.with_balance(asset, amount)) == expected


# -- signatures checked before execution --------------------------------------------


def _execute(block: Block, chain: MemoryChain, verified: frozenset[bytes]) -> tuple[Any, ...]:
    """What execute_block makes of ``block``: its roots and changes, or the error."""
    try:
        result = execute_block(chain.state(), chain.tree(), block, chain.tip, CHAIN, verified)
    except Exception as exc:
        return ("error", type(exc), str(exc))
    return ("ok", result.state_root, result.receipts_root, result.changes, result.receipts)


BREAKS = ("signature", "signature length", "chain id", "nonce", "fee", "amount", "none")


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from(BREAKS)),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
@settings(max_examples=300, deadline=None)
def test_signatures_checked_first_reject_or_accept_exactly_as_in_order(
    plan: list[tuple[int, int, str]], data: st.DataObject
) -> None:
    """execute_block with its up-front signature loop against execute_block
    with that loop turned off: same result, or the same error for the same
    transaction, whatever is broken where (and whatever ``verified`` holds)."""
    chain = MemoryChain(make_genesis())
    nonces = [0] * 4
    txs = []
    for sender, recipient, broken in plan:
        nonce = nonces[sender] + (1 if broken == "nonce" else 0)
        tx = transfer(
            sender,
            recipient,
            1_000_000_000 if broken == "amount" else 5,  # body fails: a failure receipt
            nonce,
            fee=1 if broken == "fee" else FEE,
            chain="other-chain" if broken == "chain id" else CHAIN,
        )
        if broken == "signature":
            tx = replace(tx, signature=bytes([tx.signature[0] ^ 1]) + tx.signature[1:], _cache={})
        elif broken == "signature length":
            tx = replace(tx, signature=tx.signature + b"\x00", _cache={})  # a FROST size
        nonces[sender] = nonce + 1 if broken not in ("nonce",) else nonces[sender]
        txs.append(tx)
    good = chain.build([])
    header = replace(good.header, txs_root=block_txs_root(txs))
    block = Block(header, tuple(txs))
    verified = frozenset(data.draw(st.lists(st.sampled_from([tx.hash for tx in txs]), max_size=3)))
    expected = _without_the_signature_loop(block, chain, verified)
    outcome = _execute(block, chain, verified)
    event(outcome[2].split(": ")[-1][:40] if outcome[0] == "error" else "ok")
    assert outcome == expected


def _without_the_signature_loop(
    block: Block, chain: MemoryChain, verified: frozenset[bytes]
) -> tuple[Any, ...]:
    """_execute with verify_signatures passing ``verified`` through unchanged."""
    original = transition.verify_signatures
    transition.verify_signatures = lambda _txs, given: frozenset(given)
    try:
        return _execute(block, chain, verified)
    finally:
        transition.verify_signatures = original


# -- the garbage collector during a block ----------------------------------------------


def test_paused_gc_pauses_and_restores_the_collector() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with contextlib.suppress(RuntimeError), paused_gc():
        raise RuntimeError("a failing block")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # was off: stays off
    finally:
        gc.enable()
