"""``newpower class``: serve class mode (``sim/faces/classroom/app.py``): the class is the crowd.

``sim/faces/cli/main.py`` adds this sub-command with :func:`register`. Like ``newpower ui`` it
listens on 127.0.0.1 unless ``--host`` exposes it deliberately (``--host 0.0.0.0`` lets students
connect from their phones; a warning says so). Before the server starts it validates the
scenario by building the class once, then prints the join address, the join code, and the
teacher's address with the teacher's token (the token is the teacher's password: whoever has
it runs the class). The server builds its Classroom from the same settings
(``sim.faces.classroom.serve``), so the printed code and token are the ones it accepts.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from sim.errors import SimError
from sim.faces.cli.ui import missing_assets, server_arguments, solara_run

DEFAULT_PORT = 8766
APP = Path(__file__).resolve().parents[1] / "classroom" / "app.py"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``class`` sub-command to ``newpower``'s sub-parsers; return its parser."""
    cls = subparsers.add_parser(
        "class",
        help="class mode: students join the network from their phones and are its participants",
        description="Serve class mode: a teacher view (rounds, shocks, the network) and a phone page for "
        "each student, whose choices replace the model's rules for their own participant.",
    )
    server_arguments(cls, DEFAULT_PORT, "the class")
    cls.add_argument(
        "--placement",
        choices=("spread", "clustered"),
        default="spread",
        help="students' participants spread over the network (default) or in one neighbourhood",
    )
    cls.add_argument("--seed", type=int, default=None, help="the model's seed (default: the scenario's)")
    cls.add_argument(
        "--max-students", type=int, default=60, metavar="N", help="students at most (default 60)"
    )
    cls.add_argument(
        "--crowd-steps", type=int, default=1, metavar="N", help="steps 'run the crowd' runs (default 1)"
    )
    cls.add_argument(
        "--out", default="", metavar="DIR", help="the class's results folder (default: a new one in results/)"
    )
    cls.set_defaults(handler=cmd_class)
    return cls


def prepare(args: argparse.Namespace):
    """Validate the arguments and build the class once: returns the server's ``Settings`` and the Classroom."""
    from sim.faces.classroom.serve import Settings
    from sim.faces.classroom.session import new_join_code, new_token

    if not 0 < args.port < 65536:
        raise SimError(f"--port {args.port} is not a port number; allowed: 1-65535")
    if args.out and Path(args.out).exists() and any(Path(args.out).iterdir()):
        raise SimError(
            f"--out {args.out}: the folder holds files; results are never overwritten: choose a new one"
        )
    from sim.config.source import find_scenario

    scenario = str(find_scenario(args.scenario).resolve()) if args.scenario else ""
    token = new_token()
    settings = Settings(
        scenario=scenario,
        placement=args.placement,
        seed=args.seed,
        max_students=args.max_students,
        crowd_steps=args.crowd_steps,
        out=str(Path(args.out).resolve()) if args.out else "",
        allow_code=args.allow_code,
        teacher_token=token,
        join_code=new_join_code(),
        join_url=addresses(args.host, args.port, token)[0],
    )
    return settings, settings.build()  # a bad scenario or setting stops here, not in the browser


def addresses(host: str, port: int, token: str) -> tuple[str, str]:
    """The students' join address and the teacher's address (with the token) as printed."""
    from sim.faces.classroom.serve import TEACHER_PATH

    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = _this_machine()
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    return f"{base}/", f"{base}{TEACHER_PATH}?token={token}"


def _this_machine() -> str:
    """This machine's address on the local network, as students' phones reach it (best guess)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # a documentation address: nothing is sent
            return probe.getsockname()[0]
    except OSError:
        return socket.gethostname()


def announce(args: argparse.Namespace, settings, room, out=None, err=None) -> None:
    """Print what the teacher needs: where students join, the join code, the teacher's address."""
    out, err = out or sys.stdout, err or sys.stderr
    teacher = addresses(args.host, args.port, settings.teacher_token)[1]
    join = settings.join_url
    if args.host not in LOOPBACK:
        print(
            f"newpower class: warning: listening on {args.host}: anyone on this network can open the join page; "
            "keep the teacher's address to yourself",
            file=err,
        )
    print(
        f"newpower class: {room.scenario.name} ({room.path}), {room.model.n_participants} participants, "
        f"students {args.placement}, at most {args.max_students}",
        file=out,
    )
    print(f"  students join at: {join}", file=out)
    print(f"  join code:        {settings.join_code}", file=out)
    print(f"  teacher's view:   {teacher}", file=out)
    print(f"  (teacher's token: {settings.teacher_token}; Ctrl+C ends the class)", file=out, flush=True)


def server_command(args: argparse.Namespace, settings) -> tuple[list[str], dict[str, str]]:
    """The Solara command line and environment that serve class mode."""
    return solara_run(APP, args, settings.environment())


def cmd_class(args: argparse.Namespace) -> int:
    """``newpower class``: validate, build the class once, print the addresses, then serve."""
    try:
        import solara  # noqa: F401
    except ImportError as exc:
        raise SimError(
            f"class mode needs the viz extra ({exc.name} is missing); install it with: pip install -e '.[viz]'"
        ) from None
    settings, room = prepare(args)
    if not APP.is_file():
        raise SimError(f"class mode's pages are not installed ({APP} is missing)")
    missing = missing_assets()
    if missing:
        print(
            "newpower class: warning: Solara's browser files are not installed locally "
            f"({', '.join(missing)}); without internet the pages stay blank. Run: bash scripts/install_ui_assets.sh",
            file=sys.stderr,
        )
    announce(args, settings, room)
    command, env = server_command(args, settings)
    os.execvpe(command[0], command, env)
    return 0  # pragma: no cover  (execve does not return)
