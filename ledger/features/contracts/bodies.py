"""Transaction bodies of the contract kinds (tags 10-19) and contract addresses.

=====  ========  ==============================================================
kind   name      fields
=====  ========  ==============================================================
10     deploy    module bytes, cpu, disk, net (credits moved to the contract),
                 salt bytes (0..32), schedule ``nil | [entry, interval, gas]``
11     call      contract bytes(20), entry text, args ``[[tag, bytes], ...]``,
                 gas_limit
12     fund      contract bytes(20), cpu, disk, net
13     pay_call  a call's four fields, then amount (coin paid to the contract
                 with the call; ``CALLVALUE`` reads it)
=====  ========  ==============================================================

Decoding is strict (every field's type and range is checked here); whether
the module is valid VM code is checked when the deploy executes, so a
malformed module gets a failure receipt rather than keeping the transaction
out of a block. Executors: ledger.features.contracts.execution. Spec:
docs/spec/contracts.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger.address import ADDRESS_SIZE, derive_address
from ledger.fields import DecodeError, check_amount, check_bytes, ensure
from vm.limits import MAX_MODULE_BYTES, MAX_PARAMS
from vm.values import Value, decode_value, encode_value

CONTRACT_DOMAIN: Final = "ledger/contract"
MAX_SALT: Final = 32
MAX_CALL_GAS: Final = 10_000_000
"""Most gas one execution may have (call, message or scheduled run)."""
MAX_SCHEDULE_INTERVAL: Final = 1 << 32
ENTRY_RE: Final = re.compile(r"^[a-z_][a-z0-9_]{0,31}\Z")


def contract_address(deployer: bytes, nonce: int, salt: bytes = b"") -> bytes:
    """The address of the contract ``deployer`` creates with the transaction
    of nonce ``nonce``: ``derive_address("ledger/contract", deployer ||
    nonce as 8 bytes big-endian || salt)``."""
    return derive_address(CONTRACT_DOMAIN, deployer + nonce.to_bytes(8, "big") + salt)


def check_entry(value: object, name: str = "entry") -> str:
    """An entry point name ``[a-z_][a-z0-9_]{0,31}`` or DecodeError."""
    ensure(isinstance(value, str) and ENTRY_RE.match(value) is not None, f"invalid {name}")
    return value  # type: ignore[return-value]


def check_gas(value: object, name: str) -> int:
    """A gas amount in [1, MAX_CALL_GAS] or DecodeError."""
    ensure(
        type(value) is int and 1 <= value <= MAX_CALL_GAS, f"{name} must be in [1, {MAX_CALL_GAS}]"
    )
    return value  # type: ignore[return-value]


def value_from_fields(value: object) -> Value:
    """A VM value from its decoded ``[tag, bytes]`` form. Raises DecodeError."""
    ensure(isinstance(value, tuple), "an argument must be [tag, bytes]")
    assert isinstance(value, tuple)
    try:
        return decode_value(list(value))
    except ValueError as exc:
        raise DecodeError(f"argument: {exc}") from exc


def value_to_fields(value: Value) -> tuple[int, bytes]:
    tag, payload = encode_value(value)
    assert isinstance(tag, int) and isinstance(payload, bytes)
    return (tag, payload)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Run entry point ``entry`` (no arguments) every ``interval`` blocks with
    ``gas`` gas, paid from the contract's own cpu credits."""

    entry: str
    interval: int
    gas: int

    def to_value(self) -> tuple[Any, ...]:
        return (self.entry, self.interval, self.gas)


def schedule_from_value(value: object) -> Schedule:
    """A schedule from ``[entry, interval, gas]``. Raises DecodeError."""
    ensure(isinstance(value, tuple) and len(value) == 3, "schedule is [entry, interval, gas]")
    assert isinstance(value, tuple)
    entry, interval, gas = value
    ensure(
        type(interval) is int and 1 <= interval <= MAX_SCHEDULE_INTERVAL,
        f"schedule interval must be in [1, {MAX_SCHEDULE_INTERVAL}]",
    )
    return Schedule(check_entry(entry, "schedule entry"), interval, check_gas(gas, "schedule gas"))


