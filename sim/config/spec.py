"""Declared, validated parameters: the one place where input values are checked.

Every spec (a scenario table, a strategy's or a shock's parameters) is a
frozen dataclass whose fields are made with :func:`param`, which records the
default, the allowed range or choices, and a one-line doc. :func:`build`
turns a plain mapping (from TOML or from code) into such a dataclass, and
every error names the source, the dotted key, the bad value and what is
allowed.

Two limits hold for every field, whatever its declared range: an integer must fit in
64 bits (:data:`INT64_MAX`: what NumPy, Parquet and the manifests store), and a string
is at most :data:`MAX_TEXT` characters (names declare less: :data:`MAX_NAME`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from sim.errors import ScenarioError

_UNBOUNDED = (-math.inf, math.inf)
#: The largest integer any field accepts (and the smallest is its negative, minus one).
INT64_MAX = 2**63 - 1
#: The longest string any field accepts.
MAX_TEXT = 4096
#: The longest name (of a scenario, an organization): names are drawn in figures and legends.
MAX_NAME = 100
#: Integers longer than this many bits are shown by their size in messages, not digit by digit.
_SHOWN_BITS = 256


def param(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    choices: tuple[str, ...] | None = None,
    max_len: int = MAX_TEXT,
    doc: str = "",
) -> Any:
    """A spec field with its allowed range, choices or length, checked by :func:`build`."""
    meta = {
        "range": (-math.inf if lo is None else lo, math.inf if hi is None else hi),
        "choices": choices,
        "max_len": max_len,
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
        if choices and isinstance(default, tuple):
            allowed = "a list of: " + ", ".join(choices)
        elif choices:
            allowed = " | ".join(c or '""' for c in choices)
        elif isinstance(default, (str, dict)):
            allowed = "text" if isinstance(default, str) else "a table"
        elif isinstance(default, tuple):
            allowed = f"a list of numbers {_range_text(lo, hi)}"
        else:
            allowed = _range_text(lo, hi)
        rows.append((f.name, default, allowed, f.metadata["doc"]))
    return rows


def shown(value: Any) -> Any:
    """``value`` as an error message can quote it: a huge integer by its size, a long string cut.

    Python refuses to print an integer of more than 4,300 digits, and a 100,000-character
    name would make a one-line message unreadable.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _SHOWN_BITS:
        return f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value


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
        raise ScenarioError(
            "expected a table", source=source, key=prefix.rstrip(".") or "(top)", value=shown(table)
        )
    hints = typing.get_type_hints(cls)
    public = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(map(str, table)) - set(public))
    if unknown:
        raise ScenarioError(
            "unknown key", source=source, key=prefix + shown(unknown[0]), allowed=", ".join(sorted(public))
        )
    values = {}
    for name, value in table.items():
        values[name] = _coerce(hints[name], value, public[name], source, prefix + name)
    return cls(**values)


def _coerce(hint: Any, value: Any, fld: dataclasses.Field, source: str, key: str) -> Any:
    """Check one value against its field's type hint and metadata; return it normalized."""
    if dataclasses.is_dataclass(hint):
        return build(hint, value, source, key + ".")
    origin = typing.get_origin(hint)
    if origin is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
        return _as_tables(typing.get_args(hint)[0], value, source, key)  # e.g. [[organizations]]
    if origin is tuple:  # an array of scalars, e.g. trigger.ids = [3, 17]
        return _as_list(typing.get_args(hint)[0], value, fld, source, key)
    if origin in (dict, Mapping):  # a free table, validated by whoever reads it
        if not isinstance(value, Mapping):
            raise ScenarioError("expected a table", source=source, key=key, value=shown(value))
        return dict(value)
    optional = origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    return _SCALARS[base](value, fld.metadata, source, key)


def _as_tables(item: type, value: Any, source: str, key: str) -> tuple:
    if not isinstance(value, list):
        raise ScenarioError(
            f"expected an array of tables ([[{key}]])", source=source, key=key, value=shown(value)
        )
    return tuple(build(item, v, source, f"{key}.{i}.") for i, v in enumerate(value))


def _as_list(item: type, value: Any, fld: dataclasses.Field, source: str, key: str) -> tuple:
    """An array of scalars, each checked against the field's range or choices (``key.i`` names it)."""
    if not isinstance(value, list):
        raise ScenarioError("expected an array ([...])", source=source, key=key, value=shown(value))
    return tuple(_SCALARS[item](v, fld.metadata, source, f"{key}.{i}") for i, v in enumerate(value))


def _as_bool(value: Any, meta: Mapping[str, Any], source: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError("expected true or false", source=source, key=key, value=shown(value))
    return value


def _as_int(value: Any, meta: Mapping[str, Any], source: str, key: str) -> int:
    lo, hi = meta["range"]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(
            "expected an integer", source=source, key=key, value=shown(value), allowed=_range_text(lo, hi)
        )
    value = _in_range(value, lo, hi, source, key)
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ScenarioError(
            "too large for a 64-bit integer",
            source=source,
            key=key,
            value=shown(value),
            allowed=f"{max(lo, -INT64_MAX - 1):g} to {INT64_MAX}",
        )
    return value


def _as_float(value: Any, meta: Mapping[str, Any], source: str, key: str) -> float:
    lo, hi = meta["range"]
    number = isinstance(value, float) or (
        isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 1024
    )
    if not number or not math.isfinite(value):
        raise ScenarioError(
            "expected a number", source=source, key=key, value=shown(value), allowed=_range_text(lo, hi)
        )
    return _in_range(float(value), lo, hi, source, key)


def _as_str(value: Any, meta: Mapping[str, Any], source: str, key: str) -> str:
    choices = meta["choices"]
    if not isinstance(value, str):
        raise ScenarioError(
            "expected a string",
            source=source,
            key=key,
            value=shown(value),
            allowed=" | ".join(choices) if choices else "text",
        )
    limit = meta.get("max_len", MAX_TEXT)
    if len(value) > limit:
        raise ScenarioError(
            f"too long ({len(value):,} characters)",
            source=source,
            key=key,
            value=shown(value),
            allowed=f"at most {limit} characters",
        )
    if choices is None:
        return value
    norm = value.strip().upper().replace("-", "_") if choices[-1].isupper() else value.strip()
    if norm not in choices:
        raise ScenarioError(
            "not an allowed choice",
            source=source,
            key=key,
            value=value,
            allowed=" | ".join(c or '""' for c in choices),
        )
    return norm


def _in_range(value: Any, lo: float, hi: float, source: str, key: str) -> Any:
    if not lo <= value <= hi:
        raise ScenarioError(
            "out of range", source=source, key=key, value=shown(value), allowed=_range_text(lo, hi)
        )
    return value


_SCALARS: dict[type, Callable[[Any, Mapping[str, Any], str, str], Any]] = {
    bool: _as_bool,
    int: _as_int,
    float: _as_float,
    str: _as_str,
}


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
