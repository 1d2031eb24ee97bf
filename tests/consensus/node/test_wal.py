"""The WAL: append/replay, height segments, torn tails truncated, corruption refused,
and a writer SIGKILLed at random moments. Invalid cases are named test_invalid_*."""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consensus.node.wal import (
    RECORD_HEADER_SIZE,
    SEGMENT_HEADER_SIZE,
    WalCorrupted,
    WalEntry,
    WalError,
    WriteAheadLog,
    segment_name,
)
from tests.consensus.node.wal_crash_writer import expected_record

ROOT = Path(__file__).resolve().parents[3]
RECORDS = [b"first", b"second record", b"x" * 300, b"\x00\xff" * 40, b"last one"]


def write_log(directory: Path, records: list[bytes], height: int = 1) -> Path:
    with WriteAheadLog(directory) as wal:
        wal.start_height(height)
        for record in records:
            wal.append(record)
    return directory / segment_name(height)


def replayed(directory: Path, from_height: int | None = None) -> list[bytes]:
    with WriteAheadLog(directory) as wal:
        return [entry.record for entry in wal.replay(from_height)]


def record_offsets(records: list[bytes]) -> list[int]:
    offsets = [SEGMENT_HEADER_SIZE]
    for record in records:
        offsets.append(offsets[-1] + RECORD_HEADER_SIZE + len(record))
    return offsets


def test_append_and_replay_the_current_height(tmp_path: Path) -> None:
    write_log(tmp_path, RECORDS)
    with WriteAheadLog(tmp_path) as wal:
        assert wal.height == 1
        assert wal.recovery.records_in_last_segment == len(RECORDS)
        assert wal.recovery.truncated_bytes == 0
        assert [e.record for e in wal.replay()] == RECORDS
        wal.append(b"after reopen", sync=False)
        wal.append_many([b"a", b"b"])
    assert replayed(tmp_path) == [*RECORDS, b"after reopen", b"a", b"b"]


