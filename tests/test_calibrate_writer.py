"""A fit written as rules: valid by construction, loaded back unchanged, and compiled into the numbers the fit holds
(baselines, seasonality per baseline entry rotated onto the calendar, response parameters, scoped lifts)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_calibrate_backtest import PROVENANCE, base_rules, hand_fit

from planner.calibrate.fit import Fit
from planner.calibrate.rules_writer import (
    EXACT,
    Materiality,
    calibrated_rules,
    mechanic_flags,
    rotated_season,
)
from planner.check import run_checks
from planner.compile.model import compile_rules
from planner.rules.load import load_rules
from planner.rules.schema import Mechanic, RuleSet


def written(tmp_path: Path, fit: Fit, rules: RuleSet, materiality: Materiality = EXACT) -> tuple[RuleSet, str]:
    assert rules.calendar is not None
    calibrated = calibrated_rules(fit, rules, rules.calendar.start, PROVENANCE, materiality=materiality,
                                  noise={"all": 0.12, "water": 0.2})
    text = calibrated.yaml()
    path = tmp_path / "calibrated.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_rules([path])
    assert [f.code for f in loaded.findings] == ["PP113", "PP113"]  # alone it lacks company and calendar, only
    merged = rules.replace(seasonality=loaded.rules.seasonality, baselines=loaded.rules.baselines,
                           response=loaded.rules.response)
    for section in ("seasonality", "baselines", "response"):  # the file reads back as the objects written
        assert [x.model_dump() for x in loaded.rules.section(section)] == \
            [x.model_dump() for x in getattr(calibrated, section)]
    return merged, text


def test_written_file_checks_cleanly_with_the_rules(tmp_path: Path) -> None:
    rules = base_rules()
    merged, text = written(tmp_path, hand_fit(rules), rules, Materiality())
    assert [f for f in run_checks(merged) if f.severity.value == "error"] == []
    assert text.startswith("# Calibrated by `planner calibrate`")
    assert f"sha256 {PROVENANCE.sha256}" in text and "2024-01-01 .. 2025-06-30 (100 rows)" in text


def test_compiled_rules_hold_the_fit(tmp_path: Path) -> None:
    """Baselines, each product's own season (water and sparkling differ at one account), elasticity, its sd,
    dip, cannibalization and the lift of each mechanic by its flags, cell by cell."""
    rules = base_rules()
    fit = hand_fit(rules)
    merged, _ = written(tmp_path, fit, rules)
    assert merged.calendar is not None  # holidays and vividness aside, the expected base is baseline x season
    merged = merged.replace(calendar=merged.calendar.model_copy(update={"holidays": ()}), shelf_targets=(),
                            displays=(), coolers=())
    compiled = compile_rules(merged)
    index, demand = compiled.index, compiled.demand
    assert merged.calendar is not None
    mechanics = merged.ids("mechanics")
    for i, account in enumerate(fit.accounts):
        for j, product in enumerate(fit.products):
            a, p = index.account_position[account], index.product_position[product]
            assert demand.baseline[a, p] == pytest.approx(fit.baseline[i, j])
            season = rotated_season(fit, str(fit.season_of[i, j]), merged.calendar.start)
            base = demand.expected_base[a, p] / demand.baseline[a, p]
            np.testing.assert_allclose(base, season[: merged.calendar.weeks], rtol=1e-9)
            assert demand.elasticity[a, p] == pytest.approx(fit.elasticity[i, j])
            assert demand.elasticity_sd[a, p] == pytest.approx(fit.series_se["elasticity"][i, j])
            assert demand.post_promo_dip[a, p] == pytest.approx(fit.dip[i, j])
            assert demand.cannibalization[a, p] == pytest.approx(fit.cannibalization[i, j])
            assert demand.dip_weeks[a, p] == fit.dip_weeks
            for mechanic_id, lifts in demand.lifts.items():
                flags = mechanic_flags(mechanics[mechanic_id])
                expected = np.prod([fit.lifts[f][i, j] for f in flags])
                assert lifts[a, p] == pytest.approx(expected)
    assert set(demand.lifts) == {"tpr-20", "bogo", "tpr-30-feature"}  # two deals and a featured price cut
    assert demand.baseline_noise[index.account_position["hyper-a"], index.product_position["aqua-pet"]] == 0.2


def test_season_rotation_starts_at_the_calendars_week_one() -> None:
    fit = hand_fit(base_rules())
    weights = fit.season["water"]
    assert rotated_season(fit, "water", fit.season_anchor) == pytest.approx(tuple(weights))
    later = fit.season_anchor + dt.timedelta(weeks=55)  # 55 weeks on: weight 1 is the anchor's week 4
    assert rotated_season(fit, "water", later)[0] == pytest.approx(weights[3])


def test_only_material_differences_get_a_profile_of_their_own() -> None:
    rules = base_rules()
    fit = hand_fit(rules)
    shape = fit.baseline.shape
    uniform = dataclasses.replace(
        fit, elasticity=np.full(shape, -2.0), dip=np.full(shape, 0.2), cannibalization=np.full(shape, 0.1),
        lifts={k: np.full(shape, 1.3) for k in fit.lifts})
    assert rules.calendar is not None
    plain = calibrated_rules(uniform, rules, rules.calendar.start, PROVENANCE)
    assert [r.id for r in plain.response] == ["cal-all", "cal-sparkling", "cal-water"]
    elasticity = uniform.elasticity.copy()
    elasticity[fit.accounts.index("hyper-a"), fit.products.index("cola-can")] = -3.0
    elasticity[fit.accounts.index("conv-b"), fit.products.index("cola-pet")] = -2.05  # within materiality
    one = calibrated_rules(dataclasses.replace(uniform, elasticity=elasticity), rules, rules.calendar.start,
                           PROVENANCE)
    refined = [r for r in one.response if r.applies_to.specificity == 2]
    assert [(r.applies_to.account, r.applies_to.product, r.elasticity) for r in refined] == [
        (("hyper-a",), ("cola-can",), -3.0)]
    exact = calibrated_rules(uniform, rules, rules.calendar.start, PROVENANCE, materiality=EXACT)
    assert sum(r.applies_to.specificity == 2 for r in exact.response) == int(np.isfinite(fit.baseline).sum())


def test_series_without_history_get_no_baseline() -> None:
    rules = base_rules()
    fit = hand_fit(rules)
    baseline = fit.baseline.copy()
    baseline[fit.accounts.index("conv-b"), fit.products.index("cola-pet")] = np.nan
    assert rules.calendar is not None
    calibrated = calibrated_rules(dataclasses.replace(fit, baseline=baseline), rules, rules.calendar.start,
                                  PROVENANCE)
    carried = {(b.account, p) for b in calibrated.baselines for p in b.cases_per_week}
    assert ("conv-b", "cola-pet") not in carried and ("conv-b", "cola-can") in carried


@pytest.mark.parametrize(("fields", "flags"), [
    ({"kind": "price_cut", "depth": 0.2}, ("deal",)),
    ({"kind": "price_cut", "depth": 0.2, "feature": True}, ("feature",)),
    ({"kind": "bogo"}, ("deal",)),
    ({"kind": "feature", "display": True}, ("feature", "display")),
    ({"kind": "display"}, ("display",)),
    ({"kind": "tasting"}, ()),
])
def test_mechanic_flags(fields: dict[str, object], flags: tuple[str, ...]) -> None:
    assert mechanic_flags(Mechanic.model_validate({"id": "m", **fields})) == flags


def test_the_demo_history_is_reproduced_by_its_documented_command(tmp_path: Path) -> None:
    """history/demo-sales.csv is what history/README.md's command draws (same seed, same file, byte for byte)."""
    repo = Path(__file__).resolve().parents[1]
    command = next(line for line in (repo / "history" / "README.md").read_text(encoding="utf-8").splitlines()
                   if line.startswith("python -m planner.calibrate.demo_history"))
    args = command.split()[1:]
    args[args.index("history/demo-sales.csv")] = str(tmp_path / "demo-sales.csv")
    done = subprocess.run([sys.executable, *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "demo-sales.csv").read_bytes() == (repo / "history" / "demo-sales.csv").read_bytes()
