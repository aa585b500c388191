"""Penalised Poisson pseudo-likelihood of one category, with every series' level profiled out in closed form.

Model of an observed cell i of series s in level block b (contiguous runs of `block_weeks` weeks, counted back
from the last week, so each full block holds every week of the season once):

    mu_i  = level[s, b] x exp(eta_i)
    eta_i = season[g(s), week_i] + holiday[h_i] + elasticity_s x log ratio_i + sum_k log lift_{k,s} x flag_{k,i}
            + log(1 - dip_share x D_i - cannibalization x C_i)
    elasticity_s = e_category + e_account[a(s)] + e_product[p(s)]     (and the same for each log lift)

holiday[h] is the category's log uplift of the holiday the cell's row names (0 for a cell without one): it scales
the expected base E like a season weight, so the season weights need not explain the weeks a holiday fell in --
which differ from year to year for a moving holiday (Easter, Spring Festival).

D and C are the dip and cannibalization per unit share relative to Qpre (planner.calibrate.form). With `Terms`
they are functions of the elasticities and lifts, recomputed at every evaluation with an exact gradient: the
incremental volume of every promoted cell moves with its Qpre, and so do the dip it causes in the weeks after and
what it takes from its siblings; only each cell's expected base E, its Q0 and the account-week totals T are held
at the values of the iterate a run starts from (estimate.py refreshes them between runs). Without `Terms`
(the first run), D and C are the fixed `dip_unit` and `cann_unit`.
The Poisson score in `level` is zero at level = sum y / sum exp(eta) over the block, so the profile
log-likelihood is  sum y eta - sum_blocks Y log(sum exp eta)  and its gradient in eta is simply y - mu.
Dividing by the dispersion phi makes it a quasi-likelihood; the penalties are Gaussian priors:

    1/2 [(e_category - centre)^2 / sd_category^2 + |e_account|^2 / sd_account^2 + |e_product|^2 / sd_product^2]
    1/2 [season_smoothness |second differences of season (cyclic)|^2 + season_ridge |season|^2]
    1/2 sum_h (holiday[h] - holiday_centre[h])^2 / holiday_sd^2
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse

from planner.calibrate.form import dip_amount
from planner.calibrate.panel import LIFT_KINDS, SEASON_WEEKS, BoolArray, FloatArray, IntArray, Panel

MIN_ADJUSTMENT = 1e-4
"""1 - rho D - kappa C is clamped here: a cell never loses all its volume to the dip and cannibalization."""


@dataclass(frozen=True)
class Priors:
    """Prior centres and standard deviations of one category's parameters (index 0 elasticity, then lifts)."""

    centre: FloatArray
    """(1 + kinds,) whole-level value each category mean is shrunk toward (elasticity, then log lifts)."""
    category_sd: FloatArray
    account_sd: FloatArray
    product_sd: FloatArray
    series_sd: FloatArray
    """Deviation of each account x product from category + account + product; 0 turns the term off."""
    season_smoothness: float
    season_ridge: float
    holiday_centre: Mapping[str, float] = field(default_factory=dict)
    """Holiday id -> whole-level log uplift a category's is shrunk toward (0 where not given)."""
    holiday_sd: float = 0.5
    """Prior standard deviation of a category's log uplift of a holiday around the centre."""


@dataclass(frozen=True)
class Layout:
    """Where each parameter sits in the vector: seasons x 52, then effects (1 + kinds) x (1 + A + P), dip, cann."""

    seasons: int
    accounts: int
    products: int
    kinds: tuple[int, ...]
    """Indices into LIFT_KINDS of the lifts the category's data has flags for."""
    series: int = 0
    """Number of series deviations per effect (S, or 0 without that level)."""
    holidays: int = 0
    """Number of holiday log uplifts (the panel's `holiday_ids`), after the effects, before the two shares."""

    @property
    def effect_width(self) -> int:
        return 1 + self.accounts + self.products + self.series

    @property
    def series_start(self) -> int:
        """Offset of the series deviations within an effect's row."""
        return 1 + self.accounts + self.products

    @property
    def effects(self) -> int:
        return 1 + len(self.kinds)

    @property
    def holiday_start(self) -> int:
        return self.seasons * SEASON_WEEKS + self.effects * self.effect_width

    @property
    def size(self) -> int:
        return self.holiday_start + self.holidays + 2

    def holiday_part(self, theta: FloatArray) -> FloatArray:
        """(holidays,) the log uplift of each of the panel's holidays."""
        return theta[self.holiday_start:self.holiday_start + self.holidays]

    def split(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, float, float]:
        """(season (G, 52), effects (1 + kinds, 1 + A + P), dip share, cannibalization)."""
        cut = self.seasons * SEASON_WEEKS
        season = theta[:cut].reshape(self.seasons, SEASON_WEEKS)
        effects = theta[cut:cut + self.effects * self.effect_width].reshape(self.effects, self.effect_width)
        return season, effects, float(theta[-2]), float(theta[-1])

    def per_series(self, effects: FloatArray, panel: Panel) -> FloatArray:
        """(1 + kinds, S) category + account + product value of each effect for each series."""
        values = (effects[:, :1] + effects[:, 1 + panel.account_local]
                  + effects[:, 1 + self.accounts + panel.product_local])
        if self.series:
            values = values + effects[:, self.series_start:]
        return np.asarray(values, dtype=np.float64)


