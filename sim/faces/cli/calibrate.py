"""``newpower calibrate``: fit scenario parameters to an observed series (ABC-SMC through pyabc).

:func:`register` adds the sub-command to the main command's sub-parsers. The
handler returns the exit code: 0 done, 2 a user error (one line, before any
simulation runs), 130 interrupted (the finished generations are kept: the same
command with ``--resume`` continues). Standalone, for scripts and tests::

    python -m sim.faces.cli.calibrate teaching_surge --data examples/observed_surge.csv ...
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sim.errors import SimError

EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` to ``subparsers`` (from ``add_subparsers``)."""
    cal = subparsers.add_parser(
        "calibrate",
        help="fit scenario parameters to an observed series (ABC-SMC, pyabc)",
        description="Fit chosen scenario parameters (uniform priors over dotted keys) to an observed time "
        "series by Approximate Bayesian Computation with sequential Monte Carlo (pyabc). Writes the "
        "posterior, a pair plot, a posterior predictive figure and a plain-words summary into a new "
        "results folder. See docs/calibration.md.",
    )
    cal.add_argument("scenario", help="scenario TOML file, or the name of a library scenario")
    cal.add_argument(
        "--allow-code",
        action="store_true",
        help="let the scenario name strategies by import path (module:Class), which runs that module's code",
    )
    data = cal.add_argument_group("the observed series")
    data.add_argument(
        "--data", required=True, metavar="CSV", help="a CSV file: a step column and value columns"
    )
    data.add_argument(
        "--column",
        dest="columns",
        action="extend",
        nargs="+",
        required=True,
        metavar="NAME",
        help="value column(s) to fit (repeatable)",
    )
    data.add_argument(
        "--measure",
        dest="measures",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="the model's per-step measure for each --column, in order (default: the column's own name; "
        "see `newpower list`)",
    )
    data.add_argument(
        "--step-column", default="step", metavar="NAME", help="name of the step column (default: step)"
    )
    fit = cal.add_argument_group("what to fit and how")
    fit.add_argument(
        "--param",
        dest="params",
        action="append",
        required=True,
        metavar="KEY=LOW:HIGH",
        help="a parameter and its uniform prior, e.g. dynamics.fickleness=0:0.5 (repeatable)",
    )
    fit.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fix a scenario value for every run, e.g. --set network.n=500 (repeatable)",
    )
    fit.add_argument(
        "--distance",
        choices=("series", "summary"),
        default="series",
        help="series: root mean square gap over every step (default); summary: peak, peak step, "
        "half-life and final level",
    )
    fit.add_argument(
        "--noise",
        type=float,
        default=0.0,
        metavar="SD",
        help="SD of the Gaussian observation noise added to simulated values (default 0)",
    )
    fit.add_argument(
        "--replications", type=int, default=1, metavar="R", help="runs per particle, averaged (default 1)"
    )
    fit.add_argument(
        "--populations", type=int, default=8, metavar="N", help="ABC-SMC generations (default 8)"
    )
    fit.add_argument(
        "--population-size", type=int, default=200, metavar="N", help="particles per generation (default 200)"
    )
    fit.add_argument(
        "--min-acceptance",
        type=float,
        default=0.0,
        metavar="RATE",
        help="stop early when a generation would accept fewer than this share of its simulations (default 0)",
    )
    fit.add_argument(
        "--predictive",
        type=int,
        default=100,
        metavar="N",
        help="posterior draws simulated for the predictive check (default 100)",
    )
    fit.add_argument(
        "--seed", type=int, default=None, metavar="N", help="root seed (default: the scenario's)"
    )
    where = cal.add_argument_group("where it runs and writes")
    where.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes (default: all CPUs; 0: this process)",
    )
    where.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster, or a scheduler address tcp://host:8786",
    )
    where.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="results folder, new or empty (default: results/<scenario>-calibration-<time>)",
    )
    where.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted calibration into --out from its last finished generation",
    )
    where.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar per generation on stderr (default: only on a terminal)",
    )
    cal.set_defaults(handler=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``newpower calibrate``: check everything, run ABC-SMC, write the folder, print the summary."""
    from sim.config.overrides import parse_overrides
    from sim.model.catalog import load_scenario
    from sim.research.calibration import Options, calibrate, parse_prior, prepare, read_observed
    from sim.runs.folder import command_line

    if importlib.util.find_spec("pyabc") is None:
        raise SimError(
            "newpower calibrate needs pyabc, which is not installed; allowed: pip install 'newpower[calibrate]'"
        )
    if args.resume and not args.out:
        raise SimError("--resume needs --out DIR: the folder of the calibration to continue")
    options = Options(
        distance=args.distance,
        noise=args.noise,
        replications=args.replications,
        populations=args.populations,
        population_size=args.population_size,
        min_acceptance=args.min_acceptance,
        predictive=args.predictive,
        seed=args.seed,
    )
    priors = [parse_prior(text) for text in args.params]
    overrides = parse_overrides(args.overrides)
    observed = read_observed(args.data, args.columns, args.measures, args.step_column)
    scenario = load_scenario(args.scenario, overrides=overrides, allow_code=args.allow_code)
    problem = prepare(scenario, observed, priors)
    folder = Path(args.out) if args.out else _default_folder(scenario.name)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    print(
        f"calibrate {scenario.name}: {len(priors)} parameter(s), {len(observed.steps)} observed steps, "
        f"{options.populations} generations of {options.population_size} particles -> {folder}",
        file=sys.stderr,
    )
    try:
        result = calibrate(
            problem,
            options,
            folder,
            resume=args.resume,
            workers=args.workers,
            dask=args.dask,
            progress=show,
            echo=lambda line: print(line, file=sys.stderr, flush=True),
            extra={"command": command_line(getattr(args, "argv", [])), "overrides": overrides},
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: the finished generations are kept in {folder}; continue with the same command "
            f"and --resume --out {shlex.quote(str(folder))}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(_table(result.parameters))
    m = result.manifest
    print(
        f"{m['populations']['done']} generations, {m['simulations']:,} simulations, {m['wall_time_s']:.1f} s "
        f"({m['executor']})"
    )
    if m["populations"]["stopped"]:
        print(f"note: {m['populations']['stopped']}")
    print(f"results: {folder} (summary.md, posterior.parquet, figures/pairs.png, figures/predictive.png)")
    return 0


def _default_folder(name: str) -> Path:
    from sim.storage.files import slug

    stem = Path("results") / f"{slug(name)}-calibration-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, n = stem, 1
    while folder.exists():
        n += 1
        folder = stem.with_name(f"{stem.name}-{n}")
    return folder


def _table(parameters) -> str:
    rows = [["parameter", "median", "90% interval", "of prior", "informed"]]
    for r in parameters.itertuples():
        rows.append(
            [
                r.parameter,
                f"{r.median:.4g}",
                f"[{r.ci_low:.4g}, {r.ci_high:.4g}]",
                f"{r.width_share:.0%}",
                "yes" if r.informed else "no",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


# ------------------------------------------------------------------ standalone


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.faces.cli.calibrate ARGS`` is ``newpower calibrate ARGS``."""
    from sim.faces.cli.main import main as newpower

    argv = list(sys.argv[1:] if argv is None else argv)
    return newpower(argv if argv[:1] == ["calibrate"] else ["calibrate", *argv])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
