"""Class mode in a real browser: a teacher and five students, each in their own browser context.

The test starts ``newpower class`` itself on a free port (the command a teacher runs), reads the
join code and the teacher's address it prints, and drives headless Chromium (the Debian
package) with Playwright, as tests/test_app.py does; a missing browser skips with the reason
(fails in CI). One test plays a whole short class in order, because every step depends on the
one before (and so that pytest-xdist never splits a class between two servers): joining, an
escaped nickname, rounds answered and closed, a shock on every phone, forged and replayed
choices refused and logged, a reload that keeps its participant, the debrief and the results.

The screenshots of docs/teaching.md's class lesson are written to the test's temporary folder
(and, with ``NEWPOWER_UPDATE_DOCS_IMG=1``, to docs/img/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT
from test_app import (
    _free_port,
    _requirements,
    browser,  # noqa: F401  (the browser tests' Chromium, a fixture)
    stop_server,
)

#: The browser tests share one xdist worker (`--dist loadgroup`): two Chromiums with their servers
#: at once starve each other on a 2-core machine.
pytestmark = pytest.mark.xdist_group("browser")

TEACHER_VIEWPORT = {"width": 1600, "height": 1000}
PHONE = {"width": 380, "height": 800}
WAIT_MS = 30_000
SERVER_TIMEOUT = 120
NICKNAMES = ("Ada", "<b>Bo</b>", "Cy", "Di", "Ed")
DOCS_IMG = ROOT / "docs" / "img"


def start_class(out: Path, log_path: Path) -> tuple[subprocess.Popen, str, str, str]:
    """``newpower class --no-open`` on a free port: the process, its join URL, join code and teacher URL."""
    port = _free_port()
    command = [sys.executable, "-m", "sim.faces.cli.main", "class", "--no-open", "--port", str(port)]
    command += ["--seed", "1003", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), SOLARA_TELEMETRY_MIXPANEL_ENABLE="False")
    log = open(log_path, "w")  # noqa: SIM115  (closed by stop())
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    proc.log = log
    started = time.perf_counter()
    join = code = teacher = ""
    while True:
        if proc.poll() is not None:
            pytest.fail(f"newpower class exited with code {proc.returncode}; see {log_path}", pytrace=False)
        text = log_path.read_text()
        found = re.search(r"join code:\s+(\S+)", text), re.search(r"teacher's view:\s+(\S+)", text)
        if all(found):
            code, teacher = found[0].group(1), found[1].group(1)
            join = teacher.split("/teacher")[0] + "/"
            try:
                urllib.request.urlopen(join, timeout=2).close()
                return proc, join, code, teacher
            except OSError:
                pass
        if time.perf_counter() - started > SERVER_TIMEOUT:
            stop(proc)
            pytest.fail(
                f"newpower class did not answer within {SERVER_TIMEOUT} s; see {log_path}", pytrace=False
            )
        time.sleep(0.25)


def stop(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group and close its log."""
    stop_server(proc)
    proc.log.close()


class Phone:
    """One student's phone: a browser context of its own (its own localStorage)."""

    def __init__(self, chromium, url: str) -> None:
        self.context = chromium.new_context(viewport=PHONE)
        self.page = self.context.new_page()
        self.page.goto(url)

    def join(self, code: str, nickname: str) -> None:
        self.page.wait_for_selector(".np-join-button", timeout=WAIT_MS * 2)
        self.page.get_by_label("Join code").fill(code)
        self.page.get_by_label("Nickname").fill(nickname)
        self.page.click(".np-join-button")
        self.page.wait_for_selector(".np-level", timeout=WAIT_MS)

    def text(self, name: str) -> str:
        return self.page.inner_text(f".np-{name}")

    def wait_for(self, name: str, words: str) -> None:
        """Wait until ``.np-<name>`` holds ``words``."""
        self.page.wait_for_function(
            "([sel, words]) => { const e = document.querySelector(sel); return e && e.innerText.includes(words); }",
            arg=[f".np-{name}", words],
            timeout=WAIT_MS,
        )

    def send(self, **message) -> None:
        """Send a choice message as a tampered page would: straight to the server, bypassing the buttons."""
        self.page.evaluate("(m) => document.querySelector('.np-choices').__vue__.choose(m)", message)

    @property
    def participant(self) -> int:
        return self.page.evaluate("() => document.querySelector('.np-choices').__vue__.participant")


