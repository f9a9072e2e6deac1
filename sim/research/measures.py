"""The summary measures a scenario's runs will report, known before any run.

A research command analyses summary measures (``sensitivity --measure``, a
stress test's ``[desertion].measure``); a misspelled or text measure must be
refused before hours of runs, not after. The measures of a run are the
population measures and, for every organization present from the start or
added by a ``rival_entry`` shock, the per-organization measures
(:data:`sim.model.metrics.SUMMARY_MEASURES`); all are numbers except
:data:`TEXT_MEASURES`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.config.scenario import Scenario
from sim.errors import SimError
from sim.model.metrics import SUMMARY_MEASURES
from sim.model.shocks import RivalEntry, make_shock

ORG = "<org>."
#: Per-organization summary measures that are text (a compass quadrant): they cannot be averaged or analysed.
TEXT_MEASURES = frozenset({"final_quadrant"})
#: Measures of the whole population, in ``SUMMARY_MEASURES`` order.
POPULATION = tuple(k for k in SUMMARY_MEASURES if not k.startswith(ORG))
#: Measures of each organization (the part after ``<organization>.``), in ``SUMMARY_MEASURES`` order.
PER_ORGANIZATION = tuple(k[len(ORG) :] for k in SUMMARY_MEASURES if k.startswith(ORG))


def organizations(scenario: Scenario) -> list[str]:
    """The organizations a run reports on: those present from the start, then the newcomers of shocks."""
    names = [org.name for org in scenario.organizations]
    for entry in scenario.shocks:
        shock = make_shock(entry.kind, entry.params, source=scenario.source)
        if isinstance(shock, RivalEntry):
            names.append(shock.name)
    return names


def summary_measures(scenario: Scenario) -> dict[str, bool]:
    """Every summary measure of the scenario's runs, in the order a run reports them -> whether it is a number."""
    out = dict.fromkeys(POPULATION, True)
    for org in organizations(scenario):
        out.update({f"{org}.{m}": m not in TEXT_MEASURES for m in PER_ORGANIZATION})
    return out


def numeric_per_organization() -> list[str]:
    """The per-organization measures that are numbers."""
    return [m for m in PER_ORGANIZATION if m not in TEXT_MEASURES]


def allowed_words(scenario: Scenario) -> str:
    """The numeric measures, in words short enough for one line."""
    orgs = organizations(scenario)
    text = ", ".join(POPULATION)
    if orgs:
        text += (
            f", or <organization>.<measure> with <organization> one of {', '.join(orgs)} and <measure> one of "
            f"{', '.join(numeric_per_organization())}"
        )
    return text


def measure_problem(scenario: Scenario, name: str) -> str | None:
    """Why ``name`` is not a numeric summary measure of the scenario's runs; None when it is one."""
    measures = summary_measures(scenario)
    if name not in measures:
        return "not a summary measure of these runs"
    if not measures[name]:
        return "a text measure, not a number: it cannot be averaged or analysed"
    return None


def check_measures(scenario: Scenario, names: Iterable[str], option: str = "--measure") -> list[str]:
    """Return ``names`` (without repeats) if each is a numeric summary measure of the scenario's runs.

    Raises:
        SimError: one line naming the option, the measure and the measures allowed.
    """
    names = list(dict.fromkeys(names))
    for name in names:
        problem = measure_problem(scenario, name)
        if problem is not None:
            raise SimError(f"{option} {name!r}: {problem}; allowed: {allowed_words(scenario)}")
    return names
