"""The fast path against the reference, gas bounds, and determinism across
processes, on random valid programs.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.pool import Pool

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vm.fast
from tests.hypothesis_profiles import examples
from tests.vm.conftest import host_state
from tests.vm.random_programs import programs, run_encoded, sample_host
from vm.assembler import assemble
from vm.fast import CompiledProgram, compile_program, execute_compiled
from vm.interpreter import execute
from vm.limits import MAX_UINT
from vm.machine import Machine
from vm.module import encode_module
from vm.result import Status, encode_result
from vm.validator import validate_module

SETTINGS = settings(
    max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
gas_limits = st.one_of(st.integers(0, 400), st.integers(0, 4_000), st.integers(0, 40_000))
arguments = st.tuples(st.integers(0, MAX_UINT), st.binary(max_size=40))


@SETTINGS
@given(programs(), arguments, gas_limits)
def test_fast_path_matches_reference(text: str, args: tuple[int, bytes], gas: int) -> None:
    program = validate_module(assemble(text))
    reference_host, fast_host = sample_host(), sample_host()
    reference = execute(program, "main", args, gas, reference_host)
    fast = execute_compiled(compile_program(program), "main", args, gas, fast_host)
    assert fast == reference
    assert host_state(fast_host) == host_state(reference_host)


@SETTINGS
@given(programs(), arguments, gas_limits)
def test_reference_never_runs_more_than_gas_pays_for(
    text: str, args: tuple[int, bytes], gas: int
) -> None:
    program = validate_module(assemble(text))
    started: list[int] = []

    def trace(machine: Machine) -> None:
        instruction = machine.program.instructions[machine.pc]
        assert instruction is not None
        started.append(machine.schedule.base[instruction.op])

    result = execute(program, "main", args, gas, sample_host(), tracer=trace)
    if result.status is Status.HALT:
        # The last instruction started may be the one that could not pay.
        assert sum(started[:-1]) <= gas
    else:
        assert sum(started) <= result.gas_used <= gas
    # Every instruction costs at least 1, so the count is bounded by gas.
    assert len(started) <= gas + 1


@SETTINGS
@given(programs(), arguments, gas_limits)
def test_fast_path_never_runs_a_block_it_cannot_pay_for(
    text: str, args: tuple[int, bytes], gas: int
) -> None:
    program = validate_module(assemble(text))
    compiled = compile_program(program)
    paid = [0]

    def counted(start: int) -> vm.fast.Block:
        block = compiled.blocks[start]
        assert block is not None
        cost = compiled.costs[start]

        def run_block(stack: list[int | bytes], memory: list[int]) -> int:
            paid[0] += cost
            return block(stack, memory)

        return run_block

    wrapped = CompiledProgram(
        program,
        compiled.schedule,
        tuple(None if b is None else counted(pc) for pc, b in enumerate(compiled.blocks)),
        compiled.costs,
        compiled.source,
    )
    result = execute_compiled(wrapped, "main", args, gas, sample_host())
    assert paid[0] <= gas
    assert result == execute(program, "main", args, gas, sample_host())


def test_out_of_gas_inside_a_block_halts_where_the_reference_does() -> None:
    # A block of two additions and a division by zero: with gas for the
    # first instructions only, both paths must report OUT_OF_GAS; with gas
    # for all, DIVISION_BY_ZERO.
    text = ".entry main int -> int\n PUSH 1\n ADD\n PUSH 0\n DIV\n RET\n"
    program = validate_module(assemble(text))
    compiled = compile_program(program)
    reasons = set()
    for gas in range(0, 16):
        reference = execute(program, "main", (5,), gas, sample_host())
        assert execute_compiled(compiled, "main", (5,), gas, sample_host()) == reference
        reasons.add(reference.halt_reason)
    assert {r.value for r in reasons if r} == {"out_of_gas", "division_by_zero"}


@pytest.fixture(scope="module")
def other_process() -> Iterator[Pool]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        yield pool


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), arguments, gas_limits)
def test_same_result_gas_and_state_in_another_process(
    other_process: Pool, text: str, args: tuple[int, bytes], gas: int
) -> None:
    data = encode_module(assemble(text))
    here = run_encoded(data, args, gas)
    there = other_process.apply(run_encoded, (data, args, gas))
    assert there == here


def test_result_encoding_is_stable() -> None:
    program = validate_module(assemble(".entry main int -> int\n PUSH 1\n ADD\n RET\n"))
    result = execute(program, "main", (41,), 100, sample_host())
    expected = (
        "98"  # array of 8
        "a7"
        + b"success".hex()  # status
        + "07"  # gas used: PUSH1 1 + ADD 2 + RET 4
        + "91"
        + "9200c4012a"  # return values: [[0, b"\x2a"]]
        + "c0"  # no halt reason
        + "90909090"  # no writes, transfers, events, messages
    )
    assert encode_result(result).hex() == expected
