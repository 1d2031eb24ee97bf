"""Control flow, stack and memory: jumps, calls, limits, revert and halt."""

from __future__ import annotations

from tests.vm.conftest import Runner
from vm.errors import HaltReason
from vm.gas import GAS_SCHEDULE_V1
from vm.host import MemoryHost
from vm.limits import MAX_CALL_DEPTH
from vm.opcodes import Op
from vm.result import Status

SUM = """
; sum of 1..n with a loop
.entry main int -> int
    PUSH 0              ; n acc
loop:
    DUP 2
    ISZERO
    JUMPI done
    DUP 2
    ADD                 ; n acc+n
    SWAP 1
    PUSH 1
    SUB
    SWAP 1              ; n-1 acc+n
    JUMP loop
done:
    SWAP 1
    POP
    RET
"""


def test_loop(run: Runner) -> None:
    assert run(SUM, args=(100,)).return_values == (5050,)


def test_gas_used_is_the_sum_of_base_costs(run: Runner) -> None:
    base = GAS_SCHEDULE_V1.base
    per_iteration = (
        sum(
            base[op]
            for op in (Op.DUP, Op.ISZERO, Op.JUMPI, Op.DUP, Op.ADD, Op.SWAP, Op.PUSH1, Op.SUB)
        )
        + base[Op.SWAP]
        + base[Op.JUMP]
    )
    exit_cost = base[Op.DUP] + base[Op.ISZERO] + base[Op.JUMPI]
    tail = base[Op.SWAP] + base[Op.POP] + base[Op.RET]
    expected = base[Op.PUSH1] + 10 * per_iteration + exit_cost + tail
    assert run(SUM, args=(10,)).gas_used == expected


def test_out_of_gas_at_every_limit_consumes_everything(run: Runner) -> None:
    needed = run(SUM, args=(3,)).gas_used
    for gas in range(needed):
        result = run(SUM, args=(3,), gas=gas)
        assert result.status is Status.HALT
        assert result.halt_reason is HaltReason.OUT_OF_GAS
        assert result.gas_used == gas
    assert run(SUM, args=(3,), gas=needed).return_values == (6,)


CALLS = """
.entry main int -> int
    PUSH 10
    CALL double_plus
    RET
.func double_plus int int -> int
    DUP 1
    ADD
    ADD
    RET
"""


def test_call_and_return(run: Runner) -> None:
    assert run(CALLS, args=(1,)).return_values == (21,)


def test_recursion_beyond_call_depth_halts(run: Runner) -> None:
    text = """
    .entry main int -> int
        CALL down
        RET
    .func down int -> int
        DUP 1
        ISZERO
        JUMPI bottom
        PUSH 1
        SUB
        CALL down
    bottom:
        RET
    """
    assert run(text, args=(MAX_CALL_DEPTH - 1,)).return_values == (0,)
    too_deep = run(text, args=(MAX_CALL_DEPTH,), gas=1_000_000)
    assert too_deep.halt_reason is HaltReason.CALL_DEPTH_EXCEEDED
    assert too_deep.gas_used == 1_000_000


def test_stack_overflow_across_calls_halts(run: Runner) -> None:
    # Each frame keeps 200 values; five frames exceed the 1024 stack limit.
    pushes = "\n".join(["    PUSH 1"] * 199)
    pops = "\n".join(["    POP"] * 199)
    text = f"""
    .entry main int -> int
        CALL deep
        RET
    .func deep int -> int
{pushes}
        DUP 200
        ISZERO
        JUMPI out
        DUP 200
        PUSH 1
        SUB
        CALL deep
        POP
    out:
{pops}
        RET
    """
    assert run(text, args=(3,), gas=1_000_000).status is Status.SUCCESS
    result = run(text, args=(6,), gas=1_000_000)
    assert result.halt_reason is HaltReason.STACK_OVERFLOW


def test_revert_returns_unused_gas_and_discards_effects(run: Runner) -> None:
    text = """
    .entry main int -> int
        PUSH "key"
        PUSH "value"
        SSTORE
        PUSH "topic"
        PUSH "data"
        EMIT
        DUP 1
        JUMPI fail
        RET
    fail:
        PUSH "nope"
        REVERT
    """
    host = MemoryHost()
    result = run(text, args=(1,), gas=10_000, host=host)
    assert result.status is Status.REVERT
    assert result.return_values == (b"nope",)
    assert 0 < result.gas_used < 10_000
    assert result.storage_writes == () and result.events == ()
    assert host.storage == {} and host.events == []
    ok = run(text, args=(0,), gas=10_000, host=host)
    assert ok.status is Status.SUCCESS
    assert host.storage == {b"key": b"value"}


def test_halt_discards_effects(run: Runner) -> None:
    text = """
    .entry main -> int
        PUSH "key"
        PUSH "value"
        SSTORE
        PUSH 1
        PUSH 0
        DIV
        RET
    """
    host = MemoryHost()
    result = run(text, host=host, gas=5_000)
    assert result.status is Status.HALT and result.gas_used == 5_000
    assert host.storage == {}


def test_memory_cells(run: Runner) -> None:
    text = """
    .memory 2
    .entry main int -> int
        PUSH 1
        MSTORE
        PUSH 0
        MLOAD
        PUSH 1
        MLOAD
        ADD
        RET
    """
    assert run(text, args=(41,)).return_values == (41,)


def test_memory_out_of_bounds_halts(run: Runner) -> None:
    text = ".memory 2\n.entry main int -> int\n MLOAD\n RET\n"
    assert run(text, args=(1,)).return_values == (0,)
    assert run(text, args=(2,)).halt_reason is HaltReason.MEMORY_OUT_OF_BOUNDS
    store = ".memory 2\n.entry main int -> int\n PUSH 7\n SWAP 1\n MSTORE\n PUSH 0\n RET\n"
    assert run(store, args=(2,)).halt_reason is HaltReason.MEMORY_OUT_OF_BOUNDS


def test_memory_cells_are_charged_up_front(run: Runner) -> None:
    text = ".memory 100\n.entry main -> int\n PUSH 0\n RET\n"
    cost = 100 * GAS_SCHEDULE_V1.memory_cell + GAS_SCHEDULE_V1.base[Op.PUSH1]
    assert run(text).gas_used == cost + GAS_SCHEDULE_V1.base[Op.RET]
    assert run(text, gas=99).halt_reason is HaltReason.OUT_OF_GAS


def test_dup_swap_pop_const(run: Runner) -> None:
    text = """
    .entry main -> int bytes int
        PUSH 1
        PUSH 2
        PUSH 3
        SWAP 2          ; 3 2 1
        POP             ; 3 2
        PUSH "k"        ; 3 2 "k"
        DUP 3           ; 3 2 "k" 3
        SWAP 1          ; 3 2 3 "k"
        SWAP 2          ; 3 "k" 3 2
        POP
        PUSH 100000     ; a CONST
        ADD             ; 3 "k" 100003
        RET
    """
    assert run(text).return_values == (3, b"k", 100003)
