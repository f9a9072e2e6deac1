"""Judging a playbook claim: its effect, what it rests on, and whether the strategy itself matters.

A claim (:class:`sim.research.experiments.Claim`) compares a measure between two arms on
common random numbers. Three verdicts follow from the runs, each from a 95% interval:

- **effect**: the claim *holds* when the interval of ``measure(a) - measure(b)`` (Welch) lies
  on the claimed side of 0, *does not hold* when it lies on the other side, and is *not shown*
  when it includes 0;
- **knock-out**: a claim that holds is re-run with each mechanism it names switched off
  (``[dynamics] knockout``); it is **attributed** to the mechanisms whose knock-out makes the
  effect disappear (the interval includes 0 or flips), **misattributed** when it survives
  every one of them;
- **matched control**: the strategy arm ``a`` against an arm that holds that run's final
  lever values fixed from the start (``status_quo`` with the levers as the organization's
  initial values, same seed): the strategy **beats its control** when the difference lies on
  the claimed side of 0; otherwise the **lever levels do the work**, not the strategy.

A claim that follows from a formula alone (``Claim.by_construction``) is marked **by
construction** and counted as no finding either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.research.experiments import Claim, Experiment
from sim.stats import interval

HOLDS = "holds"
OPPOSITE = "does not hold"
NOT_SHOWN = "not shown"
BY_CONSTRUCTION = "by construction"
ATTRIBUTED = "attributed"
MISATTRIBUTED = "misattributed"
BEATS_CONTROL = "beats its control"
LEVERS = "lever levels do the work"
NOT_APPLICABLE = "n/a"
#: The strategy whose arm is its own matched control (it moves no lever).
STILL = "status_quo"


def knockout_arm(label: str, mechanisms: str) -> str:
    """The label of arm ``label`` re-run with ``mechanisms`` (joined by " + ") knocked out."""
    return f"{label} without {mechanisms}"


def knockout_sets(claim: Claim) -> list[tuple[str, ...]]:
    """What a claim is re-run without: each named mechanism alone, then all of them together
    (mechanisms that can stand in for each other survive one at a time)."""
    singles = [(m,) for m in claim.mechanisms]
    return singles + ([claim.mechanisms] if len(claim.mechanisms) > 1 else [])


def joined(mechanisms: tuple[str, ...]) -> str:
    """A set of mechanisms as one label."""
    return " + ".join(mechanisms)


def control_arm(label: str) -> str:
    """The label of arm ``label``'s matched control (its final levers fixed from the start)."""
    return f"{label} (levers fixed)"


def mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval, ignoring NaN (``sim.stats.interval`` as a tuple)."""
    stats = interval(values)
    return stats["mean"], stats["ci_low"], stats["ci_high"]


def difference_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means a - b with a 95% Welch interval, ignoring NaN."""
    from scipy import stats

    a, b = (np.asarray(x, dtype=float) for x in (a, b))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.975, dof) * se)
    return diff, diff - half, diff + half


def verdict(diff: tuple[float, float, float], direction: int) -> str:
    """ "holds", "does not hold" (significant the other way) or "not shown" (interval spans 0)."""
    _, lo, hi = diff
    if direction * lo > 0 and direction * hi > 0:
        return "holds"
    if direction * lo < 0 and direction * hi < 0:
        return "does not hold (the opposite is significant)"
    return "not shown (the 95% interval of the difference includes 0)"


def compare(
    claim: Claim, runs: dict[str, list[dict[str, Any]]], a: str, b: str
) -> tuple[float, float, float]:
    """``claim.measure(a) - claim.measure(b)`` over the arms' runs, with its interval."""
    return difference_ci(
        np.array([claim.measure.pick(r) for r in runs[a]]),
        np.array([claim.measure.pick(r) for r in runs[b]]),
    )


