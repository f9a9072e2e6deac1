"""Figures of the validation report (``newpower validate``), drawn from its saved data alone.

Each check's saved row (``validation.json``) names its drawer: ``watts`` (cascade frequency
against mean degree, with the analytic window shaded), ``knockout`` (every measure's change
when the mechanism is switched off, with 95% intervals), and ``classic`` / ``fact`` (the
numbers the verdict rests on).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PASS_COLOUR, FAIL_COLOUR = "#2ca02c", "#d62728"


def _colour(row: dict[str, Any]) -> str:
    return PASS_COLOUR if row["status"] == "PASS" else FAIL_COLOUR


def _watts(row: dict[str, Any], ax) -> None:
    numbers = row["numbers"]
    points = sorted(
        (float(m.group(1)), value)
        for key, value in numbers.items()
        if (m := re.fullmatch(r"z_([0-9.]+)\.cascade_frequency", key))
    )
    low, high = numbers.get("window_low"), numbers.get("window_high")
    if low is not None and high is not None:
        ax.axvspan(
            low, high, color="#1f77b4", alpha=0.15, label=f"analytic window {low:.2f} < z < {high:.2f}"
        )
    ax.plot([z for z, _ in points], [f for _, f in points], "o", color=_colour(row), label="share of runs")
    ax.set_xlabel("mean degree z")
    ax.set_ylabel("share of runs with a global cascade")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(frameon=False)


def _knockout(row: dict[str, Any], ax) -> None:
    effects = row["numbers"]["effects"]
    names = list(effects)
    means = [effects[k]["relative"] for k in names]
    scale = [
        abs(effects[k]["mean"]) / abs(effects[k]["relative"]) if effects[k]["relative"] else 1.0
        for k in names
    ]
    low = [
        (effects[k]["mean"] - effects[k]["ci_low"]) / s if s else 0.0
        for k, s in zip(names, scale, strict=True)
    ]
    high = [
        (effects[k]["ci_high"] - effects[k]["mean"]) / s if s else 0.0
        for k, s in zip(names, scale, strict=True)
    ]
    ax.barh(names, means, xerr=[low, high], color=_colour(row), alpha=0.7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"change when knocked out, relative to intact ({row['numbers']['scenario']})")


def _numbers(row: dict[str, Any], ax) -> None:
    numbers = {k: v for k, v in row["numbers"].items() if isinstance(v, int | float)}
    ax.barh(list(numbers), list(numbers.values()), color=_colour(row), alpha=0.7)
    ax.set_xlabel("measured value")


DRAWERS = {"watts": _watts, "knockout": _knockout, "classic": _numbers, "fact": _numbers}


def draw(row: dict[str, Any], path: Path) -> Path:
    """Draw one check's figure from its saved row."""
    height = (
        4.0
        if row["figure"] == "watts"
        else 1.2 + 0.28 * max(1, len(row["numbers"].get("effects", row["numbers"])))
    )
    fig, ax = plt.subplots(figsize=(7.5, min(height, 9.0)))
    DRAWERS[row["figure"]](row, ax)
    ax.set_title(f"{row['name']}: {row['status']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
