"""The versioned module format and its one canonical msgpack encoding.

A module is a msgpack array of six items::

    [version, code, constants, functions, entry_points, memory_cells]

    version       int, 1
    code          bin, the bytecode of all functions back to back
    constants     array of [tag, bin] values (see vm.values)
    functions     array of [offset, params, results]; params and results
                  are strings of type letters, 'i' (int) or 'b' (bytes)
    entry_points  array of [name, function_index], sorted by name
    memory_cells  int, number of integer memory cells the machine gets

Decoding is strict: the bytes must be exactly what `encode_module` writes
for the decoded module (so every module has one encoding), with no trailing
bytes, no floats, no maps, no extension types. Rules about the content
(sizes, names, offsets, the code itself) are checked by vm.validator.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack

from vm.errors import ModuleDecodeError
from vm.limits import MAX_MODULE_BYTES
from vm.values import TYPE_BY_LETTER, Value, ValueType, decode_value, encode_value

MODULE_VERSION = 1
SUPPORTED_VERSIONS = (MODULE_VERSION,)


@dataclass(frozen=True)
class FunctionSpec:
    """A function: where its code starts and its typed signature."""

    offset: int
    params: tuple[ValueType, ...]
    results: tuple[ValueType, ...]


@dataclass(frozen=True)
class Module:
    """A contract's code, constants, functions and named entry points."""

    version: int
    code: bytes
    constants: tuple[Value, ...]
    functions: tuple[FunctionSpec, ...]
    entry_points: tuple[tuple[str, int], ...]
    memory_cells: int = 0


def encode_module(module: Module) -> bytes:
    """The canonical msgpack encoding of `module`."""
    obj = [
        module.version,
        module.code,
        [encode_value(c) for c in module.constants],
        [[f.offset, _letters(f.params), _letters(f.results)] for f in module.functions],
        [[name, index] for name, index in module.entry_points],
        module.memory_cells,
    ]
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def decode_module(data: bytes) -> Module:
    """Decode module bytes strictly.

    Raises ModuleDecodeError for anything but a canonical encoding of a
    well-typed module of a supported version, at most MAX_MODULE_BYTES long.
    """
    if type(data) is not bytes:
        raise ModuleDecodeError("module data must be bytes")
    if len(data) > MAX_MODULE_BYTES:
        raise ModuleDecodeError(f"module is {len(data)} bytes, limit {MAX_MODULE_BYTES}")
    obj = _unpack(data)
    module = _module_from_obj(obj)
    if encode_module(module) != data:
        raise ModuleDecodeError("module bytes are not in canonical encoding")
    return module


def _letters(types: tuple[ValueType, ...]) -> str:
    return "".join(t.letter for t in types)


def _unpack(data: bytes) -> object:
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_map_len=0,
            max_ext_len=0,
            timestamp=0,
        )
    except msgpack.ExtraData as exc:
        raise ModuleDecodeError("trailing bytes after the module") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # FormatError, StackError, OutOfData, bad UTF-8, limits: all malformed input.
        raise ModuleDecodeError(f"not valid msgpack: {type(exc).__name__}") from exc


def _module_from_obj(obj: object) -> Module:
    items = _expect_list(obj, "module", length=6)
    version = _expect_int(items[0], "version")
    if version not in SUPPORTED_VERSIONS:
        raise ModuleDecodeError(f"unsupported module version {version}")
    code = items[1]
    if type(code) is not bytes:
        raise ModuleDecodeError("code must be bytes")
    return Module(
        version=version,
        code=code,
        constants=tuple(_constant(c, i) for i, c in enumerate(_expect_list(items[2], "constants"))),
        functions=tuple(_function(f, i) for i, f in enumerate(_expect_list(items[3], "functions"))),
        entry_points=tuple(_entry(e, i) for i, e in enumerate(_expect_list(items[4], "entries"))),
        memory_cells=_expect_int(items[5], "memory_cells"),
    )


def _constant(obj: object, index: int) -> Value:
    try:
        return decode_value(obj)
    except ValueError as exc:
        raise ModuleDecodeError(f"constant {index}: {exc}") from exc


def _function(obj: object, index: int) -> FunctionSpec:
    what = f"function {index}"
    offset, params, results = _expect_list(obj, what, length=3)
    return FunctionSpec(
        offset=_expect_int(offset, f"{what} offset"),
        params=_types(params, f"{what} params"),
        results=_types(results, f"{what} results"),
    )


def _entry(obj: object, index: int) -> tuple[str, int]:
    what = f"entry point {index}"
    name, function = _expect_list(obj, what, length=2)
    if type(name) is not str:
        raise ModuleDecodeError(f"{what} name must be a string")
    return name, _expect_int(function, f"{what} function")


def _types(obj: object, what: str) -> tuple[ValueType, ...]:
    if type(obj) is not str:
        raise ModuleDecodeError(f"{what} must be a string of type letters")
    try:
        return tuple(TYPE_BY_LETTER[letter] for letter in obj)
    except KeyError as exc:
        raise ModuleDecodeError(f"{what}: unknown type letter {exc.args[0]!r}") from exc


def _expect_list(obj: object, what: str, length: int | None = None) -> list[object]:
    if type(obj) is not list:
        raise ModuleDecodeError(f"{what} must be an array")
    if length is not None and len(obj) != length:
        raise ModuleDecodeError(f"{what} must have {length} items, not {len(obj)}")
    return obj


def _expect_int(obj: object, what: str) -> int:
    if type(obj) is not int or obj < 0:
        raise ModuleDecodeError(f"{what} must be a non-negative integer")
    return obj
