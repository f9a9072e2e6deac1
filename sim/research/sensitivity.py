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

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.config.scenario import Scenario
from sim.errors import ScenarioError, SimError
from sim.figures.sweep import headline_measures
from sim.research.plan import Point, SweepPlan, typed_point
from sim.research.sweep import load_sweep
from sim.storage import sweep_store as store

METHODS = ("sobol", "morris")
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
        levels: Morris grid levels.
        every: time-series thinning (default 0: none are kept).
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in METHODS:
        raise SimError(f"unknown sensitivity method {method!r}; allowed: {', '.join(METHODS)}")
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


def default_measures(scenario: Scenario, summaries: pd.DataFrame) -> list[str]:
    """The desertion measure (if the scenario defines one), then the headline measures."""
    first = []
    if scenario.desertion.organization:
        first.append(f"{scenario.desertion.organization}.{scenario.desertion.measure}")
    return list(dict.fromkeys(first + headline_measures(summaries.columns)))


def analyze(folder: str | Path, measures: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Sensitivity indices of each measure, from a finished sensitivity folder.

    Args:
        folder: written by :func:`plan_sensitivity` + :func:`~sim.research.sweep.run_sweep`.
        measures: summary measures (default: every numeric headline measure).

    Returns:
        ``(indices, notes)``: one row per measure and factor (Sobol: ``S1,
        S1_conf, ST, ST_conf``; Morris: ``mu, mu_star, mu_star_conf, sigma``),
        and notes on measures left out (constant, undefined).

    Raises:
        SimError: some points have no completed run (resume the sweep first).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    manifest = load_sweep(folder)
    extra = manifest.get("extra", {})
    if manifest.get("kind") != "sensitivity":
        raise SimError(f"{folder}: not a sensitivity folder (kind {manifest.get('kind')!r})")
    problem = extra["problem"]
    summaries = store.read_summaries(folder)
    n_points = manifest["n_points"]
    measures = list(measures) if measures else _measures(manifest, summaries)
    missing = sorted(set(range(n_points)) - set(summaries["point_id"]))
    if missing:
        raise SimError(
            f"{folder}: {len(missing)} of {n_points} points have no completed run "
            f"(see failures/); rerun the same command to resume"
        )
    means = summaries.groupby("point_id")[[m for m in measures if m in summaries]].mean().sort_index()
    x = store.read_points(folder).sort_values("point_id")[[store.PARAM + n for n in problem["names"]]]
    x = x.to_numpy(dtype=float)
    rows, notes = [], []
    for measure in measures:
        if measure not in means:
            notes.append(f"{measure}: not a measure of these runs")
            continue
        y = means[measure].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            notes.append(f"{measure}: undefined in some runs (NaN); left out")
            continue
        if np.ptp(y) == 0:
            notes.append(f"{measure}: the same in every run ({y[0]:.4g}); no sensitivity to report")
            continue
        with np.errstate(all="ignore"):
            if extra["method"] == "sobol":
                si = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=manifest["root_seed"])
                keys = ("S1", "S1_conf", "ST", "ST_conf")
            else:
                si = morris_analyze.analyze(
                    problem, x, y, num_levels=extra["levels"], seed=manifest["root_seed"]
                )
                keys = ("mu", "mu_star", "mu_star_conf", "sigma")
        for i, name in enumerate(problem["names"]):
            rows.append({"measure": measure, "factor": name, **{k: float(si[k][i]) for k in keys}})
    return pd.DataFrame(rows), notes


def _measures(manifest: dict[str, Any], summaries: pd.DataFrame) -> list[str]:
    desertion = manifest.get("base_scenario", {}).get("desertion", {})
    first = (
        [f"{desertion['organization']}.{desertion.get('measure', 'desertion_share')}"]
        if desertion.get("organization")
        else []
    )
    return list(dict.fromkeys(first + headline_measures(summaries.columns)))


def write_outputs(folder: str | Path, indices: pd.DataFrame, notes: list[str]) -> list[Path]:
    """Write the indices (Parquet), the Markdown report and the bar chart; return their paths."""
    folder = Path(folder)
    manifest = load_sweep(folder)
    method = manifest["extra"]["method"]
    store.write_table(pa.Table.from_pandas(indices, preserve_index=False), folder / INDICES)
    paths = [folder / INDICES]
    if not indices.empty:
        paths.append(bar_chart(indices, method, folder / FIGURE, manifest))
    text = markdown(indices, notes, manifest)
    store.atomic_write(folder / REPORT, lambda tmp: tmp.write_text(text, encoding="utf-8"))
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


def bar_chart(indices: pd.DataFrame, method: str, path: Path, manifest: dict[str, Any]) -> Path:
    """One panel per measure: S1 and ST (or mu* and sigma) per factor, with 95% intervals."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    measures = list(dict.fromkeys(indices["measure"]))
    ncols = min(3, len(measures))
    nrows = math.ceil(len(measures) / ncols)
    factors = list(dict.fromkeys(indices["factor"]))
    fig = Figure(figsize=(4.6 * ncols, 0.45 * len(factors) * nrows + 1.4 * nrows + 0.8), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    pos = np.arange(len(factors))
    for ax, measure in zip(axes, measures, strict=False):
        part = indices[indices["measure"] == measure].set_index("factor").loc[factors]
        if method == "sobol":
            bars = (("S1", "S1_conf", "#1f77b4", "first order S1"), ("ST", "ST_conf", "#d62728", "total ST"))
        else:
            bars = (("mu_star", "mu_star_conf", "#1f77b4", "mu*"), ("sigma", None, "#999999", "sigma"))
        for k, (col, conf, colour, label) in enumerate(bars):
            err = part[conf].to_numpy() if conf else None
            ax.barh(
                pos + (k - 0.5) * 0.38,
                part[col].to_numpy(),
                height=0.36,
                xerr=err,
                color=colour,
                capsize=3,
                label=label,
            )
        ax.set_yticks(pos, factors, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(measure, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes[len(measures) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{manifest['scenario']['name']}: {method} sensitivity, {manifest['n_points']} points x "
        f"{manifest['replications']} replications (bars: 95% intervals)",
        fontsize=11,
    )
    FigureCanvasAgg(fig)
    path.parent.mkdir(exist_ok=True)
    store.atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    return path
