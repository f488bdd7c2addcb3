"""Typed dataclasses to plain JSON-ready values and back, checking every field's type.

What :mod:`pwbayes.record` saves and reads: :func:`plain` turns dataclasses into dicts
and tuples into lists; :func:`build` makes a dataclass again, refusing unknown or missing
fields and values of the wrong type with :class:`~pwbayes.errors.RecordError` (a field
added later with a default may be missing). This module needs the standard library only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

from .errors import RecordError

__all__ = ["build", "plain"]


def plain(value: Any) -> Any:
    """Dataclasses to dicts, tuples to lists, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def build(cls: type, data: Any, path: str) -> Any:
    """Build dataclass ``cls`` from ``data``, checking every field's type."""
    if not isinstance(data, Mapping):
        raise RecordError(f"{path} must be a mapping, got {type(data).__name__}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RecordError(f"{path} has unknown field(s) {unknown}; the file is damaged.")
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue  # a field added later with a default: older records lack it
            raise RecordError(f"{path} lacks the field {name!r}; the file is damaged (truncated?).")
        values[name] = _convert(hints[name], data[name], f"{path}.{name}")
    return cls(**values)


def _convert(tp: Any, value: Any, path: str) -> Any:
    """Check ``value`` against the type hint ``tp`` and convert lists to tuples."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return _convert_union(tp, value, path)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value, path)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise RecordError(f"{path} must be a list, got {value!r}.")
        return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise RecordError(f"{path} must be a mapping, got {value!r}.")
        return {str(k): _convert(args[1], v, f"{path}[{k!r}]") for k, v in value.items()}
    if tp is Any:
        return value
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and type(value) is tp:
        return value
    raise RecordError(f"{path} = {value!r} should be of type {getattr(tp, '__name__', tp)}.")


def _convert_union(tp: Any, value: Any, path: str) -> Any:
    """Convert ``value`` to the first member of the union ``tp`` that accepts it."""
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    for arg in (a for a in args if a is not type(None)):
        try:
            return _convert(arg, value, path)
        except RecordError:
            continue
    raise RecordError(f"{path} = {value!r} is not one of {tp}.")
