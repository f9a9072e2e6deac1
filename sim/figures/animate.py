"""An animation of a results folder: the network and the compass over time.

Frames are drawn from the saved snapshots (the first run) with the same
colours as the static figures, rendered on the Agg canvas and written as a
GIF with Pillow; an MP4 is written as well where the ``ffmpeg`` program exists.
Both files are written atomically.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from sim.figures import network, plotting, style
from sim.storage.files import atomic_write
from sim.storage.results import ANIMATION, Results, ResultsError

#: Where the panels sit (left, bottom, width, height, as shares of the figure): below the title,
#: above their legends.
LEVEL_AXES = (0.01, 0.15, 0.3, 0.72)
GROUP_AXES = (0.33, 0.15, 0.3, 0.72)
COMPASS_AXES = (0.695, 0.2, 0.285, 0.67)
#: Frames per second, and how long the last frame stays (seconds).
FPS = 4
HOLD_LAST = 2.0


def write_animation(results: Results, fps: float = FPS, mp4: bool = True) -> tuple[list[Path], list[str]]:
    """Write ``animation.gif`` (and ``animation.mp4`` if ffmpeg exists) into the results folder.

    Args:
        results: a results folder with network snapshots (written by ``newpower run``).
        fps: frames per second.
        mp4: also write an MP4 when the ``ffmpeg`` program is on the path.

    Returns:
        The files written, and notes for the user (e.g. why no MP4 was written).

    Raises:
        ResultsError: the folder has no network snapshots.
    """
    if results.snapshots is None or results.layout is None or not len(results.snapshots):
        raise ResultsError(
            f"{results.folder}: no network snapshots to animate; allowed: a folder written "
            "by `newpower run` (an audit folder has none)"
        )
    if not fps > 0:
        raise ResultsError(f"--fps must be positive, got {fps}")
    frames = render_frames(results)
    durations = [round(1000 / fps)] * len(frames)
    durations[-1] = max(durations[-1], int(HOLD_LAST * 1000))
    colours = [
        *style.LEVEL_COLOURS,
        *style.node_colours(results).values(),
        *style.QUADRANT_TINTS.values(),
    ]
    paths = [write_gif(frames, results.folder / f"{ANIMATION}.gif", durations, colours)]
    notes = []
    if mp4:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            notes.append("no MP4: the ffmpeg program was not found (the GIF has every frame)")
        else:
            try:
                paths.append(write_mp4(frames, results.folder / f"{ANIMATION}.mp4", fps, ffmpeg))
            except (OSError, subprocess.SubprocessError) as exc:
                notes.append(f"no MP4: ffmpeg failed ({exc})")
    return paths, notes


def render_frames(results: Results) -> list[np.ndarray]:
    """One RGB image per snapshot step."""
    fig, update = animation_figure(results)
    canvas = FigureCanvasAgg(fig)
    frames = []
    for step in sorted(int(s) for s in results.snapshots["step"].unique()):
        update(step)
        canvas.draw()
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    return frames


def animation_figure(results: Results) -> tuple[Figure, Callable[[int], None]]:
    """The figure (network by level, by affiliation, and the compass) and a function that shows a step."""
    # Fixed places, not a layout engine: the title changes every frame, the legends hang below
    # their panels, and nothing may move between frames (tests check that no text overlaps another).
    fig = Figure(figsize=(15, 6.0))
    level_ax = fig.add_axes(LEVEL_AXES)
    group_ax = fig.add_axes(GROUP_AXES)
    compass_ax = fig.add_axes(COMPASS_AXES)
    layout, segments = network.network_parts(results)
    first_step = int(results.snapshots["step"].min())
    styles = network.snapshot_styles(results, first_step, layout)
    level_dots = network.draw_network(level_ax, segments, styles["level"])
    group_dots = network.draw_network(group_ax, segments, styles["group"])
    level_ax.set_title("Participation level", fontsize=11)
    group_ax.set_title("Affiliation", fontsize=11)
    level_ax.legend(
        handles=network.level_handles(),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        frameon=False,
        fontsize=8.5,
    )
    group_ax.legend(
        handles=network.group_handles(results),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        frameon=False,
        fontsize=8.5,
    )

    plotting.draw_compass(compass_ax)
    compass_ax.set_title("New Power Compass", fontsize=11)
    run = results.first_run().set_index("step")
    trails = []
    for i, name in enumerate(results.organizations):
        colour = style.org_colour(i)
        path = run[[f"{name}.values", f"{name}.openness"]].apply(pd.to_numeric, errors="coerce")
        (line,) = compass_ax.plot([], [], color=colour, linewidth=2.5, zorder=3)
        (start,) = compass_ax.plot(
            [],
            [],
            "o",
            markersize=13,
            markerfacecolor="white",
            markeredgecolor=colour,
            markeredgewidth=2.2,
            zorder=4,
        )
        (now,) = compass_ax.plot([], [], "o", markersize=8, color=colour, zorder=5, label=name)
        trails.append((path, line, start, now))
    if trails:
        compass_ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=min(4, len(trails)),
            frameon=False,
            fontsize=9,
        )
    last = int(run.index.max())
    active = pd.to_numeric(run["active_fraction"], errors="coerce")
    title = fig.text(0.5, 0.975, " ", ha="center", va="top", fontsize=14, fontweight="bold")

    def show(step: int) -> None:
        styles = network.snapshot_styles(results, step, layout)
        network.restyle(level_dots, styles["level"])
        network.restyle(group_dots, styles["group"])
        for path, line, start, now in trails:
            seen = path.loc[:step].dropna()
            if seen.empty:
                for artist in (line, start, now):
                    artist.set_data([], [])
                continue
            line.set_data(seen.iloc[:, 0], seen.iloc[:, 1])
            start.set_data([seen.iloc[0, 0]], [seen.iloc[0, 1]])
            now.set_data([seen.iloc[-1, 0]], [seen.iloc[-1, 1]])
        share = active.get(step, np.nan) * 100
        title.set_text(f"{results.name}: step {step} of {last}   |   active {share:.1f}% of participants")

    return fig, show


def shared_palette(frames: list[np.ndarray], colours: list[str]) -> Image.Image:
    """One 256-colour palette for every frame, sure to hold the figure's own colours exactly.

    Built from a few frames plus a large swatch of each named colour, so small
    legend markers keep their true colour instead of being merged away.
    """
    width = frames[0].shape[1]
    picks = [frames[i] for i in sorted({0, len(frames) // 2, len(frames) - 1})]
    swatch = np.zeros((64, width, 3), dtype=np.uint8)
    block = max(1, width // max(len(colours), 1))
    for i, colour in enumerate(colours):
        swatch[:, i * block : (i + 1) * block] = np.array(to_rgb(colour)) * 255
    sample = np.concatenate([*picks] + [swatch] * 12, axis=0)
    return Image.fromarray(sample).quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )


def write_gif(
    frames: list[np.ndarray], path: Path, durations: list[int], colours: list[str] | None = None
) -> Path:
    """Write RGB frames as a looping GIF with one shared palette (no dithering)."""
    palette = shared_palette(frames, colours or [])
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    return atomic_write(
        path,
        lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0, disposal=1
        ),
    )


def write_mp4(frames: list[np.ndarray], path: Path, fps: float, ffmpeg: str = "ffmpeg") -> Path:
    """Write RGB frames as an H.264/MPEG-4 video by piping them to ffmpeg."""
    height, width = frames[0].shape[:2]

    def encode(tmp: Path) -> None:
        command = [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-r",
            f"{fps:g}",
            "-i",
            "-",
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-pix_fmt",
            "yuv420p",
            str(tmp),
        ]
        done = subprocess.run(
            command,
            input=b"".join(f.tobytes() for f in frames),
            capture_output=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise subprocess.SubprocessError(
                done.stderr.decode(errors="replace").strip().splitlines()[-1:]
                or f"exit status {done.returncode}"
            )

    return atomic_write(path, encode)