@dataclass(frozen=True)
class ClaimVerdict:
    """Everything the report says about one claim."""

    claim: Claim
    diff: tuple[float, float, float]
    effect: str
    knockouts: dict[str, tuple[tuple[float, float, float], str]]
    control: tuple[tuple[float, float, float], str] | None

    @property
    def short(self) -> str:
        """The effect verdict in one or two words."""
        return self.effect.split(" (")[0]

    @property
    def holds(self) -> bool:
        """Whether the claimed effect is significant."""
        return self.effect == HOLDS

    @property
    def attribution(self) -> str:
        """Knock-out verdict: attributed to which mechanisms, misattributed, or why there is none."""
        if self.claim.by_construction:
            return BY_CONSTRUCTION
        if not self.holds:
            return f"{NOT_APPLICABLE} (no effect)"
        if not self.claim.mechanisms:
            return f"{NOT_APPLICABLE} (no mechanism named)"
        gone = [m for m, (_, v) in self.knockouts.items() if v == ATTRIBUTED and " + " not in m]
        if gone:
            return f"{ATTRIBUTED} ({', '.join(gone)})"
        together = self.knockouts.get(joined(self.claim.mechanisms))
        if together is not None and together[1] == ATTRIBUTED:
            return f"{ATTRIBUTED} (only jointly: {', '.join(self.claim.mechanisms)})"
        return f"{MISATTRIBUTED} (survives {', '.join(self.claim.mechanisms)})"

    @property
    def matched(self) -> str:
        """Matched-control verdict."""
        if self.control is None:
            return NOT_APPLICABLE
        return self.control[1]

    @property
    def finding(self) -> str:
        """Where the claim stands: "supports", "contradicts" or "cannot test" (with the reason)."""
        if self.claim.by_construction:
            return f"cannot test: true by construction, {self.claim.by_construction}"
        if self.effect.startswith(OPPOSITE):
            return "contradicts: the opposite is significant"
        if not self.holds:
            return "cannot test: the effect is not shown, the interval includes 0"
        if self.control is not None and self.control[1] == LEVERS:
            return (
                "cannot test as a strategy: a fixed-levers control does as well, the lever levels do the work"
            )
        return "supports"


def needs_knockouts(claim: Claim, diff: tuple[float, float, float]) -> bool:
    """A claim is knocked out when it holds and is not true by construction."""
    return not claim.by_construction and verdict(diff, claim.direction) == HOLDS and bool(claim.mechanisms)


def needs_control(exp: Experiment, claim: Claim, diff: tuple[float, float, float]) -> bool:
    """A claim gets a matched control when it holds and its arm ``a`` moves levers."""
    return (
        not claim.by_construction
        and verdict(diff, claim.direction) == HOLDS
        and exp.arms[claim.a]["strategy"] != STILL
    )


def judge(exp: Experiment, claim: Claim, runs: dict[str, list[dict[str, Any]]]) -> ClaimVerdict:
    """The claim's verdicts from the runs of its arms, knock-outs and control (those present)."""
    diff = compare(claim, runs, claim.a, claim.b)
    knockouts = {}
    if needs_knockouts(claim, diff):
        for mechanisms in knockout_sets(claim):
            name = joined(mechanisms)
            knocked = compare(claim, runs, knockout_arm(claim.a, name), knockout_arm(claim.b, name))
            survives = verdict(knocked, claim.direction) == HOLDS
            knockouts[name] = (knocked, MISATTRIBUTED if survives else ATTRIBUTED)
    control = None
    if needs_control(exp, claim, diff):
        against = compare(claim, runs, claim.a, control_arm(claim.a))
        control = (against, BEATS_CONTROL if verdict(against, claim.direction) == HOLDS else LEVERS)
    return ClaimVerdict(claim, diff, verdict(diff, claim.direction), knockouts, control)


def fixed_levers(organization: str, levers: dict[str, Any]) -> dict[str, Any]:
    """Overrides that start ``organization`` at these lever values under ``status_quo`` (a matched control)."""
    out: dict[str, Any] = {
        f"organizations.{organization}.strategy": STILL,
        f"organizations.{organization}.strategy_params": {},
    }
    out.update({f"organizations.{organization}.{name}": value for name, value in levers.items()})
    return out
