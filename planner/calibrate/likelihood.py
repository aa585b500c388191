"""Penalised Poisson pseudo-likelihood of one category, with every series' level profiled out in closed form.

Model of an observed cell i of series s in level block b (contiguous runs of `block_weeks` weeks, counted back
from the last week, so each full block holds every week of the season once):

    mu_i  = level[s, b] x exp(eta_i)
    eta_i = season[g(s), week_i] + elasticity_s x log ratio_i + sum_k log lift_{k,s} x flag_{k,i}
            + log(1 - dip_share x D_i - cannibalization x C_i)
    elasticity_s = e_category + e_account[a(s)] + e_product[p(s)]     (and the same for each log lift)

D and C are the dip and cannibalization per unit share relative to Qpre (planner.calibrate.form), computed from
the previous iterate and held fixed while the rest moves (a fixed-point iteration: the shares are small).
The Poisson score in `level` is zero at level = sum y / sum exp(eta) over the block, so the profile
log-likelihood is  sum y eta - sum_blocks Y log(sum exp eta)  and its gradient in eta is simply y - mu.
Dividing by the dispersion phi makes it a quasi-likelihood; the penalties are Gaussian priors:

    1/2 [(e_category - centre)^2 / sd_category^2 + |e_account|^2 / sd_account^2 + |e_product|^2 / sd_product^2]
    1/2 [season_smoothness |second differences of season (cyclic)|^2 + season_ridge |season|^2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.calibrate.panel import LIFT_KINDS, SEASON_WEEKS, BoolArray, FloatArray, IntArray, Panel


@dataclass(frozen=True)
class Priors:
    """Prior centres and standard deviations of one category's parameters (index 0 elasticity, then lifts)."""

    centre: FloatArray
    """(1 + kinds,) whole-level value each category mean is shrunk toward (elasticity, then log lifts)."""
    category_sd: FloatArray
    account_sd: FloatArray
    product_sd: FloatArray
    season_smoothness: float
    season_ridge: float


@dataclass(frozen=True)
class Layout:
    """Where each parameter sits in the vector: seasons x 52, then effects (1 + kinds) x (1 + A + P), dip, cann."""

    seasons: int
    accounts: int
    products: int
    kinds: tuple[int, ...]
    """Indices into LIFT_KINDS of the lifts the category's data has flags for."""

    @property
    def effect_width(self) -> int:
        return 1 + self.accounts + self.products

    @property
    def effects(self) -> int:
        return 1 + len(self.kinds)

    @property
    def size(self) -> int:
        return self.seasons * SEASON_WEEKS + self.effects * self.effect_width + 2

    def split(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, float, float]:
        """(season (G, 52), effects (1 + kinds, 1 + A + P), dip share, cannibalization)."""
        cut = self.seasons * SEASON_WEEKS
        season = theta[:cut].reshape(self.seasons, SEASON_WEEKS)
        effects = theta[cut:cut + self.effects * self.effect_width].reshape(self.effects, self.effect_width)
        return season, effects, float(theta[-2]), float(theta[-1])

    def per_series(self, effects: FloatArray, panel: Panel) -> FloatArray:
        """(1 + kinds, S) category + account + product value of each effect for each series."""
        return np.asarray(effects[:, :1] + effects[:, 1 + panel.account_local]
                          + effects[:, 1 + self.accounts + panel.product_local], dtype=np.float64)


def layout_of(panel: Panel) -> Layout:
    kinds = tuple(k for k in range(len(LIFT_KINDS)) if np.any(panel.flags[k][panel.observed] > 0))
    return Layout(len(panel.season_ids), int(panel.account_local.max()) + 1,
                  int(panel.product_local.max()) + 1, kinds)


def level_blocks(weeks: int, block_weeks: int) -> tuple[IntArray, IntArray]:
    """(block of each column, first column of each block): blocks of block_weeks counted back from the end."""
    block = (weeks - 1 - np.arange(weeks)) // max(block_weeks, 1)
    block = block.max() - block
    starts = np.flatnonzero(np.r_[True, np.diff(block) != 0])
    return np.asarray(block, dtype=np.intp), np.asarray(starts, dtype=np.intp)


