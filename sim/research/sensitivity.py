"""Global sensitivity analysis with SALib: Sobol indices or Morris elementary effects.

The factors and their ranges come from the scenario's ``[sweep].ranges``, or
from ``[uncertain]`` when there are none. SALib draws the sample (with the
root seed passed explicitly), the sweep machinery runs it (any executor,
resumable, stored as a Parquet dataset), and SALib analyses the mean of each
measure over a point's replications:

* ``sobol``: Saltelli's scheme, ``N * (D + 2)`` points for D factors
  (``calc_second_order=False``); first-order (S1) and total (ST) indices with
  95% bootstrap intervals.
* ``morris``: ``N`` trajectories of ``D + 1`` points on a 4-level grid; mu*
  (the mean absolute elementary effect, a ranking of importance) with its 95%
  bootstrap interval, and sigma (interactions or non-linearity).

The model is stochastic. Every point of replicate r runs with the same seed
(common random numbers), so that differences between points come from the
factors and not from seed-to-seed noise (with independent seeds, a factor
that does nothing gets a total index of the size of the noise); each
replicate draws a new seed, and the analysis uses each point's mean over its
replicates. Use several replications, and read an index whose interval
includes 0 as "not distinguishable from noise".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.scenario import Scenario
from sim.errors import ScenarioError, SimError
from sim.figures.sensitivity import bar_chart
from sim.figures.sweep import headline_measures
from sim.research.plan import Point, SweepPlan, typed_point
from sim.research.sweep import load_sweep
from sim.storage import sweep_store as store
from sim.storage.files import atomic_write

METHODS = ("sobol", "morris")
#: The indices each method reports, per measure and factor.
INDEX_COLUMNS = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu", "mu_star", "mu_star_conf", "sigma"),
}
#: Sobol indices this far outside [0, 1] are sampling error, not rounding: the sample is too small.
SOBOL_SLACK = 0.05
#: Fewer Morris trajectories than this give unstable rankings (Campolongo, Cariboni & Saltelli 2007 use 10+).
MORRIS_MIN_TRAJECTORIES = 10
INDICES = "sensitivity.parquet"
REPORT = "sensitivity.md"
FIGURE = "figures/sensitivity.png"


def problem_for(scenario: Scenario) -> dict[str, Any]:
    """The SALib problem: ``[sweep].ranges``, else ``[uncertain]``.

    Raises:
        ScenarioError: neither table gives a range, or a range is empty.
    """
    ranges = dict(scenario.sweep.ranges) or dict(scenario.uncertain)
    table = "sweep.ranges" if scenario.sweep.ranges else "uncertain"
    if not ranges:
        raise ScenarioError(
            "no ranges to analyse",
            source=scenario.source,
            key="sweep.ranges",
            allowed="[sweep] ranges = {key = [low, high]} or an [uncertain] table (or --range KEY=LOW:HIGH)",
        )
    for key, (lo, hi) in ranges.items():
        if not hi > lo:
            raise ScenarioError(
                "a sensitivity range needs low < high",
                source=scenario.source,
                key=f"{table}.{key}",
                value=[lo, hi],
                allowed="[low, high] with low < high",
            )
    return {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [[float(lo), float(hi)] for lo, hi in ranges.values()],
    }


def plan_sensitivity(
    scenario: Scenario,
    method: str = "sobol",
    samples: int = 64,
    replications: int = 1,
    root_seed: int | None = None,
    levels: int = 4,
    every: int = 0,
) -> SweepPlan:
    """The sample SALib draws, as a sweep plan.

    Args:
        scenario: the validated scenario.
        method: ``"sobol"`` or ``"morris"``.
        samples: Sobol's base N (a power of 2 is best), or Morris' number of trajectories.
        replications: runs per point (the analysis uses their mean).
        root_seed: seeds SALib's sampler and the runs (default: the scenario's seed).
        levels: Morris grid levels (an even number, 2 or more).
        every: time-series thinning (default 0: none are kept).

    Raises:
        SimError: an unknown method, fewer than one sample, or a Morris grid of an odd or too small size.
        ScenarioError: no ranges to sample (see :func:`problem_for`).
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    check_design(method, samples, levels)
    root = scenario.seed if root_seed is None else int(root_seed)
    problem = problem_for(scenario)
    if method == "sobol":
        x = sobol_sample.sample(problem, samples, calc_second_order=False, seed=root)
    else:
        x = morris_sample.sample(problem, samples, num_levels=levels, seed=root)
    points = [
        Point(i, typed_point(scenario, dict(zip(problem["names"], row, strict=True))), 0)
        for i, row in enumerate(x.tolist())
    ]  # common random numbers: one seed per replicate
    extra = {
        "method": method,
        "problem": problem,
        "samples": samples,
        "levels": levels,
        "calc_second_order": False,
    }
    design = {
        "design": f"{method} (SALib)",
        "ranges": dict(zip(problem["names"], problem["bounds"], strict=True)),
        "samples": samples,
    }
    return SweepPlan(scenario, points, replications, root, every, "sensitivity", design, extra)


