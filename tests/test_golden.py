"""Refactors change no numbers: every library scenario, both drivers, hashed exactly."""

import json

import golden_runs
import pytest

EXPECTED = json.loads(golden_runs.HASHES.read_text())


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_golden_hash(key):
    name, driver = key.split("/")
    assert golden_runs.digest(name, driver) == EXPECTED[key], (
        f"{key}: the run changed; if intended, regenerate with "
        "`.venv/bin/python -m tests.golden_runs --write` and say why in the commit"
    )


def test_every_library_scenario_has_a_golden_hash():
    assert {k.split("/")[0] for k in EXPECTED} == set(golden_runs.scenario_names())
