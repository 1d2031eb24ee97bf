"""The mix on chain: letters through a remailer, batches closed, shuffled by
validators in turn (a silent or cheating one skipped and recorded),
decrypted by t key holders, delivered to mailboxes that expire.

Pre / operation / post on a MailChain; invalid cases are test_invalid_*.
"""

from __future__ import annotations

from dataclasses import replace

from ledger.exceptions import AlreadyExists, ContractReverted, NotAuthorized
from ledger.features.contracts.bodies import Deploy, Schedule, contract_address
from ledger.features.mail.bodies import MIX_ADDRESS, MailDecrypt, MailShuffle
from ledger.features.mail.config import MailConfig
from ledger.features.mail.execution import MixProofRejected, postage_terms
from ledger.features.mail.key import MAIL_KEY_SET, MailKey
from ledger.features.mail.records import (
    DECRYPTING,
    DELIVERED,
    FAILED,
    OPEN,
    SHUFFLING,
    get_faults,
    get_mailbox_range,
)
from ledger.features.mail.shuffle_proof import shuffle_verification_cost
from ledger.features.threshold.key_sets import retire_key_set
from ledger.state import State
from ledger.threshold import reshare
from ledger.types import Event
from tests.ledger.features.mail.mail_chain import (
    JOE,
    PEOPLE,
    PRICE,
    VALIDATOR_KEYS,
    MailChain,
    address,
    install_mail_key,
)
from tests.ledger.threshold.inprocess import run_reshare, seeded_rng
from vm.assembler import assemble
from vm.contracts import contract_source
from vm.module import encode_module

SMALL = MailConfig(batch_cells=4, batch_blocks=5, shuffle_timeout_blocks=3, retention_blocks=30)


def attrs(event: Event) -> dict[str, object]:
    return dict(event.attributes)


def ready(config: MailConfig = SMALL, buyers: range = range(8)) -> MailChain:
    """A chain with a remailer and prepaid letters for ``buyers``."""
    chain = MailChain(config)
    chain.deploy_remailer()
    receipts = chain.block(*(chain.buy_postage(i, 1) for i in buyers))
    assert all(r.status == 0 for r in receipts), [r.error for r in receipts]
    return chain


def send(chain: MailChain, pairs: list[tuple[int, int]]) -> None:
    letters = [chain.letter(s, r, b"from %d to %d" % (s, r)) for s, r in pairs]
    receipts = chain.block(*(letter.tx for letter in letters))
    for receipt in receipts:
        assert receipt.status == 0, receipt.error
        message = next(e for e in receipt.events if e.kind == "message")
        assert attrs(message)["status"] == "success", attrs(message)["error"]


def deliver(chain: MailChain, batch_id: int, most: int = 20, silent: tuple[int, ...] = ()) -> int:
    """Run blocks with the validators' duties until the batch is done; how many."""
    for blocks in range(1, most + 1):
        chain.run(1, silent)
        if chain.batch(batch_id).status in (DELIVERED, FAILED):
            return blocks
    raise AssertionError(f"batch {batch_id} is still {chain.batch(batch_id).status_name}")


# -- the whole way ----------------------------------------------------------------
def test_sixteen_letters_are_delivered_and_each_recipient_reads_its_own() -> None:
    chain = ready(MailConfig(batch_cells=16), range(16))
    pairs = [(i, 16 + (i * 7) % 16) for i in range(16)]
    send(chain, pairs)
    batch = chain.batch(1)
    assert batch.status == SHUFFLING and batch.cells == 16 and batch.closed_at == chain.tip.height
    blocks = deliver(chain, 1)
    batch = chain.batch(1)
    assert batch.status == DELIVERED and (batch.delivered, batch.undeliverable) == (16, 0)
    assert len(batch.shufflers) == 2 and not batch.skipped  # f + 1 = 2 of 4 equal powers
    assert blocks <= 4  # two shuffles, then the shares: each in the block after the last
    for sender, recipient in pairs:
        assert chain.mailbox(recipient) == [b"from %d to %d" % (sender, recipient)]
    assert chain.in_flight() == ()
    state = State(chain.reader)
    assert not any(key.startswith((b"md", b"ms")) for key in chain.reader.values)
    assert get_faults(state, VALIDATOR_KEYS[0].public_key).timeouts == 0
    kinds = chain.kinds()
    assert kinds.count("mail_letter_accepted") == 16 and kinds.count("mail_shuffled") == 2
    assert kinds.count("mail_decryption_share") == 3 and "mail_batch_delivered" in kinds


