"""The debrief: what the class did, against the simulated crowd, and whether peers moved them.

Three readings of a class session (issue 15), from the Classroom's records and the model's own
measures:

* **trajectory**: per step, the mean level and the active share of the students' participants
  against the simulated crowd's (everyone else);
* **students**: for each student, how their own climbs relate to the threshold rule the
  simulated participants follow (Granovetter 1978): a climb *with peers* when the share of
  neighbours above one's level had reached one's threshold, a climb *alone* when it had not, and
  *held back* when it had but the student stayed or slipped;
* **cascade**: the largest desertion cascade (``metrics.Turnover.cascades``, the model's own
  measure) that ran through students' participants, and who was in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.model import metrics
from sim.vocabulary import ACTIVE_LEVEL

if TYPE_CHECKING:
    from sim.faces.classroom.session import Classroom

#: Per student, the counts of the debrief table.
STUDENT_COLUMNS = (
    "student_id",
    "nickname",
    "participant",
    "rounds",
    "answered",
    "climbs",
    "climbs_with_peers",
    "climbs_alone",
    "held_back",
    "leaves",
)


@dataclass(frozen=True)
class Debrief:
    """A class session read back.

    Attributes:
        trajectory: per step: ``class_mean_level``, ``crowd_mean_level``, ``class_active``, ``crowd_active``
            (the class: every participant ever given to a student, at every step, so the class's
            line and the crowd's are the same people throughout).
        choices: every student's every round (the Classroom's rows), with ``above_share``,
            ``climbed``, ``with_peers`` (climbed when neighbours above had reached the threshold),
            ``alone`` and ``held_back``.
        students: one row per student (:data:`STUDENT_COLUMNS`).
        cascade: the largest desertion cascade through students: ``size``, ``students`` (how many),
            ``nicknames``, ``organization``; ``size`` 0 if none ran through them.
    """

    trajectory: pd.DataFrame
    choices: pd.DataFrame
    students: pd.DataFrame
    cascade: dict[str, Any]

    def words(self) -> list[str]:
        """The debrief in a few sentences, for the teacher's view and ``summary.md``."""
        out = []
        if len(self.trajectory):
            last = self.trajectory.iloc[-1]
            out.append(
                f"At the end (step {int(last['step'])}), {last['class_active']:.0%} of the class were active "
                f"against {last['crowd_active']:.0%} of the simulated crowd."
            )
        own = self.choices[self.choices["choice"] != ""] if len(self.choices) else self.choices
        climbs = int(own["climbed"].sum()) if len(own) else 0
        if climbs:
            peers = int(own["with_peers"].sum())
            out.append(
                f"Students climbed {climbs} times by their own choice; {peers} of those climbs came after "
                f"enough neighbours were above them (the threshold rule), {climbs - peers} before."
            )
        held = int(own["held_back"].sum()) if len(own) else 0
        if held:
            out.append(f"{held} times a student held back although enough neighbours were above them.")
        c = self.cascade
        if c["size"]:
            out.append(
                f"The largest desertion cascade through the class left {c['organization']}: {c['size']} people, "
                f"{c['students']} of them students ({', '.join(c['nicknames'])})."
            )
        else:
            out.append("No desertion cascade ran through the class.")
        return out


def debrief(room: Classroom) -> Debrief:
    """Read a Classroom's session (call under its lock)."""
    class_of = {s.participant: s for s in room.students()}
    choices = judged(pd.DataFrame(room.rounds, columns=ROUND_COLUMNS))
    return Debrief(
        trajectory=trajectory(room.snapshots, np.array(sorted(class_of), dtype=np.int64)),
        choices=choices,
        students=per_student(room.students(), choices),
        cascade=largest_cascade(room.model, {p: s.nickname for p, s in class_of.items()}),
    )


#: The Classroom's per-round rows (``Classroom.rounds``).
ROUND_COLUMNS = (
    "round",
    "step",
    "student_id",
    "nickname",
    "participant",
    "choice",
    "level_before",
    "group_before",
    "threshold",
    "degree",
    "neighbours_above",
    "neighbours_climbed",
    "level_after",
    "group_after",
)


def judged(rows: pd.DataFrame) -> pd.DataFrame:
    """The rounds, each judged against the threshold rule: did the student climb with peers, alone, or hold back?"""
    rows = rows.copy()
    above = rows["neighbours_above"] / rows["degree"].clip(lower=1)
    rows["above_share"] = above.astype(float)
    rows["climbed"] = rows["level_after"] > rows["level_before"]
    enough = rows["above_share"] >= rows["threshold"]
    rows["with_peers"] = rows["climbed"] & enough
    rows["alone"] = rows["climbed"] & ~enough
    rows["held_back"] = ~rows["climbed"] & enough & rows["choice"].isin(["stay", "slip"])
    return rows


def per_student(students, choices: pd.DataFrame) -> pd.DataFrame:
    """One row per student: rounds present and answered, their own climbs judged, their leaves."""
    records = []
    for s in students:
        mine = choices[choices["student_id"] == s.student_id]
        own = mine[mine["choice"] != ""]
        records.append(
            {
                "student_id": s.student_id,
                "nickname": s.nickname,
                "participant": s.participant,
                "rounds": len(mine),
                "answered": len(own),
                "climbs": int(own["climbed"].sum()),
                "climbs_with_peers": int(own["with_peers"].sum()),
                "climbs_alone": int(own["alone"].sum()),
                "held_back": int(own["held_back"].sum()),
                "leaves": int(own["choice"].isin(["leave", "join_rival"]).sum()),
            }
        )
    return pd.DataFrame(records, columns=STUDENT_COLUMNS)


def trajectory(snapshots: dict[int, dict[str, np.ndarray]], students: np.ndarray) -> pd.DataFrame:
    """Per step: the students' participants' mean level and active share, against everyone else's."""
    rows = []
    for step in sorted(snapshots):
        level = snapshots[step]["level"]
        crowd = np.ones(level.size, dtype=bool)
        crowd[students] = False
        mine = level[students]
        rows.append(
            {
                "step": step,
                "class_mean_level": float(mine.mean()) if mine.size else float("nan"),
                "crowd_mean_level": float(level[crowd].mean()),
                "class_active": float((mine >= ACTIVE_LEVEL).mean()) if mine.size else float("nan"),
                "crowd_active": float((level[crowd] >= ACTIVE_LEVEL).mean()),
            }
        )
    return pd.DataFrame(rows)


def largest_cascade(model, nicknames: dict[int, str]) -> dict[str, Any]:
    """The largest desertion cascade (the model's own measure) holding at least one student's participant."""
    students = np.array(sorted(nicknames), dtype=np.int64)
    for who, group in model.cascades.cascades(metrics.desertion_window(model)):
        inside = np.intersect1d(who, students)
        if inside.size:
            org = model.organization_of_group(group)
            return {
                "size": int(who.size),
                "students": int(inside.size),
                "nicknames": [nicknames[int(i)] for i in inside],
                "organization": org.name if org else "",
            }
    return {"size": 0, "students": 0, "nicknames": [], "organization": ""}
