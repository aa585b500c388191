"""From category fits to the (account, product) arrays of a `Fit`: values, intervals and standard errors.

A pair the history never saw (an account that does not carry the product) still gets the pooled response of
the product's category -- category mean + the account's and product's deviations where the category knows them --
so that a plan for a new listing has sensible parameters; its baseline stays nan (no history, no level).
Season weights are normalised to mean 1 with the baselines scaled to match, so E = baseline x weight is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.calibrate.estimate import CategoryFit
from planner.calibrate.level import LevelChoice, recent_level
from planner.calibrate.panel import LIFT_KINDS, SEASON_WEEKS, FloatArray

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Assembled:
    """Everything a Fit holds, as plain arrays (fit.py builds the frozen Fit from it)."""

    baseline: FloatArray
    season: dict[str, FloatArray]
    season_of: np.ndarray
    elasticity: FloatArray
    lifts: dict[str, FloatArray]
    dip: FloatArray
    dip_weeks: int
    cannibalization: FloatArray
    intervals: dict[str, tuple[float, float, float, float]]
    series_se: dict[str, FloatArray]
    deviance: float
    holidays: dict[str, FloatArray]


def assemble(fits: list[CategoryFit], accounts: tuple[str, ...], products: tuple[str, ...],
             levels: list[LevelChoice]) -> Assembled:
    shape = (len(accounts), len(products))
    baseline = np.full(shape, np.nan)
    season_of = np.full(shape, None, dtype=object)
    elasticity = np.full(shape, np.nan)
    lifts = {kind: np.ones(shape) for kind in LIFT_KINDS}
    dip = np.zeros(shape)
    cann = np.zeros(shape)
    series_se: dict[str, FloatArray] = {name: np.full(shape, np.nan) for name in
                                        ["elasticity", *[f"lift.{k}" for k in LIFT_KINDS], "dip",
                                         "cannibalization"]}
    season: dict[str, FloatArray] = {}
    intervals: dict[str, tuple[float, float, float, float]] = {}
    deviance = 0.0
    dip_weeks = fits[0].dip_weeks  # the same for all (fit.py)
    pooled: dict[str, list[tuple[float, float, float]]] = {}
    holiday_cells: list[tuple[np.ndarray, dict[str, tuple[float, float]]]] = []
    """(the category's products, holiday -> (log uplift, its standard error)) per category."""
    for f, choice in zip(fits, levels, strict=True):
        panel, layout = f.panel, f.layout
        weights, effects, rho, kappa = layout.split(f.theta)
        scale = np.exp(weights).mean(axis=1)
        for g, profile in enumerate(panel.season_ids):
            season[profile] = np.exp(weights[g]) / scale[g]
        level = recent_level(f, choice) * scale[panel.season_group]
        a, p = panel.account, panel.product
        baseline[a, p] = level
        cat_products = np.unique(p)
        cat_accounts = np.unique(a)
        # pooled values on every account x product of the category (effects, A, P), the fitted series on top
        full = (effects[:, :1, None]
                + _deviation(effects, layout.accounts, 1, cat_accounts, len(accounts))[:, :, None]
                + _deviation(effects, layout.products, 1 + layout.accounts, cat_products, len(products))[:, None, :])
        rows = np.arange(len(accounts))[:, None]
        elasticity[rows, cat_products[None, :]] = np.minimum(full[0][:, cat_products], 0.0)
        for j, k in enumerate(layout.kinds):
            lifts[LIFT_KINDS[k]][rows, cat_products[None, :]] = np.exp(full[1 + j][:, cat_products])
        fitted = layout.per_series(effects, panel)
        elasticity[a, p] = np.minimum(fitted[0], 0.0)
        for j, k in enumerate(layout.kinds):
            lifts[LIFT_KINDS[k]][a, p] = np.exp(fitted[1 + j])
        dip[rows, cat_products[None, :]] = rho
        cann[rows, cat_products[None, :]] = kappa
        profile_of = np.array(panel.season_ids, dtype=object)[panel.season_group]
        season_of[a, p] = profile_of
        se = _standard_errors(f)
        name = panel.category
        for j, label in enumerate(["elasticity", *[f"lift.{LIFT_KINDS[k]}" for k in layout.kinds]]):
            value, error = _series_average(f, fitted[j], j)
            intervals[f"{label}[category={name}]"] = _interval(value, error, log=j > 0)
            pooled.setdefault(label, []).append((value, error, float(panel.observed.sum())))
        intervals[f"dip[category={name}]"] = _interval(rho, se["theta"][-2], share=True)
        intervals[f"cannibalization[category={name}]"] = _interval(kappa, se["theta"][-1], share=True)
        series_se["elasticity"][a, p] = se["series"][0]
        for j, k in enumerate(layout.kinds):
            series_se[f"lift.{LIFT_KINDS[k]}"][a, p] = se["series"][1 + j] * np.exp(fitted[1 + j])
        uplifts = layout.holiday_part(f.theta)
        for h, holiday in enumerate(panel.holiday_ids):
            error = float(se["theta"][layout.holiday_start + h])
            intervals[f"holiday.{holiday}[category={name}]"] = _interval(float(uplifts[h]), error, log=True)
            pooled.setdefault(f"holiday.{holiday}", []).append((float(uplifts[h]), error,
                                                                float(panel.observed.sum())))
        errors = (float(se["theta"][layout.holiday_start + h]) for h in range(len(panel.holiday_ids)))
        holiday_cells.append((cat_products, dict(zip(panel.holiday_ids, zip(map(float, uplifts), errors,
                                                                            strict=True), strict=True))))
        series_se["dip"][a, p] = se["theta"][-2]
        series_se["cannibalization"][a, p] = se["theta"][-1]
        deviance += _deviance(f)
    for label, values in pooled.items():  # the whole: categories weighted by rows, independent errors
        v, e, w = (np.array(column) for column in zip(*values, strict=True))
        intervals[f"{label}[all]"] = _interval(float(np.average(v, weights=w)),
                                               float(np.sqrt(np.sum((w * e) ** 2)) / w.sum()), log=label != "elasticity")
    holidays: dict[str, FloatArray] = {}  # the whole's uplift, each category's own on its products
    for label in sorted(label for label in pooled if label.startswith("holiday.")):
        holiday = label.removeprefix("holiday.")
        holidays[holiday] = np.full(shape, intervals[f"{label}[all]"][0])
        series_se[label] = np.full(shape, intervals[f"{label}[all]"][1])  # of the uplift, as the lifts' are
        for cat_products, by_holiday in holiday_cells:
            if holiday in by_holiday:
                log_uplift, error = by_holiday[holiday]
                holidays[holiday][:, cat_products] = np.exp(log_uplift)
                series_se[label][:, cat_products] = np.exp(log_uplift) * error
    return Assembled(baseline, season, season_of, elasticity, lifts, dip, dip_weeks, cann, intervals,
                     series_se, deviance, holidays)


def _series_average(f: CategoryFit, values: FloatArray, effect: int) -> tuple[float, float]:
    """Mean over the category's series of one effect (log scale for lifts) and its standard error: the
    well-measured number (the category term alone trades off against the means of the deviations)."""
    layout, panel, cov = f.layout, f.panel, f.covariance
    if cov.size == 0:
        return float(values.mean()), float("nan")
    at = layout.seasons * SEASON_WEEKS + effect * layout.effect_width
    gradient = np.zeros(layout.size)
    count = len(panel.account_local)
    gradient[at] = 1.0
    gradient[at + 1:at + 1 + layout.accounts] = np.bincount(panel.account_local, minlength=layout.accounts) / count
    gradient[at + 1 + layout.accounts:at + layout.series_start] = np.bincount(
        panel.product_local, minlength=layout.products) / count
    return float(values.mean()), float(np.sqrt(max(float(gradient @ cov @ gradient), 0.0)))


def _deviation(effects: FloatArray, count: int, offset: int, members: np.ndarray, size: int) -> FloatArray:
    """(effects, size) a category's deviations placed at its members' global indices, 0 elsewhere."""
    out = np.zeros((effects.shape[0], size))
    out[:, members] = effects[:, offset:offset + count]
    return out


def _standard_errors(f: CategoryFit) -> dict[str, Any]:
    from planner.calibrate.uncertainty import series_standard_errors

    cov = f.covariance
    if cov.size == 0:
        return {"theta": np.full(f.layout.size, np.nan), "series": np.full((f.layout.effects, f.panel.shape[0]),
                                                                          np.nan)}
    return {"theta": np.sqrt(np.maximum(np.diag(cov), 0.0)), "series": series_standard_errors(f.problem, cov)}


def _interval(value: float, se: float, *, share: bool = False,
              log: bool = False) -> tuple[float, float, float, float]:
    """(value, se, low, high); a log-scale value is reported as its exponential (se by the delta method)."""
    low, high = value - Z95 * se, value + Z95 * se
    if log:
        return float(np.exp(value)), float(np.exp(value) * se), float(np.exp(low)), float(np.exp(high))
    if share:
        low, high = max(low, 0.0), min(high, 0.9)
    return float(value), float(se), float(low), float(high)


def _deviance(f: CategoryFit) -> float:
    y = f.problem.cells.cases
    m = np.maximum(f.problem.mean(f.theta), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / m), 0.0)
    return float(2.0 * np.sum(term - (y - m)))
