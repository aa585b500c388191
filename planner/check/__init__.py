"""The rule checker: consistency checks over a merged rule set, each in its own small module.

`run_checks` is what `planner validate` runs after loading. Every check is a pure function
`CheckContext -> list[Finding]` (the context holds the rule set and arrays computed once); a check never raises on a rule set that loaded (a crash would be a bug, and is
reported as finding PP999 rather than a traceback, so CI output stays readable).
"""

from __future__ import annotations

from collections.abc import Callable

from planner.check.budgets import check_budget_minimums, check_total_minimums
from planner.check.calendar import check_feasibility, check_feature_depth, check_weeks
from planner.check.context import CheckContext
from planner.check.counts import check_event_count_conflicts
from planner.check.events import check_double_booked, check_event_scope, check_events
from planner.check.floors import check_floors
from planner.check.identity import check_holiday_ids, check_matches_nothing
from planner.check.references import check_references
from planner.check.stacking import (
    check_exclusive_overlap,
    check_never_applicable,
    check_shadowed,
    check_stacking_groups,
)
from planner.check.tiers import check_tiers
from planner.check.vividness import check_shelf_share
from planner.rules.findings import INTERNAL_ERROR, Finding, Location, finding
from planner.rules.schema import RuleSet

Check = Callable[[CheckContext], list[Finding]]


SEMANTIC_CHECKS: list[Check] = [
    check_tiers,
    check_stacking_groups,
    check_exclusive_overlap,
    check_shadowed,
    check_never_applicable,
    check_floors,
    check_shelf_share,
    check_budget_minimums,
    check_total_minimums,
    check_weeks,
    check_feature_depth,
    check_events,
    check_double_booked,
    check_event_scope,
    check_event_count_conflicts,
    check_feasibility,
    check_holiday_ids,
    check_matches_nothing,
]


def run_checks(rules: RuleSet) -> list[Finding]:
    context = CheckContext(rules)
    findings = check_references(context)
    if findings or rules.calendar is None:  # the semantic checks need resolved references and a valid calendar
        return findings
    for check in SEMANTIC_CHECKS:
        try:
            findings.extend(check(context))
        except Exception as error:  # noqa: BLE001 - a checker bug must not hide the other findings
            where = Location(rules.files[0] if rules.files else "<rules>", 1, 1)
            findings.append(finding(INTERNAL_ERROR, f"internal error in {check.__name__}: {error!r}", where,
                                    fix="please report this as a bug, with the rule files"))
    return findings
