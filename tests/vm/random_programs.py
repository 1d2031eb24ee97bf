"""A hypothesis strategy for random *valid* programs, in assembly text.

Programs are built from a typed stack model, so every one must pass the
validator (a rejection is a bug in the generator or the validator). They
mix arithmetic, byte strings, memory, storage, events, messages, helper
calls, branches, loops (counters in memory, bounded only by gas) and
reverts, and they often run out of gas or halt part-way through a block.

`run_encoded` is the entry point for the second process in the
cross-process determinism test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from vm.host import MemoryHost
from vm.interpreter import execute
from vm.module import decode_module
from vm.result import encode_result
from vm.validator import validate_module

INT, BYTES = "int", "bytes"
MEMORY_CELLS = 4
KEYS = ['"k0"', '"k1"', 'x"00ff"']

BINARY_INT = ["ADD", "SUB", "MUL", "DIV", "MOD", "LT", "GT", "AND", "OR", "XOR", "SHL", "SHR"]


@dataclass
class _Writer:
    draw: st.DrawFn
    lines: list[str] = field(default_factory=list)
    labels: int = 0
    budget: int = 40

    def label(self) -> str:
        self.labels += 1
        return f"l{self.labels}"

    def emit(self, *lines: str) -> None:
        self.lines.extend(lines)


def _int_literal(draw: st.DrawFn) -> str:
    return str(
        draw(
            st.one_of(
                st.integers(0, 3),
                st.integers(0, 300),
                st.integers(0, 1 << 20),
                st.sampled_from([255, 256, 65535, 65536, (1 << 256) - 1, 1 << 255]),
            )
        )
    )


def _bytes_literal(draw: st.DrawFn) -> str:
    return 'x"' + draw(st.binary(max_size=40)).hex() + '"'


def _straight(w: _Writer, stack: list[str]) -> None:
    """One stack-typed instruction (or a short idiom) on `stack`, which holds
    the types of the values this segment owns.
    """
    draw = w.draw
    top = stack[-1] if stack else None
    second = stack[-2] if len(stack) > 1 else None
    choices = ["push_int", "push_bytes", "mload", "env"]
    if stack:
        choices += ["dup", "pop"]
    if len(stack) > 1:
        choices += ["swap"]
    if top == INT:
        choices += ["unary_int", "mstore", "itob", "call"]
    if top == INT and second == INT:
        choices += ["binary_int", "binary_int", "exp"]
    if top == BYTES:
        choices += ["len", "slice", "btoi", "sha256", "sstore", "emit"]
    if top == BYTES and second == BYTES:
        choices += ["concat"]
    if top is not None and top == second:
        choices += ["eq"]
    choices += ["sload", "sdel", "send", "transfer"]
    choice = draw(st.sampled_from(choices))
    if choice == "push_int":
        w.emit(f"PUSH {_int_literal(draw)}")
        stack.append(INT)
    elif choice == "push_bytes":
        w.emit(f"PUSH {_bytes_literal(draw)}")
        stack.append(BYTES)
    elif choice == "mload":
        w.emit(f"PUSH {draw(st.integers(0, MEMORY_CELLS))}", "MLOAD")
        stack.append(INT)
    elif choice == "env":
        op = draw(st.sampled_from(["CALLER", "ADDRESS", "HEIGHT", "TIME", "BALANCE"]))
        if op == "BALANCE":
            w.emit('PUSH "contract"')
        w.emit(op)
        stack.append(BYTES if op in ("CALLER", "ADDRESS") else INT)
    elif choice == "dup":
        depth = draw(st.integers(1, len(stack)))
        w.emit(f"DUP {depth}")
        stack.append(stack[-depth])
    elif choice == "pop":
        w.emit("POP")
        stack.pop()
    elif choice == "swap":
        depth = draw(st.integers(1, len(stack) - 1))
        w.emit(f"SWAP {depth}")
        stack[-1], stack[-1 - depth] = stack[-1 - depth], stack[-1]
    elif choice == "unary_int":
        w.emit(draw(st.sampled_from(["ISZERO", "NOT"])))
    elif choice == "mstore":
        w.emit(f"PUSH {draw(st.integers(0, MEMORY_CELLS))}", "MSTORE")
        stack.pop()
    elif choice == "itob":
        w.emit("ITOB")
        stack[-1] = BYTES
    elif choice == "call":
        w.emit("CALL helper")
    elif choice == "binary_int":
        w.emit(draw(st.sampled_from(BINARY_INT)))
        stack.pop()
    elif choice == "exp":
        w.emit("EXP")
        stack.pop()
    elif choice == "len":
        w.emit("LEN")
        stack[-1] = INT
    elif choice == "slice":
        w.emit(f"PUSH {draw(st.integers(0, 8))}", f"PUSH {draw(st.integers(0, 8))}", "SLICE")
    elif choice == "btoi":
        w.emit("BTOI")
        stack[-1] = INT
    elif choice == "sha256":
        w.emit("SHA256")
    elif choice == "sstore":
        w.emit(f"PUSH {draw(st.sampled_from(KEYS))}", "SWAP 1", "SSTORE")
        stack.pop()
    elif choice == "emit":
        w.emit('PUSH "topic"', "SWAP 1", "EMIT")
        stack.pop()
    elif choice == "concat":
        w.emit("CONCAT")
        stack.pop()
    elif choice == "eq":
        w.emit("EQ")
        stack.pop()
        stack[-1] = INT
    elif choice == "sload":
        w.emit(f"PUSH {draw(st.sampled_from(KEYS))}", "SLOAD")
        stack.append(BYTES)
    elif choice == "sdel":
        w.emit(f"PUSH {draw(st.sampled_from(KEYS))}", "SDEL")
    elif choice == "send":
        w.emit('PUSH "peer"', 'PUSH "deliver"', f"PUSH {_int_literal(draw)}")
        argc = draw(st.integers(0, min(2, len(stack))))
        for _ in range(argc):
            w.emit(f"DUP {argc + 3}")
        w.emit(f"SEND {argc}")
    else:
        assert choice == "transfer"
        w.emit('PUSH "peer"', f"PUSH {draw(st.integers(0, 40))}", "TRANSFER")


def _segment(w: _Writer, depth: int, stack: list[str]) -> None:
    """A run of statements; nested constructs own their values and leave
    the stack as they found it.
    """
    count = w.draw(st.integers(0, 8))
    for _ in range(count):
        if w.budget <= 0:
            return
        w.budget -= 1
        kind = w.draw(st.sampled_from(["op", "op", "op", "op", "if", "loop", "revert"]))
        if kind == "op" or depth >= 2:
            _straight(w, stack)
        elif kind == "if":
            _if(w, depth, stack)
        elif kind == "loop":
            _loop(w, depth)
        else:
            _guarded_revert(w, stack)


def _condition(w: _Writer, stack: list[str]) -> None:
    ints = [i for i, t in enumerate(reversed(stack), start=1) if t == INT]
    if ints and w.draw(st.booleans()):
        w.emit(f"DUP {w.draw(st.sampled_from(ints))}")
    else:
        w.emit(f"PUSH {w.draw(st.integers(0, MEMORY_CELLS - 1))}", "MLOAD")


def _if(w: _Writer, depth: int, stack: list[str]) -> None:
    end = w.label()
    _condition(w, stack)
    w.emit(f"JUMPI {end}")
    _balanced(w, depth + 1)
    w.emit(f"{end}:")


def _loop(w: _Writer, depth: int) -> None:
    top, end = w.label(), w.label()
    cell = 3 - depth
    w.emit(f"PUSH {w.draw(st.integers(0, 6))}", f"PUSH {cell}", "MSTORE", f"{top}:")
    w.emit(f"PUSH {cell}", "MLOAD", "ISZERO", f"JUMPI {end}")
    _balanced(w, depth + 1)
    w.emit(f"PUSH {cell}", "MLOAD", "PUSH 1", "SUB", f"PUSH {cell}", "MSTORE", f"JUMP {top}")
    w.emit(f"{end}:")


def _guarded_revert(w: _Writer, stack: list[str]) -> None:
    skip = w.label()
    _condition(w, stack)
    w.emit(f"JUMPI {skip}", f"PUSH {_int_literal(w.draw)}", "REVERT", f"{skip}:")


def _balanced(w: _Writer, depth: int) -> None:
    own: list[str] = []
    _segment(w, depth, own)
    w.emit(*["POP"] * len(own))


@st.composite
def programs(draw: st.DrawFn) -> str:
    """Assembly text of a valid module with entry `main int bytes -> int`."""
    w = _Writer(draw)
    w.emit(f".memory {MEMORY_CELLS}", ".entry main int bytes -> int")
    stack = [INT, BYTES]
    _segment(w, 0, stack)
    w.emit(*["POP"] * len(stack), "PUSH 0", "MLOAD", "RET")
    w.emit(".func helper int -> int")
    helper: list[str] = [INT]
    w.budget = 6
    for _ in range(draw(st.integers(0, 6))):
        _straight(w, helper)
    w.emit(*["POP"] * len(helper), "PUSH 1", "MLOAD", "RET")
    return "\n".join(w.lines) + "\n"


def sample_host() -> MemoryHost:
    """The host every random program runs against."""
    return MemoryHost(
        height=7,
        time=1_700_000_000,
        storage={b"k0": b"stored"},
        balances={b"contract": 100, b"peer": 5},
    )


def run_encoded(module_bytes: bytes, args: tuple[int, bytes], gas: int) -> bytes:
    """Decode, validate and run `main` with the reference interpreter on a
    fresh sample host; the canonical result encoding plus the host's final
    storage and balances, for comparing across processes.
    """
    program = validate_module(decode_module(module_bytes))
    host = sample_host()
    result = execute(program, "main", args, gas, host)
    state = repr((sorted(host.storage.items()), sorted(host.balances.items())))
    return encode_result(result) + state.encode()
