"""Class mode afterwards: placement, the debrief of a scripted class, the results folder, the command."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from sim.errors import ClassError, SimError
from sim.faces.classroom import serve
from sim.faces.classroom.placement import Placement, mean_distance, place
from sim.faces.classroom.results import ROUNDS, SECURITY, STUDENTS, TRAJECTORY
from sim.faces.classroom.session import Choice, Classroom
from sim.faces.cli import classroom as cli
from sim.faces.cli.main import build_parser
from sim.storage.results import load_results

SMALL = {"network.n": 400}


def test_spread_students_sit_farther_apart_than_clustered():
    """On the teaching network, spread places are several hops apart on average and clustered ones
    form a connected neighbourhood close together; the same seed gives the same places."""
    room = Classroom(seed=1004, overrides=SMALL)
    adj = room.model.adjacency
    spread = place(adj, 20, Placement.SPREAD, np.random.default_rng(1004))
    clustered = place(adj, 20, Placement.CLUSTERED, np.random.default_rng(1004))
    assert len(set(spread)) == len(set(clustered)) == 20
    assert mean_distance(adj, spread) > 1.5 * mean_distance(adj, clustered)
    sub = adj[clustered][:, clustered]
    from scipy.sparse.csgraph import connected_components

    assert connected_components(sub, directed=False)[0] == 1
    assert place(adj, 20, Placement.SPREAD, np.random.default_rng(1004)).tolist() == spread.tolist()


def test_classroom_places_students_as_the_teacher_chose():
    """Students joining a spread class get participants farther apart than in a clustered class, and
    building the class (places included) leaves the model's random stream untouched."""
    rooms = {p: Classroom(seed=1005, placement=p, max_students=12, overrides=SMALL) for p in Placement}
    where = {}
    for p, room in rooms.items():
        where[p] = [room.join(room.join_code, f"s{i}").participant for i in range(12)]
    adj = rooms[Placement.SPREAD].model.adjacency
    assert mean_distance(adj, where[Placement.SPREAD]) > mean_distance(adj, where[Placement.CLUSTERED])
    from sim.model.power_model import PowerModel

    plain = PowerModel(rooms[Placement.SPREAD].scenario, rng=1005)
    assert plain.rng.bit_generator.state == rooms[Placement.SPREAD].model.rng.bit_generator.state
    with pytest.raises(ClassError, match="unknown placement"):
        Classroom(placement="scattered", overrides=SMALL)


def _scripted_class() -> tuple[Classroom, dict[str, object]]:
    """A clustered class after a viral moment: 'follower' climbs only once enough neighbours are above
    it, 'pioneer' climbs every round whatever its neighbours do, 'idle' never answers."""
    room = Classroom(seed=1006, placement="clustered", max_students=3, overrides=SMALL)
    token = room.teacher_token
    t = {name: room.join(room.join_code, name) for name in ("follower", "pioneer", "idle")}
    room.fire(token, "viral_moment")
    for _ in range(12):
        r = room.open_round(token)
        for name in ("follower", "pioneer"):
            code = t[name].rejoin_code
            allowed = room.screen(code).allowed
            i = t[name].participant
            above = room.screen(code).neighbours_last_round
            level = int(room.model.state.level[i])
            higher = sum(v for k, v in above.items() if k in _LEVELS[level + 1 :])
            enough = higher / max(above["total"], 1) >= room.model.state.threshold[i]
            wants_climb = name == "pioneer" or enough
            choice = Choice.CLIMB if wants_climb and Choice.CLIMB in allowed else Choice.STAY
            assert room.submit(code, r, choice)
        room.close_round(token)
        room.run_crowd(token, 1)
    return room, t


_LEVELS = ("consuming", "sharing", "shaping", "funding", "producing", "co-owning")


def test_debrief_tells_who_followed_the_threshold_rule():
    """The follower's climbs all came with peers; the pioneer climbed alone at least once; the idle
    student (following the model's rule) made no choice of their own; the class's trajectory covers
    every step, set against the crowd's."""
    room, _ = _scripted_class()
    told = room.debrief()
    by = told.students.set_index("nickname")
    assert by.loc["follower", "climbs"] > 0
    assert by.loc["follower", "climbs_alone"] == 0
    assert by.loc["follower", "climbs_with_peers"] == by.loc["follower", "climbs"]
    assert by.loc["pioneer", "climbs_alone"] >= 1
    assert by.loc["idle", "answered"] == 0 and by.loc["idle", "rounds"] == 12
    assert told.trajectory["step"].tolist() == list(range(room.model.steps + 1))
    assert any("threshold rule" in line for line in told.words())


