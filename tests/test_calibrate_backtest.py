"""The backtest forecasts through the simulator, and that forecast is the fit's own form.

A fit with known parameters is built by hand (no estimation), a holdout with feature, display and deal weeks at
varying depths is drawn, and the simulator's forecast of every row (`planner.calibrate.backtest`) must equal
`planner.calibrate.fit.expected_cases` to 1e-6: the calibrated rules say exactly what the fit says. Then the
scores are checked against hand arithmetic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.calibrate.backtest import Score, holdout_rules, naive_forecast, plot_worst_series, run_backtest
from planner.calibrate.fit import Fit, Interval, expected_cases
from planner.calibrate.rules_writer import EXACT, Provenance
from planner.check import run_checks
from planner.rules.load import load_rules
from planner.rules.schema import RuleSet

BASE = Path(__file__).resolve().parent / "fixtures" / "base"
ANCHOR = dt.date(2024, 1, 1)
PROVENANCE = Provenance("test-history.csv", "0" * 64, ("2024-01-01", "2025-06-30"), 100)


def base_rules() -> RuleSet:
    return load_rules([BASE]).rules


def hand_fit(rules: RuleSet, seed: int = 0, dip: float = 0.2, cannibalization: float = 0.15) -> Fit:
    """A fit of the base rules' accounts and products with known, uneven parameters."""
    rng = np.random.default_rng(seed)
    accounts = tuple(sorted(a.id for a in rules.accounts))
    products = tuple(sorted(p.id for p in rules.products))
    shape = (len(accounts), len(products))
    category = {p.id: p.category for p in rules.products}
    season = {}
    for name in sorted(set(category.values())):
        weights = 1 + 0.3 * np.sin(np.arange(52) / 52 * 2 * np.pi + rng.uniform(0, 6)) + rng.normal(0, 0.05, 52)
        season[name] = weights / weights.mean()
    season_of = np.array([[category[p] for p in products] for _ in accounts], dtype=object)
    return Fit(
        accounts, products, baseline=rng.uniform(50, 500, shape), season=season, season_of=season_of,
        season_anchor=ANCHOR, elasticity=-rng.uniform(1.2, 3.5, shape),
        lifts={"feature": rng.uniform(1.1, 1.8, shape), "display": rng.uniform(1.2, 2.2, shape),
               "deal": rng.uniform(0.9, 1.2, shape)},
        dip=np.full(shape, dip) * rng.uniform(0.5, 1.5, shape), dip_weeks=2,
        cannibalization=np.full(shape, cannibalization) * rng.uniform(0.5, 1.5, shape),
        intervals={"elasticity[all]": Interval(-2.2, 0.1, -2.4, -2.0)},
        series_se={"elasticity": rng.uniform(0.05, 0.3, shape)}, statistics={"deviance": 1.0},
    )


def holdout_frame(rules: RuleSet, start: dt.date, weeks: int, seed: int = 1) -> pd.DataFrame:
    """Every account x product over `weeks` weeks; about a fifth of the rows promoted with a feature, a display
    or a deal (price cut alone) at 10-35% off, a few feature + display; unpromoted rows at the regular price."""
    rng = np.random.default_rng(seed)
    category = {p.id: p.category for p in rules.products}
    rows = []
    for account in sorted(a.id for a in rules.accounts):
        for product in sorted(category):
            for w in range(weeks):
                kind = rng.choice(["none", "none", "none", "none", "feature", "display", "deal", "both"])
                feature, display = kind in ("feature", "both"), kind in ("display", "both")
                deal = kind == "deal"
                depth = float(rng.choice([0.1, 0.2, 0.25, 0.35])) if kind != "none" else 0.0
                rows.append({"week": pd.Timestamp(start + dt.timedelta(weeks=w)), "account": account,
                             "product": product, "category": category[product], "cases": float(rng.poisson(200)),
                             "price": 10.0 * (1 - depth), "regular_price": 10.0, "feature": float(feature),
                             "display": float(display), "deal": float(deal), "promoted": kind != "none"})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("start", [dt.date(2025, 3, 3), dt.date(2025, 11, 24)])
