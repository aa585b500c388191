"""Discount stacking and applicability: exclusive clashes, rules shadowed by a stop rule, mixed stacking groups,
and rules that can never apply (empty scope, dates outside the fiscal year).

All of it reads the one stacking implementation (compile.discounts) rather than re-deriving the semantics.
"""

from __future__ import annotations

from typing import Any

from planner.check.context import CheckContext
from planner.rules.findings import (
    EXCLUSIVE_OVERLAP,
    NEVER_APPLICABLE,
    SHADOWED_RULE,
    STACKING_MIXED,
    Finding,
    finding,
)
from planner.rules.schema import Calendar
from planner.rules.schema.common import AccountScope, ProductScope


def check_exclusive_overlap(context: CheckContext) -> list[Finding]:
    table, stack, index = context.discounts, context.stack, context.index
    by_id = context.rules.ids("discounts")
    findings = []
    reported: set[tuple[int, int]] = set()
    for first, second, cell in stack.exclusive_clashes:
        if (first, second) in reported:
            continue
        reported.add((first, second))
        a, b = by_id[table.ids[first]], by_id[table.ids[second]]
        example = index.cell_names(cell)
        findings.append(finding(
            EXCLUSIVE_OVERLAP,
            f"exclusive discounts '{a.id}' and '{b.id}' are both live for {example['account']} x "
            f"{example['product']} in week {example['week']}; only '{a.id}' would apply",
            b.location, related=[a.location], example=example,
            fix=f"narrow the scope or dates of one of them, or make '{b.id}' stack or best_of"))
    return findings


def check_shadowed(context: CheckContext) -> list[Finding]:
    """A discount whose every covered cell already has an earlier live stop rule never applies."""
    table, stack = context.discounts, context.stack
    by_id = context.rules.ids("discounts")
    findings = []
    for d in range(len(table)):
        if stack.live[d].size == 0 or stack.live[d].any():
            continue
        cell = table.cell(d, (0, 0, 0))
        stopper = next((s for s in range(d) if table.stop[s] and _covers(context, s, cell)), None)
        if stopper is None:
            continue
        item, stop_rule = by_id[table.ids[d]], by_id[table.ids[stopper]]
        findings.append(finding(
            SHADOWED_RULE,
            f"discount '{item.id}' never applies: stop rule '{stop_rule.id}' (priority {stop_rule.priority}) is live "
            f"wherever '{item.id}' is, and discards every later discount",
            item.location, related=[stop_rule.location], example=context.index.cell_names(cell),
            fix=f"give '{item.id}' a priority below {stop_rule.priority}, or narrow '{stop_rule.id}'"))
    return findings


def _covers(context: CheckContext, d: int, cell: Any) -> bool:
    return context.discounts.local(d, cell) is not None


def check_stacking_groups(context: CheckContext) -> list[Finding]:
    groups: dict[str, list[Any]] = {}
    for discount in context.rules.discounts:
        if discount.group is not None or discount.stacking == "best_of":
            groups.setdefault(discount.stacking_group, []).append(discount)
    findings = []
    for group, members in groups.items():
        modes = sorted({m.stacking for m in members})
        if len(modes) > 1:
            odd = next(m for m in members if m.stacking != members[0].stacking)
            findings.append(finding(
                STACKING_MIXED, f"stacking group '{group}' mixes modes {modes}: "
                f"'{members[0].id}' is {members[0].stacking}, '{odd.id}' is {odd.stacking}",
                odd.field_location("stacking"), related=[members[0].location], example={"group": group},
                fix=f"give every discount of group '{group}' the same stacking mode"))
    return findings


def _last_day(calendar: Calendar) -> object:
    """The fiscal year's last day; '...' when a start near 9999-12-31 puts it past the last date Python knows
    (the schema accepts any start, and a message must not crash the checker)."""
    try:
        return calendar.end
    except OverflowError:
        return "..."


APPLICABILITY_SECTIONS = (
    "price_bands", "discounts", "rebates", "mechanics", "shelf_targets", "displays", "coolers", "margin_floors",
    "price_floors", "trade_spend_caps", "budgets", "calendar_rules", "response",
)


def check_never_applicable(context: CheckContext) -> list[Finding]:
    index, calendar = context.index, context.index.calendar
    findings = []
    for section in APPLICABILITY_SECTIONS:
        for item in context.rules.section(section):
            reason = None
            scope = getattr(item, "applies_to", None)
            if isinstance(scope, AccountScope) and not index.account_mask(scope).any():
                reason = "its scope matches no account"
            elif isinstance(scope, ProductScope) and not index.product_mask(scope).any():
                reason = "its scope matches no product"
            products = getattr(item, "products", None)
            if reason is None and isinstance(products, ProductScope) and not index.product_mask(products).any():
                reason = "its products match no product"
            valid = getattr(item, "valid", None)
            if reason is None and valid is not None:
                weeks = index.week_range(valid)
                if weeks.stop <= weeks.start:
                    reason = (f"its dates {valid.from_ or '...'} to {valid.to or '...'} cover no week of fiscal "
                              f"{calendar.year} ({calendar.start} to {_last_day(calendar)})")
            if reason:
                findings.append(finding(
                    NEVER_APPLICABLE, f"{section} '{item.id}' never applies: {reason}", item.location,
                    example={"id": item.id}, fix="fix the scope or dates, or delete the rule"))
    return findings
