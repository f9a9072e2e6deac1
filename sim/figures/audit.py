"""Audit your power (Heimans & Timms 2014), from a saved run.

    "Plot your organization on the new power compass -- both where you are
    today and where you want to be in five years. Plot your competitors on the
    same grid ... consider which participation behaviors you are enabling."

For every organization: its compass position (values, model) at the first and
last step of the run, the quadrant of each, the direction it is moving in,
its community then and now, and the participation behaviours its model
enables (the levels up to its ``max_level``). Read from saved results only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from sim.storage.results import Results
from sim.vocabulary import Level, Quadrant

#: A move shorter than this (on the unit compass) is "steady".
STEADY = 0.02
#: A move whose smaller component is under tan(22.5 deg) of the larger counts as along one axis.
AXIS_SLOPE = math.tan(math.radians(22.5))


def behaviour_name(level: Level) -> str:
    """A level named as in the article's participation scale: ``"co-owning"``."""
    return level.name.lower().replace("_", "-")


def behaviours(max_level: str) -> list[str]:
    """The participation behaviours a model enables: every level up to ``max_level``."""
    top = Level.parse(max_level)
    return [behaviour_name(lv) for lv in Level if lv <= top]


def trend(start: tuple[float, float], end: tuple[float, float], steady: float = STEADY) -> str:
    """Where an organization is heading on the compass, e.g. ``"toward Crowd"`` or ``"steady"``.

    Args:
        start: (values, model) at the first step.
        end: (values, model) at the last step.
        steady: moves shorter than this are ``"steady"``.

    Returns:
        ``"steady"``, or ``"toward <quadrant>"``: the quadrant the move leads
        into if it goes on (a move along one axis keeps the other coordinate).
    """
    dx, dy = end[0] - start[0], end[1] - start[1]
    if math.hypot(dx, dy) < steady:
        return "steady"
    x = end[0] if abs(dx) < AXIS_SLOPE * abs(dy) else (1.0 if dx > 0 else 0.0)
    y = end[1] if abs(dy) < AXIS_SLOPE * abs(dx) else (1.0 if dy > 0 else 0.0)
    return f"toward {Quadrant.of(openness=y, values=x).value}"


@dataclass(frozen=True)
class AuditRow:
    """One organization's audit."""

    organization: str
    kind: str
    start_step: int
    start_values: float
    start_model: float
    start_quadrant: str
    end_step: int
    end_values: float
    end_model: float
    end_quadrant: str
    trend: str
    distance: float
    start_members: int
    end_members: int
    enables: str
    enables_at_start: str


def audit_rows(results: Results) -> list[AuditRow]:
    """Audit every organization of the first run of a results folder."""
    run = results.first_run()
    rows = []
    for name in results.organizations:
        cols = [f"{name}.{m}" for m in ("values", "openness", "quadrant", "max_level", "members")]
        present = run[["step", *cols]].dropna(subset=cols[:2])
        if present.empty:
            continue
        first, last = present.iloc[0], present.iloc[-1]
        start = (float(first[cols[0]]), float(first[cols[1]]))
        end = (float(last[cols[0]]), float(last[cols[1]]))
        rows.append(
            AuditRow(
                organization=name,
                kind=results.organization_kind(name),
                start_step=int(first["step"]),
                start_values=start[0],
                start_model=start[1],
                start_quadrant=str(first[cols[2]]),
                end_step=int(last["step"]),
                end_values=end[0],
                end_model=end[1],
                end_quadrant=str(last[cols[2]]),
                trend=trend(start, end),
                distance=math.hypot(end[0] - start[0], end[1] - start[1]),
                start_members=int(first[cols[4]]),
                end_members=int(last[cols[4]]),
                enables=", ".join(behaviours(str(last[cols[3]]))),
                enables_at_start=", ".join(behaviours(str(first[cols[3]]))),
            )
        )
    return rows


def audit_frame(rows: list[AuditRow]) -> pd.DataFrame:
    """The audit as a table (one row per organization), for CSV."""
    return pd.DataFrame([asdict(r) for r in rows])


def format_table(rows: list[AuditRow]) -> str:
    """The audit as a plain-text table."""
    header = (
        "organization",
        "kind",
        "start (values, model)",
        "end (values, model)",
        "trend",
        "members",
        "enables (participation behaviours)",
    )
    lines = []
    for r in rows:
        enables = r.enables if r.enables == r.enables_at_start else f"{r.enables} (was: {r.enables_at_start})"
        lines.append(
            (
                r.organization,
                r.kind or "-",
                f"{r.start_values:.2f}, {r.start_model:.2f}  {r.start_quadrant}",
                f"{r.end_values:.2f}, {r.end_model:.2f}  {r.end_quadrant}",
                r.trend,
                f"{r.start_members:,} -> {r.end_members:,}",
                enables,
            )
        )
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header) - 1)]
    out = []
    for row in [header, *lines]:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)]
        out.append("  ".join([*cells, row[-1]]))
    return "\n".join(line.rstrip() for line in out)
