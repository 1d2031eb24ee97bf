"""The mint on chain, pre / operation / post: keysets made by the
validators' DKG, deposits signed in two rounds, notes that verify as Cashu
notes, redemption by commit and reveal, swaps, double spends, front-running,
bad shares recorded, silent holders, refunds, resharing and rotation."""

from __future__ import annotations

from ledger.address import address_of
from ledger.exceptions import AlreadyExists, InvalidOperation, NotAuthorized
from ledger.features.mint.bdhke import secret_point
from ledger.features.mint.dleq import verify_note_proof
from ledger.features.mint.queries import (
    NOTE_PENDING,
    NOTE_SPENT,
    NOTE_UNSPENT,
    mint_books,
    mint_keysets,
    note_state,
    validator_faults,
)
from ledger.features.mint.records import (
    ISSUED,
    REFUNDED,
    RESERVE_ADDRESS,
    get_request,
)
from ledger.state import State
from ledger.threshold.group import decode_element
from tests.ledger.features.mint.mint_chain import MintNet, commitment_id_of


def victim_id(net: MintNet, key: bytes) -> int:
    from ledger.features.threshold.ceremonies import key_set_holders

    holders = key_set_holders(net.chain.reader, "mint/1")
    assert holders is not None
    identifier = holders.identifier_of(key)
    assert identifier is not None
    return identifier


def started(**mint: object) -> MintNet:
    net = MintNet(**mint)  # type: ignore[arg-type]
    net.start()
    return net


def test_the_first_keyset_is_made_by_the_validators_dkg_with_a_nut02_id() -> None:
    net = started()
    active, keysets = mint_keysets(net.chain.reader)
    (keyset,) = keysets
    assert active == 1 and keyset.keyset_id.startswith("01") and len(keyset.keyset_id) == 66
    assert len(keyset.public_keys) == 5  # 2^0 .. 2^4


def test_a_deposit_is_issued_in_two_rounds_and_every_note_verifies() -> None:
    net = started()
    alice = net.wallet("alice")
    before = net.chain.balance(alice.address)
    request_id = net.issue(alice, 13)
    assert alice.balance == 13 and [n.amount for n in alice.notes] == [1, 4, 8]
    assert net.chain.balance(alice.address) == before - 13 - 1000  # value + one fee
    keyset = mint_keysets(net.chain.reader)[1][0]
    for note in alice.notes:
        key = decode_element(keyset.public_keys[note.amount.bit_length() - 1])
        assert note.dleq is not None
        assert verify_note_proof(
            key, note.secret.encode(), note.signature, note.dleq.proof, note.dleq.blinding_factor
        )
    request = get_request(State(net.chain.reader), request_id)
    assert request is not None and request.status == ISSUED
    assert net.reserve_balanced()
    assert net.chain.balance(RESERVE_ADDRESS) == 13


def test_a_redemption_pays_the_target_after_commit_and_reveal() -> None:
    net = started()
    alice, bob = net.wallet("alice"), net.wallet("bob")
    net.issue(alice, 6)
    bob_before = net.chain.balance(bob.address)
    receipt, redemption, _ = net.commit(alice, alice.notes, to=bob.address)
    cid = commitment_id_of(receipt)
    y = secret_point(alice.notes[0].secret).sec
    assert note_state(net.chain.reader, y) == NOTE_PENDING
    assert net.reveal(alice, redemption, cid).status == 0
    net.blocks(2)
    assert net.chain.balance(bob.address) == bob_before + 6
    assert note_state(net.chain.reader, y) == NOTE_SPENT
    assert net.reserve_balanced() and net.chain.balance(RESERVE_ADDRESS) == 0


def test_a_spent_note_is_refused_and_a_locked_one_too() -> None:
    net = started()
    alice = net.wallet("alice")
    net.issue(alice, 2)
    receipt, redemption, _ = net.commit(alice, alice.notes)
    cid = commitment_id_of(receipt)
    again, _, _ = net.commit(alice, alice.notes)  # the window has closed: locked
    assert again.status == AlreadyExists.status and "locked" in again.error
    net.reveal(alice, redemption, cid)
    net.blocks(2)
    spent, _, _ = net.commit(alice, alice.notes)
    assert spent.status == AlreadyExists.status and "spent" in spent.error


