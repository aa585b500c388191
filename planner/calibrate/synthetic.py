"""Synthetic sales history with known parameters: the parameter-recovery check of the calibration.

`world(...)` draws a true `Fit` (baselines, smooth seasons, elasticities and lifts = category mean + account and
product deviations, a dip and a cannibalization share per category), a promotion calendar (price cuts with
feature, display or a plain deal, and a few regular-price changes so elasticity is seen outside promotions too),
and cases = the true form's mean (`expected_cases`, the same code the fit is judged by) with Poisson or
negative-binomial noise. The fit recovering the truth from such a world is what tests/test_calibrate_recovery.py
and benchmarks/bench_calibrate.py check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.calibrate.fit import Fit, expected_cases
from planner.calibrate.panel import LIFT_KINDS, SEASON_WEEKS


@dataclass(frozen=True)
class World:
    """A synthetic history and the truth it was drawn from."""

    frame: pd.DataFrame
    truth: Fit
    category_of: dict[str, str]
    """Product -> category."""
    holiday_weeks: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """Holiday id -> the weeks (0-based, from the first) it fell in: one a year, a different week each year."""


def world(seed: int, *, accounts: int = 8, products: int = 6, categories: int = 1, weeks: int = 104,
          promotion_rate: float = 0.15, dip: float = 0.2, dip_weeks: int = 2, cannibalization: float = 0.15,
          level: float = 40.0, overdispersion: float = 0.0, lean: bool = False,
          holidays: Mapping[str, float] | None = None) -> World:
    """A world of accounts x products (split evenly over categories) x weeks; overdispersion 0 = Poisson,
    else negative binomial with variance mu + overdispersion x mu^2. `lean`: only the columns a fit reads, ids
    as pandas categoricals and numbers as float32 (a world of millions of rows in a fraction of the memory).
    `holidays`: holiday id -> true uplift of a moving holiday, in one week of each year's weeks 2-9 drawn at
    random (as Spring Festival moves), named by the rows' `holiday` column (drawn after everything else, so a
    world without holidays is the same as before they existed)."""
    rng = np.random.default_rng(seed)
    account_ids = tuple(f"acc-{a:03d}" for a in range(accounts))
    product_ids = tuple(f"sku-{p:03d}" for p in range(products))
    category = {p: f"cat-{i % categories}" for i, p in enumerate(product_ids)}
    anchor = dt.date(2020, 1, 6)
    shape = (accounts, products)
    category_index = np.array([i % categories for i in range(products)])
    elasticity_mean = rng.uniform(-2.8, -1.2, categories)
    elasticity = (elasticity_mean[category_index][None, :] + rng.normal(0, 0.15, (accounts, 1))
                  + rng.normal(0, 0.15, (1, products)))
    lifts = {}
    for kind, (low, high) in zip(LIFT_KINDS, ((1.3, 1.7), (1.2, 1.5), (1.0, 1.15)), strict=True):
        mean = np.log(rng.uniform(low, high, categories))
        lifts[kind] = np.exp(mean[category_index][None, :] + rng.normal(0, 0.05, (accounts, 1))
                             + rng.normal(0, 0.05, (1, products)))
    season = {}
    for c in range(categories):
        phase = np.arange(SEASON_WEEKS) * 2 * np.pi / SEASON_WEEKS
        curve = np.exp(0.2 * np.sin(phase + rng.uniform(0, 2 * np.pi)) + 0.08 * np.cos(2 * phase))
        season[f"cat-{c}"] = curve / curve.mean()
    season_of = np.empty(shape, dtype=object)
    season_of[:, :] = [category[p] for p in product_ids]
    baseline = level * np.exp(rng.normal(0, 0.5, shape))
    truth = Fit(account_ids, product_ids, baseline, season, season_of, anchor, np.minimum(elasticity, 0.0), lifts,
                np.full(shape, dip), dip_weeks, np.full(shape, cannibalization), {}, {},
                {"kind": "synthetic truth"}, {h: np.full(shape, u) for h, u in (holidays or {}).items()})
    frame = _calendar(rng, truth, category, weeks, promotion_rate, lean)
    holiday_weeks: dict[str, tuple[int, ...]] = {}
    if holidays:
        week = ((frame["week"] - pd.Timestamp(anchor)).dt.days // 7).to_numpy()
        named = np.full(len(frame), None, dtype=object)
        for holiday in sorted(holidays):
            holiday_weeks[holiday] = tuple(int(start + rng.integers(2, 10)) for start in range(0, weeks, 52)
                                           if start + 9 < weeks)
            named[np.isin(week, holiday_weeks[holiday])] = holiday
        frame["holiday"] = named
    mean = expected_cases(truth, frame)
    if overdispersion > 0:
        shape_k = 1.0 / overdispersion
        cases = rng.poisson(rng.gamma(shape_k, mean / shape_k))
    else:
        cases = rng.poisson(mean)
    del mean
    frame["cases"] = cases.astype(np.float32 if lean else float)
    return World(frame, truth, category, holiday_weeks)


def _calendar(rng: np.random.Generator, truth: Fit, category: dict[str, str], weeks: int,
              rate: float, lean: bool) -> pd.DataFrame:
    accounts, products = truth.accounts, truth.products
    grid = np.meshgrid(np.arange(len(accounts)), np.arange(len(products)), np.arange(weeks), indexing="ij")
    a, p, w = (axis.reshape(-1) for axis in grid)
    n = len(a)
    regular = np.round(rng.uniform(1.5, 6.0, len(products))[p], 2)
    step = rng.random((len(accounts), len(products))) < 0.5  # some series change regular price mid-way
    regular = np.where(step[a, p] & (w >= weeks // 2), regular * 1.08, regular)
    promoted = rng.random(n) < rate
    depth = np.where(promoted, rng.uniform(0.1, 0.4, n), 0.0)
    kind = rng.integers(0, 4, n)  # 0 deal only, 1 feature, 2 display, 3 feature + display
    feature = (promoted & ((kind == 1) | (kind == 3))).astype(float)
    display = (promoted & ((kind == 2) | (kind == 3))).astype(float)
    deal = (promoted & (kind == 0)).astype(float)
    price = regular * (1.0 - depth)
    if lean:
        names = sorted(set(category.values()))
        of_product = np.array([names.index(category[x]) for x in products])
        return pd.DataFrame({
            "week": pd.Timestamp(truth.season_anchor) + pd.to_timedelta(7 * w, unit="D"),
            "account": pd.Categorical.from_codes(a, categories=list(accounts)),
            "product": pd.Categorical.from_codes(p, categories=list(products)),
            "category": pd.Categorical.from_codes(of_product[p], categories=names),
            "cases": np.float32(np.nan), "price": price.astype(np.float32),
            "regular_price": regular.astype(np.float32), "feature": feature.astype(np.float32),
            "display": display.astype(np.float32), "deal": deal.astype(np.float32), "promoted": promoted,
        })
    return pd.DataFrame({
        "week": pd.Timestamp(truth.season_anchor) + pd.to_timedelta(7 * w, unit="D"),
        "account": np.array(accounts, dtype=object)[a], "product": np.array(products, dtype=object)[p],
        "category": [category[products[i]] for i in p], "brand": None, "channel": None, "region": None,
        "cases": np.nan, "price": price, "regular_price": regular, "invoice_price": np.nan, "depth": depth,
        "feature": feature, "display": display, "deal": deal, "mechanic": None, "event": None,
        "promoted": promoted,
    })


def recovery(fitted: Fit, synthetic: World) -> dict[str, float]:
    """Per category: the fitted minus the true mean over its series of elasticity (relative), each lift
    (relative), and the dip and cannibalization shares (absolute) -- the errors the tolerances bound."""
    truth = synthetic.truth
    out: dict[str, float] = {}
    rows = [fitted.accounts.index(a) for a in truth.accounts]
    for name in sorted(set(synthetic.category_of.values())):
        cols = [fitted.products.index(p) for p, c in synthetic.category_of.items() if c == name]
        true_cols = [truth.products.index(p) for p, c in synthetic.category_of.items() if c == name]

        def mean(array: np.ndarray, columns: list[int], selected: list[int]) -> float:
            return float(np.mean(array[np.ix_(selected, columns)]))

        true_e = mean(truth.elasticity, true_cols, list(range(len(truth.accounts))))
        out[f"elasticity[{name}]"] = mean(fitted.elasticity, cols, rows) / true_e - 1.0
        for kind in LIFT_KINDS:
            true_lift = mean(truth.lifts[kind], true_cols, list(range(len(truth.accounts))))
            out[f"lift.{kind}[{name}]"] = mean(fitted.lifts[kind], cols, rows) / true_lift - 1.0
        out[f"dip[{name}]"] = mean(fitted.dip, cols, rows) - float(truth.dip[0, true_cols[0]])
        out[f"cannibalization[{name}]"] = (mean(fitted.cannibalization, cols, rows)
                                           - float(truth.cannibalization[0, true_cols[0]]))
    return out
