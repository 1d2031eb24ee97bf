"""Benchmark: metered VM instructions per second on compute-bound contracts.

    python -m bench.vm_interpreter [--quick]

Runs four contracts (a summing loop, iterative Fibonacci, an integer mixing
loop over memory cells, and a loop that calls a helper function) through
the fast path (vm.fast, gas per basic block) and, for comparison, through
the reference interpreter. The reference figure of the output contract is
a bare Python loop doing the same work in the same run, counted in the
same VM-instruction units, so `ratio` says what fraction of bare Python
speed the metered VM reaches. Progress and a table go to stderr; the last
stdout line is the JSON object described in shared/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from vm.assembler import assemble
from vm.fast import compile_program, execute_compiled
from vm.host import MemoryHost
from vm.interpreter import execute
from vm.machine import Machine
from vm.result import Status
from vm.validator import validate_module

MASK = (1 << 256) - 1
GAS_LIMIT = 10**12

SUM = """
.entry main int -> int
    PUSH 0
loop:
    DUP 2
    ISZERO
    JUMPI done
    DUP 2
    ADD
    SWAP 1
    PUSH 1
    SUB
    SWAP 1
    JUMP loop
done:
    SWAP 1
    POP
    RET
"""

FIB = """
.entry main int -> int
    PUSH 0
    PUSH 1              ; n a b
loop:
    DUP 3
    ISZERO
    JUMPI done
    DUP 2
    DUP 2
    ADD                 ; n a b a+b
    SWAP 2
    POP                 ; n a+b b
    SWAP 1              ; n b a+b
    SWAP 2
    PUSH 1
    SUB
    SWAP 2              ; n-1 b a+b
    JUMP loop
done:
    POP
    SWAP 1
    POP
    RET
"""

MIX = """
.memory 2
.entry main int -> int
    PUSH 88172645463325252
    PUSH 0
    MSTORE
loop:
    DUP 1
    ISZERO
    JUMPI done
    PUSH 0
    MLOAD
    PUSH 6364136223846793005
    MUL
    PUSH 1442695040888963407
    ADD
    DUP 1
    PUSH 33
    SHR
    XOR
    DUP 1
    PUSH 0
    MSTORE
    PUSH 0xffff
    AND
    PUSH 1
    MLOAD
    ADD
    PUSH 1
    MSTORE
    PUSH 1
    SUB
    JUMP loop
done:
    POP
    PUSH 1
    MLOAD
    RET
"""

CALLS = """
.entry main int -> int
    PUSH 0
loop:
    DUP 2
    ISZERO
    JUMPI done
    DUP 2
    CALL square_mod
    ADD
    SWAP 1
    PUSH 1
    SUB
    SWAP 1
    JUMP loop
done:
    SWAP 1
    POP
    RET
.func square_mod int -> int
    DUP 1
    MUL
    PUSH 1000003
    MOD
    RET
"""


def python_sum(n: int) -> int:
    acc = 0
    while n:
        acc = (acc + n) & MASK
        n = (n - 1) & MASK
    return acc


def python_fib(n: int) -> int:
    a, b = 0, 1
    while n:
        a, b = b, (a + b) & MASK
        n -= 1
    return a


def python_mix(n: int) -> int:
    x, acc = 88172645463325252, 0
    while n:
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        x ^= x >> 33
        acc = (acc + (x & 0xFFFF)) & MASK
        n -= 1
    return acc


def python_calls(n: int) -> int:
    def square_mod(v: int) -> int:
        return (v * v) % 1000003

    acc = 0
    while n:
        acc = (acc + square_mod(n)) & MASK
        n -= 1
    return acc


@dataclass(frozen=True)
class Workload:
    name: str
    text: str
    python: Callable[[int], int]
    n_full: int
    n_quick: int


WORKLOADS = (
    Workload("sum_loop", SUM, python_sum, 400_000, 60_000),
    Workload("fibonacci", FIB, python_fib, 300_000, 40_000),
    Workload("int_mix", MIX, python_mix, 120_000, 20_000),
    Workload("helper_calls", CALLS, python_calls, 150_000, 20_000),
)


def best_time(action: Callable[[], object], repeats: int) -> float:
    """Shortest wall time of `repeats` runs (the least disturbed by noise)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def count_instructions(workload: Workload, n: int) -> tuple[int, int, int]:
    """Instructions executed, gas used and the result, from the reference."""
    program = validate_module(assemble(workload.text))
    steps = 0

    def tracer(machine: Machine) -> None:
        nonlocal steps
        steps += 1

    result = execute(program, "main", (n,), GAS_LIMIT, MemoryHost(), tracer=tracer)
    assert result.status is Status.SUCCESS
    value = result.return_values[0]
    assert isinstance(value, int)
    return steps, result.gas_used, value