def shot(page, folder: Path, name: str) -> None:
    """A screenshot into the test's folder (and docs/img/ with NEWPOWER_UPDATE_DOCS_IMG=1)."""
    path = folder / name
    page.screenshot(path=str(path))
    if os.environ.get("NEWPOWER_UPDATE_DOCS_IMG") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        (DOCS_IMG / name).write_bytes(path.read_bytes())


def test_a_class_session_in_the_browser(browser, tmp_path):  # noqa: F811  (the fixture imported above)
    """A teacher and five students through a short class, as docs/teaching.md's class lesson runs it."""
    _requirements()
    out = tmp_path / "class-results"
    proc, join_url, code, teacher_url = start_class(out, tmp_path / "server.log")
    requests: list[str] = []
    try:
        # The teacher's page needs the token; without it, nothing of the class shows.
        intruder = browser.new_context().new_page()
        intruder.goto(join_url + "teacher?token=guess")
        intruder.wait_for_selector(".np-no-token", timeout=WAIT_MS * 2)
        assert intruder.locator(".np-join-code").count() == 0
        intruder.context.close()

        teacher = browser.new_context(viewport=TEACHER_VIEWPORT).new_page()
        teacher.on("request", lambda r: requests.append(r.url))
        teacher.goto(teacher_url)
        teacher.wait_for_selector(".np-join-code", timeout=WAIT_MS * 2)
        assert teacher.inner_text(".np-join-code") == code
        assert teacher.inner_text(".np-join-address") == join_url  # as newpower class printed it
        assert teacher.locator(".np-qr svg").count() == 1  # the QR code, drawn on the server

        # Join: five phones; a wrong code is refused on the page.
        phones = [Phone(browser, join_url) for _ in NICKNAMES]
        phones[0].page.wait_for_selector(".np-join-button", timeout=WAIT_MS * 2)
        phones[0].page.get_by_label("Join code").fill("WRONG1")
        phones[0].page.get_by_label("Nickname").fill("Ada")
        phones[0].page.click(".np-join-button")
        phones[0].wait_for("join-error", "wrong join code")
        for phone, nickname in zip(phones, NICKNAMES):
            phone.join(code, nickname)
        teacher.wait_for_function(
            "() => document.querySelectorAll('.np-student-row').length === 5", timeout=WAIT_MS
        )
        # A nickname is text, never markup, on both pages.
        assert phones[1].text("nickname") == "Hello, <b>Bo</b>"
        assert "<b>Bo</b>" in teacher.inner_text(".np-students")
        assert teacher.locator(".np-students b").count() == 0
        assert phones[1].page.locator(".np-student b").count() == 0

        # Round 1: four answer, one does not; the teacher sees who answered.
        teacher.click(".np-open-round")
        for phone in phones:
            phone.wait_for("round-state", "Round 1 is open")
        allowed = phones[0].page.locator(".np-choice").all_inner_texts()
        assert allowed and all(t.split()[0] in ("Climb", "Stay", "Slip", "Leave", "Join") for t in allowed)
        for phone in phones[:4]:
            phone.page.locator(".np-choice").first.click()
            phone.wait_for("round-state", "your answer is in")
        teacher.wait_for_function(
            "() => document.querySelector('.np-round-line').innerText.includes('4 of 5 answered')",
            timeout=WAIT_MS,
        )

        # Forged and replayed: another student's participant, a closed round, a second answer.
        assert phones[0].participant != phones[4].participant
        phones[4].send(round=1, choice="stay", participant=phones[0].participant)
        phones[4].wait_for("refused", "not accepted")
        phones[0].send(round=1, choice="stay", participant=phones[0].participant)  # answered already
        phones[0].wait_for("refused", "not accepted")
        teacher.click(".np-close-round")
        for phone in phones:
            phone.wait_for("round-state", "Round 1 is closed")
        phones[4].send(round=1, choice="stay", participant=phones[4].participant)  # the round is closed
        phones[4].wait_for("refused", "not accepted")
        teacher.wait_for_function(  # the teacher sees the refusals (and the wrong join code) at once
            "() => { const e = document.querySelector('.np-security'); return e && parseInt(e.innerText) >= 4; }",
            timeout=WAIT_MS,
        )
        teacher.click(".np-shock-viral_moment")  # as lesson 4 does: a surge, then the crowd runs
        for phone in phones:
            phone.wait_for("message", "Viral moment")
        teacher.click(".np-run-crowd")
        teacher.click(".np-open-round")
        for phone in phones:
            phone.wait_for("round-state", "Round 2 is open")

        # A shock reaches every phone.
        teacher.click(".np-shock-leak")
        for phone in phones:
            phone.wait_for("message", "Leak")
        members = [p for p in phones if "Hive" in p.text("organization")] or phones
        shot(members[0].page, tmp_path, "class-student.png")

        # A reload (or a lost connection) gives the same participant back.
        before = phones[2].participant, phones[2].text("rejoin-code")
        phones[2].page.reload()
        phones[2].page.wait_for_selector(".np-level", timeout=WAIT_MS * 2)
        assert (phones[2].participant, phones[2].text("rejoin-code")) == before
        assert phones[2].text("nickname") == "Hello, Cy"
        for phone in phones:
            phone.page.locator(".np-choice").first.click()
        teacher.wait_for_function(
            "() => document.querySelector('.np-round-line').innerText.includes('5 of 5 answered')",
            timeout=WAIT_MS,
        )
        shot(teacher, tmp_path, "class-teacher.png")
        teacher.click(".np-close-round")
        for phone in phones:
            phone.wait_for("round-state", "Round 2 is closed")
        assert teacher.locator(".np-students .np-student-row").count() == 5  # the reload added no one

        # A phone whose browser dies shows offline on the teacher's page within seconds, not when
        # Solara culls its kernel a day later; the others stay online. A dying browser sends no
        # "page closed" beacon: the page's beacon is disabled, so only its connection drops.
        assert teacher.locator(".np-students .np-offline").count() == 0
        phones[3].page.evaluate("() => { navigator.sendBeacon = () => true; }")
        phones[3].page.close()
        teacher.wait_for_function(
            "(name) => [...document.querySelectorAll('.np-student-row')].some("
            "r => r.innerText.startsWith(name) && r.querySelector('.np-offline'))",
            arg=NICKNAMES[3],
            timeout=WAIT_MS,
        )
        assert teacher.locator(".np-students .np-offline").count() == 1

        # The debrief, and the results folder with the security log.
        teacher.click(".np-show-debrief")
        teacher.wait_for_selector(".np-debrief-table", timeout=WAIT_MS)
        table = teacher.inner_text(".np-debrief-table")
        assert all(name in table for name in NICKNAMES)
        shot(teacher, tmp_path, "class-debrief.png")
        teacher.click(".np-save")
        teacher.wait_for_selector(".np-saved", timeout=WAIT_MS * 6)  # tables and figures: seconds
        assert teacher.inner_text(".np-saved").startswith("Saved: ")
        saved = sorted(p.name for p in out.iterdir())
        assert saved, "save results wrote nothing"
        security = set(pd.read_parquet(next(out.rglob("class_security.parquet")))["event"])
        assert {"forged participant", "replayed choice", "wrong round", "wrong join code"} <= security

        outside = [u for u in requests if not u.startswith((join_url, "blob:", "data:", "ws://127.0.0.1"))]
        assert outside == [], f"requests leaving the machine: {outside}"
    finally:
        stop(proc)
