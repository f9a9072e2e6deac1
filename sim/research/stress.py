"""Stress tests for strategists: in how many plausible futures does the community desert, and why?

A scenario's ``[uncertain]`` table gives ranges for what the strategist
cannot control (fickleness, peer influence, a rival's entry time, the size of
a fee hike); ``[desertion]`` says what counts as the community deserting
(``<organization>.desertion_share`` above 0.5: losing more than half of its
peak membership). :func:`plan_stress` draws ``samples`` futures by Latin
hypercube; each future is one combination of uncertain values and one seed.
With ``strategies``, every strategy (for the desertion organization) is run
on the same futures, seeds included, so differences are the strategies' own.

:func:`analyze_stress` reports the share of futures that desert with a 95%
Wilson interval, the conditions that lead there (scenario discovery,
:mod:`sim.research.discovery`) and, for several strategies, their paired differences;
:func:`write_report` writes it as Markdown with its figures, next to the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.config.scenario import Scenario
from sim.errors import ScenarioError, SimError
from sim.research.discovery import Box, discover
from sim.research.plan import Point, SweepPlan, sample_ranges
from sim.research.sweep import load_sweep
from sim.stats import interval
from sim.storage import sweep_store as store

REPORT = "report.md"
#: Scenario discovery needs at least this many futures that desert, and that do not.
MIN_EVENTS = 5
OUTCOMES = "outcomes.parquet"
#: Friendlier names for common uncertain keys (the last part of the dotted key).
NAMES = {
    "exit_contagion": "peer influence on exits",
    "peer_influence": "peer influence on climbing",
    "values_mean": "community's new-power values (mean)",
    "take_rate": "take rate",
    "n_seeds": "trigger seeds",
}


# ------------------------------------------------------------------ plan


def label(key: str, scenario_raw: dict[str, Any] | None = None) -> str:
    """A dotted key in words: ``shocks.0.size`` -> ``fee hike size``, ``organizations.Lyft.take_rate`` ->
    ``Lyft take rate``."""
    parts = key.split(".")
    last = NAMES.get(parts[-1], parts[-1].replace("_", " "))
    if parts[0] == "shocks" and len(parts) == 3 and scenario_raw:
        try:
            kind = scenario_raw["shocks"][int(parts[1])]["kind"].replace("_", " ")
        except (KeyError, IndexError, ValueError, TypeError):
            kind = "shock"
        return f"{kind} time (step)" if parts[2] == "step" else f"{kind} {last}"
    if parts[0] == "organizations" and len(parts) == 3:
        return f"{parts[1]} {last}"
    return last


def plan_stress(
    scenario: Scenario,
    samples: int = 100,
    strategies: Sequence[str] = (),
    replications: int = 1,
    root_seed: int | None = None,
    every: int = 1,
) -> SweepPlan:
    """Sampled futures (x strategies), as a sweep plan.

    Args:
        scenario: a scenario with ``[uncertain]`` and ``[desertion]`` tables.
        samples: futures drawn by Latin hypercube over ``[uncertain]``.
        strategies: registered names (or ``module:Class``) for the desertion
            organization, each run on every future; empty runs the scenario as it is.
        replications: seeds per future (each seed is a future of its own in the analysis).
        root_seed: seeds the sample and the runs (default: the scenario's seed).
        every: time-series thinning (1 keeps every step).

    Raises:
        ScenarioError: no uncertain ranges, no desertion organization, or an unknown strategy.
    """
    from sim.model.strategies import make_strategy

    root = scenario.seed if root_seed is None else int(root_seed)
    if not scenario.uncertain:
        raise ScenarioError(
            "nothing is uncertain",
            source=scenario.source,
            key="uncertain",
            allowed="an [uncertain] table: dotted key = [low, high]",
        )
    desertion = scenario.desertion
    if not desertion.organization:
        raise ScenarioError(
            "no desertion criterion",
            source=scenario.source,
            key="desertion.organization",
            allowed="a [desertion] table naming the organization (and measure, above)",
        )
    org_names = [o.name for o in scenario.organizations]
    strategies = list(dict.fromkeys(s.strip() for s in strategies if s.strip()))
    if strategies and desertion.organization not in org_names:
        raise ScenarioError(
            "strategies apply to an organization present from the start",
            source=scenario.source,
            key="desertion.organization",
            value=desertion.organization,
            allowed=", ".join(org_names) or "(none defined)",
        )
    for name in strategies:
        make_strategy(name, {}, source="--strategies", key=f"organizations.{desertion.organization}.strategy")
    own = scenario.organization(desertion.organization) if desertion.organization in org_names else None
    futures = sample_ranges(scenario, scenario.uncertain, samples, "latin_hypercube", root)
    points = []
    for i, future in enumerate(futures):
        for name in strategies or [None]:
            overrides = dict(future)
            if name is not None:
                overrides[f"organizations.{desertion.organization}.strategy"] = name
                same = own is not None and name == own.strategy
                overrides[f"organizations.{desertion.organization}.strategy_params"] = (
                    dict(own.strategy_params) if same else {}
                )
            points.append(Point(len(points), overrides, i))
    extra = {
        "desertion": {
            "organization": desertion.organization,
            "measure": desertion.measure,
            "above": desertion.above,
        },
        "strategies": strategies,
        "as_is": own.strategy if own is not None else None,
        "uncertain": {k: list(v) for k, v in scenario.uncertain.items()},
        "labels": {k: label(k, scenario.raw) for k in scenario.uncertain},
        "samples": samples,
    }
    design = {
        "design": "latin_hypercube (futures) x strategies",
        "ranges": extra["uncertain"],
        "samples": samples,
        "strategies": strategies,
    }
    return SweepPlan(scenario, points, replications, root, every, "stress", design, extra)


# ------------------------------------------------------------------ analysis


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Arm:
    """One strategy's outcome over the futures."""

    strategy: str
    n: int
    deserted: int
    interval: tuple[float, float]
    box: Box | None
    measure_mean: float
    undefined: int = 0

    @property
    def share(self) -> float:
        """Share of futures that deserted."""
        return self.deserted / self.n if self.n else math.nan


@dataclass
class Comparison:
    """A strategy against the first one, on the same futures."""

    strategy: str
    against: str
    difference: float
    interval: tuple[float, float]
    only_against: int
    only_this: int
    n_pairs: int


@dataclass
class StressResult:
    """Everything the report says."""

    manifest: dict[str, Any]
    outcomes: pd.DataFrame
    arms: list[Arm]
    comparisons: list[Comparison] = field(default_factory=list)
    n_failed: int = 0


def analyze_stress(folder: str | Path) -> StressResult:
    """Desertion shares, discovery boxes and strategy comparisons from a stress folder."""
    manifest = load_sweep(folder)
    if manifest.get("kind") != "stress":
        raise SimError(f"{folder}: not a stress-test folder (kind {manifest.get('kind')!r})")
    extra = manifest["extra"]
    d = extra["desertion"]
    column = f"{d['organization']}.{d['measure']}"
    summaries = store.read_summaries(folder)
    points = store.read_points(folder)[["point_id", "seed_index"]]
    frame = summaries.merge(points, on="point_id", how="left")
    keys = list(extra["uncertain"])
    strategy_col = f"{store.PARAM}organizations.{d['organization']}.strategy"
    out = pd.DataFrame(
        {
            "run_id": frame["run_id"],
            "future": frame["seed_index"],
            "replicate": frame["replicate"],
            "strategy": frame[strategy_col] if strategy_col in frame else (extra["as_is"] or "as is"),
            **{k: frame[store.PARAM + k] for k in keys},
            "measure": frame.get(column, np.nan),
        }
    )
    out["deserted"] = out["measure"].to_numpy(dtype=float) > d["above"]
    order = extra["strategies"] or [extra["as_is"] or "as is"]
    arms = []
    ranges = {k: tuple(v) for k, v in extra["uncertain"].items()}
    for name in order:
        part = out[out["strategy"] == name]
        y = part["deserted"].to_numpy()
        k, n = int(y.sum()), len(y)
        box = discover(part[keys], y, ranges) if min(k, n - k) >= MIN_EVENTS else None
        arms.append(
            Arm(
                name,
                n,
                k,
                wilson(k, n),
                box,
                float(np.nanmean(part["measure"])) if n else math.nan,
                int(part["measure"].isna().sum()),
            )
        )
    comparisons = []
    if len(order) > 1:
        base = out[out["strategy"] == order[0]].set_index(["future", "replicate"])["deserted"]
        for name in order[1:]:
            other = out[out["strategy"] == name].set_index(["future", "replicate"])["deserted"]
            a, b = base.align(other, join="inner")
            diff = b.astype(int).to_numpy() - a.astype(int).to_numpy()
            comparisons.append(
                Comparison(
                    name,
                    order[0],
                    *_mean_interval(diff),
                    int(((a) & (~b)).sum()),
                    int(((~a) & b).sum()),
                    len(diff),
                )
            )
    n_failed = len(store.read_failures(folder))
    return StressResult(manifest, out, arms, comparisons, n_failed)


def _mean_interval(diff: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Mean of paired differences and its 95% t-interval."""
    stats = interval(diff)
    return stats["mean"], (stats["ci_low"], stats["ci_high"])


# ------------------------------------------------------------------ words


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def criterion_words(extra: dict[str, Any]) -> str:
    """What counts as desertion, in words."""
    d = extra["desertion"]
    if d["measure"] == "desertion_share":
        return f"{d['organization']} loses more than {_pct(d['above'])} of its peak membership"
    return f"{d['organization']}'s {d['measure'].replace('_', ' ')} is above {d['above']:g}"


def box_sentence(box: Box | None, labels: dict[str, str]) -> str:
    """``desertion in 78% of futures where fickleness > 0.3 and fee hike > 0.15 (...)``."""
    if box is None:
        return "no simple set of conditions stands out (scenario discovery found no box)"
    return (
        f"desertion in {_pct(box.density)} of futures where {' and '.join(box.conditions(labels))} "
        f"(these are {_pct(box.mass)} of all futures and cover {_pct(box.coverage)} of all desertions)"
    )


def _no_box(arm: Arm) -> str:
    if min(arm.deserted, arm.n - arm.deserted) < MIN_EVENTS:
        few = "desert" if arm.deserted < MIN_EVENTS else "hold"
        count = arm.deserted if arm.deserted < MIN_EVENTS else arm.n - arm.deserted
        return (
            f"too few futures {few} ({count}) to say which conditions lead there "
            f"(scenario discovery needs at least {MIN_EVENTS})"
        )
    return "no simple set of conditions stands out (scenario discovery found no box)"


def headline(result: StressResult) -> list[str]:
    """The plain-words answer, one line per strategy, then the comparisons."""
    extra = result.manifest["extra"]
    org = extra["desertion"]["organization"]
    lines = []
    for arm in result.arms:
        lo, hi = arm.interval
        lines.append(
            f"With {arm.strategy}, {org}'s community deserts in {_pct(arm.share)} of futures "
            f"(95% interval {_pct(lo)} to {_pct(hi)}; {arm.deserted} of {arm.n})."
        )
        if arm.box is not None:
            lines.append(f"  Where: {box_sentence(arm.box, extra['labels'])}.")
        elif 0 < arm.deserted < arm.n:
            lines.append(f"  Where: {_no_box(arm)}.")
    for c in result.comparisons:
        lo, hi = c.interval
        word = "fewer" if c.difference < 0 else "more"
        lines.append(
            f"{c.strategy} vs {c.against}: {abs(100 * c.difference):.0f} points {word} futures deserted "
            f"(95% interval {100 * lo:+.0f} to {100 * hi:+.0f} points); on the same futures, "
            f"{c.only_against} desert only under {c.against} and {c.only_this} only under {c.strategy}."
        )
    return lines


def write_report(folder: str | Path, result: StressResult | None = None) -> Path:
    """Write ``report.md``, its figures and ``outcomes.parquet`` into the stress folder."""
    from sim.figures.stress import desertion_figure, map_figure, measure_figure

    folder = Path(folder)
    result = result or analyze_stress(folder)
    store.write_table(pa.Table.from_pandas(result.outcomes, preserve_index=False), folder / OUTCOMES)
    figures = {
        "desertion": desertion_figure(result, folder / "figures" / "stress_desertion.png"),
        "measure": measure_figure(result, folder / "figures" / "stress_measure.png"),
        "map": map_figure(result, folder / "figures" / "stress_map.png"),
    }
    text = markdown(result, {k: v.relative_to(folder).as_posix() for k, v in figures.items() if v})
    path = folder / REPORT
    store.atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def markdown(result: StressResult, figures: dict[str, str]) -> str:
    """The report, for a strategist first and a modeller second."""
    m = result.manifest
    extra = m["extra"]
    sc = m["scenario"]
    org = extra["desertion"]["organization"]
    labels = extra["labels"]
    n_futures = extra["samples"] * m["replications"]
    lines = [
        f"# Stress test: {sc['name']}",
        "",
        sc.get("description", ""),
        "",
        (
            f"**Question.** In how many plausible futures does {org}'s community desert, and what leads there? "
            f"Desertion means: {criterion_words(extra)} by the end of the run "
            f"(`{org}.{extra['desertion']['measure']}` > {extra['desertion']['above']:g})."
        ),
        "",
        "## The answer",
        "",
    ]
    lines += [f"    - {line.strip()}" if line.startswith("  ") else f"- {line}" for line in headline(result)]
    lines.append("")
    if "desertion" in figures:
        lines += [f"![share of futures deserted]({figures['desertion']})", ""]
    lines += [
        "## Which conditions lead there",
        "",
        (
            "Scenario discovery looks for a few conditions (a box of ranges of the uncertainties) inside "
            "which desertion is common (*density*) and which holds most desertions (*coverage*)."
        ),
        "",
    ]
    for arm in result.arms:
        lines += [f"### {arm.strategy}", ""]
        if arm.deserted == 0:
            lines += [f"No future deserts under {arm.strategy}: nothing to explain.", ""]
            continue
        if arm.deserted == arm.n:
            lines += [
                f"Every future deserts under {arm.strategy}: the uncertainties as sampled do not matter.",
                "",
            ]
            continue
        words = box_sentence(arm.box, labels) if arm.box is not None else _no_box(arm)
        lines += [f"{words[0].upper()}{words[1:]}.", ""]
        if arm.box is not None:
            lines += ["| uncertainty | sampled range | inside the box |", "|---|---|---|"]
            for key, (lo, hi) in extra["uncertain"].items():
                inside = arm.box.limits.get(key)
                shown = f"{inside[0]:.3g} to {inside[1]:.3g}" if inside else "any"
                lines.append(f"| {labels[key]} (`{key}`) | {lo:g} to {hi:g} | {shown} |")
            lines += [
                "",
                f"Method: {arm.box.method}; {arm.box.n_inside} of {arm.n} futures inside the box.",
                "",
            ]
    if "map" in figures:
        lines += [f"![where desertion happens]({figures['map']})", ""]
    if "measure" in figures:
        lines += [
            "## How much is lost",
            "",
            (
                f"The distribution of `{org}.{extra['desertion']['measure']}` over the futures; the dashed "
                "line is the desertion threshold."
            ),
            "",
            f"![distribution]({figures['measure']})",
            "",
        ]
    lines += [
        "## What was uncertain",
        "",
        f"{extra['samples']} futures drawn by Latin hypercube over these ranges"
        + ("" if m["replications"] == 1 else f", {m['replications']} seeds each ({n_futures} futures)")
        + ", "
        f"root seed {m['root_seed']}; every strategy ran on the same futures and seeds. "
        f"{sc['n']} participants, {sc['steps']} steps.",
        "",
        "| uncertainty | key | range |",
        "|---|---|---|",
    ]
    lines += [f"| {labels[k]} | `{k}` | {lo:g} to {hi:g} |" for k, (lo, hi) in extra["uncertain"].items()]
    lines += [
        "",
        "## Reading it",
        "",
        (
            "- Shares are of the sampled futures, not probabilities of the real world: they depend on the "
            "ranges above, sampled uniformly."
        ),
        (
            "- The 95% interval of a share is the Wilson score interval; the interval of a difference between "
            "strategies is a paired t-interval over the same futures."
        ),
        "- A box is a description of where desertion is common in this model, not a proof of cause.",
        "",
    ]
    if result.n_failed:
        lines += [
            (
                f"**{result.n_failed} runs failed** and are left out (see `failures/`); rerun the same command "
                "to retry them."
            ),
            "",
        ]
    undefined = sum(a.undefined for a in result.arms)
    if undefined:
        lines += [
            (
                f"In {undefined} runs the measure was undefined (the organization never existed); they count as "
                "not deserted."
            ),
            "",
        ]
    lines += [
        "## Files",
        "",
        f"- `{OUTCOMES}`: one row per run: future, strategy, uncertain values, measure, deserted.",
        (
            "- `summaries/`, `timeseries/`: every run's summary and time series (Parquet parts); "
            "`points.parquet`: the design; `sweep.json`: scenario, seeds, versions."
        ),
        "",
    ]
    return "\n".join(lines)
