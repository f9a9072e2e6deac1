"""A shock's effect net of its control: the same scenario without the shock, on the same seeds.

Desertion after a shock is only the shock's doing beyond what the community would have lost
anyway (a start-up transient, a slow drift): ``net_desertion`` runs the scenario with and
without the shocks of one kind on common random numbers (the same seeds, so both runs draw the
same numbers until the shock) and reports, per organization, the paired difference of the
desertions (exits not followed by a return within ``[measures] desertion_window``), with a 95%
interval. Example::

    from sim.research.shock_control import net_desertion
    net_desertion("uber_fee_hike", "fee_hike", seeds=range(5000, 5020))["Uber"]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from sim.errors import SimError
from sim.stats import interval

#: Per-organization summary measures compared (``<org>.<measure>``).
MEASURES = ("desertions", "desertions_to_rival", "churn", "desertion_share")


def without_shock(scenario, kind: str):
    """The scenario with every scheduled shock of ``kind`` removed (its control)."""
    from sim.config.scenario import scenario_from_dict

    shocks = list(scenario.raw.get("shocks", []))
    kept = [s for s in shocks if s.get("kind") != kind]
    if len(kept) == len(shocks):
        kinds = sorted({s.get("kind") for s in shocks})
        raise SimError(
            f"shock {kind!r}: not scheduled in {scenario.name}; allowed: {', '.join(kinds) or '(none)'}"
        )
    return scenario_from_dict(
        {**scenario.raw, "shocks": kept}, source=scenario.source, allow_code=scenario.allow_code
    )


def net_desertion(
    scenario_name: str, kind: str, seeds: Iterable[int], overrides: dict[str, Any] | None = None
):
    """Per organization present in both runs: each measure with the shock, without it, and the
    paired difference (mean and 95% interval)."""
    from sim.model.catalog import load_scenario
    from sim.runs.runner import run

    treated = load_scenario(scenario_name, overrides=overrides or {})
    control = without_shock(treated, kind)
    pairs = [(run(treated, seed=s).summary, run(control, seed=s).summary) for s in seeds]
    orgs = [o.name for o in control.organizations]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for org in orgs:
        out[org] = {}
        for measure in MEASURES:
            key = f"{org}.{measure}"
            shocked = np.array([t[key] for t, _ in pairs], dtype=float)
            plain = np.array([c[key] for _, c in pairs], dtype=float)
            diff = interval(shocked - plain)
            out[org][measure] = {
                "with_shock": float(shocked.mean()),
                "without": float(plain.mean()),
                "net": diff["mean"],
                "ci_low": diff["ci_low"],
                "ci_high": diff["ci_high"],
            }
    return out