def measure(workload: Workload, n: int, repeats: int) -> dict[str, float | int]:
    """Times of the fast path, the reference and bare Python for one workload."""
    program = validate_module(assemble(workload.text))
    compiled = compile_program(program)
    steps, gas_used, expected = count_instructions(workload, n)
    fast_result = execute_compiled(compiled, "main", (n,), GAS_LIMIT, MemoryHost())
    assert fast_result.return_values == (expected,), "fast path disagrees with reference"
    assert workload.python(n) == expected, "bare Python loop does different work"
    fast = best_time(
        lambda: execute_compiled(compiled, "main", (n,), GAS_LIMIT, MemoryHost()), repeats
    )
    reference = best_time(
        lambda: execute(program, "main", (n,), GAS_LIMIT, MemoryHost()), max(1, repeats // 2)
    )
    bare = best_time(lambda: workload.python(n), repeats)
    return {
        "n": n,
        "instructions": steps,
        "gas_used": gas_used,
        "fast_s": fast,
        "reference_s": reference,
        "python_s": bare,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.vm_interpreter")
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    options = parser.parse_args(argv)
    repeats = 3 if options.quick else 5
    rows = {}
    for workload in WORKLOADS:
        n = workload.n_quick if options.quick else workload.n_full
        print(f"running {workload.name} (n={n}) ...", file=sys.stderr)
        rows[workload.name] = measure(workload, n, repeats)
    instructions = sum(int(r["instructions"]) for r in rows.values())
    fast_s = sum(r["fast_s"] for r in rows.values())
    reference_s = sum(r["reference_s"] for r in rows.values())
    python_s = sum(r["python_s"] for r in rows.values())
    value = instructions / fast_s
    bare = instructions / python_s
    print(
        f"\n{'contract':<14}{'instr':>10}{'fast i/s':>14}{'ref i/s':>14}{'python':>14}",
        file=sys.stderr,
    )
    for name, r in rows.items():
        count = int(r["instructions"])
        print(
            f"{name:<14}{count:>10}{count / r['fast_s']:>14,.0f}"
            f"{count / r['reference_s']:>14,.0f}{count / r['python_s']:>14,.0f}",
            file=sys.stderr,
        )
    print(
        f"{'total':<14}{instructions:>10}{value:>14,.0f}{instructions / reference_s:>14,.0f}"
        f"{bare:>14,.0f}",
        file=sys.stderr,
    )
    report = {
        "bench": "vm_interpreter",
        "value": round(value, 1),
        "unit": "instr/s",
        "reference": {"name": "bare_python_loop", "value": round(bare, 1), "unit": "ops/s"},
        "ratio": round(value / bare, 4),
        "params": {
            "quick": options.quick,
            "repeats": repeats,
            "gas_schedule": 1,
            "workloads": {name: int(r["n"]) for name, r in rows.items()},
        },
        "extra": {
            "reference_interpreter_instr_s": round(instructions / reference_s, 1),
            "fast_over_reference": round(reference_s / fast_s, 2),
            "instructions": instructions,
            "per_workload_instr_s": {
                name: round(int(r["instructions"]) / r["fast_s"], 1) for name, r in rows.items()
            },
            "python": platform.python_version(),
        },
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
