"""Calibration: the economics core's demand parameters fitted to sales history, with intervals.

`fit(frame)` fits, per category (each on its own, so time per row stays flat), the engine's form
(planner.calibrate.form, docs/economics.md section 5):

- seasonality: 52 weekly log-weights per category (and channel, when the history names channels), smooth
  (second-difference prior) and shrunk to 1;
- elasticity on price / regular price and log lifts for feature, display and deal, each = category mean +
  account deviation + product deviation, Gaussian priors (ridge) pulling deviations to 0 and category means to
  the whole history's mean (a second pass, when there are several categories);
- post-promotion dip share over K weeks and cannibalization share, per category, in [0, 0.9], free to be 0;
- each series' level profiled out in closed form (per 52-week block while fitting), then measured for the
  forecast with a recency half-life chosen by rolling-origin validation inside the training rows;
- a recent promotion factor per category on the lift of promoted cells with a flag, its half-life chosen out of
  sample by a refit without the last training weeks (planner.calibrate.promotion).

`expected_cases(fit, frame)` is the fitted form's mean on any rows -- the numbers the simulator gives for the
same cells once the fit is written into rules.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from planner.calibrate.estimate import CategoryFit, estimate, widen, with_dip_weeks
from planner.calibrate.fitted import assemble
from planner.calibrate.form import volumes
from planner.calibrate.level import choose_level
from planner.calibrate.likelihood import Priors
from planner.calibrate.panel import (
    LIFT_KINDS,
    SEASON_WEEKS,
    CalibrationError,
    Panel,
    build_panels,
    check_frame,
    subset,
    week_numbers,
    with_category,
)
from planner.calibrate.promotion import choose_promotion, promotion_factor
from planner.calibrate.robust import HUBER_C

__all__ = ["CalibrationError", "Fit", "Interval", "Settings", "expected_cases", "fit"]


@dataclass(frozen=True)
class Interval:
    """A fitted value with its standard error and 95 % interval."""

    value: float
    se: float
    low: float
    high: float


@dataclass(frozen=True)
class Fit:
    """Calibrated parameters per account x product (arrays indexed like `accounts` x `products`)."""

    accounts: tuple[str, ...]
    products: tuple[str, ...]
    baseline: np.ndarray
    """(A, P) cases/week at the regular price, no promotion, season weight 1 (nan: no history)."""
    season: dict[str, np.ndarray]
    """Profile id -> 52 weekly multiplicative weights, mean 1."""
    season_of: np.ndarray
    """(A, P) object array of profile ids (None: no category known)."""
    season_anchor: dt.date
    """Week index 0 of every profile is the week containing this date; index = (weeks since anchor) % 52."""
    elasticity: np.ndarray
    """(A, P) <= 0."""
    lifts: dict[str, np.ndarray]
    """'feature' | 'display' | 'deal' -> (A, P) multiplicative lift on top of the price response."""
    dip: np.ndarray
    """(A, P) share in [0, 1) of a promotion's incremental volume lost over the next `dip_weeks` weeks."""
    dip_weeks: int
    cannibalization: np.ndarray
    """(A, P) share in [0, 1) of the incremental volume taken from the category's other products."""
    intervals: dict[str, Interval]
    """Pooled and category-level parameters, e.g. "elasticity[category=cold cereal]", "lift.feature[all]"."""
    series_se: dict[str, np.ndarray]
    """'elasticity', 'lift.feature', ..., 'holiday.<id>' -> (A, P) approximate standard errors (for Monte Carlo; a
    lift's and a holiday's are of the lift or uplift itself: the value times the error of its log)."""
    statistics: dict[str, float | str] = field(default_factory=dict)
    holidays: dict[str, np.ndarray] = field(default_factory=dict)
    """Holiday id (the history's `holiday` column) -> (A, P) multiplicative uplift of the expected base in the
    weeks a row names it: its category's fitted uplift, the whole's in a category whose history never had it."""
    promotion: np.ndarray | None = None
    """(A, P) the recent promotion factor (planner.calibrate.promotion): the forecast of a promoted cell that ran
    a flag is multiplied by it, and so is every lift written for a mechanic with flags; None: 1 everywhere."""


