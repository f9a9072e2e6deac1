"""docs/ODD.md stays true to the code: parameters, defaults, strategies, shocks, rules, reporters.

The ODD document (Overview, Design concepts, Details) describes the model for readers who
will not read the code. These checks fail when someone changes a default, adds a
parameter, a strategy, a shock kind, a rule function or a reporter without documenting it
(or leaves the document describing one that no longer exists). They only parse text: no
model is built, so the whole module runs in well under a second.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from pathlib import Path

import pytest

from sim.config.scenario import (
    KIND_DEFAULTS,
    DesertionSpec,
    DynamicsSpec,
    MeasuresSpec,
    NetworkSpec,
    OrganizationSpec,
    PopulationSpec,
    Scenario,
    ShockSchedule,
    SweepSpec,
    TriggerSpec,
)
from sim.config.spec import describe
from sim.model import rules
from sim.model.metrics import MODEL_REPORTERS, ORGANIZATION_REPORTERS
from sim.model.shocks import SHOCKS
from sim.model.strategies import STRATEGIES

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"

#: The bold heading that introduces each spec's table in section 7.15.
SPEC_TABLES = {
    NetworkSpec: "**`[network]`**",
    PopulationSpec: "**`[population]`**",
    DynamicsSpec: "**`[dynamics]`**",
    TriggerSpec: "**`[trigger]`**",
    OrganizationSpec: "**`[[organizations]]`**",
    ShockSchedule: "**`[[shocks]]` timing**",
    SweepSpec: "**`[sweep]`**",
    DesertionSpec: "**`[desertion]`**",
    MeasuresSpec: "**`[measures]`**",
    Scenario: "**Top level**",
}
#: Declared fields the tables leave out on purpose (the timing table lists the schedule keys;
#: a shock's own parameters are in 7.18 and 7.19).
NOT_IN_TABLE = {ShockSchedule: {"params"}}


@pytest.fixture(scope="module")
def odd() -> str:
    """The document's text."""
    return ODD.read_text(encoding="utf-8")


def fmt(value) -> str:
    """A default as the document writes it: floats as Python prints them, text in quotes."""
    if value is None:
        return "kind"  # filled in from KIND_DEFAULTS
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{}" if not value else repr(value)
    if isinstance(value, tuple):  # an array, written as TOML writes it
        return "[" + ", ".join(map(fmt, value)) + "]"
    return repr(value)


def section(text: str, number: str) -> str:
    """The text of section ``### <number>`` up to the next heading of its level or above."""
    match = re.search(rf"^### {re.escape(number)} .*?$(.*?)(?=^#{{2,3}} )", text, re.DOTALL | re.MULTILINE)
    assert match, f"section {number} not found in {ODD.name}"
    return match.group(1)


def cells(line: str) -> list[str]:
    """The cells of one Markdown table row (``\\|`` inside a cell is not a separator)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows (header and separator excluded) of the first table after ``heading``."""
    start = text.find(heading)
    assert start >= 0, f"{heading} not found in {ODD.name}"
    lines = text[start + len(heading) :].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append(cells(line))
    return rows[2:]


def key_of(cell: str) -> str:
    """A table's first cell, ``\\`name\\```, as ``name``."""
    return cell.strip("`")


def parameter_rows(odd: str, cls: type) -> dict[str, list[str]]:
    """Section 7.15's table for one spec, by key."""
    rows = table_after(section(odd, "7.15"), SPEC_TABLES[cls])
    return {key_of(row[0]): row for row in rows}


@pytest.mark.parametrize("cls", list(SPEC_TABLES), ids=lambda c: c.__name__)
def test_every_parameter_is_documented_with_its_default(odd, cls):
    """Each declared field has a row ``| `name` | default |`` in 7.15, and no row is stale."""
    rows = parameter_rows(odd, cls)
    declared = {name: default for name, default, _, _ in describe(cls)}
    declared = {k: v for k, v in declared.items() if k not in NOT_IN_TABLE.get(cls, set())}
    missing = sorted(set(declared) - set(rows))
    assert not missing, f"{cls.__name__}: not in the ODD's table: {missing}"
    stale = sorted(set(rows) - set(declared))
    assert not stale, f"{cls.__name__}: documented but no longer declared: {stale}"
    wrong = {
        name: (rows[name][1], fmt(default))
        for name, default in declared.items()
        if rows[name][1] != fmt(default)
    }
    assert not wrong, f"{cls.__name__}: (documented, actual) defaults differ: {wrong}"


def test_kind_defaults_are_documented(odd):
    """The KIND_DEFAULTS table lists each kind's defaults as in ``sim/config/scenario.py``."""
    text = section(odd, "7.15")
    header = cells(
        next(line for line in text.split("**`KIND_DEFAULTS`**", 1)[1].splitlines() if line.startswith("|"))
    )
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in table_after(text, "**`KIND_DEFAULTS`**")}
    assert set(rows) == set(KIND_DEFAULTS)
    for kind, defaults in KIND_DEFAULTS.items():
        for name, value in defaults.items():
            assert rows[kind].get(name) == fmt(value), f"KIND_DEFAULTS[{kind!r}][{name!r}]"


