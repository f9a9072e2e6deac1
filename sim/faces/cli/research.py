"""The research sub-commands of ``newpower``: ``sweep``, ``sensitivity`` and ``stress``.

:func:`register` adds them to the main command's sub-parsers; each handler
returns the exit code (0 done, 1 done with failed runs, 2 a user error,
130 interrupted). User mistakes raise :class:`~sim.errors.SimError`, which
the main command prints as one line. Standalone, for scripts and tests::

    python -m sim.faces.cli.research sweep scenarios/sweep_fickleness.toml --workers 2
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.config.scenario import parse_value
from sim.errors import ScenarioError, SimError
from sim.faces.cli.knockouts import knockout_argument

EXIT_FAILED_RUNS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sweep``, ``sensitivity`` and ``stress`` to ``subparsers`` (from ``add_subparsers``)."""
    sweep = subparsers.add_parser(
        "sweep",
        help="run a design of experiments (factorial, Latin hypercube, Sobol) into a Parquet dataset",
        description="Run the design in the scenario's [sweep] table (or given here) with R replications per "
        "point. Running the same sweep into the same folder resumes it.",
    )
    _common(sweep, every=1)
    sweep.add_argument(
        "--design",
        choices=("factorial", "latin_hypercube", "sobol"),
        default=None,
        help="the design (default: the scenario's [sweep].design)",
    )
    sweep.add_argument(
        "--factor",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a factor and its values, e.g. dynamics.fickleness=0.05,0.1,0.2 (repeatable; "
        "replaces the scenario's [sweep] factors and ranges)",
    )
    sweep.add_argument(
        "--range",
        dest="ranges",
        action="append",
        default=[],
        metavar="KEY=LOW:HIGH",
        help="a range for a sampled design, e.g. shocks.0.size=0:0.4 (repeatable)",
    )
    sweep.add_argument("--samples", type=int, default=None, help="points of a sampled design")
    sweep.add_argument(
        "--common-seeds",
        action="store_true",
        help="every point of replicate r gets the same seed (common random numbers); "
        "default: independent seeds",
    )
    sweep.add_argument("--no-plot", action="store_true", help="do not draw the response curves")
    sweep.set_defaults(handler=cmd_sweep)

    sens = subparsers.add_parser(
        "sensitivity",
        help="Sobol or Morris sensitivity indices (SALib) over the declared ranges",
        description="Sample the ranges of [sweep].ranges (or [uncertain]) with SALib, run the sample, and "
        "report first-order and total indices (Sobol) or mu* and sigma (Morris) with 95% intervals.",
    )
    _common(sens, every=0)
    sens.add_argument("--method", choices=("sobol", "morris"), default="sobol", help="default: sobol")
    sens.add_argument(
        "--samples",
        type=int,
        default=64,
        help="Sobol base N (N*(D+2) points; a power of 2 is best) or Morris trajectories (default 64)",
    )
    sens.add_argument("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    sens.add_argument(
        "--range",
        dest="ranges",
        action="append",
        default=[],
        metavar="KEY=LOW:HIGH",
        help="a factor range (repeatable; replaces the scenario's ranges)",
    )
    sens.add_argument(
        "--measure",
        action="append",
        default=[],
        metavar="NAME",
        help="a summary measure to analyse (repeatable; default: the headline measures)",
    )
    sens.set_defaults(handler=cmd_sensitivity)

    stress = subparsers.add_parser(
        "stress",
        help="stress test: share of futures in which the community deserts, and why",
        description="Sample the scenario's [uncertain] ranges, run every future (with each strategy), and "
        "write a Markdown report: the share of futures that desert ([desertion]), the conditions "
        "that lead there (scenario discovery), and strategies side by side.",
    )
    _common(stress, every=1)
    stress.add_argument("--samples", type=int, default=100, help="futures to sample (default 100)")
    stress.add_argument(
        "--strategies",
        default="",
        metavar="A,B,C",
        help="strategies for the desertion organization, compared on the same futures",
    )
    stress.set_defaults(handler=cmd_stress)


def _common(parser: argparse.ArgumentParser, every: int) -> None:
    parser.add_argument("scenario", help="scenario TOML file (see scenarios/)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value for every run, e.g. --set network.n=500 (repeatable)",
    )
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: the scenario's)")
    parser.add_argument("--seed", type=int, default=None, help="root seed (default: the scenario's)")
    parser.add_argument(
        "--replications",
        type=int,
        default=None,
        help="runs per point (default: the scenario's [sweep].replications, 1 for stress)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="results folder (default: results/<scenario>-<command>); the same folder resumes the same sweep",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: all CPUs; 0: run in this process; at most 4 per CPU)",
    )
    parser.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster, or a scheduler address tcp://host:8786",
    )
    parser.add_argument("--runs-per-task", type=int, default=None, help="runs per task (default: automatic)")
    parser.add_argument(
        "--every",
        type=int,
        default=every,
        help=f"keep every N-th step of each time series, 0 for none (default {every})",
    )
    parser.add_argument(
        "--commit-every",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="commit finished runs to disk at least this often (default 1)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--allow-code",
        action="store_true",
        help="let the scenario name strategies by import path (module:Class), which runs that module's code",
    )
    knockout_argument(parser)


