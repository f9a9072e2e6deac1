"""The ``newpower`` command line.

Sub-commands: ``run`` (run a scenario, save a results folder, tell what
happened in words and print its measures), ``plot`` (redraw a folder's figures
and its story from its files), ``export`` (CSV copies of its tables),
``animate`` (GIF of the network and the compass), ``audit`` (the article's
"audit your power"), ``list`` (scenarios, strategies, shocks, metrics). Each is one small
function. User mistakes (a missing file, a bad key or value, a bad override or
option value, an existing output folder) print one clear line and exit with
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from sim import __version__
from sim.config.overrides import parse_overrides
from sim.config.scenario import Scenario
from sim.errors import ScenarioError, SimError
from sim.faces.cli import knockouts
from sim.scenarios import LIBRARY

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``newpower: error:`` line (exit code 2)."""

    def error(self, message: str):
        """Print the usage error as one line and exit with code 2 (argparse's hook)."""
        self.exit(EXIT_USAGE, f"newpower: error: {message} (see `{self.prog} --help`)\n")


# ------------------------------------------------------------------ the parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = Parser(
        prog="newpower",
        description="Old power vs new power: an agent-based model after Heimans & Timms (HBR 2014).",
    )
    parser.add_argument("--version", action="version", version=f"newpower {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a scenario, save a results folder, print its summary",
        description="Run a scenario; save time series, summary, manifest and figures "
        "in a new results folder (see docs/results.md).",
    )
    _scenario_arguments(run)
    run.add_argument(
        "--replications",
        "-r",
        type=int,
        default=None,
        metavar="R",
        help="independent runs with seeds spawned from --seed (default: the scenario's)",
    )
    _output_arguments(run)
    run.add_argument(
        "--network-steps",
        type=int,
        nargs="+",
        default=None,
        metavar="STEP",
        help="steps shown in the network figure (default: start, surge peak, later, end)",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: only on a terminal)",
    )
    run.add_argument(
        "--no-figures",
        dest="figures",
        action="store_false",
        help="write the data and the story only (fast); `newpower plot` draws the figures later",
    )
    _format_argument(run, "also write a CSV copy of every table (Parquet is always written)")
    run.set_defaults(handler=cmd_run)

    plot = sub.add_parser(
        "plot", help="redraw every figure of a results folder (and its summary.md) from its files"
    )
    plot.add_argument("results_dir", metavar="RESULTS_DIR", help="a folder written by `newpower run`")
    plot.add_argument(
        "--network-steps",
        type=int,
        nargs="+",
        default=None,
        metavar="STEP",
        help="steps shown in the network figure (default: as chosen by the run)",
    )
    _svg_argument(plot)
    plot.set_defaults(handler=cmd_plot)

    export = sub.add_parser(
        "export",
        help="write a CSV copy of every table of a results folder (for a spreadsheet or R)",
        description="Write timeseries.csv, summary.csv (one row per run) and a CSV copy of every other "
        "table into a results folder, beside its Parquet files.",
    )
    export.add_argument("results_dir", metavar="RESULTS_DIR", help="a folder written by `newpower run`")
    _format_argument(export, "the format to write (csv)", default="csv", choices=("csv",))
    export.set_defaults(handler=cmd_export)

    animate = sub.add_parser(
        "animate", help="write a GIF (and MP4 with ffmpeg) of the network and the compass"
    )
    animate.add_argument("results_dir", metavar="RESULTS_DIR", help="a folder written by `newpower run`")
    animate.add_argument("--fps", type=float, default=4.0, help="frames per second (default 4)")
    animate.add_argument("--no-mp4", action="store_true", help="write the GIF only, even if ffmpeg exists")
    animate.set_defaults(handler=cmd_animate)

    audit = sub.add_parser(
        "audit",
        help="audit your power: every organization on the compass, then and now",
        description="Run a scenario and audit every organization: compass position at "
        "the start and the end, quadrant, trend, behaviours it enables.",
    )
    _scenario_arguments(audit)
    _output_arguments(audit)
    audit.set_defaults(handler=cmd_audit)

    listing = sub.add_parser("list", help="list scenarios, strategies, shocks and metrics")
    listing.add_argument(
        "--scenarios",
        default=None,
        metavar="DIR",
        help="folder of scenario files (default: ./scenarios, else the package's)",
    )
    listing.add_argument(
        "--verbose", "-v", action="store_true", help="also list each strategy's and shock's parameters"
    )
    listing.set_defaults(handler=cmd_list)
    from sim.faces.cli import calibrate as cli_calibrate
    from sim.faces.cli import classroom as cli_classroom
    from sim.faces.cli import research as cli_research
    from sim.faces.cli import ui as cli_ui
    from sim.faces.cli import validate as cli_validate

    cli_research.register(sub)
    cli_calibrate.register(sub)
    cli_ui.register(sub)
    cli_classroom.register(sub)
    cli_validate.register(sub)
    return parser