def layout_of(panel: Panel, priors: Priors, whole: Panel | None = None) -> Layout:
    """The parameters of a panel's fit; with `whole` (a panel `panel` is a subset of), sized for the whole panel's
    accounts and products, so the fit of the subset applies to every series of the whole."""
    kinds = tuple(k for k in range(len(LIFT_KINDS)) if np.any(panel.flags[k][panel.observed] > 0))
    series = panel.shape[0] if np.any(priors.series_sd > 0) else 0
    sized = whole or panel
    return Layout(len(sized.season_ids), int(sized.account_local.max()) + 1,
                  int(sized.product_local.max()) + 1, kinds, series, len(sized.holiday_ids))


def level_blocks(weeks: int, block_weeks: int) -> IntArray:
    """(W,) level block of each column: runs of block_weeks columns counted back from the last one."""
    block = (weeks - 1 - np.arange(weeks)) // max(block_weeks, 1)
    return np.asarray(block.max() - block, dtype=np.intp)


@dataclass(frozen=True)
class Cells:
    """A panel's observed cells as flat vectors in (series, week) order, so that every sum the objective needs
    is a bincount or a reduceat over contiguous runs (a series' cells of one level block are adjacent)."""

    series: IntArray
    week: IntArray
    cases: FloatArray
    covariates: FloatArray
    """(1 + kinds, n) log ratio, then the flags of the layout's lift kinds."""
    season_cell: IntArray
    """(n,) season group x 52 + week of season: the cell's entry in the flattened season."""
    run_starts: IntArray
    """First cell of each (series, level block) run."""
    run: IntArray
    """(n,) run of each cell."""
    run_cases: FloatArray
    """Weighted cases of each run."""
    run_series: IntArray
    weight: FloatArray
    """(n,) weight of each cell in the likelihood: 0.5 ** (weeks before the last / half-life)."""
    holiday: IntArray
    """(n,) the cell's holiday (index into the panel's `holiday_ids`), -1: none."""


def cells_of(panel: Panel, layout: Layout, block: IntArray, half_life: float = float("inf")) -> Cells:
    series, week = np.nonzero(panel.observed)
    covariates = np.stack([panel.log_ratio[series, week]] + [panel.flags[k][series, week] for k in layout.kinds])
    season_cell = panel.season_group[series] * SEASON_WEEKS + panel.week_of_season[week]
    group = series * (int(block.max()) + 1) + block[week]
    new_run = np.r_[True, np.diff(group) != 0]
    run_starts = np.flatnonzero(new_run)
    cases = panel.cases[series, week]
    age = (panel.shape[1] - 1 - week).astype(float)
    weight = 0.5 ** (age / half_life) if np.isfinite(half_life) else np.ones(len(week))
    return Cells(series, week, cases, covariates, np.asarray(season_cell, dtype=np.intp), run_starts,
                 np.cumsum(new_run) - 1, np.add.reduceat(weight * cases, run_starts), series[run_starts], weight,
                 np.asarray(panel.holiday[series, week], dtype=np.intp))


@dataclass(frozen=True)
class Terms:
    """What the dip and cannibalization of a run hold fixed: each cell's E and Q0, and 1 / (T - Q0) of each cell
    as a donor (0 when the product is alone in its account's category that week)."""

    base: FloatArray
    """(S, W) expected base E = level x season weight."""
    plain: FloatArray
    """(S, W) Q0: E on promoted cells, E x ratio ** elasticity elsewhere."""
    inverse_others: FloatArray
    dip_weeks: int
    members: sparse.csr_matrix
    """(accounts, S) 0/1: the series of each account (the cannibalization groups)."""

    def siblings(self, values: FloatArray) -> FloatArray:
        """(S, W) sum of `values` over each series' account (its own included)."""
        return np.asarray(self.members.T @ (self.members @ values), dtype=np.float64)


