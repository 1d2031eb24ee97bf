"""Changes to a msgpack value tree for the message fuzzers: every position
in the tree, a copy with one position replaced, and the values that look
like a given one (a bool for 0 or 1, an int as text, bytes as text or as an
array, an empty value for nil, an array one element longer or shorter).

A strict decoder must refuse such a change or decode it to a message that
encodes back to exactly the changed bytes: otherwise two byte strings carry
one message."""

from __future__ import annotations

from collections.abc import Iterator


def look_alikes(value: object) -> list[object]:
    """Values of other types or sizes that a lenient decoder might take for ``value``."""
    if isinstance(value, bool) or value is None:
        return [not value, 0, b"", []]
    if isinstance(value, int):
        alikes: list[object] = [str(value), value + 1, -value - 1, [value]]
        return [*alikes, bool(value)] if value in (0, 1) else alikes
    if isinstance(value, bytes):
        return [value.decode("latin-1"), list(value), value + b"\x00", value[:-1], None]
    if isinstance(value, list):
        return [[*value, 0], value[:-1], tuple(value)[:0], b""]
    return [None]


def value_at(tree: object, path: tuple[int, ...]) -> object:
    """The value at ``path`` (array indexes from the root)."""
    for index in path:
        assert isinstance(tree, list)
        tree = tree[index]
    return tree


def value_paths(tree: object, prefix: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    """Every position in a msgpack tree (arrays included), the root last."""
    if isinstance(tree, list):
        for index, item in enumerate(tree):
            yield from value_paths(item, (*prefix, index))
    if prefix:
        yield prefix


def replaced(tree: object, path: tuple[int, ...], value: object) -> object:
    """A copy of ``tree`` with the value at ``path`` replaced by ``value``."""
    if not path:
        return value
    assert isinstance(tree, list)
    head, rest = path[0], path[1:]
    return [replaced(item, rest, value) if i == head else item for i, item in enumerate(tree)]
