"""Holiday effects: fitted per holiday from the history's `holiday` column, written as `holiday_uplifts` that replace
the calendar's `uplift`, and used by the compiled demand the simulator and the optimizer share."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from test_calibrate_backtest import PROVENANCE, base_rules, hand_fit, holdout_frame
from test_calibrate_cli import ACCOUNTS, REPO, planner

from planner.calibrate import synthetic
from planner.calibrate.backtest import run_backtest
from planner.calibrate.fit import expected_cases, fit
from planner.calibrate.rules_writer import EXACT, calibrated_rules
from planner.compile.index import PlanIndex
from planner.compile.model import compile_demand, compile_rules
from planner.rules.schema import Response

TRUE_UPLIFT = 1.5


@pytest.fixture(scope="module")
def moving() -> tuple[synthetic.World, Any, Any]:
    """A world with a holiday in a different week each year, fitted with and without its `holiday` column."""
    world = synthetic.world(5, accounts=8, products=6, categories=2, weeks=156,
                            holidays={"spring-festival": TRUE_UPLIFT})
    return world, fit(world.frame), fit(world.frame.drop(columns=["holiday"]))


def test_a_moving_holiday_is_recovered_per_category(moving: tuple[synthetic.World, Any, Any]) -> None:
    world, fitted, _ = moving
    weeks = world.holiday_weeks["spring-festival"]
    assert len({w % 52 for w in weeks}) == len(weeks) == 3  # it moves: another week of the season each year
    for category in ("cat-0", "cat-1"):
        interval = fitted.intervals[f"holiday.spring-festival[category={category}]"]
        assert interval.value == pytest.approx(TRUE_UPLIFT, rel=0.05)
        assert interval.low < TRUE_UPLIFT < interval.high and interval.se > 0
    whole = fitted.intervals["holiday.spring-festival[all]"]
    assert whole.value == pytest.approx(TRUE_UPLIFT, rel=0.05)
    cat_0 = [p for p, c in world.category_of.items() if c == "cat-0"]
    columns = [fitted.products.index(p) for p in cat_0]
    np.testing.assert_allclose(fitted.holidays["spring-festival"][:, columns],
                               fitted.intervals["holiday.spring-festival[category=cat-0]"].value)
    # the standard error Monte Carlo draws with (written as holiday_uplift_sd): the category's, of the uplift
    np.testing.assert_allclose(fitted.series_se["holiday.spring-festival"][:, columns],
                               fitted.intervals["holiday.spring-festival[category=cat-0]"].se)


def test_the_season_weights_are_not_distorted_by_the_holiday_weeks(moving: tuple[synthetic.World, Any, Any]) -> None:
    world, fitted, blind = moving
    weeks = sorted({w % 52 for w in world.holiday_weeks["spring-festival"]})
    for profile, truth in world.truth.season.items():
        with_column = np.abs(fitted.season[profile][weeks] / truth[weeks] - 1.0).max()
        without = np.abs(blind.season[profile][weeks] / truth[weeks] - 1.0).max()
        assert with_column < 0.06  # the season's noise; without the column the weights soak up the holiday
        assert without > 2 * with_column
    assert not blind.holidays


def test_the_fitted_holiday_is_in_the_fits_expected_cases(moving: tuple[synthetic.World, Any, Any]) -> None:
    world, fitted, _ = moving
    frame = world.frame
    zero = np.zeros_like(fitted.dip)
    fitted = dataclasses.replace(fitted, dip=zero, cannibalization=zero)  # so that every row scales alike
    on = frame["holiday"].notna().to_numpy()
    plain = expected_cases(fitted, frame.assign(holiday=None))
    ratio = expected_cases(fitted, frame)[on] / plain[on]
    a = [fitted.accounts.index(x) for x in frame["account"][on]]
    p = [fitted.products.index(x) for x in frame["product"][on]]
    uplift = fitted.holidays["spring-festival"][a, p]
    assert len(set(np.round(uplift, 6))) == 2  # one per category
    np.testing.assert_allclose(ratio, uplift, rtol=1e-9)


def test_a_profiles_holiday_uplift_replaces_the_calendars_in_the_compiled_demand() -> None:
    rules = base_rules()
    assert rules.calendar is not None
    day = rules.calendar.holidays[0]  # spring-festival, weeks 6-7, uplift 1.4
    profiles = (*rules.response,
                Response.model_validate({"id": "cola-holidays", "applies_to": {"category": "sparkling"},
                                         "elasticity": -2.0, "holiday_uplifts": {day.id: 1.9}}))
    changed = rules.replace(response=profiles)
    index, other = PlanIndex.of(changed), PlanIndex.of(rules)
    demand, before = compile_demand(changed, index), compile_demand(rules, other)
    sparkling = np.array([p.category == "sparkling" for p in index.products])
    assert sparkling.any() and (~sparkling).any()
    weeks = [w - 1 for w in day.weeks]
    ratio = demand.holiday[:, :, weeks] / before.holiday[:, :, weeks]
    np.testing.assert_allclose(ratio[:, sparkling], 1.9 / day.uplift)  # the profile's uplift wins where it covers
    np.testing.assert_allclose(ratio[:, ~sparkling], 1.0)  # the calendar's elsewhere
    outside = [w for w in range(index.calendar.weeks) if w not in weeks]
    np.testing.assert_array_equal(demand.holiday[:, :, outside], before.holiday[:, :, outside])
    # what `planner simulate` and `planner optimize` both read (optimize.run and simulate call compile_rules)
    compiled, plain = compile_rules(changed), compile_rules(rules)
    carried = (plain.demand.expected_base[:, :, weeks] > 0).all(axis=2) & sparkling[None, :]
    assert carried.any()
    ratio = compiled.demand.expected_base[:, :, weeks][carried] / plain.demand.expected_base[:, :, weeks][carried]
    np.testing.assert_allclose(ratio, 1.9 / day.uplift)


def test_the_backtest_forecasts_a_held_out_holiday_through_the_simulator() -> None:
    rules = base_rules()
    shape = (len(rules.accounts), len(rules.products))
    fitted = hand_fit(rules)
    fitted = type(fitted)(**{**fitted.__dict__, "holidays": {"mid-autumn": np.full(shape, 1.3)}})
    frame = holdout_frame(rules, dt.date(2025, 9, 1), 13)
    frame["holiday"] = (frame["week"] == pd.Timestamp(2025, 9, 29)).map({True: "mid-autumn", False: None})
    backtest = run_backtest(fitted, rules, frame.iloc[:0], frame, PROVENANCE, EXACT)
    expected = expected_cases(fitted, frame)
    np.testing.assert_allclose(backtest.frame["forecast"].to_numpy(), expected, rtol=1e-6)
    assert backtest.agreement < 1e-9
    on = frame["holiday"].notna().to_numpy()
    before = (frame["week"] < pd.Timestamp(2025, 9, 29)).to_numpy()
    without = expected_cases(fitted, frame.assign(holiday=None))
    assert expected[on].sum() > 1.2 * without[on].sum()  # 1.3 on the base, less what the dip of earlier weeks took
    np.testing.assert_array_equal(expected[before], without[before])


def test_the_writer_names_only_the_calendars_holidays(moving: tuple[synthetic.World, Any, Any]) -> None:
    rules = base_rules()
    fitted = hand_fit(rules)
    shape = fitted.baseline.shape
    fitted = type(fitted)(**{**fitted.__dict__, "holidays": {"spring-festival": np.full(shape, 1.37),
                                                             "world-cup": np.full(shape, 1.1)}})
    assert rules.calendar is not None
    written = calibrated_rules(fitted, rules, rules.calendar.start, PROVENANCE)
    root, *others = written.response
    assert root.holiday_uplifts == {"spring-festival": 1.37}
    categories = [r for r in others if r.applies_to.category]
    assert categories and all(r.holiday_uplifts == {"spring-festival": 1.37} for r in categories)
    assert all(not r.holiday_uplifts for r in others if r.applies_to.account)


@pytest.fixture(scope="module")
def holiday_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's history for three accounts, with Spring Festival named in the week it fell in each year (another
    week of the season each time) and those weeks' cases raised 40 %, and one week of an event the calendar lacks."""
    frame = pd.read_csv(REPO / "history" / "demo-sales.csv")
    frame = frame[frame["account"].isin(ACCOUNTS)].copy()
    festival = frame["week"].isin(["2025-01-27", "2026-02-16"])
    frame["holiday"] = np.where(festival, "spring-festival", np.where(frame["week"] == "2026-06-08", "world-cup", ""))
    frame.loc[festival, "cases"] = np.round(frame.loc[festival, "cases"] * 1.4)
    path = tmp_path_factory.mktemp("history") / "sales.csv"
    frame.to_csv(path, index=False)
    return path


