"""The mint's invariants, property-tested over random runs of deposits,
redemptions, swaps, double spends and ceremonies that fail (holders
silenced until the deposit is refunded):

- the reserve equals the books (issued - redeemed + in flight), and the
  value of the notes the wallets hold unspent plus the requests in flight;
- a note is paid out at most once;
- nothing in an issuance's chain data appears in its redemption's.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.features.mint.bdhke import secret_point
from ledger.features.mint.queries import NOTE_SPENT, mint_books, note_state
from ledger.features.mint.records import RESERVE_ADDRESS
from tests.ledger.features.mint.mint_chain import MintNet, Wallet, commitment_id_of

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.integers(1, 40)),
        st.tuples(st.just("redeem"), st.integers(0, 3)),
        st.tuples(st.just("swap"), st.integers(0, 3)),
        st.tuples(st.just("double"), st.integers(0, 3)),
        st.tuples(st.just("fail"), st.integers(1, 9)),
    ),
    min_size=3,
    max_size=7,
)


def _in_flight_and_notes(net: MintNet, wallets: list[Wallet]) -> int:
    unspent = 0
    for wallet in wallets:
        for note in wallet.notes:
            if note_state(net.chain.reader, secret_point(note.secret).sec) != NOTE_SPENT:
                unspent += note.amount
    books = mint_books(net.chain.reader)
    assert books is not None
    return unspent + books.books.in_flight


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(OPERATIONS, st.integers(0, 1000))
def test_the_reserve_always_equals_the_notes_outstanding_plus_deposits_in_flight(
    operations: list[tuple[str, int]], seed: int
) -> None:
    net = MintNet(seed=seed)
    net.start()
    alice, bob = net.wallet("alice"), net.wallet("bob")
    wallets = [alice, bob]
    spent_given: list = []  # type: ignore[type-arg]
    for operation, argument in operations:
        if operation == "deposit":
            net.issue(alice, argument, blocks=6)
        elif operation == "fail":
            net.silent = set(sorted(net.validators)[:2])
            net.deposit(alice, argument)
            net.blocks(net.config.issue_timeout_blocks + 1)
            net.silent = set()
        elif operation in ("redeem", "swap") and alice.notes:
            notes = alice.notes[: argument + 1]
            receipt, redemption, pending = net.commit(alice, notes, swap=operation == "swap")
            assert net.reveal(alice, redemption, commitment_id_of(receipt)).status == 0
            net.blocks(2)
            alice.notes = [n for n in alice.notes if n not in notes]
            spent_given += notes
            if operation == "swap":
                net.blocks(4)
                from ledger.features.mint.records import ISSUED, get_request
                from ledger.state import State

                state = State(net.chain.reader)
                newest = max(
                    (r for r in (get_request(state, i) for i in range(1, 200)) if r),
                    key=lambda r: r.request_id,
                )
                if newest.status == ISSUED and newest.origin == 1:
                    net.collect(alice, newest.request_id, pending)
        elif operation == "double" and spent_given:
            note = spent_given[argument % len(spent_given)]
            receipt, _, _ = net.commit(bob, [note])
            assert receipt.status != 0  # spent: refused
        books = mint_books(net.chain.reader)
        assert books is not None
        assert net.reserve_balanced()
        assert books.reserve == net.chain.balance(RESERVE_ADDRESS)
        assert books.reserve == _in_flight_and_notes(net, wallets)


def _random_looking(window: bytes) -> bool:
    """Hashes, points and scalars; not the zero-padded identifiers of the wire format."""
    return window.count(0) < 4


def _values(data: object) -> set[bytes]:
    """Every 16-byte window of every byte string inside a decoded value that
    looks random (points, hashes, scalars, secrets): a value shared by two
    transactions shows up as a shared window."""
    found: set[bytes] = set()
    if isinstance(data, bytes):
        windows = (data[i : i + 16] for i in range(0, len(data) - 15))
        found.update(w for w in windows if _random_looking(w))
    elif isinstance(data, tuple | list):
        for item in data:
            found |= _values(item)
    elif isinstance(data, str) and len(data) >= 16:
        found.add(data.encode())
    return found


def test_nothing_in_an_issuance_appears_in_its_redemption() -> None:
    net = MintNet(seed=3)
    net.start()
    alice, bob = net.wallet("alice"), net.wallet("bob")
    start = net.chain.height
    net.issue(alice, 5)
    issued_at = net.chain.height
    receipt, redemption, _ = net.commit(bob, alice.notes)
    net.reveal(bob, redemption, commitment_id_of(receipt))
    net.blocks(2)
    issue_data: set[bytes] = set()
    redeem_data: set[bytes] = set()
    for height, data in net.chain_bodies():
        if start < height <= issued_at:
            issue_data |= _values(data)
        elif height > issued_at:
            redeem_data |= _values(data)
    keyset_keys = {k[i : i + 16] for k in net.keyset_public_keys() for i in range(18)}
    shared = (issue_data & redeem_data) - keyset_keys - net.validator_data()
    assert issue_data and redeem_data
    assert not shared, [s.hex() for s in shared]
