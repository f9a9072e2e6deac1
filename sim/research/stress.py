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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.config.scenario import OrganizationSpec, Scenario
from sim.errors import ScenarioError, SimError
from sim.research.discovery import Box, discover
from sim.research.measures import measure_problem, numeric_per_organization
from sim.research.plan import Point, SweepPlan, sample_ranges
from sim.research.sweep import load_sweep
from sim.stats import interval
from sim.storage import sweep_store as store
from sim.storage.files import atomic_write

if TYPE_CHECKING:
    from sim.figures.stress import StressData

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
        ScenarioError: no uncertain ranges, no desertion organization, a measure that is not a
            numeric summary measure, or an unknown strategy.
    """
    root = scenario.seed if root_seed is None else int(root_seed)
    strategies = check_stress(scenario, strategies)
    desertion = scenario.desertion
    names = [o.name for o in scenario.organizations]
    own = scenario.organization(desertion.organization) if desertion.organization in names else None
    futures = sample_ranges(scenario, scenario.uncertain, samples, "latin_hypercube", root)
    points = _points(futures, strategies, desertion.organization, own)
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


def check_stress(scenario: Scenario, strategies: Sequence[str]) -> list[str]:
    """Check that a scenario can be stress-tested with these strategies; return them without repeats.

    Raises:
        ScenarioError: see :func:`plan_stress`.
    """
    from sim.model.strategies import make_strategy

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
    problem = measure_problem(scenario, f"{desertion.organization}.{desertion.measure}")
    if problem is not None:
        raise ScenarioError(
            problem,
            source=scenario.source,
            key="desertion.measure",
            value=desertion.measure,
            allowed=", ".join(numeric_per_organization()),
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
        make_strategy(
            name,
            {},
            source="--strategies",
            key=f"organizations.{desertion.organization}.strategy",
            allow_code=scenario.allow_code,
        )
    return strategies


def _points(
    futures: list[dict[str, Any]], strategies: list[str], organization: str, own: OrganizationSpec | None
) -> list[Point]:
    """Every future once per strategy (or once as it is); a future's strategies share its seeds."""
    points = []
    for i, future in enumerate(futures):
        for name in strategies or [None]:
            overrides = dict(future)
            if name is not None:
                overrides[f"organizations.{organization}.strategy"] = name
                same = own is not None and name == own.strategy
                overrides[f"organizations.{organization}.strategy_params"] = (
                    dict(own.strategy_params) if same else {}
                )
            points.append(Point(len(points), overrides, i))
    return points


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

    def figure_data(self) -> StressData:
        """The result as plain data for the figures (:mod:`sim.figures.stress`)."""
        from sim.figures.stress import StressArm, StressData

        extra = self.manifest["extra"]
        d = extra["desertion"]
        labels = extra["labels"]
        arms = [
            StressArm(
                a.strategy,
                a.n,
                a.deserted,
                a.interval,
                dict(a.box.limits) if a.box else None,
                a.box.conditions_by_key(labels) if a.box else {},
            )
            for a in self.arms
        ]
        ranges = {k: (float(lo), float(hi)) for k, (lo, hi) in extra["uncertain"].items()}
        return StressData(self.outcomes, arms, d["organization"], d["measure"], d["above"], ranges, labels)


def analyze_stress(folder: str | Path) -> StressResult:
    """Desertion shares, discovery boxes and strategy comparisons from a stress folder."""
    manifest = load_sweep(folder)
    if manifest.get("kind") != "stress":
        raise SimError(f"{folder}: not a stress-test folder (kind {manifest.get('kind')!r})")
    extra = manifest["extra"]
    out = _outcomes(folder, extra)
    order = extra["strategies"] or [extra["as_is"] or "as is"]
    ranges = {k: tuple(v) for k, v in extra["uncertain"].items()}
    arms = [_arm(name, out[out["strategy"] == name], ranges) for name in order]
    comparisons = [_comparison(out, order[0], name) for name in order[1:]]
    n_failed = len(store.read_failures(folder))
    return StressResult(manifest, out, arms, comparisons, n_failed)


def _outcomes(folder: str | Path, extra: dict[str, Any]) -> pd.DataFrame:
    """One row per run: future, replicate, strategy, the uncertain values, the measure, and deserted."""
    d = extra["desertion"]
    column = f"{d['organization']}.{d['measure']}"
    summaries = store.read_summaries(folder)
    points = store.read_points(folder)[["point_id", "seed_index"]]
    frame = summaries.merge(points, on="point_id", how="left")
    strategy_col = f"{store.PARAM}organizations.{d['organization']}.strategy"
    out = pd.DataFrame(
        {
            "run_id": frame["run_id"],
            "future": frame["seed_index"],
            "replicate": frame["replicate"],
            "strategy": frame[strategy_col] if strategy_col in frame else (extra["as_is"] or "as is"),
            **{k: frame[store.PARAM + k] for k in extra["uncertain"]},
            "measure": frame.get(column, np.nan),
        }
    )
    out["deserted"] = out["measure"].to_numpy(dtype=float) > d["above"]
    return out


