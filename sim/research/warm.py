"""Warm a worker process once, so that no run of a sweep pays for the model's start-up.

A run's first call into the model costs far more than the run itself when the runs are
small: importing Mesa, Numba, pandas and the model (about a second), and Numba's first
use of its compiled kernels (loading them from the on-disk cache and setting up its
compiler's type registries, about 0.3 s). Importing this module does both, once, by
running one tiny model (60 participants, 3 steps, both organization kinds).

Local executors name it as the fork server's preload (:mod:`sim.research.executors`):
the fork server imports it once and every worker forked from it starts warm, for every
sweep of the process. Dask workers import it as a preload when they start. Importing it
in the main process is harmless (it only runs the tiny model).
"""

from __future__ import annotations

from sim.model.catalog import load_scenario
from sim.runs.runner import run
from sim.scenarios import LIBRARY

#: The tiny model: the shipped sweep scenario (a Castle and a Crowd platform), shrunk.
TINY = {"network.n": 60, "trigger.n_seeds": 2, "steps": 3}


def warm_up() -> None:
    """Run one tiny model: every module the runs need is imported, every kernel they call is loaded.

    A failure here only costs speed, never a worker: the worker's first run then pays for the
    start-up, and reports any real error as that run's failure.
    """
    try:
        run(load_scenario(LIBRARY / "sweep_fickleness.toml", overrides=TINY), seed=0)
    except Exception:  # noqa: BLE001, S110 - see above: the runs report it
        pass


warm_up()