def test_calibrate_writes_the_uplift_validate_accepts_it_and_simulate_uses_it(holiday_history: Path,
                                                                             tmp_path: Path) -> None:
    out = tmp_path / "calibration"
    result = planner("calibrate", "rules", str(holiday_history), "--holdout", "0", "--out", str(out),
                     "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    uplift = report["parameters"]["holiday.spring-festival[all]"]
    assert 1.25 < uplift["value"] < 1.6 and uplift["low"] < uplift["value"] < uplift["high"]
    assert "holiday.world-cup[all]" in report["parameters"]
    # the event the calendar lacks: fitted, not written, one located warning (exit 0)
    assert len(report["warnings"]) == 1 and "world-cup" in report["warnings"][0]
    assert f"{holiday_history.name}:" in result.stderr and "calendar.holidays" in result.stderr
    data = yaml.safe_load((out / "calibrated.yaml").read_text(encoding="utf-8"))
    named = [p for p in data["response"] if "holiday_uplifts" in p]
    assert named and all(set(p["holiday_uplifts"]) == {"spring-festival"} for p in named)
    categories = {p["applies_to"]["category"]: p["holiday_uplifts"]["spring-festival"] for p in named[1:]}
    assert named[0]["id"] == "cal-all" and len(categories) == len(named) - 1 >= 2
    root = named[0]["holiday_uplifts"]["spring-festival"]
    assert min(categories.values()) <= root <= max(categories.values())  # a volume-weighted median
    for category, value in categories.items():
        assert report["parameters"][f"holiday.spring-festival[category={category}]"]["value"] == pytest.approx(
            value, abs=1e-4)

    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    shutil.copy(out / "calibrated.yaml", tmp_path / "rules" / "calibrated.yaml")
    checked = planner("validate", "rules", "--format", "json", cwd=tmp_path)
    assert [f for f in json.loads(checked.stdout)["findings"] if f["severity"] == "error"] == [], checked.stdout
    simulated = planner("simulate", "scenarios/base.yaml", "--format", "json", cwd=tmp_path)
    assert simulated.returncode == 0, simulated.stderr
    text = (tmp_path / "rules" / "calibrated.yaml").read_text(encoding="utf-8")
    for p in named:  # the same rules with the calendar's own uplift in place of the fitted one
        text = text.replace(f"holiday_uplifts: {{spring-festival: {p['holiday_uplifts']['spring-festival']}}}", "")
    assert "holiday_uplifts" not in text
    (tmp_path / "rules" / "calibrated.yaml").write_text(text, encoding="utf-8")
    calendar_only = planner("simulate", "scenarios/base.yaml", "--format", "json", cwd=tmp_path)
    assert calendar_only.returncode == 0, calendar_only.stderr
    fitted_volume = json.loads(simulated.stdout)["totals"]["volume"]
    typed_volume = json.loads(calendar_only.stdout)["totals"]["volume"]
    assert fitted_volume != pytest.approx(typed_volume, rel=1e-6)


def test_the_gradient_in_a_holidays_uplift_matches_finite_differences() -> None:
    """A holiday's log uplift moves E like a season weight: its gradient, with the dip and cannibalization moving
    with the effects, is the finite difference of the objective; `value` is the objective without the gradient."""
    from test_calibrate_fit import problem_of

    from planner.calibrate.estimate import with_terms

    synthetic_world = synthetic.world(6, accounts=4, products=4, weeks=110, promotion_rate=0.3,
                                      holidays={"mid-autumn": 1.3, "spring-festival": 1.6})
    problem = problem_of(synthetic_world.frame, 0.2)
    layout = problem.layout
    assert layout.holidays == 2 and problem.panel.holiday_ids == ("mid-autumn", "spring-festival")
    rng = np.random.default_rng(3)
    theta = rng.normal(0.0, 0.2, layout.size)
    theta[-2:] = [0.3, 0.4]
    problem = with_terms(problem, theta, 2)
    moved = theta + rng.normal(0.0, 0.1, theta.size)
    moved[-2:] = [0.25, 0.35]
    value, gradient = problem.value_and_gradient(moved)
    assert problem.value(moved) == value
    for i in [layout.holiday_start, layout.holiday_start + 1, 0, layout.size - 2]:
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric = (problem.value(moved + step) - problem.value(moved - step)) / 2e-6
        assert numeric == pytest.approx(gradient[i], rel=1e-4, abs=1e-4), i


def test_init_declares_the_historys_holidays_and_calibrate_fills_in_their_uplift(holiday_history: Path,
                                                                                  tmp_path: Path) -> None:
    """`planner init --from-history` puts each holiday the history names in the calendar (a year after its last
    week, uplift 1), so `planner calibrate` on that repository writes every fitted holiday and warns of none."""
    made = planner("init", str(tmp_path / "repo"), "--from-history", str(holiday_history))
    assert made.returncode == 0, made.stderr
    master = yaml.safe_load((tmp_path / "repo" / "rules" / "master.yaml").read_text(encoding="utf-8"))
    holidays = {h["id"]: h for h in master["calendar"]["holidays"]}
    assert set(holidays) == {"spring-festival", "world-cup"}
    start = dt.date.fromisoformat(str(master["calendar"]["start"]))  # the week after the history's last
    assert start == dt.date(2027, 1, 4)
    assert holidays["spring-festival"]["weeks"] == [7] and holidays["spring-festival"]["uplift"] == 1.0  # 2027-02-15
    assert holidays["world-cup"]["weeks"] == [23]  # 2027-06-07
    calibrated = planner("calibrate", str(tmp_path / "repo" / "rules"), str(holiday_history), "--holdout", "0",
                         "--format", "json")
    assert calibrated.returncode == 0, calibrated.stderr
    report = json.loads(calibrated.stdout)
    assert report["warnings"] == [] and "warning" not in calibrated.stderr
