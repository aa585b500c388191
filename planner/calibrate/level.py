"""The baseline a forecast starts from: each series' recent level, and the half-life that sets "recent".

Given the fitted shape exp(eta) of every observed week, the level that maximises the Poisson likelihood with
weights w_t = 0.5 ** (age_t / half_life) is  sum w y / sum w exp(eta)  -- closed form again. A short half-life
follows a series' current level, a long one averages out its noise. The half-life is chosen by rolling-origin
validation inside the training window: at each origin the levels are measured on the weeks before it and the
form forecasts the next weeks from their actual prices and promotions; the score is WAPE + |bias| summed over
origins and categories (WAPE alone rewards median-like forecasts, the P&L needs unbiased means). The shape
(seasons, elasticities, lifts) is the one fitted on the whole window: only the level is re-measured per origin.
"""

from __future__ import annotations

import numpy as np

from planner.calibrate.estimate import CategoryFit
from planner.calibrate.form import volumes
from planner.calibrate.panel import LIFT_KINDS, FloatArray

INFINITE = float("inf")


def recent_level(fit: CategoryFit, half_life: float, end: int | None = None) -> FloatArray:
    """(S,) level of each series from the columns before `end` (all by default), weighted by recency."""
    problem, panel = fit.problem, fit.panel
    cells = problem.cells
    eta, _, _ = problem.eta(fit.theta)
    end = panel.shape[1] if end is None else end
    use = cells.week < end
    series, week = cells.series[use], cells.week[use]
    last = np.full(panel.shape[0], -1)
    np.maximum.at(last, series, week)
    age = (last[series] - week).astype(float)  # from each series' last week: no underflow
    weight = 0.5 ** (age / half_life) if np.isfinite(half_life) else np.ones(len(age))
    cases = np.bincount(series, weight * cells.cases[use], minlength=panel.shape[0])
    exposure = np.bincount(series, weight * np.exp(eta[use]), minlength=panel.shape[0])
    return np.asarray(np.divide(cases, exposure, out=np.full(len(cases), np.nan), where=exposure > 0),
                      dtype=np.float64)


def forecast(fit: CategoryFit, level: FloatArray) -> FloatArray:
    """(S, W) the form's mean on every cell of the fitted panel, from the given levels."""
    panel, layout = fit.panel, fit.layout
    season, effects, dip, cann = layout.split(fit.theta)
    series = layout.per_series(effects, panel)
    base = np.nan_to_num(level)[:, None] * np.exp(season[panel.season_group][:, panel.week_of_season])
    lift = np.ones((len(LIFT_KINDS), panel.shape[0]))
    for j, k in enumerate(layout.kinds):
        lift[k] = np.exp(series[1 + j])
    shares = np.ones(panel.shape[0])
    return volumes(panel, base, np.minimum(series[0], 0.0), lift, shares * dip, fit.dip_weeks,
                   shares * cann).final


def choose_half_life(fit: CategoryFit, options: tuple[float, ...], origins: int,
                     horizon: int) -> tuple[float, dict[str, float]]:
    """The half-life with the lowest WAPE + |bias| over `origins` rolling origins `horizon` weeks apart, and
    each option's score (a category's own: categories move at their own pace)."""
    weeks = fit.panel.shape[1]
    cut = [weeks - horizon * (i + 1) for i in range(origins)]
    cut = [c for c in cut if c > horizon]
    scores: dict[str, float] = {}
    best = (INFINITE, options[0])
    for half_life in options:
        score = 0.0
        for origin in cut:
            mean = forecast(fit, recent_level(fit, half_life, origin))
            window = slice(origin, origin + horizon)
            mask = fit.panel.observed[:, window]
            y = fit.panel.cases[:, window][mask]
            f = mean[:, window][mask]
            actual = max(float(y.sum()), 1e-9)
            score += float(np.abs(y - f).sum()) / actual + abs(float((f - y).sum())) / actual
        scores[f"{half_life:g}"] = score / max(len(cut), 1)
        if scores[f"{half_life:g}"] < best[0]:
            best = (scores[f"{half_life:g}"], half_life)
    return best[1], scores