def test_the_remailer_pays_the_mix_from_its_credits() -> None:
    chain = ready()
    cpu, net = chain.balance(chain.remailer, "cpu"), chain.balance(chain.remailer, "net")
    coin = chain.balance(chain.remailer, "coin")
    send(chain, [(0, 9)])
    postage = postage_terms(SMALL, 2, 3) * SMALL.gas_per_term
    message = next(e for e in chain.events if e.kind == "message")
    assert attrs(message)["gas_used"] == postage and attrs(message)["to"] != address(9)
    assert chain.balance(chain.remailer, "cpu") == cpu - postage  # rent is paid in disk
    assert chain.balance(chain.remailer, "net") < net
    assert chain.balance(chain.remailer, "coin") == coin == 8 * PRICE


def test_a_batch_closes_after_its_first_letter_has_waited() -> None:
    chain = ready()
    send(chain, [(0, 9), (1, 10)])
    first = chain.tip.height
    chain.run(SMALL.batch_blocks - 1)
    assert chain.batch(1).status == OPEN
    chain.run(1)
    batch = chain.batch(1)
    assert batch.status == SHUFFLING and batch.closed_at == first + SMALL.batch_blocks
    deliver(chain, 1)
    assert chain.mailbox(9) == [b"from 0 to 9"] and chain.mailbox(10) == [b"from 1 to 10"]


def test_letters_after_a_full_batch_open_the_next() -> None:
    chain = ready()
    send(chain, [(i, 10 + i) for i in range(6)])
    assert chain.batch(1).cells == 4 and chain.batch(1).status == SHUFFLING
    assert chain.batch(2).cells == 2
    deliver(chain, 1)
    chain.run(SMALL.batch_blocks)
    deliver(chain, 2)
    assert [chain.mailbox(10 + i) for i in range(6)] == [
        [b"from %d to %d" % (i, 10 + i)] for i in range(6)
    ]


# -- shufflers ------------------------------------------------------------------
def test_a_silent_shuffler_is_skipped_and_recorded() -> None:
    chain = ready()
    send(chain, [(i, 10 + i) for i in range(4)])
    first = chain.batch(1).schedule[0][0]
    silent = next(i for i, k in enumerate(VALIDATOR_KEYS) if k.public_key == first)
    deliver(chain, 1, silent=(silent,))
    batch = chain.batch(1)
    assert batch.status == DELIVERED and batch.skipped == ((first, "timeout"),)
    assert first not in batch.shufflers and len(batch.shufflers) == 2
    assert get_faults(State(chain.reader), first).timeouts == 1
    assert "mail_shuffler_skipped" in chain.kinds()


def test_invalid_a_bad_shuffle_proof_is_refused_recorded_and_the_turn_passes() -> None:
    chain = ready()
    send(chain, [(i, 10 + i) for i in range(4)])
    first = chain.batch(1).schedule[0][0]
    cheat = next(k for k in VALIDATOR_KEYS if k.public_key == first)
    (body,) = chain.duties[first].work(State(chain.reader), None)
    assert isinstance(body, MailShuffle)
    tampered = bytearray(body.shuffle)
    tampered[40] ^= 1  # a byte of the first output cell
    (receipt,) = chain.block(chain.tx(cheat, replace(body, shuffle=bytes(tampered))))
    assert receipt.status == MixProofRejected.status and "shuffle refused" in receipt.error
    terms = shuffle_verification_cost(4, SMALL.cell_width)
    assert receipt.gas_used in (terms * SMALL.gas_per_term, 0)
    batch = chain.batch(1)
    assert batch.skipped == ((first, "bad proof"),) and batch.turn == 1 and batch.step == 0
    assert get_faults(State(chain.reader), first).bad_shuffles == 1
    deliver(chain, 1)
    assert chain.batch(1).status == DELIVERED and first not in chain.batch(1).shufflers


