"""Holidays and product groups: ids used twice among the calendar's holidays, and holidays or product groups whose
scope matches nothing.

The holidays live inside the one `calendar` object, so the per-section duplicate-id check (PP200) does not see
them; a holiday whose `applies_to` matches no account or no product lifts nothing, and a product group whose
`products` match no product makes every event, rule and lift that names it a no-op (PP312 covers the rule kinds
with an `applies_to`; these two only have a scope).
"""

from __future__ import annotations

from planner.check.context import CheckContext
from planner.rules.findings import DUPLICATE_HOLIDAY, MATCHES_NOTHING, Finding, finding
from planner.rules.schema import Holiday


def check_holiday_ids(context: CheckContext) -> list[Finding]:
    calendar = context.rules.calendar
    first: dict[str, Holiday] = {}
    findings = []
    for holiday in calendar.holidays if calendar else ():
        if holiday.id not in first:
            first[holiday.id] = holiday
            continue
        original = first[holiday.id]
        findings.append(finding(
            DUPLICATE_HOLIDAY, f"holiday id '{holiday.id}' is used twice in the calendar (weeks {list(original.weeks)} "
            f"and {list(holiday.weeks)}); lifts and reports name a holiday by its id",
            holiday.field_location("id"), related=[original.location],
            example={"id": holiday.id, "weeks": [list(original.weeks), list(holiday.weeks)]},
            fix=f"rename one of them (e.g. '{holiday.id}-2'), or merge their weeks into one holiday"))
    return findings


def check_matches_nothing(context: CheckContext) -> list[Finding]:
    index, rules = context.index, context.rules
    findings = []
    for holiday in rules.calendar.holidays if rules.calendar else ():
        reason = ("no account" if not index.account_mask(holiday.applies_to).any()
                  else "no product" if not index.product_mask(holiday.applies_to).any() else None)
        if reason:
            findings.append(finding(
                MATCHES_NOTHING, f"holiday '{holiday.id}' lifts nothing: its scope matches {reason}",
                holiday.field_location("applies_to"), example={"holiday": holiday.id, "weeks": list(holiday.weeks)},
                fix="fix the holiday's applies_to (a misspelt channel, region or category?), or delete it"))
    for group in rules.product_groups:
        if not index.product_mask(group.products).any():
            findings.append(finding(
                MATCHES_NOTHING, f"product group '{group.id}' matches no product: events, calendar rules and lifts "
                f"that name it do nothing", group.field_location("products"), example={"product_group": group.id},
                fix="fix the group's products (a brand or category with no product?), or delete the group"))
    return findings
