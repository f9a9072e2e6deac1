"""Declared, validated parameters: the one place where input values are checked.

Every spec (a scenario table, a strategy's or a shock's parameters) is a
frozen dataclass whose fields are made with :func:`param`, which records the
default, the allowed range or choices, and a one-line doc. :func:`build`
turns a plain mapping (from TOML or from code) into such a dataclass, and
every error names the source, the dotted key, the bad value and what is
allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from sim.errors import ScenarioError

_UNBOUNDED = (-math.inf, math.inf)


def param(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    choices: tuple[str, ...] | None = None,
    doc: str = "",
) -> Any:
    """A spec field with its allowed range or choices, checked by :func:`_build`."""
    meta = {
        "range": (-math.inf if lo is None else lo, math.inf if hi is None else hi),
        "choices": choices,
        "doc": doc,
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


def describe(cls: type) -> list[tuple[str, Any, str, str]]:
    """(name, default, allowed, doc) for each declared field of a spec class."""
    rows = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal") or "range" not in f.metadata:
            continue
        lo, hi = f.metadata["range"]
        choices = f.metadata["choices"]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if choices:
            allowed = " | ".join(c or '""' for c in choices)
        elif isinstance(default, (str, dict)):
            allowed = "text" if isinstance(default, str) else "a table"
        else:
            allowed = _range_text(lo, hi)
        rows.append((f.name, default, allowed, f.metadata["doc"]))
    return rows


def build(cls: type, table: Any, source: str, prefix: str = "") -> Any:
    """Validate ``table`` against the declared fields of ``cls`` and construct it.

    Args:
        cls: a dataclass whose fields were made with :func:`param` (nested
            dataclasses and tuples of them are built recursively).
        table: the plain mapping to validate.
        source: where it came from (a file name), for error messages.
        prefix: the dotted key path of ``table`` inside the source, ending in ``.``.

    Raises:
        ScenarioError: for an unknown key, a wrong type, a value out of range or not among the choices.
    """
    if not isinstance(table, Mapping):
        raise ScenarioError("expected a table", source=source, key=prefix.rstrip(".") or "(top)", value=table)
    hints = typing.get_type_hints(cls)
    public = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(table) - set(public))
    if unknown:
        raise ScenarioError(
            "unknown key", source=source, key=prefix + unknown[0], allowed=", ".join(sorted(public))
        )
    values = {}
    for name, value in table.items():
        values[name] = _coerce(hints[name], value, public[name], source, prefix + name)
    return cls(**values)


def _coerce(hint: Any, value: Any, fld: dataclasses.Field, source: str, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return build(hint, value, source, key + ".")
    origin = typing.get_origin(hint)
    if origin is tuple:  # an array of tables, e.g. [[organizations]]
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ScenarioError(
                f"expected an array of tables ([[{key}]])", source=source, key=key, value=value
            )
        return tuple(build(item, v, source, f"{key}.{i}.") for i, v in enumerate(value))
    if origin in (dict, Mapping):  # a free table, validated by whoever reads it
        if not isinstance(value, Mapping):
            raise ScenarioError("expected a table", source=source, key=key, value=value)
        return dict(value)
    optional = origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    lo, hi = fld.metadata["range"]
    choices = fld.metadata["choices"]
    if base is bool:
        if not isinstance(value, bool):
            raise ScenarioError("expected true or false", source=source, key=key, value=value)
        return value
    if base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ScenarioError(
                    "expected an integer", source=source, key=key, value=value, allowed=_range_text(lo, hi)
                )
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ScenarioError(
                "expected a number", source=source, key=key, value=value, allowed=_range_text(lo, hi)
            )
        value = float(value)
    elif base is str:
        if not isinstance(value, str):
            raise ScenarioError(
                "expected a string",
                source=source,
                key=key,
                value=value,
                allowed=" | ".join(choices) if choices else "text",
            )
        if choices is not None:
            norm = value.strip().upper().replace("-", "_") if choices[-1].isupper() else value.strip()
            if norm not in choices:
                raise ScenarioError(
                    "not an allowed choice",
                    source=source,
                    key=key,
                    value=value,
                    allowed=" | ".join(c or '""' for c in choices),
                )
            value = norm
        return value
    if not lo <= value <= hi:
        raise ScenarioError("out of range", source=source, key=key, value=value, allowed=_range_text(lo, hi))
    return value


def _range_text(lo: float, hi: float) -> str:
    if (lo, hi) == _UNBOUNDED:
        return "any number"
    if hi == math.inf:
        return f">= {lo:g}"
    return f"{lo:g} to {hi:g}"


class Registry(dict):
    """Named classes (strategies, shocks), filled by the :meth:`register` class decorator.

    Args:
        what: what it holds, for error messages ("strategy").
        key: the class attribute that names each entry ("name").
    """

    def __init__(self, what: str, key: str) -> None:
        super().__init__()
        self.what, self.key = what, key

    def register(self, cls: type) -> type:
        """Class decorator: make ``cls`` available under its name."""
        name = getattr(cls, self.key, "")
        if not name or name in self:
            raise ValueError(f"{self.what} {self.key} {name!r} is empty or already registered")
        self[name] = cls
        return cls
