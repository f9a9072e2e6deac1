"""A class's results folder: the run as ``newpower run`` writes it, plus the class's own tables.

The model's run goes through the same transaction as ``newpower run`` (``sim.runs.folder.write_results``:
staged beside its final place, moved in complete, never overwriting), with these added:

* ``class_rounds.parquet``: every student's every round (what they saw, chose and did, judged
  against the threshold rule); ``class_students.parquet``: one row per student;
  ``class_trajectory.parquet``: the class against the simulated crowd per step;
* ``class_security.parquet``: the security log (refused requests; never a token or rejoin code);
* ``figures/class_debrief.png`` and a "Class mode" section at the end of ``summary.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.model import metrics
from sim.runs.folder import write_results
from sim.runs.runner import RunResult
from sim.storage.files import atomic_write, write_parquet
from sim.storage.results import FIGURES, SUMMARY_MD, Results

if TYPE_CHECKING:
    from sim.faces.classroom.session import Classroom

ROUNDS = "class_rounds.parquet"
STUDENTS = "class_students.parquet"
TRAJECTORY = "class_trajectory.parquet"
SECURITY = "class_security.parquet"
FIGURE = "class_debrief"


def write_class_results(
    room: Classroom, out: Path | str | None = None, *, base: Path | str = "results"
) -> Path:
    """Write the class's results folder (call under the Classroom's lock); returns where it went."""
    model = room.model
    frame = metrics.timeseries(model)
    run = RunResult(
        frame,
        metrics.summarize(model, frame),
        room.scenario,
        room.seed,
        model.driver,
        model,
        dict(room.snapshots),
        pd.DataFrame(model.campaigns),
        pd.DataFrame(model.events),
    )
    told = room.debrief()
    record = {
        "command": "newpower class",
        "class": {
            "placement": room.placement.value,
            "students": len(room.students()),
            "rounds": room.round,
            "security_events": len(room.log),
        },
    }

    def extra(saved: Results) -> dict[str, Any]:
        return write_class_tables(saved, room, told)

    return write_results(room.scenario, [run], out=out, seed=room.seed, base=base, record=record, extra=extra)


def write_class_tables(saved: Results, room: Classroom, told) -> dict[str, Any]:
    """The class's tables, figure and summary section, into a staged results folder."""
    folder = saved.folder
    write_parquet(told.choices, folder / ROUNDS)
    write_parquet(told.students, folder / STUDENTS)
    write_parquet(told.trajectory, folder / TRAJECTORY)
    log = pd.DataFrame([vars(e) for e in room.log], columns=["time", "round", "event", "detail"])
    write_parquet(log, folder / SECURITY)
    from sim.figures.classroom import debrief_figure
    from sim.figures.plotting import save_figure

    (folder / FIGURES).mkdir(exist_ok=True)
    save_figure(debrief_figure(saved, told.trajectory, told.students), folder / FIGURES / FIGURE)
    story = (folder / SUMMARY_MD).read_text(encoding="utf-8")
    section = "\n## Class mode\n\n" + "\n".join(f"- {line}" for line in told.words()) + "\n"
    section += f"- {len(room.log)} refused requests were logged ({SECURITY}).\n"
    atomic_write(folder / SUMMARY_MD, lambda tmp: tmp.write_text(story + section, encoding="utf-8"))
    return {"class_files": [ROUNDS, STUDENTS, TRAJECTORY, SECURITY, f"{FIGURES}/{FIGURE}.png"]}
