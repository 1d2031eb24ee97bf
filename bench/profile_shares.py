"""Where a node's CPU goes: py-spy samples summed into the rows issue 21 uses.

Input: py-spy's raw format (``--format raw``: one line per distinct stack,
``frame;frame;...;frame COUNT``, outermost first, each frame
``function (file:line)``), as ``bench.devnet_throughput --profile-node I``
writes it. Idle samples are not in it (py-spy leaves them out unless asked).

Each row is the share of all samples whose stack matches the row's rule;
the rows overlap, as a profile's "inclusive" times do (a signature check
inside admission counts in both). "self" rows count only the innermost
frame. The rule for each row is in ``ROWS``, so a reader can check what was
counted.

    python -m bench.profile_shares devnet-profile.txt [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

FRAME: Final = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    file: str


Stack = tuple[Frame, ...]


def parse_frame(text: str) -> Frame:
    """``function (file:line)`` -> Frame; a frame py-spy wrote without a file keeps its text."""
    match = FRAME.match(text.strip())
    if match is None:
        return Frame(text.strip(), "")
    return Frame(match["function"], match["file"])


def parse_raw(lines: Iterable[str]) -> list[tuple[Stack, int]]:
    """Stacks and their sample counts. A frame's text can hold a newline (a
    function compiled from a multi-line string), so a line that does not end
    in a count continues on the next. Raises ValueError for text left without
    a count."""
    stacks: list[tuple[Stack, int]] = []
    pending = ""
    first = 0
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not pending and not line.strip():
            continue
        if not pending:
            first = number
        pending = f"{pending}\\n{line}" if pending else line
        stack_text, _, count_text = pending.rpartition(" ")
        if stack_text and count_text.isdigit():
            frames = tuple(parse_frame(part) for part in stack_text.split(";"))
            stacks.append((frames, int(count_text)))
            pending = ""
    if pending:
        raise ValueError(f"line {first} is not 'stack COUNT': {pending[:80]!r}")
    return stacks


def calls(function: str, file_part: str) -> Callable[[Stack], bool]:
    """Rule: some frame of the stack is ``function`` in a file whose path holds ``file_part``."""
    return lambda stack: any(f.function == function and file_part in f.file for f in stack)


def in_file(file_part: str) -> Callable[[Stack], bool]:
    """Rule: some frame of the stack runs in a file whose path holds ``file_part``."""
    return lambda stack: any(file_part in f.file for f in stack)


def both(*rules: Callable[[Stack], bool]) -> Callable[[Stack], bool]:
    return lambda stack: all(rule(stack) for rule in rules)


def either(*rules: Callable[[Stack], bool]) -> Callable[[Stack], bool]:
    return lambda stack: any(rule(stack) for rule in rules)


def without(
    rule: Callable[[Stack], bool], excluded: Callable[[Stack], bool]
) -> Callable[[Stack], bool]:
    """Rule: ``rule`` holds and ``excluded`` does not."""
    return lambda stack: rule(stack) and not excluded(stack)


def innermost_is(function: str, file_part: str) -> Callable[[Stack], bool]:
    """Rule: the innermost frame (self time) is ``function`` in such a file."""
    return lambda stack: (
        bool(stack) and (stack[-1].function == function and file_part in stack[-1].file)
    )


ADMISSION = either(calls("add", "consensus/node/mempool.py"), calls("add_batch", "mempool.py"))

# (row, rule), in the order of the table, then the rest of the node.
ROWS: Final[tuple[tuple[str, Callable[[Stack], bool]], ...]] = (
    ("`Mempool.add` (CheckTx on gossiped and submitted transactions)", ADMISSION),
    (
        "of which signature verification (`verify_digest`)",
        both(ADMISSION, calls("verify_digest", "ledger/crypto")),
    ),
    (
        "of which executing the body (`apply_transaction`)",
        both(ADMISSION, calls("apply_transaction", "ledger/transition.py")),
    ),
    ("block execution at commit (`execute_block`)", calls("execute_block", "ledger/")),
    (
        "dataclass construction (`__init__` of dataclasses), self time",
        innermost_is("__init__", "<string>"),
    ),
    ("RPC handling on that node (`consensus/node/rpc/`)", in_file("consensus/node/rpc/")),
    (
        "decoding transactions (`decode_transaction`)",
        calls("decode_transaction", "ledger/types.py"),
    ),
    (
        "mempool gossip in and out (`mempool_gossip.py`, `batch_for_gossip`)",
        either(
            in_file("consensus/node/mempool_gossip.py"), calls("batch_for_gossip", "mempool.py")
        ),
    ),
    ("building a proposal (`reap`)", calls("reap", "consensus/node/mempool.py")),
    ("consensus engine (`consensus/engine/`)", in_file("consensus/engine/")),
    (
        "p2p transport (`p2p*.py`, websocket, encryption; not the message handlers)",
        without(in_file("consensus/node/p2p"), calls("_on_p2p_message", "consensus/node/node.py")),
    ),
    ("store writes (`Store.save_block`)", calls("save_block", "ledger/store.py")),
    ("WAL (`wal.py`)", in_file("consensus/node/wal.py")),
)


def shares(stacks: list[tuple[Stack, int]]) -> tuple[int, list[tuple[str, float]]]:
    """Total samples, and each row's share of them."""
    total = sum(count for _, count in stacks)
    if total == 0:
        raise ValueError("the profile holds no samples")
    return total, [
        (name, sum(count for stack, count in stacks if rule(stack)) / total) for name, rule in ROWS
    ]


def markdown(total: int, rows: list[tuple[str, float]]) -> str:
    lines = ["| where | share of samples |", "| --- | --- |"]
    lines += [f"| {name} | {share:.0%} |" for name, share in rows]
    lines.append(f"| (samples, not idle) | {total:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path, help="py-spy --format raw output")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = parser.parse_args(argv)
    try:
        total, rows = shares(parse_raw(args.profile.read_text().splitlines()))
    except (OSError, ValueError) as exc:
        print(f"profile_shares: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"samples": total, "shares": {name: round(s, 4) for name, s in rows}}))
    else:
        print(markdown(total, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
