"""Monte Carlo over a holiday's uplift: `Response.holiday_uplift_sd` (the standard deviation of the log uplift, per
holiday id, resolved like `holiday_uplifts`) is compiled per account x product and drawn by
`planner.simulate.demand_draw` after every other spread (one normal per holiday x account x product, the same in
every week the holiday covers, a factor on the cell's base as the uplift is), so a rule set without it draws
exactly what it drew before. The calibrator writes it from the fit's standard error of the log uplift. Real parts
throughout: the loader, the compiler, the simulator and the writer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_calibrate_backtest import BASE as FIXTURE
from test_calibrate_backtest import PROVENANCE, base_rules, hand_fit
from test_monte_carlo_spreads import WIDE, busy, plan_of

from planner.calibrate.rules_writer import EXACT, calibrated_rules
from planner.compile.model import compile_rules
from planner.rules.load import build_rule_set, load_rules
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import Response, RuleSet
from planner.rules.source import parse_yaml
from planner.simulate import demand_draw, simulate
from planner.validate import validate

HOLIDAY = "spring-festival"  # the base fixture's: weeks 6 and 7, uplift 1.4, everywhere


def with_spread(rules: RuleSet, sd: float, **spreads: Any) -> RuleSet:
    return busy(rules, holiday_uplift_sd={HOLIDAY: sd}, **spreads)


def drawn_factor(rules: RuleSet, plain: RuleSet, seed: int) -> np.ndarray:
    """(A, P, W) what the holiday's draw multiplied each cell's base by: the draw's noise over the noise of the same
    draw without the holiday's spread (the holiday's normals come last, so everything before is the same)."""
    draw = demand_draw(plan_of(rules), np.random.default_rng(seed))
    before = demand_draw(plan_of(plain), np.random.default_rng(seed))
    assert draw.elasticity.tobytes() == before.elasticity.tobytes()
    assert draw.promotions.lift.tobytes() == before.promotions.lift.tobytes()
    np.testing.assert_array_equal(draw.compiled.demand.post_promo_dip, before.compiled.demand.post_promo_dip)
    np.testing.assert_array_equal(draw.compiled.demand.cannibalization, before.compiled.demand.cannibalization)
    return np.asarray(draw.noise / before.noise)


def test_without_a_holiday_spread_nothing_is_drawn_for_it() -> None:
    for spreads in ({}, WIDE):
        rules = busy(base_rules(), **spreads)
        plan = plan_of(rules)
        assert plan.holiday_normals == 0 and len(plan.holiday_cells) == 0
        zero = with_spread(base_rules(), 0.0, **spreads)
        options = ScenarioOptions(draws=10, seed=5)
        assert simulate(rules, options).uncertainty == simulate(zero, options).uncertainty


def test_a_holidays_uplift_is_log_normal_around_itself_and_the_same_in_both_its_weeks() -> None:
    rules, plain = with_spread(base_rules(), 0.25, **WIDE), busy(base_rules(), **WIDE)
    weeks = [5, 6]  # the holiday's weeks 6 and 7, 0-based
    logs = []
    for seed in range(300):
        factor = np.log(drawn_factor(rules, plain, seed))
        outside = np.delete(factor, weeks, axis=2)
        np.testing.assert_allclose(outside, 0.0, atol=1e-12)  # only the holiday's weeks move
        np.testing.assert_allclose(factor[:, :, 5], factor[:, :, 6], atol=1e-12)  # one normal for both weeks
        logs.append(factor[:, :, 5])
    values = np.stack(logs)  # (draws, A, P)
    assert values.shape[1] * values.shape[2] >= 4
    assert abs(float(values.mean())) < 4 * 0.25 / np.sqrt(values.size)  # median = the uplift
    assert float(values.std()) == pytest.approx(0.25, rel=0.1)
    flat = values.reshape(len(values), -1)
    assert abs(np.corrcoef(flat[:, 0], flat[:, 1])[0, 1]) < 0.25  # independent per account x product


def test_holiday_uplift_sd_resolves_per_holiday_like_holiday_uplifts() -> None:
    rules = base_rules()
    narrow = Response.model_validate({"id": "sparkling", "applies_to": {"category": "sparkling"},
                                      "elasticity": -2.0, "post_promo_dip": 0.2, "cannibalization": 0.1,
                                      "holiday_uplift_sd": {HOLIDAY: 0.3}})  # the default profile's values
    wide = rules.replace(response=(*rules.response, narrow))
    compiled = compile_rules(wide)
    table = compiled.demand.holiday_uplift_sd[HOLIDAY]
    sparkling = np.array([p.category == "sparkling" for p in compiled.index.products])
    assert sparkling.any() and (~sparkling).any()
    np.testing.assert_array_equal(table[:, sparkling], 0.3)
    np.testing.assert_array_equal(table[:, ~sparkling], 0.0)  # no profile covering them names it: exact
    busy_wide = busy(wide)
    factor = drawn_factor(busy_wide, busy(rules), 4)
    assert np.all(factor[:, ~sparkling] == 1.0) and np.all(factor[:, sparkling][:, :, [5, 6]] != 1.0)


def test_a_holiday_spread_widens_the_simulated_volume() -> None:
    options = ScenarioOptions(draws=150, seed=11)

    def width(rules: RuleSet) -> float:
        spread = simulate(rules, options).uncertainty
        assert spread is not None
        return spread.totals["volume"].p90 - spread.totals["volume"].p10

    assert width(with_spread(base_rules(), 0.5)) > 1.2 * width(busy(base_rules()))


def test_the_fits_standard_error_of_a_holiday_is_written_and_compiled(tmp_path: Path) -> None:
    rules = base_rules()
    fit = hand_fit(rules)
    shape = fit.baseline.shape
    uplift = np.full(shape, 1.37)
    se = np.random.default_rng(2).uniform(0.05, 0.2, shape) * uplift  # of the uplift itself, as Fit.series_se holds
    fit = dataclasses.replace(fit, holidays={HOLIDAY: uplift}, series_se={**fit.series_se, f"holiday.{HOLIDAY}": se})
    assert rules.calendar is not None
    written = calibrated_rules(fit, rules, rules.calendar.start, PROVENANCE, materiality=EXACT)
    named = [r for r in written.response if r.holiday_uplifts]
    assert named and all(set(r.holiday_uplift_sd) == {HOLIDAY} for r in named)
    assert all(not r.holiday_uplift_sd for r in written.response if not r.holiday_uplifts)
    path = tmp_path / "calibrated.yaml"
    path.write_text(written.yaml(), encoding="utf-8")
    loaded = load_rules([path]).rules
    merged = rules.replace(seasonality=loaded.seasonality, baselines=loaded.baselines, response=loaded.response)
    table = compile_rules(merged).demand.holiday_uplift_sd[HOLIDAY]
    log_se = se / uplift
    assert float(table.min()) >= float(log_se.min()) - 1e-12 and float(table.max()) <= float(log_se.max()) + 1e-12
    assert table.min() > 0  # the root's (a volume-weighted median) or the category's, on every cell


@pytest.mark.parametrize(("written", "message"), [
    ("{spring-festival: 2.5}", "less than or equal to 2"),
    ("{spring-festival: -0.1}", "greater than or equal to 0"),
    ("{spring-festival: '0.1'}", "expected a number"),
])
def test_a_holiday_spread_out_of_bounds_or_mistyped_is_refused_at_the_value(written: str, message: str) -> None:
    text = ("company: {name: Spreads}\ncalendar: {year: 2027, start: 2027-01-04, weeks: 52, quarters: [13, 13, 13, 13],"
            "\n  holidays: [{id: spring-festival, weeks: [6], uplift: 1.3}]}\n"
            f"response:\n  - id: r\n    elasticity: -2\n    holiday_uplift_sd: {written}\n")
    parsed, findings = parse_yaml(text.encode("utf-8"), "spreads.yaml")
    assert parsed is not None and findings == []
    _, problems = build_rule_set([parsed])
    assert [(f.code, f.location.line) for f in problems] == [("PP111", 7)], problems
    assert message in problems[0].message and problems[0].fix


def test_holiday_uplift_sd_names_a_known_holiday(tmp_path: Path) -> None:
    extra = tmp_path / "spreads.yaml"
    extra.write_text("response:\n  - id: r\n    elasticity: -2\n    holiday_uplift_sd: {spring-festval: 0.1}\n",
                     encoding="utf-8")
    findings = validate([FIXTURE, extra]).findings
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [("PP201", 4, 25)]
