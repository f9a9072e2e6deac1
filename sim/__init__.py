"""newpower: old power against new power, as an agent-based model on Mesa.

After Heimans & Timms, "Understanding New Power" (HBR, December 2014).

    >>> from sim import load_scenario, run
    >>> scenario = load_scenario("watts_cascade", overrides={"network.mean_degree": 3.5})
    >>> result = run(scenario, seed=7)
    >>> result.summary["final_active_fraction"]  # doctest: +SKIP

The public names below are imported on first use, so ``import sim`` (and ``newpower --help``)
does not load Mesa or Numba until something needs the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The package's version, written once: pyproject.toml reads it from here (``[tool.setuptools.dynamic]``),
#: so no start-up pays for ``importlib.metadata`` looking it up.
__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "SimError": "sim.errors",
    "ScenarioError": "sim.errors",
    "InputError": "sim.errors",
    "Level": "sim.vocabulary",
    "OrgKind": "sim.vocabulary",
    "Quadrant": "sim.vocabulary",
    "Scenario": "sim.config.scenario",
    "load_scenario": "sim.model.catalog",
    "scenario_from_dict": "sim.model.catalog",
    "Institution": "sim.model.agents",
    "Organization": "sim.model.agents",
    "Participant": "sim.model.agents",
    "Platform": "sim.model.agents",
    "PowerModel": "sim.model.power_model",
    "RunResult": "sim.runs.runner",
    "run": "sim.runs.runner",
    "write_results": "sim.runs.folder",
}

__all__ = [
    "InputError",
    "Institution",
    "Level",
    "OrgKind",
    "Organization",
    "Participant",
    "Platform",
    "PowerModel",
    "Quadrant",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SimError",
    "__version__",
    "load_scenario",
    "run",
    "scenario_from_dict",
    "write_results",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs only
    from sim.config.scenario import Scenario
    from sim.errors import InputError, ScenarioError, SimError
    from sim.model.agents import Institution, Organization, Participant, Platform
    from sim.model.catalog import load_scenario, scenario_from_dict
    from sim.model.power_model import PowerModel
    from sim.runs.folder import write_results
    from sim.runs.runner import RunResult, run
    from sim.vocabulary import Level, OrgKind, Quadrant
