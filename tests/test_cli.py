"""The ``newpower`` command line: version, help, ``run``, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CASTLE, ROOT, WATTS

import sim
from sim.faces.cli.main import main, parse_overrides

TINY = ["--set", "network.n=200", "--steps", "5"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Call ``main`` and return (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *parts: str) -> None:
    """Exit code 2, nothing on stdout, one stderr line starting ``newpower: error:``, no traceback."""
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("newpower: error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"


def test_version(capsys):
    """``--version`` prints the package version and exits 0."""
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"newpower {sim.__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"]])
def test_help(capsys, argv):
    """``--help`` (top level and for ``run``) prints usage and exits 0."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: newpower")
    assert "run" in out


def test_no_command_prints_help(capsys):
    """With no sub-command the help is printed and the exit code is 0."""
    code, out, _ = run_cli(capsys)
    assert code == 0 and "usage: newpower" in out


def summary_lines(out: str) -> list[str]:
    """The printed summary: the lines before the results folder and timing are reported."""
    lines = out.splitlines()
    cut = next((i for i, line in enumerate(lines) if line.startswith("Results in")), len(lines))
    return lines[:cut]


def test_run_prints_summary(capsys, tmp_path):
    """``run`` on a tiny override prints the scenario, the run line and every summary measure,
    and saves its results where ``--out`` says."""
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "run", str(WATTS), *TINY, "--seed", "3", "--out", str(out_dir))
    assert code == 0, err
    lines = summary_lines(out)
    assert lines[0].startswith("watts_cascade: ")
    assert lines[1] == "seed 3, 5 steps, 200 participants, driver vectorized"
    for key in (
        "final_active_fraction",
        "peak_active_fraction",
        "peak_step",
        "half_life",
        "largest_desertion_cascade",
        "n_participants",
    ):
        assert any(line.split()[:1] == [key] for line in lines[2:]), key
    assert (out_dir / "manifest.json").is_file()


def test_run_with_organizations_and_both_drivers(capsys, tmp_path):
    """The flagship scenario runs from the command line; both drivers print the same measures."""
    argv = ["run", str(CASTLE), *TINY, "--set", "organizations.Commons.outreach=0.1"]
    code, vec, _ = run_cli(capsys, *argv, "--out", str(tmp_path / "vec"))
    assert code == 0
    assert any(line.split()[:1] == ["Gazette.desertion_share"] for line in summary_lines(vec)[2:])
    assert any(line.split()[:1] == ["Commons.final_quadrant"] for line in summary_lines(vec)[2:])
    code, agt, _ = run_cli(capsys, *argv, "--driver", "agents", "--out", str(tmp_path / "agt"))
    assert code == 0
    expected = [line.replace("driver vectorized", "driver agents") for line in summary_lines(vec)]
    assert summary_lines(agt) == expected


def test_parse_overrides_values():
    """``--set`` values are read as TOML (numbers, booleans, quoted strings), else as plain text."""
    got = parse_overrides(
        [
            "network.n=500",
            "network.mean_degree=3.5",
            "network.kind=erdos_renyi",
            'name="quoted"',
            "flag=true",
            " spaced.key = 7 ",
        ]
    )
    assert got == {
        "network.n": 500,
        "network.mean_degree": 3.5,
        "network.kind": "erdos_renyi",
        "name": "quoted",
        "flag": True,
        "spaced.key": 7,
    }


@pytest.mark.parametrize(
    "argv, parts",
    [
        (["run", "no/such/scenario.toml"], ["no/such/scenario.toml", "not found"]),
        (["run", str(WATTS), "--set", "network.nodes=5"], ["network.nodes", "unknown key", "override"]),
        (["run", str(WATTS), "--set", "network.n=1"], ["network.n", "2 to 1e+07", "override"]),
        (["run", str(WATTS), "--set", "network.kind=lattice"], ["network.kind", "lattice", "erdos_renyi"]),
        (["run", str(WATTS), "--set", "population.threshold=high"], ["population.threshold", "high"]),
        (["run", str(CASTLE), "--set", "organizations.Herald.openness=0.5"], ["Herald", "Gazette, Commons"]),
        (["run", str(WATTS), "--set", "network.n"], ["--set", "network.n", "key=value"]),
        (["run", str(WATTS), "--set", "=5"], ["--set", "key=value"]),
        (["run", str(WATTS), "--set", "network..n=5"], ["network..n"]),
        (["run", str(WATTS), "--set", "network.n.size=5"], ["network.n.size"]),
        (["run", str(WATTS), "--steps", "-1"], ["steps", "-1"]),
        (["run", str(WATTS), "--seed", "-3"], ["seed", "-3"]),
    ],
    ids=[
        "missing_file",
        "unknown_key",
        "bad_value",
        "bad_choice",
        "wrong_type",
        "unknown_org",
        "set_without_equals",
        "set_without_key",
        "set_empty_part",
        "set_through_value",
        "negative_steps",
        "negative_seed",
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, tmp_path, argv, parts):
    """User mistakes exit with code 2 and one ``newpower: error:`` line naming what is wrong, no traceback;
    no results folder is left behind."""
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, *argv, "--out", str(out_dir))
    assert_one_line_error(code, out, err, *parts)
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_invalid_toml_file(capsys, tmp_path):
    """A scenario file that is not valid TOML is a one-line error naming the file."""
    bad = tmp_path / "broken.toml"
    bad.write_text("[network\nn = 3\n")
    code, out, err = run_cli(capsys, "run", str(bad), "--out", str(tmp_path / "out"))
    assert_one_line_error(code, out, err, str(bad), "TOML")


def test_missing_network_file(capsys, tmp_path):
    """A scenario whose graph file is missing is a one-line error naming the graph file."""
    scenario = tmp_path / "s.toml"
    scenario.write_text('[network]\nkind = "edge_list"\npath = "ties.txt"\n')
    code, out, err = run_cli(capsys, "run", str(scenario), "--steps", "1", "--out", str(tmp_path / "out"))
    assert_one_line_error(code, out, err, str(tmp_path / "ties.txt"))


def test_bad_argument_is_argparse_usage_error(capsys):
    """An unknown option or driver is an argparse usage error (exit code 2)."""
    with pytest.raises(SystemExit) as info:
        main(["run", str(WATTS), "--driver", "turbo"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def _console_script() -> Path:
    return Path(sys.executable).parent / "newpower"


def test_console_script_version():
    """The installed ``newpower`` console script runs and prints its version."""
    script = _console_script()
    assert script.exists(), f"{script} is not installed"
    proc = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"newpower {sim.__version__}"


def test_console_script_error_exit_code(tmp_path):
    """The console script turns a user mistake into exit status 2 and one stderr line, no traceback."""
    out_dir = str(tmp_path / "out")
    proc = subprocess.run(
        [
            str(_console_script()),
            "run",
            "scenarios/watts_cascade.toml",
            "--set",
            "network.n=zero",
            "--out",
            out_dir,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("newpower: error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
