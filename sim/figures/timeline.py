"""What happened when, read from a saved results folder: shocks fired and strategies starting.

Shocks come from the events table (``events.parquet``: one row per shock fired per run, with the
model's own sentence in ``description`` when the run wrote one); strategy starts come from the
scenario in the manifest (an organization whose strategy has a ``start`` parameter). Scheduled
events happen at the same step in every run, so each (step, kind, what) is listed once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.storage.results import Results

#: Event columns that say where and when, not what.
BOOKKEEPING = ("run", "seed", "step", "kind", "description")


@dataclass(frozen=True)
class Moment:
    """One thing that happened at one step.

    Attributes:
        step: the step.
        label: a short label for a figure (``"viral moment"``, ``"Gazette: go bilingual"``).
        sentence: one sentence for the story.
        kind: the shock's kind, or ``"strategy"``.
    """

    step: int
    label: str
    sentence: str
    kind: str


def plain(name: str) -> str:
    """A code name in words: ``"viral_moment"`` -> ``"viral moment"``."""
    return str(name).replace("_", " ")


def shock_moments(results: Results) -> list[Moment]:
    """Every shock fired, once per (step, kind, what it did), in the first run that fired it."""
    events = results.events
    if events is None or not len(events) or "step" not in events or "kind" not in events:
        return []
    first = events[events["run"] == events["run"].min()] if "run" in events else events
    out = []
    for record in first.to_dict("records"):
        kind = str(record["kind"])
        label = plain(kind)
        if kind == "rival_entry" and _present(record.get("name")):
            label = f"{record['name']} enters"
        out.append(Moment(int(record["step"]), label, event_sentence(record), kind))
    return out


def event_sentence(record: dict[str, Any]) -> str:
    """One sentence about a fired shock: the model's own (``description``), else its record in words."""
    if _present(record.get("description")):
        return str(record["description"])
    details = [
        f"{plain(key)} {_value(value)}"
        for key, value in record.items()
        if key not in BOOKKEEPING and _present(value)
    ]
    what = f" ({', '.join(details)})" if details else ""
    return f"{plain(record.get('kind', 'event')).capitalize()} at step {record.get('step', '?')}{what}."


def strategy_moments(results: Results) -> list[Moment]:
    """Organizations whose strategy starts after the first step (a ``start`` parameter)."""
    first_step = int(results.timeseries["step"].min()) if len(results.timeseries) else 0
    out = []
    for org in results.manifest.get("scenario", {}).get("organizations", []) or []:
        params = org.get("strategy_params") or {}
        start = params.get("start")
        if not isinstance(start, (int, float)) or isinstance(start, bool) or start <= first_step:
            continue
        strategy = plain(str(org.get("strategy", "")).rpartition(":")[2] or "a strategy")
        name = org.get("name", "?")
        sentence = f"{name}'s strategy, {strategy}, starts at step {int(start)}."
        out.append(Moment(int(start), f"{name}: {strategy}", sentence, "strategy"))
    return out


def moments(results: Results) -> list[Moment]:
    """Shocks and strategy starts, in order of step."""
    return sorted(shock_moments(results) + strategy_moments(results), key=lambda m: m.step)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return not (isinstance(value, str) and not value)


def _value(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