@dataclass(frozen=True)
class Settings:
    """How a fit pools and what it chooses by validation. Standard deviations are of Gaussian priors: the
    elasticity's, then the log lifts' (one value for all three kinds)."""

    elasticity_centre: float = -2.0
    """Whole-history elasticity a category with no price variation falls back to (the engine's default)."""
    elasticity_sd: tuple[float, float, float, float] = (0.75, 0.3, 0.3, 0.0)
    """(category around the whole, account deviation, product deviation, account x product deviation; 0 = none)."""
    lift_sd: tuple[float, float, float, float] = (0.5, 0.2, 0.2, 0.0)
    holiday_sd: float = 0.5
    """Prior standard deviation of a category's log uplift of a holiday around the whole's (the categories'
    row-weighted mean; four times wider, around no uplift, in the first pass that measures it)."""
    season_smoothness: float = 20.0
    season_ridge: float = 1.0
    level_block_weeks: int = 52
    response_half_life: float = float("inf")
    """Weeks after which a week counts half in the likelihood of the seasons, elasticities and lifts."""
    series_half_life_options: tuple[float, ...] = (2.0, 4.0, 8.0, 13.0, 26.0, 52.0, float("inf"))
    """Recency half-lives (weeks) of a series' own level that rolling-origin validation chooses from."""
    pooled_half_life_options: tuple[float, ...] = (2.0, 4.0, 8.0, float("inf"))
    """Half-lives of the recent product and account multipliers on top (inf: none); see level.py."""
    validation_origins: int = 4
    validation_horizon: int = 13
    dip_weeks_options: tuple[int, ...] = (1, 2, 4)
    outer_iterations: int = 2
    response_accounts: int = 150
    """Most accounts per category the response (seasons, elasticities, lifts, dip, cannibalization) is fitted on:
    a larger category's are a random sample of this many (seeded by `sample_seed` and the category's name); every
    series' level is then measured in closed form from all its rows. Keeps the time per row falling with size."""
    sample_seed: int = 0
    promotion_half_life_options: tuple[float, ...] = (2.0, 4.0, 8.0, 13.0, 26.0)
    """Half-lives (weeks) of the recent promotion factor (promotion.py) that validation OUT of sample chooses from,
    beside no factor; empty: no factor and no refit."""
    promotion_validation_weeks: int = 13
    """The last training weeks the refit that chooses the promotion factor's half-life does not see."""
    promotion_iterations: int = 30
    """Most L-BFGS-B iterations of that refit (one run, warm-started from the fit: a few suffice)."""
    huber_c: float = HUBER_C
    """The robust cases' cap, in standard deviations above a cell's fitted mean (robust.py); inf: the raw cases."""


