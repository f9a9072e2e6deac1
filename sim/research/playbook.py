"""The playbook experiments: each strategy's claimed effect, tested over replicated runs.

Every experiment takes one scenario from ``scenarios/``, runs two or more arms
(the same scenario with a different strategy for the focal organization) on
the same seeds (common random numbers), and compares a measure between two
arms. The article's claim is a hypothesis: the verdict comes from the 95%
interval of the difference of means (Welch), never from the strategy's name.

The experiments are declared in :mod:`sim.research.experiments`. Regenerate ``docs/strategies.md``
and its figures with one command::

    .venv/bin/python -m sim.research.playbook            # 20 seeds per arm
    .venv/bin/python -m sim.research.playbook --seeds 40 --workers 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import SimError
from sim.research import verdicts
from sim.research.executors import InlineExecutor, LocalExecutor
from sim.research.experiments import EXPERIMENTS, Experiment
from sim.research.verdicts import mean_ci
from sim.scenarios import LIBRARY

#: The repository root: docs/strategies.md and its figures are written under it.
ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ running


#: One run: (scenario file, organization, arm, seed, series column, extra overrides).
Task = tuple[str, str, dict[str, Any], int, str, dict[str, Any]]


def _run_one(task: Task) -> dict[str, Any]:
    """One run of one arm (with a knock-out or fixed levers given as extra overrides)."""
    from sim.config.scenario import load_scenario
    from sim.model.levers import LEVER_NAMES
    from sim.runs.runner import run

    scenario_file, organization, arm, seed, series, extra = task
    scenario = load_scenario(
        LIBRARY / scenario_file,
        overrides={
            f"organizations.{organization}.strategy": arm["strategy"],
            f"organizations.{organization}.strategy_params": arm["params"],
            **extra,
        },
    )
    result = run(scenario, seed=seed)
    frame = result.timeseries
    columns = {
        c: frame[c].to_numpy(dtype=float)
        for c in frame.columns
        if c.startswith(f"{organization}.") and frame[c].dtype.kind in "fiu"
    }
    columns[series] = frame[series].to_numpy(dtype=float)
    org = result.model.organization(organization)
    levers = {name: getattr(org, name) for name in LEVER_NAMES}
    levers["max_level"] = org.max_level.name
    return {
        "summary": result.summary,
        "series": columns,
        "campaigns": result.campaigns.to_dict("records"),
        "levers": levers,
    }


def _run_numbered(item: tuple[int, Task]) -> tuple[int, dict[str, Any]]:
    """Worker: one run, with its position (results come back in completion order); top level, so it pickles."""
    number, task = item
    return number, _run_one(task)


#: Seeds of the reported numbers: the held-out set (tuning uses 1000-1019 only).
FIRST_SEED = 5000


def _execute(tasks: list[Task], workers: int) -> list[dict[str, Any]]:
    """Run the tasks, in parallel when asked, and return their outputs in task order."""
    # workers preload the warm model (executors.PRELOAD), not this module: run with -m, it is the main script
    executor = LocalExecutor(workers) if workers > 1 else InlineExecutor()
    with executor:
        numbered = dict(executor.map_unordered(_run_numbered, enumerate(tasks)))
    return [numbered[i] for i in range(len(tasks))]


Results = dict[str, dict[str, list[dict[str, Any]]]]


def _collect(results: Results, keys: list[tuple[str, str]], outputs: list[dict[str, Any]]) -> None:
    for (strategy, label), output in zip(keys, outputs, strict=True):
        results.setdefault(strategy, {}).setdefault(label, []).append(output)


def run_experiments(
    n_seeds: int,
    workers: int,
    first_seed: int = FIRST_SEED,
    only: tuple[str, ...] = (),
    overrides: dict[str, Any] | None = None,
) -> Results:
    """Run every arm of every experiment on the same seeds, then the knock-outs and matched controls.

    Args:
        overrides: dotted keys set in every run (a smaller network for a fast check, say).

    Returns:
        Runs by experiment and arm label: the experiment's own arms, then
        ``"<arm> without <mechanism>"`` and ``"<arm> (levers fixed)"`` for the claims that hold.
    """
    base = dict(overrides or {})
    if workers < 1:
        raise SimError(f"--workers {workers}: allowed: 1 (this process) or more")
    seeds = list(range(first_seed, first_seed + n_seeds))
    chosen = [exp for exp in EXPERIMENTS if not only or exp.strategy in only]
    tasks, keys = [], []
    for exp in chosen:
        for label, arm in exp.arms.items():
            tasks += [(exp.scenario, exp.organization, arm, seed, exp.series, base) for seed in seeds]
            keys += [(exp.strategy, label)] * n_seeds
    results: Results = {}
    _collect(results, keys, _execute(tasks, workers))
    tasks, keys = [], []
    for exp in chosen:
        for label, extra in _follow_ups(exp, results[exp.strategy]).items():
            arm = exp.arms[label.split(" ")[0]]
            tasks += [
                (exp.scenario, exp.organization, arm, seed, exp.series, {**base, **more(seed)})
                for seed, more in zip(seeds, extra, strict=True)
            ]
            keys += [(exp.strategy, label)] * n_seeds
    _collect(results, keys, _execute(tasks, workers))
    return results


def _follow_ups(exp: Experiment, runs: dict[str, list[dict[str, Any]]]) -> dict[str, list]:
    """The knock-out and matched-control arms the experiment's claims need: label -> per seed, a
    function of the seed giving the extra overrides."""
    arms: dict[str, list] = {}
    for claim in exp.claims:
        diff = verdicts.compare(claim, runs, claim.a, claim.b)
        if verdicts.needs_knockouts(claim, diff):
            for mechanisms in verdicts.knockout_sets(claim):
                off = {"dynamics.knockout": list(mechanisms)}
                for label in (claim.a, claim.b):
                    name = verdicts.knockout_arm(label, verdicts.joined(mechanisms))
                    arms[name] = [lambda _s, o=off: o] * len(runs[label])
        if verdicts.needs_control(exp, claim, diff):
            arms[verdicts.control_arm(claim.a)] = [
                lambda _s, levers=run["levers"]: verdicts.fixed_levers(exp.organization, levers)
                for run in runs[claim.a]
            ]
    return arms


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


def write_report(results: Results, out: Path, n_seeds: int, first_seed: int = FIRST_SEED) -> Path:
    """Write docs/strategies.md and its figures from the experiments' runs (no date or run time:
    the same runs write the same bytes)."""
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    judged = {
        exp.strategy: [verdicts.judge(exp, claim, results[exp.strategy]) for claim in exp.claims]
        for exp in EXPERIMENTS
        if exp.strategy in results
    }
    lines = [
        "# Strategies: what the model shows about the article's playbook",
        "",
        "<!-- Generated by `.venv/bin/python -m sim.research.playbook`; do not edit by hand. -->",
        "",
        _INTRO.format(
            n=n_seeds,
            seeds=f"{first_seed}-{first_seed + n_seeds - 1}"
            + (", held out from tuning" if first_seed >= FIRST_SEED else ""),
        ),
        "",
        "| strategy | claim | verdict | mechanism | knock-out verdict | matched-control verdict | by construction |",
        "|---|---|---|---|---|---|---|",
    ]
    for strategy, claims in judged.items():
        lines += [_row(strategy, v) for v in claims]
    lines += ["", *_article(judged), ""]
    for exp in EXPERIMENTS:
        if exp.strategy in judged:
            figure = figures / f"strategy_{exp.strategy}.png"
            runs = {label: results[exp.strategy][label] for label in exp.arms}
            _figure(exp, runs, figure)
            lines += _section(exp, results[exp.strategy], judged[exp.strategy], figure.name)
    path = out / "strategies.md"
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
    return path


_INTRO = (
    "Each strategy's claimed effect is a hypothesis. Every experiment runs the same scenario with a "
    "different strategy for one organization (the *arms*), on the same {n} seeds ({seeds}; "
    "common random numbers), and compares a measure between two arms: a claim "
    "**holds** when the 95% interval of the difference of means (Welch) lies on the claimed side of "
    "0, **does not hold** when it lies on the other side, and is **not shown** when it includes 0. "
    "Each claim names the mechanisms it rests on (docs/ODD.md, 7.20); a claim that holds is re-run "
    "with each of them knocked out: **attributed** when its effect disappears (the interval includes "
    "0 or flips), **misattributed** when it survives. Its strategy arm is also run against a "
    "**matched control**: the same organization under `status_quo` with that run's final lever values "
    "fixed from the start; the strategy wins only if it beats that control too, otherwise the **lever "
    "levels do the work**. Claims that follow from a formula alone are marked **by construction** and "
    "are not findings. The first claim of each strategy is the article's. Values are mean [95% "
    "interval]. No rule of the model reads a strategy's name: strategies only set an organization's "
    "levers (docs/ODD.md). To write your own strategy, see [custom_strategies.md](custom_strategies.md)."
)


def _row(strategy: str, v: verdicts.ClaimVerdict) -> str:
    """One claim's row of the summary table (the heading "## status_quo" is anchored as #status_quo)."""
    mechanisms = ", ".join(f"`{m}`" for m in v.claim.mechanisms) or "-"
    construction = v.claim.by_construction or "no"
    return (
        f"| [`{strategy}`](#{strategy}) | {v.claim.text} | {v.short} | {mechanisms} | {v.attribution} "
        f"| {v.matched} | {construction} |"
    )


