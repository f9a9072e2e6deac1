"""The one Classroom a ``newpower class`` server process shares between its pages.

``newpower class`` validates its arguments, builds a Classroom once to fail early, prints the
addresses, and replaces itself with the Solara server (as ``newpower ui`` does), handing the
settings over in environment variables (:func:`environment`). In the server, the app calls
:func:`current`, which builds the process's Classroom from them on first use: every page (the
teacher's and every student's) reads and changes the same one. Tests install their own
(:func:`install`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from sim.errors import ClassError
from sim.faces.classroom.session import Classroom

ENV_SCENARIO = "NEWPOWER_CLASS_SCENARIO"
ENV_PLACEMENT = "NEWPOWER_CLASS_PLACEMENT"
ENV_SEED = "NEWPOWER_CLASS_SEED"
ENV_MAX_STUDENTS = "NEWPOWER_CLASS_MAX_STUDENTS"
ENV_CROWD_STEPS = "NEWPOWER_CLASS_CROWD_STEPS"
ENV_OUT = "NEWPOWER_CLASS_OUT"
ENV_ALLOW_CODE = "NEWPOWER_CLASS_ALLOW_CODE"
ENV_TOKEN = "NEWPOWER_CLASS_TOKEN"
ENV_CODE = "NEWPOWER_CLASS_CODE"
#: The join address ``newpower class`` printed (the teacher page shows it and its QR code).
ENV_JOIN_URL = "NEWPOWER_CLASS_JOIN_URL"
#: The pages' paths: students join at the root; the teacher's view needs ``?token=``.
STUDENT_PATH = "/"
TEACHER_PATH = "/teacher"

_lock = threading.Lock()
_classroom: Classroom | None = None


@dataclass(frozen=True)
class Settings:
    """What ``newpower class`` passes to its server: how to build the Classroom, where results go."""

    scenario: str
    placement: str
    seed: int | None
    max_students: int
    crowd_steps: int
    out: str
    allow_code: bool
    teacher_token: str
    join_code: str
    join_url: str = ""

    def build(self) -> Classroom:
        """The Classroom these settings describe."""
        return Classroom(
            self.scenario or None,
            placement=self.placement,
            seed=self.seed,
            max_students=self.max_students,
            crowd_steps=self.crowd_steps,
            allow_code=self.allow_code,
            teacher_token=self.teacher_token,
            join_code=self.join_code,
        )

    def environment(self) -> dict[str, str]:
        """The environment variables that carry these settings to the server process."""
        return {
            ENV_SCENARIO: self.scenario,
            ENV_PLACEMENT: self.placement,
            ENV_SEED: "" if self.seed is None else str(self.seed),
            ENV_MAX_STUDENTS: str(self.max_students),
            ENV_CROWD_STEPS: str(self.crowd_steps),
            ENV_OUT: self.out,
            ENV_ALLOW_CODE: "1" if self.allow_code else "0",
            ENV_TOKEN: self.teacher_token,
            ENV_CODE: self.join_code,
            ENV_JOIN_URL: self.join_url,
        }

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> Settings:
        """The settings ``newpower class`` left in the environment (the defaults where it left none)."""
        env = os.environ if env is None else env
        try:
            seed = env.get(ENV_SEED, "")
            return cls(
                scenario=env.get(ENV_SCENARIO, ""),
                placement=env.get(ENV_PLACEMENT, "spread"),
                seed=int(seed) if seed else None,
                max_students=int(env.get(ENV_MAX_STUDENTS, "60")),
                crowd_steps=int(env.get(ENV_CROWD_STEPS, "1")),
                out=env.get(ENV_OUT, ""),
                allow_code=env.get(ENV_ALLOW_CODE, "") == "1",
                teacher_token=env.get(ENV_TOKEN, ""),
                join_code=env.get(ENV_CODE, ""),
                join_url=env.get(ENV_JOIN_URL, ""),
            )
        except ValueError as exc:
            raise ClassError(f"bad class settings in the environment: {exc}") from None


def current() -> Classroom:
    """This server's Classroom (built from the environment on first use)."""
    global _classroom
    with _lock:
        if _classroom is None:
            _classroom = Settings.from_environment().build()
        return _classroom


def install(classroom: Classroom | None) -> None:
    """Make ``classroom`` this process's Classroom (tests; None forgets it)."""
    global _classroom
    with _lock:
        _classroom = classroom


def results_folder() -> Path | None:
    """Where the teacher's "save results" writes (``newpower class --out``); None: a new folder in results/."""
    out = os.environ.get(ENV_OUT, "")
    return Path(out) if out else None


def join_url() -> str:
    """The join address ``newpower class`` printed ("" when the server was started otherwise)."""
    return os.environ.get(ENV_JOIN_URL, "")