def test_two_redemptions_of_one_note_in_one_block_pay_only_the_earlier() -> None:
    net = started()
    alice, bob, carol = net.wallet("alice"), net.wallet("bob"), net.wallet("carol")
    net.issue(alice, 4)
    bob.notes = list(alice.notes)  # alice gave bob the token, and spends it herself too
    from ledger.client.mint_wallet import address_target, prepare_redemption

    chain_id = net.chain.genesis.chain_id
    first = prepare_redemption(
        chain_id, alice.address, alice.notes, net.epochs(), address_target(alice.address), net.rng
    )
    second = prepare_redemption(
        chain_id, bob.address, bob.notes, net.epochs(), address_target(carol.address), net.rng
    )
    r1, r2 = net.block(
        net.chain.sign(alice.key, first.commit), net.chain.sign(bob.key, second.commit)
    )
    c1, c2 = commitment_id_of(r1), commitment_id_of(r2)
    alice_before, carol_before = net.chain.balance(alice.address), net.chain.balance(carol.address)
    net.block(
        net.chain.sign(bob.key, second.reveal(c2)), net.chain.sign(alice.key, first.reveal(c1))
    )
    net.blocks(2)
    assert net.chain.balance(alice.address) == alice_before - 1000 + 4
    assert net.chain.balance(carol.address) == carol_before
    assert net.reserve_balanced()


def test_a_copied_commitment_cannot_take_the_note() -> None:
    """A front-runner copies (Y, C) from the mempool into its own commitment,
    placed first in the block; without the secret it cannot reveal, and the
    owner's later commitment is paid once the copy expires."""
    net = started()
    alice, mallory = net.wallet("alice"), net.wallet("dave")
    net.issue(alice, 8)
    from ledger.client.mint_wallet import address_target, prepare_redemption
    from ledger.features.mint.bodies import MintRedeemCommit

    honest = prepare_redemption(
        net.chain.genesis.chain_id,
        alice.address,
        alice.notes,
        net.epochs(),
        address_target(alice.address),
        net.rng,
    )
    copy = MintRedeemCommit(honest.commit.inputs, bytes(32))
    mallory_before = net.chain.balance(mallory.address)
    r_copy, r_honest = net.block(
        net.chain.sign(mallory.key, copy), net.chain.sign(alice.key, honest.commit)
    )
    assert r_copy.status == 0 and r_honest.status == 0
    c_honest = commitment_id_of(r_honest)
    before = net.chain.balance(alice.address)
    assert net.reveal(alice, honest, c_honest).status == 0
    net.block()
    assert net.chain.balance(alice.address) == before - 1000  # waits for the copy to expire
    net.blocks(net.config.reveal_blocks + 2)
    assert net.chain.balance(alice.address) == before - 1000 + 8
    assert net.chain.balance(mallory.address) == mallory_before - 1000


def test_a_reveal_is_refused_from_another_sender_in_the_same_block_or_with_a_wrong_secret() -> None:
    net = started()
    alice, bob = net.wallet("alice"), net.wallet("bob")
    net.issue(alice, 1)
    receipt, redemption, _ = net.commit(alice, alice.notes)
    cid = commitment_id_of(receipt)
    assert net.reveal(bob, redemption, cid).status == NotAuthorized.status
    from dataclasses import replace

    wrong = replace(redemption, secrets=("not the secret",))
    assert net.reveal(alice, wrong, cid).status == InvalidOperation.status
    assert net.reveal(alice, redemption, cid).status == 0


def test_a_swap_gives_fresh_notes_of_the_same_value_and_the_old_ones_are_spent() -> None:
    net = started()
    alice, bob = net.wallet("alice"), net.wallet("bob")
    net.issue(alice, 7)
    receipt, redemption, pending = net.commit(bob, alice.notes, swap=True)
    cid = commitment_id_of(receipt)
    assert net.reveal(bob, redemption, cid).status == 0
    net.blocks(2)
    opened = [e for e in net.chain.block_events if e.kind == "mint_swap_opened"]
    request_id = None
    for _ in range(6):
        state = State(net.chain.reader)
        requests = [get_request(state, i) for i in range(1, 10)]
        swaps = [r for r in requests if r is not None and r.origin == 1]
        if swaps and swaps[0].status == ISSUED:
            request_id = swaps[0].request_id
            break
        net.block()
    assert request_id is not None, opened
    net.collect(bob, request_id, pending)
    assert bob.balance == 7
    for note in alice.notes:
        assert note_state(net.chain.reader, secret_point(note.secret).sec) == NOTE_SPENT
    for note in bob.notes:
        assert note_state(net.chain.reader, secret_point(note.secret).sec) == NOTE_UNSPENT
    assert net.reserve_balanced() and net.chain.balance(RESERVE_ADDRESS) == 7


