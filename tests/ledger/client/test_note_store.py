"""The notes wallet file: what goes in comes out, encrypted and bound to its
chain; a wrong passphrase, an edited file, another chain's wallet and a
second open are refused; the pure choices of notes and outputs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.client.mint_session import _covering
from ledger.client.mint_wallet import (
    WalletError,
    address_target,
    choose_notes,
    make_outputs,
    outputs_for,
    swap_outputs,
)
from ledger.client.note_store import (
    PendingIssue,
    PendingRedemption,
    WalletFileError,
    WrongWalletPassphrase,
    create_wallet,
    open_wallet,
    wallet_path,
)
from ledger.features.mint.bdhke import secret_point
from ledger.features.mint.dleq import DleqProof
from ledger.features.mint.tokens import Note, NoteDleq
from tests.ledger.threshold.inprocess import seeded_rng

CHAIN = "ledger-devnet-1"
KEYSET = "01" + "ab" * 32
CHEAP = 2  # scrypt cost for tests only


def note(amount: int, secret: str) -> Note:
    dleq = NoteDleq(DleqProof(5, 7), 11)
    return Note(amount, KEYSET, secret, secret_point("C of " + secret), dleq)


def test_a_wallet_round_trips_notes_and_work_in_flight(tmp_path: Path) -> None:
    path = wallet_path(tmp_path, "alice")
    rng = seeded_rng(3)
    with create_wallet(path, "pass phrase", CHAIN, scrypt_n=CHEAP) as opened:
        _, pending = make_outputs(13, 20, rng)
        opened.wallet.notes += [note(4, "a"), note(1, "b")]
        opened.wallet.issues.append(PendingIssue(KEYSET, pending, tx=b"\x01\x02", request_id=9))
        opened.wallet.redemptions.append(
            PendingRedemption(
                b"\x07" * 20,
                "devnet:alice",
                (note(2, "c"),),
                address_target(b"\x09" * 20),
                b"\x05" * 32,
                b"commit",
                commitment_id=3,
            )
        )
        opened.wallet.remember_sent("cashuBtoken")
        opened.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert "secret" not in text and '"a"' not in text  # nothing readable without the passphrase
    with open_wallet(path, "pass phrase", CHAIN) as again:
        wallet = again.wallet
        assert wallet.notes == [note(4, "a"), note(1, "b")] and wallet.balance == 5
        assert wallet.issues[0].outputs == pending and wallet.issues[0].request_id == 9
        assert wallet.redemptions[0].target == address_target(b"\x09" * 20)
        assert wallet.redemptions[0].notes == (note(2, "c"),)
        assert wallet.sent == ["cashuBtoken"]


def test_a_wrong_passphrase_an_edited_file_and_another_chain_are_refused(tmp_path: Path) -> None:
    path = wallet_path(tmp_path)
    with create_wallet(path, "right", CHAIN, scrypt_n=CHEAP) as opened:
        opened.wallet.notes.append(note(8, "x"))
        opened.save()
    with pytest.raises(WrongWalletPassphrase):
        open_wallet(path, "wrong", CHAIN)
    with pytest.raises(WalletFileError, match="chain"):
        open_wallet(path, "right", "another-chain")
    document = json.loads(path.read_text())
    document["chainId"] = "another-chain"  # bound as associated data: it no longer opens
    path.write_text(json.dumps(document))
    with pytest.raises(WrongWalletPassphrase):
        open_wallet(path, "right", "another-chain")
    document["crypto"]["kdfparams"]["n"] = 1 << 21  # costlier than any reader accepts
    path.write_text(json.dumps(document))
    with pytest.raises(WalletFileError, match="out of range"):
        open_wallet(path, "right", "another-chain")
    path.write_text("not json")
    with pytest.raises(WalletFileError, match="JSON"):
        open_wallet(path, "right", CHAIN)


def test_one_command_at_a_time_and_no_second_wallet(tmp_path: Path) -> None:
    path = wallet_path(tmp_path)
    with (
        create_wallet(path, "p", CHAIN, scrypt_n=CHEAP),
        pytest.raises(WalletFileError, match="in use"),
    ):
        open_wallet(path, "p", CHAIN)
    with open_wallet(path, "p", CHAIN):
        pass
    with pytest.raises(WalletFileError, match="already exists"):
        create_wallet(path, "p", CHAIN, scrypt_n=CHEAP)
    with pytest.raises(WalletFileError, match="no wallet"):
        open_wallet(wallet_path(tmp_path, "nobody"), "p", CHAIN)
    for bad in ("", "../x", "-x", "a" * 65):
        with pytest.raises(WalletFileError):
            wallet_path(tmp_path, bad)


def test_notes_for_an_exact_amount_or_to_swap() -> None:
    notes = [note(8, "a"), note(4, "b"), note(1, "c"), note(1, "d")]
    assert [n.amount for n in choose_notes(notes, 9)] == [8, 1]
    assert [n.amount for n in choose_notes(notes, 14)] == [8, 4, 1, 1]
    with pytest.raises(WalletError):
        choose_notes(notes, 3)  # 4 would have to be split: swap first
    assert [n.amount for n in _covering(notes, 3)] == [1, 1, 4]
    with pytest.raises(WalletError):
        _covering(notes, 15)


def test_outputs_of_given_amounts_are_checked() -> None:
    rng = seeded_rng(4)
    outputs, pending = outputs_for([4, 4, 1], 3, rng)
    assert [a for a, _ in outputs] == [4, 4, 1] and len({p.secret for p in pending}) == 3
    for amounts in ([3], [16], [], [1] * 65):
        with pytest.raises(WalletError):
            outputs_for(amounts, 3, rng)
    with pytest.raises(WalletError, match="add up"):
        swap_outputs(9, [4, 4], 3, rng)
    outputs, _ = swap_outputs(9, None, 3, rng)
    assert sorted(a for a, _ in outputs) == [1, 8]
