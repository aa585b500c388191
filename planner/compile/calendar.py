"""Calendar rules over a promotion schedule: which rules bind a line, and what a schedule breaks.

A *line* is one account x product group. A *schedule* maps 1-based weeks to the mechanic promoted that week.
Vocabulary (docs/rules.md): an event week is a promoted week; consecutive event weeks form a run; `min_gap`
asks for that many unpromoted weeks after a run before the next; counts are event weeks.

`violations` is the single statement of what each calendar rule means. The checker uses it on locked and
planned events, the optimizer re-checks its plans with it, and the property tests enumerate schedules with it.
`display_min_revenue` needs the economics and is checked by the simulator and optimizer, not here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.compile.index import PlanIndex
from planner.rules.schema import (
    Blackout,
    CalendarRule,
    DeepDiscountWindow,
    EventCount,
    FeatureMinDepth,
    ForbiddenSequence,
    MaxConsecutive,
    Mechanic,
    MinGap,
    PairedProducts,
    ProductClash,
    RuleSet,
)

Schedule = Mapping[int, str]
"""1-based week -> mechanic id, for one line."""
Line = tuple[str, str]
"""(account id, product group id)."""


@dataclass(frozen=True)
class Violation:
    rule: CalendarRule | None
    account: str
    groups: tuple[str, ...]
    weeks: tuple[int, ...]
    message: str


def binds(rule: CalendarRule, index: PlanIndex, account: str, group: str | None) -> bool:
    """Does the rule bind this account (and product group, when given)?"""
    position = index.account_position.get(account)
    if position is None or not index.account_mask(rule.applies_to)[position]:
        return False
    return group is None or rule.product_groups is None or group in rule.product_groups


def counted(mechanics: tuple[str, ...] | None, mechanic: str) -> bool:
    return mechanics is None or mechanic in mechanics


def deep_enough(mechanic: Mechanic, min_depth: float) -> bool:
    """Is the mechanic at least `min_depth` deep? With a float tolerance, so that 4-for-1 at 60% redemption is 45%
    deep although it computes to 0.44999999999999996 (deep_discount_window and feature_min_depth both ask this)."""
    return mechanic.effective_depth >= min_depth - 1e-12


def runs(weeks: Iterable[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive weeks as (first, last)."""
    out: list[tuple[int, int]] = []
    for week in sorted(weeks):
        if out and week == out[-1][1] + 1:
            out[-1] = (out[-1][0], week)
        else:
            out.append((week, week))
    return out


def periods(rule: EventCount, index: PlanIndex) -> list[tuple[str, range]]:
    weeks = index.calendar.weeks
    if rule.period == "year":
        return [("year", range(1, weeks + 1))]
    return [(f"Q{q}", index.calendar.quarter_weeks(q)) for q in range(1, len(index.calendar.quarters) + 1)]


def line_violations(rule: CalendarRule, schedule: Schedule, mechanics: Mapping[str, Mechanic], index: PlanIndex,
                    line: Line, complete: bool) -> list[Violation]:
    """What one schedule of one line breaks of one rule. `complete`: the schedule is the whole plan of the
    line (so minimum counts apply), not just its locked events."""
    account, group = line
    out: list[Violation] = []

    def broke(weeks: Iterable[int], message: str) -> None:
        out.append(Violation(rule, account, (group,), tuple(sorted(weeks)), message))

    if isinstance(rule, Blackout):
        hit = [w for w, m in schedule.items() if w in rule.weeks and counted(rule.mechanics, m)]
        if hit:
            broke(hit, f"promoted in blackout week(s) {hit}")
    elif isinstance(rule, MaxConsecutive):
        for first, last in runs(schedule):
            if last - first + 1 > rule.weeks:
                broke(range(first, last + 1), f"{last - first + 1} promoted weeks in a row (at most {rule.weeks})")
    elif isinstance(rule, MinGap):
        spans = runs(schedule)
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start - end - 1 < rule.weeks:
                broke((end, start), f"only {start - end - 1} unpromoted week(s) between runs ending week {end} "
                      f"and starting week {start} (at least {rule.weeks})")
    elif isinstance(rule, DeepDiscountWindow):
        deep = sorted(w for w, m in schedule.items() if m in mechanics and deep_enough(mechanics[m], rule.min_depth))
        for i, first in enumerate(deep):
            inside = [w for w in deep[i:] if w < first + rule.window_weeks]
            if len(inside) > rule.at_most:
                broke(inside, f"{len(inside)} events at least {rule.min_depth:.0%} deep within {rule.window_weeks} "
                      f"weeks (at most {rule.at_most})")
                break
    elif isinstance(rule, EventCount):
        for name, weeks in periods(rule, index):
            hit = [w for w, m in schedule.items() if w in weeks and counted(rule.mechanics, m)]
            if rule.max is not None and len(hit) > rule.max:
                broke(hit, f"{len(hit)} event weeks in {name} (at most {rule.max})")
            if complete and len(hit) < rule.min:
                broke(hit, f"{len(hit)} event weeks in {name} (at least {rule.min})")
    elif isinstance(rule, ForbiddenSequence):
        for w, m in schedule.items():
            if m not in rule.first:
                continue
            after = [v for v, n in schedule.items() if 0 < v - w <= rule.within_weeks and n in rule.then]
            if after:
                broke((w, after[0]), f"'{schedule[after[0]]}' in week {after[0]} follows '{m}' in week {w} "
                      f"(not within {rule.within_weeks} weeks)")
    elif isinstance(rule, FeatureMinDepth):
        shallow = [w for w, m in schedule.items() if m in mechanics and mechanics[m].is_featured_or_displayed
                   and not deep_enough(mechanics[m], rule.min_depth)]
        if shallow:
            broke(shallow, f"featured/displayed event shallower than {rule.min_depth:.0%}")
    return out