def _scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario TOML file (see scenarios/ and `newpower list`)")
    parser.add_argument("--seed", type=int, default=None, help="root random seed (default: the scenario's)")
    parser.add_argument("--steps", type=int, default=None, help="steps (default: the scenario's)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. --set network.n=2000 (repeatable)",
    )
    parser.add_argument(
        "--driver",
        type=_driver,
        default="vectorized",
        help="vectorized (default) or agents (the per-agent reference)",
    )
    parser.add_argument(
        "--allow-code",
        action="store_true",
        help="allow the scenario to name strategies by import path (module:Class): runs that module's code",
    )
    knockouts.knockout_argument(parser)


def _format_argument(
    parser: argparse.ArgumentParser,
    text: str,
    default: str = "parquet",
    choices: tuple[str, ...] = ("parquet", "csv"),
) -> None:
    parser.add_argument("--format", default=default, choices=choices, help=f"{text} (default: {default})")


def _driver(value: str) -> str:
    """``--driver``: checked on use, so that ``newpower --help`` does not load the model."""
    from sim.model.power_model import DRIVERS

    if value not in DRIVERS:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {value!r} (choose from {', '.join(map(repr, DRIVERS))})"
        )
    return value


def _output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="results folder (default: results/<scenario>-<YYYYmmdd-HHMMSS>)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the results in an existing --out folder"
    )
    _svg_argument(parser)


def _svg_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--svg", action="store_true", help="also write every figure as SVG (a second render; PNG always)"
    )


# ------------------------------------------------------------------ run


def cmd_run(args: argparse.Namespace) -> int:
    """``newpower run``: run a scenario R times, save a results folder, tell what happened."""
    from sim.figures.story import story_text
    from sim.runs.runner import check_count
    from sim.storage.results import load_results

    scenario, seed, steps = _resolve(args)
    replications = check_count(
        "replications",
        scenario.replications if args.replications is None else args.replications,
        "--replications",
    )
    with progress_bar(replications * steps, scenario.name, args.progress) as bar:
        folder = _write(
            args,
            scenario,
            seed,
            steps,
            replications=replications,
            network_steps=args.network_steps,
            figures=args.figures,
            formats=("parquet", args.format),
            progress=bar.step,
            stage=bar.stage,
        )
    saved = load_results(folder)
    print(story_text(saved))
    print()
    _print_outputs(folder, saved.manifest)
    return 0


def _resolve(args: argparse.Namespace) -> tuple[Scenario, int, int]:
    """The scenario with overrides, the root seed and the steps, all checked before anything runs."""
    from sim.runs.runner import check_count

    scenario = _load(args)
    seed = check_count("seed", scenario.seed if args.seed is None else args.seed, "--seed")
    steps = check_count("steps", scenario.steps if args.steps is None else args.steps, "--steps")
    return scenario, seed, steps


def _load(args: argparse.Namespace) -> Scenario:
    """Load and check the scenario; ``--allow-code`` lets it import strategies by module path."""
    return knockouts.load_with_knockouts(args, parse_overrides(args.overrides))