def test_invalid_a_shuffle_out_of_turn_or_for_a_stale_step() -> None:
    chain = ready()
    send(chain, [(i, 10 + i) for i in range(4)])
    first = chain.batch(1).schedule[0][0]
    (body,) = chain.duties[first].work(State(chain.reader), None)
    other = next(k for k in VALIDATOR_KEYS if k.public_key != first)
    (receipt,) = chain.block(chain.tx(other, body))
    assert receipt.status == NotAuthorized.status
    owner = next(k for k in VALIDATOR_KEYS if k.public_key == first)
    (receipt,) = chain.block(chain.tx(owner, replace(body, step=1)))
    assert receipt.status == 4 and "step 0" in receipt.error
    assert chain.batch(1).skipped == () and get_faults(State(chain.reader), first).bad_shuffles == 0


def test_a_batch_whose_shufflers_all_stay_silent_fails() -> None:
    chain = ready()
    send(chain, [(i, 10 + i) for i in range(4)])
    deliver(chain, 1, most=20, silent=(0, 1, 2, 3))
    batch = chain.batch(1)
    assert batch.status == FAILED and batch.reason == "too few validators shuffled"
    assert len(batch.skipped) == 4 and chain.in_flight() == ()
    assert not any(key.startswith(b"md") for key in chain.reader.values)


# -- decryption -----------------------------------------------------------------
def _decrypting(chain: MailChain) -> None:
    send(chain, [(i, 10 + i) for i in range(4)])
    for _ in range(6):
        if chain.batch(1).status == DECRYPTING:
            return
        chain.block(*(tx for tx in chain.duty_txs() if isinstance(tx.body, MailShuffle)))
    raise AssertionError("the batch was not shuffled")


def test_invalid_a_bad_decryption_share_is_refused_and_recorded() -> None:
    chain = ready()
    _decrypting(chain)
    key = VALIDATOR_KEYS[1]
    (body,) = chain.duties[key.public_key].work(State(chain.reader), chain.shares[key.public_key])
    assert isinstance(body, MailDecrypt)
    tampered = bytearray(body.share)
    tampered[-1] ^= 1  # the proof's response
    (receipt,) = chain.block(chain.tx(key, replace(body, share=bytes(tampered))))
    assert receipt.status == MixProofRejected.status
    assert get_faults(State(chain.reader), key.public_key).bad_shares == 1
    (receipt,) = chain.block(chain.tx(key, body))
    assert receipt.status == 0, receipt.error
    (receipt,) = chain.block(chain.tx(key, body))
    assert receipt.status == AlreadyExists.status


def test_invalid_a_decryption_share_from_a_non_holder_or_another_epoch() -> None:
    chain = ready()
    _decrypting(chain)
    key = VALIDATOR_KEYS[1]
    (body,) = chain.duties[key.public_key].work(State(chain.reader), chain.shares[key.public_key])
    assert isinstance(body, MailDecrypt)
    (receipt,) = chain.block(chain.tx(PEOPLE[0], body))
    assert receipt.status == NotAuthorized.status
    (receipt,) = chain.block(chain.tx(key, replace(body, epoch=2)))
    assert receipt.status == 4 and "epoch 1" in receipt.error


def test_one_key_holder_down_still_decrypts() -> None:
    chain = ready()
    send(chain, [(i, 10 + i) for i in range(4)])
    deliver(chain, 1, silent=(2,))
    assert chain.batch(1).status == DELIVERED


