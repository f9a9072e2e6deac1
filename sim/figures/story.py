"""A run told in plain words, from its saved results folder: the story behind ``summary.md``.

The story has five parts, each written from whatever the folder holds, so that it follows the
model when the model changes: the surge (how big, when, after what, how fast it faded), what
happened when (shocks and strategy starts), each organization's arc on the compass, who
deserted whom and where they went, and each campaign's winner with turnout against stock. A
part the data does not support is left out, never guessed. Then comes the table of headline
measures (:mod:`sim.figures.measure_table`).

``newpower run`` prints it; :func:`write_summary` writes it as ``summary.md`` (``write_results``
and ``newpower plot`` call it), so a folder can always be told again from its files alone.
"""

from __future__ import annotations

import math
import statistics
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.figures.audit import trend
from sim.figures.measure_table import measure_rows, table_markdown, table_text
from sim.figures.measure_words import number
from sim.figures.timeline import moments, plain
from sim.storage.files import atomic_write
from sim.storage.results import SUMMARY_MD, Results
from sim.vocabulary import Quadrant

#: A rise of the active share smaller than this (in share points) is no surge.
SURGE_MIN = 0.01
#: A shock counts as a surge's trigger when it fired at most this share of the run's steps before take-off.
TRIGGER_WINDOW = 0.1
#: An organization that lost at least this share of its peak community was deserted.
DESERTED_MIN = 0.05
#: Under the table of a folder of several runs.
INTERVALS_NOTE = (
    "Means over runs. Intervals (95%) only where runs differ: shares by a percentile bootstrap over runs "
    "(within [0, 1]), other measures by the t-interval cut at their natural bounds (docs/results.md)."
)
#: Destinations listed per deserted organization.
MAX_DESTINATIONS = 4
NOWHERE = "no organization"


@dataclass
class Section:
    """One part of the story: a title and its sentences (or list items)."""

    title: str
    sentences: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the whole story


def tell(results: Results) -> list[Section]:
    """The story's parts, in reading order; parts without data are left out."""
    parts = [surge(results), timeline(results), arcs(results), desertions(results), campaigns(results)]
    return [p for p in parts if p is not None and (p.sentences or p.items)]


def heading(results: Results) -> tuple[str, str]:
    """The title line (scenario and description) and the line saying what was run."""
    m = results.manifest
    description = m.get("scenario", {}).get("description", "")
    runs = results.summary.get("runs") or [{}]
    n = runs[0].get("n_participants")
    people = f"{number(n)} participants" if n is not None else "participants"
    steps = m.get("steps", int(results.timeseries["step"].max()) if len(results.timeseries) else "?")
    if results.n_runs > 1:
        how = f"{results.n_runs} runs (seeds spawned from root seed {m.get('seed')})"
    else:
        seeds = m.get("seeds") or [runs[0].get("seed")]
        how = f"seed {seeds[0]}"
    return (
        f"{results.name}: {description}" if description else results.name,
        f"{how}, {steps} steps, {people}, driver {m.get('driver', '?')}",
    )


def story_text(results: Results, width: int = 100) -> str:
    """The story for a terminal: paragraphs wrapped at ``width``, then the table of measures."""
    title, run_line = heading(results)
    out = [title, run_line]
    for part in tell(results):
        out += ["", part.title.upper()]
        if part.sentences:
            out += textwrap.wrap(" ".join(part.sentences), width, initial_indent="  ", subsequent_indent="  ")
        for item in part.items:
            out += textwrap.wrap(item, width, initial_indent="  - ", subsequent_indent="    ")
    out += ["", "MEASURES", table_text(measure_rows(results.summary.get("runs") or []), results.n_runs)]
    return "\n".join(out)