def test_simulator_forecast_is_the_fits_expected_cases(start: dt.date) -> None:
    rules = base_rules()
    fit = hand_fit(rules)
    frame = holdout_frame(rules, start, 26)
    backtest = run_backtest(fit, rules, frame.iloc[:0], frame, PROVENANCE, EXACT)
    assert backtest.unforecast == 0 and len(backtest.frame) == len(frame)
    expected = expected_cases(fit, frame)
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(backtest.frame["forecast"].to_numpy(), expected, rtol=1e-6)
    assert backtest.agreement < 1e-9  # `simulate`'s account totals are the cells read per row


def test_the_holdout_rules_are_valid_and_promote_what_the_history_promoted() -> None:
    rules = base_rules()
    frame = holdout_frame(rules, dt.date(2025, 3, 3), 13)
    forecast_rules, calibrated, week = holdout_rules(hand_fit(rules), rules, frame, PROVENANCE, EXACT)
    assert [f for f in run_checks(forecast_rules) if f.severity.value == "error"] == []
    assert len(forecast_rules.events) == int(frame["promoted"].sum())
    assert {e.mechanic for e in forecast_rules.events} == {
        "history-feature", "history-display", "history-deal", "history-feature-display"}
    assert forecast_rules.calendar is not None and forecast_rules.calendar.weeks == 13
    assert week.min() == 0 and week.max() == 12
    assert calibrated.response[0].lifts  # the root profile names the pooled lift of every flagged mechanic


def test_scores_are_wape_and_bias_over_the_rows() -> None:
    actual, forecast = np.array([100.0, 50.0, 0.0]), np.array([90.0, 70.0, 5.0])
    score = Score.of(actual, forecast)
    assert score.wape == pytest.approx((10 + 20 + 5) / 150)
    assert score.bias == pytest.approx((-10 + 20 + 5) / 150)
    assert Score.of(np.zeros(2), np.ones(2)).wape is None  # nothing sold: no WAPE, not a division by zero


def test_backtest_scores_split_promoted_and_grouped() -> None:
    rules = base_rules()
    fit = hand_fit(rules)
    frame = holdout_frame(rules, dt.date(2025, 3, 3), 26)
    training = holdout_frame(rules, dt.date(2024, 9, 2), 26, seed=5)
    backtest = run_backtest(fit, rules, training, frame, PROVENANCE)
    scored = backtest.frame
    promo = scored["promoted"].to_numpy()
    actual, forecast = scored["cases"].to_numpy(), scored["forecast"].to_numpy()
    assert backtest.promo == Score.of(actual[promo], forecast[promo])
    assert backtest.nonpromo == Score.of(actual[~promo], forecast[~promo])
    assert backtest.overall.rows == backtest.promo.rows + backtest.nonpromo.rows == len(frame)
    assert set(backtest.by_account) == {a.id for a in rules.accounts}
    assert set(backtest.by_category) == {"sparkling", "water"}
    naive = naive_forecast(training, frame)
    last = training[training["week"] >= training["week"].max() - pd.Timedelta(weeks=12)]
    series = last[(last["account"] == "hyper-a") & (last["product"] == "cola-can")]["cases"].mean()
    assert naive[(frame["account"] == "hyper-a").to_numpy() & (frame["product"] == "cola-can").to_numpy()][0] \
        == pytest.approx(series)
    summary = backtest.summary()
    assert {"wape", "wape_promo", "wape_nonpromo", "bias", "rows"} <= set(summary)


def test_worst_series_plot_is_written(tmp_path: Path) -> None:
    rules = base_rules()
    frame = holdout_frame(rules, dt.date(2025, 3, 3), 13)
    backtest = run_backtest(hand_fit(rules), rules, frame.iloc[:0], frame, PROVENANCE)
    assert plot_worst_series(backtest, frame.iloc[:0], tmp_path / "worst.png")
    assert (tmp_path / "worst.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
