"""Stack access for instructions.

Validation proved that every pop finds a value of the expected type and
that a frame never outgrows its static maximum, so these are plain list
operations; the asserts document (and, in tests, check) that proof.
"""

from __future__ import annotations

from vm.values import Value


def pop(stack: list[Value]) -> Value:
    """Remove and return the top value."""
    return stack.pop()


def pop_int(stack: list[Value]) -> int:
    """Remove and return the top value, an integer."""
    value = stack.pop()
    assert type(value) is int
    return value


def pop_bytes(stack: list[Value]) -> bytes:
    """Remove and return the top value, a byte string."""
    value = stack.pop()
    assert type(value) is bytes
    return value


def push(stack: list[Value], value: Value) -> None:
    """Put `value` on top."""
    stack.append(value)