@dataclass(frozen=True)
class Live:
    """The dip and cannibalization at one parameter vector (see Terms)."""

    dip_unit: FloatArray
    """(n,) D of each observed cell."""
    cann_unit: FloatArray
    before: FloatArray
    """(S, W) Qpre."""
    gaining: BoolArray
    """(S, W) promoted cells with a positive incremental volume."""


def terms_of(panel: Panel, base: FloatArray, elasticity: FloatArray, dip_weeks: int) -> Terms:
    """The fixed part of the dip and cannibalization at a base E (S, W) and elasticities (S,)."""
    plain = np.where(panel.promoted, base, base * np.exp(elasticity[:, None] * panel.log_ratio))
    series = np.arange(panel.shape[0])
    members = sparse.csr_matrix((np.ones(len(series)), (panel.account_local, series)),
                                shape=(int(panel.account_local.max()) + 1, len(series)))
    others = np.asarray(members.T @ (members @ plain), dtype=np.float64) - plain
    inverse = np.divide(1.0, others, out=np.zeros_like(others), where=others > 1e-12)
    return Terms(base, plain, inverse, dip_weeks, members)


@dataclass
class Problem:
    """One category's profiled objective; call `value_and_gradient` with a parameter vector."""

    panel: Panel
    layout: Layout
    priors: Priors
    block: IntArray
    """(W,) level block of each column."""
    cells: Cells
    dip_unit: FloatArray
    """(n,) D of each observed cell: dip per unit dip share relative to Qpre."""
    cann_unit: FloatArray
    dispersion: float = 1.0
    half_life: float = float("inf")
    """The recency half-life (weeks) the cells' weights were made with."""
    terms: Terms | None = None
    """The dip and cannibalization as functions of the effects; None: the fixed dip_unit and cann_unit."""

    def eta(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(eta (n,), adjustment 1 - rho D - kappa C (n,), per-series effects (1 + kinds, S))."""
        eta, adjust, series, _ = self._evaluate(theta)
        return eta, adjust, series

    def _evaluate(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, Live | None]:
        cells, layout = self.cells, self.layout
        season, effects, dip, cann = layout.split(theta)
        series = layout.per_series(effects, self.panel)
        eta = season.reshape(-1)[cells.season_cell]
        if layout.holidays:
            eta += holiday_values(layout.holiday_part(theta), cells.holiday)
        for j in range(layout.effects):
            eta += series[j][cells.series] * cells.covariates[j]
        live = self.live(series)
        dip_unit, cann_unit = (self.dip_unit, self.cann_unit) if live is None else (live.dip_unit, live.cann_unit)
        adjust = np.maximum(1.0 - dip * dip_unit - cann * cann_unit, MIN_ADJUSTMENT)
        return eta + np.log(adjust), adjust, series, live

    def live(self, series: FloatArray) -> Live | None:
        """D and C of the observed cells at per-series effects `series` (None without Terms)."""
        terms, panel = self.terms, self.panel
        if terms is None:
            return None
        log_shape = series[0][:, None] * panel.log_ratio
        for j, k in enumerate(self.layout.kinds):
            log_shape = log_shape + series[1 + j][:, None] * panel.flags[k]
        before = terms.base * np.exp(log_shape)
        gain = np.where(panel.promoted, before - terms.plain, 0.0)
        gaining = gain > 0
        gain = np.where(gaining, gain, 0.0)
        ones = np.ones(panel.shape[0])
        dip = dip_amount(gain, ones, terms.dip_weeks)
        donated = gain * terms.inverse_others
        cann = terms.plain * (terms.siblings(donated) - donated)
        at = (self.cells.series, self.cells.week)
        held = before[at]
        safe = np.where(held > 0, held, 1.0)
        return Live(np.where(held > 0, dip[at] / safe, 0.0), np.where(held > 0, cann[at] / safe, 0.0), before,
                    gaining)

    def at(self, theta: FloatArray) -> Problem:
        """This problem with dip_unit and cann_unit the live D and C at `theta` (what the covariance reads)."""
        _, effects, _, _ = self.layout.split(theta)
        live = self.live(self.layout.per_series(effects, self.panel))
        if live is None:
            return self
        return replace(self, dip_unit=live.dip_unit, cann_unit=live.cann_unit)

    def levels(self, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(level of each run, sum exp(eta) of each run)."""
        exposure = np.add.reduceat(self.cells.weight * np.exp(eta), self.cells.run_starts)
        level = np.divide(self.cells.run_cases, exposure, out=np.zeros_like(exposure), where=exposure > 0)
        return level, exposure

    def mean(self, theta: FloatArray) -> FloatArray:
        """(n,) fitted mean of each observed cell with the profiled levels."""
        eta, _, _ = self.eta(theta)
        level, _ = self.levels(eta)
        return np.asarray(level[self.cells.run] * np.exp(eta), dtype=np.float64)

    def _profile(self, eta: FloatArray, exposure: FloatArray) -> float:
        used = self.cells.run_cases > 0
        # elementwise products, not `@`: a BLAS call per dot product costs more than it saves on a busy machine
        return float(np.sum(self.cells.weight * self.cells.cases * eta)) - float(np.sum(self.cells.run_cases[used]
                                                                    * np.log(exposure[used])))

    def penalty(self, theta: FloatArray) -> tuple[float, FloatArray]:
        layout, priors = self.layout, self.priors
        season, effects, _, _ = layout.split(theta)
        gradient = np.zeros_like(theta)
        curve = second_difference(season)
        value = 0.5 * priors.season_smoothness * float(np.sum(curve ** 2))
        value += 0.5 * priors.season_ridge * float(np.sum(season ** 2))
        season_gradient = priors.season_smoothness * second_difference(curve) + priors.season_ridge * season
        gradient[:layout.seasons * SEASON_WEEKS] = season_gradient.reshape(-1)
        if layout.holidays:
            offset_h = layout.holiday_part(theta) - self.holiday_centre()
            value += 0.5 * float(np.sum(offset_h ** 2)) / priors.holiday_sd ** 2
            gradient[layout.holiday_start:layout.holiday_start + layout.holidays] = offset_h / priors.holiday_sd ** 2
        precision = self.precision()
        offset = effects.copy()
        offset[:, 0] -= priors.centre[self.prior_index()]
        value += 0.5 * float(np.sum(precision * offset ** 2))
        start = layout.seasons * SEASON_WEEKS
        gradient[start:start + offset.size] = (precision * offset).reshape(-1)
        return value, gradient

    def holiday_centre(self) -> FloatArray:
        """(holidays,) the prior centre of each of the panel's holidays' log uplift."""
        return np.array([float(self.priors.holiday_centre.get(h, 0.0)) for h in self.panel.holiday_ids])

    def prior_index(self) -> list[int]:
        """Index into the priors' arrays of each effect row (elasticity, then the layout's lift kinds)."""
        return [0] + [1 + k for k in self.layout.kinds]

    def precision(self) -> FloatArray:
        """(effects, 1 + A + P) prior precision of each effect parameter."""
        layout, priors, index = self.layout, self.priors, self.prior_index()
        precision = np.empty((layout.effects, layout.effect_width))
        precision[:, 0] = 1.0 / priors.category_sd[index] ** 2
        precision[:, 1:1 + layout.accounts] = (1.0 / priors.account_sd[index] ** 2)[:, None]
        precision[:, 1 + layout.accounts:layout.series_start] = (1.0 / priors.product_sd[index] ** 2)[:, None]
        if layout.series:  # an effect without the level is pinned at 0 by a prior of (almost) no spread
            sd = priors.series_sd[index]
            precision[:, layout.series_start:] = np.where(sd > 0, 1.0 / np.maximum(sd, 1e-6) ** 2, 1e12)[:, None]
        return precision

    def value(self, theta: FloatArray) -> float:
        """The objective `value_and_gradient` returns, without its gradient (the same arithmetic, so the same
        number, at less than half the cost: what a search along one coordinate needs)."""
        eta, _, _, _ = self._evaluate(theta)
        _, exposure = self.levels(eta)
        penalty, _ = self.penalty(theta)
        return -self._profile(eta, exposure) / self.dispersion + penalty

    def value_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Objective to minimise (minus the quasi-log-likelihood plus penalties) and its exact gradient (through
        the dip and cannibalization too, with Terms)."""
        panel, layout, cells = self.panel, self.layout, self.cells
        eta, adjust, _, live = self._evaluate(theta)
        _, _, dip_share, cann_share = layout.split(theta)
        level, exposure = self.levels(eta)
        residual = cells.weight * (cells.cases - level[cells.run] * np.exp(eta))
        gradient = np.zeros_like(theta)
        gradient[:layout.seasons * SEASON_WEEKS] = np.bincount(cells.season_cell, residual,
                                                               minlength=layout.seasons * SEASON_WEEKS)
        if layout.holidays:  # like a season weight: E moves, the dip and cannibalization held with it
            on = cells.holiday >= 0
            gradient[layout.holiday_start:layout.holiday_start + layout.holidays] = np.bincount(
                cells.holiday[on], residual[on], minlength=layout.holidays)
        start = layout.seasons * SEASON_WEEKS
        scaled = np.where(adjust > MIN_ADJUSTMENT, residual / adjust, 0.0)  # 0 where the clamp holds it still
        # d eta / d own log Qpre = 1 + (1 - adjust) / adjust: the dip and cannibalization a cell suffers are amounts
        own = residual if live is None else np.where(adjust > MIN_ADJUSTMENT, scaled, residual)
        through = None if live is None else self._through_terms(live, scaled, dip_share, cann_share)
        for j in range(layout.effects):
            per_series = np.bincount(cells.series, own * cells.covariates[j], minlength=panel.shape[0])
            if through is not None:
                covariate = panel.log_ratio if j == 0 else panel.flags[layout.kinds[j - 1]]
                per_series += np.sum(through * covariate, axis=1)
            at = start + j * layout.effect_width
            gradient[at] = per_series.sum()
            gradient[at + 1:at + 1 + layout.accounts] = np.bincount(panel.account_local, per_series,
                                                                    minlength=layout.accounts)
            gradient[at + 1 + layout.accounts:at + layout.series_start] = np.bincount(
                panel.product_local, per_series, minlength=layout.products)
            if layout.series:
                gradient[at + layout.series_start:at + layout.effect_width] = per_series
        dip_unit, cann_unit = (self.dip_unit, self.cann_unit) if live is None else (live.dip_unit, live.cann_unit)
        gradient[-2] = -float(np.sum(scaled * dip_unit))
        gradient[-1] = -float(np.sum(scaled * cann_unit))
        penalty, penalty_gradient = self.penalty(theta)
        log_lik = self._profile(eta, exposure)
        return -log_lik / self.dispersion + penalty, -gradient / self.dispersion + penalty_gradient


    def _through_terms(self, live: Live, scaled: FloatArray, dip_share: float, cann_share: float) -> FloatArray:
        """(S, W) d log-likelihood / d log Qpre of each promoted cell through the dip it causes in the weeks after
        and what it takes from its siblings; `scaled` = residual / adjustment of each observed cell."""
        terms = self.terms
        assert terms is not None
        per_qpre = np.zeros(self.panel.shape)
        at = (self.cells.series, self.cells.week)
        held = live.before[at]
        per_qpre[at] = np.divide(scaled, held, out=np.zeros_like(scaled), where=held > 0)
        gradient = np.zeros_like(per_qpre)
        weeks = per_qpre.shape[1]
        if dip_share > 0 and terms.dip_weeks > 0:
            for k in range(1, min(terms.dip_weeks, weeks - 1) + 1):
                gradient[:, :-k] += per_qpre[:, k:]
            gradient *= dip_share / terms.dip_weeks
        if cann_share > 0:
            taken = per_qpre * terms.plain
            gradient += cann_share * terms.inverse_others * (terms.siblings(taken) - taken)
        return np.asarray(np.where(live.gaining, -gradient * live.before, 0.0), dtype=np.float64)


def holiday_values(log_uplift: FloatArray, holiday: IntArray) -> FloatArray:
    """The log uplift of each cell's holiday (`holiday` indexes `log_uplift`, -1: none, 0)."""
    return np.asarray(np.where(holiday >= 0, np.append(log_uplift, 0.0)[holiday], 0.0), dtype=np.float64)


def second_difference(season: FloatArray) -> FloatArray:
    """Cyclic second differences along the last axis (symmetric: applying it twice is its own adjoint)."""
    return np.asarray(np.roll(season, 1, axis=-1) - 2.0 * season + np.roll(season, -1, axis=-1),
                      dtype=np.float64)


def pearson_dispersion(cases: FloatArray, mean: FloatArray, parameters: int) -> float:
    """Pearson chi-square / residual degrees of freedom, at least 1 (over-dispersion only)."""
    mask: BoolArray = mean > 0
    chi2 = float(np.sum((cases[mask] - mean[mask]) ** 2 / mean[mask]))
    freedom = max(int(mask.sum()) - parameters, 1)
    return max(chi2 / freedom, 1.0)
