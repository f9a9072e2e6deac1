"""The table of a run's headline measures: value and unit, and with several runs the mean and an interval.

Read from the saved summary (``summary.json``: one row of measures per run). With one run a
row is the value. With several runs a row is the mean over runs with a 95% interval, shown only
where the runs differ (a measure that is the same in every run, the number of participants for
one, gets no interval). The interval of a share (a value in [0, 1]) is a percentile bootstrap
over runs (:func:`sim.stats.bootstrap_interval`, SciPy's), which never leaves the range of the values the runs took and so stays within
[0, 1]; every other interval is the t-interval of :mod:`sim.stats`, cut at the measure's natural
bounds (a count is never below 0). Text measures (a final quadrant) count the runs per value.
docs/results.md says why.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sim.figures.measure_words import number, words
from sim.stats import CONFIDENCE, bootstrap_interval, interval

#: Keys of a summary row that identify the run rather than measure it.
IDENTITY = ("run", "seed")


@dataclass(frozen=True)
class Row:
    """One line of the table, already written as text."""

    measure: str
    value: str
    unit: str
    interval: str


def measure_rows(runs: Sequence[dict[str, Any]]) -> list[Row]:
    """The table's rows from the runs' summaries (``summary.json``'s ``runs``), in their order."""
    keys = list(dict.fromkeys(k for run in runs for k in run if k not in IDENTITY))
    return [_row(key, [run.get(key) for run in runs]) for key in keys]


def _row(key: str, values: list[Any]) -> Row:
    w = words(key)
    numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numeric) < len([v for v in values if v is not None]):  # text: count the runs per value
        return Row(key, _counts(values), w.unit, "")
    if len(values) == 1:
        return Row(key, number(values[0], w.share), w.unit, "")
    stats = interval(numeric)
    finite = [v for v in numeric if math.isfinite(v)]
    if len(set(finite)) <= 1:
        same = (
            "same in every run"
            if len(finite) == len(values)
            else f"defined in {len(finite)} of {len(values)} runs"
        )
        return Row(key, number(stats["mean"], w.share), w.unit, f"({same})")
    low, high = bootstrap_interval(finite) if w.share else (stats["ci_low"], stats["ci_high"])
    low, high = max(low, w.bounds[0]), min(high, w.bounds[1])
    note = "" if len(finite) == len(values) else f" ({len(finite)} of {len(values)} runs)"
    return Row(
        key,
        number(stats["mean"], w.share),
        w.unit,
        f"[{number(low, w.share)}, {number(high, w.share)}]{note}",
    )


def _counts(values: list[Any]) -> str:
    ranked = Counter("n/a" if v is None else str(v) for v in values).most_common()
    if len(ranked) == 1 and len(values) > 1:
        return f"{ranked[0][0]} (every run)"
    return ", ".join(
        f"{value} ({count} of {len(values)})" if len(values) > 1 else value for value, count in ranked
    )


def table_text(rows: Sequence[Row], n_runs: int) -> str:
    """The table in plain text, columns aligned (for the terminal)."""
    header = Row("measure", "value" if n_runs == 1 else "mean", "unit", f"{CONFIDENCE:.0%} interval")
    shown = [header, *rows]
    cols = ("measure", "value", "unit") + (("interval",) if n_runs > 1 else ())
    widths = {c: max(len(getattr(r, c)) for r in shown) for c in cols}
    lines = []
    for r in shown:
        cells = [r.measure.ljust(widths["measure"]), r.value.rjust(widths["value"])]
        cells += [getattr(r, c).ljust(widths[c]) for c in cols[2:]]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def table_markdown(rows: Sequence[Row], n_runs: int) -> str:
    """The table in Markdown (for ``summary.md``)."""
    several = n_runs > 1
    head = ["measure", "mean" if several else "value", "unit"] + (
        [f"{CONFIDENCE:.0%} interval"] if several else []
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r.measure}`", r.value, r.unit] + ([r.interval] if several else [])
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
