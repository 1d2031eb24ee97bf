"""The VM's Host over the ledger State, and running one contract execution.

`run_execution` is the one place the ledger runs contract code. It opens a
journal scope, runs the entry point with the compiled program (cached by
code hash), and keeps the scope only if the execution succeeded *and* the
contract could pay for what it sent: the network credits for its events and
messages, and the gas its messages carry (reserved from its cpu credits now,
the unused part refunded after each delivery). Anything else reverts the
scope, so a failed execution leaves no trace but the gas its payer burns.

Who pays the gas of the execution itself is the caller's business (the call
executor, message delivery, the scheduler): `run_execution` only reports
`gas_used`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from ledger import crypto
from ledger.address import ADDRESS_SIZE
from ledger.context import BlockContext
from ledger.features.contracts.credits import (
    CPU,
    MAX_EXECUTION_GAS,
    NET,
    burn,
    can_pay,
    gas_cost,
    network_cost,
)
from ledger.features.contracts.records import (
    read_code,
    read_record,
    storage_delete,
    storage_get,
    storage_set,
)
from ledger.fields import NATIVE_ASSET
from ledger.state import BalanceOverflow, State
from vm.effects import Event as VMEvent
from vm.effects import Message
from vm.errors import InvocationError
from vm.fast import CompiledProgram, compile_program, execute_compiled
from vm.result import Status
from vm.validator import Program, load_program
from vm.values import Value

PROGRAM_CACHE_SIZE: Final = 64

SUCCESS: Final = "success"
REVERT: Final = "revert"
HALT: Final = "halt"
FAILED: Final = "failed"
"""Ran to success, but the ledger refused its effects (the contract cannot
pay for what it sent, a transfer to a non-address, a limit): all reverted."""
NOT_INVOKED: Final = "not_invoked"
"""The entry point does not exist or the arguments do not fit: nothing ran."""


class ProgramCache:
    """Compiled programs by code hash, least recently used dropped first.

    Compiling is pure (vm.fast.compile_program is deterministic), so the cache
    changes speed, never results.
    """

    def __init__(self, capacity: int = PROGRAM_CACHE_SIZE) -> None:
        self.capacity = capacity
        self._programs: OrderedDict[bytes, CompiledProgram] = OrderedDict()

    def get(self, code_hash: bytes, load_code: Callable[[], bytes]) -> CompiledProgram:
        """The compiled program for ``code_hash``, loading the code on a miss."""
        compiled = self._programs.get(code_hash)
        if compiled is None:
            code = load_code()
            assert hashlib.sha256(code).digest() == code_hash, "stored code does not match its hash"
            compiled = self.put(code_hash, load_program(code))
        else:
            self._programs.move_to_end(code_hash)
        return compiled

    def put(self, code_hash: bytes, program: Program) -> CompiledProgram:
        """Compile and remember a validated program (unless it is cached)."""
        compiled = self._programs.get(code_hash)
        if compiled is None:
            compiled = compile_program(program)
            self._programs[code_hash] = compiled
        self._programs.move_to_end(code_hash)
        while len(self._programs) > self.capacity:
            self._programs.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._programs)


PROGRAMS: Final = ProgramCache()


@dataclass(eq=False)
class LedgerHost:
    """vm.host.Host for one execution of the contract at ``contract``.

    Reads see the State (inside the execution's scope); writes go to it
    directly, since the interpreter calls them only after success and the
    scope is reverted if the ledger refuses the result. A write the ledger
    cannot honour (a transfer to something that is not a 20-byte address, a
    balance overflow) is recorded in ``refusal`` instead of raising.
    """

    state: State
    ctx: BlockContext
    contract: bytes
    caller_address: bytes
    value: int = 0
    events: list[VMEvent] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    refusal: str = ""

    def storage_get(self, key: bytes) -> bytes:
        return storage_get(self.state, self.contract, key) or b""

    def storage_set(self, key: bytes, value: bytes) -> None:
        storage_set(self.state, self.contract, key, value)

    def storage_delete(self, key: bytes) -> None:
        storage_delete(self.state, self.contract, key)

    def balance(self, address: bytes) -> int:
        """Coin balance; 0 for anything that is not a 20-byte address."""
        if len(address) != ADDRESS_SIZE:
            return 0
        return self.state.get_account(address).balance(NATIVE_ASSET)

    def transfer(self, recipient: bytes, amount: int) -> None:
        if len(recipient) != ADDRESS_SIZE:
            self.refusal = self.refusal or "transfer to a recipient that is not a 20-byte address"
            return
        try:
            self.state.add_balance(recipient, NATIVE_ASSET, amount)
        except BalanceOverflow as overflow:
            self.refusal = self.refusal or f"transfer: {overflow}"
            return
        self.state.sub_balance(self.contract, NATIVE_ASSET, amount)

    def caller(self) -> bytes:
        return self.caller_address

    def call_value(self) -> int:
        """Coin paid with this call (pay_call), already in the contract's balance."""
        return self.value

    def contract_address(self) -> bytes:
        return self.contract

    def block_height(self) -> int:
        return self.ctx.height

    def block_time(self) -> int:
        """Seconds: the block header's time_ms // 1000."""
        return self.ctx.time_ms // 1000

    def emit_event(self, event: VMEvent) -> None:
        self.events.append(event)

    def send_message(self, message: Message) -> None:
        self.messages.append(message)

    def sha256(self, data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def verify_signature(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """A ledger signature: 64-byte low-S compact ECDSA by a 33-byte
        compressed secp256k1 key over SHA-256(message)."""
        return crypto.verify_digest(public_key, crypto.sha256(message), signature)


@dataclass(frozen=True, slots=True)
class Run:
    """What one execution did, as the ledger sees it.

    ``messages`` are to be delivered; their gas is already reserved from the
    contract's cpu credits. ``events`` are empty unless ``status`` is SUCCESS.
    """

    status: str
    gas_used: int
    error: str = ""
    return_values: tuple[Value, ...] = ()
    events: tuple[VMEvent, ...] = ()
    messages: tuple[Message, ...] = ()


def run_execution(
    state: State,
    ctx: BlockContext,
    contract: bytes,
    entry: str,
    args: Sequence[Value],
    gas: int,
    caller: bytes,
    value: int = 0,
) -> Run:
    """Run ``entry(args)`` of the contract at ``contract`` with ``gas`` in its
    own journal scope, keeping the effects only on success (see the module
    docstring). The gas is not paid here (the caller reserves and settles
    it), but the gas used is counted on the block's gas meter, which must
    have room for all of ``gas`` (the caller checks ``ctx.gas.fits``).
    ``value`` is the coin paid with the call (already moved to the
    contract), which ``CALLVALUE`` reads."""
    assert ctx.gas.fits(gas), "an execution started without room in the block gas limit"
    record = read_record(state, contract)
    assert record is not None, "run_execution needs a live contract"
    compiled = PROGRAMS.get(record.code_hash, lambda: _code(state, contract))
    host = LedgerHost(state, ctx, contract, caller, value)
    state.begin()
    try:
        result = execute_compiled(compiled, entry, args, gas, host)
    except InvocationError as exc:
        state.revert()
        return Run(NOT_INVOKED, 0, str(exc))
    ctx.gas.charge(result.gas_used)
    if result.status is Status.REVERT:
        state.revert()
        return Run(REVERT, result.gas_used, _describe(result.return_values), result.return_values)
    if result.status is Status.HALT:
        state.revert()
        assert result.halt_reason is not None
        return Run(HALT, result.gas_used, result.halt_reason.value)
    refusal = host.refusal or _refuse_sending(state, contract, host)
    if refusal:
        state.revert()
        return Run(FAILED, result.gas_used, refusal)
    state.commit()
    return Run(
        SUCCESS,
        result.gas_used,
        return_values=result.return_values,
        events=tuple(host.events),
        messages=tuple(host.messages),
    )


def _refuse_sending(state: State, contract: bytes, host: LedgerHost) -> str:
    """Charge the contract for what it sent, or say why it cannot."""
    events, messages = tuple(host.events), tuple(host.messages)
    if any(m.gas > MAX_EXECUTION_GAS for m in messages):
        return f"a message carries more than {MAX_EXECUTION_GAS} gas"
    network = network_cost(events, messages)
    if not can_pay(state, contract, NET, network):
        return f"contract cannot pay {network} net credits for its events and messages"
    reserved = gas_cost(sum(m.gas for m in messages))
    if not can_pay(state, contract, CPU, reserved):
        return f"contract cannot reserve {reserved} cpu credits for its messages' gas"
    burn(state, contract, NET, network)
    state.sub_balance(contract, CPU, reserved)
    return ""


def _code(state: State, contract: bytes) -> bytes:
    code = read_code(state, contract)
    assert code is not None, "a contract record without code"
    return code


def _describe(values: tuple[Value, ...]) -> str:
    """A REVERT operand as receipt text: bytes as UTF-8 if printable, else hex."""
    (value,) = values
    if isinstance(value, int):
        return f"reverted with {value}"
    text = value.decode("utf-8", "replace")
    if text.isprintable():
        return f"reverted: {text}"
    return f"reverted: 0x{value.hex()}"