def _article(judged: dict[str, list[verdicts.ClaimVerdict]]) -> list[str]:
    """Which of the article's claims (each strategy's first) the model supports, contradicts, cannot test."""
    groups: dict[str, list[str]] = {"supports": [], "contradicts": [], "cannot test": []}
    for strategy, claims in judged.items():
        v = claims[0]
        kind, _, why = v.finding.partition(": ")
        key = "cannot test" if kind.startswith("cannot test") else kind
        note = f" — {why}" if why else ""
        if key == "supports" and v.attribution.startswith(verdicts.MISATTRIBUTED):
            note = f" — but {v.attribution}: it does not rest on the mechanism named"
        groups[key].append(f"- `{strategy}`: {v.claim.text}: {_fmt(v.diff)}{note}.")
    out = ["## The article's claims in the model", ""]
    for title, items in (
        ("The model supports", groups["supports"]),
        ("The model contradicts", groups["contradicts"]),
        ("The model cannot test", groups["cannot test"]),
    ):
        out += [f"**{title}:**", "", *(items or ["- none"]), ""]
    return out


def _claim_lines(v: verdicts.ClaimVerdict) -> list[str]:
    claim = v.claim
    lines = [
        f"- **{v.short}**: {claim.text}. *{claim.measure.label}*, `{claim.a}` - `{claim.b}`: {_fmt(v.diff)}.",
    ]
    if claim.by_construction:
        lines.append(f"  By construction: {claim.by_construction}.")
    for mechanism, (diff, result) in v.knockouts.items():
        lines.append(f"  Without {_code(mechanism)}: {_fmt(diff)}, **{result}**.")
    if v.control is not None:
        lines.append(
            f"  Against its matched control (levers fixed): {_fmt(v.control[0])}, **{v.control[1]}**."
        )
    return lines