def _entry_rows(text: str) -> dict[str, str]:
    """Rows of the first table in ``text`` keyed by their first cell's name; value: the second cell."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            row = cells(line)
            rows[key_of(row[0])] = row[1]
    return rows


def _check_entries(registry, rows: dict[str, str], where: str) -> None:
    missing = sorted(set(registry) - set(rows))
    assert not missing, f"{where}: no entry for {missing}"
    stale = sorted(set(rows) - set(registry))
    assert not stale, f"{where}: entries for unknown names {stale}"
    for name, cls in registry.items():
        for param_name, default, _, _ in describe(cls):
            pattern = re.escape(f"`{param_name}` ({fmt(default)}") + r"[;)]"
            assert re.search(pattern, rows[name]), (
                f"{where}, {name}: parameter `{param_name}` with default {fmt(default)} not documented"
            )


def test_every_strategy_has_an_entry(odd):
    """Every registered strategy has a row in 7.17, listing each parameter with its default."""
    _check_entries(STRATEGIES, _entry_rows(section(odd, "7.17")), "7.17")


def test_every_shock_kind_has_an_entry(odd):
    """Every registered shock kind has a row in 7.18, listing each parameter with its default."""
    _check_entries(SHOCKS, _entry_rows(section(odd, "7.18")), "7.18")


def test_every_rule_function_is_mentioned(odd):
    """Every function defined in ``sim/model/rules.py`` is named (as ``rules.<name>``) somewhere in the ODD."""
    defined = [
        name for name, fn in inspect.getmembers(rules, inspect.isfunction) if fn.__module__ == rules.__name__
    ]
    assert defined
    missing = [name for name in defined if not re.search(rf"\brules\.{name}\b", odd)]
    assert not missing, f"rule functions not mentioned in {ODD.name}: {missing}"


def test_every_reporter_is_documented(odd):
    """Every per-step reporter has a row in 7.16 (population and per-organization tables)."""
    observation = section(odd, "7.16")
    documented = set()
    for line in observation.splitlines():
        if line.startswith("| `"):
            documented.update(re.findall(r"`([a-z_]+)`", cells(line)[0]))
    missing = sorted((set(MODEL_REPORTERS) | set(ORGANIZATION_REPORTERS)) - documented)
    assert not missing, f"reporters not documented in 7.16: {missing}"


def test_lever_names_match_the_document(odd):
    """The organization-state table (2.3) lists every lever of ``sim.model.levers.Levers``."""
    from sim.model.levers import Levers

    state = section(odd, "2.3")
    missing = [f.name for f in dataclasses.fields(Levers) if f"`{f.name}`" not in state]
    assert not missing, f"levers missing from 2.3: {missing}"


def test_participant_phases_are_the_table_of_3_2(odd):
    """The table of 3.2 lists the declared participant phases (``rules.PARTICIPANT_PHASES``) in order."""
    rows = table_after(section(odd, "3.2"), "For each participant:")
    assert [key_of(row[1]) for row in rows] == [name for name, _ in rules.PARTICIPANT_PHASES]


#: Code names the document may cite as ``<owner>.<name>``, and where they live.
CITED_OWNERS = {
    "rules": "sim.model.rules",
    "kernels": "sim.model.kernels",
    "vectorized": "sim.model.vectorized",
    "metrics": "sim.model.metrics",
    "network": "sim.model.network",
    "neighbours": "sim.model.neighbours",
    "vocabulary": "sim.vocabulary",
    "Participant": "sim.model.agents:Participant",
    "Organization": "sim.model.agents:Organization",
    "MemberViews": "sim.model.vectorized:MemberViews",
    "PowerModel": "sim.model.power_model:PowerModel",
}


def _defines(path: str, name: str) -> bool:
    """Whether the module or class at ``path`` defines ``name`` (for a class, also as ``self.<name> =``)."""
    module, _, cls = path.partition(":")
    owner = importlib.import_module(module)
    if cls:
        owner = getattr(owner, cls)
        if re.search(rf"\bself\.{name}\b[^=\n]*=", inspect.getsource(owner)):
            return True
    return hasattr(owner, name)


def test_every_cited_code_name_exists(odd):
    """Every ``rules.x``, ``kernels.x``, ``PowerModel.x``, ... the document cites (in backticks) exists,
    so the document cannot point to where a rule used to live. (``network.x`` may also be a
    ``[network]`` key; ``<owner>.py`` is a file name.)"""
    pattern = rf"`(?:[^`]*[^\w/.])?({'|'.join(CITED_OWNERS)})\.([A-Za-z_]\w*)"
    cited = {(owner, name) for owner, name in re.findall(pattern, odd) if name != "py"}
    assert len(cited) > 40
    network_keys = {f.name for f in dataclasses.fields(NetworkSpec)}
    missing = sorted(
        f"{owner}.{name}"
        for owner, name in cited
        if not _defines(CITED_OWNERS[owner], name) and not (owner == "network" and name in network_keys)
    )
    assert not missing, f"{ODD.name} cites names that do not exist: {missing}"