def check_design(method: str, samples: int, levels: int) -> None:
    """Refuse a method, sample size or Morris grid SALib cannot use.

    Raises:
        SimError: naming the option and the value.
    """
    if method not in METHODS:
        raise SimError(f"--method {method!r}: unknown sensitivity method; allowed: {', '.join(METHODS)}")
    if samples < 1:
        raise SimError(f"--samples {samples}: allowed: 1 or more")
    if method == "morris" and (levels < 2 or levels % 2):
        # Morris' grid jump of levels / (2 (levels - 1)) steps covers the grid evenly only for an even count
        raise SimError(
            f"--levels {levels}: allowed: an even number of Morris grid levels, 2 or more (4 is usual)"
        )


def analyze(folder: str | Path, measures: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Sensitivity indices of each measure, from a finished sensitivity folder.

    Args:
        folder: written by :func:`plan_sensitivity` + :func:`~sim.research.sweep.run_sweep`.
        measures: summary measures (default: the desertion measure, then every headline measure).

    Returns:
        ``(indices, notes)``: one row per measure and factor (Sobol: ``S1,
        S1_conf, ST, ST_conf``; Morris: ``mu, mu_star, mu_star_conf, sigma``),
        and notes on measures left out (unknown, text, constant, undefined).

    Raises:
        SimError: not a sensitivity folder, or some points have no completed run (resume the sweep first).
    """
    manifest = load_sweep(folder)
    if manifest.get("kind") != "sensitivity":
        raise SimError(f"{folder}: not a sensitivity folder (kind {manifest.get('kind')!r})")
    problem = manifest["extra"]["problem"]
    summaries = store.read_summaries(folder)
    n_points = manifest["n_points"]
    missing = sorted(set(range(n_points)) - set(summaries["point_id"]))
    if missing:
        raise SimError(
            f"{folder}: {len(missing)} of {n_points} points have no completed run "
            f"(see failures/); rerun the same command to resume"
        )
    measures = list(measures) if measures else _measures(manifest, summaries)
    numeric = [m for m in measures if m in store.measure_columns(summaries)]
    means = summaries.groupby("point_id")[numeric].mean().sort_index()
    x = store.read_points(folder).sort_values("point_id")[[store.PARAM + n for n in problem["names"]]]
    x = x.to_numpy(dtype=float)
    rows, notes = [], []
    for measure in measures:
        note = _left_out(measure, summaries, means)
        if note:
            notes.append(f"{measure}: {note}")
            continue
        for name, values in _indices(manifest, x, means[measure].to_numpy(dtype=float)).items():
            rows.append({"measure": measure, "factor": name, **values})
    return pd.DataFrame(
        rows, columns=["measure", "factor", *INDEX_COLUMNS[manifest["extra"]["method"]]]
    ), notes


def _left_out(measure: str, summaries: pd.DataFrame, means: pd.DataFrame) -> str | None:
    """Why a measure has no indices (unknown, text, undefined somewhere, constant); None if it has."""
    if measure not in summaries:
        return "not a measure of these runs"
    if measure not in means:
        return "a text measure, not a number; left out"
    y = means[measure].to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        return "undefined in some runs (NaN); left out"
    if np.ptp(y) == 0:
        return f"the same in every run ({y[0]:.4g}); no sensitivity to report"
    return None


def _indices(manifest: dict[str, Any], x: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float]]:
    """SALib's indices of one measure, by factor."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    extra = manifest["extra"]
    problem = extra["problem"]
    with np.errstate(all="ignore"):
        if extra["method"] == "sobol":
            si = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=manifest["root_seed"])
        else:
            si = morris_analyze.analyze(problem, x, y, num_levels=extra["levels"], seed=manifest["root_seed"])
    keys = INDEX_COLUMNS[extra["method"]]
    return {name: {k: float(si[k][i]) for k in keys} for i, name in enumerate(problem["names"])}


