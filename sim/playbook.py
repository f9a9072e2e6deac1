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

from .replicate import interval, replication_seeds

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measure:
    """A number taken from one run: a summary key, a campaign field, or a time-series column."""

    label: str
    pick: Callable[[dict[str, Any]], float]


@dataclass(frozen=True)
class Claim:
    """A hypothesis: ``measure(a) - measure(b)`` has the sign ``direction`` (+1: a larger; -1: a smaller)."""

    text: str
    measure: Measure
    a: str
    b: str
    direction: int


@dataclass(frozen=True)
class Experiment:
    """One strategy's claims, tested by comparing arms of one scenario.

    Attributes:
        strategy: the strategy under test (its section in docs/strategies.md).
        scenario: scenario file name in ``scenarios/``.
        organization: the focal organization whose strategy differs between arms.
        arms: label -> strategy name (with optional params) for the focal organization.
        quote: the article passage.
        claims: the article's claim first, then what else the model should show
            (including trade-offs the article does not mention).
        series: time-series column plotted per arm (mean and 95% band).
        extra: further measures reported in the table.
    """

    strategy: str
    scenario: str
    organization: str
    arms: dict[str, dict[str, Any]]
    quote: str
    claims: tuple[Claim, ...]
    series: str
    series_label: str
    extra: tuple[Measure, ...] = field(default_factory=tuple)

    @property
    def measures(self) -> tuple[Measure, ...]:
        """Every measure reported, claims' first, without repeats."""
        seen: dict[str, Measure] = {}
        for m in (*(c.measure for c in self.claims), *self.extra):
            seen.setdefault(m.label, m)
        return tuple(seen.values())


def _summary(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["summary"][key])


def _campaign(field_name: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["campaigns"][0][field_name]) if run["campaigns"] else float("nan")


def _won(org: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["campaigns"][0]["winner"] == org) if run["campaigns"] else float("nan")


def _last(column: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["series"][column][-1])


def _at(column: str, step: int) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["series"][column][step])


def _arm(strategy: str, **params: Any) -> dict[str, Any]:
    return {"strategy": strategy, "params": params}


def _m(label: str, pick: Callable[[dict[str, Any]], float]) -> Measure:
    return Measure(label, pick)


