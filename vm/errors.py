"""Typed errors of the virtual machine.

Three families, kept apart because callers treat them differently:

- `ModuleError` and its subclasses: a module is malformed (bad bytes, bad
  structure, code that fails deploy-time validation, assembly text with a
  mistake). Raised at deploy time; nothing runs.
- `InvocationError`: a well-formed module is invoked wrongly (unknown entry
  point, wrong arguments, negative gas limit). Raised before anything runs.
- `ExceptionalHalt` and `Revert`: raised *inside* a running machine and
  caught by the interpreter, which turns them into an `ExecutionResult`.
  They never escape `execute`.
"""

from __future__ import annotations

from enum import StrEnum


class VMError(Exception):
    """Base class of every error the vm package raises on bad input."""


class ModuleError(VMError):
    """A module is malformed or invalid."""


class ModuleDecodeError(ModuleError):
    """The module bytes are not a canonical encoding of a well-formed module."""


class ValidationError(ModuleError):
    """The module is well-formed but its code fails deploy-time validation.

    `pc` is the offset of the offending instruction when there is one.
    """

    def __init__(self, message: str, pc: int | None = None) -> None:
        self.pc = pc
        self.detail = message
        super().__init__(message if pc is None else f"pc {pc}: {message}")


class AssemblyError(ModuleError):
    """The assembly text has a mistake; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.detail = message
        super().__init__(f"line {line}: {message}")


class InvocationError(VMError):
    """An entry point was invoked wrongly (name, arguments or gas limit)."""


class UnknownGasScheduleError(VMError):
    """No gas schedule has the requested version."""


class HaltReason(StrEnum):
    """Why a machine stopped exceptionally. The value is the stable name."""

    OUT_OF_GAS = "out_of_gas"
    DIVISION_BY_ZERO = "division_by_zero"
    STACK_OVERFLOW = "stack_overflow"
    CALL_DEPTH_EXCEEDED = "call_depth_exceeded"
    MEMORY_OUT_OF_BOUNDS = "memory_out_of_bounds"
    BYTES_TOO_LONG = "bytes_too_long"
    ALLOCATION_LIMIT = "allocation_limit"
    SLICE_OUT_OF_RANGE = "slice_out_of_range"
    STORAGE_KEY_INVALID = "storage_key_invalid"
    STORAGE_VALUE_INVALID = "storage_value_invalid"
    STORAGE_WRITE_LIMIT = "storage_write_limit"
    EVENT_LIMIT = "event_limit"
    MESSAGE_LIMIT = "message_limit"
    MESSAGE_INVALID = "message_invalid"
    ADDRESS_INVALID = "address_invalid"
    INSUFFICIENT_BALANCE = "insufficient_balance"


class ExceptionalHalt(VMError):
    """The machine stops: all gas is consumed and every change is reverted."""

    reason: HaltReason

    def __init__(self, reason: HaltReason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(reason.value if not detail else f"{reason.value}: {detail}")


class Revert(Exception):
    """REVERT ran: changes are undone, unused gas is returned.

    Not a VMError: it is a normal outcome, caught by the interpreter.
    """

    def __init__(self, value: int | bytes) -> None:
        self.value = value
        super().__init__("revert")
