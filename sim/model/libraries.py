"""The model's libraries, imported once per process with the cyclic garbage collector paused, then frozen.

Mesa (with pandas, SciPy and NetworkX) and Numba make hundreds of thousands of objects as they
are imported: modules, classes, functions, Numba's types and registries, all alive as long as
the process. While they are made, the collector's generations fill and it scans them again and
again (0.08 s of the 0.7 s import); afterwards it would scan them at every full collection,
during a run and once more at the interpreter's exit (0.15 s of a first tiny run). So they are
imported with the collector paused, and then frozen: moved into a generation the collector
skips (``gc.freeze``, what Python's documentation advises for objects made at start-up; it also
keeps forked sweep workers from writing to the parent's pages). The collector's own setting is
restored: it runs as before for what is made afterwards (``tests/test_startup.py``).

Objects a caller made before this import are frozen too: still freed when no longer referenced,
only not by the cyclic collector, so a reference cycle of theirs that becomes garbage later stays
in memory. A program that imports ``sim`` late, after building large structures it means to drop
(a long notebook, a server), can keep its collector as it was with ``NEWPOWER_NO_GC_FREEZE=1``:
the libraries are then imported with the collector running, at start-up's old cost. Measured by
``benchmarks/bench_startup.py``.

:mod:`sim.model.power_model` imports this module first; nothing here changes a number.
"""

from __future__ import annotations

import gc
import os

#: Set to 1 to import the libraries without pausing or freezing the collector.
OPT_OUT = "NEWPOWER_NO_GC_FREEZE"


def freezing() -> bool:
    """Whether the model's imports are frozen out of the collector (unless the user opted out)."""
    return os.environ.get(OPT_OUT, "") not in ("1", "true", "yes")


def load() -> None:
    """Import the model's libraries with the collector paused; freeze everything alive then."""
    if not freezing():
        _import_all()
        return
    collecting = gc.isenabled()
    gc.disable()
    try:
        _import_all()
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def _import_all() -> None:
    import mesa
    import mesa.discrete_space  # noqa: F401
    import networkx  # noqa: F401
    import numba
    import numba.extending  # noqa: F401
    import scipy.sparse  # noqa: F401


load()
