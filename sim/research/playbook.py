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
from sim.research.executors import InlineExecutor, LocalExecutor
from sim.research.experiments import EXPERIMENTS, Experiment
from sim.runs.replicate import replication_seeds
from sim.scenarios import LIBRARY
from sim.stats import interval

#: The repository root: docs/strategies.md and its figures are written under it.
ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ running


def _run_one(task: tuple[str, str, dict[str, Any], int, str]) -> dict[str, Any]:
    """One run of one arm."""
    from sim.config.scenario import load_scenario
    from sim.runs.runner import run

    scenario_file, organization, arm, seed, series = task
    scenario = load_scenario(
        LIBRARY / scenario_file,
        overrides={
            f"organizations.{organization}.strategy": arm["strategy"],
            f"organizations.{organization}.strategy_params": arm["params"],
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
    return {"summary": result.summary, "series": columns, "campaigns": result.campaigns.to_dict("records")}


def _run_numbered(item: tuple[int, tuple[str, str, dict[str, Any], int, str]]) -> tuple[int, dict[str, Any]]:
    """Worker: one run, with its position (results come back in completion order); top level, so it pickles."""
    number, task = item
    return number, _run_one(task)


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
    """ "holds", "does not hold" (significant the other way) or "not shown" (interval spans 0)."""
    _, lo, hi = diff
    if direction * lo > 0 and direction * hi > 0:
        return "holds"
    if direction * lo < 0 and direction * hi < 0:
        return "does not hold (the opposite is significant)"
    return "not shown (the 95% interval of the difference includes 0)"


def run_experiments(
    n_seeds: int, workers: int, root_seed: int = 2014, only: tuple[str, ...] = ()
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Run every arm of every experiment on the same seeds; return runs by experiment and arm."""
    if workers < 1:
        raise SimError(f"--workers {workers}: allowed: 1 (this process) or more")
    seeds = replication_seeds(root_seed, n_seeds)
    tasks, keys = [], []
    for exp in EXPERIMENTS:
        if only and exp.strategy not in only:
            continue
        for label, arm in exp.arms.items():
            for seed in seeds:
                tasks.append((exp.scenario, exp.organization, arm, seed, exp.series))
                keys.append((exp.strategy, label))
    # workers preload the warm model (executors.PRELOAD), not this module: run with -m, it is the main script
    executor = LocalExecutor(workers) if workers > 1 else InlineExecutor()
    with executor:
        numbered = dict(executor.map_unordered(_run_numbered, enumerate(tasks)))
    outputs = [numbered[i] for i in range(len(tasks))]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
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


def write_report(
    results: dict[str, dict[str, list[dict[str, Any]]]], out: Path, n_seeds: int, elapsed: float
) -> Path:
    """Write docs/strategies.md and its figures from the experiments' runs."""
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Strategies: what the model shows about the article's playbook",
        "",
        "<!-- Generated by `.venv/bin/python -m sim.research.playbook`; do not edit by hand. -->",
        "",
        (
            f"Each strategy's claimed effect is a hypothesis. Every experiment runs the same scenario with "
            f"a different strategy for one organization (the *arms*), on the same {n_seeds} seeds "
            f"(common random numbers), and compares a measure between two arms: a claim **holds** "
            f"when the 95% interval of the difference of means (Welch) lies on the claimed side of 0, "
            f"**does not hold** when it lies on the other side, and is **not shown** when it includes 0. "
            f"The first claim of each strategy is the article's; the others are what else the model "
            f"should show, including trade-offs the article does not mention. Values are mean "
            f"[95% interval]. No rule of the model reads a strategy's name: strategies only set an "
            f"organization's levers (docs/ODD.md). Generated in {elapsed:.0f} s. To write your own "
            f"strategy, see [custom_strategies.md](custom_strategies.md)."
        ),
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
        summary_rows, claim_lines, failed = _claims(exp, runs)
        lines += summary_rows
        failing += failed
        sections += _section(exp, runs, claim_lines, figure.name)
    lines += [
        "",
        "## Where the article's claims do not hold in the model",
        "",
        *(failing or ["Every claim tested holds in these scenarios."]),
        "",
        *sections,
    ]
    path = out / "strategies.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _claims(exp: Experiment, runs: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[str], list[str]]:
    """Each claim's verdict: its row of the summary table, its line in the section, and failures."""
    rows, claim_lines, failing = [], [], []
    for claim in exp.claims:
        diff = difference_ci(
            np.array([claim.measure.pick(r) for r in runs[claim.a]]),
            np.array([claim.measure.pick(r) for r in runs[claim.b]]),
        )
        result = verdict(diff, claim.direction)
        short = result.split(" (")[0]
        # the heading "## status_quo" is anchored as #status_quo (GitHub keeps underscores)
        rows.append(f"| [`{exp.strategy}`](#{exp.strategy}) | {claim.text} | {short} |")
        claim_lines.append(
            f"- **{short}**: {claim.text}. *{claim.measure.label}*, `{claim.a}` - `{claim.b}`: {_fmt(diff)}."
        )
        if not result.startswith("holds"):
            failing.append(f"- `{exp.strategy}`: {claim.text} ({result}; {_fmt(diff)}).")
    return rows, claim_lines, failing


def _section(
    exp: Experiment, runs: dict[str, list[dict[str, Any]]], claim_lines: list[str], figure: str
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
        f"**Mechanism.** {doc}",
        "",
        f'**Article.** "{exp.quote}"',
        "",
        (
            f"**Setup.** Scenario `scenarios/{exp.scenario}`; the arms differ only in the strategy of "
            f"{exp.organization}."
        ),
        "",
        "**Claims.**",
        "",
        *claim_lines,
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
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for strategies.md")
    parser.add_argument("--only", default="", help="comma-separated strategies to run")
    args = parser.parse_args(argv)
    only = tuple(filter(None, args.only.split(",")))
    start = time.perf_counter()
    try:
        check_arguments(args.seeds, only)
        results = run_experiments(args.seeds, args.workers, only=only)
    except SimError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    path = write_report(results, args.out, args.seeds, time.perf_counter() - start)
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
