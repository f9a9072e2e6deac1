"""``newpower ui``: serve the teaching page (``sim/faces/teaching/app.py``) with Solara.

``sim/faces/cli/main.py`` adds this sub-command with :func:`register`. The page is served on
127.0.0.1 unless ``--host`` exposes it deliberately (for example ``--host 0.0.0.0`` to
let a class connect from their own devices). The scenario is validated before the
server starts, so a bad file stops with one clear message, like ``newpower run``. A
strategy the scenario names by import path (``"module:Class"``) is imported only with
``--allow-code``: importing a module runs its code.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

from sim.errors import SimError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP = Path(__file__).resolve().parents[1] / "teaching" / "app.py"
#: The npm packages the page's browser side loads, as Solara 1.64 names them; :func:`required_assets`
#: reads the versions from the installed Solara, so a Solara upgrade asks for the right ones.
KNOWN_ASSETS = (
    "@widgetti/solara-vuetify-app@10.1.1",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``ui`` sub-command to ``newpower``'s sub-parsers; return its parser."""
    ui = subparsers.add_parser(
        "ui",
        help="serve the teaching page in a browser (Solara, Mesa's SolaraViz)",
        description="Serve the teaching page: sliders, Play/Step/Reset, shock buttons, the network, "
        "the New Power Compass. Each browser tab gets its own model.",
    )
    server_arguments(ui, DEFAULT_PORT, "the page")
    ui.add_argument(
        "--organization",
        default="",
        metavar="NAME",
        help="the organization the sliders and shock buttons act on (default: the first)",
    )
    ui.set_defaults(handler=cmd_ui)
    return ui


def server_arguments(parser: argparse.ArgumentParser, port: int, what: str) -> None:
    """The arguments every served page takes: the scenario, where to listen, --no-open, --allow-code."""
    parser.add_argument(
        "scenario",
        nargs="?",
        default=None,
        help="scenario TOML file or library name (default: teaching_surge)",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
        f"0.0.0.0 exposes {what} to the local network)",
    )
    parser.add_argument("--port", type=int, default=port, help=f"port (default {port})")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser window")
    parser.add_argument(
        "--allow-code",
        action="store_true",
        help="let the scenario's strategies named 'module:Class' import their module (it runs its code)",
    )


def server_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The Solara command line and environment that serve the page for these arguments."""
    from sim.faces.teaching.lesson import ENV_ALLOW_CODE, ENV_ORGANIZATION, ENV_SCENARIO

    settings = {
        ENV_SCENARIO: str(scenario_file(args.scenario).resolve()),
        ENV_ORGANIZATION: args.organization or "",
        ENV_ALLOW_CODE: "1" if getattr(args, "allow_code", False) else "0",
    }
    return solara_run(APP, args, settings)


def solara_run(
    app: Path, args: argparse.Namespace, settings: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """``solara run APP`` on ``args.host`` and ``args.port``, with ``settings`` added to the environment."""
    env = {**os.environ, **settings}
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"  # no call home
    command = [
        *solara_program(),
        "run",
        str(app),
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
    ]
    if args.no_open:
        command.append("--no-open")
    return command, env


def solara_program() -> list[str]:
    """The ``solara`` command of this environment (beside its Python), else the one on the PATH."""
    solara = Path(sys.executable).with_name("solara")
    return [str(solara)] if solara.exists() else [shutil.which("solara") or "solara"]


def scenario_file(scenario: str | None) -> Path:
    """The file ``newpower ui SCENARIO`` serves: a path, a library name, or the teaching scenario."""
    from sim.config.source import find_scenario
    from sim.errors import ScenarioError
    from sim.faces.teaching.lesson import DEFAULT_SCENARIO

    if not scenario:
        return DEFAULT_SCENARIO
    try:
        return find_scenario(scenario)
    except ScenarioError:
        return Path(scenario)  # cmd_ui has said what is wrong with it before serving


def required_assets() -> list[str]:
    """The npm packages (``name@version``) the page needs, read from the installed Solara.

    The app shell and RequireJS from Solara's page template, the grid SolaraViz lays its
    panels on from Solara's grid widget, Font Awesome from Solara's settings. The page draws
    with matplotlib and renders its notice as HTML, so it needs no Vega, KaTeX or Mermaid.
    """
    try:
        import solara
        from solara.server.settings import assets
    except ImportError:
        return list(KNOWN_ASSETS)
    base = Path(solara.__file__).parent
    found = []
    sources = [
        (base / "server" / "templates" / "solara.html.j2", r"@widgetti/solara-vuetify-app@[\w.\-]+"),
        (base / "widgets" / "vue" / "gridlayout.vue", r"@widgetti/vue-grid-layout@[\w.\-]+"),
        (base / "server" / "templates" / "solara.html.j2", r"requirejs@[\w.\-]+"),
    ]
    for path, pattern in sources:
        match = re.search(pattern, path.read_text()) if path.is_file() else None
        found.append(match.group(0) if match else None)
    match = re.match(r"/?([^/]+@[^/]+)/", assets.fontawesome_path)
    found.append(match.group(1) if match else None)
    return [name or known for name, known in zip(found, KNOWN_ASSETS)]


def missing_assets() -> list[str]:
    """The page's npm packages that are not in this environment's local CDN folder."""
    try:
        from solara.server.settings import assets
    except ImportError:
        return list(KNOWN_ASSETS)
    return [name for name in required_assets() if not (Path(assets.proxy_cache_dir) / name).is_dir()]


def cmd_ui(args: argparse.Namespace) -> int:
    """``newpower ui``: validate the scenario, then replace this process with the Solara server."""
    try:
        import mesa.visualization  # noqa: F401
        import solara  # noqa: F401
    except ImportError as exc:
        raise SimError(
            f"the teaching page needs the viz extra ({exc.name} is missing); "
            "install it with: pip install -e '.[viz]'"
        ) from None
    if not 0 < args.port < 65536:
        raise SimError(f"--port {args.port} is not a port number; allowed: 1-65535")
    from sim.config.source import find_scenario
    from sim.faces.teaching.lesson import DEFAULT_SCENARIO, TeachingModel, focus_name
    from sim.model.catalog import load_scenario

    path = find_scenario(args.scenario) if args.scenario else DEFAULT_SCENARIO
    # a bad file stops here with one clear message; user code is imported only if allowed
    scenario = load_scenario(path, allow_code=args.allow_code)
    focus = focus_name(scenario, args.organization or "")
    TeachingModel(
        scenario_file=str(path), focus=focus, allow_code=args.allow_code
    )  # fails now, not in the browser
    missing = missing_assets()
    if missing:
        print(
            "newpower ui: warning: Solara's browser files are not installed locally "
            f"({', '.join(missing)}); without internet the page stays blank. "
            "Run: bash scripts/install_ui_assets.sh",
            file=sys.stderr,
        )
    command, env = server_command(args)
    where = "this machine only" if args.host in ("127.0.0.1", "localhost", "::1") else "the network"
    print(f"newpower ui: {scenario.name} ({path}); sliders and shocks act on {focus or '(no organization)'}")
    print(f"newpower ui: serving http://{args.host}:{args.port}/ to {where}; Ctrl+C stops it", flush=True)
    os.execvpe(command[0], command, env)
    return 0  # pragma: no cover  (execve does not return)
