"""The mempool journal (consensus.node.mempool_journal): records survive a
reopen, a torn tail is ignored, a rewrite replaces the contents."""

from __future__ import annotations

from pathlib import Path

from consensus.node.mempool_journal import REWRITE_SLACK, MempoolJournal
from ledger.types import MAX_TX_SIZE
from tests.consensus.node.memory_chain import transfer

TXS = [transfer(0, 1, 5, n) for n in range(4)]


def test_appended_transactions_are_recovered_in_order(tmp_path: Path) -> None:
    path = tmp_path / "mempool.journal"
    journal = MempoolJournal(path)
    journal.append(TXS[:1])
    journal.append(TXS[1:3])
    journal.close()  # no sync: what a killed process leaves
    reopened = MempoolJournal(path)
    assert reopened.recover() == [tx.encode() for tx in TXS[:3]]
    assert reopened.size == path.stat().st_size


def test_a_torn_or_damaged_tail_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "mempool.journal"
    journal = MempoolJournal(path)
    journal.append(TXS[:2])
    journal.close()
    whole = path.read_bytes()
    path.write_bytes(whole[:-3])  # the last record cut short
    assert MempoolJournal(path).recover() == [TXS[0].encode()]
    path.write_bytes(whole + (MAX_TX_SIZE + 1).to_bytes(4, "big") + b"\x00" * 10)
    assert MempoolJournal(path).recover() == [tx.encode() for tx in TXS[:2]]


def test_rewrite_replaces_the_contents_and_appends_continue(tmp_path: Path) -> None:
    path = tmp_path / "mempool.journal"
    journal = MempoolJournal(path)
    journal.append(TXS)
    journal.rewrite(TXS[2:3])
    journal.append(TXS[3:])
    assert journal.recover() == [TXS[2].encode(), TXS[3].encode()]
    assert not (tmp_path / "mempool.journal.tmp").exists()
    assert journal.size == path.stat().st_size


def test_needs_rewrite_once_much_larger_than_the_mempool(tmp_path: Path) -> None:
    journal = MempoolJournal(tmp_path / "mempool.journal")
    journal.append(TXS)
    assert not journal.needs_rewrite(0)
    copies = REWRITE_SLACK // len(TXS[0].encode()) + 1
    journal.append(TXS[:1] * copies)  # the same transaction: a mempool holding little
    held = len(TXS[0].encode())
    assert journal.needs_rewrite(held) and not journal.needs_rewrite(journal.size // 2)
