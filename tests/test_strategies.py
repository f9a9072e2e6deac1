"""Strategies: each changes only levers, and no dynamic rule reads a strategy's name."""

from __future__ import annotations

import ast
import dataclasses
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import CASTLE, ROOT

import sim
from sim import ScenarioError, load_scenario, run
from sim.model.levers import LEVER_NAMES, Levers, Observation
from sim.model.power_model import PowerModel
from sim.model.strategies import STRATEGIES, Strategy, make_strategy
from sim.vocabulary import Level

DYNAMICS_MODULES = (
    "rules.py",
    "vectorized.py",
    "agents.py",
    "population.py",
    "network.py",
    "metrics.py",
    "power_model.py",
    "kernels.py",
    "shocks.py",
)


def _observation(**changes) -> Observation:
    base = {
        "step": 30,
        "n_participants": 1000,
        "n_members": 300,
        "n_active": 120,
        "peak_members": 320,
        "mean_level": 1.2,
        "mean_grievance": 0.3,
        "community_values": 0.7,
        "joins": 5,
        "exits": 9,
        "stock": 1.5,
        "current": 0.05,
        "legitimacy": 0.6,
    }
    return Observation(**{**base, **changes})


LEVERS = Levers(
    openness=0.15,
    values=0.2,
    max_level=Level.CONSUMING,
    transparency=0.2,
    take_rate=0.2,
    outreach=0.0,
    ads=0.0,
    mobilization=0.0,
    structure=0.0,
)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_decide_returns_levers_only(name):
    """A strategy sees levers and an observation, and answers with levers (nothing else to touch)."""
    strategy = make_strategy(name)
    out = strategy.decide(LEVERS, _observation())
    assert isinstance(out, Levers)
    assert out.clipped() == out.clipped().clipped()


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_running_a_strategy_changes_only_levers_and_pays_for_reform(name):
    """Over a run, an organization's non-lever state moves only through the dynamics.

    Running the strategy alone (``run_strategy``) may change the levers and, through the
    reform cost, the stock; nothing else of the organization or the participants.
    """
    scenario = load_scenario(CASTLE, overrides={"network.n": 200, "organizations.Gazette.strategy": name})
    model = PowerModel(scenario, rng=1)
    for _ in range(5):
        model.step()
    org = model.organization("Gazette")
    before = {k: v for k, v in vars(org).items() if k not in LEVER_NAMES}
    state_before = model.state.copy()
    org.run_strategy()
    after = {k: v for k, v in vars(org).items() if k not in LEVER_NAMES}
    changed = {k for k in before if before[k] is not after[k] and before[k] != after[k]}
    assert changed <= {"stock"}, changed
    assert after["stock"] <= before["stock"]
    for field in dataclasses.fields(state_before):
        assert np.array_equal(getattr(state_before, field.name), getattr(model.state, field.name))


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_dynamic_rule_mentions_a_strategy_name():
    """The dynamics never branch on which strategy runs: no strategy name appears in their code."""
    names = set(STRATEGIES)
    for module in DYNAMICS_MODULES:
        found = _string_constants(ROOT / "sim" / "model" / module) & names
        assert not found, f"sim/model/{module} mentions strategy names {found}"


def test_no_compiled_kernel_mentions_a_strategy_name():
    """The compiled kernels (Numba) neither: after runs with every strategy in both drivers, no
    strategy name is a constant of a kernel, of any function it calls (the rules it inlines), or
    of its LLVM IR (compiled afresh, as cached code cannot be inspected)."""
    from numba import njit
    from numba.core.registry import CPUDispatcher

    from sim.model import kernels

    names = set(STRATEGIES)
    for name in sorted(names):
        scenario = load_scenario(CASTLE, overrides={"network.n": 100, "organizations.Gazette.strategy": name})
        for driver in ("vectorized", "agents"):  # the per-agent driver compiles ``update_one``
            model = PowerModel(scenario, rng=1, driver=driver)
            for _ in range(2):
                model.step()
    dispatchers = [v for v in vars(kernels).values() if isinstance(v, CPUDispatcher)]
    assert len(dispatchers) >= 4 and any(d.signatures for d in dispatchers)
    for dispatcher in dispatchers:
        constants = _reachable_constants(dispatcher.py_func, set())
        assert not constants & names, f"{dispatcher.__name__} names {constants & names}"
        fresh = njit(cache=False)(dispatcher.py_func)
        for signature in dispatcher.signatures:
            fresh.compile(signature)
        for ir in fresh.inspect_llvm().values():
            assert not [n for n in names if n in ir], dispatcher.__name__


def _reachable_constants(func, seen: set) -> set[str]:
    """String constants of a function, its nested code and every function it calls (globals, closures)."""
    codes, out = [func.__code__], set()
    while codes:
        code = codes.pop()
        for const in code.co_consts:
            if isinstance(const, str):
                out.add(const)
            elif hasattr(const, "co_consts"):
                codes.append(const)
        callees = [func.__globals__.get(n) for n in code.co_names]
        callees += [c.cell_contents for c in func.__closure__ or ()]
        modules = [m for m in callees if isinstance(m, types.ModuleType)]  # ``rules.update``
        callees += [getattr(m, n, None) for m in modules for n in code.co_names]
        for callee in callees:
            callee = getattr(callee, "py_func", callee)
            if callable(callee) and hasattr(callee, "__code__") and callee not in seen:
                seen.add(callee)
                out |= _reachable_constants(callee, seen)
    return out


