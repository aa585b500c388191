"""Properties of the review (planner/review) on small generated worlds and on the demo:

- actuals equal to the plan's own simulation give zero variance in every line and every component;
- the variance components add up to the total variance, for any actuals, per account and in total, for the year
  and the quarter to date;
- the latest estimate at the last week is the actuals;
- the demo's review: Carrefour's growth so far and expected are computed from the data, the cancelled,
  unplanned and underperforming promotions are reported as such; the CLI's JSON has the documented shape and the
  pack is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from review_worlds import worlds

from planner.actuals.model import Actuals
from planner.actuals.read import read_actuals
from planner.actuals.store import actuals_from_files
from planner.cli import main
from planner.review import demo_actuals
from planner.review.basis import build
from planner.review.ledger import BASE_LINES
from planner.review.review import review
from planner.review.synthetic import plan_as_actuals
from planner.review.variance import COMPONENTS, statement
from planner.rules.scenario import resolve
from planner.rules.schema import Event, RuleSet

ROOT = Path(__file__).resolve().parents[1]
WEEKS = 8
EXACT = 1e-9
"""Relative tolerance of sums that are equal by construction (float rounding only)."""


def perturbed(actuals: Actuals, rng: np.random.Generator, drop_events: bool) -> Actuals:
    """Other actuals: cases and invoice value moved by up to 20 % per row, some promotions claimed differently or
    not run at all."""
    sales = actuals.sales.copy()
    sales["cases"] *= rng.uniform(0.8, 1.2, len(sales))
    sales["invoice_value"] *= rng.uniform(0.8, 1.2, len(sales))
    promotions = tuple(p.__class__(**{**p.__dict__, "funding": p.funding * float(rng.uniform(0.5, 1.5))})
                       for k, p in enumerate(actuals.promotions) if not (drop_events and k % 2))
    return Actuals(actuals.year, sales, promotions)


@settings(max_examples=25)
@given(worlds(WEEKS), st.integers(0, WEEKS))
def test_actuals_equal_to_the_plan_give_zero_variance_everywhere(world_and_plan: tuple[RuleSet, list[Event]],
                                                                 through: int) -> None:
    rules, events = world_and_plan
    basis = build(rules, events, plan_as_actuals(rules, events, through), through)
    for weeks in (slice(0, through), slice(max(0, through - 2), through)):
        found = statement(basis, weeks)
        scale = max(1.0, float(np.abs(found.plan["gross_profit"]).sum()))
        for line, actual in found.actual.items():
            assert np.allclose(actual, found.plan[line], rtol=EXACT, atol=EXACT * scale), line
        for name, values in found.variance.items():
            assert np.abs(values).max(initial=0.0) <= EXACT * scale, name
    assert np.allclose(basis.trend, 1.0)


@settings(max_examples=25)
@given(worlds(WEEKS), st.integers(0, WEEKS), st.integers(0, 2**32 - 1), st.booleans())
def test_the_components_add_up_to_the_total(world_and_plan: tuple[RuleSet, list[Event]], through: int, seed: int,
                                            drop_events: bool) -> None:
    rules, events = world_and_plan
    rng = np.random.default_rng(seed)
    executed = [e for e in events if rng.random() < 0.7]  # some planned events cancelled, the rest run
    actuals = perturbed(plan_as_actuals(rules, executed, through), rng, drop_events)
    basis = build(rules, events, actuals, through)
    for weeks in (slice(0, through), slice(max(0, through - 3), through)):
        variance = statement(basis, weeks).variance
        parts = sum(variance[name] for name in COMPONENTS)
        scale = max(1.0, float(np.abs(variance["total"]).max(initial=0.0)),
                    float(sum(np.abs(variance[name]).max(initial=0.0) for name in COMPONENTS)))
        assert np.abs(parts - variance["total"]).max(initial=0.0) <= EXACT * scale


@settings(max_examples=15)
@given(worlds(WEEKS), st.integers(0, 2**32 - 1))
def test_the_latest_estimate_at_the_last_week_is_the_actuals(world_and_plan: tuple[RuleSet, list[Event]],
                                                             seed: int) -> None:
    rules, events = world_and_plan
    actuals = perturbed(plan_as_actuals(rules, events, WEEKS), np.random.default_rng(seed), False)
    basis = build(rules, events, actuals, WEEKS)
    for line in BASE_LINES:
        assert np.allclose(basis.latest.line(line), basis.actual.line(line), rtol=EXACT, atol=1e-6), line
    assert np.allclose(basis.latest.line("volume").sum(axis=1), basis.cells.cases.sum(axis=(1, 2)))


# ------------------------------------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo() -> tuple[RuleSet, list[Event], Actuals]:
    rules = resolve(ROOT / "scenarios" / "base.yaml", []).rules
    files = [read_actuals(ROOT / "history" / f"actuals-2027-q1-{kind}.csv", rules) for kind in ("sales", "promotions")]
    return rules, list(rules.events), actuals_from_files(2027, files)


def test_the_plan_against_itself_on_the_demo_is_zero(demo: tuple[RuleSet, list[Event], Actuals]) -> None:
    rules, events, _ = demo
    result = review(rules, events, plan_as_actuals(rules, events, 13), 13)
    totals = result.as_json()["totals"]
    assert all(abs(value) < 1e-6 for value in totals["variance"].values())
    assert all(abs(e.roi - e.planned_roi) < 1e-9 for e in result.events if e.roi is not None and e.planned_roi)


def test_the_demo_quarter_tells_its_story(demo: tuple[RuleSet, list[Event], Actuals]) -> None:
    rules, events, actuals = demo
    result = review(rules, events, actuals, draws=20, seed=1)
    status = {e.event: e.status for e in result.events}
    assert status[demo_actuals.CANCELLED] == "cancelled" and status[demo_actuals.UNPLANNED.id] == "unplanned"
    weak = next(e for e in result.events if e.event == demo_actuals.UNDERPERFORMED)
    assert weak.lift is not None and weak.model_lift is not None and weak.lift < 0.8 * weak.model_lift
    assert weak.roi is not None and weak.planned_roi is not None and weak.roi < weak.planned_roi
    carrefour = result.accounts.index(demo_actuals.BELOW_TREND)
    assert result.basis.trend[carrefour] < min(np.delete(result.basis.trend, carrefour)) + 0.01
    growth = next(o for o in result.outlook if o.rule == "rb-carrefour-growth")
    sold = float(result.basis.actual.line("volume")[carrefour].sum())
    plan_share = float(result.basis.plan.line("volume")[carrefour, :13].sum() / result.basis.plan.line("volume")[
        carrefour].sum())
    last_year = next(a.last_year_volume for a in rules.accounts if a.id == "carrefour")
    assert growth.so_far == pytest.approx(sold / (last_year * plan_share) - 1.0, rel=0.05)
    assert growth.next_threshold == 0.25 and (growth.expected >= 0.25) == (growth.cases_needed == 0)


def test_the_cli_prints_the_documented_json_and_writes_the_pack(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    demo_folder = tmp_path / "demo"
    for folder in ("rules", "scenarios", "history", ".planner"):
        shutil.copytree(ROOT / folder, demo_folder / folder)
    monkeypatch.chdir(demo_folder)
    runner = CliRunner()
    missing = runner.invoke(main, ["review", "scenarios/base.yaml", "--db", "plans.db", "--draws", "0"])
    assert missing.exit_code == 2 and "plan store" in missing.output
    imported = runner.invoke(main, ["actuals", "import", "history/actuals-2027-q1-sales.csv",
                                    "history/actuals-2027-q1-promotions.csv", "--scenario", "scenarios/base.yaml",
                                    "--as", "alice", "--db", "plans.db"])
    assert imported.exit_code == 0, imported.output
    done = runner.invoke(main, ["review", "scenarios/base.yaml", "--db", "plans.db", "--draws", "10", "--format",
                                "json", "--out", "q1"])
    assert done.exit_code == 0, done.output
    document: dict[str, Any] = json.loads(done.stdout)
    assert document["through_week"] == 13 and set(document["totals"]) == {"actual", "plan", "variance"}
    for account in document["accounts"]:
        assert {"id", "actual", "plan", "variance"} <= set(account)
        parts = sum(account["variance"][name] for name in COMPONENTS)
        assert parts == pytest.approx(account["variance"]["total"], abs=1e-6)
    assert document["events"] and document["rebate_outlook"]
    assert sorted(p.name for p in (demo_folder / "q1").iterdir()) == ["qbr.html", "qbr.xlsx", "review.json",
                                                                      "review.txt"]
    html = (demo_folder / "q1" / "qbr.html").read_text(encoding="utf-8")
    assert "季度业务回顾" in html and "Quarterly business review" in html and "carrefour" in html
    from openpyxl import load_workbook

    book = load_workbook(demo_folder / "q1" / "qbr.xlsx", read_only=True)
    assert book.sheetnames[0] == "Summary 汇总" and "carrefour" in book.sheetnames
    late = runner.invoke(main, ["review", "scenarios/base.yaml", "--db", "plans.db", "--through", "60"])
    assert late.exit_code == 2


def test_the_worked_example_of_docs_review_is_what_the_review_computes(
        demo: tuple[RuleSet, list[Event], Actuals]) -> None:
    """docs/review.md works Carrefour's Q1 through by hand: its figures must be the review's (regenerate the page's
    numbers when the demo's rules or actuals change)."""
    rules, events, actuals = demo
    result = review(rules, events, actuals, 13)
    text = (ROOT / "docs" / "review.md").read_text(encoding="utf-8")
    a = result.accounts.index("carrefour")
    figures = result.year_to_date.account(a)
    shown = [f"{figures['variance'][name]:,.0f}".replace("-", "−") for name in COMPONENTS]
    shown += [f"{figures['actual']['gross_profit']:,.0f}", f"{figures['plan']['gross_profit']:,.0f}",
              f"{figures['actual']['volume']:,.0f}", f"{result.basis.trend[a]:.4f}"]
    growth = next(o for o in result.outlook if o.rule == "rb-carrefour-growth")
    assert growth.cases_needed is not None
    shown += [f"{value * 100:+.1f} %" for value in (growth.so_far, growth.expected)] + [f"{growth.cases_needed:,.0f}"]
    missing = [figure for figure in shown if figure not in text]
    assert not missing, f"docs/review.md does not show {missing}"