def summary_markdown(results: Results) -> str:
    """The story and the table of measures in Markdown (``summary.md``)."""
    title, run_line = heading(results)
    out = [f"# {title}", "", run_line]
    for part in tell(results):
        out += ["", f"## {part.title}", ""]
        if part.sentences:
            out.append(" ".join(part.sentences))
        if part.sentences and part.items:
            out.append("")
        out += [f"- {item}" for item in part.items]
    rows = measure_rows(results.summary.get("runs") or [])
    out += ["", "## Measures", "", table_markdown(rows, results.n_runs), ""]
    if results.n_runs > 1:
        out += [INTERVALS_NOTE, ""]
    return "\n".join(out)


def write_summary(results: Results) -> Path:
    """Write ``summary.md`` into the results folder (atomically); return its path."""
    text = summary_markdown(results)
    return atomic_write(results.folder / SUMMARY_MD, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# ------------------------------------------------------------------ the surge


def _runs(results: Results) -> list[dict[str, Any]]:
    return results.summary.get("runs") or []


def _finite(values: list[Any]) -> list[float]:
    return [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    ]


def _share(x: float) -> str:
    return number(x, share=True)


def _spread(values: list[float], share: bool = False) -> str:
    """``" (runs from 40.1% to 50.3%)"`` when runs differ, else nothing."""
    if len(values) < 2 or min(values) == max(values):
        return ""
    return f" (runs from {number(min(values), share)} to {number(max(values), share)})"


def _median(values: list[float]) -> str:
    """``" (median; runs from 28 to 33)"`` for several runs, nothing for one."""
    if len(values) < 2:
        return ""
    spread = _spread(values)
    return f" (median; {spread[2:-1]})" if spread else " (in every run)"


def surge(results: Results) -> Section | None:
    """How big the surge was, when it peaked, after what, and how fast it faded."""
    active = results.band("active_fraction")["mean"].dropna()
    if active.empty:
        return None
    runs = _runs(results)
    start, final = float(active.iloc[0]), float(active.iloc[-1])
    peaks = _finite([r.get("peak_active_fraction") for r in runs]) or [float(active.max())]
    steps = _finite([r.get("peak_step") for r in runs]) or [float(active.idxmax())]
    peak, peak_step = statistics.fmean(peaks), int(statistics.median(steps))
    first, last = int(active.index[0]), int(active.index[-1])
    several = len(runs) > 1
    average = " on average" if several else ""
    if peak - start < SURGE_MIN:
        return Section(
            "The surge",
            [
                (
                    f"There was no surge: the share of participants taking part (sharing or above) stayed near "
                    f"its start, {_share(start)} at step {first}, with a highest point of {_share(peak)}{average} "
                    f"and {_share(final)} at the end (step {last})."
                )
            ],
        )
    rise = (
        f"Participation (sharing or above) rose from {_share(start)} of participants at step {first}"
        f"{_cause(results, active, peak)}, to a peak of {_share(peak)}{average}{_spread(peaks, True)} "
        f"at step {peak_step}{_median(steps)}."
    )
    sentences = [
        rise,
        _fade(runs, peak_step, last),
        f"At the end (step {last}){average} {_share(final)} were active.",
    ]
    return Section("The surge", [s for s in sentences if s])


def _cause(results: Results, active: pd.Series, peak: float) -> str:
    """``", taking off at step 16, right after the viral moment at step 15"``, when a shock came just before.

    The surge takes off at the first step a tenth of the way from the start to the peak; a shock
    counts as its trigger only if it fired at most :data:`TRIGGER_WINDOW` of the run's steps before.
    """
    start = float(active.iloc[0])
    rising = active[active >= start + 0.1 * (peak - start)]
    if rising.empty:
        return ""
    onset = int(rising.index[0])
    window = max(5, TRIGGER_WINDOW * (int(active.index[-1]) - int(active.index[0])))
    before = [m for m in moments(results) if m.kind != "strategy" and onset - window <= m.step <= onset]
    if not before:
        return f", taking off at step {onset}"
    how = "with" if before[-1].step == onset else "right after"
    return f", taking off at step {onset}, {how} the {before[-1].label} at step {before[-1].step}"


def _fade(runs: list[dict[str, Any]], peak_step: int, last: int) -> str:
    halves = [r.get("half_life") for r in runs if "half_life" in r]
    if not halves:
        return ""
    faded = _finite(halves)
    if len(runs) == 1:
        if faded:
            h = int(faded[0])
            return (
                f"It faded halfway back to its start within {h} steps of the peak (by step {peak_step + h})."
            )
        return f"It had not faded halfway back to its start by the end (step {last})."
    if not faded:
        return f"In none of the {len(runs)} runs had it faded halfway back to its start by the end."
    return (
        f"It faded halfway back to its start in {len(faded)} of {len(runs)} runs, within "
        f"{number(statistics.median(faded))} steps of the peak (median){_spread(faded)}."
    )


# ------------------------------------------------------------------ what happened when


def timeline(results: Results) -> Section | None:
    """Shocks and strategy starts, one line each, in order of step."""
    found = moments(results)
    if not found:
        return None
    lead = (
        "In the first run; scheduled events happen at the same step in every run."
        if results.n_runs > 1
        else ""
    )
    return Section("What happened", [lead] if lead else [], [m.sentence for m in found])


# ------------------------------------------------------------------ the organizations on the compass


def arcs(results: Results) -> Section | None:
    """Each organization's arc on the compass and its community, from the first run."""
    run = results.first_run()
    lines = [line for name in results.organizations if (line := _arc(results, run, name))]
    if not lines:
        return None
    lead = (
        "Positions are (values, model) on the New Power Compass, 0 old power to 1 new power; quadrants split "
        "at 0.5 (exactly 0.5 counts as new power)."
    )
    if results.n_runs > 1:
        lead += " The first run is told."
    return Section("The organizations on the compass", [lead], lines)


def _arc(results: Results, run: pd.DataFrame, name: str) -> str | None:
    columns = [f"{name}.values", f"{name}.openness"]
    if not all(c in run for c in columns):
        return None
    path = run[["step", *columns, *[c for c in (f"{name}.quadrant", f"{name}.members") if c in run]]]
    path = path.dropna(subset=columns)
    if path.empty:
        return None
    first, last = path.iloc[0], path.iloc[-1]
    start = (float(first[columns[0]]), float(first[columns[1]]))
    end = (float(last[columns[0]]), float(last[columns[1]]))
    q0, q1 = _quadrant(first, name, start), _quadrant(last, name, end)
    who = f"{name} ({_what(results, name)})"
    entered = int(first["step"]) > int(run["step"].min())
    where = f"{q0} {_position(start)}"
    if entered:
        text = f"{who} entered at step {int(first['step'])} as a {where}"
        text += "" if q0 == q1 and trend(start, end) == "steady" else f" and ended a {q1} {_position(end)}"
    elif q0 == q1 and trend(start, end) == "steady":
        text = f"{who} stayed a {where}"
    elif q0 == q1:
        text = f"{who} stayed a {q0} but moved from {_position(start)} to {_position(end)}"
        heading_to = trend(start, end)
        text += (
            "" if heading_to == f"toward {q0}" else f", heading {heading_to}"
        )  # deeper into it: said already
    else:
        text = f"{who} went from {where} to {q1} {_position(end)}"
        heading_to = trend(start, end)
        text += f", heading {heading_to}" if heading_to not in ("steady", f"toward {q1}") else ""
    return text + _community(path, name) + "."


def _quadrant(row: pd.Series, name: str, position: tuple[float, float]) -> str:
    saved = row.get(f"{name}.quadrant")
    if isinstance(saved, str) and saved:
        return saved
    return Quadrant.of(openness=position[1], values=position[0]).value


def _position(xy: tuple[float, float]) -> str:
    return f"({xy[0]:.2f}, {xy[1]:.2f})"


def _what(results: Results, name: str) -> str:
    """``"institution, go bilingual from step 30"``: its kind and strategy, as far as the folder says."""
    parts = [results.organization_kind(name)]
    for org in results.manifest.get("scenario", {}).get("organizations", []) or []:
        if org.get("name") == name and org.get("strategy"):
            strategy = plain(str(org["strategy"]).rpartition(":")[2])
            start = (org.get("strategy_params") or {}).get("start")
            parts.append(
                f"{strategy} from step {start}" if isinstance(start, int) and start > 0 else strategy
            )
    return ", ".join(p for p in parts if p) or "organization"


def _community(path: pd.DataFrame, name: str) -> str:
    column = f"{name}.members"
    if column not in path:
        return ""
    members = pd.to_numeric(path[column], errors="coerce").dropna()
    if members.empty:
        return ""
    first, last, peak = int(members.iloc[0]), int(members.iloc[-1]), int(members.max())
    peak_step = int(path.loc[members.idxmax(), "step"])
    text = f"; community {number(first)} \u2192 {number(last)} members"
    return text + (f" (peak {number(peak)} at step {peak_step})" if peak > max(first, last) else "")


# ------------------------------------------------------------------ desertions


def moves(results: Results) -> pd.DataFrame:
    """Who moved between affiliations, seen from one network snapshot to the next (first run, drawn participants).

    Returns:
        One row per (``from``, ``to``) group pair, with ``n`` the number of participants who made
        that move at least once (someone who left, came back and left again counts once).
    """
    snaps = results.snapshots
    if snaps is None or not len(snaps) or not {"step", "participant", "group"} <= set(snaps.columns):
        return moves_empty()
    table = snaps.pivot(index="participant", columns="step", values="group").to_numpy(dtype=np.int64)
    before, after = table[:, :-1], table[:, 1:]
    who = np.broadcast_to(np.arange(table.shape[0])[:, None], before.shape)
    changed = before != after
    triples = np.unique(np.column_stack([who[changed], before[changed], after[changed]]), axis=0)
    if not len(triples):
        return moves_empty()
    pairs, counts = np.unique(triples[:, 1:], axis=0, return_counts=True)
    return pd.DataFrame({"from": pairs[:, 0], "to": pairs[:, 1], "n": counts})


def moves_empty() -> pd.DataFrame:
    """No moves."""
    return pd.DataFrame({"from": [], "to": [], "n": []}, dtype=int)


def group_names(results: Results) -> dict[int, str]:
    """Organization of each group number (0: no organization)."""
    names = {0: NOWHERE}
    for i, org in enumerate(results.manifest.get("organizations") or []):
        names[int(org.get("group", i + 1))] = org["name"]
    return names


def desertions(results: Results) -> Section | None:
    """Which organizations lost their community, how much, and where the deserters went."""
    run = results.first_run()
    runs = _runs(results)
    flows, names = moves(results), group_names(results)
    groups = {name: g for g, name in names.items()}
    items = []
    for name in results.organizations:
        column = f"{name}.members"
        if column not in run:
            continue
        members = pd.to_numeric(run[column], errors="coerce")
        if members.dropna().empty:
            continue
        peak, final = int(members.max()), int(members.dropna().iloc[-1])
        shares = _finite([r.get(f"{name}.desertion_share") for r in runs])
        share = statistics.fmean(shares) if shares else (peak - final) / peak if peak else 0.0
        if share < DESERTED_MIN or peak <= final:
            continue
        peak_step = int(run.loc[members.idxmax(), "step"])
        average = f" on average over {len(shares)} runs{_spread(shares, True)}" if len(shares) > 1 else ""
        lost = f"{name}'s community deserted it: it lost" if share >= 0.5 else f"{name} lost"
        text = (
            f"{lost} {_share(share)} of its peak community{average} "
            f"({number(peak)} members at step {peak_step}, {number(final)} at the end"
            f"{' of the first run' if len(runs) > 1 else ''})."
        )
        items.append(text + _destinations(flows, groups.get(name), names))
    sentences = _deserted_lead(results, items, runs)
    return Section("Desertions", sentences, items) if sentences or items else None


def _destinations(flows: pd.DataFrame, group: int | None, names: dict[int, str]) -> str:
    if group is None or flows.empty:
        return ""
    out = flows[(flows["from"] == group) & (flows["to"] != group)].sort_values("n", ascending=False)
    if out.empty:
        return ""
    where = [f"{names.get(int(r.to), f'group {int(r.to)}')} {number(int(r.n))}" for r in out.itertuples()]
    shown = where[:MAX_DESTINATIONS] + (["the rest elsewhere"] if len(where) > MAX_DESTINATIONS else [])
    return f" Where those seen leaving it went (participants): {_join(shown)}."


def _deserted_lead(results: Results, items: list[str], runs: list[dict[str, Any]]) -> list[str]:
    out = []
    if not items and results.organizations:
        out.append(f"No organization lost {DESERTED_MIN:.0%} or more of its peak community.")
    cascades = _finite([r.get("largest_desertion_cascade") for r in runs])
    if cascades and max(cascades) > 0:
        size = number(statistics.fmean(cascades))
        out.append(
            f"The largest desertion cascade (members leaving right after a tie left the same organization) "
            f"had {size} participants{' on average' if len(cascades) > 1 else ''}{_spread(cascades)}."
        )
    if items and results.snapshots is not None and len(results.snapshots):
        out.append(_snapshot_note(results))
    return out


def _snapshot_note(results: Results) -> str:
    steps = sorted(int(s) for s in results.snapshots["step"].unique())
    gap = steps[1] - steps[0] if len(steps) > 2 else 0
    every = "every step" if gap == 1 else f"every {gap} steps" if gap else "at a few steps"
    info = results.manifest.get("layout", {})
    drawn, total = info.get("n_drawn"), info.get("n_total")
    who = (
        f"among the {number(drawn)} drawn participants of {number(total)}"
        if drawn and total and drawn < total
        else "among all participants"
    )
    return (
        f"Moves are counted between network snapshots ({every}, {who}, first run): "
        "a member who left and came back between two snapshots is not seen."
    )


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# ------------------------------------------------------------------ campaigns


def campaigns(results: Results) -> Section | None:
    """Each campaign: who was called, who showed up against the stock spent, who won."""
    table = results.campaigns
    needed = {"a", "b", "winner"}
    if table is None or not len(table) or not needed <= set(table.columns):
        return None
    keys = [c for c in ("step", "issue", "a", "b") if c in table]
    items = [
        _campaign(part, keys, results.n_runs) for _, part in table.groupby(keys, sort=True, dropna=False)
    ]
    lead = ["Lobbyists (old-power stock spent) against an army of citizens (members who turned out)."]
    return Section("Campaigns", lead, items)


def _campaign(part: pd.DataFrame, keys: list[str], n_runs: int) -> str:
    first = part.iloc[0]
    what = f"on {first['issue']}" if "issue" in part and isinstance(first.get("issue"), str) else ""
    when = f"Step {int(first['step'])}" if "step" in part else "A campaign"
    sides = [_side(part, side) for side in ("a", "b")]
    wins = part["winner"].value_counts()
    if len(part) == 1:
        winner = str(wins.index[0])
        result = f"{winner} won"
        if {"a_force", "b_force"} <= set(part.columns):
            forces = (float(first["a_force"]), float(first["b_force"]))
            mine, theirs = forces if winner == str(first["a"]) else forces[::-1]
            result += f" (force {mine:.2f} against {theirs:.2f})"
    else:
        result = "; ".join(f"{name} won in {count} of {len(part)} runs" for name, count in wins.items())
    of_runs = " (means over runs)" if len(part) > 1 else ""
    return f"{when}{' ' + what if what else ''}: {sides[0]}; against {sides[1]}{of_runs}. {result}."


def _side(part: pd.DataFrame, side: str) -> str:
    name = str(part[side].iloc[0])
    text = name
    turnout, members, spent = (f"{side}_{c}" for c in ("turnout", "members", "stock_spent"))
    if turnout in part:
        text += f": {number(round(part[turnout].mean()))} turned out"
        if members in part:
            text += f" of {number(round(part[members].mean()))} members"
    if spent in part:
        text += f", {number(part[spent].mean())} stock spent"
    return text