def _code(mechanisms: str) -> str:
    return " + ".join(f"`{m}`" for m in mechanisms.split(" + "))


def _section(
    exp: Experiment,
    runs: dict[str, list[dict[str, Any]]],
    claims: list[verdicts.ClaimVerdict],
    figure: str,
) -> list[str]:
    """One strategy's section: mechanism, quote, setup, claims, the arms' measures and the figure."""
    from sim.model.strategies import STRATEGIES

    doc = " ".join((STRATEGIES[exp.strategy].__doc__ or "").split())
    table = [
        "| arm | " + " | ".join(m.label for m in exp.measures) + " |",
        "|---|" + "---|" * len(exp.measures),
    ]
    for label, arm_runs in runs.items():
        cells = [_fmt(mean_ci(np.array([m.pick(r) for r in arm_runs]))) for m in exp.measures]
        table.append(f"| `{label}` | " + " | ".join(cells) + " |")
    return [
        f"## {exp.strategy}",
        "",
        f"**Strategy.** {doc}",
        "",
        f'**Article.** "{exp.quote}"',
        "",
        (
            f"**Setup.** Scenario `scenarios/{exp.scenario}`; the arms differ only in the strategy of "
            f"{exp.organization} (knock-outs and matched controls as in the introduction)."
        ),
        "",
        "**Claims.**",
        "",
        *(line for v in claims for line in _claim_lines(v)),
        "",
        *table,
        "",
        f"![{exp.strategy}](figures/{figure})",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the experiments and write the report."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.research.playbook", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seeds", type=int, default=20, help="seeds per arm (default 20)")
    parser.add_argument(
        "--first-seed", type=int, default=FIRST_SEED, help=f"first seed (default {FIRST_SEED}, held out)"
    )
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for strategies.md")
    parser.add_argument("--only", default="", help="comma-separated strategies to run")
    args = parser.parse_args(argv)
    only = tuple(filter(None, args.only.split(",")))
    start = time.perf_counter()
    try:
        check_arguments(args.seeds, only)
        results = run_experiments(args.seeds, args.workers, first_seed=args.first_seed, only=only)
    except SimError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    path = write_report(results, args.out, args.seeds, args.first_seed)
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0


def check_arguments(n_seeds: int, only: tuple[str, ...]) -> None:
    """Refuse what would write a report with no interval (one seed) or no experiment (a misspelled name).

    Raises:
        SimError: naming the option and the value.
    """
    if n_seeds < 2:
        raise SimError(f"--seeds {n_seeds}: allowed: 2 or more (an interval needs two runs per arm)")
    known = [exp.strategy for exp in EXPERIMENTS]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise SimError(f"--only {','.join(unknown)}: no such experiment; allowed: {', '.join(known)}")


if __name__ == "__main__":
    raise SystemExit(main())