def test_heights_segment_the_log_and_prune_drops_old_ones(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        for height in (1, 2, 3):
            wal.start_height(height)
            wal.append(b"h%d" % height)
            wal.start_height(height)  # the same height again: no new segment
        assert wal.heights() == [1, 2, 3]
        assert list(wal.replay()) == [WalEntry(3, b"h3")]
        assert [e.height for e in wal.replay(from_height=2)] == [2, 3]
        assert wal.prune_below(3) == 2
        assert wal.heights() == [3]
        assert wal.prune_below(10) == 0  # the current segment is never deleted
    assert replayed(tmp_path, from_height=0) == [b"h3"]


def test_empty_log_replays_nothing(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        assert wal.height is None and list(wal.replay()) == []


def test_invalid_misuse(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, max_record_size=10) as wal:
        with pytest.raises(WalError):
            wal.append(b"before any height")
        wal.start_height(5)
        with pytest.raises(ValueError):
            wal.append(b"")
        with pytest.raises(ValueError):
            wal.append(b"eleven byte")
        with pytest.raises(WalError):
            wal.start_height(4)
    with pytest.raises(WalError):
        wal.append(b"closed")


def test_invalid_second_writer_is_locked_out(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path), pytest.raises(WalError, match="in use"):
        WriteAheadLog(tmp_path)


def test_torn_last_record_is_truncated_at_every_byte_offset(tmp_path: Path) -> None:
    source = tmp_path / "source"
    segment = write_log(source, RECORDS)
    data = segment.read_bytes()
    offsets = record_offsets(RECORDS)
    for cut in range(offsets[-2], offsets[-1]):
        directory = tmp_path / f"cut{cut}"
        directory.mkdir()
        (directory / segment.name).write_bytes(data[:cut])
        with WriteAheadLog(directory) as wal:
            assert [e.record for e in wal.replay()] == RECORDS[:-1], cut
            assert wal.recovery.truncated_bytes == cut - offsets[-2]
            wal.append(b"resumed")
        assert (directory / segment.name).stat().st_size == offsets[-2] + RECORD_HEADER_SIZE + 7
        assert replayed(directory) == [*RECORDS[:-1], b"resumed"]


def test_a_cut_tail_is_logged_with_what_was_cut_and_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    segment = write_log(tmp_path, RECORDS)
    offsets = record_offsets(RECORDS)
    segment.write_bytes(segment.read_bytes()[: offsets[-1] - 3])
    with caplog.at_level(logging.WARNING, logger="consensus.wal"), WriteAheadLog(tmp_path) as wal:
        assert wal.recovery.truncated_at == offsets[-2]
        assert wal.recovery.truncated_reason
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = line.getMessage()
    assert f"torn tail of {offsets[-1] - 3 - offsets[-2]} bytes" in text
    assert str(segment) in text and f"at offset {offsets[-2]}" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="consensus.wal"), WriteAheadLog(tmp_path):
        pass
    assert not caplog.records  # a clean log says nothing


def test_torn_tail_of_zeros_or_garbage_is_truncated(tmp_path: Path) -> None:
    offsets = record_offsets(RECORDS)
    for name, tail in [("zeros", bytes(5000)), ("garbage", random.Random(1).randbytes(5000))]:
        directory = tmp_path / name
        segment = write_log(directory, RECORDS)
        data = segment.read_bytes()
        # The last record's pages never reached the disk; the file size did.
        segment.write_bytes(data[: offsets[-2]] + tail)
        assert replayed(directory) == RECORDS[:-1]


def test_unsynced_records_reordered_by_a_crash_count_as_a_torn_tail(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.start_height(1)
        wal.append(b"synced")
        wal.append(b"unsynced one", sync=False)
        wal.append(b"unsynced two", sync=False)
        segment = tmp_path / segment_name(1)
        offsets = record_offsets([b"synced", b"unsynced one", b"unsynced two"])
        data = bytearray(segment.read_bytes())
    # The page holding the middle record was lost, the one after it was not.
    data[offsets[1] : offsets[2]] = bytes(offsets[2] - offsets[1])
    segment.write_bytes(bytes(data))
    assert replayed(tmp_path) == [b"synced"]


def test_invalid_flipped_byte_before_the_tail_is_corruption(tmp_path: Path) -> None:
    segment = write_log(tmp_path / "source", RECORDS)
    data = segment.read_bytes()
    offsets = record_offsets(RECORDS)
    for position in range(offsets[1], offsets[-2]):  # every byte of records 1 to 3
        directory = tmp_path / f"flip{position}"
        directory.mkdir()
        damaged = bytearray(data)
        damaged[position] ^= 0x40
        (directory / segment.name).write_bytes(bytes(damaged))
        with pytest.raises(WalCorrupted) as raised:
            WriteAheadLog(directory)
        message = str(raised.value)
        assert "mv " in message and "double-sign guard" in message
        assert raised.value.offset in offsets
        # Refusing changed nothing, and the lock was released.
        assert (directory / segment.name).read_bytes() == bytes(damaged)
        with pytest.raises(WalCorrupted):
            WriteAheadLog(directory)


def test_invalid_damage_in_an_older_segment_or_a_header_is_corruption(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.start_height(1)
        wal.append(b"one")
        wal.start_height(2)
        wal.append(b"two")
    older = tmp_path / segment_name(1)
    older.write_bytes(older.read_bytes()[:-1])  # a "torn" tail, but not in the last segment
    with pytest.raises(WalCorrupted, match="incomplete"):
        WriteAheadLog(tmp_path)
    older.unlink()
    newer = tmp_path / segment_name(2)
    data = bytearray(newer.read_bytes())
    data[3] ^= 1
    newer.write_bytes(bytes(data))
    with pytest.raises(WalCorrupted, match="header"):
        WriteAheadLog(tmp_path)


def test_invalid_damage_found_during_replay_is_reported(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.start_height(1)
        wal.append_many(RECORDS)
        segment = tmp_path / segment_name(1)
        data = bytearray(segment.read_bytes())
        data[SEGMENT_HEADER_SIZE + RECORD_HEADER_SIZE] ^= 1
        segment.write_bytes(bytes(data))
        with pytest.raises(WalCorrupted):
            list(wal.replay())


def test_unfinished_segment_creation_is_discarded(tmp_path: Path) -> None:
    write_log(tmp_path, [b"kept"])
    (tmp_path / (segment_name(2) + ".tmp")).write_bytes(b"LGW")
    with WriteAheadLog(tmp_path) as wal:
        assert wal.heights() == [1] and wal.height == 1
    assert not (tmp_path / (segment_name(2) + ".tmp")).exists()


@pytest.mark.timeout(120)
def test_sigkill_at_random_moments_leaves_a_complete_contiguous_log(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    directory = tmp_path / "wal"
    last_records = []
    deadline = time.monotonic() + 40
    for _ in range(15):
        if time.monotonic() > deadline:
            break
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.consensus.node.wal_crash_writer", str(directory)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.02, 0.4))
        writer.send_signal(signal.SIGKILL)
        output = writer.stdout.read()
        writer.wait(timeout=10)
        writer.stdout.close()
        acknowledged = [int(line) for line in output.split(b"\n")[:-1]]  # the last may be cut
        with WriteAheadLog(directory) as wal:
            entries = list(wal.replay(from_height=0))
        indices = [int(e.record.split(b":")[0]) for e in entries]
        assert indices == list(range(indices[0], indices[0] + len(indices))), "a gap"
        assert indices[0] % 10 == 0, "the log does not start at a segment boundary"
        for entry, index in zip(entries, indices, strict=True):
            assert entry.record == expected_record(index)
            assert entry.height == index // 10 + 1
        if acknowledged:
            assert acknowledged[-1] <= indices[-1], "an acknowledged record was lost"
        last_records.append(indices[-1])
    assert len(last_records) >= 5
    assert last_records == sorted(last_records)
    assert last_records[-1] > 50