def test_largest_cascade_through_students_uses_the_models_cascades():
    """Students who all leave together after a fee hike: the debrief names the largest desertion cascade
    that holds a student, out of the model's own cascade measure."""
    room = Classroom(seed=1007, placement="clustered", max_students=10, overrides=SMALL)
    token = room.teacher_token
    tickets = [room.join(room.join_code, f"s{i}") for i in range(10)]
    room.run_crowd(token, 2)
    r = room.open_round(token)
    leavers = [t for t in tickets if Choice.LEAVE in room.screen(t.rejoin_code).allowed]
    assert len(leavers) >= 2
    for t in leavers:
        assert room.submit(t.rejoin_code, r, Choice.LEAVE)
    room.close_round(token)
    room.run_crowd(token, 15)
    told = room.debrief()
    c = told.cascade
    assert c["size"] >= c["students"] >= 1
    sizes = room.model.cascades.cascade_sizes(10)
    with_students = [
        who.size
        for who, _ in room.model.cascades.cascades(10)
        if np.intersect1d(who, [t.participant for t in tickets]).size
    ]
    assert c["size"] == max(with_students) and c["size"] <= sizes[0]
    assert set(c["nicknames"]) <= {t.nickname for t in tickets}


def test_results_folder_written_and_never_overwritten(tmp_path):
    """The class's results folder holds the run's files, the class's tables, the security log, the
    debrief figure and a class section in summary.md; writing again to it is refused."""
    room, _ = _scripted_class()
    room.submit("forged", room.round, "climb")
    out = room.write_results(tmp_path / "class")
    saved = load_results(out)
    assert saved.manifest["class"]["students"] == 3
    for name in (ROUNDS, STUDENTS, TRAJECTORY, SECURITY, "figures/class_debrief.png", "timeseries.parquet"):
        assert (out / name).is_file(), name
    assert len(pd.read_parquet(out / ROUNDS)) == 36
    log = pd.read_parquet(out / SECURITY)
    assert log["event"].tolist() == ["unknown rejoin code"]
    assert "## Class mode" in (out / "summary.md").read_text()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(SimError):
        room.write_results(out)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    again = room.write_results(base=tmp_path)  # default folders get a new name each time
    assert again != room.write_results(base=tmp_path)


def _args(*extra: str) -> argparse.Namespace:
    return build_parser().parse_args(["class", *extra])


def test_command_prepares_the_class_and_prints_where_to_go(capsys):
    """``newpower class`` builds the class before serving and prints the join address, the join code
    and the teacher's address with its token; the server process builds the same class from the env."""
    args = _args("teaching_surge", "--port", "9001", "--seed", "1008", "--placement", "clustered")
    settings, room = cli.prepare(args)
    cli.announce(args, settings, room)
    text = capsys.readouterr()
    assert "http://127.0.0.1:9001/" in text.out
    assert f"join code:        {settings.join_code}" in text.out
    assert f"http://127.0.0.1:9001/teacher?token={settings.teacher_token}" in text.out
    assert text.err == ""
    command, env = cli.server_command(args, settings)
    assert command[1:3] == ["run", str(cli.APP)] and "127.0.0.1" in command
    served = serve.Settings.from_environment(env).build()
    assert (served.teacher_token, served.join_code) == (settings.teacher_token, settings.join_code)
    assert served.placement is Placement.CLUSTERED and served.seed == 1008
    assert serve.Settings.from_environment(env).join_url == "http://127.0.0.1:9001/"
    serve.install(served)
    try:
        assert serve.current() is served
    finally:
        serve.install(None)


def test_command_warns_when_exposed_and_refuses_bad_input(capsys, tmp_path):
    args = _args("--host", "0.0.0.0", "--max-students", "5")
    settings, room = cli.prepare(args)
    cli.announce(args, settings, room)
    err = capsys.readouterr().err
    assert "warning" in err and "0.0.0.0" in err
    with pytest.raises(SimError, match="port"):
        cli.prepare(_args("--port", "0"))
    with pytest.raises(SimError, match="max_students"):
        cli.prepare(_args("--max-students", "0"))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x.txt").write_text("keep")
    with pytest.raises(SimError, match="never overwritten"):
        cli.prepare(_args("--out", str(tmp_path / "used")))


def test_command_errors_are_one_line_exit_2(capsys):
    """A bad scenario or setting stops ``newpower class`` before serving: one line, exit status 2."""
    from sim.faces.cli.main import main

    assert main(["class", "no_such_scenario"]) == 2
    assert main(["class", "--max-students", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("newpower: error:") for line in err)
    assert "max_students" in err[1]
