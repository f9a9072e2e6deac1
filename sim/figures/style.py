"""The look every figure of a results folder shares: colours, the compass's quadrants, the frame and caption.

Colours are fixed: the participation scale from light (consuming) to dark (co-owning); one colour
per organization, in creation order; light grey for participants who belong to no organization.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from sim.storage.results import Results

#: Levels of the participation scale, named as in the article, lowest first.
LEVEL_NAMES = ("consuming", "sharing", "shaping", "funding", "producing", "co-owning")
#: Their colours, light to dark.
LEVEL_COLOURS = ("#e8eef6", "#a9cce3", "#6a9bd1", "#7b62b8", "#7a2a8f", "#3d0046")
#: One colour per organization, in creation order (repeats after eight).
ORG_COLOURS = ("#d95f02", "#1b9e77", "#e7298a", "#1f78b4", "#66a61e", "#e6ab02", "#a6761d", "#666666")
#: Participants in no organization.
UNAFFILIATED = "#cfcfcf"
#: The four quadrants of the New Power Compass: (x = values, y = model) of the label, alignment, subtitle.
QUADRANTS = {
    "CASTLES": ((0.02, 0.02), ("left", "bottom"), "old power model\nold power values"),
    "CONNECTORS": ((0.02, 0.98), ("left", "top"), "new power model\nold power values"),
    "CHEERLEADERS": ((0.98, 0.02), ("right", "bottom"), "old power model\nnew power values"),
    "CROWDS": ((0.98, 0.98), ("right", "top"), "new power model\nnew power values"),
}
QUADRANT_TINTS = {
    "CASTLES": "#f3efe7",
    "CONNECTORS": "#eaf0f6",
    "CHEERLEADERS": "#f6ecf0",
    "CROWDS": "#eaf4ec",
}
DPI = 120


def level_column(index: int) -> str:
    """The time-series column counting participants at a level, e.g. ``n_co_owning``."""
    return "n_" + LEVEL_NAMES[index].replace("-", "_")


def org_colour(index: int) -> str:
    """The colour of the organization created ``index``-th (0-based)."""
    return ORG_COLOURS[index % len(ORG_COLOURS)]


def base_figure(results: Results, title: str, size: tuple[float, float]) -> Figure:
    """A figure with its title, and the caption line under it (constrained layout)."""
    fig = Figure(figsize=size, layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.045, 1, 0.955))
    fig.suptitle(title, fontsize=14, fontweight="bold")
    fig.text(0.01, 0.008, caption(results), fontsize=8.5, color="dimgray", ha="left", va="bottom")
    return fig


def caption(results: Results) -> str:
    """One line under every figure: scenario, size, runs and seeds."""
    m = results.manifest
    runs = results.summary.get("runs", [{}])
    n = runs[0].get("n_participants", "?") if runs else "?"
    seeds = m.get("seeds") or [r.get("seed") for r in runs]
    if results.n_runs > 1:
        how = f"mean of {results.n_runs} runs with 95% interval (root seed {m.get('seed')})"
    else:
        how = f"seed {seeds[0] if seeds else '?'}"
    n_text = f"{n:,}" if isinstance(n, int) else str(n)
    return f"scenario {results.name}  |  {n_text} participants  |  {how}  |  driver {m.get('driver', '?')}"


def node_colours(results: Results) -> dict[int, str]:
    """Affiliation colour of each group number (0 is no organization)."""
    colours = {0: UNAFFILIATED}
    orgs = results.manifest.get("organizations") or [
        {"name": n, "group": i + 1} for i, n in enumerate(results.organizations)
    ]
    for i, org in enumerate(orgs):
        colours[int(org["group"])] = org_colour(i)
    return colours
