"""The ``newpower`` command line.

Each sub-command is one small function; user mistakes (a missing file, a bad
key or value, a bad override) print one clear message and exit with code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Sequence
from typing import Any

from . import __version__
from .errors import ScenarioError, SimError
from .model import DRIVERS
from .scenario import load_scenario

EXIT_USAGE = 2


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``["network.n=500", "organizations.Gazette.openness=0.4"]`` into a dict.

    Values are read as TOML values (numbers, booleans, quoted strings); anything
    that is not valid TOML is taken as a plain string.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError("an override must look like key=value", source="--set", key=item,
                                allowed="e.g. --set network.mean_degree=3.5")
        try:
            out[key] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = text.strip()
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="newpower",
        description="Old power vs new power: an agent-based model after Heimans & Timms (HBR 2014).")
    parser.add_argument("--version", action="version", version=f"newpower {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and print its summary")
    run.add_argument("scenario", help="scenario TOML file (see scenarios/)")
    run.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    run.add_argument("--steps", type=int, default=None, help="steps (default: the scenario's)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario value, e.g. --set network.n=2000 (repeatable)")
    run.add_argument("--driver", choices=DRIVERS, default="vectorized",
                     help="vectorized (default) or agents (the per-agent reference)")
    run.set_defaults(handler=cmd_run)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    """``newpower run``: run one scenario and print its headline measures."""
    from .runner import run

    scenario = load_scenario(args.scenario, overrides=parse_overrides(args.overrides))
    result = run(scenario, seed=args.seed, steps=args.steps, driver=args.driver)
    print(f"{scenario.name}: {scenario.description}")
    print(f"seed {result.seed}, {result.summary['steps']} steps, "
          f"{result.summary['n_participants']} participants, driver {result.driver}")
    width = max(len(k) for k in result.summary)
    for key, value in result.summary.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newpower`` console command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except SimError as exc:
        print(f"newpower: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