def test_rules_do_not_import_strategies():
    """Rules and the vectorized driver do not even import the strategy module."""
    for module in ("rules.py", "kernels.py", "vectorized.py", "population.py", "network.py"):
        tree = ast.parse((ROOT / "sim" / "model" / module).read_text())
        imported = {
            getattr(node, "module", None) or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        imported |= {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        assert not any("strateg" in name for name in imported), (module, imported)


def test_same_levers_same_outcome_whatever_the_name():
    """Two differently named strategies that set the same levers give identical runs."""
    scenario = load_scenario(CASTLE, overrides={"network.n": 200})
    a = run(
        scenario.with_overrides(
            {
                "organizations.Gazette.strategy": "get_structural",
                "organizations.Gazette.strategy_params": {"structure": 0.0},
            }
        ),
        seed=4,
        steps=30,
    )
    b = run(scenario.with_overrides({"organizations.Gazette.strategy": "status_quo"}), seed=4, steps=30)
    assert a.timeseries.equals(b.timeseries)


def test_window_dressing_opens_a_sharing_channel_without_values_change():
    """From its start step it enables SHARING and leaves values untouched."""
    s = make_strategy("window_dressing", {"start": 10})
    assert s.decide(LEVERS, _observation(step=5)) == LEVERS
    out = s.decide(LEVERS, _observation(step=10))
    assert out.max_level == Level.SHARING and out.values == LEVERS.values and out.openness >= 0.2


def test_become_the_man_drifts_toward_old_power():
    """Values and transparency fall and the take rate rises, step by step."""
    s = make_strategy("become_the_man", {"drift": 0.1})
    start = LEVERS.replace(values=0.8, transparency=0.8, take_rate=0.1)
    out = s.decide(start, _observation())
    assert out.values < 0.8 and out.transparency < 0.8 and out.take_rate > 0.1


def test_occupy_yourself_introspects_before_opening():
    """During introspection openness stays; transparency and values move toward the community."""
    s = make_strategy("occupy_yourself", {"introspection_steps": 20, "rate": 0.1})
    early = s.decide(LEVERS, _observation(step=5))
    assert early.openness == LEVERS.openness and early.transparency > LEVERS.transparency
    assert early.values > LEVERS.values
    late = s.decide(LEVERS, _observation(step=25))
    assert late.openness > LEVERS.openness and late.mobilization > 0


def test_go_bilingual_never_moves_values_toward_old_power():
    """Values only move up toward new power, and outreach stops below the stock reserve."""
    s = make_strategy("go_bilingual", {"reserve": 0.5})
    levers = LEVERS.replace(values=0.8)
    out = s.decide(levers, _observation(community_values=0.3, stock=2.0))
    assert out.values >= 0.8 and out.outreach > 0
    poor = s.decide(out, _observation(stock=0.5))
    assert poor.outreach == 0.0


def test_strategy_params_are_validated():
    """Unknown or out-of-range strategy parameters name the key and the allowed values."""
    with pytest.raises(ScenarioError, match="strategy_params.drift.*allowed: 0 to 1"):
        load_scenario(
            CASTLE,
            overrides={
                "organizations.Gazette.strategy": "become_the_man",
                "organizations.Gazette.strategy_params": {"drift": 2},
            },
        )
    with pytest.raises(ScenarioError, match="unknown key"):
        load_scenario(CASTLE, overrides={"organizations.Gazette.strategy_params": {"speed": 1}})
    with pytest.raises(ScenarioError, match="unknown strategy.*go_bilingual"):
        load_scenario(CASTLE, overrides={"organizations.Gazette.strategy": "go_trilingual"})


def test_user_strategy_by_import_path(tmp_path):
    """The worked example in examples/ runs by import path once the user allows importing code."""
    scenario = load_scenario(
        ROOT / "examples" / "listen_when_angry.toml",
        overrides={"network.n": 300, "steps": 40},
        allow_code=True,
    )
    result = run(scenario)
    assert result.model.organization("Platform").strategy.name == "listen_when_angry"
    assert result.summary["Platform.final_values"] > 0.3  # it listened at some point


def test_bad_import_path_is_a_clear_error():
    """A missing module or a class that is not a Strategy is refused with the key named."""
    with pytest.raises(ScenarioError, match="cannot import strategy"):
        load_scenario(
            CASTLE, overrides={"organizations.Gazette.strategy": "nowhere.module:Thing"}, allow_code=True
        )
    with pytest.raises(ScenarioError, match="not a Strategy"):
        load_scenario(CASTLE, overrides={"organizations.Gazette.strategy": "sim.model.levers:Levers"})


def test_registry_is_complete_and_documented():
    """The article's playbook is all there, each with a one-line summary."""
    expected = {
        "status_quo",
        "window_dressing",
        "astroturf",
        "occupy_yourself",
        "movement_mindset",
        "go_bilingual",
        "respect_community",
        "become_the_man",
        "get_structural",
    }
    assert expected <= set(STRATEGIES)
    for cls in STRATEGIES.values():
        assert issubclass(cls, Strategy) and cls.summary and cls.__doc__
    assert sim.model.strategies.STRATEGIES is STRATEGIES