def test_two_key_holders_down_and_the_batch_fails_in_time() -> None:
    config = replace(SMALL, decryption_timeout_blocks=6)
    chain = ready(config)
    _decrypting(chain)
    chain.run(6, silent=(1, 2))
    assert chain.batch(1).status == FAILED and chain.batch(1).reason == "not decrypted in time"


# -- letters that may not enter -------------------------------------------------
def test_invalid_sending_without_postage_reverts_and_costs_the_remailer_nothing() -> None:
    chain = ready(buyers=range(1))
    net = chain.balance(chain.remailer, "net")
    letter = chain.letter(5, 9, b"free?")
    (receipt,) = chain.block(letter.tx)
    assert receipt.status == ContractReverted.status and "no postage" in receipt.error
    assert chain.balance(chain.remailer, "net") == net


def test_invalid_a_copied_submission_is_refused() -> None:
    chain = ready()
    alice = chain.letter(0, 9, b"for nine")
    eve_copy = chain.tx(PEOPLE[1], alice.tx.body)  # Eve sends Alice's bytes herself
    (receipt,) = chain.block(eve_copy)
    message = attrs(next(e for e in receipt.events if e.kind == "message"))
    assert message["status"] == "revert" and "submission refused" in str(message["error"])
    assert message["gas_used"] == 2 * SMALL.cell_width * SMALL.gas_per_term
    assert not any(key.startswith(b"md") for key in chain.reader.values)


def test_invalid_a_remailer_that_passes_a_cell_on_twice() -> None:
    again = (
        '    SEND 1\n    PUSH MIX\n    PUSH "submit"\n    PUSH POSTAGE_GAS\n    DUP 5\n    SEND 1\n'
    )
    twice = contract_source("remailer").replace("    SEND 1\n", again, 1)
    chain = ready()
    tx = chain.tx(PEOPLE[JOE], Deploy(encode_module(assemble(twice)), 10**9, 10**9, 10**9))
    chain.block(tx)
    chain.remailer = contract_address(address(JOE), tx.nonce)
    chain.block(chain.buy_postage(0, 1))
    (receipt,) = chain.block(chain.letter(0, 9, b"once").tx)
    messages = [attrs(e) for e in receipt.events if e.kind == "message"]
    assert [m["status"] for m in messages] == ["success", "revert"]
    assert "already holds this cell" in str(messages[1]["error"])
    assert chain.batch(1).cells == 1


def test_invalid_postage_below_what_the_mix_needs() -> None:
    stingy = contract_source("remailer").replace("POSTAGE_GAS 500000", "POSTAGE_GAS 1000")
    chain = MailChain(SMALL)
    tx = chain.tx(PEOPLE[JOE], Deploy(encode_module(assemble(stingy)), 10**9, 10**9, 10**9))
    chain.block(tx)
    chain.remailer = contract_address(address(JOE), tx.nonce)
    chain.block(chain.buy_postage(0, 1))
    (receipt,) = chain.block(chain.letter(0, 9, b"cheap").tx)
    message = attrs(next(e for e in receipt.events if e.kind == "message"))
    assert message["status"] == "revert" and "postage" in str(message["error"])
    assert message["gas_used"] == 0


def test_invalid_a_letter_without_a_mail_key_yet() -> None:
    chain = ready()
    state = State(chain.reader)
    retire_key_set(state, MAIL_KEY_SET)
    chain.reader.apply(state.changes())
    letter = chain.letter(0, 9, b"too early")
    (receipt,) = chain.block(letter.tx)
    message = attrs(next(e for e in receipt.events if e.kind == "message"))
    assert "not made the mail key" in str(message["error"])


