"""The classic threshold models the model reduces to, as checks that return verdicts with numbers.

Each check runs a library scenario in the limit where the model is a published threshold model
and compares what happens with what the paper found:

- :func:`granovetter_check`: ``granovetter_riot`` (thresholds 0..99 in a crowd of 100) ends
  with all 100 rioting; ``granovetter_riot_perturbed`` (the person at 1 moved to 2) with only
  the instigator. Exact, in every driver. Granovetter (1978), *American Journal of Sociology*
  83(6):1420-1443.
- :func:`centola_check`: ``centola_clustering`` (absolute threshold 2, one participant and its
  neighbourhood seeded, Watts-Strogatz k = 8): the behaviour spreads to most of the network on
  the ring lattice (``network.rewire_prob = 0``) and stays local on the fully rewired, random
  network (``1.0``; a few rewired runs may spread in a finite network, see the function).
  Centola & Macy (2007), *American Journal of Sociology* 113(3):702-734.
- :func:`watts_check`: ``watts_cascade`` at threshold ``phi``: a single random seed triggers
  global cascades inside the analytic cascade window (:func:`watts_window`) and never outside
  it. Watts (2002), *PNAS* 99(9):5766-5771.

Every check returns a :class:`ClassicVerdict` (its ``passed`` flag, the claim in plain words,
the source, and the measured ``numbers``); :func:`classic_checks` runs all of them. Seeds are
explicit: pass ``seeds`` (a list of run seeds), or leave them out to use seeds derived from each
scenario's own ``seed`` (:func:`sim.runs.replicate.replication_seeds`). Example::

    from sim.research.classics import classic_checks
    for verdict in classic_checks():
        print(verdict.name, "passed" if verdict.passed else "FAILED", verdict.numbers)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.model.catalog import load_scenario
from sim.model.power_model import DRIVERS
from sim.runs.replicate import replication_seeds
from sim.runs.runner import run
from sim.stats import interval

__all__ = [
    "GLOBAL",
    "ClassicVerdict",
    "cascade_condition",
    "centola_check",
    "classic_checks",
    "granovetter_check",
    "watts_check",
    "watts_window",
]

#: A run "spreads globally" (a global cascade) when at least this share of participants ends active;
#: final sizes are bimodal, so any cut between the small and the large mode gives the same verdicts.
GLOBAL = 0.1
#: Centola & Macy's contrast: at least this share of lattice runs spread globally, at most
#: ``CENTOLA_FEW`` of the rewired runs do.
CENTOLA_MOST, CENTOLA_FEW = 0.9, 0.1
GRANOVETTER = "Granovetter (1978), American Journal of Sociology 83(6):1420-1443"
CENTOLA = "Centola & Macy (2007), American Journal of Sociology 113(3):702-734"
WATTS = "Watts (2002), Proceedings of the National Academy of Sciences 99(9):5766-5771"


@dataclass(frozen=True)
class ClassicVerdict:
    """The outcome of one classic check.

    Attributes:
        name: the check (``granovetter``, ``centola``, ``watts_phi_0.24``...).
        claim: what the paper found, in plain words.
        source: the citation.
        passed: whether the model reproduced it.
        numbers: what was measured, by name (fractions of participants, cascade frequencies,
            intervals as ``*_ci_low``/``*_ci_high``, the number of runs).
    """

    name: str
    claim: str
    source: str
    passed: bool
    numbers: dict[str, float] = field(default_factory=dict)


def _final_fractions(
    scenario, seeds: Sequence[int], driver: str = "vectorized", steps: int | None = None
) -> np.ndarray:
    return np.array(
        [run(scenario, seed=s, steps=steps, driver=driver).summary["final_active_fraction"] for s in seeds]
    )


def _seeds(scenario, seeds: Sequence[int] | None, replications: int) -> list[int]:
    return list(seeds) if seeds is not None else replication_seeds(scenario.seed, replications)


def granovetter_check(drivers: Sequence[str] = DRIVERS) -> ClassicVerdict:
    """Granovetter's riot: 100 rioters with thresholds 0..99, 1 when the person at 1 moves to 2.

    The runs are deterministic (climb_prob = 1, no random draws decide anything), so one run per
    driver is the result; both drivers must agree exactly.
    """
    numbers: dict[str, float] = {}
    for name in ("granovetter_riot", "granovetter_riot_perturbed"):
        scenario = load_scenario(name)
        for driver in drivers:
            result = run(scenario, driver=driver)
            numbers[f"{name}.{driver}.rioters"] = float(result.timeseries["n_sharing"].iloc[-1])
    riot = {numbers[f"granovetter_riot.{d}.rioters"] for d in drivers}
    perturbed = {numbers[f"granovetter_riot_perturbed.{d}.rioters"] for d in drivers}
    return ClassicVerdict(
        name="granovetter",
        claim="with thresholds 0..99 all 100 riot; move the person at 1 to 2 and only the instigator riots",
        source=GRANOVETTER,
        passed=riot == {100.0} and perturbed == {1.0},
        numbers=numbers,
    )


def centola_check(
    seeds: Sequence[int] | None = None, replications: int = 10, n: int | None = None, steps: int | None = None
) -> ClassicVerdict:
    """Complex contagion (threshold 2) spreads on the ring lattice (rewire 0), not when rewired (1.0).

    Passes when at least :data:`CENTOLA_MOST` of the lattice runs spread globally (final share >=
    :data:`GLOBAL`) and at most :data:`CENTOLA_FEW` of the rewired runs do. Not none: in a finite
    random network the 9 seeds' ties sometimes meet twice at a few participants and set off
    bootstrap percolation (about 3 runs in 100 at n = 1000; the smaller n, the more often: about
    two in three at n = 400), so the contrast needs n of about 1000 or more at k = 8.
    On the lattice the adopters' front advances k/2 - 1 = 3 participants each way per step, so
    covering n = 1000 takes about 165 steps (the scenario's 200); give ``steps`` of about n / 6
    for a larger ``n``. ``numbers`` holds each network's mean final share with its 95% interval
    and the share of runs that spread globally.
    """
    base = load_scenario("centola_clustering")
    if n is not None:
        base = base.with_overrides({"network.n": n})
    run_seeds = _seeds(base, seeds, replications)
    numbers: dict[str, float] = {"runs": float(len(run_seeds))}
    spread: dict[float, np.ndarray] = {}
    for rewire in (0.0, 1.0):
        fractions = _final_fractions(
            base.with_overrides({"network.rewire_prob": rewire}), run_seeds, steps=steps
        )
        spread[rewire] = fractions >= GLOBAL
        stats = interval(fractions)
        label = f"rewire_{rewire:g}"
        numbers[f"{label}.final_fraction"] = stats["mean"]
        numbers[f"{label}.final_fraction_ci_low"] = stats["ci_low"]
        numbers[f"{label}.final_fraction_ci_high"] = stats["ci_high"]
        numbers[f"{label}.global_share"] = float(spread[rewire].mean())
    return ClassicVerdict(
        name="centola",
        claim="a behaviour needing 2 adopting neighbours spreads on a clustered lattice, not on a random network",
        source=CENTOLA,
        passed=bool(spread[0.0].mean() >= CENTOLA_MOST and spread[1.0].mean() <= CENTOLA_FEW),
        numbers=numbers,
    )


def cascade_condition(z: float, phi: float) -> float:
    """Watts' cascade condition for Poisson degrees, as ``sum_k k(k-1) p_k rho_k - z``.

    Global cascades are possible where this is positive (Watts 2002, eq. 4), with ``p_k``
    Poisson(z) and ``rho_k = 1`` for the vulnerable degrees ``k <= floor(1/phi)`` (one active
    neighbour suffices), else 0.
    """
    k_star = math.floor(1.0 / phi)
    return sum(k * (k - 1) * math.exp(-z) * z**k / math.factorial(k) for k in range(2, k_star + 1)) - z


def watts_window(phi: float) -> tuple[float, float]:
    """The analytic cascade window ``(z_low, z_high)`` at threshold ``phi``, by bisection.

    About (1.02, 5.76) at phi = 0.18 and (1.11, 3.86) at phi = 0.24; ``(nan, nan)`` when the
    window is closed (phi > 1/4: no mean degree satisfies the condition).
    """
    zs = np.linspace(0.5, 12, 500)
    peak = float(max(zs, key=lambda z: cascade_condition(z, phi)))
    if cascade_condition(peak, phi) <= 0:
        return math.nan, math.nan

    def root(a: float, b: float) -> float:
        positive_at_a = cascade_condition(a, phi) > 0
        for _ in range(200):
            m = 0.5 * (a + b)
            if (cascade_condition(m, phi) > 0) == positive_at_a:
                a = m
            else:
                b = m
        return 0.5 * (a + b)

    return root(0.5, peak), root(peak, 20.0)


def watts_check(
    phi: float = 0.24,
    inside: Sequence[float] = (2.0, 2.5),
    outside: Sequence[float] = (0.5, 5.0),
    seeds: Sequence[int] | None = None,
    replications: int = 20,
    n: int = 3000,
    steps: int = 50,
) -> ClassicVerdict:
    """Global cascades from one random seed inside Watts' window at ``phi``, none outside it.

    Passes when at every mean degree in ``inside`` at least a third of the runs cascade globally
    and every global cascade reaches most of the network (sizes are bimodal), and at every mean
    degree in ``outside`` none does. Choose inside points where the giant component holds most of
    the network (z of 2 or more): near z = 1 a cascade cannot reach half of it. ``numbers`` holds
    the window's bounds and, per mean degree, the share of runs that cascaded globally, the
    largest final share and the smallest final share of a global cascade.
    """
    base = load_scenario("watts_cascade", overrides={"network.n": n, "population.threshold": phi})
    run_seeds = _seeds(base, seeds, replications)
    low, high = watts_window(phi)
    numbers: dict[str, float] = {"window_low": low, "window_high": high, "runs": float(len(run_seeds))}
    passed = True
    for z in (*inside, *outside):
        fractions = _final_fractions(base.with_overrides({"network.mean_degree": z}), run_seeds, steps=steps)
        cascades = fractions >= GLOBAL
        numbers[f"z_{z:g}.cascade_frequency"] = float(cascades.mean())
        numbers[f"z_{z:g}.largest_final_fraction"] = float(fractions.max())
        numbers[f"z_{z:g}.smallest_cascade_fraction"] = (
            float(fractions[cascades].min()) if cascades.any() else math.nan
        )
        if z in inside:
            passed &= cascades.mean() >= 1 / 3 and bool(np.all(fractions[cascades] > 0.5))
        else:
            passed &= not cascades.any()
    return ClassicVerdict(
        name=f"watts_phi_{phi:g}",
        claim=f"one seed triggers global cascades for {low:.2f} < z < {high:.2f} at phi = {phi:g}, none outside",
        source=WATTS,
        passed=bool(passed),
        numbers=numbers,
    )


def classic_checks(seeds: Sequence[int] | None = None) -> list[ClassicVerdict]:
    """All classic checks (Granovetter, Centola & Macy, Watts at phi = 0.18 and 0.24), with ``seeds`` if given."""
    return [
        granovetter_check(),
        centola_check(seeds=seeds),
        watts_check(phi=0.18, inside=(3.0, 4.0), outside=(0.5, 8.0), seeds=seeds),
        watts_check(phi=0.24, seeds=seeds),
    ]
