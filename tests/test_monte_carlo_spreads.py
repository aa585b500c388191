"""Monte Carlo over the response's spreads (issue 14, delivery 3: "the parameter intervals feed Monte Carlo draws").

`Response.lift_sd`, `post_promo_dip_sd` and `cannibalization_sd` are compiled per account x product (lift_sd per
mechanic, resolved like `lifts`), drawn by `planner.simulate.demand_draw` (lifts log-normal around the lift, one
normal per mechanic x account x product shared by every week; shares normal truncated to [0, 1]) after the
baseline noise and the elasticities, so a rule set without spreads draws exactly what it drew before. The
calibrator writes them from the fit's standard errors. Real parts throughout: the loader, the compiler, the
economics core, the simulator and the writer.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from test_calibrate_backtest import BASE as FIXTURE
from test_calibrate_backtest import PROVENANCE, base_rules, hand_fit
from test_economics_properties import Shape, economic_worlds

from planner.calibrate.rules_writer import EXACT, MAX_SHARE_SD, Materiality, calibrated_rules
from planner.cli import main
from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.execute import Executor
from planner.rules.load import build_rule_set, load_rules
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import Event, Response, RuleSet
from planner.rules.source import parse_yaml
from planner.simulate import demand_draw, monte_carlo, promotions_for, simulate, uncertain_plan
from planner.validate import validate


def busy(rules: RuleSet, **spreads: Any) -> RuleSet:
    """The base fixture with a promotion of every mechanic at both accounts (cola and water, several weeks, some
    two weeks long) and the response profile's spreads set to `spreads`."""
    events = [Event(id=f"e{i}", account=account, product_group=group, mechanic=mechanic, weeks=weeks)
              for i, (account, group, mechanic, weeks) in enumerate(
                  (account, group, mechanic, (week, week + 1) if k % 2 else (week,))
                  for k, (account, group, mechanic, week) in enumerate(
                      (account, group, mechanic, 4 + 6 * m + 3 * g)
                      for account in ("hyper-a", "conv-b")
                      for g, group in enumerate(("cola", "water"))
                      for m, mechanic in enumerate(("tpr-20", "tpr-30-feature", "bogo"))))]
    response = [profile.model_copy(update=spreads) for profile in rules.response]
    return rules.replace(events=tuple(events), response=tuple(response))


WIDE = {"lift_sd": {"tpr-20": 0.3, "tpr-30-feature": 0.3, "bogo": 0.3}, "post_promo_dip_sd": 0.1,
        "cannibalization_sd": 0.1}