def fit(frame: pd.DataFrame, *, settings: Settings | None = None) -> Fit:
    """Fit the form to the training rows of `frame` (canonical history columns).

    With one BLAS thread: the fit's matrix work is many small products and factorisations, where OpenBLAS's
    threads only spin against each other (on Breakfast at the Frat, one origin: 57.9 s of CPU with two threads,
    24.9 s with one, the same fit)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(frame, settings or Settings())


def _fit(frame: pd.DataFrame, settings: Settings) -> Fit:
    started, cpu = time.perf_counter(), time.process_time()
    rows = check_frame(frame)
    accounts = tuple(sorted(map(str, rows["account"].unique())))
    products = tuple(sorted(map(str, rows["product"].unique())))
    first = pd.Timestamp(rows["week"].min())
    anchor = first.date()
    weeks = int(week_numbers(rows["week"], anchor).max()) + 1
    panels = build_panels(rows, accounts, products, anchor, 0, weeks)
    samples = [_sample(panel, settings.response_accounts, settings.sample_seed) for panel in panels]
    fits = _estimate_all(samples, panels, settings)
    dip_weeks = max(fits, key=lambda f: f.theta[-2] * float(f.problem.cells.cases.sum())).dip_weeks
    fits = [with_dip_weeks(f, dip_weeks) for f in fits]  # one dip length: the one of the largest dip
    chosen = [choose_level(f, settings.series_half_life_options, settings.pooled_half_life_options,
                           settings.validation_origins, settings.validation_horizon) for f in fits]
    promotion = choose_promotion(fits, [choice for choice, _ in chosen], settings.promotion_half_life_options,
                                 settings.promotion_validation_weeks, settings.promotion_iterations)
    fits = [widen(f, panel, settings.huber_c) for f, panel in zip(fits, panels, strict=True)]
    factors = [promotion_factor(f, choice, promotion.half_life) for f, (choice, _) in zip(fits, chosen, strict=True)]
    statistics: dict[str, float | str] = {
        "rows": float(len(rows)), "series": float(sum(p.shape[0] for p in panels)),
        "categories": float(len(panels)), "first_week": str(anchor),
        "last_week": str(pd.Timestamp(rows["week"].max()).date()),
        "iterations": float(sum(f.iterations for f in fits)),
        "response_series": float(sum(p.shape[0] for p in samples)),
    }
    for f, (choice, scores) in zip(fits, chosen, strict=True):
        statistics[f"half_lives[category={f.panel.category}]"] = str(choice)
        statistics[f"validation[category={f.panel.category}]"] = ", ".join(
            f"{k}: {v:.4f}" for k, v in scores.items())
        statistics[f"dispersion[category={f.panel.category}]"] = f.problem.dispersion
    statistics["promotion_half_life"] = f"{promotion.half_life:g}" if np.isfinite(promotion.half_life) else "none"
    statistics["promotion_validation"] = ", ".join(f"{k}: {v:.4f}" for k, v in promotion.scores.items())
    statistics["promotion_t"] = float(promotion.t)
    factor = np.ones((len(accounts), len(products)))
    for f, value in zip(fits, factors, strict=True):
        statistics[f"promotion_factor[category={f.panel.category}]"] = value
        factor[:, np.unique(f.panel.product)] = value
    parts = assemble(fits, accounts, products, [choice for choice, _ in chosen])
    statistics["deviance"] = parts.deviance
    statistics["seconds"] = time.perf_counter() - started
    statistics["cpu_seconds"] = time.process_time() - cpu
    intervals = {name: Interval(*values) for name, values in parts.intervals.items()}
    return Fit(accounts, products, parts.baseline, parts.season, parts.season_of, anchor, parts.elasticity,
               parts.lifts, parts.dip, parts.dip_weeks, parts.cannibalization, intervals, parts.series_se,
               statistics, parts.holidays, factor)


def _sample(panel: Panel, most: int, seed: int) -> Panel:
    """The panel's series of at most `most` of its accounts (all of them when it has no more)."""
    accounts = np.unique(panel.account_local)
    if len(accounts) <= most:
        return panel
    rng = np.random.default_rng([seed, zlib.crc32(panel.category.encode())])
    chosen = rng.choice(accounts, most, replace=False)
    return subset(panel, np.isin(panel.account_local, chosen))


def _estimate_all(panels: list[Panel], wholes: list[Panel], settings: Settings) -> list[CategoryFit]:
    """Every category with wide category priors; with several categories, again with the category means pulled
    to their row-weighted mean (the whole), warm-started."""
    def priors(centre: np.ndarray, category_scale: float, holidays: dict[str, float] | None = None) -> Priors:
        sds = np.array([settings.elasticity_sd, *[settings.lift_sd] * len(LIFT_KINDS)])
        return Priors(centre, sds[:, 0] * category_scale, sds[:, 1], sds[:, 2], sds[:, 3],
                      settings.season_smoothness, settings.season_ridge, holidays or {},
                      settings.holiday_sd * category_scale)

    centre = np.array([settings.elasticity_centre] + [0.0] * len(LIFT_KINDS))
    pooled = len(panels) > 1

    def run(panel: Panel, whole: Panel, p: Priors, start: np.ndarray | None, final: bool) -> CategoryFit:
        return estimate(panel, p, block_weeks=settings.level_block_weeks,
                        dip_weeks_options=settings.dip_weeks_options, outer=settings.outer_iterations if final else 0,
                        start=start, with_covariance=final, most=500 if final else 30,
                        half_life=settings.response_half_life, whole=whole, huber_c=settings.huber_c)

    fits = [run(panel, whole, priors(centre, 4.0 if pooled else 1.0), None, not pooled)
            for panel, whole in zip(panels, wholes, strict=True)]
    if not pooled:
        return fits
    whole = centre.copy()
    weights = np.array([float(f.panel.observed.sum()) for f in fits])
    values = np.full((len(fits), len(centre)), np.nan)
    for i, f in enumerate(fits):
        _, effects, _, _ = f.layout.split(f.theta)
        values[i, 0] = effects[0, 0]
        for j, k in enumerate(f.layout.kinds):
            values[i, 1 + k] = effects[1 + j, 0]
    for k in range(len(centre)):
        known = np.isfinite(values[:, k])
        if known.any():
            whole[k] = float(np.average(values[known, k], weights=weights[known]))
    holidays: dict[str, list[tuple[float, float]]] = {}
    for f, weight in zip(fits, weights, strict=True):
        for holiday, value in zip(f.panel.holiday_ids, f.layout.holiday_part(f.theta), strict=True):
            holidays.setdefault(holiday, []).append((float(value), float(weight)))
    whole_holidays = {h: float(np.average([v for v, _ in pairs], weights=[w for _, w in pairs]))
                      for h, pairs in holidays.items()}
    return [run(sample, panel, priors(whole, 1.0, whole_holidays), f.theta, True)  # the raw cases, made robust again
            for f, sample, panel in zip(fits, panels, wholes, strict=True)]