def test_a_bad_response_is_recorded_and_the_next_round_goes_on_without_its_sender() -> None:
    net = started()
    alice = net.wallet("alice")
    victim = next(iter(net.duties))  # its commitments are included first: always chosen
    from dataclasses import replace

    from ledger.features.mint.bodies import MintRespond

    def corrupt(me: bytes, body):  # type: ignore[no-untyped-def]
        if me == victim and isinstance(body, MintRespond):
            entries = tuple((r, n, d[:-1] + bytes([d[-1] ^ 1])) for r, n, d in body.entries)
            return replace(body, entries=entries)
        return body

    net.tamper = corrupt
    request_id = net.issue(alice, 3, blocks=12)
    request = get_request(State(net.chain.reader), request_id)
    assert request is not None and request.status == ISSUED
    assert alice.balance == 3
    assert validator_faults(net.chain.reader, address_of(victim)) == (1, 0)
    assert request.round == 1 and request.excluded == (victim_id(net, victim),)
    assert net.reserve_balanced()


def test_a_holder_that_commits_but_never_answers_is_recorded_as_silent() -> None:
    net = started()
    alice = net.wallet("alice")
    victim = next(iter(net.duties))
    from ledger.features.mint.bodies import MintRespond

    def drop(me: bytes, body):  # type: ignore[no-untyped-def]
        if me == victim and isinstance(body, MintRespond):
            from ledger.features.mint.bodies import MintEvaluate

            return MintEvaluate(((bytes(33), bytes(129)),))  # something harmless instead
        return body

    net.tamper = drop
    request_id = net.issue(alice, 3, blocks=12)
    request = get_request(State(net.chain.reader), request_id)
    assert request is not None and request.status == ISSUED and request.round == 1
    assert validator_faults(net.chain.reader, address_of(victim)) == (0, 1)


def test_a_bad_evaluation_share_is_rejected_and_recorded() -> None:
    net = started()
    alice = net.wallet("alice")
    net.issue(alice, 2)
    victim = sorted(net.validators)[1]
    from dataclasses import replace

    from ledger.features.mint.bodies import MintEvaluate

    def corrupt(me: bytes, body):  # type: ignore[no-untyped-def]
        if me == victim and isinstance(body, MintEvaluate):
            entries = tuple((y, s[:-1] + bytes([s[-1] ^ 1])) for y, s in body.entries)
            return replace(body, entries=entries)
        return body

    net.tamper = corrupt
    receipt, redemption, _ = net.commit(alice, alice.notes)
    net.reveal(alice, redemption, commitment_id_of(receipt))
    net.blocks(2)
    assert validator_faults(net.chain.reader, address_of(victim))[0] == 1
    assert note_state(net.chain.reader, secret_point(alice.notes[0].secret).sec) == NOTE_SPENT


def test_a_deposit_whose_ceremony_does_not_finish_is_refunded() -> None:
    net = started()
    alice = net.wallet("alice")
    net.silent = set(sorted(net.validators)[:2])  # two of four: below the threshold of 3
    before = net.chain.balance(alice.address)
    request_id, _ = net.deposit(alice, 5)
    net.blocks(net.config.issue_timeout_blocks + 1)
    request = get_request(State(net.chain.reader), request_id)
    assert request is not None and request.status == REFUNDED
    assert net.chain.balance(alice.address) == before - 1000
    books = mint_books(net.chain.reader)
    assert books is not None and books.reserve == 0 and net.reserve_balanced()


