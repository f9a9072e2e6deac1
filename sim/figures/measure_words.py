"""Headline measures in words: a plain name, a unit, and how a value is written.

The keys are those of a run's summary (``summary.json``, ``newpower list``): population measures
(``peak_active_fraction``) and organization measures (``<org>.desertion_share``). A measure this
table does not know (the model may add some) keeps its key as its name and has no unit, so
nothing here needs to change when the model reports more.

Numbers are written plainly: thousands separators for large ones, three significant digits
for fractions, never scientific notation for an ordinary value; shares as percentages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Words:
    """How one measure reads.

    Attributes:
        name: a plain name (``"share of its peak community lost"``).
        unit: the unit written after the value (``"steps"``), or ``""``.
        share: a share in [0, 1], written as a percentage.
        bounds: the range the measure's values can take (for intervals kept inside it).
    """

    name: str
    unit: str = ""
    share: bool = False
    bounds: tuple[float, float] = (-math.inf, math.inf)


COUNT = (0.0, math.inf)
UNIT = (0.0, 1.0)

#: Population measures.
POPULATION = {
    "n_participants": Words("participants", "participants", bounds=COUNT),
    "steps": Words("steps run", "steps", bounds=COUNT),
    "final_active_fraction": Words("active at the end (sharing or above)", "of participants", True, UNIT),
    "peak_active_fraction": Words("active at the surge peak", "of participants", True, UNIT),
    "peak_step": Words("step of the surge peak", "", bounds=COUNT),
    "half_life": Words("steps for the surge to fade halfway", "steps", bounds=COUNT),
    "largest_desertion_cascade": Words("largest desertion cascade", "participants", bounds=COUNT),
}
#: Organization measures, by the part after ``<org>.``.
ORGANIZATION = {
    "peak_members": Words("largest community", "members", bounds=COUNT),
    "final_members": Words("community at the end", "members", bounds=COUNT),
    "desertion_share": Words("share of its peak community lost", "of its peak community", True, UNIT),
    "final_openness": Words("model at the end (compass, 0 old to 1 new)", "", bounds=UNIT),
    "final_values": Words("values at the end (compass, 0 old to 1 new)", "", bounds=UNIT),
    "final_quadrant": Words("quadrant at the end"),
    "final_stock": Words("old-power stock at the end", "stock units", bounds=COUNT),
    "final_current": Words("new-power current at the end (0 to 1)", "", bounds=UNIT),
    "final_legitimacy": Words("legitimacy at the end (0 to 1)", "", bounds=UNIT),
}


def words(measure: str) -> Words:
    """How a summary measure reads (its key as its name when it is not known)."""
    if measure in POPULATION:
        return POPULATION[measure]
    org, _, part = measure.rpartition(".")
    if org and part in ORGANIZATION:
        known = ORGANIZATION[part]
        return Words(f"{org}: {known.name}", known.unit, known.share, known.bounds)
    return Words(measure)


def plain_name(measure: str) -> str:
    """A measure's plain name, e.g. ``"Uber: share of its peak community lost"``."""
    return words(measure).name


def axis_label(measure: str) -> str:
    """A y-axis label: the plain name, with ``(%)`` for a share."""
    w = words(measure)
    part = w.name.split(": ", 1)[-1]
    return f"{part} (%)" if w.share else part + (f" ({w.unit})" if w.unit else "")


def number(value: Any, share: bool = False) -> str:
    """A value written plainly: ``"1,234"``, ``"0.0184"``, ``"45.2%"``, ``"n/a"`` for a missing one.

    Args:
        value: a number (or text, returned as it is).
        share: write a share in [0, 1] as a percentage.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "n/a"
    if share:
        return _plain(x * 100, decimals=1) + "%"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return _plain(x)


def _plain(x: float, decimals: int | None = None) -> str:
    """Positional notation: whole numbers above 1,000, else three significant digits (or ``decimals``)."""
    if math.isinf(x):
        return "infinite" if x > 0 else "minus infinite"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if decimals is not None and (x == 0 or abs(x) >= 10 ** (-decimals)):
        return f"{x:.{decimals}f}"
    if x == 0:
        return "0"
    if abs(x) < 1e-9:  # not an ordinary value: the float's own rounding error, or close to it
        return f"{x:.1e}"
    return np.format_float_positional(x, precision=3, unique=False, fractional=False, trim="-")