def expected_cases(fit: Fit, frame: pd.DataFrame) -> np.ndarray:
    """The fitted form's expected cases on each row of `frame` (nan for a series the fit has no baseline for).

    Rows are placed on series x week grids per category over the weeks `frame` spans; weeks without a row
    are unpromoted at the regular price, and a promotion's dip falls only on the frame's own later weeks -- as
    the simulator books them."""
    out = np.full(len(frame), np.nan)
    if len(frame) == 0:
        return out
    rows = with_category(frame if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
                         and frame.index.step == 1 else frame.reset_index(drop=True))
    accounts = fit.accounts + tuple(sorted(set(map(str, rows["account"])) - set(fit.accounts)))
    products = fit.products + tuple(sorted(set(map(str, rows["product"])) - set(fit.products)))
    numbers = week_numbers(rows["week"], fit.season_anchor)
    first, weeks = int(numbers.min()), int(numbers.max() - numbers.min()) + 1
    for panel in build_panels(rows, accounts, products, fit.season_anchor, first, weeks):
        mean = _panel_mean(fit, panel)
        out[panel.row_position] = mean.reshape(-1)[panel.row_cell]
    return out


def _panel_mean(fit: Fit, panel: Panel) -> np.ndarray:
    def known(array: np.ndarray, fill: float) -> np.ndarray:
        a, p = panel.account, panel.product
        inside = (a < len(fit.accounts)) & (p < len(fit.products))
        values = np.full(len(a), fill)
        values[inside] = array[a[inside], p[inside]]
        return values

    baseline = known(fit.baseline, np.nan)
    weights = np.ones((panel.shape[0], SEASON_WEEKS))
    for s, (a, p) in enumerate(zip(panel.account, panel.product, strict=True)):
        profile = fit.season_of[a, p] if a < len(fit.accounts) and p < len(fit.products) else None
        if isinstance(profile, str) and profile in fit.season:
            weights[s] = fit.season[profile]
    base = baseline[:, None] * weights[:, panel.week_of_season]
    for h, holiday in enumerate(panel.holiday_ids):
        if holiday in fit.holidays:
            base = np.where(panel.holiday == h, base * known(fit.holidays[holiday], 1.0)[:, None], base)
    lift = np.stack([np.nan_to_num(known(fit.lifts[k], 1.0), nan=1.0) if k in fit.lifts else
                     np.ones(len(baseline)) for k in LIFT_KINDS])
    elasticity = np.nan_to_num(known(fit.elasticity, 0.0))
    dip = np.nan_to_num(known(fit.dip, 0.0))
    cann = np.nan_to_num(known(fit.cannibalization, 0.0))
    promotion = None if fit.promotion is None else np.nan_to_num(known(fit.promotion, 1.0), nan=1.0)
    finite = np.isfinite(base)
    terms = volumes(panel, np.where(finite, base, 0.0), elasticity, lift, dip, fit.dip_weeks, cann, promotion)
    return np.where(finite, terms.final, np.nan)
