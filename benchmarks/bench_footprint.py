"""Re-measure the memory constants of ``sim/model/footprint.py``.

Every case (a graph source and a driver) is built and run for 3 steps in a fresh
process at several sizes; the process reports its resident memory before the build
and its peak after (``VmHWM`` of ``/proc/self/status``, reset just before the build
through ``/proc/self/clear_refs``; ``ru_maxrss`` of ``resource.getrusage`` where that is
unavailable). The script fits ``peak - before = fixed + per_node * n + per_tie * ties`` to those
points, scales the fit up until it is at least ``1 + --headroom`` times every measured
point, and prints the table to paste into ``sim/model/footprint.py``.

    .venv/bin/python benchmarks/bench_footprint.py              # everything: about an hour on 2 busy cores
    .venv/bin/python benchmarks/bench_footprint.py --quick      # smaller sizes: a few minutes
    .venv/bin/python benchmarks/bench_footprint.py --kinds watts_strogatz --drivers vectorized

``tests/test_footprint.py`` runs one case through ``measure`` (the ``child`` command below)
and checks the estimate against it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sim.config.scenario import MAX_COMPLETE, NETWORK_KINDS

ROOT = Path(__file__).resolve().parent.parent
KINDS = NETWORK_KINDS
DRIVERS = ("vectorized", "agents")
STEPS = 3


# ------------------------------------------------------------ the child process


def _status(field: str) -> int | None:
    """A ``/proc/self/status`` field in bytes (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the peak resident size (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak(reset: bool) -> int:
    hwm = _status("VmHWM") if reset else None
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def scenario_dict(kind: str, n: int, z: float, path: str = "") -> dict:
    """The measured scenario: the flagship's two organizations, 1% seeds, the given network."""
    network = {"kind": kind, "n": n, "mean_degree": z} if not path else {"kind": kind, "path": path}
    return {
        "network": network,
        "trigger": {"n_seeds": max(1, n // 100), "level": "SHAPING", "organization": "Commons"},
        "organizations": [
            {"name": "Gazette", "kind": "institution", "initial_share": 0.5},
            {"name": "Commons", "kind": "platform", "initial_share": 0.03, "outreach": 0.02},
        ],
    }


def child(kind: str, n: int, z: float, driver: str, path: str, parse_only: bool) -> dict:
    """Build and run one case (or only parse its file) in this process; its memory in bytes."""
    from sim import run, scenario_from_dict
    from sim.model import network_files

    scenario = scenario_from_dict(scenario_dict(kind, n, z, path))
    gc.collect()
    before = _status("VmRSS") or 0
    reset = _reset_peak()
    start = time.perf_counter()
    if parse_only:
        reader = network_files._read_edge_list if kind == "edge_list" else network_files._read_graphml
        with open(path, "rb") as fh:
            n, ends, *_ = reader(fh, Path(path), None)
        ties = len(ends) // 2
    else:
        result = run(scenario, seed=1, steps=STEPS, driver=driver)
        # From the adjacency: asking for model.graph would build a NetworkX graph an igraph run never has.
        n, ties = result.model.n_participants, result.model.adjacency.nnz // 2
    return {
        "kind": kind,
        "driver": "parse" if parse_only else driver,
        "n": n,
        "ties": ties,
        "file_bytes": os.path.getsize(path) if path else 0,
        "before": before,
        "peak": _peak(reset),
        "seconds": round(time.perf_counter() - start, 2),
    }


# ------------------------------------------------------------ the parent


def write_graph_file(kind: str, n: int, z: float, folder: Path) -> Path:
    """A Watts-Strogatz graph of n nodes and mean degree z as an edge list or GraphML file."""
    import networkx as nx

    graph = nx.watts_strogatz_graph(n, max(2, round(z / 2) * 2), 0.1, seed=1)
    path = folder / f"g{n}_{z:g}.{'txt' if kind == 'edge_list' else 'graphml'}"
    if kind == "edge_list":
        path.write_text("".join(f"{u} {v}\n" for u, v in graph.edges()))
    else:
        nx.write_graphml(graph, path)
    return path


def measure(
    kind: str,
    n: int,
    z: float,
    driver: str,
    *,
    folder: Path | None = None,
    parse_only: bool = False,
    env: dict | None = None,
) -> dict:
    """Run one case in a fresh process (writing its graph file to ``folder`` first for file kinds)."""
    path = ""
    if kind in ("edge_list", "graphml"):
        if folder is None:
            raise ValueError("file kinds need a folder for the graph file")
        path = str(write_graph_file(kind, n, z, folder))
    command = [sys.executable, __file__, "child", kind, str(n), str(z), driver, path or "-"]
    if parse_only:
        command.append("--parse-only")
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit(points: list[dict], headroom: float) -> tuple[float, float, float]:
    """(fixed, per_node, per_tie), non-negative, fitted in relative error, then scaled to cover every point."""
    from scipy.optimize import nnls

    y = np.array([p["peak"] - p["before"] for p in points], dtype=float)
    design = np.array([[1.0, p["n"], p["ties"]] for p in points])
    coefficients, _ = nnls(design / y[:, None], np.ones(len(points)))
    scale = max(y / (design @ coefficients)) * (1 + headroom)
    fixed, per_node, per_tie = coefficients * scale
    return fixed, per_node, per_tie


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--drivers", nargs="+", default=list(DRIVERS), choices=DRIVERS)
    parser.add_argument("--sizes", nargs="+", type=int, default=[20_000, 60_000, 150_000])
    parser.add_argument(
        "--agent-sizes",
        nargs="+",
        type=int,
        default=[10_000, 40_000],
        help="sizes for the agents driver (its steps are slow; its memory is as linear)",
    )
    parser.add_argument("--degrees", nargs="+", type=float, default=[4.0, 20.0])
    parser.add_argument("--quick", action="store_true", help="sizes 10,000 and 40,000")
    parser.add_argument("--headroom", type=float, default=0.1, help="margin over the highest point")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args(argv)
    sizes = [10_000, 40_000] if args.quick else args.sizes
    agent_sizes = [5_000, 20_000] if args.quick else args.agent_sizes
    print(f"# {platform.platform()}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cold = {"NUMBA_CACHE_DIR": str(folder / "numba")}  # the first run compiles the kernels
        fixed = max(
            (measure("watts_strogatz", 200, 10, d, env=cold) for d in args.drivers),
            key=lambda p: p["peak"] - p["before"],
        )
        fixed_bytes = fixed["peak"] - fixed["before"]
        print(f"FIXED: {fixed_bytes / 1e6:.1f} MB at n=200 with a cold Numba cache", file=sys.stderr)
        table, parse = {}, {}
        for kind in args.kinds:
            for driver in args.drivers:
                at = agent_sizes if driver == "agents" else sizes
                if kind == "complete":  # at most MAX_COMPLETE participants; every tie is there
                    at = [300, MAX_COMPLETE]
                points = [measure(kind, n, z, driver, folder=folder) for n in at for z in args.degrees]
                records += points
                for p in points:
                    print(
                        f"{kind:17} {driver:10} n={p['n']:>8} ties={p['ties']:>9} "
                        f"peak-before={(p['peak'] - p['before']) / 1e6:8.1f} MB  {p['seconds']:6.1f} s",
                        file=sys.stderr,
                    )
                table[kind, driver] = fit(points, args.headroom)
            if kind == "graphml":  # an edge list is checked while it is read, not by its size
                read = [
                    measure(kind, max(sizes), z, "-", folder=folder, parse_only=True) for z in args.degrees
                ]
                records += read
                parse[kind] = max((p["peak"] - p["before"]) / p["file_bytes"] for p in read) * (
                    1 + args.headroom
                )
    fixed_all = max([fixed_bytes * (1 + args.headroom)] + [c[0] for c in table.values()])
    print(f"FIXED = {fixed_all:.3e}")
    print("COSTS: dict[tuple[str, str], Cost] = {")
    for (kind, driver), (_, per_node, per_tie) in table.items():
        print(f'    ("{kind}", "{driver}"): Cost({per_node:.0f}, {per_tie:.0f}),')
    print("}")
    print(
        "PARSE_PER_BYTE: dict[str, float] = {" + ", ".join(f'"{k}": {v:.1f}' for k, v in parse.items()) + "}"
    )
    if args.json:
        args.json.write_text(json.dumps({"fixed": fixed, "points": records}, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        kind, n, z, driver, path = sys.argv[2:7]
        result = child(
            kind, int(n), float(z), driver, "" if path == "-" else path, "--parse-only" in sys.argv
        )
        print(json.dumps(result))
        raise SystemExit(0)
    raise SystemExit(main())
