"""The shipped demo (rules/ and scenarios/): it validates clean, covers every rule kind, and each what-if changes
what it says it changes.

The demo is the East China territory of a beverage bottler: 14 key accounts, 14 SKUs, fiscal 2027. These tests
pin the demo's promises (coverage of the rule language, business plausibility, scenario effects) so that a rule
edit that breaks one of them fails in CI rather than in a sales meeting.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections import defaultdict
from pathlib import Path

import pytest

from planner.rules.findings import Finding
from planner.rules.load import load_rules
from planner.rules.scenario import Resolved, resolve
from planner.rules.schema import CALENDAR_RULE_KINDS, ID_SECTIONS, RuleSet
from planner.rules.schema.promotions import MechanicKind
from planner.validate import validate

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SCENARIOS = ROOT / "scenarios"
WHAT_IFS = ["budget-cut-10", "no-bogo-carrefour", "carrefour-plus-1pt-rebate", "summer-push", "infeasible-demo"]


def describe(findings: list[Finding]) -> str:
    return "\n".join(f"{f.location} {f.code} {f.message}" for f in findings)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    loaded = load_rules([RULES])
    assert loaded.findings == [], describe(loaded.findings)
    return loaded.rules


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Resolved]:
    return {path.stem: resolve(path) for path in sorted(SCENARIOS.glob("*.yaml"))}


# --- the demo is clean -------------------------------------------------------------------------------------------


def test_demo_validates_with_zero_findings() -> None:
    report = validate([RULES, SCENARIOS])
    assert report.findings == [], describe(report.findings)
    assert report.errors == 0 and report.warnings == 0
    assert report.rule_count > 200
    assert len(report.scenarios) >= 6


def test_rules_are_split_by_topic() -> None:
    names = {path.name for path in RULES.glob("*.yaml")}
    assert {"master.yaml", "products.yaml", "accounts.yaml", "pricing.yaml", "rebates.yaml", "mechanics.yaml",
            "events.yaml", "vividness.yaml", "policy.yaml", "calendar_rules.yaml"} <= names


def test_every_section_is_used(rules: RuleSet) -> None:
    empty = [name for name in ID_SECTIONS if not rules.section(name)]
    assert empty == []
    assert rules.company is not None and rules.company.currency == "CNY"


# --- master data -------------------------------------------------------------------------------------------------


def test_accounts_span_channels_tiers_and_regions(rules: RuleSet) -> None:
    accounts = rules.accounts
    assert len(accounts) >= 12
    assert len({a.channel for a in accounts}) >= 4
    assert {a.tier for a in accounts} == {"A", "B", "C"}
    assert len({a.region for a in accounts}) >= 3
    assert {"carrefour", "jd"} <= {a.id for a in accounts}


def test_products_span_brands_and_categories_with_plausible_margins(rules: RuleSet) -> None:
    products = rules.products
    assert len(products) >= 10
    assert len({p.brand for p in products}) >= 3
    assert len({p.category for p in products}) >= 3
    for product in products:
        assert 0.55 <= product.cogs / product.list_price <= 0.65, product.id


def test_calendar_is_2027_with_chinese_holidays(rules: RuleSet) -> None:
    calendar = rules.calendar
    assert calendar is not None
    assert calendar.year == 2027 and calendar.weeks == 52 and sum(calendar.quarters) == 52
    assert calendar.start == dt.date(2027, 1, 4) and calendar.start.weekday() == 0
    assert calendar.start.isocalendar()[:2] == (2027, 1)
    holidays = {h.id: h for h in calendar.holidays}
    for name in ("spring-festival", "qingming", "labour-day", "dragon-boat", "summer-peak", "mid-autumn",
                 "national-day", "double-11"):
        assert name in holidays and holidays[name].uplift > 1, name
    assert holidays["double-11"].applies_to.channel == ("ecommerce",)


def test_every_account_has_a_baseline_of_carried_products(rules: RuleSet) -> None:
    carried: dict[str, set[str]] = defaultdict(set)
    for baseline in rules.baselines:
        overlap = carried[baseline.account] & set(baseline.cases_per_week)
        assert not overlap, f"{baseline.account} has two baselines for {overlap}"
        carried[baseline.account] |= set(baseline.cases_per_week)
    assert set(carried) == {a.id for a in rules.accounts}
    assert any(len(products) < len(rules.products) for products in carried.values())


def test_response_profiles_have_a_default_and_realistic_elasticities(rules: RuleSet) -> None:
    assert any(r.applies_to.specificity == 0 for r in rules.response)
    assert any(r.applies_to.specificity >= 2 for r in rules.response)
    for profile in rules.response:  # calibrated: series scatter around the truth's -1.5 .. -3.0 (history/truth.yaml)
        assert -4.0 <= profile.elasticity <= -1.0, profile.id
    assert any(r.post_promo_dip > 0 for r in rules.response)
    assert any(r.cannibalization > 0 for r in rules.response)


# --- every rule kind is used ------------------------------------------------------------------------------------


def test_price_bands_use_all_three_bases(rules: RuleSet) -> None:
    assert {b.basis for b in rules.price_bands} == {"last_year_volume", "partnership_years", "market_position"}


def test_discounts_use_every_amount_and_stacking_mode(rules: RuleSet) -> None:
    discounts = rules.discounts
    assert all(any(getattr(d, kind) is not None for d in discounts) for kind in ("percent", "per_case", "fixed"))
    assert {d.stacking for d in discounts} == {"stack", "exclusive", "best_of"}
    groups: dict[str, int] = defaultdict(int)
    for discount in discounts:
        if discount.stacking == "best_of":
            groups[discount.stacking_group] += 1
    assert max(groups.values()) >= 2, "a best_of group shared by two discounts"
    assert sum(d.stop for d in discounts) >= 1
    assert len({d.priority for d in discounts}) >= 3


def test_rebates_cover_periods_bases_methods_and_caps(rules: RuleSet) -> None:
    rebates = rules.rebates
    assert {r.period for r in rebates} == {"quarter", "year"}
    assert {r.basis for r in rebates} == {"volume", "revenue", "growth"}
    assert {r.method for r in rebates} == {"retroactive", "incremental"}
    assert any(r.cap is not None for r in rebates)
    carrefour_growth = rules.ids("rebates")["rb-carrefour-growth"]
    assert carrefour_growth.basis == "growth" and carrefour_growth.applies_to.account == ("carrefour",)
    assert [t.from_ for t in carrefour_growth.tiers] == pytest.approx([0.10, 0.25])


def test_mechanics_cover_every_kind_and_price_cut_depths(rules: RuleSet) -> None:
    mechanics = rules.mechanics
    assert {m.kind for m in mechanics} == set(typing.get_args(MechanicKind))
    depths = {round(m.depth or 0, 4) for m in mechanics if m.kind == "price_cut"}
    assert {0.1, 0.2, 0.3} <= depths
    assert any(m.funding < 1 for m in mechanics) and any(m.lift > 1 for m in mechanics)
    assert any(m.kind == "tasting" and m.fixed_cost > 0 for m in mechanics)


def test_events_include_locked_ones_and_product_groups(rules: RuleSet) -> None:
    assert len(rules.product_groups) >= 3
    assert sum(e.locked for e in rules.events) >= 2


def test_vividness_terms_and_shelf_sums(rules: RuleSet) -> None:
    assert rules.shelf_targets and rules.displays and rules.coolers
    sums = _shelf_sums(rules)
    assert sums[("carrefour", "sparkling")] == pytest.approx(0.70)
    for (account, category), total in sums.items():
        assert total <= 1.0 + 1e-9, f"{account} {category}: {total:.0%}"


def _shelf_sums(rules: RuleSet) -> dict[tuple[str, str], float]:
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for target in rules.shelf_targets:
        scope = target.applies_to
        for account in rules.accounts:
            if ((scope.account is None or account.id in scope.account)
                    and (scope.channel is None or account.channel in scope.channel)
                    and (scope.tier is None or account.tier in scope.tier)
                    and (scope.region is None or account.region in scope.region)):
                sums[(account.id, target.category)] += target.share
    return sums


def test_policy_floors_and_caps(rules: RuleSet) -> None:
    assert {f.per for f in rules.margin_floors} == {"account", "channel", "total"}
    assert rules.price_floors and rules.trade_spend_caps


def test_budgets_total_quarters_pool_and_accounts(rules: RuleSet) -> None:
    budgets = rules.budgets
    total = rules.ids("budgets")["bud-total-2027"]
    assert total.period == "year" and total.per == "total" and total.max
    quarterly = {b.period for b in budgets if b.period != "year"}
    assert quarterly == {"Q1", "Q2", "Q3", "Q4"}
    assert any(b.applies_to.brand or b.applies_to.product or b.applies_to.category for b in budgets)
    per_account = [b for b in budgets if b.per == "account"]
    assert any(b.min for b in per_account) and any(b.max for b in per_account)
    minimums = sum(
        (b.min or 0) * sum(1 for a in rules.accounts if b.applies_to.tier is None or a.tier in b.applies_to.tier)
        for b in per_account
    )
    assert minimums <= total.max


def test_calendar_rules_cover_every_kind(rules: RuleSet) -> None:
    kinds = {r.kind for r in rules.calendar_rules}
    assert kinds == set(CALENDAR_RULE_KINDS)
    periods = {r.period for r in rules.calendar_rules if r.kind == "event_count"}
    assert periods == {"year", "quarter"}


def test_locked_events_avoid_blackouts(rules: RuleSet) -> None:
    accounts = rules.ids("accounts")
    for event in (e for e in rules.events if e.locked):
        account = accounts[event.account]
        for rule in (r for r in rules.calendar_rules if r.kind == "blackout"):
            scope = rule.applies_to
            if scope.channel is not None and account.channel not in scope.channel:
                continue
            if rule.mechanics is not None and event.mechanic not in rule.mechanics:
                continue
            assert not set(event.weeks) & set(rule.weeks), f"{event.id} in blackout {rule.id}"


# --- scenarios ---------------------------------------------------------------------------------------------------


def test_all_scenarios_present(scenarios: dict[str, Resolved]) -> None:
    assert {"base", *WHAT_IFS} <= set(scenarios)


@pytest.mark.parametrize("name", ["base", *WHAT_IFS])
def test_scenario_resolves_clean(scenarios: dict[str, Resolved], name: str) -> None:
    resolved = scenarios[name]
    assert resolved.ok and resolved.findings == [], describe(resolved.findings)
    assert resolved.rules.rule_count > 200


def test_base_options(scenarios: dict[str, Resolved]) -> None:
    options = scenarios["base"].options
    assert options.draws == 200 and options.seed == 2027


@pytest.mark.parametrize("name", WHAT_IFS)
def test_what_ifs_extend_base(scenarios: dict[str, Resolved], name: str) -> None:
    resolved = scenarios[name]
    assert len(resolved.chain) == 2 and resolved.chain[0].endswith("base.yaml")
    assert resolved.options.draws == 200  # inherited


def _budget(resolved: Resolved, budget_id: str) -> float:
    value = resolved.rules.ids("budgets")[budget_id].max
    assert value is not None
    return float(value)


def test_budget_cut_is_ten_percent(scenarios: dict[str, Resolved]) -> None:
    base, cut = scenarios["base"], scenarios["budget-cut-10"]
    assert _budget(cut, "bud-total-2027") == pytest.approx(0.9 * _budget(base, "bud-total-2027"))
    for quarter in ("bud-q1", "bud-q2", "bud-q3", "bud-q4"):
        assert _budget(cut, quarter) == pytest.approx(0.9 * _budget(base, quarter))
    assert cut.applied


def test_no_bogo_at_carrefour(scenarios: dict[str, Resolved]) -> None:
    base, what_if = scenarios["base"], scenarios["no-bogo-carrefour"]
    bogo = {m.id for m in base.rules.mechanics if m.kind == "bogo"}
    assert any(e.account == "carrefour" and e.mechanic in bogo and e.locked for e in base.rules.events)
    assert not any(e.account == "carrefour" and e.mechanic in bogo for e in what_if.rules.events)
    rule = what_if.rules.ids("calendar_rules")["cr-no-bogo-carrefour"]
    assert rule.kind == "event_count" and rule.max == 0 and set(rule.mechanics) == bogo
    assert rule.applies_to.account == ("carrefour",)
    assert "cr-no-bogo-carrefour" not in base.rules.ids("calendar_rules")
    assert what_if.rules.ids("events")["cf-summer-bogo"].locked is False


def test_carrefour_gets_one_more_rebate_point(scenarios: dict[str, Resolved]) -> None:
    base = scenarios["base"].rules.ids("rebates")["rb-carrefour-growth"]
    what_if = scenarios["carrefour-plus-1pt-rebate"].rules.ids("rebates")["rb-carrefour-growth"]
    assert [t.rate for t in what_if.tiers] == pytest.approx([t.rate + 0.01 for t in base.tiers])
    assert [t.from_ for t in what_if.tiers] == [t.from_ for t in base.tiers]


def test_summer_push_adds_money_events_and_heat(scenarios: dict[str, Resolved]) -> None:
    base, push = scenarios["base"], scenarios["summer-push"]
    assert _budget(push, "bud-q3") > _budget(base, "bud-q3")
    assert _budget(push, "bud-total-2027") > _budget(base, "bud-total-2027")
    assert push.rules.calendar is not None and base.rules.calendar is not None
    uplift = {h.id: h.uplift for h in push.rules.calendar.holidays}
    base_uplift = {h.id: h.uplift for h in base.rules.calendar.holidays}
    assert uplift["summer-peak"] > base_uplift["summer-peak"]
    assert len(push.rules.events) > len(base.rules.events)
    added = set(push.rules.ids("events")) - set(base.rules.ids("events"))
    assert added and all(27 <= w <= 39 for e in added for w in push.rules.ids("events")[e].weeks)
    assert len(push.rules.displays) == len(base.rules.displays) + 1


def test_infeasible_demo_is_schema_valid_but_starved(scenarios: dict[str, Resolved]) -> None:
    base, demo = scenarios["base"], scenarios["infeasible-demo"]
    assert "INFEASIBLE" in (SCENARIOS / "infeasible-demo.yaml").read_text(encoding="utf-8")
    assert _budget(demo, "bud-total-2027") < 0.1 * _budget(base, "bud-total-2027")
    rule = demo.rules.ids("calendar_rules")["cr-cola-pet-every-quarter"]
    assert rule.kind == "event_count" and rule.period == "quarter" and rule.min >= 1
    minimums = [b.min for b in demo.rules.budgets if b.per == "account" and b.min]
    assert minimums == []


def test_a_budget_for_a_quarter_the_calendar_lacks_is_located(rules: RuleSet) -> None:
    from planner.check.calendar import check_weeks
    from planner.check.context import CheckContext

    assert rules.calendar is not None
    halves = rules.replace(calendar=rules.calendar.model_copy(update={"quarters": (26, 26)}))
    found = check_weeks(CheckContext(halves))
    assert [(f.code, f.example["id"]) for f in found] == [("PP423", "bud-q3"), ("PP423", "bud-q4")]
    assert [str(f.location) for f in found] == ["rules/policy.yaml:72:13", "rules/policy.yaml:75:13"], describe(found)
    assert check_weeks(CheckContext(rules)) == []
