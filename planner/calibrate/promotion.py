"""The recent promotion factor: how promotions sell lately against the fitted response, chosen out of sample.

The response (seasons, elasticities, lifts, dip, cannibalization) is fitted on the whole training window, so its
lifts are the window's average. When promotions sell less (or more) lately than on average -- a drift the
training weeks show on real panels, and which a lift re-measured from the last weeks follows -- the forecast of
promoted weeks is biased. So, per category,

    factor = sum_c w_c y_c / sum_c w_c m_c,    w_c = 0.5 ** (age_c / half_life)

over the promoted cells that ran a flag (feature, display or deal: a mechanic the calibrated lifts speak for),
m_c being the forecast's own mean of the cell (the series' recent level x the fitted shape); the forecast of such
a cell is multiplied by it -- in the rules, each mechanic's written lift is (`rules_writer`), so the simulator and
the optimizer need no new term and an event's value stays its own (linear in the calendar).

The half-life (or no factor) is chosen OUT of sample, unlike the level's: the response is refitted without the
last `validation_weeks` training weeks (warm-started, one run of a few iterations, no covariance: `inner_fit`), and each
choice is scored by WAPE + |bias| on the weeks that refit did not see, over every category at once; the best is
kept only if the absolute error it saves per series there is significant (`MIN_T`), so that a history without
drift keeps its fitted lifts. An in-sample choice cannot see a drift: the lifts were fitted on the very weeks it
would score.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from planner.calibrate.estimate import CategoryFit, refit
from planner.calibrate.level import LevelChoice, recent_level
from planner.calibrate.panel import BoolArray, FloatArray, Panel

NONE = float("inf")
"""The choice "no factor" (every factor 1)."""
MIN_T = 2.0
"""A half-life is kept only if the absolute error it saves per series on the held-back weeks is at least this many
standard errors above 0 (about a one-sided 2.5 % test): on a history without drift, one 13-week window often
favours some half-life by chance, and a factor fitted to noise would move every promoted forecast."""


@dataclass(frozen=True)
class PromotionChoice:
    half_life: float
    """Weeks; NONE: no factor."""
    scores: dict[str, float]
    """Each choice's WAPE + |bias| on the held-back weeks ("none" for no factor)."""
    t: float = 0.0
    """How surely the best half-life beats no factor: the mean over the series of the absolute error it saves on
    the held-back weeks, in standard errors of that mean (the factor is kept only from MIN_T up)."""


def flagged(panel: Panel, series: np.ndarray, week: np.ndarray) -> BoolArray:
    """Promoted cells that ran a flag: those whose forecast the factor multiplies."""
    return np.asarray(panel.promoted[series, week] & (panel.flags[:, series, week].sum(axis=0) > 0), dtype=bool)


def promotion_factor(fit: CategoryFit, choice: LevelChoice, half_life: float, end: int | None = None,
                     theta: FloatArray | None = None, level: FloatArray | None = None) -> float:
    """The category's factor from its cells before column `end` (all by default) at `theta` (the fit's by
    default), with the series' levels measured at `end` (`level`, when the caller has them); 1 for NONE or
    without a flagged promoted cell."""
    if not np.isfinite(half_life):
        return 1.0
    problem, cells = fit.problem, fit.problem.cells
    end = fit.panel.shape[1] if end is None else end
    theta = fit.theta if theta is None else theta
    level = np.nan_to_num(recent_level(fit, choice, end) if level is None else level)
    use = (cells.week < end) & flagged(fit.panel, cells.series, cells.week)
    if not use.any():
        return 1.0
    eta = problem.eta(theta)[0][use]
    mean = level[cells.series[use]] * np.exp(eta)
    weight = 0.5 ** ((end - 1 - cells.week[use]) / half_life)
    total = float(np.sum(weight * mean))
    return float(np.sum(weight * cells.cases[use])) / total if total > 0 else 1.0


def inner_fit(fit: CategoryFit, end: int, iterations: int) -> CategoryFit:
    """The category's response refitted on its observed cells before column `end`, warm-started from `fit`
    (`estimate.refit`: one run of at most `iterations`, no covariance). The panel keeps every column, so the
    refit's vector evaluates on the later cells as `fit`'s does."""
    panel = fit.panel
    keep = panel.observed & (np.arange(panel.shape[1]) < end)[None, :]
    return refit(fit, dataclasses.replace(panel, observed=keep, cases=np.where(keep, panel.cases, 0.0)), iterations)


def choose_promotion(fits: list[CategoryFit], levels: list[LevelChoice], options: tuple[float, ...],
                     validation_weeks: int, iterations: int) -> PromotionChoice:
    """The half-life (or NONE) with the lowest WAPE + |bias| on the last `validation_weeks` training weeks,
    forecast by each category's refit without them (see the module docstring)."""
    scores = {"none": 0.0, **{f"{h:g}": 0.0 for h in options}}
    weeks = min(f.panel.shape[1] for f in fits)
    end = weeks - validation_weeks
    if not options or end < validation_weeks or validation_weeks <= 0:
        return PromotionChoice(NONE, {})
    errors = {key: [0.0, 0.0] for key in scores}
    per_series: dict[str, list[FloatArray]] = {key: [] for key in scores}
    actual = 0.0
    for f, choice in zip(fits, levels, strict=True):
        held = inner_fit(f, end, iterations)
        cells = f.problem.cells
        window = cells.week >= end
        level = np.nan_to_num(recent_level(held, choice, end))
        forecast = level[cells.series[window]] * np.exp(f.problem.eta(held.theta)[0][window])
        on = flagged(f.panel, cells.series[window], cells.week[window])
        cases = cells.cases[window]
        actual += float(cases.sum())
        for key in scores:
            half_life = NONE if key == "none" else float(key)
            factor = promotion_factor(held, choice, half_life, end, level=level)
            error = np.where(on, forecast * factor, forecast) - cases
            errors[key][0] += float(np.abs(error).sum())
            errors[key][1] += float(error.sum())
            series = cells.series[window]
            seen = np.bincount(series, minlength=f.panel.shape[0]) > 0
            per_series[key].append(np.asarray(np.bincount(series, np.abs(error), minlength=f.panel.shape[0])[seen],
                                              dtype=np.float64))
    if actual <= 0:
        return PromotionChoice(NONE, {})
    scores = {key: (absolute + abs(signed)) / actual for key, (absolute, signed) in errors.items()}
    best = min(scores, key=lambda key: scores[key])  # "none" first: it wins a tie
    if best == "none":
        return PromotionChoice(NONE, scores)
    saved = np.concatenate(per_series["none"]) - np.concatenate(per_series[best])
    spread = float(saved.std(ddof=1)) / np.sqrt(len(saved)) if len(saved) > 1 else 0.0
    t = float(saved.mean()) / spread if spread > 0 else 0.0
    return PromotionChoice(float(best) if t >= MIN_T else NONE, scores, t)
