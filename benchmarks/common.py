"""What the build, ten-million and race benchmarks share: sizes, memory readings, the scenario."""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASE_SCENARIO = REPO / "scenarios" / "castle_vs_crowd.toml"
MEAN_DEGREE = 10
MIB = 2**20
GB = 10**9


def parse_n(text: str) -> int:
    """'100000', '100_000', '1e5' and '100k' / '1m' all mean what they say."""
    t = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    value = float(t.rstrip("km")) * scale
    if value < 20 or value != int(value):
        raise argparse.ArgumentTypeError(f"not a usable number of participants: {text!r}")
    return int(value)


def peak_memory() -> dict[str, int]:
    """Resident memory of this process now (``rss``) and at its peak (``peak``), in bytes.

    ``VmHWM`` (Linux) is the peak of this process's own address space; unlike ``ru_maxrss``
    it does not inherit the parent's peak across fork and exec.
    """
    out = {"rss": 0, "peak": 0}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    out["rss"] = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    out["peak"] = int(line.split()[1]) * 1024
    except OSError:  # not Linux: getrusage's peak (bytes on macOS)
        import resource

        raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["peak"] = out["rss"] = raw if sys.platform == "darwin" else raw * 1024
    return out


def benchmark_scenario(n: int, generator: str = "auto", base: Path = BASE_SCENARIO, burn_in: int = 0):
    """The flagship benchmark scenario on a Watts-Strogatz graph of n nodes, mean degree 10, seeds ~1% of n.

    Without the base scenario's burn-in by default (castle_vs_crowd settles its crowd for 50
    unrecorded steps while ``PowerModel`` is built): those are steps, timed as steps, not as building.
    """
    from sim import scenario_from_dict

    with open(base, "rb") as fh:
        raw = tomllib.load(fh)
    raw["burn_in"] = burn_in
    rewire = raw.get("network", {}).get("rewire_prob", 0.1)
    raw["network"] = {
        "kind": "watts_strogatz",
        "n": n,
        "mean_degree": MEAN_DEGREE,
        "rewire_prob": rewire,
        "generator": generator,
    }
    raw.setdefault("trigger", {})["n_seeds"] = max(1, round(n / 100))
    return scenario_from_dict(raw, source="<benchmark>")