# -- mailboxes ------------------------------------------------------------------
def test_delivered_letters_expire_and_leave_the_state() -> None:
    chain = ready()
    send(chain, [(i, 10 + i) for i in range(4)])
    deliver(chain, 1)
    delivered_at = chain.batch(1).finished_at
    assert chain.mailbox(10) == [b"from 0 to 10"]
    chain.run(delivered_at + SMALL.retention_blocks - chain.tip.height - 1)
    assert chain.mailbox(10) == [b"from 0 to 10"]
    chain.run(1)
    assert chain.mailbox(10) == []
    assert get_mailbox_range(State(chain.reader), address(10)) == (0, 0)
    assert not any(key.startswith((b"mr", b"mn", b"mx")) for key in chain.reader.values)
    assert "mail_letters_expired" in chain.kinds()


def test_a_full_mailbox_pushes_its_oldest_letter_out() -> None:
    config = replace(SMALL, mailbox_capacity=2)
    chain = ready(config)
    send(chain, [(0, 9), (1, 9), (2, 9), (3, 9)])
    deliver(chain, 1)
    assert len(chain.mailbox(9)) == 2
    chain.run(SMALL.retention_blocks + 1)
    assert chain.mailbox(9) == []
    assert not any(key.startswith((b"mr", b"mn", b"mx")) for key in chain.reader.values)


def test_invalid_a_scheduled_run_cannot_send_letters() -> None:
    chain = ready()
    source = """
    .entry tick ->
        PUSH MIX
        PUSH "submit"
        PUSH 500000
        PUSH "letter"
        SEND 1
        RET
    """.replace("MIX", f'x"{MIX_ADDRESS.hex()}"')
    module = encode_module(assemble(source))
    schedule = Schedule("tick", 1, 600_000)
    tx = chain.tx(PEOPLE[JOE], Deploy(module, 10**9, 10**9, 10**9, b"", schedule))
    chain.block(tx)
    chain.run(2)
    messages = [attrs(e) for e in chain.events if e.kind == "message"]
    assert messages and all("not a scheduled run" in str(m["error"]) for m in messages)


def test_the_remailer_sends_to_the_mix_address() -> None:
    assert f'.const MIX x"{MIX_ADDRESS.hex()}"' in contract_source("remailer")


def test_a_resharing_mid_decryption_keeps_the_key_and_needs_new_shares() -> None:
    """The mail key survives a resharing (new epoch, same public key): shares
    made with the old epoch's shares stop counting, and t shares of the new
    epoch deliver the batch."""
    chain = ready()
    _decrypting(chain)
    holder = VALIDATOR_KEYS[0]
    (body,) = chain.duties[holder.public_key].work(
        State(chain.reader), chain.shares[holder.public_key]
    )
    (receipt,) = chain.block(chain.tx(holder, body))  # one old-epoch share on chain
    assert receipt.status == 0, receipt.error
    old = chain.shares[holder.public_key].public
    session = reshare.ReshareSession(b"mail key epoch 2", old, 3, (1, 2, 3, 4))
    dealers = [chain.shares[k.public_key] for k in VALIDATOR_KEYS[1:]]
    results = run_reshare(session, dealers, seeded_rng(99))
    public = results[1].key_package.public
    assert public.group_public_key == chain.key.public_key
    members = tuple(
        (i, VALIDATOR_KEYS[i - 1].public_key, public.verification_shares[i]) for i in (1, 2, 3, 4)
    )
    chain.key = MailKey(public.group_public_key, 3, members, 2)
    chain.shares = {VALIDATOR_KEYS[i - 1].public_key: results[i].key_package for i in results}
    state = State(chain.reader)
    install_mail_key(state, chain.key)
    chain.reader.apply(state.changes())
    (stale,) = chain.block(chain.tx(VALIDATOR_KEYS[1], replace(body, epoch=1)))
    assert stale.status == 4 and "epoch 2" in stale.error
    deliver(chain, 1)
    batch = chain.batch(1)
    assert batch.status == DELIVERED and batch.delivered == 4
    assert chain.mailbox(10) == [b"from 0 to 10"]