GAZETTE_LEVEL = _m("Gazette mean level at the end (0-5)", _last("Gazette.mean_level"))
GAZETTE_MEMBERS = _m("Gazette members at the end", _summary("Gazette.final_members"))
GAZETTE_CURRENT = _m("Gazette current at the end", _summary("Gazette.final_current"))
GAZETTE_ACTIVE = _m("Gazette active members at the end", _last("Gazette.active"))
BRAND_TURNOUT = _m("Brand turnout in the campaign (people)", _campaign("a_turnout"))
BRAND_PEAK = _m("Brand peak community", _summary("Brand.peak_members"))
BRAND_LEGITIMACY = _m("Brand legitimacy just after the leak (step 60)", _at("Brand.legitimacy", 60))
BANK_LOST = _m("Bank share of peak community lost", _summary("Bank.desertion_share"))
BANK_STOCK = _m("Bank stock at the end", _summary("Bank.final_stock"))
WIKI_TURNOUT = _m("Wikipedia turnout in the campaign (people)", _campaign("b_turnout"))
WIKI_WON = _m("Wikipedia won the campaign (share of runs)", _won("Wikipedia"))
POST_FORCE = _m("Post campaign force", _campaign("a_force"))
POST_MEMBERS = _m("Post members at the end", _summary("Post.final_members"))
POST_STOCK = _m("Post stock at the end", _summary("Post.final_stock"))
FB_LOST = _m("Facebook share of peak community lost", _summary("Facebook.desertion_share"))
FB_STOCK = _m("Facebook stock at the end", _summary("Facebook.final_stock"))
RIVAL = _m("Rival (Diaspora) members at the end", _summary("Diaspora.final_members"))
KS_STOCK = _m("Kickstarter stock at the end", _summary("Kickstarter.final_stock"))
KS_LOST = _m("Kickstarter share of peak community lost", _summary("Kickstarter.desertion_share"))

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        strategy="status_quo", scenario="castle_vs_crowd.toml", organization="Gazette",
        arms={"status_quo": _arm("status_quo"), "movement_mindset": _arm("movement_mindset")},
        quote="Old power models tend to require little more than consumption.",
        claims=(Claim("A Castle that keeps its course keeps a shallow affiliation: few members climb the scale",
                      GAZETTE_LEVEL, "status_quo", "movement_mindset", -1),
                Claim("... but a long one: it keeps more members than one that mobilizes",
                      GAZETTE_MEMBERS, "status_quo", "movement_mindset", +1)),
        series="Gazette.mean_level", series_label="Gazette members' mean level",
        extra=(_m("Gazette stock at the end", _summary("Gazette.final_stock")),)),
    Experiment(
        strategy="window_dressing", scenario="newspaper_comments.toml", organization="Gazette",
        arms={"window_dressing": _arm("window_dressing", start=20), "status_quo": _arm("status_quo"),
              "movement_mindset": _arm("movement_mindset", start=20)},
        quote="it isn't enough to add some window dressing",
        claims=(Claim("A comments section without a change of values does not buy a lasting current "
                      "(depth times commitment) like a real movement mindset", GAZETTE_CURRENT,
                      "window_dressing", "movement_mindset", -1),
                Claim("A comments section buys no more active participants than doing nothing",
                      GAZETTE_ACTIVE, "window_dressing", "status_quo", -1)),
        series="Gazette.current", series_label="Gazette current (new power)",
        extra=(GAZETTE_LEVEL, GAZETTE_MEMBERS)),
    Experiment(
        strategy="astroturf", scenario="astroturf_exposed.toml", organization="Brand",
        arms={"astroturf": _arm("astroturf", ads=0.3), "movement_mindset": _arm("movement_mindset"),
              "status_quo": _arm("status_quo")},
        quote="a movement needs much more than ad campaigns or 'astroturfing'",
        claims=(Claim("Ads recruit members who do not show up when called", BRAND_TURNOUT,
                      "astroturf", "movement_mindset", -1),
                Claim("Ads do grow the community (they look like participation)", BRAND_PEAK,
                      "astroturf", "status_quo", +1),
                Claim("A leak of astroturfing costs legitimacy", BRAND_LEGITIMACY,
                      "astroturf", "status_quo", -1)),
        series="Brand.members", series_label="Brand members",
        extra=(_m("Brand won the campaign (share of runs)", _won("Brand")),)),
    Experiment(
        strategy="occupy_yourself", scenario="occupy_yourself.toml", organization="Bank",
        arms={"occupy_yourself": _arm("occupy_yourself", introspection_steps=20),
              "movement_mindset": _arm("movement_mindset"), "status_quo": _arm("status_quo")},
        quote="This level of introspection has to precede any investment in new power mechanisms.",
        claims=(Claim("Introspection before engagement leaves fewer deserters after a leak than "
                      "engagement without it", BANK_LOST, "occupy_yourself", "movement_mindset", -1),
                Claim("... and fewer than keeping a closed Castle", BANK_LOST,
                      "occupy_yourself", "status_quo", -1),
                Claim("Introspection is paid for in stock", BANK_STOCK, "occupy_yourself", "status_quo", -1)),
        series="Bank.members", series_label="Bank members",
        extra=(_m("Bank legitimacy at the end", _summary("Bank.final_legitimacy")),)),
    Experiment(
        strategy="movement_mindset", scenario="sopa_blackout.toml", organization="Wikipedia",
        arms={"movement_mindset": _arm("movement_mindset", mobilization=0.2),
              "status_quo": _arm("status_quo")},
        quote="A key new power question for all organizations is 'Who will really show up for you?'",
        claims=(Claim("Investing in true believers builds turnout when the organization calls for action",
                      WIKI_TURNOUT, "movement_mindset", "status_quo", +1),
                Claim("... and wins the campaign against the lobbyists more often", WIKI_WON,
                      "movement_mindset", "status_quo", +1)),
        series="Wikipedia.mean_level", series_label="Wikipedia members' mean level",
        extra=(_m("Wikipedia members at the end", _summary("Wikipedia.final_members")),)),
    Experiment(
        strategy="go_bilingual", scenario="go_bilingual.toml", organization="Post",
        arms={"go_bilingual": _arm("go_bilingual"), "status_quo": _arm("status_quo"),
              "get_structural": _arm("get_structural"), "become_the_man": _arm("become_the_man")},
        quote="the right strategy for the moment is often to go 'bilingual'",
        claims=(Claim("Bilingual beats pure new power in a contest", POST_FORCE, "go_bilingual", "status_quo", +1),
                Claim("Bilingual beats converting the current into stock (get structural)", POST_FORCE,
                      "go_bilingual", "get_structural", +1),
                Claim("Bilingual beats taking on old-power values", POST_FORCE,
                      "go_bilingual", "become_the_man", +1),
                Claim("Bilingual keeps a larger community than getting structural", POST_MEMBERS,
                      "go_bilingual", "get_structural", +1)),
        series="Post.stock", series_label="Post stock (old power)",
        extra=(_m("Post won the campaign (share of runs)", _won("Post")), POST_STOCK)),
    Experiment(
        strategy="respect_community", scenario="facebook_rival.toml", organization="Facebook",
        arms={"respect_community": _arm("respect_community"), "status_quo": _arm("status_quo"),
              "become_the_man": _arm("become_the_man", start=10, drift=0.005)},
        quote="new power organizations should fear being deserted",
        claims=(Claim("Keeping values aligned and sharing value keeps the community from deserting to a rival",
                      FB_LOST, "respect_community", "status_quo", -1),
                Claim("Respect is paid for in stock (it takes less)", FB_STOCK,
                      "respect_community", "status_quo", -1)),
        series="Facebook.members", series_label="Facebook members",
        extra=(RIVAL, _m("Largest desertion cascade (participants)", _summary("largest_desertion_cascade")))),
    Experiment(
        strategy="become_the_man", scenario="facebook_rival.toml", organization="Facebook",
        arms={"become_the_man": _arm("become_the_man", start=10, drift=0.005),
              "status_quo": _arm("status_quo")},
        quote="Those who deploy new power models but default to old power values are especially at risk",
        claims=(Claim("A platform whose values drift toward old power is deserted, to a rival promising new values",
                      FB_LOST, "become_the_man", "status_quo", +1),
                Claim("Becoming the Man does not pay: it ends with less stock", FB_STOCK,
                      "become_the_man", "status_quo", -1)),
        series="Facebook.members", series_label="Facebook members",
        extra=(RIVAL,)),
    Experiment(
        strategy="get_structural", scenario="kickstarter_surge.toml", organization="Kickstarter",
        arms={"get_structural": _arm("get_structural"), "status_quo": _arm("status_quo")},
        quote="New power models will always have limited influence and impact unless they are "
              "operating within a superstructure designed to play to their strengths.",
        claims=(Claim("Converting a surge into lasting stock makes power outlive the surge", KS_STOCK,
                      "get_structural", "status_quo", +1),
                Claim("Conversion does not cost the community (no more desertion)", KS_LOST,
                      "get_structural", "status_quo", -1)),
        series="Kickstarter.stock", series_label="Kickstarter stock (old power)",
        extra=(_m("Kickstarter current at the end", _summary("Kickstarter.final_current")),
               _m("Surge half-life (steps)", _summary("half_life")))),
)