def _measures(manifest: dict[str, Any], summaries: pd.DataFrame) -> list[str]:
    desertion = manifest.get("base_scenario", {}).get("desertion", {})
    first = (
        [f"{desertion['organization']}.{desertion.get('measure', 'desertion_share')}"]
        if desertion.get("organization")
        else []
    )
    return list(dict.fromkeys(first + headline_measures(summaries.columns)))


def sample_warnings(indices: pd.DataFrame, method: str, samples: int) -> list[str]:
    """Warnings that the sample is too small for the method.

    Sobol indices are shares of variance, between 0 and 1; estimates outside
    [0, 1] by more than :data:`SOBOL_SLACK` mean the sample is too small for
    them to settle. Morris' elementary effects need at least
    :data:`MORRIS_MIN_TRAJECTORIES` trajectories (Campolongo, Cariboni & Saltelli 2007).
    """
    if method == "morris":
        if samples >= MORRIS_MIN_TRAJECTORIES:
            return []
        text = (
            f"the sample is too small for Morris: {samples} trajectories (at least {MORRIS_MIN_TRAJECTORIES} "
            "are needed for stable rankings); use a larger --samples"
        )
        return [text]
    if indices.empty:
        return []
    values = indices.melt(id_vars=["measure", "factor"], value_vars=["S1", "ST"]).dropna()
    outside = values[(values["value"] < -SOBOL_SLACK) | (values["value"] > 1 + SOBOL_SLACK)]
    if outside.empty:
        return []
    worst = outside.loc[(outside["value"] - 0.5).abs().idxmax()]
    n = outside["measure"].nunique()
    text = (
        f"the sample is too small for Sobol (N = {samples}): {n} measure{'s' if n > 1 else ''} "
        f"{'have' if n > 1 else 'has'} indices outside [0, 1] (worst: {worst['variable']} of "
        f"{worst['factor']} for {worst['measure']} = {worst['value']:.3g}); use a larger --samples "
        "(64 or more, a power of 2)"
    )
    return [text]


