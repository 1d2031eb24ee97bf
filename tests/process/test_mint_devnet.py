"""The mint on devnets of real node processes:

- the keyset comes from the validators' DKG at block 1; a deposit is issued
  by their key holder services in two rounds of transactions; Nutshell (the
  `cashu` package) verifies the notes' NUT-12 proofs and decodes our token;
  a commit-reveal redemption pays the target and NUT-07 says SPENT;
- a `ledger bank deposit` SIGKILLed while it waits for the validators is
  finished by the next `ledger bank` command on its wallet;
- an issuance ceremony completes with one chosen key holder SIGKILLed
  between its round-1 commitment and its round-2 response: the round times
  out, the holder is named silent, the next round goes on without it;
- notes issued before a validator-set change are redeemed after it: a fifth
  validator is added (the mint's key set reshared to it), one of the first
  four is removed (reshared without it) and stopped, and the notes redeem,
  the keyset's id and keys unchanged.

Every wait is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.address import address_of, decode_address, encode_address
from ledger.client import LedgerClient
from ledger.client.devnet import account_key, validator_key
from ledger.client.mint_results import MintIssue
from ledger.client.mint_session import MintSession, Signer, token_mint
from ledger.client.mint_wallet import (
    address_target,
    deposit_body,
    notes_from_signatures,
    prepare_redemption,
)
from ledger.client.note_store import create_wallet, open_wallet, wallet_path
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.features.mint.interface import Token, encode_token_v4, secret_point
from ledger.features.policy.bodies import ApproveProposal, ProposeAction, encode_action
from ledger.features.validators.bodies import UpdateValidator
from ledger.types import Body
from tests.ledger.features.mint.test_nutshell import ask_nutshell, hex32

from .devnet_harness import ROOT, Devnet, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

GOVERNORS = ("dave", "erin", "frank")
THRESHOLD = 3  # of the 4 devnet validators


def _no_tracebacks(net: Devnet) -> None:
    logs = net.logs()
    assert not any("Traceback" in text for text in logs.values()), [
        text[text.index("Traceback") - 300 : text.index("Traceback") + 3000]
        for text in logs.values()
        if "Traceback" in text
    ]


@pytest.fixture
def devnet(tmp_path: Path):  # type: ignore[no-untyped-def]
    net = Devnet(tmp_path / "devnet", validators=4)
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        yield net
    finally:
        net.stop_all()
        _no_tracebacks(net)


def _active_keys(client: LedgerClient) -> tuple[int, list[bytes], str]:
    """(epoch, public keys by denomination, keyset id) of the active keyset,
    once the validators have made it."""
    found: list[tuple[int, list[bytes], str]] = []

    def ready() -> bool:
        keys = [k for k in client.get_mint_keys() if k.active]
        infos = {k.keyset_id: k.epoch for k in client.get_mint_keysets() if k.keyset_id}
        if keys:
            found[:] = [(infos[keys[0].keyset_id], list(keys[0].keys), keys[0].keyset_id)]
        return bool(found)

    wait_until(ready, 120, "the mint's keyset")
    return found[0]


def _send(client: LedgerClient, key: SigningKey, body: Body) -> int:
    """Send ``body`` and wait for its success; the receipt's first event's id-like value."""
    sent = client.send_body(key, body, timeout=60)
    assert sent.receipt is not None and sent.receipt.status == 0, sent.receipt
    return sent.receipt.block_height


def _govern(net: Devnet, client: LedgerClient, action: Body) -> None:
    governance = net.genesis.policy("governance").address
    proposal = ProposeAction(governance, encode_action(action), client.block_number() + 200)
    sent = client.send_body(account_key(GOVERNORS[0]), proposal, timeout=60)
    assert sent.receipt is not None and sent.receipt.status == 0, sent.receipt
    proposal_id = int(sent.receipt.events[0].attributes["proposal_id"])
    for name in GOVERNORS[1:]:
        _send(client, account_key(name), ApproveProposal(governance, proposal_id))


def _session(client: LedgerClient, tmp_path: Path, name: str) -> MintSession:
    opened = create_wallet(wallet_path(tmp_path / "home", name), "pass", client.chain_id(), 2)
    return MintSession(client, opened, timeout=90)


def _signer(name: str) -> Signer:
    return Signer(account_key(name), f"devnet:{name}")


def test_a_deposit_is_issued_checked_by_nutshell_and_redeemed(
    devnet: Devnet, tmp_path: Path
) -> None:
    client = LedgerClient(devnet.nodes[0]["rpc_url"], timeout=10.0)
    epoch, public_keys, keyset_id = _active_keys(client)
    assert len(public_keys) == 21 and keyset_id.startswith("01")
    alice, bob = account_key("alice"), account_key("bob")
    body, pending = deposit_body(1000, epoch, 20, os.urandom)
    sent = client.send_body(alice, body, timeout=60)
    assert sent.receipt is not None and sent.receipt.status == 0, sent.receipt
    request_id = int(sent.receipt.events[0].attributes["request_id"])

    def issued() -> bool:
        request = client.get_mint_issue(request_id)
        return request is not None and request.status == "issued"

    wait_until(issued, 60, "the deposit's notes")
    request = client.get_mint_issue(request_id)
    assert request is not None
    notes = notes_from_signatures(pending, request.signatures, keyset_id, public_keys)
    assert sum(n.amount for n in notes) == 1000

    # Nutshell verifies each note's NUT-12 proof, as Alice (on the blind
    # signature) and as Carol (on the note, with r), and decodes our token.
    cases = []
    for output, signature, note in zip(pending, request.signatures, notes, strict=True):
        assert note.dleq is not None
        cases.append(
            {
                "A": public_keys[note.amount.bit_length() - 1].hex(),
                "B_": output.blinded.hex(),
                "C_": signature[:33].hex(),
                "e": signature[33:65].hex(),
                "s": signature[65:97].hex(),
                "r": hex32(output.blinding_factor),
                "secret": note.secret,
                "C": note.signature.sec.hex(),
            }
        )
    token = encode_token_v4(Token(token_mint(client.chain_id()), "coin", notes))
    answer = ask_nutshell(
        {"issued": cases, "hash_to_curve": [], "tokens": [token], "serialize": []},
        tmp_path,
    )
    assert [(c["alice"], c["carol"]) for c in answer["issued"]] == [(True, True)] * len(notes)
    assert [c["C"] for c in answer["issued"]] == [c["C"] for c in cases]
    parsed = answer["tokens"][0]
    assert parsed["mint"] == token_mint(client.chain_id()) and parsed["unit"] == "coin"
    assert sorted((p["secret"], p["amount"], p["C"]) for p in parsed["proofs"]) == sorted(
        (n.secret, n.amount, n.signature.sec.hex()) for n in notes
    )

    # Redemption by commit and reveal pays bob; the notes are spent.
    bob_address = address_of(bob.public_key)
    before = client.get_balance(bob_address)
    redemption = prepare_redemption(
        client.chain_id(),
        address_of(alice.public_key),
        notes,
        {keyset_id: epoch},
        address_target(bob_address),
        os.urandom,
    )
    committed = client.send_body(alice, redemption.commit, timeout=60)
    assert committed.receipt is not None and committed.receipt.status == 0, committed.receipt
    commitment_id = int(committed.receipt.events[0].attributes["commitment_id"])
    revealed = client.send_body(alice, redemption.reveal(commitment_id), timeout=60)
    assert revealed.receipt is not None and revealed.receipt.status == 0, revealed.receipt
    wait_until(lambda: client.get_balance(bob_address) == before + 1000, 60, "payout")
    states = client.check_note_states([secret_point(n.secret).sec for n in notes])
    assert set(states.values()) == {"SPENT"}
    mint = client.get_mint()
    assert mint is not None and mint.reserve == 0 and mint.in_flight == 0


def _ledger(home: Path, node: str, *args: str) -> subprocess.Popen[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
        "PYTHONPATH": str(ROOT),
        "LEDGER_HOME": str(home),
        "LEDGER_NODE": node,
        "LEDGER_WALLET_PASSWORD_FILE": str(home / "wallet-pass.txt"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_deposit_killed_while_it_waits_is_finished_by_the_next_command(
    devnet: Devnet, tmp_path: Path
) -> None:
    node = devnet.nodes[1]["rpc_url"]
    client = LedgerClient(node, timeout=10.0)
    _active_keys(client)
    home = tmp_path / "home"
    home.mkdir()
    (home / "wallet-pass.txt").write_text("guide passphrase\n")
    keys = _ledger(home, node, "keys", "devnet")
    assert keys.wait(60) == 0
    deposit = _ledger(
        home, node, "-y", "bank", "deposit", "--amount", "77", "--from", "devnet:carol"
    )
    assert deposit.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = deposit.stderr.readline()
        seen.append(line)
        if " sent" in line or not line:
            break
    assert any("deposit " in line and " sent" in line for line in seen), seen
    deposit.send_signal(signal.SIGKILL)  # after the wallet recorded it, before the notes came
    deposit.wait(10)
    deposit.stdout.close()  # type: ignore[union-attr]
    deposit.stderr.close()
    balance = _ledger(home, node, "bank", "balance", "--from", "devnet:carol")
    out, err = balance.communicate(timeout=120)
    assert balance.returncode == 0, err
    assert "balance 77" in out, (out, err)
    with open_wallet(wallet_path(home), "guide passphrase", client.chain_id()) as opened:
        assert opened.wallet.balance == 77 and not opened.wallet.issues


def _issue(client: LedgerClient, request_id: int) -> MintIssue:
    request = client.get_mint_issue(request_id)
    assert request is not None
    return request


def _mint_participants(client: LedgerClient, key_set: str) -> tuple[str, ...]:
    """The validators (addresses, identifier = position + 1) of the key set's
    latest completed DKG or resharing."""
    ceremonies = client.get_ceremonies()
    done = [
        c
        for c in (*ceremonies.pending, *ceremonies.recent)
        if c.key_set == key_set and c.status == "completed" and c.kind in ("dkg", "reshare")
    ]
    assert done, ceremonies
    return max(done, key=lambda c: c.id).participants


def test_an_issuance_completes_with_a_chosen_holder_killed_between_its_rounds(
    devnet: Devnet,
) -> None:
    observer = LedgerClient(devnet.nodes[0]["rpc_url"], timeout=10.0)
    epoch, public_keys, keyset_id = _active_keys(observer)
    participants = _mint_participants(observer, "mint/1")
    alice = account_key("alice")
    for attempt, victim in enumerate((1, 2, 3) * 2):
        victim_address = address_of(validator_key(victim).public_key)
        victim_id = participants.index(encode_address(victim_address)) + 1
        before = observer.get_transaction_count(victim_address, "pending")
        body, pending = deposit_body(100 + attempt, epoch, 20, os.urandom)
        sent = observer.send_body(alice, body, wait=False)
        # The victim's round-1 commitment reaches the observer's mempool: stop the
        # victim before the next block can put it on the chosen list and it answers.
        wait_until(
            lambda a=victim_address, n=before: observer.get_transaction_count(a, "pending") > n,
            60,
            "the victim's commitment",
            step=0.005,
        )
        process = devnet.processes[victim]
        assert process is not None
        process.send_signal(signal.SIGSTOP)
        receipt = observer.wait_for_receipt(sent.hash, 60)
        request_id = int(receipt.events[0].attributes["request_id"])
        wait_until(
            lambda r=request_id: len(_issue(observer, r).committed) >= THRESHOLD
            or _issue(observer, r).status != "issuing",
            60,
            "the round's chosen list",
        )
        at_kill = _issue(observer, request_id)
        if at_kill.status == "issuing" and victim_id in at_kill.committed:
            devnet.kill(victim)  # SIGKILL: chosen, committed, never to answer
            kill_height = observer.block_number()
            break
        process.send_signal(signal.SIGCONT)  # it was not chosen: try again with another
        wait_until(lambda r=request_id: _issue(observer, r).status == "issued", 60, "issuance")
    else:
        pytest.fail("in six attempts the stopped holder was never on the chosen list")
    assert at_kill.round == 0 and victim_id not in at_kill.responded

    wait_until(lambda: _issue(observer, request_id).status == "issued", 90, "the issuance")
    done = _issue(observer, request_id)
    assert done.round >= 1 and victim_id in done.excluded
    notes = notes_from_signatures(pending, done.signatures, keyset_id, public_keys)
    assert sum(n.amount for n in notes) == 100 + attempt
    silent = []
    for height in range(kill_height, (done.completed_at or kill_height) + 1):
        events = observer.get_block_events(height)
        if events is not None:
            silent += [e for e in events.events if e.kind == "mint_holder_silent"]
    assert [decode_address(str(e.attributes["validator"])) for e in silent] == [victim_address]


def test_notes_issued_before_a_validator_set_change_are_redeemed_after_it(
    tmp_path: Path,
) -> None:
    net = Devnet(tmp_path / "devnet", validators=4, spares=1)
    net.start_all()
    try:
        net.wait_height(2, timeout=90)
        _validator_set_change(net, tmp_path)
    finally:
        net.stop_all()
        _no_tracebacks(net)


def _validator_set_change(net: Devnet, tmp_path: Path) -> None:
    client = LedgerClient(net.nodes[1]["rpc_url"], timeout=10.0)
    _, keys_before, keyset_id = _active_keys(client)
    session = _session(client, tmp_path, "alice")
    notes = session.deposit(_signer("alice"), 1500)

    # A fifth validator: funded (it pays for its key reports and mint duties),
    # started as a follower, then added by governance; the key set is reshared.
    newcomer = address_of(validator_key(4).public_key)
    _send(client, account_key("bob"), Transfer("coin", 10**21, newcomer))
    net.start(4)
    net.wait_height(client.block_number(), indexes=[4], timeout=90)
    _govern(net, client, UpdateValidator(validator_key(4).public_key, 10, "val-4"))
    wait_until(
        lambda: encode_address(newcomer) in _mint_participants(client, "mint/1"),
        180,
        "the key set reshared to the fifth validator",
    )
    # val-0 leaves: the key set is reshared without it, and it is stopped.
    leaver = address_of(validator_key(0).public_key)
    _govern(net, client, UpdateValidator(validator_key(0).public_key, 0, "val-0"))
    wait_until(
        lambda: encode_address(leaver) not in _mint_participants(client, "mint/1"),
        180,
        "the key set reshared without val-0",
    )
    assert len(_mint_participants(client, "mint/1")) == 4
    net.kill(0)

    keys_after = [k for k in client.get_mint_keys() if k.keyset_id == keyset_id]
    assert len(keys_after) == 1 and list(keys_after[0].keys) == keys_before
    carol = address_of(account_key("carol").public_key)
    before = client.get_balance(carol)
    redeemed = session.redeem(_signer("alice"), notes, carol)
    assert redeemed.won == 1500 and redeemed.lost == 0
    assert client.get_balance(carol) == before + 1500
    again = session.deposit(_signer("alice"), 5)  # the new holders issue too
    assert sum(n.amount for n in again) == 5
    session.opened.close()
