"""The double-sign guard and the guarded signer, including a SIGKILLed signer.
Invalid cases are named test_invalid_*."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consensus.node.privval import (
    DoubleSignGuard,
    DoubleSignRefused,
    GuardedSigner,
    GuardFileError,
    SignedPosition,
    Step,
)
from ledger import crypto
from tests.consensus.node.privval_crash_signer import KEY

ROOT = Path(__file__).resolve().parents[3]
A = crypto.sha256(b"message a")
B = crypto.sha256(b"message b")


def test_records_increasing_positions_and_persists_them(tmp_path: Path) -> None:
    path = tmp_path / "guard.json"
    with DoubleSignGuard(path) as guard:
        assert guard.last is None
        guard.check_and_record(1, 0, Step.PROPOSE, A)
        guard.check_and_record(1, 0, Step.PREVOTE, B)
        guard.check_and_record(1, 0, Step.PRECOMMIT, A)
        guard.check_and_record(1, 1, Step.PREVOTE, A)  # a later round may skip propose
        guard.check_and_record(2, 0, Step.PRECOMMIT, B)
    with DoubleSignGuard(path) as guard:
        assert guard.last == SignedPosition(2, 0, Step.PRECOMMIT, B)
    document = json.loads(path.read_text())
    assert document["step_name"] == "precommit" and document["message_hash"] == B.hex()


def test_the_identical_message_may_be_signed_again(tmp_path: Path) -> None:
    path = tmp_path / "guard.json"
    with DoubleSignGuard(path) as guard:
        guard.check_and_record(5, 2, Step.PREVOTE, A)
        before = path.stat().st_mtime_ns
        guard.check_and_record(5, 2, Step.PREVOTE, A)
        assert path.stat().st_mtime_ns == before  # no write needed
    with DoubleSignGuard(path) as guard:  # after a restart too
        guard.check_and_record(5, 2, Step.PREVOTE, A)


@pytest.mark.parametrize(
    ("height", "round_", "step", "message"),
    [
        (5, 2, Step.PREVOTE, B),  # same position, another message
        (5, 2, Step.PROPOSE, A),  # an earlier step
        (5, 1, Step.PRECOMMIT, A),  # an earlier round
        (4, 9, Step.PRECOMMIT, A),  # an earlier height
    ],
)
def test_invalid_conflicting_or_earlier_messages_are_refused(
    tmp_path: Path, height: int, round_: int, step: Step, message: bytes
) -> None:
    path = tmp_path / "guard.json"
    with DoubleSignGuard(path) as guard:
        guard.check_and_record(5, 2, Step.PREVOTE, A)
        with pytest.raises(DoubleSignRefused):
            guard.check_and_record(height, round_, step, message)
        assert guard.last == SignedPosition(5, 2, Step.PREVOTE, A)
    with DoubleSignGuard(path) as guard, pytest.raises(DoubleSignRefused):
        guard.check_and_record(height, round_, step, message)


def test_invalid_arguments(tmp_path: Path) -> None:
    with DoubleSignGuard(tmp_path / "guard.json") as guard:
        for args in [(-1, 0, 1, A), (1, 0, 4, A), (1, 0, 1, b"short"), (True, 0, 1, A)]:
            with pytest.raises(ValueError):
                guard.check_and_record(*args)  # type: ignore[arg-type]
        assert guard.last is None
    with pytest.raises(GuardFileError, match="closed"):
        guard.check_and_record(1, 0, Step.PREVOTE, A)


@pytest.mark.parametrize(
    "contents",
    [
        "",
        "{",
        "[]",
        '{"version": 2, "height": null}',
        '{"version": 1, "height": 3, "round": 0, "step": 2, "step_name": "prevote"}',
        '{"version": 1, "height": 3, "round": 0, "step": 2, "step_name": "precommit",'
        f' "message_hash": "{A.hex()}"}}',
        '{"version": 1, "height": 3, "round": 0, "step": 2, "step_name": "prevote",'
        ' "message_hash": "zz"}',
    ],
)
def test_invalid_damaged_guard_file_refuses_to_start(tmp_path: Path, contents: str) -> None:
    path = tmp_path / "guard.json"
    path.write_text(contents)
    with pytest.raises(GuardFileError, match="Do not delete it"):
        DoubleSignGuard(path)
    assert path.read_text() == contents  # never reset


def test_invalid_second_process_is_locked_out(tmp_path: Path) -> None:
    with DoubleSignGuard(tmp_path / "guard.json"), pytest.raises(GuardFileError, match="in use"):
        DoubleSignGuard(tmp_path / "guard.json")


def test_guarded_signer_signs_only_what_the_guard_allows(tmp_path: Path) -> None:
    with DoubleSignGuard(tmp_path / "guard.json") as guard:
        signer = GuardedSigner(KEY, guard)
        signature = signer.sign(3, 0, Step.PREVOTE, "ledger/vote/v1", "c", (3, 0, b"block"))
        assert crypto.verify(signer.public_key, "ledger/vote/v1", "c", (3, 0, b"block"), signature)
        digest = crypto.signing_digest("ledger/vote/v1", "c", (3, 0, b"block"))
        assert guard.last == SignedPosition(3, 0, Step.PREVOTE, digest)
        assert signer.sign_digest(3, 0, Step.PREVOTE, digest) == signature  # deterministic
        with pytest.raises(DoubleSignRefused):
            signer.sign(3, 0, Step.PREVOTE, "ledger/vote/v1", "c", (3, 0, b"other"))


@pytest.mark.timeout(120)
def test_sigkilled_signer_never_signs_conflicting_messages(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "guard.json"
    signed: dict[tuple[int, int, int], str] = {}
    order: list[tuple[int, int, int]] = []
    refusals = 0
    deadline = time.monotonic() + 40
    for run in range(12):
        if time.monotonic() > deadline:
            break
        signer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.consensus.node.privval_crash_signer",
                str(path),
                str(run),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert signer.stdout is not None
        assert signer.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.3))
        signer.send_signal(signal.SIGKILL)
        output = signer.stdout.read()
        signer.wait(timeout=10)
        signer.stdout.close()
        for line in output.decode().split("\n")[:-1]:  # the last line may be cut short
            fields = line.split()
            if fields[0] == "refused":
                refusals += 1
                continue
            height, round_, step, digest, signature = fields
            position = (int(height), int(round_), int(step))
            assert crypto.verify_digest(
                KEY.public_key, bytes.fromhex(digest), bytes.fromhex(signature)
            )
            assert signed.setdefault(position, digest) == digest, f"double sign at {position}"
            if not order or order[-1] != position:
                assert not order or position > order[-1], "signed an earlier position"
                order.append(position)
    assert len(order) > 20, "the signer hardly signed anything"
    assert refusals > 0, "restarts never re-tried a position (test too weak)"
    with DoubleSignGuard(path) as guard:
        last = guard.last
        assert last is not None and last.position >= order[-1]
        for position, digest in signed.items():
            with pytest.raises(DoubleSignRefused):
                guard.check_and_record(*position[:2], Step(position[2]), crypto.sha256(b"x"))
            if position < last.position:
                with pytest.raises(DoubleSignRefused):
                    guard.check_and_record(*position[:2], Step(position[2]), bytes.fromhex(digest))
