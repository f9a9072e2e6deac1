"""Helpers of scripts/mutation.sh: sample the mutants of a cosmic-ray session, summarize its results.

python scripts/mutation_tools.py sample SESSION N     # keep a seeded sample of N pending mutants
python scripts/mutation_tools.py summary SESSION SECONDS
"""

from __future__ import annotations

import random
import sys

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult


def sample(session: str, n: int) -> None:
    """Mark all but a seeded random sample of ``n`` pending mutants as skipped (0: keep all)."""
    if n <= 0:
        return
    with use_db(session, WorkDB.Mode.open) as db:
        pending = sorted(item.job_id for item in db.pending_work_items)
        keep = set(random.Random(2014).sample(pending, min(n, len(pending))))
        for job_id in pending:
            if job_id not in keep:
                db.set_result(job_id, WorkResult(output="not sampled", worker_outcome=WorkerOutcome.SKIPPED))


def summary(session: str, seconds: str) -> None:
    """Kill rate over the mutants run, and each survivor (module, line, operator, diff)."""
    with use_db(session, WorkDB.Mode.open) as db:
        results = list(db.results)
        items = {item.job_id: item for item in db.work_items}
    run = [(job, r) for job, r in results if r.worker_outcome == WorkerOutcome.NORMAL]
    killed = [job for job, r in run if r.test_outcome == TestOutcome.KILLED]
    survived = [(job, r) for job, r in run if r.test_outcome == TestOutcome.SURVIVED]
    other = [
        job for job, r in results if r.worker_outcome not in (WorkerOutcome.NORMAL, WorkerOutcome.SKIPPED)
    ]
    rate = len(killed) / len(run) if run else float("nan")
    print(f"mutants run: {len(run)}; killed: {len(killed)}; survived: {len(survived)}; kill rate {rate:.1%}")
    print(f"timeouts or errors (counted as killed by cosmic-ray, not here): {len(other)}")
    print(f"run time: {seconds} s")
    for job, r in survived:
        m = items[job].mutations[0]
        print(f"\nSURVIVED {m.module_path}:{m.start_pos[0]} {m.operator_name} #{m.occurrence}")
        print(r.diff)


if __name__ == "__main__":
    command, session, arg = sys.argv[1:4]
    {"sample": lambda: sample(session, int(arg)), "summary": lambda: summary(session, arg)}[command]()