def _write(args: argparse.Namespace, scenario: Scenario, seed: int, steps: int, **options: Any) -> Path:
    """Write the results folder of ``run`` or ``audit`` (:func:`sim.runs.folder.write_results`)."""
    from sim.runs.folder import command_line, write_results

    record = {"command": command_line(args.argv), "overrides": parse_overrides(args.overrides)}
    return write_results(
        scenario,
        out=args.out,
        force=args.force,
        seed=seed,
        steps=steps,
        driver=args.driver,
        record=record,
        notify=_note,
        svg=args.svg,
        **options,
    )


def _note(text: str) -> None:
    print(f"newpower: note: {text}", file=sys.stderr)


class Progress(NamedTuple):
    """What a progress display is told: a step is done, or a slow part (saving, layout, a figure) starts."""

    step: Callable[[int], None]
    stage: Callable[[str], None]


@contextlib.contextmanager
def progress_bar(total: int, label: str, enabled: bool | None) -> Iterator[Progress]:
    """A tqdm bar on stderr over ``total`` steps, then naming each slow part; on a terminal or when forced.

    Yields:
        Callbacks that advance the bar by one step, and that name the part being written.
    """
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    with tqdm(
        total=total,
        desc=label,
        unit="step",
        file=sys.stderr,
        disable=not show,
        dynamic_ncols=True,
        leave=False,
    ) as bar:
        yield Progress(
            step=lambda _step: bar.update(1),
            stage=lambda text: bar.set_description_str(f"{label}: {text}", refresh=True),
        )


def _print_outputs(folder: Path, manifest: dict[str, Any]) -> None:
    print(f"Results in {folder}  ({manifest['wall_time_s']:.1f} s)")
    stems = list(dict.fromkeys(Path(p).stem for p in manifest.get("figures", [])))
    if stems:
        print(
            f"Figures in {folder / 'figures'} ({_suffixes(manifest.get('figures', []))}): {', '.join(stems)}"
        )


def _suffixes(paths: Sequence[str | Path]) -> str:
    """``".png and .svg"``: the kinds of figure files written."""
    return " and ".join(dict.fromkeys(sorted(Path(p).suffix for p in paths)))


# ------------------------------------------------------------------ plot, animate


