"""Two counting rules at once: an `event_count` minimum above another `event_count` rule's maximum on a line both
bind (an account x product group).

The minimum asks for at least `min` counted event weeks per period; the maximum allows at most `max` of the events
*it* counts. When the maximum counts every mechanic the minimum counts (all mechanics, or a superset of its list),
each week the minimum needs also counts against the maximum, so with Q quarters in the fiscal year:

    both per year or both per quarter:   min > max
    minimum per year, maximum per quarter:   min > Q x max
    minimum per quarter, maximum per year:   Q x min > max

make the two rules contradict each other on every line they share, whatever the weeks, blackouts or gaps (PP420
decides the rest for one counting rule at a time). When the maximum counts fewer mechanics, the minimum could be
met with mechanics the maximum ignores, so no conflict is claimed. Rules are grouped by what they say (scope,
groups, mechanics, period, bound) first, so clones of one rule cost one comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.check.context import CheckContext
from planner.rules.findings import EVENT_COUNTS_CONFLICT, Finding, finding
from planner.rules.schema import EventCount


def counts_every_mechanic_of(high: EventCount, low: EventCount) -> bool:
    """Does `high` count every mechanic `low` counts?"""
    return high.mechanics is None or (low.mechanics is not None and set(low.mechanics) <= set(high.mechanics))


def most_countable(low: EventCount, high: EventCount, quarters: int) -> tuple[int, int]:
    """(weeks the minimum needs, weeks the maximum allows) over the longer of the two periods."""
    need = low.min * (quarters if low.period == "quarter" and high.period == "year" else 1)
    allow = (high.max or 0) * (quarters if high.period == "quarter" and low.period == "year" else 1)
    return need, allow


def check_event_count_conflicts(context: CheckContext) -> list[Finding]:
    index, rules = context.index, context.rules
    counting = [r for r in rules.calendar_rules if isinstance(r, EventCount)]
    groups = [g.id for g in rules.product_groups]
    quarters = len(index.calendar.quarters)

    def signature(rule: EventCount, bound: int | None) -> tuple[Any, ...]:
        return (id(index.account_mask(rule.applies_to)), rule.product_groups, rule.mechanics, rule.period, bound)

    highs: dict[tuple[Any, ...], EventCount] = {}
    for rule in counting:
        if rule.max is not None:
            highs.setdefault(signature(rule, rule.max), rule)
    verdicts: dict[tuple[Any, ...], tuple[EventCount, str, str] | None] = {}
    findings = []
    for low in (r for r in counting if r.min > 0):
        key = signature(low, low.min)
        if key not in verdicts:
            verdicts[key] = _first_conflict(context, low, [h for h in highs.values()], groups, quarters)
        if verdicts[key] is None:
            continue
        high, account, group = verdicts[key]  # type: ignore[misc]
        need, allow = most_countable(low, high, quarters)
        span = "year" if "year" in (low.period, high.period) else "quarter"
        findings.append(finding(
            EVENT_COUNTS_CONFLICT,
            f"'{low.id}' asks for at least {low.min} event weeks per {low.period} at {account} x {group}, but "
            f"'{high.id}' allows at most {high.max} per {high.period} of the events it counts (which include "
            f"every one '{low.id}' counts): {need} needed against {allow} allowed per {span}",
            low.location, related=[high.location],
            example={"account": account, "product_group": group, "minimum_rule": low.id, "min": low.min,
                     "min_period": low.period, "maximum_rule": high.id, "max": high.max, "max_period": high.period,
                     "needed": need, "allowed": allow, "per": span},
            fix=f"lower the minimum of '{low.id}', raise the maximum of '{high.id}', or narrow one of the two "
                f"rules (accounts, product groups, mechanics) so they do not meet"))
    return findings


def _first_conflict(context: CheckContext, low: EventCount, highs: list[EventCount], groups: list[str],
                    quarters: int) -> tuple[EventCount, str, str] | None:
    """The first maximum (file order) that contradicts `low`, with a line both bind."""
    index = context.index
    low_accounts = index.account_mask(low.applies_to)
    low_groups = groups if low.product_groups is None else [g for g in groups if g in low.product_groups]
    for high in highs:
        if high is low or not counts_every_mechanic_of(high, low):
            continue
        need, allow = most_countable(low, high, quarters)
        if need <= allow:
            continue
        shared = np.flatnonzero(low_accounts & index.account_mask(high.applies_to))
        line_groups = [g for g in low_groups if high.product_groups is None or g in high.product_groups]
        if shared.size and line_groups:
            return high, index.accounts[int(shared[0])].id, line_groups[0]
    return None