def write_outputs(folder: str | Path, indices: pd.DataFrame, notes: list[str]) -> list[Path]:
    """Write the indices (Parquet), the Markdown report and the bar chart; return their paths."""
    folder = Path(folder)
    manifest = load_sweep(folder)
    method = manifest["extra"]["method"]
    store.write_table(indices, folder / INDICES)
    paths = [folder / INDICES]
    if not indices.empty:
        paths.append(bar_chart(indices, method, folder / FIGURE, manifest))
    text = markdown(indices, notes, manifest)
    atomic_write(folder / REPORT, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return [folder / REPORT, *paths]


def table_text(indices: pd.DataFrame, method: str) -> str:
    """The indices as a plain-text table, one block per measure (for the terminal)."""
    if indices.empty:
        return "(no measure varied: nothing to report)"
    lines = []
    for measure, part in indices.groupby("measure", sort=False):
        lines.append(measure)
        if method == "sobol":
            lines.append(f"  {'factor':<40} {'S1':>7} {'+/-':>6} {'ST':>7} {'+/-':>6}")
            for r in part.itertuples():
                lines.append(f"  {r.factor:<40} {r.S1:7.3f} {r.S1_conf:6.3f} {r.ST:7.3f} {r.ST_conf:6.3f}")
        else:
            lines.append(f"  {'factor':<40} {'mu*':>9} {'+/-':>8} {'mu':>9} {'sigma':>9}")
            for r in part.itertuples():
                lines.append(
                    f"  {r.factor:<40} {r.mu_star:9.4g} {r.mu_star_conf:8.3g} {r.mu:9.4g} {r.sigma:9.4g}"
                )
    return "\n".join(lines)


def markdown(indices: pd.DataFrame, notes: list[str], manifest: dict[str, Any]) -> str:
    """The report: what was sampled, then one table per measure."""
    extra = manifest["extra"]
    method = extra["method"]
    problem = extra["problem"]
    sc = manifest["scenario"]
    lines = [
        f"# Sensitivity analysis ({method}): {sc['name']}",
        "",
        f"{sc.get('description', '')}",
        "",
        (
            f"{manifest['n_points']} points x {manifest['replications']} replication(s) = "
            f"{manifest['n_runs']} runs; root seed {manifest['root_seed']}; {sc['steps']} steps; "
            f"{sc['n']} participants. Indices are computed on each point's mean over its replications "
            f"(SALib {manifest['versions'].get('SALib')}, intervals at 95%)."
        ),
        "",
    ]
    for warning in sample_warnings(indices, method, extra["samples"]):
        lines += [f"**Warning:** {warning}.", ""]
    if method == "sobol":
        lines += [
            (
                "S1 is the share of a measure's variance due to a factor alone; ST adds its interactions. "
                "ST much larger than S1 means the factor acts through interactions; an index whose interval "
                "includes 0 is not distinguishable from the model's noise."
            ),
            "",
        ]
    else:
        lines += [
            (
                "mu* ranks factors by their mean absolute elementary effect (in the measure's units, per "
                "full range of the factor); a large sigma means interactions or a non-linear effect."
            ),
            "",
        ]
    lines += ["| factor | range |", "|---|---|"]
    lines += [
        f"| `{n}` | {lo:g} to {hi:g} |"
        for n, (lo, hi) in zip(problem["names"], problem["bounds"], strict=True)
    ]
    lines += ["", "![indices](figures/sensitivity.png)", ""]
    for measure, part in indices.groupby("measure", sort=False):
        lines += [f"## `{measure}`", ""]
        if method == "sobol":
            lines += ["| factor | S1 | 95% interval | ST | 95% interval |", "|---|---|---|---|---|"]
            lines += [
                f"| `{r.factor}` | {r.S1:.3f} | {r.S1 - r.S1_conf:.3f} to {r.S1 + r.S1_conf:.3f} | "
                f"{r.ST:.3f} | {r.ST - r.ST_conf:.3f} to {r.ST + r.ST_conf:.3f} |"
                for r in part.sort_values("ST", ascending=False).itertuples()
            ]
        else:
            lines += ["| factor | mu* | 95% interval | mu | sigma |", "|---|---|---|---|---|"]
            lines += [
                f"| `{r.factor}` | {r.mu_star:.4g} | {r.mu_star - r.mu_star_conf:.4g} to "
                f"{r.mu_star + r.mu_star_conf:.4g} | {r.mu:.4g} | {r.sigma:.4g} |"
                for r in part.sort_values("mu_star", ascending=False).itertuples()
            ]
        lines.append("")
    if notes:
        lines += ["## Left out", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)
