"""``newpower audit``: every organization's compass position then and now, trend and enabled behaviours."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest
from helpers import CASTLE

from sim.faces.cli.main import main
from sim.figures.audit import behaviours, trend

TINY = ["--set", "network.n=200", "--steps", "10"]


@pytest.mark.parametrize(
    "start, end, expected",
    [
        ((0.2, 0.15), (0.2, 0.15), "steady"),
        ((0.2, 0.15), (0.205, 0.16), "steady"),
        ((0.2, 0.15), (0.6, 0.7), "toward Crowd"),
        ((0.8, 0.85), (0.1, 0.85), "toward Connector"),  # values drop, model stays open
        ((0.2, 0.15), (0.45, 0.15), "toward Cheerleader"),  # values rise, model stays closed
        ((0.2, 0.15), (0.2, 0.4), "toward Connector"),  # model opens, values stay old
        ((0.8, 0.9), (0.5, 0.6), "toward Castle"),
        ((0.3, 0.8), (0.6, 0.5), "toward Cheerleader"),
    ],
)
def test_trend(start, end, expected):
    """The direction of a move names the quadrant it leads into; tiny moves are steady."""
    assert trend(start, end) == expected


def test_behaviours_named_as_in_the_article():
    """The behaviours a model enables: every level up to its max_level, named as on the scale."""
    assert behaviours("CONSUMING") == ["consuming"]
    assert behaviours("SHAPING") == ["consuming", "sharing", "shaping"]
    assert behaviours("CO_OWNING") == ["consuming", "sharing", "shaping", "funding", "producing", "co-owning"]


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """One audit of the castle case (the Gazette under movement_mindset): its folder and what it printed."""
    folder = tmp_path_factory.mktemp("audit") / "audit"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            [
                "audit",
                str(CASTLE),
                *TINY,
                "--seed",
                "4",
                "--out",
                str(folder),
                "--set",
                "organizations.Gazette.strategy=movement_mindset",
            ]
        )
    assert code == 0, err.getvalue()
    return folder, out.getvalue()


def test_audit_prints_then_and_now_with_trend_and_behaviours(audited):
    """The printed table: each organization's start and end on the compass, its trend and what it enables."""
    _, out = audited
    assert "Audit your power" in out
    header = next(line for line in out.splitlines() if line.startswith("organization"))
    for column in ("start (values, model)", "end (values, model)", "trend", "enables"):
        assert column in header
    gazette = next(line for line in out.splitlines() if line.startswith("Gazette"))
    for part in ("Castle", "toward", "co-owning", "(was: consuming)"):
        assert part in gazette, part
    commons = next(line for line in out.splitlines() if line.startswith("Commons"))
    assert "Crowd" in commons and "steady" in commons and "producing" in commons


def test_audit_writes_json_and_csv(audited):
    """audit.json and audit.csv hold every organization, its kind and its positions then and now."""
    folder, _ = audited
    audit = json.loads((folder / "audit.json").read_text())
    rows = {r["organization"]: r for r in audit["organizations"]}
    assert set(rows) == {"Gazette", "Commons"}
    assert rows["Commons"]["start_quadrant"] == rows["Commons"]["end_quadrant"] == "Crowd"
    assert rows["Gazette"]["start_values"] == pytest.approx(0.2)
    assert rows["Gazette"]["start_model"] == pytest.approx(0.15)
    assert rows["Gazette"]["end_model"] > rows["Gazette"]["start_model"]  # the movement opened its model
    assert rows["Gazette"]["kind"] == "institution" and rows["Commons"]["kind"] == "platform"
    table = pd.read_csv(folder / "audit.csv")
    assert table["organization"].tolist() == ["Gazette", "Commons"]


def test_audit_draws_the_compass_and_writes_a_manifest(audited):
    """The compass as PNG (SVG only with --svg), and a manifest that lists it with the seed."""
    folder, _ = audited
    assert (folder / "figures" / "compass.png").stat().st_size > 1000
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "audit" and manifest["seed"] == 4
    assert manifest["figures"] == ["figures/compass.png"]


def test_audit_never_overwrites_and_plot_redraws_it(capsys, tmp_path):
    """A second audit into the same folder is refused without --force; ``plot`` redraws its compass."""
    folder = tmp_path / "a"
    assert main(["audit", str(CASTLE), *TINY, "--out", str(folder)]) == 0
    capsys.readouterr()
    assert main(["audit", str(CASTLE), *TINY, "--out", str(folder)]) == 2
    assert "--force" in capsys.readouterr().err
    (folder / "figures" / "compass.png").unlink()
    assert main(["plot", str(folder)]) == 0
    assert (folder / "figures" / "compass.png").stat().st_size > 1000
    assert main(["audit", str(CASTLE), *TINY, "--out", str(folder), "--force"]) == 0


LIBRARY_MARGIN = 0.05


def test_library_organizations_start_clearly_inside_their_quadrant():
    """Every library organization starts at least 0.05 from both 0.5 lines (kind defaults applied), so
    the audit, the README and the story cannot disagree about its quadrant."""
    from sim import load_scenario
    from sim.scenarios import LIBRARY

    near = []
    for path in sorted(LIBRARY.glob("*.toml")):
        for org in load_scenario(path).organizations:
            for axis in ("openness", "values"):
                if abs(getattr(org, axis) - 0.5) < LIBRARY_MARGIN - 1e-9:  # 0.45 is 0.05 away
                    near.append(f"{path.stem}: {org.name}.{axis} = {getattr(org, axis)}")
    assert not near, near


@pytest.mark.parametrize(
    ("openness", "values", "quadrant"),
    [(0.5, 0.5, "Crowd"), (0.5, 0.49, "Connector"), (0.49, 0.5, "Cheerleader"), (0.49, 0.49, "Castle")],
)
def test_a_position_on_a_line_is_in_the_quadrant_the_odd_names(tmp_path, openness, values, quadrant):
    """The ODD's boundary rule (exactly 0.5 counts as new power) is the one the audit reports."""
    from pathlib import Path

    odd = (Path(__file__).parent.parent / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert "(0.5, 0.5)\nis a Crowd" in odd
    folder = tmp_path / "line"
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(
            ["audit", str(CASTLE), "--set", "network.n=60", "--steps", "1", "--out", str(folder)]
            + ["--set", f"organizations.Commons.openness={openness}"]
            + ["--set", f"organizations.Commons.values={values}"]
        )
    assert code == 0
    rows = {r["organization"]: r for r in json.loads((folder / "audit.json").read_text())["organizations"]}
    assert rows["Commons"]["start_quadrant"] == quadrant
