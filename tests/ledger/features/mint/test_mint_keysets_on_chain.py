"""The mint's keysets on chain, pre / operation / post: rotation by a
governance action (a new keyset from a new DKG, the old one redeemed until
its grace period ends, then expired and its key set retired), a redemption
left in flight when its keyset expires, and notes issued before a
validator-set change redeemed after it (the key set reshared, its public
keys and NUT-02 id kept)."""

from __future__ import annotations

from ledger.address import address_of
from ledger.client.devnet import insecure_key
from ledger.exceptions import InvalidOperation
from ledger.features.bank.bodies import Transfer
from ledger.features.mint.bdhke import secret_point
from ledger.features.mint.bodies import MintDeposit, MintRotateKeyset
from ledger.features.mint.queries import NOTE_SPENT, NOTE_UNSPENT, mint_keysets, note_state
from ledger.features.mint.records import (
    KEYSET_ACTIVE,
    KEYSET_EXPIRED,
    KEYSET_RETIRING,
    RESERVE_ADDRESS,
)
from ledger.features.threshold.ceremonies import key_set_holders
from ledger.features.validators.bodies import UpdateValidator
from tests.ledger.features.mint.mint_chain import MintNet, commitment_id_of

GRACE = 8


def started(**mint: object) -> MintNet:
    net = MintNet(**mint)  # type: ignore[arg-type]
    net.start()
    return net


def rotate(net: MintNet) -> None:
    """Governance asks for a new keyset; the validators make it; it activates."""
    executed = net.govern(MintRotateKeyset())
    kinds = [e.kind for e in executed.events]
    assert "mint_keyset_requested" in kinds, kinds
    net.finish_keygen()  # the end of that block asked for the DKG; the last report activates it
    assert [e.kind for e in net.chain.block_events if e.kind.startswith("mint_keyset")] == [
        "mint_keyset_activated"
    ]


def test_a_rotation_makes_a_new_keyset_and_the_old_one_redeems_until_it_expires() -> None:
    net = started(keyset_grace_blocks=GRACE)
    alice, bob = net.wallet("alice"), net.wallet("bob")
    net.issue(alice, 3)
    old_notes = list(alice.notes)
    net.issue(alice, 4)
    kept_notes = alice.notes[len(old_notes) :]
    (first,) = mint_keysets(net.chain.reader)[1]

    rotate(net)
    active, keysets = mint_keysets(net.chain.reader)
    old, new = keysets
    assert active == 2 and new.status == KEYSET_ACTIVE and old.status == KEYSET_RETIRING
    assert old.keyset_id == first.keyset_id and old.public_keys == first.public_keys
    assert new.keyset_id != old.keyset_id and set(new.public_keys).isdisjoint(old.public_keys)
    assert key_set_holders(net.chain.reader, "mint/2") is not None
    expires_at = old.expires_at
    assert expires_at == net.chain.height + GRACE  # set by the activating block

    # Deposits go to the new keyset only; its notes verify against its keys.
    refused = net.block(net.chain.sign(bob.key, MintDeposit(1, ((1, secret_point("x").sec),))))[0]
    assert refused.status == InvalidOperation.status and "active" in refused.error
    net.issue(bob, 5)
    assert {n.keyset_id for n in bob.notes} == {new.keyset_id}

    # The old keyset's notes are still redeemed during the grace period.
    before = net.chain.balance(alice.address)
    receipt, redemption, _ = net.commit(alice, old_notes)
    assert net.reveal(alice, redemption, commitment_id_of(receipt)).status == 0
    net.blocks(2)
    assert net.chain.balance(alice.address) == before - 2000 + 3
    assert all(
        note_state(net.chain.reader, secret_point(n.secret).sec) == NOTE_SPENT for n in old_notes
    )

    # After the grace period the old keyset is expired and its key set retired.
    while net.chain.height < expires_at:
        net.block()
    kinds = [e.kind for e in net.chain.block_events]
    assert "mint_keyset_expired" in kinds, kinds
    _, keysets = mint_keysets(net.chain.reader)
    assert [k.status for k in keysets] == [KEYSET_EXPIRED, KEYSET_ACTIVE]
    assert key_set_holders(net.chain.reader, "mint/1") is None
    late, _, _ = net.commit(alice, kept_notes)
    assert late.status == InvalidOperation.status and "not redeemable" in late.error
    assert all(
        note_state(net.chain.reader, secret_point(n.secret).sec) == NOTE_UNSPENT for n in kept_notes
    )
    # The new keyset's notes redeem as usual.
    receipt, redemption, _ = net.commit(bob, bob.notes)
    assert net.reveal(bob, redemption, commitment_id_of(receipt)).status == 0
    net.blocks(2)
    assert all(
        note_state(net.chain.reader, secret_point(n.secret).sec) == NOTE_SPENT for n in bob.notes
    )
    assert net.reserve_balanced()
    assert net.chain.balance(RESERVE_ADDRESS) == 4  # the expired keyset's unredeemed notes


