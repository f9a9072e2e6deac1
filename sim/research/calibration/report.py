"""What a calibration says, in tables and plain words (``summary.md``).

Each parameter: its posterior median and 90% credible interval (weighted 5%
and 95% quantiles of the last generation), and whether the data inform it:
yes when the interval covers less than half of the prior range
(:data:`INFORMED_SHARE`). Also: the generations (epsilon, acceptance, how the
intervals narrowed) and how much of the observed series falls inside the
posterior predictive band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.figures.calibration import BAND, CREDIBLE, weighted_quantile
from sim.research.calibration.problem import Prior

#: A parameter counts as informed by the data when its 90% interval is narrower than this share of its prior.
INFORMED_SHARE = 0.5
#: Below this share of observed points inside the 90% predictive band, the summary warns of a poor fit.
POOR_COVERAGE = 0.6
POOR_FIT = (
    " Far below 90%: the series simulated from the posterior miss much of the data (the fit has not "
    "converged, or the model cannot produce this series at any prior value)."
)
#: The last generation narrowing an interval by more than this share suggests more generations would help.
STILL_NARROWING = 0.2


def parameter_table(posterior: pd.DataFrame, priors: Sequence[Prior]) -> pd.DataFrame:
    """One row per parameter: prior range, posterior median, 90% interval, its share of the prior, informed."""
    weights = posterior["weight"].to_numpy()
    lo_q, hi_q = (1 - CREDIBLE) / 2, 1 - (1 - CREDIBLE) / 2
    rows = []
    for prior in priors:
        lo, median, hi = weighted_quantile(posterior[prior.key].to_numpy(), weights, [lo_q, 0.5, hi_q])
        share = (hi - lo) / prior.width
        rows.append(
            {
                "parameter": prior.key,
                "prior_low": prior.low,
                "prior_high": prior.high,
                "median": median,
                "ci_low": lo,
                "ci_high": hi,
                "width_share": share,
                "informed": bool(share < INFORMED_SHARE),
            }
        )
    return pd.DataFrame(rows)


def interval_shares(posterior: pd.DataFrame, priors: Sequence[Prior]) -> dict[str, float]:
    """Each parameter's 90% interval width as a share of its prior range."""
    table = parameter_table(posterior, priors)
    return dict(zip(table["parameter"], table["width_share"], strict=True))


def coverage(observed: pd.DataFrame, predictive: pd.DataFrame, columns: Sequence[str]) -> dict[str, float]:
    """Share of observed points inside the 90% posterior predictive band, per column."""
    lo_q, hi_q = (1 - BAND) / 2, 1 - (1 - BAND) / 2
    out = {}
    for column in columns:
        band = predictive.groupby("step")[column].quantile([lo_q, hi_q]).unstack()
        obs = observed.set_index("step")[column]
        inside = (obs >= band[lo_q].reindex(obs.index)) & (obs <= band[hi_q].reindex(obs.index))
        out[column] = float(inside.mean())
    return out


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def summary_markdown(
    title: str,
    parameters: pd.DataFrame,
    generations: pd.DataFrame,
    cover: Mapping[str, float],
    facts: Mapping[str, Any],
) -> str:
    """The plain-words summary.

    Args:
        title: the first heading.
        parameters: :func:`parameter_table`.
        generations: one row per generation (``generation``, ``epsilon``, ``accepted``,
            ``simulations``, ``acceptance``, and ``share:<key>`` per parameter).
        cover: :func:`coverage`.
        facts: ``method`` (one sentence on what was fitted and how), ``files`` (name -> what).
    """
    lines = [f"# {title}", "", facts["method"], ""]
    lines += [
        (
            "| parameter | prior range | posterior median | 90% credible interval | interval / prior range "
            "| informed by the data? |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for r in parameters.itertuples():
        verdict = "yes" if r.informed else "no"
        lines.append(
            f"| `{r.parameter}` | {_fmt(r.prior_low)} to {_fmt(r.prior_high)} | {_fmt(r.median)} "
            f"| {_fmt(r.ci_low)} to {_fmt(r.ci_high)} | {r.width_share:.0%} | {verdict} |"
        )
    lines += ["", "In plain words:", ""]
    for r in parameters.itertuples():
        lines.append(f"- {_words(r)}")
    lines += _convergence(parameters, generations)
    lines += ["", "## Fit", ""]
    for column, share in cover.items():
        lines.append(
            f"- `{column}`: {share:.0%} of the observed points lie inside the 90% band of series simulated "
            "from the posterior (noise included)." + (POOR_FIT if share < POOR_COVERAGE else "")
        )
    lines += ["", "## Generations", ""]
    lines += _generation_rows(parameters, generations)
    lines += ["", "## Files", ""]
    lines += [f"- `{name}`: {what}" for name, what in facts["files"].items()]
    return "\n".join(lines) + "\n"


def _words(r: Any) -> str:
    interval = f"with 90% probability between {_fmt(r.ci_low)} and {_fmt(r.ci_high)}"
    if r.informed:
        return (
            f"`{r.parameter}` is most likely about {_fmt(r.median)}, {interval}: the data narrow its prior range "
            f"to {r.width_share:.0%} of its width."
        )
    return (
        f"`{r.parameter}`: the data say little about it. Its 90% interval ({_fmt(r.ci_low)} to "
        f"{_fmt(r.ci_high)}) still covers {r.width_share:.0%} of the prior range, so the fit does not "
        'identify it (see docs/calibration.md, "When the posterior is wide").'
    )


def _convergence(parameters: pd.DataFrame, generations: pd.DataFrame) -> list[str]:
    if len(generations) < 2:
        return []
    last, before = generations.iloc[-1], generations.iloc[-2]
    still = [
        key
        for key in parameters["parameter"]
        if before[f"share:{key}"] > 0 and 1 - last[f"share:{key}"] / before[f"share:{key}"] > STILL_NARROWING
    ]
    if not still:
        return []
    names = ", ".join(f"`{k}`" for k in still)
    return [
        "",
        (
            f"The last generation still narrowed the interval of {names} by more than {STILL_NARROWING:.0%}: "
            "a fit with more generations (a larger `--populations`) may narrow it further."
        ),
    ]


def _generation_rows(parameters: pd.DataFrame, generations: pd.DataFrame) -> list[str]:
    keys = list(parameters["parameter"])
    head = "| generation | epsilon | accepted / simulated | acceptance | " + " | ".join(
        f"`{k}` interval / prior" for k in keys
    )
    rows = [head + " |", "|" + "---|" * (4 + len(keys))]
    for g in generations.to_dict("records"):
        shares = " | ".join(f"{g[f'share:{k}']:.0%}" for k in keys)
        rows.append(
            f"| {g['generation']} | {_fmt(g['epsilon'])} | {g['accepted']} / {g['simulations']} "
            f"| {g['acceptance']:.1%} | {shares} |"
        )
    return rows


def generations_frame(history: Any, priors: Sequence[Prior]) -> pd.DataFrame:
    """One row per finished generation of a pyabc ``History``, with each interval's share of its prior."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    rows = []
    for p in pops.itertuples():
        frame, weights = history.get_distribution(m=0, t=int(p.t))
        posterior = frame.assign(weight=np.asarray(weights))
        rows.append(
            {
                "generation": int(p.t) + 1,
                "epsilon": float(p.epsilon),
                "accepted": int(p.particles),
                "simulations": int(p.samples),
                "acceptance": int(p.particles) / max(1, int(p.samples)),
                "seconds": float(p.wall_time),
                **{f"share:{k}": v for k, v in interval_shares(posterior, priors).items()},
            }
        )
    return pd.DataFrame(rows)