def least_weeks(rule: CalendarRule, complete: bool) -> int:
    """The fewest event weeks a line's schedule needs before `line_violations` can find anything of this rule (a
    count never exceeds the schedule's weeks, nor does a run or a window hold more; a gap or a sequence needs two
    weeks): exact, so `violations` skips every rule a short schedule cannot break. NEVER for the rules that are not
    line rules here."""
    if isinstance(rule, EventCount):
        if complete and rule.min > 0:
            return 0
        return NEVER if rule.max is None else rule.max + 1
    if isinstance(rule, (Blackout, FeatureMinDepth)):
        return 1
    if isinstance(rule, MaxConsecutive):
        return rule.weeks + 1
    if isinstance(rule, (MinGap, ForbiddenSequence)):
        return 2
    if isinstance(rule, DeepDiscountWindow):
        return rule.at_most + 1
    return NEVER


NEVER = 1 << 30
"""`least_weeks` of a rule no schedule breaks here."""


def terms_of(rule: CalendarRule) -> tuple[Any, ...]:
    """What `line_violations` reads of a rule: its kind and every field but its id and scope."""
    return (type(rule), *(getattr(rule, name) for name in type(rule).model_fields if name not in _SCOPE_FIELDS))


_SCOPE_FIELDS = frozenset({"id", "applies_to", "product_groups"})


def account_violations(rule: ProductClash | PairedProducts, schedules: Mapping[str, Schedule],
                       account: str) -> list[Violation]:
    """Rules across product groups of one account: clashes and pairs. `schedules`: group -> schedule."""
    groups = [g for g in rule.groups if g in schedules or isinstance(rule, PairedProducts)]
    weeks = sorted({w for g in groups for w in schedules.get(g, {})})
    out = []
    for week in weeks:
        promoted = [g for g in rule.groups if week in schedules.get(g, {})]
        if isinstance(rule, ProductClash) and len(promoted) > 1:
            out.append(Violation(rule, account, tuple(promoted), (week,), f"{' and '.join(promoted)} promoted in "
                                 f"the same week {week}"))
        if isinstance(rule, PairedProducts) and 0 < len(promoted) < len(rule.groups):
            missing = [g for g in rule.groups if g not in promoted]
            out.append(Violation(rule, account, tuple(rule.groups), (week,), f"{', '.join(promoted)} promoted in "
                                 f"week {week} without {', '.join(missing)}"))
    return out


def mechanic_allowed(mechanic: Mechanic, index: PlanIndex, account: str, products: Iterable[int], week: int) -> bool:
    """May this mechanic run at this account, for these products, in this 1-based week?"""
    position = index.account_position.get(account)
    if position is None or not index.account_mask(mechanic.applies_to)[position]:
        return False
    product_mask = index.product_mask(mechanic.applies_to)
    if not any(product_mask[p] for p in products):
        return False
    return bool(index.week_mask(mechanic.valid)[week - 1])


def violations(rules: RuleSet, index: PlanIndex, plan: Mapping[Line, Schedule], complete: bool) -> list[Violation]:
    """Everything a plan (line -> schedule) breaks of the rule set's calendar rules."""
    mechanics = rules.ids("mechanics")
    across = (ProductClash, PairedProducts)
    per_line = [r for r in rules.calendar_rules if not isinstance(r, across)]
    per_account = [r for r in rules.calendar_rules if isinstance(r, across)]
    accounts = len(index.accounts)
    line_matrix = np.array([index.account_mask(r.applies_to) for r in per_line], dtype=bool).reshape(len(per_line), accounts)
    needs = np.array([least_weeks(r, complete) for r in per_line], dtype=np.int64)
    terms = [terms_of(r) for r in per_line]
    out: list[Violation] = []
    for (account, group), schedule in plan.items():
        a = index.account_position.get(account)
        if a is None or (not schedule and not complete):
            continue
        by_terms: dict[tuple[Any, ...], list[Violation]] = {}  # rules with the same terms break alike on a line
        for k in np.flatnonzero(line_matrix[:, a] & (needs <= len(schedule))):
            rule = per_line[k]
            if rule.product_groups is not None and group not in rule.product_groups:
                continue
            found = by_terms.get(terms[k])
            if found is None:
                found = by_terms[terms[k]] = line_violations(rule, schedule, mechanics, index, (account, group),
                                                             complete)
                out.extend(found)
            else:
                out.extend(Violation(rule, v.account, v.groups, v.weeks, v.message) for v in found)
    if per_account:
        account_matrix = np.array([index.account_mask(r.applies_to) for r in per_account], dtype=bool)
        by_account: dict[str, dict[str, Schedule]] = {}
        for (account, group), schedule in plan.items():
            by_account.setdefault(account, {})[group] = schedule
        for account in sorted(by_account):
            a = index.account_position.get(account)
            if a is None:
                continue
            for k in np.flatnonzero(account_matrix[:, a]):
                out.extend(account_violations(per_account[k], by_account[account], account))
    return out
