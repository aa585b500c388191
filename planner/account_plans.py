"""The per-account annual plan summary finance reads in the approval pack (年度客户计划).

For each account: its customer promotions (discounts, and rebates with what each tier pays), its promotion
strategy (events, mechanics, promoted weeks, deepest saving), its theme activities (events that run in a
holiday's weeks: Spring Festival, 618, Mid-Autumn ...), its shelf, display and cooler terms with what they cost,
its KPI targets (volume growth vs last year, the account's own policy limits), and `terms`: every rule that
covers the account, field by field (`planner.changes.terms`), which the next version is compared with. Plain
JSON-ready data: a plan version freezes it with its results (`planner.store.versions.freeze`), so the pack shows
the terms as they were submitted, not as the rule files read today.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from planner.changes.summary import contract_terms
from planner.changes.terms import account_terms
from planner.compile.calendar import runs
from planner.compile.index import PlanIndex
from planner.results import Simulation
from planner.rules.schema import Event, RuleSet

KIND_NAMES = {"price_cut": "price cut", "bogo": "BOGO", "multi_buy": "multi-buy", "spend_save": "spend & save",
              "coupon": "coupon", "feature": "feature", "display": "display", "tasting": "tasting"}
"""Mechanic kinds as a planner says them."""


def _weeks_text(weeks: Sequence[int]) -> str:
    """[3, 4, 5, 9] -> 'wk 3-5, 9'."""
    return "wk " + ", ".join(f"{first}-{last}" if last > first else f"{first}" for first, last in runs(set(weeks)))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _event_row(rules: RuleSet, event: Event, themes: dict[int, str]) -> dict[str, Any]:
    mechanic = rules.ids("mechanics")[event.mechanic]
    depth = event.depth if event.depth is not None else mechanic.effective_depth
    theme = next((themes[week] for week in event.weeks if week in themes), "")
    return {"id": event.id, "product_group": event.product_group, "mechanic": event.mechanic,
            "kind": mechanic.kind, "saving": depth, "weeks": list(event.weeks), "when": _weeks_text(event.weeks),
            "theme": theme, "locked": event.locked}


def _strategy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = Counter(KIND_NAMES[row["kind"]] for row in rows)
    weeks = {week for row in rows for week in row["weeks"]}
    deepest = max((row["saving"] for row in rows), default=0.0)
    mix = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    groups = len({row["product_group"] for row in rows})
    text = (f"{_count(len(rows), 'event')} on {_count(groups, 'product group')} over "
            f"{_count(len(weeks), 'week')} ({mix}); deepest saving {deepest:.0%}" if rows else "no consumer promotions")
    return {"events": len(rows), "promoted_weeks": len(weeks), "product_groups": groups,
            "locked": sum(row["locked"] for row in rows), "mechanics": dict(kinds), "deepest_saving": deepest,
            "text": text}


def account_plans(rules: RuleSet, events: Sequence[Event], simulation: Simulation) -> dict[str, dict[str, Any]]:
    """account id -> its annual plan summary, for the plan's `events` and their `simulation`."""
    index = PlanIndex.of(rules)
    weeks = index.calendar.weeks
    plans: dict[str, dict[str, Any]] = {
        account.id: {"name": account.name or account.id, "channel": account.channel, "tier": account.tier,
                     "events": [], "shelf": [], "displays": [], "coolers": [],
                     "targets": {"growth": account.growth_target,
                                 "simulated_growth": simulation.growth.get(account.id),
                                 "last_year_volume": account.last_year_volume}}
        for account in index.accounts}
    for a, account in enumerate(index.accounts):
        themes = {week: holiday.name or holiday.id for holiday in index.calendar.holidays
                  if index.account_mask(holiday.applies_to)[a] for week in holiday.weeks}
        rows = [_event_row(rules, event, themes) for event in events if event.account == account.id]
        plans[account.id]["events"] = sorted(rows, key=lambda row: (min(row["weeks"]), row["id"]))
    for target in simulation.shelf_targets:
        plans[target["account"]]["shelf"].append({key: target[key] for key in (
            "target", "category", "current", "share", "met_without_investment", "fee")})
    for display in rules.displays:
        stand = list(display.weeks) or list(range(1, weeks + 1))
        for a in np.flatnonzero(index.account_mask(display.applies_to)).tolist():
            plans[index.accounts[a].id]["displays"].append({
                "display": display.id, "area_m2": display.area_m2, "when": _weeks_text(stand),
                "weeks": len(stand), "fee": display.fee_per_week * len(stand)})
    for cooler in rules.coolers:
        for a in np.flatnonzero(index.account_mask(cooler.applies_to)).tolist():
            plans[index.accounts[a].id]["coolers"].append({
                "cooler": cooler.id, "units": cooler.units, "cost": cooler.units * cooler.cost_per_unit})
    for account_id, terms in account_terms(rules).items():
        plans[account_id] |= {**contract_terms(terms), "terms": terms}
    for plan in plans.values():
        plan["strategy"] = _strategy(plan["events"])
        plan["themes"] = list(dict.fromkeys(row["theme"] for row in plan["events"] if row["theme"]))
    return plans
