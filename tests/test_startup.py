"""Start-up: ``newpower --help``, ``--version`` and ``list`` load neither Mesa nor Numba (issues 9, 13).

Each command runs in a fresh interpreter, which reports the heavy packages it imported. How long they
take is measured by benchmarks/bench_startup.py, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT

HEAVY = ("mesa", "numba", "matplotlib", "pandas", "numpy", "scipy", "pyarrow", "networkx")

REPORT = """
import json, sys
try:
    {body}
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def loaded(body: str, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The ``heavy`` packages a fresh interpreter has imported after running ``body``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    code = REPORT.format(body=body, heavy=heavy)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def command(*argv: str) -> str:
    return f"from sim.faces.cli.main import main; main({list(argv)!r})"


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["run", "--help"], ["sweep", "--help"], []])
def test_help_and_version_load_no_heavy_package(argv):
    """Help and version import none of Mesa, Numba, matplotlib, pandas, NumPy, SciPy, pyarrow, NetworkX."""
    assert loaded(command(*argv)) == set()


def test_list_loads_numpy_at_most():
    """``list`` reads the strategy, shock and metric registries: neither the model's engines (Mesa, Numba)
    nor pandas, SciPy, pyarrow, NetworkX or matplotlib, which only running or drawing needs."""
    assert loaded(command("list")) <= {"numpy"}
    assert loaded(command("list", "--verbose")) <= {"numpy"}


def test_importing_the_model_compiles_and_loads_no_kernel():
    """Importing the model and its drivers builds no compiled function: each kernel is compiled (or loaded
    from Numba's cache) on its first call, so ``import sim.model.power_model`` pays for no kernel."""
    code = """
import sys
from numba.core.dispatcher import Dispatcher
import sim.model.power_model
from sim.model import kernels
ready = [name for name, f in vars(kernels).items() if isinstance(f, Dispatcher) and f.overloads]
print(len([f for f in vars(kernels).values() if isinstance(f, Dispatcher)]), ready, file=sys.stderr)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    count, ready = proc.stderr.strip().splitlines()[-1].split(" ", 1)
    assert int(count) >= 5 and ready == "[]"


def test_writing_a_run_loads_no_igraph_nor_pyplot():
    """What ``newpower run`` imports to write a folder and draw its figures leaves out igraph and
    matplotlib's pyplot (which importing igraph pulls in, about a second): only a spring or block
    layout, or a large generated network, needs igraph, and imports it then."""
    body = "import sim.faces.cli.main, sim.runs.folder, sim.figures.plotting, sim.figures.story"
    assert loaded(body, ("igraph", "matplotlib.pyplot")) == set()


def test_a_run_without_figures_loads_no_matplotlib(tmp_path):
    """``newpower run --no-figures`` writes the data and the story without importing matplotlib
    (half a second of a small run), which only drawing needs (and igraph, for a spring layout)."""
    argv = ["run", "castle_vs_crowd", "--set", "network.n=200", "--steps", "5"]  # a ring layout
    argv += ["--out", str(tmp_path / "run"), "--no-figures", "--no-progress"]
    assert loaded(command(*argv), ("matplotlib", "igraph")) == set()
    assert (tmp_path / "run" / "summary.md").is_file()


@pytest.mark.parametrize("opt_out", ["", "1"])
def test_importing_the_model_freezes_what_it_imported(opt_out):
    """The objects the model's imports made (Mesa, pandas, SciPy, NetworkX, Numba) are frozen out of the
    cyclic collector's reach, which still runs: so no collection during a run, nor the last one at the
    interpreter's exit, scans them again (0.15 s of a first tiny run; benchmarks/bench_startup.py).
    Objects made after the import are collected as usual. With NEWPOWER_NO_GC_FREEZE=1 nothing is frozen."""
    code = """
import gc, sys
before = gc.get_freeze_count()  # what the interpreter froze itself at start-up
import sim.model.power_model
frozen = gc.get_freeze_count() - before
class Cycle:
    pass
a, b = Cycle(), Cycle()
a.other, b.other = b, a
del a, b
print(frozen, gc.isenabled(), gc.collect() >= 2, file=sys.stderr)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["NEWPOWER_NO_GC_FREEZE"] = opt_out
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    frozen, enabled, collected = proc.stderr.strip().splitlines()[-1].split()
    assert int(frozen) > 100_000 if not opt_out else int(frozen) == 0
    assert enabled == "True" and collected == "True"
