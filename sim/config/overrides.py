"""Dotted-key overrides of a scenario's plain data, and who to blame when one is bad.

``{"network.n": 300, "organizations.Gazette.openness": 0.4}`` sets values inside the
tables a TOML file was read into; an organization is named by its ``name`` or its index.
When validation then fails on a key an override touched, :func:`blame_override` says so in
the error, naming the override that set the value rather than one it merely passed through.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sim.config.source import parse_value
from sim.config.spec import shown
from sim.errors import ScenarioError

#: Longest list index an override may name (more digits than any list could need).
_MAX_INDEX_DIGITS = 9


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``["network.n=500", "organizations.Gazette.openness=0.4"]`` into a dict.

    Values are read as TOML values (numbers, booleans, quoted strings); anything
    that is not valid TOML is taken as a plain string.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(
                "an override must look like key=value",
                source="--set",
                key=item,
                allowed="e.g. --set network.mean_degree=3.5",
            )
        out[key] = parse_value(text, key=key)
    return out


def apply_override(data: dict, key: str, value: Any, source: str) -> None:
    """Set the dotted ``key`` of ``data`` (in place) to a copy of ``value``.

    Missing tables on the way are created; an organization is named by its name or index.

    Raises:
        ScenarioError: for an empty part, a path through a plain value, an unknown
            organization, or an attempt to replace a whole organization.
    """
    where = f"{source} (override)"
    parts = key.split(".")
    if not all(parts):
        raise ScenarioError(
            "override key must be a dotted path",
            source=where,
            key=key,
            allowed="e.g. network.mean_degree or organizations.NAME.openness",
        )
    node = _parent(data, parts, key, where)
    if isinstance(node, list):
        raise ScenarioError(
            "cannot replace a whole organization", source=where, key=key, allowed="organizations.NAME.FIELD"
        )
    node[parts[-1]] = copy.deepcopy(value)


def _parent(data: dict, parts: list[str], key: str, where: str) -> dict | list:
    """The table (or array) that holds the last part of the path, creating missing tables."""
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, part, ".".join(parts[: depth + 1]), where)]
            continue
        if not isinstance(node, dict):
            raise _through_a_value(parts[:depth], key, where)
        if part not in node:
            if part == "organizations":
                raise ScenarioError("this scenario has no organizations", source=where, key=key)
            node[part] = {}
        node = node[part]
    if not isinstance(node, (dict, list)):
        raise _through_a_value(parts[:-1], key, where)
    return node


def _through_a_value(parts: list[str], key: str, where: str) -> ScenarioError:
    return ScenarioError(
        f"'{'.'.join(parts)}' holds a value, not a table",
        source=where,
        key=key,
        allowed="a dotted path to a value",
    )


def _index(part: str) -> int | None:
    """``part`` as a list index, if it is one (never converting a 5,000-digit string)."""
    return int(part) if part.isdecimal() and len(part) <= _MAX_INDEX_DIGITS else None


def _list_index(items: list, part: str, key: str, where: str) -> int:
    names = [str(item.get("name", "")) if isinstance(item, Mapping) else "" for item in items]
    if part in names:
        return names.index(part)
    index = _index(part)
    if index is not None and index < len(items):
        return index
    raise ScenarioError(
        "no such organization",
        source=where,
        key=key,
        value=part,
        allowed=", ".join(names) or "(none defined)",
    )


def blame_override(exc: ScenarioError, overrides: Mapping[str, Any], source: str, data: Mapping) -> None:
    """If the bad key came from an override, name that override in the error's source.

    Args:
        exc: the validation error (changed in place).
        overrides: the overrides, in the order they were applied.
        source: the file the scenario came from.
        data: the scenario's data before the overrides (to read organizations' names).

    The override that set the bad key itself is blamed first, then one that set a table
    holding it (``network=1`` for ``network``'s error), then one that created a key inside
    it; among equals, the last applied (it is the one whose value stands).
    """
    if exc.key is None or not overrides:
        return
    error = exc.key.split(".")
    best: tuple[int, int] | None = None
    for order, key in enumerate(overrides):
        mine = _canonical(key.split("."), data)
        same = len(mine) == len(error) and _prefix(mine, error)
        rank = 3 if same else 2 if _prefix(error, mine) else 1 if _prefix(mine, error) else 0
        if rank and (best is None or (rank, order) > best):
            best = (rank, order)
    if best is not None:
        key = list(overrides)[best[1]]
        exc.source = f"{source} (override {key}={shown(overrides[key])!r})"


def _prefix(a: list[str], b: list[str]) -> bool:
    """Whether path ``a`` starts with path ``b`` (``*`` in ``b`` matches any item)."""
    return len(a) >= len(b) and all(y in ("*", x) for x, y in zip(a, b, strict=False))


def _canonical(parts: list[str], data: Mapping) -> list[str]:
    """Override path with list items named by index, as validation errors name them."""
    node: Any = data
    out = []
    for part in parts:
        if isinstance(node, list):
            names = [str(item.get("name", "")) if isinstance(item, Mapping) else "" for item in node]
            index = names.index(part) if part in names else _index(part)
            index = -1 if index is None else index
            out.append(str(index))
            node = node[index] if 0 <= index < len(node) else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return out
