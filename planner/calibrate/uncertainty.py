"""Standard errors: the inverse of the penalised profile information, scaled by the Pearson dispersion.

For the profiled Poisson quasi-likelihood the expected information in the parameters is

    H = [sum_i mu_i z_i z_i' - sum_blocks (sum mu z)(sum mu z)' / sum mu] / phi + penalty Hessian

with z_i = d eta_i / d theta (sparse: one season week, the category, account and product terms of each effect,
the holiday's uplift, the dip and cannibalization units). The second term is what profiling the levels out costs. Over-dispersion
enters through phi (Pearson), the usual quasi-likelihood correction; the penalty Hessian is the prior precision,
so H^-1 is the posterior covariance of the Gaussian approximation.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, sparse

from planner.calibrate.likelihood import Problem
from planner.calibrate.panel import SEASON_WEEKS, FloatArray

DENSE_LIMIT = 3000
"""Above this many parameters in a category the covariance is the inverse of the information's diagonal."""


def covariance(problem: Problem, theta: FloatArray) -> FloatArray:
    """(k, k) approximate posterior covariance of the parameter vector."""
    panel, layout, cells = problem.panel, problem.layout, problem.cells
    _, adjust, _ = problem.eta(theta)
    mean = problem.mean(theta) * cells.weight
    series = cells.series
    n = len(series)
    columns: list[np.ndarray] = []
    values: list[np.ndarray] = []
    columns.append(cells.season_cell)
    values.append(np.ones(n))
    start = layout.seasons * SEASON_WEEKS
    for j in range(layout.effects):
        at = start + j * layout.effect_width
        value = cells.covariates[j]
        columns += [np.full(n, at), at + 1 + panel.account_local[series],
                    at + 1 + layout.accounts + panel.product_local[series]]
        values += [value, value, value]
        if layout.series:
            columns.append(at + layout.series_start + series)
            values.append(value)
    if layout.holidays:  # a cell's holiday log uplift enters eta with coefficient 1 (0 without a holiday)
        columns.append(layout.holiday_start + np.maximum(cells.holiday, 0))
        values.append((cells.holiday >= 0).astype(float))
    columns += [np.full(n, layout.size - 2), np.full(n, layout.size - 1)]
    values += [-(problem.dip_unit / adjust), -(problem.cann_unit / adjust)]
    rows = np.tile(np.arange(n), len(columns))
    design = sparse.csr_matrix((np.concatenate(values), (rows, np.concatenate(columns))),
                               shape=(n, layout.size))
    weighted = sparse.diags(mean) @ design
    indicator = sparse.csr_matrix((np.ones(n), (cells.run, np.arange(n))), shape=(len(cells.run_starts), n))
    block_sums = (indicator @ weighted).tocsr()
    block_mean = np.asarray(indicator @ mean).reshape(-1)
    scale = sparse.diags(np.divide(1.0, block_mean, out=np.zeros_like(block_mean), where=block_mean > 0))
    if layout.size > DENSE_LIMIT:  # diagonal only: O(k) memory, correlations ignored (SEs then too small)
        diagonal = np.asarray(design.multiply(weighted).sum(axis=0)).reshape(-1)
        diagonal -= np.asarray((scale @ block_sums.multiply(block_sums)).sum(axis=0)).reshape(-1)
        diagonal = diagonal / problem.dispersion + penalty_diagonal(problem) + 1e-9
        return np.asarray(np.diag(1.0 / diagonal), dtype=np.float64)
    information = np.asarray((design.T @ weighted).toarray())
    information -= np.asarray((block_sums.T @ (scale @ block_sums)).toarray())
    information /= problem.dispersion
    information += penalty_hessian(problem)
    information[np.diag_indices_from(information)] += 1e-9
    return inverse(information)


