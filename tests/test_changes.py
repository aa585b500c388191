"""planner.changes: every term change between two rule sets shows up, alone, with the right before and after.

Each case changes one field of one rule of the demo (through a command-line override, as `plan submit --set`
does, so the rule sets are resolved exactly as a version's are) and expects that change and no other.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from test_store_support import base_frozen_fixture  # noqa: F401 - fixture

from planner.changes.compare import Change, compare, effect_text
from planner.changes.summary import contract_terms
from planner.changes.terms import KINDS, SCOPED, account_terms, by_rule, of_rules
from planner.rules.scenario import resolve
from planner.rules.schema import RuleSet
from planner.store.versions import Frozen

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "scenarios" / "base.yaml"


@cache
def rules(*sets: str) -> RuleSet:
    resolved = resolve(BASE, list(sets))
    assert resolved.ok, resolved.findings
    return resolved.rules


def changes(*sets: str) -> list[Change]:
    return compare(of_rules(rules()), of_rules(rules(*sets)))


CASES = [  # override, (kind, rule, field), before, after, words in the sentence
    ("rebates.rb-carrefour-growth.tiers.1.rate=3%", ("rebates", "rb-carrefour-growth", "tiers.1.rate"),
     0.02, 0.03, "tier 2 rate: 2.0% -> 3.0% (+1.0 pt)"),
    ("rebates.rb-carrefour-growth.tiers.0.from=12%", ("rebates", "rb-carrefour-growth", "tiers.0.from"),
     0.10, 0.12, "tier 1 threshold: 10.0% -> 12.0% (+2.0 pt)"),
    ("rebates.rb-modern-trade-annual-volume.cap=500000", ("rebates", "rb-modern-trade-annual-volume", "cap"),
     400000, 500000, "cap: 400,000 -> 500,000 (+100,000)"),
    ("rebates.rb-hyper-quarterly-volume.method=incremental", ("rebates", "rb-hyper-quarterly-volume", "method"),
     "retroactive", "incremental", "method: retroactive -> incremental"),
    ("discounts.d-jd-net-price.percent=9%", ("discounts", "d-jd-net-price", "percent"),
     0.08, 0.09, "percent off: 8.0% -> 9.0% (+1.0 pt)"),
    ("discounts.d-pallet-deal.per_case=1.5", ("discounts", "d-pallet-deal", "per_case"),
     1.2, 1.5, "amount per case: 1.20 -> 1.50 (+0.30)"),
    ("price_bands.band-volume.tiers.1.adjustment=-1.5%", ("price_bands", "band-volume", "tiers.1.adjustment"),
     -0.01, -0.015, "tier 2 adjustment: -1.0% -> -1.5% (-0.5 pt)"),
    ("price_bands.band-market-position.positions.leader=-2%",
     ("price_bands", "band-market-position", "positions.leader"), -0.015, -0.02, "leader: -1.5% -> -2.0%"),
    ("mechanics.tpr-20.depth=25%", ("mechanics", "tpr-20", "depth"), 0.20, 0.25, "depth: 20.0% -> 25.0%"),
    ("mechanics.bogo-pet.funding=80%", ("mechanics", "bogo-pet", "funding"), None, 0.8, "funding"),
    ("events.cf-juice-tasting.weeks=[15, 16]", ("events", "cf-juice-tasting", "weeks"),
     [14], [15, 16], "weeks: wk 14 -> wk 15-16"),
    ("events.cf-summer-water.mechanic=tpr-20", ("events", "cf-summer-water", "mechanic"),
     "multibuy-3for2", "tpr-20", "mechanic: multibuy-3for2 -> tpr-20"),
    ("budgets.bud-total-2027.max=4.5M", ("budgets", "bud-total-2027", "max"),
     5_000_000, 4_500_000, "maximum: 5,000,000 -> 4,500,000 (-500,000)"),
    ("margin_floors.mf-carrefour.min_gross_margin=21%", ("margin_floors", "mf-carrefour", "min_gross_margin"),
     0.20, 0.21, "minimum gross margin: 20.0% -> 21.0% (+1.0 pt)"),
    ("price_floors.pf-all.min_markup=6%", ("price_floors", "pf-all", "min_markup"), 0.05, 0.06, "6.0%"),
    ("trade_spend_caps.tsc-total.max_share=19%", ("trade_spend_caps", "tsc-total", "max_share"), 0.20, 0.19,
     "maximum share of gross sales: 20.0% -> 19.0% (-1.0 pt)"),
    ("shelf_targets.st-carrefour-sparkling-cola.share=72%",
     ("shelf_targets", "st-carrefour-sparkling-cola", "share"), None, 0.72, "-> 72.0%"),
    ("displays.disp-carrefour-summer-cola.fee_per_week=5000",
     ("displays", "disp-carrefour-summer-cola", "fee_per_week"), 4000, 5000, "fee per week: 4,000 -> 5,000"),
    ("coolers.cooler-lawson.units=120", ("coolers", "cooler-lawson", "units"), 100, 120, "units: 100 -> 120"),
    ("calendar_rules.cr-min-gap.weeks=3", ("calendar_rules", "cr-min-gap", "weeks"), 2, 3, "weeks: 2 -> 3"),
    ("calendar.holidays.0.uplift=1.5", ("holidays", "spring-festival", "uplift"), 1.45, 1.5,
     "uplift: 1.45 -> 1.5"),
    ("accounts.carrefour.growth_target=30%", ("accounts", "carrefour", "growth_target"), 0.25, 0.30,
     "growth target: 25.0% -> 30.0% (+5.0 pt)"),
]


@pytest.mark.parametrize(("override", "where", "before", "after", "words"), CASES,
                         ids=[case[0].split("=")[0] for case in CASES])
def test_every_rule_kind_changed_alone_shows_up(override: str, where: tuple[str, str, str], before: Any,
                                                after: Any, words: str) -> None:
    found = changes(override)
    assert [(c.kind, c.rule, c.field) for c in found] == [where], [c.text for c in found]
    change = found[0]
    if before is not None:
        assert change.before == pytest.approx(before) if isinstance(before, float) else change.before == before
    assert change.after == pytest.approx(after) if isinstance(after, float) else change.after == after
    assert words in change.text
    assert change.text.startswith(f"{KINDS[change.kind]} {change.rule}")


def test_the_cases_cover_every_kind_of_term() -> None:
    assert {case[1][0] for case in CASES} == set(KINDS) == {*SCOPED, "accounts", "events", "holidays"}


def test_nothing_changed_is_no_change() -> None:
    assert compare(of_rules(rules()), of_rules(rules())) == []


def test_a_rule_removed_added_or_moved_to_other_accounts() -> None:
    base = rules()
    without = base.replace(discounts=tuple(d for d in base.discounts if d.id != "d-jd-net-price"))
    [removed] = compare(of_rules(base), of_rules(without))
    assert (removed.action, removed.kind, removed.rule, removed.accounts) == ("removed", "discounts",
                                                                              "d-jd-net-price", ("jd",))
    assert "Discount d-jd-net-price (JD net-price agreement) removed (covers jd): percent off 8.0%" in removed.text
    [added] = compare(of_rules(without), of_rules(base))
    assert added.action == "added" and added.after == removed.before
    moved = compare(of_rules(base), of_rules(rules("rebates.rb-carrefour-growth.applies_to.account=rt-mart")))
    assert [(c.action, c.field) for c in moved] == [("changed", "applies_to.account"), ("coverage", "accounts")]
    assert moved[1].before == ["carrefour"] and moved[1].after == ["rt-mart"]
    assert moved[1].accounts == ("carrefour", "rt-mart")


def test_a_tier_added_reads_as_a_tier() -> None:
    [change] = changes("rebates.rb-carrefour-growth.tiers=[{from: 10%, rate: 1%}, {from: 25%, rate: 2%}, "
                       "{from: 40%, rate: 3%}]")
    assert change.field == "tiers.2" and change.before is None
    assert change.text.endswith("tier 3 added: from +40.0%: 3.0%")


def test_the_money_effect_is_the_covered_accounts_line_and_says_when_it_is_shared() -> None:
    old, new = of_rules(rules()), of_rules(rules("rebates.rb-carrefour-growth.tiers.1.rate=3%",
                                                 "discounts.d-jd-net-price.percent=9%"))
    results = {"carrefour": {"rebates": 100.0, "gross_profit": 1000.0},
               "jd": {"off_invoice": 50.0, "fixed_discounts": 0.0, "gross_profit": 500.0}}
    later = {"carrefour": {"rebates": 130.0, "gross_profit": 970.0},
             "jd": {"off_invoice": 60.0, "fixed_discounts": 0.0, "gross_profit": 490.0}}
    rebate, discount = compare(old, new, results, later)
    assert rebate.effect is not None and discount.effect is not None
    assert (rebate.effect.line, rebate.effect.delta, rebate.effect.gross_profit) == ("rebates", 30.0, -30.0)
    assert rebate.effect.by_account == {"carrefour": 30.0}
    assert (discount.effect.line, discount.effect.delta, discount.effect.shared_with) == ("discounts", 10.0, 0)
    assert effect_text(rebate.effect, "CNY") == "rebates +30 CNY, gross profit -30 CNY on carrefour"
    limits = compare(old, of_rules(rules("budgets.bud-total-2027.max=4.5M")), results, later)
    assert limits[0].effect is None  # a limit moves no money by itself
    both = compare(old, of_rules(rules("rebates.rb-carrefour-growth.cap=500000",
                                       "rebates.rb-carrefour-growth.tiers.1.rate=3%",
                                       "events.cf-juice-tasting.weeks=[15]")), results, later)
    assert [c.effect.shared_with for c in both if c.effect] == [1, 1, 1]
    assert "(with 1 other changed rule there)" in effect_text(both[0].effect)


def test_terms_frozen_per_account_give_the_same_rules_back() -> None:
    base = rules()
    frozen = account_terms(base)
    events = [{"id": e.id, **e.model_dump(mode="json", exclude={"id"})} for e in base.events]
    assert by_rule(frozen, events) == of_rules(base)
    carrefour = contract_terms(frozen["carrefour"])
    growth = next(r for r in carrefour["rebates"] if r["id"] == "rb-carrefour-growth")
    assert growth["tiers"] == ["from +10.0%: 1.0% of invoice revenue", "from +25.0%: 2.0% of invoice revenue"]
    assert "capped at 450,000" in growth["how"] and "retroactive" in growth["how"]
    assert {d["id"] for d in carrefour["discounts"]} >= {"d-hypermarket-terms", "d-pallet-deal"}
    assert "jd" not in {a for a, terms in frozen.items() if "rb-carrefour-growth" in terms.get("rebates", {})}


def test_a_version_without_term_snapshots_says_its_changes_cannot_be_listed(base_frozen: Frozen) -> None:
    """Versions submitted before terms were frozen with the account plans: the diff says so instead of guessing."""
    from planner.store.diff import between, head_text
    from planner.store.versions import draft

    older = replace(base_frozen, details={account: {**detail, "plan": {key: value for key, value in detail["plan"].items()
                                                                        if key != "terms"}}
                                          for account, detail in base_frozen.details.items()})
    difference = between(draft(older), draft(base_frozen))
    head = difference["what_changed"]
    assert not head["available"] and head["changes"] == []
    assert "froze no term snapshot" in head["reason"] and head["reason"] in head_text(difference)
    same = between(draft(base_frozen), draft(base_frozen))
    assert same["what_changed"]["available"] and same["what_changed"]["changes"] == [] and same["terms"] == []
    assert "0 term changes (no rule, tier, rate, cap, scope or event differs)" in head_text(same)


def test_the_order_a_store_gives_fields_back_in_does_not_change_the_words() -> None:
    """SQLite keeps JSON canonical (keys sorted), PostgreSQL as written: the changes read the same from both."""
    base = rules()
    old = of_rules(base.replace(discounts=tuple(d for d in base.discounts if d.id != "d-pallet-deal")))
    new = of_rules(rules("rebates.rb-carrefour-growth.tiers.1.rate=3%", "rebates.rb-carrefour-growth.cap=500000",
                         "mechanics.tpr-20.depth=25%", "mechanics.tpr-20.funding=80%"))

    def stored(view: Any) -> Any:
        return {key: (json.loads(json.dumps(fields, sort_keys=True)), accounts) for key, (fields, accounts) in
                view.items()}

    texts = [change.text for change in compare(old, new)]
    assert len(texts) == 5 and texts == [change.text for change in compare(stored(old), stored(new))]
    assert texts[2].startswith("Discount d-pallet-deal (Full-pallet sparkling deal (整托优惠)) added")
    assert "amount per case 1.20" in texts[2]


def test_a_validity_date_reads_as_a_date() -> None:
    [change] = changes("discounts.d-summer-water.valid.to=2027-09-30")
    assert change.text.endswith("valid to: 2027-08-31 -> 2027-09-30")
