"""docs/spec/vm.md's opcode table agrees with the code."""

from __future__ import annotations

import re
from pathlib import Path

from vm.gas import GAS_SCHEDULE_V1
from vm.opcodes import OP_INFO, Op

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "vm.md"
ROW = re.compile(r"\| 0x([0-9a-f]{2}) \| (\w+) \| ([-12]) \| [^|]+ \| [^|]+ \| (\d+)")


def test_opcode_table_matches_code() -> None:
    rows = ROW.findall(SPEC.read_text())
    assert len(rows) == len(Op)
    for byte, mnemonic, immediate, gas in rows:
        op = Op[mnemonic]
        assert int(byte, 16) == op
        assert (0 if immediate == "-" else int(immediate)) == OP_INFO[op].immediate_size
        assert int(gas) == GAS_SCHEDULE_V1.base[op], mnemonic
