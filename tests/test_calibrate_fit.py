"""The calibration's estimation: exact gradients, the closed-form levels, the form `expected_cases` computes,
shrinkage, the holdout kept out of the fit, and inputs a fit must survive."""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from planner.calibrate import uncertainty
from planner.calibrate.estimate import units, with_terms
from planner.calibrate.fit import CalibrationError, Fit, Settings, expected_cases, fit
from planner.calibrate.likelihood import Priors, Problem, cells_of, layout_of, level_blocks
from planner.calibrate.panel import build_panels, check_frame, week_numbers
from planner.calibrate.synthetic import world
from planner.compile.model import Demand
from planner.history.frame import History
from planner.history.holdout import split_holdout


def problem_of(frame: pd.DataFrame, series_sd: float = 0.0) -> Problem:
    rows = check_frame(frame)
    accounts, products = tuple(sorted(rows["account"].unique())), tuple(sorted(rows["product"].unique()))
    anchor = pd.Timestamp(rows["week"].min()).date()
    weeks = int(week_numbers(rows["week"], anchor).max()) + 1
    panel = build_panels(rows, accounts, products, anchor, 0, weeks)[0]
    priors = Priors(np.array([-2.0, 0, 0, 0]), np.full(4, 0.7), np.full(4, 0.3), np.full(4, 0.3),
                    np.full(4, series_sd), 20.0, 1.0)
    layout = layout_of(panel, priors)
    block = level_blocks(weeks, 26)
    cells = cells_of(panel, layout, block, half_life=40.0)
    zeros = np.zeros(len(cells.cases))
    return Problem(panel, layout, priors, block, cells, zeros, zeros, dispersion=1.7)


@pytest.mark.parametrize("series_sd", [0.0, 0.2])
def test_gradient_matches_finite_differences(series_sd: float) -> None:
    synthetic = world(3, accounts=4, products=3, weeks=60)
    problem = problem_of(synthetic.frame, series_sd)
    rng = np.random.default_rng(0)
    theta = rng.normal(0.0, 0.2, problem.layout.size)
    theta[-2:] = [0.2, 0.1]
    dip_unit, cann_unit = units(problem, theta, 2)
    problem = replace(problem, dip_unit=dip_unit, cann_unit=cann_unit)
    _, gradient = problem.value_and_gradient(theta)
    for i in list(rng.choice(problem.layout.size - 2, 25, replace=False)) + [problem.layout.size - 2,
                                                                              problem.layout.size - 1]:
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric = (problem.value_and_gradient(theta + step)[0] - problem.value_and_gradient(theta - step)[0]) / 2e-6
        assert numeric == pytest.approx(gradient[i], rel=1e-4, abs=1e-4), i


@pytest.mark.parametrize("dip_weeks", [1, 3])
def test_gradient_through_the_dip_and_cannibalization_matches_finite_differences(dip_weeks: int) -> None:
    """With the dip and cannibalization moving with the elasticities and lifts (likelihood.Terms), the gradient
    of every effect includes what a promotion's incremental volume does to later weeks and to its siblings."""
    synthetic = world(6, accounts=4, products=4, weeks=60, promotion_rate=0.3)
    problem = problem_of(synthetic.frame, 0.2)
    rng = np.random.default_rng(2)
    theta = rng.normal(0.0, 0.2, problem.layout.size)
    theta[-2:] = [0.3, 0.4]
    problem = with_terms(problem, theta, dip_weeks)
    moved = theta + rng.normal(0.0, 0.1, theta.size)  # away from where E and Q0 were taken
    moved[-2:] = [0.25, 0.35]
    _, gradient = problem.value_and_gradient(moved)
    _, still = replace(problem, terms=None).value_and_gradient(moved)
    start = problem.layout.seasons * 52
    effects = range(start, problem.layout.size - 2)
    assert max(abs(gradient[i] - still[i]) for i in effects) > 1e-3  # the terms do move the effects' gradient
    for i in list(rng.choice(np.arange(start, problem.layout.size - 2), 30, replace=False)) + [
            0, problem.layout.size - 2, problem.layout.size - 1]:
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric = (problem.value_and_gradient(moved + step)[0] - problem.value_and_gradient(moved - step)[0]) / 2e-6
        assert numeric == pytest.approx(gradient[i], rel=1e-4, abs=1e-4), i


