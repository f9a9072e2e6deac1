"""The teaching page's redraw after one Step, with 2,000 participants (target: well under 1 s).

Draws the page's four figures (network, levels, compass, community) after each of a few steps
of a surge, the work a Step click does on the server, and prints the median against the target.
The browser round trip is printed by ``tests/test_app.py::test_one_step_redraws_every_figure``.

    .venv/bin/python benchmarks/bench_teaching.py [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from sim.faces.teaching.lesson import TeachingModel, fire
from sim.faces.teaching.views import views_of

VIEWS = ("network", "levels", "compass", "community")
TARGET_SECONDS = 0.6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    model = TeachingModel()
    views = views_of(model)
    fire(model, "viral_moment")
    for view in VIEWS:  # the first draw builds the backgrounds
        getattr(views, view).png(model)
    timings = []
    for _ in range(args.steps):
        model.step()
        start = time.perf_counter()
        for view in VIEWS:
            getattr(views, view).png(model)
        timings.append(time.perf_counter() - start)
    median = statistics.median(timings)
    print(
        f"participants {model.n_participants}; redraw of 4 figures after a step: median {median:.3f} s "
        f"(min {min(timings):.3f}, max {max(timings):.3f}); target < {TARGET_SECONDS} s: "
        f"{median / TARGET_SECONDS:.2f} of it"
    )


if __name__ == "__main__":
    main()