# ------------------------------------------------------------------ running

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
    """Mean and 95% t-interval, ignoring NaN (``replicate.interval`` as a tuple)."""
    stats = interval(values)
    return stats["mean"], stats["ci_low"], stats["ci_high"]


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
    seeds = replication_seeds(root_seed, n_seeds)
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
        f"(common random numbers), and compares a measure between two arms: a claim **holds** "
        f"when the 95% interval of the difference of means (Welch) lies on the claimed side of 0, "
        f"**does not hold** when it lies on the other side, and is **not shown** when it includes 0. "
        f"The first claim of each strategy is the article's; the others are what else the model "
        f"should show, including trade-offs the article does not mention. Values are mean "
        f"[95% interval]. No rule of the model reads a strategy's name: strategies only set an "
        f"organization's levers (docs/ODD.md). Generated in {elapsed:.0f} s. To write your own "
        f"strategy, see [custom_strategies.md](custom_strategies.md).",
        "",
        "| strategy | claim | verdict |",
        "|---|---|---|",
    ]
    failing: list[str] = []
    sections: list[str] = []
    for exp in EXPERIMENTS:
        if exp.strategy not in results:
            continue
        runs = results[exp.strategy]
        figure = figures / f"strategy_{exp.strategy}.png"
        _figure(exp, runs, figure)
        doc = " ".join((STRATEGIES[exp.strategy].__doc__ or "").split())
        claim_lines = []
        for claim in exp.claims:
            diff = difference_ci(np.array([claim.measure.pick(r) for r in runs[claim.a]]),
                                 np.array([claim.measure.pick(r) for r in runs[claim.b]]))
            result = verdict(diff, claim.direction)
            anchor = exp.strategy.replace("_", "-")
            lines.append(f"| [`{exp.strategy}`](#{anchor}) | {claim.text} | {result.split(' (')[0]} |")
            claim_lines.append(f"- **{result.split(' (')[0]}**: {claim.text}. *{claim.measure.label}*, "
                               f"`{claim.a}` - `{claim.b}`: {_fmt(diff)}.")
            if not result.startswith("holds"):
                failing.append(f"- `{exp.strategy}`: {claim.text} ({result}; {_fmt(diff)}).")
        table = ["| arm | " + " | ".join(m.label for m in exp.measures) + " |",
                 "|---|" + "---|" * len(exp.measures)]
        for label, arm_runs in runs.items():
            cells = [_fmt(mean_ci(np.array([m.pick(r) for r in arm_runs]))) for m in exp.measures]
            table.append(f"| `{label}` | " + " | ".join(cells) + " |")
        sections += [
            f"## {exp.strategy}", "",
            f"**Mechanism.** {doc}", "",
            f"**Article.** \"{exp.quote}\"", "",
            f"**Setup.** Scenario `scenarios/{exp.scenario}`; the arms differ only in the strategy of "
            f"{exp.organization}.", "",
            "**Claims.**", "", *claim_lines, "",
            *table, "",
            f"![{exp.strategy}](figures/{figure.name})", "",
        ]
    lines += ["", "## Where the article's claims do not hold in the model", "",
              *(failing or ["Every claim tested holds in these scenarios."]), "", *sections]
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
