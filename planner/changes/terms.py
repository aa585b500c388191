"""The terms that cover each account, as plain data: what a version freezes so a later version can be compared.

A term is one rule object of a term section (a discount, a rebate, a budget, a calendar rule ...) written out
field by field (`model_dump(mode="json")`: percentages as fractions, dates as ISO text, tuples as lists). An
account holds a term when the rule's `applies_to` covers it; a rule scoped to no account is not a term of the
plan and is left out. The account's own record (growth target, pass-through, shelf share ...) and the holidays
that lift its demand count as terms too. Master data shared by every account (products, baselines, response
parameters) is not: its files are hashed and any override of it is listed with the version.

Events are the plan's, not the rules' (a plan file may replace the calendar): they are compared from the events a
version freezes, by their `account`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from planner.compile.index import PlanIndex
from planner.rules.schema import Event, RuleSet
from planner.rules.schema.common import RuleModel

KINDS: dict[str, str] = {
    "rebates": "Rebate",
    "discounts": "Discount",
    "price_bands": "Price band",
    "mechanics": "Mechanic",
    "events": "Event",
    "shelf_targets": "Shelf-share target",
    "displays": "Display",
    "coolers": "Coolers",
    "accounts": "Account terms",
    "budgets": "Budget",
    "margin_floors": "Margin floor",
    "price_floors": "Price floor",
    "trade_spend_caps": "Trade spend cap",
    "calendar_rules": "Calendar rule",
    "holidays": "Holiday",
}
"""Every kind of term, in the order finance reads them, with its name in the pack."""
SCOPED = ("rebates", "discounts", "price_bands", "mechanics", "shelf_targets", "displays", "coolers", "budgets",
          "margin_floors", "price_floors", "trade_spend_caps", "calendar_rules")
"""Rule-set sections whose objects cover accounts through `applies_to`."""

Terms = dict[str, dict[str, dict[str, Any]]]
"""section -> rule id -> the rule's fields (one account's terms)."""
Rule = tuple[str, str]
"""(section, rule id)."""


def written(rule: RuleModel) -> dict[str, Any]:
    """A rule's fields as JSON-ready data, unset optional fields left out (its id is the key it is kept under)."""
    return rule.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"id"})


def account_terms(rules: RuleSet) -> dict[str, Terms]:
    """account id -> the terms that cover it (events excepted: they are the plan's)."""
    index = PlanIndex.of(rules)
    out: dict[str, Terms] = {account.id: {"accounts": {account.id: written(account)}} for account in rules.accounts}
    scoped: list[tuple[str, str, RuleModel, Any]] = [
        (section, rule.id, rule, rule.applies_to) for section in SCOPED for rule in rules.section(section)]
    if rules.calendar is not None:
        scoped += [("holidays", holiday.id, holiday, holiday.applies_to) for holiday in rules.calendar.holidays]
    for section, rule_id, rule, scope in scoped:
        fields = written(rule)
        for position in np.flatnonzero(index.account_mask(scope)).tolist():
            out[index.accounts[position].id].setdefault(section, {})[rule_id] = fields
    return out


def by_rule(accounts: Mapping[str, Terms | None],
            events: Sequence[Mapping[str, Any]]) -> dict[Rule, tuple[dict[str, Any], tuple[str, ...]]]:
    """Every rule of a version once: (section, id) -> (its fields, the accounts it covers), from the terms frozen
    per account and the version's events."""
    out: dict[Rule, tuple[dict[str, Any], list[str]]] = {}
    for account, terms in accounts.items():
        for section, rules in (terms or {}).items():
            for rule_id, fields in rules.items():
                out.setdefault((section, rule_id), (fields, []))[1].append(account)
    for event in events:
        fields = {key: value for key, value in event.items() if key != "id" and value is not None}
        out[("events", event["id"])] = (fields, [event["account"]])
    return {key: (fields, tuple(sorted(covered))) for key, (fields, covered) in out.items()}


def of_rules(rules: RuleSet, events: Iterable[Event] | None = None) -> dict[Rule, tuple[dict[str, Any],
                                                                                        tuple[str, ...]]]:
    """`by_rule` straight from a rule set (its own events unless a plan's are given)."""
    plan = rules.events if events is None else events
    return by_rule(account_terms(rules), [{"id": event.id, **written(event)} for event in plan])