def test_a_redemption_in_flight_when_its_keyset_expires_is_released_and_pays_nothing() -> None:
    net = started(keyset_grace_blocks=GRACE, reveal_blocks=40)
    alice = net.wallet("alice")
    net.issue(alice, 2)
    rotate(net)
    (_, keysets) = mint_keysets(net.chain.reader)
    expires_at = keysets[0].expires_at
    net.silent = set(net.validators)  # nobody evaluates the locked note
    receipt, redemption, _ = net.commit(alice, alice.notes)
    cid = commitment_id_of(receipt)
    assert net.reveal(alice, redemption, cid).status == 0
    before = net.chain.balance(alice.address)
    while net.chain.height < expires_at:
        net.block()
    released = [e for e in net.chain.block_events if e.kind == "mint_note_released"]
    assert len(released) == 1
    settled = [e for e in net.chain.block_events if e.kind == "mint_redeem_settled"]
    assert settled and dict(settled[0].attributes)["won"] == 0
    assert net.chain.balance(alice.address) == before
    y = secret_point(alice.notes[0].secret).sec
    assert note_state(net.chain.reader, y) == NOTE_UNSPENT  # but its keyset is gone
    assert net.reserve_balanced()


def test_notes_issued_before_a_validator_set_change_are_redeemed_after_it() -> None:
    net = started()
    alice, carol = net.wallet("alice"), net.wallet("carol")
    net.issue(alice, 11)
    keyset_before = mint_keysets(net.chain.reader)[1][0]
    holders_before = key_set_holders(net.chain.reader, "mint/1")
    assert holders_before is not None

    # Governance adds a fifth validator (funded: it pays for its reports and
    # duties); the key set is reshared to five.
    newcomer = insecure_key("validator/4")
    net.add_validator(newcomer)
    funding = Transfer("coin", 10**21, address_of(newcomer.public_key))
    assert net.block(net.chain.sign(alice.key, funding))[0].status == 0
    net.govern(UpdateValidator(newcomer.public_key, 10, "val-4"))
    for _ in range(6):
        net.block()
        net.finish_keygen()
        holders = key_set_holders(net.chain.reader, "mint/1")
        assert holders is not None
        if newcomer.public_key in holders.member_keys():
            break
    holders = key_set_holders(net.chain.reader, "mint/1")
    assert holders is not None and len(holders.members) == 5
    assert holders.epoch > holders_before.epoch

    # Governance removes val-0; the key set is reshared to the other four.
    leaver = sorted(net.validators)[0]
    net.govern(UpdateValidator(leaver, 0, "val-0"))
    for _ in range(6):
        net.block()
        net.finish_keygen()
        holders = key_set_holders(net.chain.reader, "mint/1")
        assert holders is not None
        if leaver not in holders.member_keys():
            break
    holders = key_set_holders(net.chain.reader, "mint/1")
    assert holders is not None and leaver not in holders.member_keys()
    assert newcomer.public_key in holders.member_keys() and len(holders.members) == 4
    del net.duties[leaver]  # it holds no share any more
    keyset_after = mint_keysets(net.chain.reader)[1][0]
    assert keyset_after.keyset_id == keyset_before.keyset_id
    assert keyset_after.public_keys == keyset_before.public_keys

    before = net.chain.balance(carol.address)
    receipt, redemption, _ = net.commit(alice, alice.notes, to=carol.address)
    assert net.reveal(alice, redemption, commitment_id_of(receipt)).status == 0
    net.blocks(2)
    assert net.chain.balance(carol.address) == before + 11
    net.issue(alice, 6)  # and the new holders issue
    assert net.reserve_balanced()