def test_closed_form_levels_maximise_the_likelihood() -> None:
    """The profiled level of each (series, block) run is where the full Poisson likelihood peaks in it."""
    problem = problem_of(world(4, accounts=3, products=2, weeks=60).frame)
    theta = np.random.default_rng(1).normal(0.0, 0.1, problem.layout.size)
    theta[-2:] = 0.0
    eta, _, _ = problem.eta(theta)
    level, _ = problem.levels(eta)
    cells = problem.cells

    def full(levels: np.ndarray) -> float:
        mean = levels[cells.run] * np.exp(eta)
        return float(np.sum(cells.weight * (cells.cases * np.log(mean) - mean)))

    best = full(level)
    for factor in (0.97, 1.03):
        for run in (0, len(level) // 2, len(level) - 1):
            moved = level.copy()
            moved[run] *= factor
            assert full(moved) < best


def hand_fit() -> Fit:
    """One account, two products of one category, flat season: numbers a person can follow."""
    shape = (1, 2)
    return Fit(("a",), ("p", "q"), np.array([[100.0, 50.0]]), {"c": np.ones(52)},
               np.array([["c", "c"]], dtype=object), dt.date(2024, 1, 1), np.array([[-2.0, -1.5]]),
               {"feature": np.array([[1.5, 1.2]]), "display": np.array([[1.3, 1.0]]), "deal": np.ones(shape)},
               np.array([[0.4, 0.0]]), 2, np.array([[0.2, 0.0]]), {}, {})


def test_expected_cases_is_the_engine_form_on_hand_made_rows() -> None:
    weeks = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"])
    frame = pd.DataFrame({
        "week": list(weeks) * 2, "account": "a", "product": ["p"] * 4 + ["q"] * 4, "category": "c",
        "price": [10.0, 8.0, 10.0, 10.0, 5.0, 5.0, 5.0, 5.5], "regular_price": [10.0] * 4 + [5.0] * 4,
        "feature": [0, 1, 0, 0, 0, 0, 0, 0.0], "display": [0, 1, 0, 0, 0, 0, 0, 0.0], "deal": 0.0,
        "promoted": [False, True, False, False] * 2,
    })
    got = expected_cases(hand_fit(), frame)
    incr = 100 * (0.8 ** -2.0 * 1.5 * 1.3 - 1.0)  # p promoted in week 2 at 20 % off with feature and display
    q_regular_up = 50 * 1.1 ** -1.5  # q's shelf price 10 % above regular in week 4, no promotion
    expected = [100.0, 100 + incr, 100 - 0.4 * incr / 2, 100 - 0.4 * incr / 2,
                50.0, 50 - 0.2 * incr * 50 / 50, 50.0, q_regular_up]
    assert got == pytest.approx(expected, rel=1e-12)


def test_expected_cases_marks_series_without_history() -> None:
    frame = pd.DataFrame({"week": pd.to_datetime(["2024-01-01"] * 2), "account": ["a", "new"], "product": "p",
                          "category": "c", "price": 10.0, "regular_price": 10.0, "feature": 0.0,
                          "display": 0.0, "deal": 0.0, "promoted": False})
    got = expected_cases(hand_fit(), frame)
    assert got[0] == pytest.approx(100.0) and np.isnan(got[1])


def test_fit_reproduces_its_own_mean_and_season_anchor() -> None:
    synthetic = world(5, accounts=5, products=4, weeks=104)
    fitted = fit(synthetic.frame)
    assert fitted.season_anchor == synthetic.truth.season_anchor
    for weights in fitted.season.values():
        assert weights.mean() == pytest.approx(1.0) and weights.shape == (52,)
    mean = expected_cases(fitted, synthetic.frame)
    truth = expected_cases(synthetic.truth, synthetic.frame)
    assert np.abs(mean - truth).sum() / truth.sum() < 0.08
    assert "elasticity[category=cat-0]" in fitted.intervals and "lift.feature[all]" in fitted.intervals
    interval = fitted.intervals["elasticity[category=cat-0]"]
    assert interval.low < interval.value < interval.high and interval.se > 0
    assert np.all(np.isfinite(fitted.series_se["elasticity"]))


def test_shrinkage_pulls_a_thin_account_toward_its_category() -> None:
    """An account seen for six weeks whose data say three points more elasticity than the others' is pulled
    most of the way back to its category."""
    synthetic = world(6, accounts=6, products=4, weeks=104)
    frame = synthetic.frame
    thin = frame.loc[(frame["account"] == "acc-000") & (frame["week"] < frame["week"].min() + pd.Timedelta(weeks=6))]
    ratio = (thin["price"] / thin["regular_price"]).to_numpy()
    thin = thin.assign(cases=np.round(thin["cases"] * ratio ** -3.0))  # three more points of elasticity
    fitted = fit(pd.concat([frame.loc[frame["account"] != "acc-000"], thin], ignore_index=True))
    category = fitted.intervals["elasticity[category=cat-0]"].value
    thin_values = fitted.elasticity[fitted.accounts.index("acc-000")]
    assert np.all(np.abs(thin_values - category) < 0.5 * 3.0)
    assert np.all(thin_values < category)  # pulled toward the category, not past it


def test_the_fit_never_reads_held_out_rows() -> None:
    frame = world(8, accounts=4, products=3, weeks=80).frame
    history = History(frame, "synthetic", "", "given")
    training, _ = split_holdout(history, 26)
    spoiled = frame.assign(cases=np.where(frame["week"] > training.frame["week"].max(), 1e6, frame["cases"]))
    spoiled_training, _ = split_holdout(History(spoiled, "synthetic", "", "given"), 26)
    first, second = fit(training.frame), fit(spoiled_training.frame)
    assert np.array_equal(first.baseline, second.baseline, equal_nan=True)
    assert np.array_equal(first.elasticity, second.elasticity, equal_nan=True)


def test_no_rows_is_a_clear_error() -> None:
    frame = world(9, accounts=2, products=2, weeks=20).frame
    with pytest.raises(CalibrationError, match="no rows"):
        fit(frame.iloc[:0])
    with pytest.raises(CalibrationError, match="no column"):
        fit(frame.drop(columns=["price"]))


def test_a_series_that_never_sells_gets_a_zero_baseline() -> None:
    frame = world(10, accounts=3, products=3, weeks=60).frame
    dead = (frame["account"] == "acc-001") & (frame["product"] == "sku-002")
    fitted = fit(frame.assign(cases=np.where(dead, 0.0, frame["cases"])))
    assert fitted.baseline[1, 2] == 0.0
    assert np.all(np.isfinite(fitted.elasticity)) and np.all(fitted.elasticity <= 0)


def test_no_price_variation_falls_back_to_the_pooled_elasticity() -> None:
    frame = world(11, accounts=3, products=3, weeks=60, promotion_rate=0.0).frame
    frame = frame.assign(price=frame["regular_price"])  # prices never move: elasticity is not identified
    fitted = fit(frame.drop(columns=["regular_price"]))
    assert fitted.elasticity == pytest.approx(np.full((3, 3), -2.0), abs=0.05)
    assert np.all(np.isfinite(fitted.baseline)) and fitted.dip.max() == 0.0
    assert set(fitted.lifts) == {"feature", "display", "deal"}


def test_account_product_deviations_and_the_diagonal_covariance(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optional account x product level fits and gets standard errors; above the dense limit the
    covariance falls back to the information's diagonal (large categories) without failing."""
    frame = world(12, accounts=4, products=3, weeks=70).frame
    fitted = fit(frame, settings=Settings(elasticity_sd=(0.75, 0.3, 0.3, 0.2), lift_sd=(0.5, 0.2, 0.2, 0.1)))
    assert np.all(np.isfinite(fitted.series_se["elasticity"])) and np.all(fitted.elasticity <= 0)
    problem = problem_of(frame, 0.2)
    assert uncertainty.penalty_diagonal(problem) == pytest.approx(np.diag(uncertainty.penalty_hessian(problem)))
    monkeypatch.setattr(uncertainty, "DENSE_LIMIT", 10)
    diagonal = fit(frame)
    elasticity = diagonal.intervals["elasticity[category=cat-0]"]
    assert np.isfinite(elasticity.se) and elasticity.se > 0


def test_expected_cases_equals_the_engines_response_on_random_grids() -> None:
    """The dense form the fit uses and the economics core's sparse dip and cannibalization
    (planner.economics.response.volume_lost) give the same volumes on every cell."""
    from types import SimpleNamespace

    from planner.economics.response import volume_lost

    rng = np.random.default_rng(5)
    accounts, products, weeks = ("a", "b"), ("p0", "p1", "p2", "p3", "p4"), 12
    category = np.array([0, 0, 1, 1, 1], dtype=np.intp)
    shape = (2, 5)
    elasticity = -rng.uniform(1.0, 3.0, shape)
    lifts = {k: rng.uniform(0.9, 1.6, shape) for k in ("feature", "display", "deal")}
    dip, cann = rng.uniform(0.0, 0.5, shape), rng.uniform(0.0, 0.4, shape)
    season = {"c0": rng.uniform(0.7, 1.3, 52), "c1": rng.uniform(0.7, 1.3, 52)}
    season = {k: v / v.mean() for k, v in season.items()}
    season_of = np.array([[f"c{category[p]}" for p in range(5)]] * 2, dtype=object)
    baseline = rng.uniform(5.0, 50.0, shape)
    truth = Fit(accounts, products, baseline, season, season_of, dt.date(2024, 1, 1), elasticity, lifts, dip, 2,
                cann, {}, {})
    a, p, w = (axis.reshape(-1) for axis in np.meshgrid(range(2), range(5), range(weeks), indexing="ij"))
    promoted = rng.random(len(a)) < 0.3
    regular = np.full(len(a), 4.0)
    price = np.where(promoted, regular * rng.uniform(0.6, 0.95, len(a)), regular * rng.uniform(0.97, 1.05, len(a)))
    flags = {k: np.where(promoted, rng.integers(0, 2, len(a)), 0).astype(float) for k in lifts}
    frame = pd.DataFrame({"week": pd.Timestamp("2024-03-04") + pd.to_timedelta(7 * w, unit="D"),
                          "account": np.array(accounts)[a], "product": np.array(products)[p],
                          "category": np.array(["c0", "c1"])[category[p]], "price": price, "regular_price": regular,
                          "promoted": promoted, **flags})
    ours = expected_cases(truth, frame)

    first = week_numbers(frame["week"].iloc[:1], truth.season_anchor)[0]
    weights = np.array([[season[season_of[i, j]][(first + np.arange(weeks)) % 52] for j in range(5)]
                        for i in range(2)])
    base = baseline[:, :, None] * weights
    ratio = (price / regular).reshape(2, 5, weeks)
    lift = np.ones((2, 5, weeks))
    for k, lift_k in lifts.items():
        lift *= lift_k[:, :, None] ** flags[k].reshape(2, 5, weeks)
    is_promoted = promoted.reshape(2, 5, weeks)
    plain = np.where(is_promoted, base, base * ratio ** elasticity[:, :, None])
    before = base * ratio ** elasticity[:, :, None] * lift
    cells = np.flatnonzero(is_promoted)
    demand = SimpleNamespace(post_promo_dip=dip, dip_weeks=np.full(shape, 2, dtype=np.int64),
                             cannibalization=cann)
    lost = volume_lost(plain, cells, before.reshape(-1)[cells] - plain.reshape(-1)[cells],
                       typing.cast(Demand, demand), category)  # the three fields volume_lost reads
    engine = np.maximum(plain - lost, 0.0)
    assert ours == pytest.approx(engine.reshape(-1), rel=1e-9, abs=1e-9)


def test_a_sample_of_accounts_fits_the_response_and_every_series_gets_its_level() -> None:
    """With more accounts than `response_accounts`, the response is fitted on a seeded sample of accounts; every
    series still gets a closed-form level, the accounts outside the sample the pooled response (no deviation of
    their own), and the response stays close to the fit on every account."""
    synthetic = world(5, accounts=12, products=4, weeks=104, dip=0.0, cannibalization=0.0)
    whole = fit(synthetic.frame)
    sampled = fit(synthetic.frame, settings=Settings(response_accounts=6))
    assert whole.statistics["response_series"] == 12 * 4
    assert sampled.statistics["response_series"] == 6 * 4
    assert np.isfinite(sampled.baseline).all() and (sampled.baseline > 0).all()
    # the 6 accounts outside the sample share one response (category + product): 6 own rows + 1 shared
    assert len(np.unique(sampled.elasticity.round(12), axis=0)) == 7
    assert len(np.unique(whole.elasticity.round(12), axis=0)) == 12
    assert np.mean(sampled.elasticity) == pytest.approx(np.mean(whole.elasticity), rel=0.05)
    for kind in ("feature", "display"):
        assert np.mean(sampled.lifts[kind]) == pytest.approx(np.mean(whole.lifts[kind]), rel=0.05)
    mean = expected_cases(sampled, synthetic.frame)
    actual = synthetic.frame["cases"].to_numpy()
    assert abs(mean.sum() / actual.sum() - 1.0) < 0.02
