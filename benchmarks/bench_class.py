"""Class mode with 60 students: how long a round's close takes to reach every student's screen.

Starts ``newpower class`` (the teaching scenario, 2,000 participants), opens one headless Chromium
(the Debian package, as the browser tests use) with one browser context per student (60 by
default: each its own phone, with its own storage and websocket) and one for the teacher. Every
student joins with the code; then, for each round, the teacher opens it, every student picks one
of the choices their page offers at random (a few do not answer: they follow the model's rule),
and the teacher closes it. For every screen the page itself records (a MutationObserver, the
browser's clock) when it first shows the round closed; the time from the teacher's click on
"Close round" (the same clock) to that moment is the update latency. The same for "Open round".

Prints, per round, the median and the slowest screen against the target (< 1 s for every screen),
the server's CPU time, and the machine's load and CPU use: the 60 browsers run on the same two
cores as the server (in a class they are 60 phones, each with its own processor), so Chromium runs
at a lower priority (``nice 10``, ``--nice 0`` to turn it off) and the server is not starved by
its own audience. Other work on a shared machine still shows up in the numbers, so they are
printed with them.

    .venv/bin/python benchmarks/bench_class.py [--students 60] [--rounds 5] [--seed 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("NEWPOWER_CHROMIUM", "/usr/bin/chromium"))
TARGET_MS = 1000.0
SKIP_SHARE = 0.1  # students who do not answer a round (they follow the model's rule)
WAIT_MS = 120_000

#: Installed in each student's page before a click: records when the page first shows ``words``.
WATCH = """(words) => {
  window.__seen = null;
  const check = () => {
    const e = document.querySelector('.np-round-state');
    if (window.__seen === null && e && e.innerText.includes(words)) {
      window.__seen = performance.timeOrigin + performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  check();
}"""
#: Installed in the teacher's page: records when a button is clicked (the browser's clock).
CLICKS = """() => {
  window.__clicked = {};
  document.addEventListener('click', (e) => {
    for (const name of ['np-open-round', 'np-close-round']) {
      if (e.target.closest('.' + name)) window.__clicked[name] = performance.timeOrigin + performance.now();
    }
  }, true);
}"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def niced_chromium(folder: Path, niceness: int) -> Path:
    """Chromium started at a lower priority (a wrapper script); Chromium itself when ``niceness`` is 0."""
    if niceness == 0:
        return CHROMIUM
    wrapper = folder / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n {int(niceness)} "{CHROMIUM}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def start_server(students: int, out: Path) -> tuple[subprocess.Popen, str, str, str]:
    """``newpower class --no-open`` on a free port; returns it, its join URL, code and teacher URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = out.parent / "server.log"
    command = [sys.executable, "-m", "sim.faces.cli.main", "class", "--no-open", "--port", str(port)]
    command += ["--max-students", str(students), "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(REPO), SOLARA_TELEMETRY_MIXPANEL_ENABLE="False")
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    started = time.perf_counter()
    while time.perf_counter() - started < 180:
        if proc.poll() is not None:
            raise SystemExit(f"newpower class exited ({proc.returncode}); see {log}")
        text = log.read_text()
        code, teacher = re.search(r"join code:\s+(\S+)", text), re.search(r"teacher's view:\s+(\S+)", text)
        if code and teacher:
            join = teacher.group(1).split("/teacher")[0] + "/"
            try:
                urllib.request.urlopen(join, timeout=2).close()
                return proc, join, code.group(1), teacher.group(1)
            except OSError:
                pass
        time.sleep(0.25)
    raise SystemExit(f"newpower class did not answer within 180 s; see {log}")


def watch_all(phones, words: str) -> None:
    for page in phones:
        page.evaluate(WATCH, words)


def collect(phones, clicked_ms: float) -> list[float]:
    """Milliseconds from the click to each screen showing the change (waits for every screen)."""
    out = []
    for page in phones:
        page.wait_for_function("() => window.__seen !== null", timeout=WAIT_MS)
        out.append(page.evaluate("window.__seen") - clicked_ms)
    return out


def line(label: str, times: list[float]) -> str:
    median, worst = statistics.median(times), max(times)
    verdict = "PASS" if worst < TARGET_MS else "FAIL"
    return f"{label}: median {median:.0f} ms, slowest {worst:.0f} ms over {len(times)} screens [{verdict}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000, help="the students' random answers")
    parser.add_argument("--nice", type=int, default=10, help="Chromium's niceness (0: as the server)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server on a kill too (finally)
    rng = np.random.default_rng(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="bench-class-"))
    proc, join, code, teacher_url = start_server(args.students, folder / "results")
    print(
        f"machine: {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f} (1 min) at the start; "
        f"{args.students} students, Chromium at nice {args.nice}",
        flush=True,
    )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(niced_chromium(folder, args.nice)),
                args=["--no-sandbox", "--disable-gpu"],
                headless=True,
            )
            teacher = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            teacher.goto(teacher_url)
            teacher.wait_for_selector(".np-open-round", timeout=WAIT_MS)
            teacher.evaluate(CLICKS)
            started = time.perf_counter()
            phones = []
            for _ in range(args.students):
                page = browser.new_context(viewport={"width": 380, "height": 800}).new_page()
                page.goto(join, wait_until="commit")
                phones.append(page)
            for i, page in enumerate(phones):
                page.wait_for_selector(".np-join-button", timeout=WAIT_MS)
                page.get_by_label("Join code").fill(code)
                page.get_by_label("Nickname").fill(f"student{i + 1:02d}")
                page.click(".np-join-button")
            for page in phones:
                page.wait_for_selector(".np-level", timeout=WAIT_MS)
            print(f"{args.students} students joined in {time.perf_counter() - started:.0f} s", flush=True)
            closes, opens = [], []
            for r in range(1, args.rounds + 1):
                watch_all(phones, f"Round {r} is open")
                teacher.click(".np-open-round")
                opened = collect(phones, teacher.evaluate("window.__clicked['np-open-round']"))
                opens += opened
                for page in phones:
                    if rng.random() < SKIP_SHARE:
                        continue
                    buttons = page.locator(".np-choice")
                    buttons.nth(int(rng.integers(buttons.count()))).click()
                watch_all(phones, f"Round {r} is closed")
                cpu0, (busy0, total0) = cpu_seconds(proc.pid), machine_busy()
                teacher.click(".np-close-round")
                closed = collect(phones, teacher.evaluate("window.__clicked['np-close-round']"))
                cpu1, (busy1, total1) = cpu_seconds(proc.pid), machine_busy()
                closes += closed
                print(
                    f"round {r}: {line('close -> screens', closed)}; {line('open', opened)}; "
                    f"server CPU {cpu1 - cpu0:.2f} s during the close; machine "
                    f"{(busy1 - busy0) / max(total1 - total0, 1):.0%} busy, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            print(
                line(f"all {args.rounds} rounds, close_round -> every screen", closes)
                + f" (target < {TARGET_MS:.0f} ms)"
            )
            print(line(f"all {args.rounds} rounds, open_round -> every screen", opens))
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
