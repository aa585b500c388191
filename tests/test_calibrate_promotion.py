"""The recent promotion factor (planner.calibrate.promotion): how promotions sell lately against the fitted
response, its half-life chosen out of sample (a refit without the last training weeks), applied to the promoted
cells that ran a flag -- in the fit's expected cases and, through the written lifts, in the simulator's forecast."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_calibrate_backtest import PROVENANCE, base_rules, hand_fit, holdout_frame

from planner.calibrate import synthetic
from planner.calibrate.backtest import run_backtest
from planner.calibrate.fit import Settings, expected_cases, fit
from planner.calibrate.rules_writer import EXACT

DRIFT = 0.7
"""Promoted rows with a flag sell this share of what the world's response says in the last 26 weeks."""


def flagged(frame: pd.DataFrame) -> np.ndarray:
    flags = frame[["feature", "display", "deal"]].fillna(0.0).sum(axis=1).to_numpy() > 0
    return np.asarray(frame["promoted"].to_numpy(dtype=bool) & flags)


def world_frame() -> pd.DataFrame:
    return synthetic.world(3, accounts=10, products=6, categories=2, weeks=156).frame


@pytest.fixture(scope="module")
def drifted() -> tuple[pd.DataFrame, Any, Any]:
    """A synthetic world whose promotions sell 30 % less in their last half-year, fitted with and without the
    factor."""
    frame = world_frame()
    late = (frame["week"] > frame["week"].max() - pd.Timedelta(weeks=26)).to_numpy() & flagged(frame)
    frame.loc[late, "cases"] = np.round(frame.loc[late, "cases"] * DRIFT)
    return frame, fit(frame), fit(frame, settings=Settings(promotion_half_life_options=()))


def test_a_drift_of_the_promotions_is_chosen_out_of_sample_and_measured(drifted: tuple[pd.DataFrame, Any, Any]) -> None:
    _, fitted, plain = drifted
    statistics = fitted.statistics
    assert statistics["promotion_half_life"] != "none"
    scores = dict(part.split(": ") for part in str(statistics["promotion_validation"]).split(", "))
    assert float(scores[str(statistics["promotion_half_life"])]) < float(scores["none"])
    for category in ("cat-0", "cat-1"):
        factor = statistics[f"promotion_factor[category={category}]"]
        assert isinstance(factor, float) and DRIFT - 0.1 < factor < 0.95
    assert plain.statistics["promotion_half_life"] == "none" and plain.statistics["promotion_validation"] == ""
    assert plain.promotion is not None and np.all(plain.promotion == 1.0)


def test_the_factor_multiplies_the_flagged_promoted_rows_only(drifted: tuple[pd.DataFrame, Any, Any]) -> None:
    frame, fitted, _ = drifted
    zero = np.zeros_like(fitted.dip)
    fitted = dataclasses.replace(fitted, dip=zero, cannibalization=zero)  # so that no row moves another
    without = expected_cases(dataclasses.replace(fitted, promotion=None), frame)
    with_factor = expected_cases(fitted, frame)
    on = flagged(frame)
    assert on.any() and (~on).any()
    np.testing.assert_array_equal(with_factor[~on], without[~on])
    a = [fitted.accounts.index(x) for x in frame["account"][on]]
    p = [fitted.products.index(x) for x in frame["product"][on]]
    assert fitted.promotion is not None
    np.testing.assert_allclose(with_factor[on] / without[on], fitted.promotion[a, p], rtol=1e-9)


@pytest.mark.parametrize("start", [dt.date(2025, 3, 3), dt.date(2025, 11, 24)])
def test_the_simulator_forecast_carries_the_factor_through_the_written_lifts(start: dt.date) -> None:
    """The backtest forecasts through the rules: each mechanic with flags has its lift times the factor, a price
    cut without a flag keeps its own; the simulator's numbers are the fit's expected cases row by row."""
    rules = base_rules()
    fitted = hand_fit(rules)
    category = np.array([{p.id: p.category for p in rules.products}[p] for p in fitted.products])
    factor = np.ones(fitted.baseline.shape)
    factor[:, category == category[0]] = 0.8
    factor[:, category != category[0]] = 1.15
    fitted = dataclasses.replace(fitted, promotion=factor)
    frame = holdout_frame(rules, start, 26)
    bare = frame.index % 9 == 0  # some promoted rows run a price cut with no flag
    frame.loc[bare, ["feature", "display", "deal"]] = 0.0
    frame.loc[bare, ["promoted", "price"]] = [True, 8.0]
    backtest = run_backtest(fitted, rules, frame.iloc[:0], frame, PROVENANCE, EXACT)
    expected = expected_cases(fitted, frame)
    np.testing.assert_allclose(backtest.frame["forecast"].to_numpy(), expected, rtol=1e-6)
    assert backtest.agreement < 1e-9
    assert not np.allclose(expected, expected_cases(dataclasses.replace(fitted, promotion=None), frame))


def test_without_a_drift_the_fitted_lifts_are_kept() -> None:
    """The same world as it was drawn: whichever half-life scores best on the held-back weeks by chance, its
    saving is not significant, so there is no factor."""
    fitted = fit(world_frame())
    assert fitted.statistics["promotion_half_life"] == "none"
    assert float(fitted.statistics["promotion_t"]) < 2.0
    assert fitted.promotion is not None and np.all(fitted.promotion == 1.0)