@dataclass(frozen=True, slots=True)
class Deploy:
    """Create a contract from ``module`` and give it credits from the sender."""

    KIND: ClassVar[int] = 10
    NAME: ClassVar[str] = "deploy"
    module: bytes
    cpu: int = 0
    disk: int = 0
    net: int = 0
    salt: bytes = b""
    schedule: Schedule | None = None

    def to_fields(self) -> tuple[Any, ...]:
        schedule = None if self.schedule is None else self.schedule.to_value()
        return (self.module, self.cpu, self.disk, self.net, self.salt, schedule)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Deploy:
        ensure(len(fields) == 6, "deploy has 6 fields")
        module, cpu, disk, net, salt, schedule = fields
        ensure(isinstance(module, bytes) and len(module) >= 1, "module must be non-empty bytes")
        return cls(
            check_bytes(module, "module", max_size=MAX_MODULE_BYTES),
            check_amount(cpu, "cpu"),
            check_amount(disk, "disk"),
            check_amount(net, "net"),
            check_bytes(salt, "salt", max_size=MAX_SALT),
            None if schedule is None else schedule_from_value(schedule),
        )


@dataclass(frozen=True, slots=True)
class Call:
    """Run entry point ``entry`` of ``contract`` with ``args``; the sender
    pays up to ``gas_limit`` gas in cpu credits."""

    KIND: ClassVar[int] = 11
    NAME: ClassVar[str] = "call"
    contract: bytes
    entry: str
    args: tuple[Value, ...]
    gas_limit: int

    def to_fields(self) -> tuple[Any, ...]:
        return (
            self.contract,
            self.entry,
            tuple(value_to_fields(a) for a in self.args),
            self.gas_limit,
        )

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Call:
        ensure(len(fields) == 4, "call has 4 fields")
        contract, entry, args, gas_limit = fields
        ensure(isinstance(args, tuple) and len(args) <= MAX_PARAMS, f"args: at most {MAX_PARAMS}")
        return cls(
            check_bytes(contract, "contract", ADDRESS_SIZE),
            check_entry(entry),
            tuple(value_from_fields(a) for a in args),
            check_gas(gas_limit, "gas_limit"),
        )


@dataclass(frozen=True, slots=True)
class Fund:
    """Move credits from the sender to an existing contract."""

    KIND: ClassVar[int] = 12
    NAME: ClassVar[str] = "fund"
    contract: bytes
    cpu: int = 0
    disk: int = 0
    net: int = 0

    def to_fields(self) -> tuple[Any, ...]:
        return (self.contract, self.cpu, self.disk, self.net)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Fund:
        ensure(len(fields) == 4, "fund has 4 fields")
        contract, cpu, disk, net = fields
        return cls(
            check_bytes(contract, "contract", ADDRESS_SIZE),
            check_amount(cpu, "cpu"),
            check_amount(disk, "disk"),
            check_amount(net, "net"),
        )


@dataclass(frozen=True, slots=True)
class PayCall:
    """Pay ``amount`` coin to ``contract`` and run ``entry(args)`` there, as
    one: the contract reads the payment with ``CALLVALUE`` (it is already in
    its balance), and if the run fails the payment goes back with everything
    else. The sender pays up to ``gas_limit`` gas in cpu credits, as for a
    call."""

    KIND: ClassVar[int] = 13
    NAME: ClassVar[str] = "pay_call"
    contract: bytes
    entry: str
    args: tuple[Value, ...]
    gas_limit: int
    amount: int

    def to_fields(self) -> tuple[Any, ...]:
        return (*self.as_call().to_fields(), self.amount)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> PayCall:
        ensure(len(fields) == 5, "pay_call has 5 fields")
        call = Call.from_fields(fields[:4])
        amount = check_amount(fields[4], "amount")
        ensure(amount >= 1, "amount must be at least 1 (a call without payment is a call)")
        return cls(call.contract, call.entry, call.args, call.gas_limit, amount)

    def as_call(self) -> Call:
        """The call this pays for."""
        return Call(self.contract, self.entry, self.args, self.gas_limit)
