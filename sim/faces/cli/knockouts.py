"""``--knockout NAME``: the command-line side of knock-outs (``[dynamics] knockout``, ``rules.MECHANISMS``).

Shared by ``newpower run`` and the research commands, so that a knock-out given on the command
line is added to the scenario's own in one place.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.config.scenario import Scenario


def knockout_argument(parser: argparse.ArgumentParser) -> None:
    """``--knockout NAME`` (repeatable): switch a mechanism off, besides the scenario's own knock-outs."""
    parser.add_argument(
        "--knockout",
        action="append",
        default=[],
        metavar="NAME",
        help="switch a mechanism off, e.g. --knockout exit_contagion (repeatable; `newpower list` names them)",
    )


def load_with_knockouts(args: argparse.Namespace, overrides: dict[str, Any]) -> Scenario:
    """Load and check the scenario with ``overrides``, adding ``--knockout`` to its ``[dynamics] knockout``."""
    from sim.model.catalog import load_scenario  # the model's names (imported here: --help stays light)

    scenario = load_scenario(args.scenario, overrides=overrides, allow_code=args.allow_code)
    if not args.knockout:
        return scenario
    knockout = [*scenario.dynamics.knockout, *args.knockout]
    return load_scenario(
        args.scenario, overrides={**overrides, "dynamics.knockout": knockout}, allow_code=args.allow_code
    )
