"""Make ``examples/observed_surge.csv``: a surge-and-fade series for the calibration example.

The series is synthetic: the model itself, ``teaching_surge`` with a viral moment at the
start (100 participants, 5% of 2,000, at FUNDING among Hive's members: what the teaching
page's "Viral moment" button does), run once at known parameters, with Gaussian
observation noise added. Fitting it (docs/calibration.md) should recover the known values.

    python examples/make_observed_surge.py            # rewrites examples/observed_surge.csv

Everything is fixed below: the scenario, the overrides, the true values, the run's seed
(1000, from the tuning seeds 1000-1019) and the noise's seed
(``numpy.random.default_rng([1000, 1])``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import load_scenario, run
from sim.scenarios import LIBRARY

#: The viral moment, as a trigger at step 0 (the same flags go to `newpower calibrate --set`).
TRIGGER = {"trigger.n_seeds": 100, "trigger.level": "FUNDING", "trigger.organization": "Hive"}
#: The values the calibration should recover (both the defaults: teaching_surge sets neither).
TRUE = {"dynamics.fickleness": 0.15, "dynamics.peer_influence": 1.0}
SEED = 1000
NOISE_SEED = [1000, 1]
NOISE_SD = 0.01
STEPS = 80
OUT = ROOT / "examples" / "observed_surge.csv"


def make() -> pd.DataFrame:
    """The observed series: step and active_fraction (4 decimals), noise included."""
    scenario = load_scenario(LIBRARY / "teaching_surge.toml", overrides={**TRIGGER, **TRUE})
    frame = run(scenario, seed=SEED, steps=STEPS).timeseries
    noise = np.random.default_rng(NOISE_SEED).normal(0.0, NOISE_SD, size=len(frame))
    active = frame["active_fraction"].to_numpy() + noise
    return pd.DataFrame({"step": frame["step"], "active_fraction": np.round(active, 4)})


if __name__ == "__main__":
    make().to_csv(OUT, index=False)
    print(f"wrote {OUT}")