def inverse(information: FloatArray) -> FloatArray:
    """The Moore-Penrose inverse of a symmetric positive semi-definite information matrix, by Cholesky.

    A parameter the data and the priors say nothing about (its row is 0 but for the 1e-9 jitter: the dip share
    of a category without promotions) gets variance 0, as the pseudo-inverse gives it; the rest is positive
    definite (every other parameter has a Gaussian prior), so one Cholesky factorisation inverts it -- a tenth
    of the eigendecomposition a pseudo-inverse costs, and far less exposed to BLAS threads contending on a
    busy machine. A factorisation that fails (not positive definite in floating point) falls back to pinv."""
    live = np.flatnonzero(np.abs(information).max(axis=1) > 1e-6)
    out = np.zeros_like(information)
    block = information[np.ix_(live, live)]
    try:
        factor = linalg.cho_factor(block, lower=True, check_finite=False)
        inverted = linalg.cho_solve(factor, np.eye(len(live)), check_finite=False)
    except linalg.LinAlgError:
        inverted = np.linalg.pinv(block, hermitian=True)
    out[np.ix_(live, live)] = (inverted + inverted.T) / 2.0
    return np.asarray(out, dtype=np.float64)


def penalty_diagonal(problem: Problem) -> FloatArray:
    """The diagonal of `penalty_hessian` without building it (cyclic second differences: 6 per week)."""
    layout, priors = problem.layout, problem.priors
    season = np.full(layout.seasons * SEASON_WEEKS, 6.0 * priors.season_smoothness + priors.season_ridge)
    holidays = np.full(layout.holidays, 1.0 / priors.holiday_sd ** 2)
    return np.concatenate([season, problem.precision().reshape(-1), holidays, np.zeros(2)])


def penalty_hessian(problem: Problem) -> FloatArray:
    layout, priors = problem.layout, problem.priors
    hessian = np.zeros((layout.size, layout.size))
    eye = np.eye(SEASON_WEEKS)
    curve = np.roll(eye, 1, axis=0) - 2.0 * eye + np.roll(eye, -1, axis=0)
    season = priors.season_smoothness * curve @ curve + priors.season_ridge * eye
    for g in range(layout.seasons):
        cut = slice(g * SEASON_WEEKS, (g + 1) * SEASON_WEEKS)
        hessian[cut, cut] = season
    index = [0] + list(1 + np.asarray(layout.kinds, dtype=int))
    start = layout.seasons * SEASON_WEEKS
    for j, i in enumerate(index):
        at = start + j * layout.effect_width
        hessian[at, at] = 1.0 / priors.category_sd[i] ** 2
        accounts = np.arange(at + 1, at + 1 + layout.accounts)
        products = np.arange(at + 1 + layout.accounts, at + layout.effect_width)
        hessian[accounts, accounts] = 1.0 / priors.account_sd[i] ** 2
        hessian[products, products] = 1.0 / priors.product_sd[i] ** 2
        if layout.series:
            own = np.arange(at + layout.series_start, at + layout.effect_width)
            hessian[own, own] = problem.precision()[j, layout.series_start:]
    holidays = np.arange(layout.holiday_start, layout.holiday_start + layout.holidays)
    hessian[holidays, holidays] = 1.0 / priors.holiday_sd ** 2
    return hessian


def series_standard_errors(problem: Problem, cov: FloatArray) -> FloatArray:
    """(1 + kinds, S) standard error of each series' effect = category + account + product term."""
    panel, layout = problem.panel, problem.layout
    start = layout.seasons * SEASON_WEEKS
    out = np.empty((layout.effects, len(panel.account_local)))
    for j in range(layout.effects):
        at = start + j * layout.effect_width
        a = at + 1 + panel.account_local
        p = at + 1 + layout.accounts + panel.product_local
        variance = (cov[at, at] + cov[a, a] + cov[p, p] + 2.0 * cov[at, a] + 2.0 * cov[at, p] + 2.0 * cov[a, p])
        if layout.series:
            own = at + layout.series_start + np.arange(len(a))
            variance += cov[own, own] + 2.0 * (cov[at, own] + cov[a, own] + cov[p, own])
        out[j] = np.sqrt(np.maximum(variance, 0.0))
    return out
