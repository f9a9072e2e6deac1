"""The class-mode debrief figure: the class against the simulated crowd, and how peers moved students.

Drawn from the tables a class's results folder holds (``class_trajectory.parquet``,
``class_students.parquet``), never from a live model.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sim.figures.style import LEVEL_COLOURS, base_figure
from sim.storage.results import Results

CLASS_COLOUR = "#d95f02"
CROWD_COLOUR = "#555555"


def debrief_figure(results: Results, trajectory: pd.DataFrame, students: pd.DataFrame) -> Figure:
    """Left: active share of the class and of the crowd per step. Right: each student's climbs,
    with peers (the threshold rule) or alone, and the times they held back."""
    fig = base_figure(results, "The class against the crowd", (12.0, 5.2))
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    left.plot(trajectory["step"], trajectory["class_active"], color=CLASS_COLOUR, lw=2.2, label="the class")
    left.plot(
        trajectory["step"],
        trajectory["crowd_active"],
        color=CROWD_COLOUR,
        lw=1.6,
        label="the simulated crowd",
    )
    left.set_ylim(0, 1)
    left.set_xlabel("step")
    left.set_ylabel("share active (sharing or above)")
    left.legend(frameon=False, loc="upper left")
    left.grid(alpha=0.3)
    if len(students):
        order = students.sort_values(["climbs", "nickname"], ascending=[True, True])
        y = range(len(order))
        right.barh(y, order["climbs_with_peers"], color=LEVEL_COLOURS[3], label="climbed with peers")
        right.barh(
            y,
            order["climbs_alone"],
            left=order["climbs_with_peers"],
            color=LEVEL_COLOURS[1],
            label="climbed alone",
        )
        right.barh(
            y,
            order["held_back"],
            left=order["climbs_with_peers"] + order["climbs_alone"],
            color="#dddddd",
            hatch="//",
            label="held back",
        )
        right.set_yticks(list(y), [str(n) for n in order["nickname"]], fontsize=8 if len(order) > 25 else 10)
        right.legend(frameon=False, loc="lower right")
    else:
        right.text(0.5, 0.5, "no students", ha="center", va="center", transform=right.transAxes)
    right.set_xlabel("rounds")
    right.set_title("did peers move them? (threshold rule)", fontsize=11)
    return fig
