"""Fitting one category: L-BFGS-B on the profiled objective, then with the dip and cannibalization.

1. Seasons, elasticities and lifts with no dip or cannibalization (their units D, C are 0).
2. The dispersion phi from the Pearson residuals, so the priors weigh against a quasi-likelihood; then the cases
   made robust at that fit (robust.py: a spike counts at most Huber's c standard deviations above its mean) and
   the fit continues on them.
3. `outer` times: each cell's expected base E and Q0 from the current fit (likelihood.Terms; in the first round
   for each candidate number of dip weeks, the number that fits best kept), then everything (dip share and
   cannibalization included, both in [0, 0.9]) re-fitted warm, with D and C moving with the elasticities and
   lifts (the exact gradient through them): a promotion's incremental volume, the dip it causes and what it takes
   from its siblings are fitted together, not the lift first with the others held at the last round's values.

A Fit has one number of dip weeks; `with_dip_weeks` re-fits the dip share of a category that chose another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from planner.calibrate.likelihood import (
    Layout,
    Priors,
    Problem,
    cells_of,
    holiday_values,
    layout_of,
    level_blocks,
    pearson_dispersion,
    terms_of,
)
from planner.calibrate.panel import SEASON_WEEKS, FloatArray, Panel
from planner.calibrate.robust import HUBER_C, robust_cases
from planner.calibrate.uncertainty import covariance

MAX_SHARE = 0.9


@dataclass(frozen=True)
class CategoryFit:
    problem: Problem
    theta: FloatArray
    dip_weeks: int
    covariance: FloatArray
    iterations: int

    @property
    def layout(self) -> Layout:
        return self.problem.layout

    @property
    def panel(self) -> Panel:
        return self.problem.panel


def estimate(panel: Panel, priors: Priors, *, block_weeks: int, dip_weeks_options: tuple[int, ...],
             outer: int, start: FloatArray | None = None, with_covariance: bool = True,
             most: int = 500, half_life: float = float("inf"), whole: Panel | None = None,
             huber_c: float = HUBER_C) -> CategoryFit:
    """Fit one category (see the module docstring); `start` warm-starts from an earlier fit's vector, `most`
    caps the iterations of each L-BFGS-B run (a rough first pass needs few), `half_life` (weeks) weighs
    recent weeks more in the likelihood; `whole`: the panel `panel` samples (see `widen`); `huber_c`: the cap of
    the robust cases in standard deviations (robust.py; inf: the raw cases)."""
    layout = layout_of(panel, priors, whole)
    block = level_blocks(panel.shape[1], block_weeks)
    cells = cells_of(panel, layout, block, half_life)
    zeros = np.zeros(len(cells.cases))
    problem = Problem(panel, layout, priors, block, cells, zeros, zeros, half_life=half_life)
    theta = np.zeros(layout.size)
    theta[layout.seasons * SEASON_WEEKS] = min(float(priors.centre[0]), 0.0)
    if start is not None and start.shape == theta.shape:
        theta = start.copy()
    theta[-2:] = 0.0
    theta, iterations = _minimise(problem, theta, shares=False, most=40 if start is None else 15)
    problem.dispersion = pearson_dispersion(cells.cases, problem.mean(theta), layout.size + len(cells.run_starts))
    theta, more = _minimise(problem, theta, shares=False, most=most)
    iterations += more
    if np.isfinite(huber_c):  # one step: a second one moved a spiked test world's fit by a tenth as much again
        problem = robust_problem(problem, theta, huber_c)
        theta, more = _minimise(problem, theta, shares=False, most=most)
        iterations += more
    dip_weeks = dip_weeks_options[0]
    promoted = bool(panel.promoted[panel.observed].any())
    options = dip_weeks_options
    for _ in range(outer if promoted else 0):
        problem, dip_weeks, theta = _choose_dip_weeks(problem, theta, options)
        options = (dip_weeks,)  # chosen once; later rounds only move D and C to the current fit
        theta, more = _minimise(problem, theta, shares=True, most=most)
        iterations += more
    problem = problem.at(theta)
    cov = covariance(problem, theta) if with_covariance else np.zeros((0, 0))
    return CategoryFit(problem, theta, dip_weeks, cov, iterations)


def robust_problem(problem: Problem, theta: FloatArray, huber_c: float) -> Problem:
    """The problem on its panel's robust cases (robust.py, capped at `huber_c` standard deviations) at the fit
    `theta` of the raw cases, its dispersion (the raw cases') kept; the problem itself when `huber_c` is inf."""
    if not np.isfinite(huber_c):
        return problem
    cells = problem.cells
    cases = problem.panel.cases.copy()
    cases[cells.series, cells.week] = robust_cases(cells.cases, problem.mean(theta), problem.dispersion, huber_c)
    panel = replace(problem.panel, cases=cases)
    robust = cells_of(panel, problem.layout, problem.block, problem.half_life)
    return replace(problem, panel=panel, cells=robust)


def _bounds(layout: Layout, shares: bool) -> list[tuple[float | None, float | None]]:
    bounds: list[tuple[float | None, float | None]] = [(None, None)] * layout.size
    bounds[layout.seasons * SEASON_WEEKS] = (None, 0.0)  # the category's elasticity
    top = MAX_SHARE if shares else 0.0
    bounds[-2] = (0.0, top)
    bounds[-1] = (0.0, top)
    return bounds


def _minimise(problem: Problem, theta: FloatArray, shares: bool, most: int) -> tuple[FloatArray, int]:
    scale = max(float(problem.panel.cases.sum()) / problem.dispersion, 1.0) / 1e3

    def objective(x: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = problem.value_and_gradient(x)
        return value / scale, gradient / scale

    # Tight tolerances make the fit reproducible: with ftol 1e-9 / gtol 1e-6 L-BFGS-B stopped while weakly
    # identified series deviations were still moving, where the rounding of another machine's BLAS (or another
    # thread count) had sent it, and the demo's written values differed by up to 0.5 % between one and two
    # BLAS threads. At these they agree to the written 4 decimals, for about twice the iterations.
    result = minimize(objective, theta, jac=True, method="L-BFGS-B", bounds=_bounds(problem.layout, shares),
                      options={"maxiter": most, "maxcor": 20, "ftol": 1e-13, "gtol": 1e-9})
    return np.asarray(result.x, dtype=np.float64), int(result.nit)


def with_terms(problem: Problem, theta: FloatArray, dip_weeks: int) -> Problem:
    """The problem with the dip and cannibalization moving with the effects, around the fit at `theta` (its
    levels and seasons give each cell's E; see likelihood.Terms), its dip_unit and cann_unit those at `theta`."""
    base, series = _base(problem, theta)
    return replace(problem, terms=terms_of(problem.panel, base, series[0], dip_weeks)).at(theta)


def _base(problem: Problem, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """((S, W) expected base E = level x season weight x holiday uplift of every cell, per-series effects) at
    `theta`."""
    panel, layout = problem.panel, problem.layout
    eta, _, series = problem.eta(theta)
    level, _ = problem.levels(eta)
    cells = problem.cells
    by_block = np.zeros((panel.shape[0], int(problem.block.max()) + 1))
    by_block[cells.run_series, problem.block[cells.week[cells.run_starts]]] = level
    season, _, _, _ = layout.split(theta)
    log_weight = season[panel.season_group][:, panel.week_of_season]
    if layout.holidays:
        log_weight = log_weight + holiday_values(layout.holiday_part(theta), panel.holiday)
    return by_block[:, problem.block] * np.exp(log_weight), series


def units(problem: Problem, theta: FloatArray, dip_weeks: int) -> tuple[FloatArray, FloatArray]:
    """(D, C): the dip and cannibalization the current fit implies per unit share, relative to Qpre."""
    moving = with_terms(problem, theta, dip_weeks)
    return moving.dip_unit, moving.cann_unit


def _choose_dip_weeks(problem: Problem, theta: FloatArray,
                      options: tuple[int, ...]) -> tuple[Problem, int, FloatArray]:
    """For each number of dip weeks: E and Q0 from the current fit, the dip share that fits best with all else
    fixed; the best (problem, weeks, vector) by the objective."""
    best: tuple[float, Problem, int, FloatArray] | None = None
    for weeks in options:
        candidate = with_terms(problem, theta, weeks)

        def objective(share: float, candidate: Problem = candidate) -> float:
            x = theta.copy()
            x[-2] = share
            return candidate.value(x)

        found = minimize_scalar(objective, bounds=(0.0, MAX_SHARE), method="bounded",
                                options={"xatol": 1e-4})
        x = theta.copy()
        at_best, at_zero = objective(float(found.x)), objective(0.0)
        x[-2] = float(found.x) if at_best < at_zero else 0.0
        value = min(at_zero, at_best)
        if best is None or value < best[0] - 1e-9:
            best = (value, candidate, weeks, x)
    assert best is not None
    return best[1].at(best[3]), best[2], best[3]


def with_dip_weeks(fit: CategoryFit, dip_weeks: int) -> CategoryFit:
    """The same fit with the dip spread over `dip_weeks` weeks: D and C again, the dip share re-fitted alone."""
    if fit.dip_weeks == dip_weeks:
        return fit
    problem, _, theta = _choose_dip_weeks(fit.problem, fit.theta, (dip_weeks,))
    cov = covariance(problem, theta) if fit.covariance.size else fit.covariance
    return CategoryFit(problem, theta, dip_weeks, cov, fit.iterations)


def widen(fit: CategoryFit, whole: Panel, huber_c: float = HUBER_C) -> CategoryFit:
    """A fit of a sample of `whole`'s series (estimated with `whole=whole`) applied to every series of `whole`:
    the same parameters and covariance, the cells, levels and dip and cannibalization units of the whole panel.
    Accounts outside the sample have no deviation of their own (their prior mean, 0): they get the category's
    and their products' response. The whole panel's cases are made robust at the fit, as the sample's were."""
    if fit.panel.shape[0] == whole.shape[0]:  # not a sample: the fit is of the whole (on its robust cases)
        return fit
    old = fit.problem
    cells = cells_of(whole, old.layout, old.block, old.half_life)
    zeros = np.zeros(len(cells.cases))
    problem = Problem(whole, old.layout, old.priors, old.block, cells, zeros, zeros, old.dispersion, old.half_life)
    problem = robust_problem(problem, fit.theta, huber_c)
    return CategoryFit(with_terms(problem, fit.theta, fit.dip_weeks), fit.theta, fit.dip_weeks, fit.covariance,
                       fit.iterations)


def refit(fit: CategoryFit, panel: Panel, most: int) -> CategoryFit:
    """The fit's objective on `panel` (the same series and layout, other observed cells, e.g. fewer weeks),
    warm-started from its vector: one L-BFGS-B run of at most `most` iterations with the dip and cannibalization
    moving (their E and Q0 from the fit), its dispersion and number of dip weeks kept, no covariance. What a
    validation out of sample needs, at a fraction of `estimate`'s cost."""
    old = fit.problem
    cells = cells_of(panel, old.layout, old.block, old.half_life)
    zeros = np.zeros(len(cells.cases))
    problem = with_terms(Problem(panel, old.layout, old.priors, old.block, cells, zeros, zeros, old.dispersion,
                                 old.half_life), fit.theta, fit.dip_weeks)
    theta, iterations = _minimise(problem, fit.theta, shares=True, most=most)
    return CategoryFit(problem.at(theta), theta, fit.dip_weeks, np.zeros((0, 0)), iterations)
