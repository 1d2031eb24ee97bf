"""bench.profile_shares: py-spy's collapsed stacks summed into the profile table's rows."""

from __future__ import annotations

import pytest

from bench.profile_shares import main, parse_frame, parse_raw, shares

ADMIT = "add (consensus/node/mempool.py:248);_admit (consensus/node/mempool.py:302)"
VERIFY = "check_signature (ledger/transition.py:90);verify_digest (ledger/crypto.py:113)"
RAW = [
    f"<module> (cli/main.py:5);run (asyncio/runners.py:1);{ADMIT};{VERIFY} 30",
    f"<module> (cli/main.py:5);run (asyncio/runners.py:1);{ADMIT} 10",
    "<module> (cli/main.py:5);execute_block (ledger/chain.py:138);__init__ (<string>:3) 20",
    "<module> (cli/main.py:5);handle (consensus/node/rpc/server.py:40) 40",
]


def row(rows: list[tuple[str, float]], prefix: str) -> float:
    (share,) = [s for name, s in rows if name.startswith(prefix)]
    return share


def test_rows_count_the_samples_whose_stacks_match() -> None:
    total, rows = shares(parse_raw(RAW))
    assert total == 100
    assert row(rows, "`Mempool.add`") == pytest.approx(0.40)
    assert row(rows, "of which signature") == pytest.approx(0.30)
    assert row(rows, "of which executing") == 0.0
    assert row(rows, "block execution") == pytest.approx(0.20)
    assert row(rows, "dataclass construction") == pytest.approx(0.20)
    assert row(rows, "RPC handling") == pytest.approx(0.40)


def test_a_frame_names_its_function_and_file() -> None:
    frame = parse_frame("_admit (consensus/node/mempool.py:302)")
    assert (frame.function, frame.file) == ("_admit", "consensus/node/mempool.py")
    assert parse_frame("<lambda> (<string>)").file == "<string>"


def test_a_line_without_a_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_raw(["frame (a.py:1)"])
    with pytest.raises(ValueError, match="no samples"):
        shares([])


def test_the_command_prints_the_table(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    profile = tmp_path / "profile.txt"
    profile.write_text("\n".join(RAW) + "\n")
    assert main([str(profile)]) == 0
    out = capsys.readouterr().out
    assert "| `Mempool.add` (CheckTx on gossiped and submitted transactions) | 40% |" in out
    assert main([str(tmp_path / "missing.txt")]) == 2


def test_transport_time_leaves_out_the_message_handlers() -> None:
    reader = "_read_frames (consensus/node/p2p.py:807)"
    handler = "_on_p2p_message (consensus/node/node.py:927);_on_vote (consensus/engine/engine.py:1)"
    _, rows = shares(parse_raw([f"{reader};{handler} 3", f"{reader};decrypt (aead.py:1) 1"]))
    assert row(rows, "p2p transport") == pytest.approx(0.25)
    assert row(rows, "consensus engine") == pytest.approx(0.75)


def test_a_frame_with_a_newline_continues_on_the_next_line() -> None:
    stacks = parse_raw(
        ["main (cli/main.py:1);<module> (<string", ">:1) 7", "main (cli/main.py:1) 3"]
    )
    assert [count for _, count in stacks] == [7, 3]
    assert stacks[0][0][0].function == "main"
