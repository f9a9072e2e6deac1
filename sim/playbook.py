"""The playbook experiments: each strategy's claimed effect, tested over replicated runs.

Every experiment takes one scenario from ``scenarios/``, runs two or more arms
(the same scenario with a different strategy for the focal organization) on
the same seeds (common random numbers), and compares a measure between two
arms. The article's claim is a hypothesis: the verdict comes from the 95%
interval of the difference of means (Welch), never from the strategy's name.

Regenerate ``docs/strategies.md`` and its figures with one command::

    .venv/bin/python -m sim.playbook            # 20 seeds per arm
    .venv/bin/python -m sim.playbook --seeds 40 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measure:
    """A number taken from one run: a summary key, a campaign field, or a time-series column."""

    label: str
    pick: Callable[[dict[str, Any]], float]


@dataclass(frozen=True)
class Experiment:
    """One strategy's claim, tested by comparing arms of one scenario.

    Attributes:
        strategy: the strategy under test (its section in docs/strategies.md).
        scenario: scenario file name in ``scenarios/``.
        organization: the focal organization whose strategy differs between arms.
        arms: label -> strategy name (with optional params) for the focal organization.
        claim: the article's claim, in words.
        quote: the article passage.
        measure: the outcome compared.
        better: ``(arm_a, arm_b, direction)``: the claim holds if measure(a) - measure(b)
            has the sign ``direction`` (+1: a is larger; -1: a is smaller).
        series: time-series column plotted per arm (mean and 95% band).
        extra: further measures reported in the table.
    """

    strategy: str
    scenario: str
    organization: str
    arms: dict[str, dict[str, Any]]
    claim: str
    quote: str
    measure: Measure
    better: tuple[str, str, int]
    series: str
    series_label: str
    extra: tuple[Measure, ...] = field(default_factory=tuple)


def _summary(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["summary"][key])


def _campaign(field_name: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["campaigns"][0][field_name]) if run["campaigns"] else float("nan")


def _won(org: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["campaigns"][0]["winner"] == org) if run["campaigns"] else float("nan")


def _last(column: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["series"][column][-1])


def _arm(strategy: str, **params: Any) -> dict[str, Any]:
    return {"strategy": strategy, "params": params}


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        strategy="status_quo", scenario="castle_vs_crowd.toml", organization="Gazette",
        arms={"status_quo": _arm("status_quo"), "movement_mindset": _arm("movement_mindset")},
        claim="A Castle that keeps its course keeps a long but shallow affiliation: members stay, "
              "but few climb the participation scale",
        quote="Old power models tend to require little more than consumption.",
        measure=Measure("Gazette mean level at the end (0-5)", _last("Gazette.mean_level")),
        better=("status_quo", "movement_mindset", -1),
        series="Gazette.mean_level", series_label="Gazette members' mean level",
        extra=(Measure("Gazette members at the end", _summary("Gazette.final_members")),
               Measure("Gazette stock at the end", _summary("Gazette.final_stock")))),
    Experiment(
        strategy="window_dressing", scenario="newspaper_comments.toml", organization="Gazette",
        arms={"window_dressing": _arm("window_dressing", start=20), "status_quo": _arm("status_quo"),
              "movement_mindset": _arm("movement_mindset", start=20)},
        claim="A comments section without a change of values does not buy lasting participation "
              "(new power as a current: depth times commitment)",
        quote="it isn't enough to add some window dressing",
        measure=Measure("Gazette current at the end", _summary("Gazette.final_current")),
        better=("window_dressing", "movement_mindset", -1),
        series="Gazette.current", series_label="Gazette current (new power)",
        extra=(Measure("Gazette active members at the end", _last("Gazette.active")),
               Measure("Gazette mean level at the end (0-5)", _last("Gazette.mean_level")),
               Measure("Gazette members at the end", _summary("Gazette.final_members")))),
    Experiment(
        strategy="astroturf", scenario="astroturf_exposed.toml", organization="Brand",
        arms={"astroturf": _arm("astroturf", ads=0.3), "movement_mindset": _arm("movement_mindset"),
              "status_quo": _arm("status_quo")},
        claim="Ads that look like participation recruit members who do not show up; a leak exposes them",
        quote="a movement needs much more than ad campaigns or 'astroturfing'",
        measure=Measure("Brand turnout in the campaign (people)", _campaign("a_turnout")),
        better=("astroturf", "movement_mindset", -1),
        series="Brand.members", series_label="Brand members",
        extra=(Measure("Brand won the campaign (share of runs)", _won("Brand")),
               Measure("Brand share of peak community lost", _summary("Brand.desertion_share")))),
    Experiment(
        strategy="occupy_yourself", scenario="occupy_yourself.toml", organization="Bank",
        arms={"occupy_yourself": _arm("occupy_yourself", introspection_steps=20),
              "movement_mindset": _arm("movement_mindset"), "status_quo": _arm("status_quo")},
        claim="Introspection before engagement leaves fewer deserters after a leak than engagement "
              "without it",
        quote="This level of introspection has to precede any investment in new power mechanisms.",
        measure=Measure("Bank share of peak community lost", _summary("Bank.desertion_share")),
        better=("occupy_yourself", "movement_mindset", -1),
        series="Bank.members", series_label="Bank members",
        extra=(Measure("Bank legitimacy at the end", _summary("Bank.final_legitimacy")),
               Measure("Bank stock at the end", _summary("Bank.final_stock")))),
    Experiment(
        strategy="movement_mindset", scenario="sopa_blackout.toml", organization="Wikipedia",
        arms={"movement_mindset": _arm("movement_mindset", mobilization=0.2),
              "status_quo": _arm("status_quo")},
        claim="Investing in true believers builds turnout when the organization calls for action",
        quote="A key new power question for all organizations is 'Who will really show up for you?'",
        measure=Measure("Wikipedia turnout in the campaign (people)", _campaign("b_turnout")),
        better=("movement_mindset", "status_quo", +1),
        series="Wikipedia.mean_level", series_label="Wikipedia members' mean level",
        extra=(Measure("Wikipedia won the campaign (share of runs)", _won("Wikipedia")),
               Measure("Wikipedia members at the end", _summary("Wikipedia.final_members")))),
    Experiment(
        strategy="go_bilingual", scenario="go_bilingual.toml", organization="Post",
        arms={"go_bilingual": _arm("go_bilingual"), "status_quo": _arm("status_quo"),
              "get_structural": _arm("get_structural"), "become_the_man": _arm("become_the_man")},
        claim="Developing old and new power capacities beats pure strategies in a contest",
        quote="the right strategy for the moment is often to go 'bilingual'",
        measure=Measure("Post campaign force", _campaign("a_force")),
        better=("go_bilingual", "status_quo", +1),
        series="Post.stock", series_label="Post stock (old power)",
        extra=(Measure("Post won the campaign (share of runs)", _won("Post")),
               Measure("Post members at the end", _summary("Post.final_members")),
               Measure("Post stock at the end", _summary("Post.final_stock")))),
    Experiment(
        strategy="respect_community", scenario="facebook_rival.toml", organization="Facebook",
        arms={"respect_community": _arm("respect_community"), "status_quo": _arm("status_quo"),
              "become_the_man": _arm("become_the_man", start=10, drift=0.005)},
        claim="Keeping values aligned and sharing value keeps the community from deserting to a rival",
        quote="new power organizations should fear being deserted",
        measure=Measure("Facebook share of peak community lost", _summary("Facebook.desertion_share")),
        better=("respect_community", "status_quo", -1),
        series="Facebook.members", series_label="Facebook members",
        extra=(Measure("Rival (Diaspora) members at the end", _summary("Diaspora.final_members")),
               Measure("Largest desertion cascade (participants)", _summary("largest_desertion_cascade")))),
    Experiment(
        strategy="become_the_man", scenario="facebook_rival.toml", organization="Facebook",
        arms={"become_the_man": _arm("become_the_man", start=10, drift=0.005),
              "status_quo": _arm("status_quo")},
        claim="A platform whose values drift toward old power is deserted, to a rival promising new values",
        quote="Those who deploy new power models but default to old power values are especially at risk",
        measure=Measure("Facebook share of peak community lost", _summary("Facebook.desertion_share")),
        better=("become_the_man", "status_quo", +1),
        series="Facebook.members", series_label="Facebook members",
        extra=(Measure("Rival (Diaspora) members at the end", _summary("Diaspora.final_members")),
               Measure("Facebook stock at the end", _summary("Facebook.final_stock")))),
    Experiment(
        strategy="get_structural", scenario="kickstarter_surge.toml", organization="Kickstarter",
        arms={"get_structural": _arm("get_structural"), "status_quo": _arm("status_quo")},
        claim="Converting a surge into lasting stock makes power outlive the surge",
        quote="New power models will always have limited influence and impact unless they are "
              "operating within a superstructure designed to play to their strengths.",
        measure=Measure("Kickstarter stock at the end", _summary("Kickstarter.final_stock")),
        better=("get_structural", "status_quo", +1),
        series="Kickstarter.stock", series_label="Kickstarter stock (old power)",
        extra=(Measure("Kickstarter current at the end", _summary("Kickstarter.final_current")),
               Measure("Surge half-life (steps)", _summary("half_life")))),
)


# ------------------------------------------------------------------ running

def seeds_for(root: int, n: int) -> list[int]:
    """``n`` independent seeds spawned from one root seed (NumPy ``SeedSequence``)."""
    return [int(s.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
            for s in np.random.SeedSequence(root).spawn(n)]


def _run_one(task: tuple[str, str, dict[str, Any], int, str]) -> dict[str, Any]:
    """Worker: one run of one arm (top level, so it pickles)."""
    from .runner import run
    from .scenario import load_scenario

    scenario_file, organization, arm, seed, series = task
    scenario = load_scenario(ROOT / "scenarios" / scenario_file,
                             overrides={f"organizations.{organization}.strategy": arm["strategy"],
                                        f"organizations.{organization}.strategy_params": arm["params"]})
    result = run(scenario, seed=seed)
    frame = result.timeseries
    columns = {c: frame[c].to_numpy(dtype=float) for c in frame.columns
               if c.startswith(f"{organization}.") and frame[c].dtype.kind in "fiu"}
    columns[series] = frame[series].to_numpy(dtype=float)
    return {"summary": result.summary, "series": columns,
            "campaigns": result.campaigns.to_dict("records")}


def mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval, ignoring NaN."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (float("nan"),) * 3
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return mean, mean - half, mean + half


def difference_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means a - b with a 95% Welch interval, ignoring NaN."""
    from scipy import stats

    a, b = (np.asarray(x, dtype=float) for x in (a, b))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.975, dof) * se)
    return diff, diff - half, diff + half


