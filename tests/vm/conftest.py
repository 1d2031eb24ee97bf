"""Fixtures for vm tests: run assembly through both interpreters."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import pytest

from vm.assembler import assemble
from vm.fast import compile_program, execute_compiled
from vm.host import MemoryHost
from vm.interpreter import execute
from vm.result import ExecutionResult
from vm.validator import validate_module
from vm.values import Value

Runner = Callable[..., ExecutionResult]


def host_state(host: MemoryHost) -> tuple[object, ...]:
    """Everything a MemoryHost holds, comparable with ==."""
    return (
        sorted(host.storage.items()),
        sorted(host.balances.items()),
        host.events,
        host.messages,
        host.transfers,
    )


def run_both(
    text: str,
    entry: str = "main",
    args: Sequence[Value] = (),
    gas: int = 100_000,
    host: MemoryHost | None = None,
) -> ExecutionResult:
    """Run with the reference and the fast path on copies of `host`; both
    results and final host states must agree. `host` ends in the final state.
    """
    program = validate_module(assemble(text))
    host = MemoryHost() if host is None else host
    fast_host = copy.deepcopy(host)
    reference = execute(program, entry, args, gas, host)
    fast = execute_compiled(compile_program(program), entry, args, gas, fast_host)
    assert fast == reference
    assert host_state(fast_host) == host_state(host)
    return reference


@pytest.fixture
def run() -> Runner:
    """`run(text, entry="main", args=(), gas=100_000, host=None)`."""
    return run_both