# ------------------------------------------------------------------ parsing values


def parse_factors(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["dynamics.fickleness=0.05,0.1"]`` -> ``{"dynamics.fickleness": [0.05, 0.1]}`` (TOML arrays work too)."""
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ScenarioError(
                "a factor must look like KEY=V1,V2,...",
                source="--factor",
                key=item,
                allowed="e.g. --factor dynamics.fickleness=0.05,0.1,0.2",
            )
        value = (
            parse_value(text) if text.strip().startswith("[") else [parse_value(v) for v in text.split(",")]
        )
        out[key.strip()] = value if isinstance(value, list) else [value]
    return out


def parse_ranges(items: Sequence[str]) -> dict[str, list[float]]:
    """``["shocks.0.size=0:0.4"]`` -> ``{"shocks.0.size": [0.0, 0.4]}`` (``[0, 0.4]`` works too)."""
    out: dict[str, list[float]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        text = text.strip()
        bounds = parse_value(text) if text.startswith("[") else [parse_value(v) for v in text.split(":")]
        if not sep or not key.strip() or not isinstance(bounds, list) or len(bounds) != 2:
            raise ScenarioError(
                "a range must look like KEY=LOW:HIGH",
                source="--range",
                key=item,
                allowed="e.g. --range shocks.0.size=0:0.4",
            )
        out[key.strip()] = bounds
    return out


def _load(args: argparse.Namespace, extra: dict[str, Any]):
    from sim.config.overrides import parse_overrides
    from sim.faces.cli.knockouts import load_with_knockouts

    overrides = parse_overrides(args.overrides)
    if args.steps is not None:
        overrides["steps"] = args.steps
    overrides.update(extra)
    return load_with_knockouts(args, overrides)


def _out(args: argparse.Namespace, scenario, command: str) -> Path:
    from sim.storage.files import slug

    if args.out:
        return Path(args.out)
    return Path("results") / f"{slug(scenario.name)}-{command}"


def _check_options(args: argparse.Namespace) -> None:
    """Refuse options that cannot work, in one line, before the scenario is read or anything runs."""
    from sim.research.executors import check_options

    for name in ("samples", "replications"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise SimError(f"--{name} {value}: allowed: 1 or more")
    if args.every < 0:
        raise SimError(f"--every {args.every}: allowed: 0 (keep no time series) or more")
    if not args.commit_every >= 0:  # also refuses NaN
        raise SimError(f"--commit-every {args.commit_every}: allowed: a number of seconds, 0 or more")
    lo, hi = _seed_range()
    if args.seed is not None and not lo <= args.seed <= hi:
        raise SimError(f"--seed {args.seed}: allowed: an integer from {lo} to {hi}")
    check_options(args.workers, args.dask, args.runs_per_task)


def _seed_range() -> tuple[int, int]:
    """The range of a root seed: the scenario's ``seed`` key's."""
    from sim.config.scenario import Scenario

    (seed,) = [f for f in dataclasses.fields(Scenario) if f.name == "seed"]
    lo, hi = seed.metadata["range"]
    return int(lo), int(hi)


def _run(plan, folder: Path, args: argparse.Namespace, executor=None):
    """Run a plan with the executor options (or ``executor``, already started; closed here);
    Ctrl-C and SIGTERM stop it after committing what finished."""
    from sim.research.executors import make_executor

    # Made first: its workers start and warm up while this process imports the sweep's writer.
    executor = executor or make_executor(args.workers, args.dask)
    from sim.research.sweep import run_sweep

    print(
        f"{plan.kind}: {len(plan.points)} points x {plan.replications} replication(s) = {plan.n_runs} runs "
        f"-> {folder}",
        file=sys.stderr,
    )
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread
        pass
    try:
        report = run_sweep(
            plan,
            folder,
            executor=executor,
            runs_per_task=args.runs_per_task,
            progress=not args.no_progress,
            commit_seconds=args.commit_every,
        )
    finally:
        executor.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    resumed = f", {report.n_skipped} already on disk" if report.n_skipped else ""
    print(
        f"{report.n_done} runs done, {report.n_failed} failed{resumed} ({report.executor}, "
        f"{report.seconds:.1f} s)",
        file=sys.stderr,
    )
    if report.n_failed:
        from sim.storage.sweep_store import read_failures

        failures = read_failures(folder)
        for row in failures.head(3).itertuples():
            print(f"  failed: point {row.point_id}, replicate {row.replicate}: {row.error}", file=sys.stderr)
        print(
            f"  ({len(failures)} failed runs recorded in {folder / 'failures'}; the same command retries them)",
            file=sys.stderr,
        )
    return report


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _interrupted(folder: Path) -> int:
    print(
        f"interrupted: the runs finished so far are saved in {folder}; run the same command again to resume",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def point_table(folder: Path, max_points: int = 24, n_measures: int = 2) -> str:
    """Per point: its values and, for the first headline measures, mean [95% interval] over its runs."""
    import pandas as pd

    from sim.storage.sweep_store import PARAM, POINTS_SUMMARY

    stats = pd.read_parquet(folder / POINTS_SUMMARY)
    if stats.empty:
        return "(no completed run)"
    measures = _table_measures(stats, n_measures)
    params = [c for c in stats.columns if c.startswith(PARAM)]
    points = sorted(stats["point_id"].unique())
    header = [c[len(PARAM) :] for c in params] + [f"{m} mean [95% interval]" for m in measures] + ["runs"]
    rows = [header] + [
        _point_row(stats[stats["point_id"] == p], params, measures) for p in points[:max_points]
    ]
    lines = _aligned(rows)
    if len(points) > max_points:
        lines.append(f"... {len(points) - max_points} more points in {folder / POINTS_SUMMARY}")
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    """Rows of cells as lines, each column padded to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _table_measures(stats, n_measures: int) -> list[str]:
    """The first ``n_measures`` headline measures, preferring those whose mean differs between points."""
    from sim.storage.sweep_store import headline_measures  # not from the figures: no matplotlib for a table

    measures = headline_measures(stats["measure"].unique())
    varying = [m for m in measures if stats.loc[stats["measure"] == m, "mean"].nunique() > 1]
    return (varying or measures)[:n_measures]


def _point_row(point, params: list[str], measures: list[str]) -> list[str]:
    """One point's cells: its parameter values, each measure's mean [interval], and its runs."""
    rows = point.set_index("measure")
    first = rows.loc[measures[0]] if measures else point.iloc[0]
    cells = [f"{first[c]:.4g}" if isinstance(first[c], float) else str(first[c]) for c in params]
    for m in measures:
        r = rows.loc[m]
        cells.append(f"{r['mean']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]")
    cells.append(str(int(first["n"])) if measures else "")
    return cells


# ------------------------------------------------------------------ handlers


def cmd_sweep(args: argparse.Namespace) -> int:
    """``newpower sweep``: run a design into a Parquet dataset, resumably; draw response curves."""
    from sim.research.executors import make_executor
    from sim.research.plan import plan_sweep

    _check_options(args)
    scenario = _load(args, _sweep_table(args))
    # Started as soon as the scenario is valid: the workers warm up while this process plans.
    executor = make_executor(args.workers, args.dask)
    try:
        plan = plan_sweep(scenario, root_seed=args.seed, every=args.every, common_seeds=args.common_seeds)
        folder = _out(args, scenario, "sweep")
    except BaseException:
        executor.close()
        raise
    try:
        report = _run(plan, folder, args, executor)
    except KeyboardInterrupt:
        return _interrupted(folder)
    print(f"results: {folder} (summaries/, timeseries/, points_summary.parquet)")
    print(point_table(folder))
    if not args.no_plot:
        from sim.figures.sweep import plot_sweep

        for path in plot_sweep(folder):
            print(f"figure: {path}")
    return EXIT_FAILED_RUNS if report.n_failed else 0


def _sweep_table(args: argparse.Namespace) -> dict[str, Any]:
    """The ``sweep.*`` overrides the command-line options make."""
    table: dict[str, Any] = {}
    if args.factor or args.ranges:
        table["sweep.factors"] = parse_factors(args.factor)
        table["sweep.ranges"] = parse_ranges(args.ranges)
    if args.design:
        table["sweep.design"] = args.design
    elif args.ranges and not args.factor:
        table["sweep.design"] = "latin_hypercube"
    if args.samples is not None:
        table["sweep.samples"] = args.samples
    if args.replications is not None:
        table["sweep.replications"] = args.replications
    return table


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``newpower sensitivity``: SALib indices with intervals, as a table, a Markdown report and a bar chart."""
    from sim.research import sensitivity
    from sim.research.measures import check_measures

    _check_options(args)
    sensitivity.check_design(args.method, args.samples, args.levels)
    table = {"sweep.ranges": parse_ranges(args.ranges)} if args.ranges else {}
    scenario = _load(args, table)
    measures = check_measures(scenario, args.measure)
    replications = args.replications or scenario.sweep.replications
    plan = sensitivity.plan_sensitivity(
        scenario, args.method, args.samples, replications, args.seed, args.levels, args.every
    )
    folder = _out(args, scenario, f"sensitivity-{args.method}")
    try:
        report = _run(plan, folder, args)
    except KeyboardInterrupt:
        return _interrupted(folder)
    if report.n_failed:
        raise SimError(
            f"{report.n_failed} runs failed, so the sample is incomplete and cannot be analysed; "
            f"see {folder / 'failures'}, then run the same command again"
        )
    indices, notes = sensitivity.analyze(folder, measures or None)
    paths = sensitivity.write_outputs(folder, indices, notes)
    print(sensitivity.table_text(indices, args.method))
    for note in notes:
        print(f"note: {note}")
    for warning in sensitivity.sample_warnings(indices, args.method, args.samples):
        print(f"warning: {warning}", file=sys.stderr)
    for path in paths:
        print(f"written: {path}")
    return 0


def cmd_stress(args: argparse.Namespace) -> int:
    """``newpower stress``: the share of futures that desert, why, and strategies side by side."""
    from sim.research import stress

    _check_options(args)
    scenario = _load(args, {})
    strategies = [s for s in args.strategies.split(",") if s.strip()]
    plan = stress.plan_stress(
        scenario, args.samples, strategies, args.replications or 1, args.seed, args.every
    )
    folder = _out(args, scenario, "stress")
    try:
        report = _run(plan, folder, args)
    except KeyboardInterrupt:
        return _interrupted(folder)
    result = stress.analyze_stress(folder)
    path = stress.write_report(folder, result)
    print(f"{scenario.name}: desertion = {stress.criterion_words(result.manifest['extra'])}")
    for line in stress.headline(result):
        print(line)
    print(f"report: {path}")
    return EXIT_FAILED_RUNS if report.n_failed else 0


# ------------------------------------------------------------------ standalone


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.faces.cli.research ARGS`` is ``newpower ARGS``."""
    from sim.faces.cli.main import main as newpower

    return newpower(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