def test_a_request_too_close_to_its_refund_gets_no_commitment() -> None:
    """When deposits come faster than the validators sign, a request that
    can no longer finish is left to its refund: no holder commits to it."""
    from consensus.node.mint.duties import MIN_BLOCKS_LEFT
    from ledger.features.mint.bodies import MintCommit

    net = started()
    alice = net.wallet("alice")
    net.silent = set(net.validators)  # the holders are busy elsewhere
    request_id, _ = net.deposit(alice, 5)
    request = get_request(State(net.chain.reader), request_id)
    assert request is not None
    assert MIN_BLOCKS_LEFT > 3  # the rule under test
    while request.expires_at - net.chain.height > 3:  # enough for two rounds, not for safety
        net.block()
    net.silent = set()
    first_late_block = len(net.history)
    net.blocks(MIN_BLOCKS_LEFT + 1)
    late = [tx for _, txs, _ in net.history[first_late_block:] for tx in txs]
    assert not any(isinstance(tx.body, MintCommit) for tx in late)
    request = get_request(State(net.chain.reader), request_id)
    assert request is not None and request.status == REFUNDED and net.reserve_balanced()


def test_a_fresh_secret_with_a_garbage_c_burns_the_note_it_named() -> None:
    """Evaluating k*Y makes a note for whoever knows the secret: a request
    with a wrong C gets k*Y published, and the note dies with it."""
    net = started()
    mallory = net.wallet("dave")
    from ledger.client.mint_wallet import address_target
    from ledger.features.mint.bodies import MintRedeemCommit, MintRedeemReveal, NoteInput
    from ledger.features.mint.redeem import redemption_digest

    secret = "a secret nobody deposited for"
    y = secret_point(secret).sec
    garbage = secret_point("anything").sec
    target = address_target(mallory.address)
    digest = redemption_digest(
        net.chain.genesis.chain_id, mallory.address, (secret,), target, bytes(32)
    )
    commit = MintRedeemCommit((NoteInput(1, 1, y, garbage),), digest)
    (receipt,) = net.block(net.chain.sign(mallory.key, commit))
    assert receipt.status == 0
    net.blocks(2)
    assert note_state(net.chain.reader, y) == NOTE_PENDING  # not evaluated: nobody revealed
    reveal = MintRedeemReveal(commitment_id_of(receipt), (secret,), target, bytes(32))
    assert net.block(net.chain.sign(mallory.key, reveal))[0].status == 0
    net.blocks(2)
    assert note_state(net.chain.reader, y) == NOTE_SPENT  # evaluated, and burned
    again = MintRedeemCommit((NoteInput(1, 1, y, garbage),), digest)
    (refused,) = net.block(net.chain.sign(mallory.key, again))
    assert refused.status == AlreadyExists.status


def test_a_copy_with_a_wrong_c_that_locks_the_note_first_cannot_get_it_burned() -> None:
    """A griefer copies a pending commitment's Y with a wrong C and gets it in
    a block before the owner's (the owner's then arrives after the lock
    window and is refused). Nobody can reveal the copy, so the note is never
    evaluated: it is released when the copy expires, and the owner redeems it."""
    net = started()
    alice, mallory = net.wallet("alice"), net.wallet("dave")
    net.issue(alice, 4)
    from ledger.features.mint.bodies import MintRedeemCommit, NoteInput

    note = alice.notes[0]
    y = secret_point(note.secret).sec
    wrong = secret_point("not the signature").sec
    copy = MintRedeemCommit((NoteInput(1, note.amount, y, wrong),), bytes(32))
    assert net.block(net.chain.sign(mallory.key, copy))[0].status == 0
    late, _, _ = net.commit(alice, [note])  # the window (1 block) has closed
    assert late.status == AlreadyExists.status
    net.blocks(net.config.lock_window_blocks + net.config.reveal_blocks + 1)
    assert note_state(net.chain.reader, y) == NOTE_UNSPENT
    before = net.chain.balance(alice.address)
    receipt, redemption, _ = net.commit(alice, [note])
    assert net.reveal(alice, redemption, commitment_id_of(receipt)).status == 0
    net.blocks(2)
    assert note_state(net.chain.reader, y) == NOTE_SPENT
    assert net.chain.balance(alice.address) == before - 2000 + note.amount
    assert net.reserve_balanced()
