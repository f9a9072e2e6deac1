"""Start-up: ``newpower --help``, ``--version`` and ``list`` load neither Mesa nor Numba (issue 9).

Each command runs in a fresh interpreter, which reports the heavy packages it imported.
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


def loaded(body: str) -> set[str]:
    """The heavy packages a fresh interpreter has imported after running ``body``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    code = REPORT.format(body=body, heavy=HEAVY)
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


def test_list_loads_no_mesa_and_nothing_beyond_its_registries():
    """``list`` reads the strategy, shock and metric registries and imports nothing more (never Mesa);
    Numba only if the shock registry itself still needs it."""
    registries = loaded("import sim.model.shocks, sim.model.strategies, sim.model.metrics")
    heavy = loaded(command("list"))
    assert "mesa" not in heavy
    assert heavy <= registries
    if "numba" not in registries:
        assert "numba" not in heavy