def verdict(diff: tuple[float, float, float], direction: int) -> str:
    """"holds", "does not hold" (significant the other way) or "not shown" (interval spans 0)."""
    _, lo, hi = diff
    if direction * lo > 0 and direction * hi > 0:
        return "holds"
    if direction * lo < 0 and direction * hi < 0:
        return "does not hold (the opposite is significant)"
    return "not shown (the 95% interval of the difference includes 0)"


def run_experiments(n_seeds: int, workers: int, root_seed: int = 2014,
                    only: tuple[str, ...] = ()) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Run every arm of every experiment on the same seeds; return runs by experiment and arm."""
    seeds = seeds_for(root_seed, n_seeds)
    tasks, keys = [], []
    for exp in EXPERIMENTS:
        if only and exp.strategy not in only:
            continue
        for label, arm in exp.arms.items():
            for seed in seeds:
                tasks.append((exp.scenario, exp.organization, arm, seed, exp.series))
                keys.append((exp.strategy, label))
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    if workers > 1:
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            outputs = list(pool.map(_run_one, tasks, chunksize=4))
    else:
        outputs = [_run_one(task) for task in tasks]
    for (strategy, label), output in zip(keys, outputs, strict=True):
        results.setdefault(strategy, {}).setdefault(label, []).append(output)
    return results


# ------------------------------------------------------------------ report

def _figure(exp: Experiment, runs: dict[str, list[dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for colour, (label, arm_runs) in zip(colours, runs.items(), strict=False):
        data = np.vstack([r["series"][exp.series] for r in arm_runs])
        stats = np.array([mean_ci(data[:, t]) for t in range(data.shape[1])])
        steps = np.arange(data.shape[1])
        ax.plot(steps, stats[:, 0], color=colour, label=f"{label} (mean of {data.shape[0]})")
        ax.fill_between(steps, stats[:, 1], stats[:, 2], color=colour, alpha=0.2, linewidth=0)
    ax.set_title(f"{exp.strategy}: {exp.series_label}\n{exp.scenario}, mean and 95% interval")
    ax.set_xlabel("step")
    ax.set_ylabel(exp.series_label)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(stats: tuple[float, float, float]) -> str:
    mean, lo, hi = stats
    if np.isnan(mean):
        return "n/a"
    return f"{mean:.3g} [{lo:.3g}, {hi:.3g}]" if not np.isnan(lo) else f"{mean:.3g}"


def write_report(results: dict[str, dict[str, list[dict[str, Any]]]], out: Path, n_seeds: int,
                 elapsed: float) -> Path:
    """Write docs/strategies.md and its figures from the experiments' runs."""
    from .strategies import STRATEGIES

    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Strategies: what the model shows about the article's playbook",
        "",
        "<!-- Generated by `.venv/bin/python -m sim.playbook`; do not edit by hand. -->",
        "",
        f"Each strategy's claimed effect is a hypothesis. Every experiment runs the same scenario with "
        f"a different strategy for one organization (the *arms*), on the same {n_seeds} seeds "
        f"(common random numbers), and compares one measure between two arms: the claim **holds** "
        f"when the 95% interval of the difference of means (Welch) lies on the claimed side of 0. "
        f"Values are mean [95% interval]. No rule of the model reads a strategy's name: strategies only "
        f"set an organization's levers (see docs/ODD.md). Generated in {elapsed:.0f} s.",
        "",
        "| strategy | claim | verdict |",
        "|---|---|---|",
    ]
    sections = []
    for exp in EXPERIMENTS:
        if exp.strategy not in results:
            continue
        runs = results[exp.strategy]
        a, b, direction = exp.better
        diff = difference_ci(np.array([exp.measure.pick(r) for r in runs[a]]),
                             np.array([exp.measure.pick(r) for r in runs[b]]))
        result = verdict(diff, direction)
        lines.append(f"| [`{exp.strategy}`](#{exp.strategy.replace('_', '-')}) | {exp.claim} | {result} |")
        figure = figures / f"strategy_{exp.strategy}.png"
        _figure(exp, runs, figure)
        cls = STRATEGIES[exp.strategy]
        doc = " ".join((cls.__doc__ or "").split())
        table = ["| arm | " + " | ".join(m.label for m in (exp.measure, *exp.extra)) + " |",
                 "|---|" + "---|" * (1 + len(exp.extra))]
        for label, arm_runs in runs.items():
            cells = [_fmt(mean_ci(np.array([m.pick(r) for r in arm_runs]))) for m in (exp.measure, *exp.extra)]
            table.append(f"| `{label}` | " + " | ".join(cells) + " |")
        word = "larger" if direction > 0 else "smaller"
        sections += [
            f"## {exp.strategy}", "",
            f"**Mechanism.** {doc}", "",
            f"**Article.** \"{exp.quote}\"", "",
            f"**Claim tested.** {exp.claim}: `{a}` gives a {word} *{exp.measure.label}* than `{b}` "
            f"(scenario `scenarios/{exp.scenario}`, focal organization {exp.organization}).", "",
            f"**Result: {result}.** Difference `{a}` - `{b}`: {_fmt(diff)}.", "",
            *table, "",
            f"Every measure, `{a}` - `{b}` (95% interval):", "",
            *[f"- {m.label}: {_fmt(difference_ci(np.array([m.pick(r) for r in runs[a]]), np.array([m.pick(r) for r in runs[b]])))}"
              for m in (exp.measure, *exp.extra)], "",
            f"![{exp.strategy}](figures/{figure.name})", "",
        ]
    lines += ["", *sections]
    path = out / "strategies.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the experiments and write the report."""
    parser = argparse.ArgumentParser(prog="python -m sim.playbook", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per arm (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for strategies.md")
    parser.add_argument("--only", default="", help="comma-separated strategies to run")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run_experiments(args.seeds, args.workers, only=tuple(filter(None, args.only.split(","))))
    path = write_report(results, args.out, args.seeds, time.perf_counter() - start)
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
