"""Class mode's core without a browser: 60 students, rounds at the default scenario size.

Builds a Classroom on ``teaching_surge`` (2,000 participants), lets 60 students join (spread),
then runs rounds in which every student answers with a choice drawn from what the model allows
(a seeded generator of this script, never the model's), and times, in CPU and wall-clock
seconds: building the class (model, burn-in, placement), 60 joins, 60 submits, ``close_round``
(one model step with 60 human-chosen participants plus the round's records), ``screen()`` for
all 60 students, and the same step without students (``PowerModel.step`` on an identical model),
so the cost of the students is the difference of two numbers from the same run. It also
measures 60 threads submitting at once. The browser side (Solara, 60 Playwright contexts) is
``benchmarks/bench_class.py``.

Run from the repository root: ``.venv/bin/python benchmarks/bench_class_core.py [--rounds 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np

from sim.faces.classroom.session import Classroom
from sim.model.power_model import PowerModel


def timed(fn) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1010)
    args = parser.parse_args()
    pick = np.random.default_rng(args.seed)
    holder = {}
    print(f"build: cpu {timed(lambda: holder.update(room=Classroom(seed=args.seed)))[0]:.3f} s")
    room = holder["room"]
    plain = PowerModel(room.scenario, rng=args.seed)
    token = room.teacher_token
    tickets = []
    cpu, _ = timed(lambda: tickets.extend(room.join(room.join_code, f"s{i}") for i in range(args.students)))
    print(f"{args.students} joins: cpu {cpu * 1000:.1f} ms; participants: {room.model.n_participants}")
    closes, submits, screens, bare = [], [], [], []
    for _ in range(args.rounds):
        r = room.open_round(token)

        def answer(r=r):
            for t in tickets:
                allowed = room.screen(t.rejoin_code).allowed
                room.submit(t.rejoin_code, r, allowed[pick.integers(len(allowed))])

        submits.append(timed(answer)[0])
        closes.append(timed(lambda: room.close_round(token))[0])
        screens.append(timed(lambda: [room.screen(t.rejoin_code) for t in tickets])[0])
        bare.append(timed(plain.step)[0])
    ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, max {max(xs) * 1000:.1f} ms"
    print(f"close_round ({args.students} students): cpu {ms(closes)}")
    print(f"the same step without students:  cpu {ms(bare)}")
    print(f"{args.students} screens + submits:          cpu {ms(submits)}")
    print(f"{args.students} screens:                    cpu {ms(screens)}")
    r = room.open_round(token)
    barrier = threading.Barrier(args.students)
    accepted = []

    def one(t):
        barrier.wait()
        accepted.append(room.submit(t.rejoin_code, r, "stay"))

    threads = [threading.Thread(target=one, args=(t,)) for t in tickets]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(
        f"{args.students} threads submitting at once: {time.perf_counter() - wall:.3f} s wall, {sum(accepted)} accepted"
    )
    print(f"security log: {len(room.log)} events")


if __name__ == "__main__":
    main()
