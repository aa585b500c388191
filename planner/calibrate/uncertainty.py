"""Standard errors: the inverse of the penalised profile information, scaled by the Pearson dispersion.

For the profiled Poisson quasi-likelihood the expected information in the parameters is

    H = [sum_i mu_i z_i z_i' - sum_blocks (sum mu z)(sum mu z)' / sum mu] / phi + penalty Hessian

with z_i = d eta_i / d theta (sparse: one season week, the category, account and product terms of each effect,
the dip and cannibalization units). The second term is what profiling the levels out costs. Over-dispersion
enters through phi (Pearson), the usual quasi-likelihood correction; the penalty Hessian is the prior precision,
so H^-1 is the posterior covariance of the Gaussian approximation.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from planner.calibrate.likelihood import Problem
from planner.calibrate.panel import SEASON_WEEKS, FloatArray


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
    columns += [np.full(n, layout.size - 2), np.full(n, layout.size - 1)]
    values += [-(problem.dip_unit / adjust), -(problem.cann_unit / adjust)]
    rows = np.tile(np.arange(n), len(columns))
    design = sparse.csr_matrix((np.concatenate(values), (rows, np.concatenate(columns))),
                               shape=(n, layout.size))
    weighted = sparse.diags(mean) @ design
    information = np.asarray((design.T @ weighted).toarray())
    indicator = sparse.csr_matrix((np.ones(n), (cells.run, np.arange(n))), shape=(len(cells.run_starts), n))
    block_sums = np.asarray((indicator @ weighted).toarray())
    block_mean = np.asarray(indicator @ mean).reshape(-1)
    used = block_mean > 0
    information -= block_sums[used].T @ (block_sums[used] / block_mean[used][:, None])
    information /= problem.dispersion
    information += penalty_hessian(problem)
    information[np.diag_indices_from(information)] += 1e-9
    return np.asarray(np.linalg.pinv(information, hermitian=True), dtype=np.float64)


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
        out[j] = np.sqrt(np.maximum(variance, 0.0))
    return out
