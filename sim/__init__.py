"""newpower: old power against new power, as an agent-based model on Mesa.

After Heimans & Timms, "Understanding New Power" (HBR, December 2014).

    >>> from sim import load_scenario, run
    >>> scenario = load_scenario("scenarios/watts_cascade.toml", overrides={"network.mean_degree": 3.5})
    >>> result = run(scenario, seed=7)
    >>> result.summary["final_active_fraction"]  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from .agents import Institution, Organization, Participant, Platform
from .errors import InputError, ScenarioError, SimError
from .model import PowerModel
from .runner import RunResult, run
from .scenario import Scenario, load_scenario, scenario_from_dict
from .states import Level, OrgKind, Quadrant

try:
    __version__ = version("newpower")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "Institution", "InputError", "Level", "OrgKind", "Organization", "Participant", "Platform",
    "PowerModel", "Quadrant", "RunResult", "Scenario", "ScenarioError", "SimError",
    "load_scenario", "run", "scenario_from_dict", "__version__",
]
