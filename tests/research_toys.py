"""Tiny scenarios and a failing strategy for the sweep, executor, sensitivity and stress tests.

TOY is a one-platform world ("Hub", 150 participants, 20 steps) hit by a fee
hike at step 2. Its parameters were chosen by measuring the model (see
``test_toy_deserts_iff_fee_hike_above_02``): the Hub loses more than half of
its peak community when the hike is above about 0.2 and almost nobody below
it, whatever ``dynamics.ads_cost`` (which does nothing here: nobody buys ads).
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sim.config.spec import param
from sim.model.levers import Levers, Observation
from sim.model.strategies import Strategy

TOY: dict[str, Any] = {
    "name": "toy_fee_hike",
    "description": "one platform, one fee hike",
    "steps": 20,
    "seed": 11,
    "network": {"kind": "erdos_renyi", "n": 150, "mean_degree": 8},
    "population": {"values_mean": 0.6, "values_sd": 0.1, "initial_commitment": 0.6},
    "dynamics": {"grievance_rate": 0.16, "grievance_decay": 0.1, "exit_contagion": 2.0, "fickleness": 0.05},
    "organizations": [
        {
            "name": "Hub",
            "kind": "platform",
            "openness": 0.7,
            "values": 0.6,
            "take_rate": 0.05,
            "transparency": 0.8,
            "initial_share": 0.9,
            "initial_level": "PRODUCING",
        }
    ],
    "shocks": [{"kind": "fee_hike", "step": 2, "target": "Hub", "size": 0.1}],
}

#: The stress test the toy was built for: desertion iff the fee hike is above about 0.2.
TOY_STRESS = {
    "uncertain": {"shocks.0.size": [0.0, 0.4], "dynamics.ads_cost": [0.0, 1.0]},
    "desertion": {"organization": "Hub", "measure": "desertion_share", "above": 0.5},
}

CITATION = "# Heimans & Timms (2014): a test toy, not an article case."


def toml_value(value: Any) -> str:
    """A Python value as TOML (numbers, strings, booleans, lists, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    raise TypeError(value)


def write_toml(data: dict[str, Any], path: Path) -> Path:
    """Write a scenario dict as a TOML file (tables, arrays of tables) that reads back equal."""
    lines = [CITATION]
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    for key, value in data.items():
        if key not in tables and key not in arrays:
            lines.append(f"{key} = {toml_value(value)}")
    for key, table in tables.items():
        lines.append(f"\n[{key}]")
        lines += [f'"{k}" = {toml_value(v)}' for k, v in table.items()]
    for key, items in arrays.items():
        for item in items:
            lines.append(f"\n[[{key}]]")
            lines += [f'"{k}" = {toml_value(v)}' for k, v in item.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert tomllib.loads(path.read_text()) == data
    return path


def toy(**tables: Any) -> dict[str, Any]:
    """A deep copy of TOY with top-level keys or tables replaced."""
    data = copy.deepcopy(TOY)
    data.update(copy.deepcopy(tables))
    return data


@dataclass
class RaiseAboveTakeRate(Strategy):
    """Test-only strategy: raises when its organization's take rate is above ``limit``."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = "test only: fails above a take rate"
    limit: float = param(0.3, 0.0, 1.0, doc="take rate above which decide() raises")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Keep the levers, or raise if the take rate is above the limit."""
        if levers.take_rate > self.limit:
            raise RuntimeError(f"take rate {levers.take_rate:g} is above {self.limit:g} (test failure)")
        return levers