def previous_draw(rules: RuleSet, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The draw as written before the spreads existed (commit 914a76c): noise, then elasticities."""
    demand = compile_rules(rules).demand
    sigma = np.sqrt(np.log1p(demand.baseline_noise**2))[:, :, None]
    noise = np.exp(rng.standard_normal(demand.expected_base.shape) * sigma - sigma**2 / 2)
    elasticity = np.minimum(demand.elasticity + rng.standard_normal(demand.elasticity.shape) * demand.elasticity_sd,
                            0.0)
    return elasticity, noise


def plan_of(rules: RuleSet) -> Any:
    compiled = compile_rules(rules)
    return uncertain_plan(rules, compiled, rules.events, promotions_for(rules, compiled, rules.events))


def test_without_spreads_a_draw_is_what_it_was_and_nothing_else_moves() -> None:
    rules = busy(base_rules())
    plan = plan_of(rules)
    rng, before = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(3):  # the review draws one after the other from one generator: the stream must not shift
        draw = demand_draw(plan, rng)
        elasticity, noise = previous_draw(rules, before)
        assert draw.elasticity.tobytes() == elasticity.tobytes() and draw.noise.tobytes() == noise.tobytes()
        assert draw.compiled is plan.compiled and draw.promotions is plan.promotions
    assert plan.lift_normals == 0


def test_with_spreads_the_noise_and_elasticities_are_drawn_first_and_unchanged() -> None:
    rules = busy(base_rules(), **WIDE)
    draw = demand_draw(plan_of(rules), np.random.default_rng([3, 0]))
    elasticity, noise = previous_draw(rules, np.random.default_rng([3, 0]))
    assert draw.elasticity.tobytes() == elasticity.tobytes() and draw.noise.tobytes() == noise.tobytes()


def test_zero_spreads_give_the_same_simulation_as_no_spreads() -> None:
    rules = busy(base_rules())
    zero = busy(base_rules(), lift_sd={"tpr-20": 0.0}, post_promo_dip_sd=0.0, cannibalization_sd=0.0)
    options = ScenarioOptions(draws=20, seed=5)
    assert simulate(rules, options).uncertainty == simulate(zero, options).uncertainty


def width(rules: RuleSet, key: str, draws: int = 150) -> float:
    spread = simulate(rules, ScenarioOptions(draws=draws, seed=11)).uncertainty
    assert spread is not None
    return spread.totals[key].p90 - spread.totals[key].p10


def test_spreads_widen_p10_to_p90() -> None:
    """Lifts, dips and cannibalization drawn on top of the same noise and elasticities (common random numbers)."""
    plain, wide = busy(base_rules()), busy(base_rules(), **WIDE)
    for key in ("volume", "trade_spend", "budget_used"):
        assert width(wide, key) > 1.2 * width(plain, key), key
    assert width(wide, "gross_profit") > width(plain, "gross_profit")
    lifts_only = busy(base_rules(), lift_sd=WIDE["lift_sd"])
    assert width(lifts_only, "volume") > 1.2 * width(plain, "volume")


def test_a_lift_is_log_normal_around_itself_and_the_same_in_every_week_of_a_draw() -> None:
    rules = busy(base_rules(), lift_sd={"tpr-30-feature": 0.25})
    plan = plan_of(rules)
    mechanic_of: dict[tuple[int, int, int], str] = {}  # promoted cell -> mechanic, from the events
    index = plan.compiled.index
    groups = rules.ids("product_groups")
    for event in rules.events:
        for product in np.flatnonzero(index.product_mask(groups[event.product_group].products)):
            for week in event.weeks:
                mechanic_of[(index.account_position[event.account], int(product), week - 1)] = event.mechanic
    uncertain = {cell for cell, mechanic in mechanic_of.items() if mechanic == "tpr-30-feature"}
    rng = np.random.default_rng(1)
    logs: dict[tuple[int, int], list[float]] = {}
    for _ in range(400):
        drawn = demand_draw(plan, rng).promotions.lift
        ratio = np.log(drawn / plan.promotions.lift)
        for cell in mechanic_of:
            if cell not in uncertain:
                assert ratio[cell] == 0.0, cell  # a mechanic without a spread keeps its exact lift
        by_line: dict[tuple[int, int], set[float]] = {}
        for a, p, w in uncertain:
            by_line.setdefault((a, p), set()).add(float(ratio[a, p, w]))
        for line, seen in by_line.items():
            assert len(seen) == 1, line  # one normal per mechanic x account x product, every week
            logs.setdefault(line, []).append(seen.pop())
    assert len(logs) >= 2
    for values in logs.values():
        assert abs(np.mean(values)) < 4 * 0.25 / np.sqrt(len(values))  # median = the lift
        assert np.std(values) == pytest.approx(0.25, rel=0.15)


def test_shares_are_truncated_normal_in_zero_one() -> None:
    """Dip 20 % with sd 15 %: every draw in [0, 1], the mean that of the normal truncated there (above 20 %)."""
    rules = busy(base_rules(), post_promo_dip_sd=0.15, cannibalization_sd=0.3)
    plan = plan_of(rules)
    rng = np.random.default_rng(2)
    dips, cannibalization = [], []
    for _ in range(2000):
        demand = demand_draw(plan, rng).compiled.demand
        dips.append(demand.post_promo_dip[0, 0])
        cannibalization.append(demand.cannibalization[0, 0])
    for values, mean, sd in ((np.array(dips), 0.2, 0.15), (np.array(cannibalization), 0.1, 0.3)):
        assert values.min() >= 0.0 and values.max() <= 1.0
        truncated = stats.truncnorm((0 - mean) / sd, (1 - mean) / sd, loc=mean, scale=sd)
        assert values.mean() == pytest.approx(truncated.mean(), abs=4 * truncated.std() / np.sqrt(len(values)))
        assert values.std() == pytest.approx(truncated.std(), rel=0.08)


def test_a_draw_is_the_same_in_process_and_on_threads() -> None:
    """The Dask cluster's byte-identity is tests/test_execute.py's, on the demo (whose rules carry spreads)."""
    rules = busy(base_rules(), **WIDE)
    compiled = compile_rules(rules)
    promotions = promotions_for(rules, compiled, rules.events)
    here = monte_carlo(rules, compiled, promotions, 12, 4)
    threads = monte_carlo(rules, compiled, promotions, 12, 4, executor=Executor(threads=2))
    assert here == threads


def test_lift_sd_resolves_per_mechanic_like_lifts() -> None:
    """The most specific profile naming the mechanic in lift_sd wins; a mechanic no profile names has none."""
    rules = base_rules()
    root = rules.response[0].model_copy(update={"lift_sd": {"tpr-20": 0.1, "bogo": 0.2}, "post_promo_dip_sd": 0.02})
    narrow = Response.model_validate({"id": "hyper-cola", "applies_to": {"account": "hyper-a", "brand": "cola"},
                                      "elasticity": -2.5, "lift_sd": {"tpr-20": 0.3}})
    compiled = compile_rules(rules.replace(response=(root, narrow)))
    index, demand = compiled.index, compiled.demand
    a = index.account_position["hyper-a"]
    cola = np.array([p.brand == "cola" for p in index.products])
    assert set(demand.lift_sd) == {"tpr-20", "bogo"}
    assert (demand.lift_sd["tpr-20"][a, cola] == 0.3).all()
    assert (demand.lift_sd["tpr-20"][a, ~cola] == 0.1).all()
    assert (demand.lift_sd["bogo"] == 0.2).all()  # the narrow profile does not name bogo: the root's spread
    assert demand.post_promo_dip_sd[a, cola].tolist() == [0.0] * int(cola.sum())  # the narrow profile's default
    assert (np.delete(demand.post_promo_dip_sd, a, axis=0) == 0.02).all()


def test_the_fits_standard_errors_are_written_and_compiled(tmp_path: Path) -> None:
    rules = base_rules()
    fit = hand_fit(rules)
    rng = np.random.default_rng(3)
    shape = fit.baseline.shape
    se = {f"lift.{kind}": rng.uniform(0.02, 0.2, shape) * fit.lifts[kind] for kind in fit.lifts}
    se |= {"dip": rng.uniform(0.01, 0.05, shape), "cannibalization": np.full(shape, 0.7)}
    fit = dataclasses.replace(fit, series_se={**fit.series_se, **se})
    assert rules.calendar is not None
    text = calibrated_rules(fit, rules, rules.calendar.start, PROVENANCE, materiality=EXACT).yaml()
    path = tmp_path / "calibrated.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_rules([path]).rules
    merged = rules.replace(seasonality=loaded.seasonality, baselines=loaded.baselines, response=loaded.response)
    compiled = compile_rules(merged)
    index, demand = compiled.index, compiled.demand
    for i, account in enumerate(fit.accounts):
        for j, product in enumerate(fit.products):
            a, p = index.account_position[account], index.product_position[product]
            assert demand.post_promo_dip_sd[a, p] == pytest.approx(fit.series_se["dip"][i, j])
            assert demand.cannibalization_sd[a, p] == MAX_SHARE_SD  # 0.7 is wider than a share spreads
            # tpr-30-feature is a featured price cut: its log lift's error is the feature's alone
            feature = fit.series_se["lift.feature"][i, j] / fit.lifts["feature"][i, j]
            assert demand.lift_sd["tpr-30-feature"][a, p] == pytest.approx(feature)
            deal = fit.series_se["lift.deal"][i, j] / fit.lifts["deal"][i, j]
            assert demand.lift_sd["tpr-20"][a, p] == pytest.approx(deal)
    pooled = calibrated_rules(fit, rules, rules.calendar.start, PROVENANCE, materiality=Materiality())
    root = yaml.safe_load(pooled.yaml())["response"][0]
    assert set(root["lift_sd"]) == set(root["lifts"]) and root["post_promo_dip_sd"] > 0


@pytest.mark.parametrize(("key", "written", "message"), [
    ("post_promo_dip_sd", "60%", "wider than any share can spread"),
    ("post_promo_dip_sd", "true", "not a boolean"),
    ("cannibalization_sd", "'0.05'", "expected a percentage"),
    ("cannibalization_sd", "-1%", "outside 0% to 100%"),
    ("cannibalization_sd", ".inf", "finite"),
    ("lift_sd", "{tpr-20: 2.5}", "less than or equal to 2"),
    ("lift_sd", "{tpr-20: '0.1'}", "expected a number"),
    ("lift_sd", "{tpr-20: -0.1}", "greater than or equal to 0"),
])
def test_a_spread_out_of_bounds_or_mistyped_is_refused_at_the_value(key: str, written: str, message: str) -> None:
    text = ("company: {name: Spreads}\ncalendar: {year: 2027, start: 2027-01-04, weeks: 52, quarters: [13, 13, 13, 13]}\n"
            "mechanics:\n  - {id: tpr-20, kind: price_cut, depth: 20%}\n"
            f"response:\n  - id: r\n    elasticity: -2\n    {key}: {written}\n")
    parsed, findings = parse_yaml(text.encode("utf-8"), "spreads.yaml")
    assert parsed is not None and findings == []
    _, problems = build_rule_set([parsed])
    assert [(f.code, f.location.line) for f in problems] == [("PP111", 8)], problems
    assert message in problems[0].message and problems[0].fix


def test_lift_sd_names_a_known_mechanic(tmp_path: Path) -> None:
    extra = tmp_path / "spreads.yaml"
    extra.write_text("response:\n  - id: r\n    elasticity: -2\n    lift_sd: {tpr-20: 0.1, tpr-30-featur: 0.2}\n",
                     encoding="utf-8")
    findings = validate([FIXTURE, extra]).findings
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [("PP201", 4, 28)]


def test_a_draw_of_the_shares_evaluates_as_rules_with_those_shares() -> None:
    """The drawn rules carry the cached prices and expected base over: the same cells as compiling afresh."""
    rules = busy(base_rules(), **WIDE)
    plan = plan_of(rules)
    draw = demand_draw(plan, np.random.default_rng(9))
    fresh = compile_rules(rules)
    dip, cannibalization = draw.compiled.demand.post_promo_dip, draw.compiled.demand.cannibalization
    assert not np.array_equal(dip, fresh.demand.post_promo_dip)
    again = dataclasses.replace(fresh, demand=dataclasses.replace(fresh.demand, post_promo_dip=dip,
                                                                  cannibalization=cannibalization))
    expected = evaluate(again, draw.promotions, elasticity=draw.elasticity, noise=draw.noise)
    got = draw.cells()
    for name in ("volume", "trade_spend", "gross_profit", "rebates"):
        assert getattr(got, name).tobytes() == getattr(expected, name).tobytes(), name


def test_simulate_draws_widen_with_spreads_set_on_the_command_line(tmp_path: Path) -> None:
    """`planner simulate --draws` on a copy of the fixture with a busy calendar; `--set` gives the response its
    spreads (a what-if on the uncertainty), the P10-P90 of volume and budget used widen, the JSON otherwise the
    same (the deterministic plan does not move)."""
    shutil.copytree(FIXTURE, tmp_path / "rules")
    events = [event.model_dump(mode="json", exclude_defaults=True) for event in busy(base_rules()).events]
    (tmp_path / "rules" / "terms.yaml").write_text(
        (FIXTURE / "terms.yaml").read_text(encoding="utf-8").split("events:")[0]
        + yaml.safe_dump({"events": events}, sort_keys=False), encoding="utf-8")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "busy.yaml").write_text("scenario: {id: busy, rules: ../rules}\n", encoding="utf-8")
    scenario = str(tmp_path / "scenarios" / "busy.yaml")
    common = ["simulate", scenario, "--draws", "150", "--seed", "3", "--format", "json"]
    spreads = ["--set", "response.default.lift_sd.tpr-20=0.3", "--set", "response.default.lift_sd.bogo=0.3",
               "--set", "response.default.lift_sd.tpr-30-feature=0.3",
               "--set", "response.default.post_promo_dip_sd=10%", "--set", "response.default.cannibalization_sd=10%"]
    runs = [CliRunner().invoke(main, common + extra) for extra in ([], spreads)]
    assert [r.exit_code for r in runs] == [0, 0], [r.output for r in runs]
    plain, wide = (json.loads(r.stdout) for r in runs)
    assert plain["totals"] == wide["totals"]
    assert sum("_sd" in line for line in wide["applied_overrides"]) == 5
    for key in ("volume", "budget_used"):
        spread = [document["uncertainty"]["totals"][key] for document in (plain, wide)]
        assert spread[1]["p90"] - spread[1]["p10"] > 1.2 * (spread[0]["p90"] - spread[0]["p10"]), key


@given(economic_worlds(Shape(extreme_response=True)), st.sampled_from((0.0, 0.5, 2.0)),
       st.sampled_from((0.0, 0.2, 0.5)), st.integers(0, 2**16))
def test_drawn_lifts_and_shares_never_make_volume_negative(rules: RuleSet, lift_sd: float, share_sd: float,
                                                           seed: int) -> None:
    """Generated worlds with dips and cannibalization up to 100 %, spreads up to the language's bounds: every
    drawn lift is positive, every drawn share in [0, 1], every cell's volume finite and not negative."""
    spread = {"lift_sd": {m.id: lift_sd for m in rules.mechanics}, "post_promo_dip_sd": share_sd,
              "cannibalization_sd": share_sd}
    rules = rules.replace(response=tuple(r.model_copy(update=spread) for r in rules.response))
    plan = plan_of(rules)
    draw = demand_draw(plan, np.random.default_rng(seed))
    demand = draw.compiled.demand
    assert (draw.promotions.lift > 0).all() and np.isfinite(draw.promotions.lift).all()
    for share in (demand.post_promo_dip, demand.cannibalization):
        assert ((share >= 0) & (share <= 1)).all()
    volume = draw.cells().volume
    assert np.isfinite(volume).all() and (volume >= 0).all()