@dataclass
class Problem:
    """One category's profiled objective; call `value_and_gradient` with a parameter vector."""

    panel: Panel
    layout: Layout
    priors: Priors
    block: IntArray
    starts: IntArray
    dip_unit: FloatArray
    """(S, W) D: dip per unit dip share relative to Qpre (0 on unobserved cells)."""
    cann_unit: FloatArray
    dispersion: float = 1.0

    def eta(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(eta (S, W), adjustment 1 - rho D - kappa C (S, W), per-series effects (1 + kinds, S))."""
        panel, layout = self.panel, self.layout
        season, effects, dip, cann = layout.split(theta)
        series = layout.per_series(effects, panel)
        eta = season[panel.season_group][:, panel.week_of_season] + series[0][:, None] * panel.log_ratio
        for j, k in enumerate(layout.kinds):
            eta += series[1 + j][:, None] * panel.flags[k]
        adjust = np.maximum(1.0 - dip * self.dip_unit - cann * self.cann_unit, 1e-4)
        return eta + np.log(adjust), adjust, series

    def levels(self, eta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(level (S, B), cases per block Y (S, B), sum exp(eta) per block (S, B)), observed cells only."""
        mask = self.panel.observed
        totals = np.add.reduceat(np.where(mask, self.panel.cases, 0.0), self.starts, axis=1)
        exposure = np.add.reduceat(np.where(mask, np.exp(eta), 0.0), self.starts, axis=1)
        level = np.divide(totals, exposure, out=np.zeros_like(totals), where=exposure > 0)
        return level, totals, exposure

    def mean(self, theta: FloatArray) -> FloatArray:
        """(S, W) fitted mean with the profiled levels (0 on unobserved cells)."""
        eta, _, _ = self.eta(theta)
        level, _, _ = self.levels(eta)
        return np.where(self.panel.observed, level[:, self.block] * np.exp(eta), 0.0)

    def log_likelihood(self, theta: FloatArray) -> float:
        """Profile Poisson log-likelihood (without constants), not divided by the dispersion."""
        eta, _, _ = self.eta(theta)
        _, totals, exposure = self.levels(eta)
        return _profile(self.panel, eta, totals, exposure)

    def penalty(self, theta: FloatArray) -> tuple[float, FloatArray]:
        layout, priors = self.layout, self.priors
        season, effects, _, _ = layout.split(theta)
        gradient = np.zeros_like(theta)
        curve = second_difference(season)
        value = 0.5 * priors.season_smoothness * float(np.sum(curve ** 2))
        value += 0.5 * priors.season_ridge * float(np.sum(season ** 2))
        season_gradient = priors.season_smoothness * second_difference(curve) + priors.season_ridge * season
        gradient[:layout.seasons * SEASON_WEEKS] = season_gradient.reshape(-1)
        index = [0] + list(1 + np.asarray(layout.kinds, dtype=int))
        precision = np.empty((layout.effects, layout.effect_width))
        precision[:, 0] = 1.0 / priors.category_sd[index] ** 2
        precision[:, 1:1 + layout.accounts] = (1.0 / priors.account_sd[index] ** 2)[:, None]
        precision[:, 1 + layout.accounts:] = (1.0 / priors.product_sd[index] ** 2)[:, None]
        offset = effects.copy()
        offset[:, 0] -= priors.centre[index]
        value += 0.5 * float(np.sum(precision * offset ** 2))
        start = layout.seasons * SEASON_WEEKS
        gradient[start:start + offset.size] = (precision * offset).reshape(-1)
        return value, gradient

    def value_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Objective to minimise (minus the quasi-log-likelihood plus penalties) and its exact gradient (D and
        C held fixed)."""
        panel, layout = self.panel, self.layout
        eta, adjust, _ = self.eta(theta)
        level, totals, exposure = self.levels(eta)
        mask = panel.observed
        mean = level[:, self.block] * np.exp(eta)
        residual = np.where(mask, panel.cases - mean, 0.0)
        log_lik = _profile(panel, eta, totals, exposure)
        gradient = np.zeros_like(theta)
        by_group = np.zeros((layout.seasons, residual.shape[1]))
        np.add.at(by_group, panel.season_group, residual)
        for g in range(layout.seasons):
            gradient[g * SEASON_WEEKS:(g + 1) * SEASON_WEEKS] = np.bincount(
                panel.week_of_season, by_group[g], minlength=SEASON_WEEKS)
        start = layout.seasons * SEASON_WEEKS
        covariates = [panel.log_ratio] + [panel.flags[k] for k in layout.kinds]
        for j, covariate in enumerate(covariates):
            per_series = np.sum(residual * covariate, axis=1)
            at = start + j * layout.effect_width
            gradient[at] = per_series.sum()
            gradient[at + 1:at + 1 + layout.accounts] = np.bincount(panel.account_local, per_series,
                                                                    minlength=layout.accounts)
            gradient[at + 1 + layout.accounts:at + layout.effect_width] = np.bincount(
                panel.product_local, per_series, minlength=layout.products)
        gradient[-2] = -float(np.sum(residual * self.dip_unit / adjust))
        gradient[-1] = -float(np.sum(residual * self.cann_unit / adjust))
        penalty, penalty_gradient = self.penalty(theta)
        return -log_lik / self.dispersion + penalty, -gradient / self.dispersion + penalty_gradient


def _profile(panel: Panel, eta: FloatArray, totals: FloatArray, exposure: FloatArray) -> float:
    used = totals > 0
    return float(np.sum(np.where(panel.observed, panel.cases * eta, 0.0))) - float(
        np.sum(totals[used] * np.log(exposure[used])))


def second_difference(season: FloatArray) -> FloatArray:
    """Cyclic second differences along the last axis (symmetric: applying it twice is its own adjoint)."""
    return np.asarray(np.roll(season, 1, axis=-1) - 2.0 * season + np.roll(season, -1, axis=-1),
                      dtype=np.float64)


def pearson_dispersion(panel: Panel, mean: FloatArray, parameters: int) -> float:
    """Pearson chi-square / residual degrees of freedom, at least 1 (over-dispersion only)."""
    mask: BoolArray = panel.observed & (mean > 0)
    chi2 = float(np.sum((panel.cases[mask] - mean[mask]) ** 2 / mean[mask]))
    freedom = max(int(mask.sum()) - parameters, 1)
    return max(chi2 / freedom, 1.0)
