"""The baseline a forecast starts from: each series' recent level, and the half-lives that set "recent".

Given the fitted shape exp(eta) of every observed week, the level that maximises the Poisson likelihood with
weights w_t = 0.5 ** (age_t / half_life) is  sum w y / sum w exp(eta)  -- closed form again. A short half-life
follows a series' current level but is noisy (a few weeks of one store's sales of one product); a long one
averages the noise out but lags. So the level has two parts:

    level_s = L_s(series half-life) x r_p(pooled half-life) x r_a(pooled half-life)

L_s is the series' own weighted level; r_p is how much the product sells now, over all the category's accounts,
against what the L_s of its series predict (a product going out of distribution shows up in every store at
once), and r_a the same for the account over its products (store traffic), both from recent weeks weighted by
the pooled half-life and each a closed-form ratio. The pair is chosen by rolling-origin validation inside the
training window: at each origin the levels are measured on the weeks before it and the fitted shape forecasts
the next weeks from their actual prices and promotions; the score is WAPE + |bias| (WAPE alone rewards
median-like forecasts, the P&L needs unbiased means). The shape (seasons, elasticities, lifts, the fitted dip
and cannibalization) is the one fitted on the whole window: only the level is re-measured per origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.calibrate.estimate import CategoryFit
from planner.calibrate.panel import FloatArray, IntArray

INFINITE = float("inf")


@dataclass(frozen=True)
class LevelChoice:
    series_half_life: float
    pooled_half_life: float
    """INFINITE: no pooled recent multipliers."""

    def __str__(self) -> str:
        return f"{self.series_half_life:g}/{self.pooled_half_life:g}"


def recent_level(fit: CategoryFit, choice: LevelChoice, end: int | None = None,
                 shape: FloatArray | None = None) -> FloatArray:
    """(S,) level of each series from the columns before `end` (all by default); `shape`: exp(eta) of the fit's
    observed cells when the caller has it (it is the same for every choice and origin)."""
    problem, panel = fit.problem, fit.panel
    cells = problem.cells
    shape = np.exp(problem.eta(fit.theta)[0]) if shape is None else shape
    end = panel.shape[1] if end is None else end
    use = cells.week < end
    series, week, cases, shape = cells.series[use], cells.week[use], cells.cases[use], shape[use]
    count = panel.shape[0]
    last = np.full(count, -1)
    np.maximum.at(last, series, week)
    level = _ratio(series, cases, shape, _weight(last[series] - week, choice.series_half_life), count)
    if np.isfinite(choice.pooled_half_life):
        weight = _weight(end - 1 - week, choice.pooled_half_life)
        for group in (panel.product_local, panel.account_local):
            mean = np.nan_to_num(level)[series] * shape
            members = group[series]
            factor = _ratio(members, cases, mean, weight, int(group.max()) + 1, prior=1.0)
            level = level * factor[group]
    return level


def _weight(age: IntArray, half_life: float) -> FloatArray:
    if not np.isfinite(half_life):
        return np.ones(len(age))
    return np.asarray(0.5 ** (age.astype(float) / half_life), dtype=np.float64)


def _ratio(group: IntArray, cases: FloatArray, mean: FloatArray, weight: FloatArray, count: int,
           prior: float = 0.0) -> FloatArray:
    """Weighted sum of cases / weighted sum of mean per group (nan where nothing is known); `prior` adds that
    many weeks' worth of the group's mean at ratio 1, so a group seen a little stays near 1."""
    cases_sum = np.asarray(np.bincount(group, weight * cases, minlength=count), dtype=np.float64)
    mean_sum = np.asarray(np.bincount(group, weight * mean, minlength=count), dtype=np.float64)
    if prior > 0:
        seen = np.maximum(np.bincount(group, minlength=count), 1)
        typical = prior * np.bincount(group, mean, minlength=count) / seen
        cases_sum, mean_sum = cases_sum + typical, mean_sum + typical
    return np.asarray(np.divide(cases_sum, mean_sum, out=np.full(count, np.nan), where=mean_sum > 0),
                      dtype=np.float64)


def choose_level(fit: CategoryFit, series_options: tuple[float, ...], pooled_options: tuple[float, ...],
                 origins: int, horizon: int) -> tuple[LevelChoice, dict[str, float]]:
    """The half-lives with the lowest mean WAPE + |bias| over `origins` rolling origins `horizon` weeks apart,
    and each pair's score (a category's own: categories move at their own pace)."""
    cells = fit.problem.cells
    shape = np.exp(fit.problem.eta(fit.theta)[0])
    weeks = fit.panel.shape[1]
    cuts = [c for c in (weeks - horizon * (i + 1) for i in range(origins)) if c > horizon]
    scores: dict[str, float] = {}
    best: tuple[float, LevelChoice] | None = None
    for series_half_life in series_options:
        for pooled_half_life in pooled_options:
            choice = LevelChoice(series_half_life, pooled_half_life)
            score = 0.0
            for origin in cuts:
                window = (cells.week >= origin) & (cells.week < origin + horizon)
                level = np.nan_to_num(recent_level(fit, choice, origin, shape))
                forecast = level[cells.series[window]] * shape[window]
                actual = cells.cases[window]
                total = max(float(actual.sum()), 1e-9)
                score += (float(np.abs(actual - forecast).sum()) + abs(float((forecast - actual).sum()))) / total
            scores[str(choice)] = score / max(len(cuts), 1)
            if best is None or scores[str(choice)] < best[0]:
                best = (scores[str(choice)], choice)
    assert best is not None
    return best[1], scores
