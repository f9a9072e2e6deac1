"""Labels that do not cover each other, and marks for what happened when.

Matplotlib places a text where it is told, whatever is already there. Here a label is tried at a
few candidate places in turn and kept at the first whose box (measured on screen with
``get_window_extent``) covers no other text, no marker it must avoid, and stays inside its axes;
if none is free, at the place that covers least. Boxes are measured once the figure's layout is
done and frozen (:func:`freeze`), so that nothing moves after the labels are placed.

:func:`mark_moments` draws a dotted vertical line at each shock and strategy start of a run
(:mod:`sim.figures.timeline`) on every time axis of a figure, and labels the lines on one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from sim.figures.timeline import Moment

#: Room kept around each label (pixels).
PAD = 2.0
MARK_COLOUR = "#444444"


def freeze(fig: Figure) -> RendererBase:
    """Run the figure's layout once and keep it, so that boxes measured now stay true; return the renderer."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return canvas.get_renderer()


def text_boxes(fig: Figure, renderer: RendererBase, skip: Iterable[Text] = ()) -> list[Bbox]:
    """The on-screen boxes of every visible, non-empty text of a figure except tick labels."""
    skipped = set(map(id, skip)) | {id(t) for t in tick_labels(fig)}
    return [
        t.get_window_extent(renderer)
        for t in fig.findobj(Text)
        if id(t) not in skipped and t.get_visible() and t.get_text().strip()
    ]


def tick_labels(fig: Figure) -> list[Text]:
    """Every tick label of every axes (matplotlib keeps those apart itself)."""
    out: list[Text] = []
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            out += axis.get_ticklabels(which="both")
            out += [tick.label2 for tick in axis.get_major_ticks() + axis.get_minor_ticks()]
    return out


def overlap(a: Bbox, b: Bbox) -> float:
    """Area (pixels squared) that two boxes share."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def outside(box: Bbox, within: Bbox) -> float:
    """Area of ``box`` outside ``within``."""
    return box.width * box.height - overlap(box, within)


def place(
    candidates: Sequence[Callable[[], Text]],
    renderer: RendererBase,
    taken: list[Bbox],
    within: Bbox | None = None,
) -> Text:
    """Keep the first candidate label that covers nothing in ``taken`` and stays ``within``.

    Args:
        candidates: functions that each add the label at one place and return it, best first.
        renderer: the renderer of the frozen figure.
        taken: boxes to keep clear; the chosen label's box is added to it.
        within: the box the label must stay in (its axes), if any.

    Returns:
        The label kept (the others are removed): the first free one, else the one covering least.
    """
    best: tuple[float, Text, Bbox] | None = None
    for make in candidates:
        label = make()
        box = label.get_window_extent(renderer).padded(PAD)
        cost = sum(overlap(box, other) for other in taken) + (outside(box, within) if within else 0.0)
        if best is None or cost < best[0]:
            if best is not None:
                best[1].remove()
            best = (cost, label, box)
        else:
            label.remove()
        if cost == 0:
            break
    assert best is not None, "no candidate place for a label"
    taken.append(best[2])
    return best[1]


def point_box(ax: Axes, x: float, y: float, size: float) -> Bbox:
    """The on-screen box of a marker of ``size`` points at data position (x, y)."""
    cx, cy = ax.transData.transform((x, y))
    half = size / 2 * ax.figure.dpi / 72
    return Bbox([[cx - half, cy - half], [cx + half, cy + half]])


# ------------------------------------------------------------------ what happened when


def merge(moments: Sequence[Moment]) -> list[tuple[int, str]]:
    """One label per step: moments of the same step joined (``"viral moment; Gazette: go bilingual"``)."""
    steps: dict[int, list[str]] = {}
    for m in moments:
        steps.setdefault(m.step, []).append(m.label)
    return [(step, "; ".join(dict.fromkeys(labels))) for step, labels in sorted(steps.items())]


def mark_moments(
    fig: Figure, axes: Sequence[Axes], label_axes: Axes, moments: Sequence[Moment]
) -> list[Text]:
    """Dotted lines at each moment on every axes; their labels on ``label_axes``, clear of every other text.

    Call it last, when everything else of the figure is drawn: it freezes the layout.

    Returns:
        The labels placed.
    """
    merged = merge(moments)
    if not merged:
        return []
    for ax in axes:
        for step, _ in merged:
            ax.axvline(step, color=MARK_COLOUR, linewidth=1.1, linestyle=":", zorder=4)
    renderer = freeze(fig)
    taken = text_boxes(fig, renderer)
    within = label_axes.get_window_extent(renderer)
    return [
        place(_line_label_places(label_axes, step, text), renderer, taken, within) for step, text in merged
    ]


def _line_label_places(ax: Axes, step: int, text: str) -> list[Callable[[], Text]]:
    """Where a line's label may go: along the line, right or left of it, from the top down."""
    places = []
    for height in (0.98, 0.62, 0.3):
        for side in (1, -1):
            places.append(
                lambda height=height, side=side: ax.annotate(
                    text,
                    (step, height),
                    xycoords=("data", "axes fraction"),
                    xytext=(3 * side, 0),
                    textcoords="offset points",
                    rotation=90,
                    ha="left" if side > 0 else "right",
                    va="top",
                    fontsize=8,
                    color="#222222",
                    zorder=7,
                    bbox={
                        "boxstyle": "square,pad=0.15",
                        "facecolor": "white",
                        "edgecolor": "none",
                        "alpha": 0.8,
                    },
                )
            )
    return places