def _arm(name: str, part: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> Arm:
    """One strategy's share deserted, its interval and (with enough events of each kind) its box."""
    y = part["deserted"].to_numpy()
    k, n = int(y.sum()), len(y)
    box = discover(part[list(ranges)], y, ranges) if min(k, n - k) >= MIN_EVENTS else None
    return Arm(
        name,
        n,
        k,
        wilson(k, n),
        box,
        float(np.nanmean(part["measure"])) if n else math.nan,
        int(part["measure"].isna().sum()),
    )


def _comparison(out: pd.DataFrame, against: str, name: str) -> Comparison:
    """A strategy against another on the same futures: the mean paired difference and its 95% t-interval."""
    base = out[out["strategy"] == against].set_index(["future", "replicate"])["deserted"]
    other = out[out["strategy"] == name].set_index(["future", "replicate"])["deserted"]
    a, b = base.align(other, join="inner")
    stats = interval(b.astype(int).to_numpy() - a.astype(int).to_numpy())
    return Comparison(
        name,
        against,
        stats["mean"],
        (stats["ci_low"], stats["ci_high"]),
        int((a & ~b).sum()),
        int((~a & b).sum()),
        len(a),
    )


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
    store.write_table(result.outcomes, folder / OUTCOMES)
    data = result.figure_data()
    figures = {
        "desertion": desertion_figure(data, folder / "figures" / "stress_desertion.png"),
        "measure": measure_figure(data, folder / "figures" / "stress_measure.png"),
        "map": map_figure(data, folder / "figures" / "stress_map.png"),
    }
    text = markdown(result, {k: v.relative_to(folder).as_posix() for k, v in figures.items() if v})
    return atomic_write(folder / REPORT, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def markdown(result: StressResult, figures: dict[str, str]) -> str:
    """The report, for a strategist first and a modeller second."""
    m = result.manifest
    extra = m["extra"]
    sc = m["scenario"]
    org = extra["desertion"]["organization"]
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
        lines += _conditions(arm, extra)
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
    lines += _uncertain(m) + _reading(result)
    return "\n".join(lines)


def _conditions(arm: Arm, extra: dict[str, Any]) -> list[str]:
    """One strategy's part of "Which conditions lead there": its box in words and as a table."""
    lines = [f"### {arm.strategy}", ""]
    if arm.deserted == 0:
        return lines + [f"No future deserts under {arm.strategy}: nothing to explain.", ""]
    if arm.deserted == arm.n:
        return lines + [
            f"Every future deserts under {arm.strategy}: the uncertainties as sampled do not matter.",
            "",
        ]
    labels = extra["labels"]
    words = box_sentence(arm.box, labels) if arm.box is not None else _no_box(arm)
    lines += [f"{words[0].upper()}{words[1:]}.", ""]
    if arm.box is None:
        return lines
    lines += ["| uncertainty | sampled range | inside the box |", "|---|---|---|"]
    for key, (lo, hi) in extra["uncertain"].items():
        inside = arm.box.limits.get(key)
        shown = f"{inside[0]:.3g} to {inside[1]:.3g}" if inside else "any"
        lines.append(f"| {labels[key]} (`{key}`) | {lo:g} to {hi:g} | {shown} |")
    return lines + [
        "",
        f"Method: {arm.box.method}; {arm.box.n_inside} of {arm.n} futures inside the box.",
        "",
    ]


def _uncertain(manifest: dict[str, Any]) -> list[str]:
    """ "What was uncertain": the sample, and the ranges as a table."""
    extra = manifest["extra"]
    sc = manifest["scenario"]
    labels = extra["labels"]
    replications = manifest["replications"]
    seeds = (
        ""
        if replications == 1
        else f", {replications} seeds each ({extra['samples'] * replications} futures)"
    )
    lines = [
        "## What was uncertain",
        "",
        (
            f"{extra['samples']} futures drawn by Latin hypercube over these ranges{seeds}, "
            f"root seed {manifest['root_seed']}; every strategy ran on the same futures and seeds. "
            f"{sc['n']} participants, {sc['steps']} steps."
        ),
        "",
        "| uncertainty | key | range |",
        "|---|---|---|",
    ]
    return lines + [
        f"| {labels[k]} | `{k}` | {lo:g} to {hi:g} |" for k, (lo, hi) in extra["uncertain"].items()
    ]


def _reading(result: StressResult) -> list[str]:
    """How to read the report, what was left out, and the files."""
    lines = [
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
    return lines + [
        "## Files",
        "",
        f"- `{OUTCOMES}`: one row per run: future, strategy, uncertain values, measure, deserted.",
        (
            "- `summaries/`, `timeseries/`: every run's summary and time series (Parquet parts); "
            "`points.parquet`: the design; `sweep.json`: scenario, seeds, versions."
        ),
        "",
    ]
