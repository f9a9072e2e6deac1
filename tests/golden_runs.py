"""Golden hashes of every library scenario's run, for both drivers.

A refactor must change no numbers: ``tests/test_golden.py`` recomputes these hashes and
compares them with ``tests/golden/hashes.json``. When a change of behaviour is intended,
regenerate them in the same commit and say why in its message::

    .venv/bin/python -m tests.golden_runs --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from sim import load_scenario, run

HERE = Path(__file__).resolve().parent
LIBRARY = HERE.parent / "scenarios"
HASHES = HERE / "golden" / "hashes.json"
SEED = 11
STEPS = 12
N = 240
DRIVERS = ("vectorized", "agents")


def _frame_digest(frame) -> str:
    """A digest of a frame's column names and exact values (NaN-safe, dtype-independent)."""
    h = hashlib.sha256()
    for column in frame.columns:
        h.update(str(column).encode())
        values = frame[column].to_numpy()
        if values.dtype.kind in "biuf":
            h.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
        else:
            h.update("\x1f".join(map(str, values)).encode())
    return h.hexdigest()


def scenario_names() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.toml"))


def digest(name: str, driver: str) -> str:
    """The digest of one library scenario's run (time series, campaigns, events, summary)."""
    scenario = load_scenario(LIBRARY / f"{name}.toml", overrides={"network.n": N})
    result = run(scenario, seed=SEED, steps=STEPS, driver=driver)
    parts = [
        _frame_digest(result.timeseries),
        _frame_digest(result.campaigns),
        _frame_digest(result.events),
        json.dumps({k: repr(v) for k, v in result.summary.items()}, sort_keys=True),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def compute() -> dict[str, str]:
    return {f"{name}/{driver}": digest(name, driver) for name in scenario_names() for driver in DRIVERS}


if __name__ == "__main__":
    hashes = compute()
    if "--write" in sys.argv:
        HASHES.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    print(json.dumps(hashes, indent=1, sort_keys=True))