def cmd_plot(args: argparse.Namespace) -> int:
    """``newpower plot``: redraw every figure, and ``summary.md``, from a results folder's files alone."""
    from sim.figures.plotting import draw_all
    from sim.figures.story import write_summary
    from sim.storage.results import load_results, refresh_manifest
    from sim.storage.sweep_store import is_sweep_dir

    if is_sweep_dir(args.results_dir):  # a sweep: response curves with 95% bands
        from sim.figures.sweep import plot_sweep

        for path in plot_sweep(args.results_dir):
            print(f"figure: {path}")
        return 0

    results = load_results(args.results_dir)
    figures = draw_all(results, args.network_steps, svg=args.svg)
    summary = write_summary(results)
    refresh_manifest(results)
    stems = list(dict.fromkeys(p.stem for p in figures))
    print(
        f"Redrew {len(stems)} figures in {results.folder / 'figures'} ({_suffixes(figures)}): {', '.join(stems)}"
    )
    print(f"Rewrote {summary}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``newpower export``: a CSV copy of every table of a results folder."""
    from sim.runs.folder import export_csv
    from sim.storage.results import load_results, refresh_manifest

    results = load_results(args.results_dir)
    paths = export_csv(results)
    refresh_manifest(results)
    print(f"Wrote {len(paths)} CSV files in {results.folder}: {', '.join(p.name for p in paths)}")
    return 0


def cmd_animate(args: argparse.Namespace) -> int:
    """``newpower animate``: a GIF (and MP4 where ffmpeg exists) of the network and the compass."""
    from sim.figures.animate import write_animation
    from sim.storage.results import load_results

    results = load_results(args.results_dir)
    paths, notes = write_animation(results, fps=args.fps, mp4=not args.no_mp4)
    for path in paths:
        print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    for note in notes:
        print(note)
    return 0


# ------------------------------------------------------------------ audit


def cmd_audit(args: argparse.Namespace) -> int:
    """``newpower audit``: run a scenario; every organization's compass position, trend and behaviours."""
    from sim.figures import audit
    from sim.storage.results import load_results

    scenario, seed, steps = _resolve(args)
    if not scenario.organizations:
        raise ScenarioError(
            "no organizations to audit",
            source=str(args.scenario),
            key="organizations",
            allowed="a scenario with at least one [[organizations]] table",
        )
    folder = _write(args, scenario, seed, steps, kind="audit")
    saved = load_results(folder)
    print(
        f"Audit your power: {scenario.name} (seed {seed}): every organization today (step 0) and at the "
        f"end of the run (step {steps}); compass position as (values, model), quadrants split at 0.5"
    )
    print()
    print(audit.format_table(audit.audit_rows(saved)))
    print()
    _print_outputs(folder, saved.manifest)
    return 0


# ------------------------------------------------------------------ list


def cmd_list(args: argparse.Namespace) -> int:
    """``newpower list``: scenarios, strategies, shocks and metrics, one line each."""
    from sim.config.spec import describe
    from sim.model.metrics import REPORTER_DOCS, SUMMARY_MEASURES
    from sim.model.rules import MECHANISMS
    from sim.model.shocks import SHOCKS
    from sim.model.strategies import STRATEGIES

    folder = Path(args.scenarios) if args.scenarios else _scenario_folder()
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if args.scenarios and not folder.is_dir():
        raise SimError(f"{folder}: no such folder; allowed: a folder of scenario .toml files")
    _section(f"Scenarios ({folder})", [(p.name, _description(p)) for p in files])
    _section(
        "Strategies ([[organizations]] strategy = NAME)",
        [(name, cls.summary) for name, cls in sorted(STRATEGIES.items())],
        {name: describe(cls) for name, cls in STRATEGIES.items()} if args.verbose else None,
    )
    _section(
        "Shocks ([[shocks]] kind = NAME)",
        [(kind, cls.summary) for kind, cls in sorted(SHOCKS.items())],
        {kind: describe(cls) for kind, cls in SHOCKS.items()} if args.verbose else None,
    )
    _section(
        "Knock-outs ([dynamics] knockout = [NAME, ...], --knockout NAME)",
        [(name, f"{m.doc} (docs/ODD.md {m.odd})") for name, m in MECHANISMS.items()],
    )
    _section("Metrics per run (summary.json)", list(SUMMARY_MEASURES.items()))
    _section("Metrics per step (timeseries.parquet)", list(REPORTER_DOCS.items()))
    if not args.verbose:
        print("(`newpower list -v` also lists every strategy's and shock's parameters)")
    return 0


def _scenario_folder() -> Path:
    here = Path("scenarios")
    return here if here.is_dir() else LIBRARY


def _description(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return str(tomllib.load(fh).get("description", "")) or "(no description)"
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return f"(unreadable: {exc})"


def _section(title: str, rows: list[tuple[str, str]], params: dict[str, list] | None = None) -> None:
    print(f"{title}:")
    if not rows:
        print("  (none)")
    width = max((len(name) for name, _ in rows), default=0)
    for name, doc in rows:
        print(f"  {name:<{width}}  {doc}")
        for pname, default, allowed, pdoc in (params or {}).get(name, []):
            print(f"  {'':<{width}}    {pname} = {default!r} ({allowed}): {pdoc}")
    print()


# ------------------------------------------------------------------ entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newpower`` console command."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except SimError as exc:
        return _fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print(
            "newpower: interrupted (a results folder is moved into place only when complete: "
            "earlier results are as they were)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def _fail(message: str) -> int:
    print(f"newpower: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
