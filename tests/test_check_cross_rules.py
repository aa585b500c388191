"""The cross-rule checks of issue 15 against brute force on small generated worlds (as test_check_properties.py
does for the older checks): total minimums against the maxima (PP411), two counting rules (PP427), events
double-booked (PP428) or outside their mechanic's scope (PP429), events against the calendar rules with locked and
planned events together and event-level depth (PP421), holidays and product groups (PP202, PP314), and event-level
depth and funding in the price-floor stack (PP320/PP321).

The references are written from the documented semantics (docs/checks.md, the module docstrings), one account,
line or week at a time, without the checker's arrays.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, note
from scipy.optimize import linprog
from strategies import count_pair_worlds, event_worlds, holiday_worlds, total_budget_worlds
from test_check_properties import (
    account_in,
    assert_loads_clean,
    breaks,
    breaks_across,
    effective_depth,
    mechanic_allowed_here,
    product_in,
    subject,
)

from planner.check import run_checks
from planner.check.budgets import check_total_minimums
from planner.check.counts import check_event_count_conflicts
from planner.check.events import check_double_booked, check_event_scope, check_events
from planner.check.identity import check_holiday_ids, check_matches_nothing
from planner.rules.load import load_rules
from planner.rules.schema import Budget, EventCount, RuleSet

BASE = Path(__file__).parent / "fixtures" / "base"

# ------------------------------------------------------------------------------------------------ budgets PP411


def _pairs(rules: RuleSet, budget: Budget) -> set[tuple[str, str]]:
    return {(a.id, p.id) for a in rules.accounts if account_in(budget.applies_to, a)
            for p in rules.products if product_in(budget.applies_to, p)}


def _quarters(rules: RuleSet, period: str) -> set[int]:
    assert rules.calendar is not None
    count = len(rules.calendar.quarters)
    return set(range(1, count + 1)) if period == "year" else {int(period[1])} & set(range(1, count + 1))


def most_spend(rules: RuleSet, minimum: Budget) -> float:
    """The most that can be spent over the minimum's accounts x products x quarters under every total maximum: a
    linear programme over the cells (account, product, quarter), solved exactly enough for multiples of 10,000."""
    cells = [(a, p, q) for a, p in sorted(_pairs(rules, minimum)) for q in sorted(_quarters(rules, minimum.period))]
    maxima = [b for b in rules.budgets if b.per == "total" and b.max is not None]
    rows = [[1.0 if (a, p) in _pairs(rules, b) and q in _quarters(rules, b.period) else 0.0 for a, p, q in cells]
            for b in maxima]
    if not cells or not rows:
        return float("inf")
    result = linprog(-np.ones(len(cells)), A_ub=np.array(rows), b_ub=np.array([b.max for b in maxima]),
                     bounds=(0, None), method="highs")
    return float("inf") if result.status == 3 else -float(result.fun)


@given(total_budget_worlds())
def test_total_minimum_reported_iff_the_containing_maxima_allow_less(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    findings = check_total_minimums(context)
    maxima = [b for b in rules.budgets if b.per == "total" and b.max is not None]
    for minimum in (b for b in rules.budgets if b.per == "total" and b.min):
        inside = _pairs(rules, minimum)
        containing = [b for b in maxima if b is not minimum and inside <= _pairs(rules, b)]
        bounds = [b.max or 0.0 for b in containing if _quarters(rules, minimum.period) <= _quarters(rules, b.period)]
        if minimum.period == "year":
            per_quarter = [[b.max or 0.0 for b in containing if b.period == f"Q{q}"] for q in _quarters(rules, "year")]
            if all(per_quarter):
                bounds.append(sum(min(caps) for caps in per_quarter))
        expected = bool(inside) and bool(bounds) and (minimum.min or 0.0) > min(bounds)
        mine = [f for f in findings if subject(f) == f"budgets.{minimum.id}"]
        note(f"{minimum.id}: min {minimum.min}, bounds {bounds}")
        assert len(mine) == int(expected)
        for item in mine:  # never a false alarm: no spend plan under all the maxima meets the minimum
            assert item.example["most_spend_allowed"] == min(bounds)
            assert most_spend(rules, minimum) < (minimum.min or 0.0) - 1e-6


# -------------------------------------------------------------------------------------------- event counts PP427

def _contradict(low: EventCount, high: EventCount, quarters: int) -> bool:
    """No counts per quarter of the events `low` counts (each also counted by `high`) meet both rules."""
    top = max(low.min, 1)
    for counts in itertools.product(range(top + 1), repeat=quarters):
        meets_low = sum(counts) >= low.min if low.period == "year" else min(counts) >= low.min
        meets_high = sum(counts) <= (high.max or 0) if high.period == "year" else max(counts) <= (high.max or 0)
        if meets_low and meets_high:
            return False
    return True


@given(count_pair_worlds())
def test_event_count_conflict_reported_iff_a_maximum_contradicts_a_minimum_on_a_shared_line(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    assert rules.calendar is not None
    findings = check_event_count_conflicts(context)
    counting = [r for r in rules.calendar_rules if isinstance(r, EventCount)]
    groups = [g.id for g in rules.product_groups]
    for low in (r for r in counting if r.min > 0):
        conflicting = []
        for high in (r for r in counting if r is not low and r.max is not None):
            superset = high.mechanics is None or (low.mechanics is not None and set(low.mechanics) <= set(high.mechanics))
            shared = any(account_in(low.applies_to, a) and account_in(high.applies_to, a) for a in rules.accounts) \
                and any((low.product_groups is None or g in low.product_groups)
                        and (high.product_groups is None or g in high.product_groups) for g in groups)
            if superset and shared and _contradict(low, high, len(rules.calendar.quarters)):
                conflicting.append(high.id)
        mine = [f for f in findings if subject(f) == f"calendar_rules.{low.id}"]
        assert len(mine) == (1 if conflicting else 0), (low.id, conflicting)
        for item in mine:
            assert item.example["maximum_rule"] == conflicting[0]
            account = next(a for a in rules.accounts if a.id == item.example["account"])
            assert account_in(low.applies_to, account)


# ---------------------------------------------------------------------------------------------- events PP428/429

@given(event_worlds())
def test_double_booked_and_out_of_scope_events_match_brute_force(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    claims: dict[tuple[str, str, int], list[Any]] = {}
    for event in rules.events:
        for week in event.weeks:
            claims.setdefault((event.account, event.product_group, week), []).append(event)
    booked = {(f.example["account"], f.example["product_group"], f.example["week"]): f
              for f in check_double_booked(context)}
    assert set(booked) == {key for key, events in claims.items() if len(events) > 1}
    for key, item in booked.items():
        assert (item.severity.value == "error") == (sum(e.locked for e in claims[key]) >= 2)
    outside = {f.example["event"]: f for f in check_event_scope(context)}
    mechanics, groups = rules.ids("mechanics"), rules.ids("product_groups")
    for event in rules.events:
        account = next(a for a in rules.accounts if a.id == event.account)
        allowed = all(mechanic_allowed_here(mechanics[event.mechanic], rules, account, groups[event.product_group], w)
                      for w in event.weeks)
        assert (event.id in outside) == (not allowed), event.id
        if event.id in outside:
            assert (outside[event.id].severity.value == "error") == event.locked


def _schedules(rules: RuleSet, locked_only: bool) -> dict[tuple[str, str], dict[int, Any]]:
    """line -> week -> the event running it (a later event wins a week, as in the simulator)."""
    out: dict[tuple[str, str], dict[int, Any]] = {}
    for event in rules.events:
        if event.locked or not locked_only:
            for week in event.weeks:
                out.setdefault((event.account, event.product_group), {})[week] = event
    return out


def _line_breaks(rule: Any, events: dict[int, Any], rules: RuleSet) -> bool:
    """`breaks` with each event's own depth where it sets one (for the two rules that read depth)."""
    mechanics = rules.ids("mechanics")
    depth = {w: effective_depth(mechanics[e.mechanic]) if e.depth is None else e.depth for w, e in events.items()}
    if rule.kind == "feature_min_depth":
        return any((mechanics[e.mechanic].feature or mechanics[e.mechanic].display
                    or mechanics[e.mechanic].kind in ("feature", "display")) and depth[w] < rule.min_depth - 1e-9
                   for w, e in events.items())
    if rule.kind == "deep_discount_window":
        assert rules.calendar is not None
        deep = [w for w in events if depth[w] >= rule.min_depth - 1e-9]
        return any(sum(1 for w in deep if start <= w < start + rule.window_weeks) > rule.at_most
                   for start in range(1 - rule.window_weeks, rules.calendar.weeks + 1))
    return breaks(rule, {w: e.mechanic for w, e in events.items()}, rules, complete=False)


def _broken(rules: RuleSet, locked_only: bool) -> set[tuple[str, str]]:
    """(rule id, account) of every rule the events break."""
    assert rules.calendar is not None
    plan = _schedules(rules, locked_only)
    out = set()
    for rule in rules.calendar_rules:
        for account in rules.accounts:
            if not account_in(rule.applies_to, account):
                continue
            if rule.kind in ("product_clash", "paired_products"):
                schedules = {g: {w: e.mechanic for w, e in s.items()} for (a, g), s in plan.items() if a == account.id}
                if schedules and breaks_across(rule, schedules, rules.calendar.weeks):
                    out.add((rule.id, account.id))
                continue
            for (a, group), events in plan.items():
                if a == account.id and (rule.product_groups is None or group in rule.product_groups) \
                        and _line_breaks(rule, events, rules):
                    out.add((rule.id, account.id))
    return out


@given(event_worlds())
def test_events_break_rules_iff_brute_force_says_so_locked_and_planned_together(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    findings = check_events(context)
    errors = {(f.example["rule"], f.example["account"]) for f in findings if f.severity.value == "error"}
    reported = {(f.example["rule"], f.example["account"]) for f in findings}
    locked, everything = _broken(rules, True), _broken(rules, False)
    note(f"locked {locked}, all {everything}, reported {reported}")
    assert locked <= errors  # the locked events alone: an error
    assert everything <= reported  # locked and planned together: reported (a warning when a planned one is involved)
    assert reported <= locked | everything  # no false alarm
    for item in findings:
        if item.severity.value == "warning":
            assert item.example.get("planned") or "planned event" in item.message


# ------------------------------------------------------------------------------------------ holidays and groups

@given(holiday_worlds())
def test_holiday_ids_and_scopes_that_match_nothing_match_brute_force(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    assert rules.calendar is not None
    holidays = rules.calendar.holidays
    duplicates = [f.example["id"] for f in check_holiday_ids(context)]
    assert sorted(duplicates) == sorted(h.id for k, h in enumerate(holidays) if h.id in {g.id for g in holidays[:k]})
    empty = {f.example.get("holiday") or f.example.get("product_group") for f in check_matches_nothing(context)}
    expected = {h.id for h in holidays if not any(account_in(h.applies_to, a) for a in rules.accounts)
                or not any(product_in(h.applies_to, p) for p in rules.products)}
    expected |= {g.id for g in rules.product_groups if not any(product_in(g.products, p) for p in rules.products)}
    assert empty == expected
    assert all(f.code != "PP999" for f in run_checks(rules))


# ------------------------------------------------------------------------------------- event overrides in floors

def test_an_event_deeper_than_its_mechanic_joins_the_worst_case_stack(tmp_path: Path) -> None:
    """tpr-20 (20%, 70% funded) keeps the base above its floors; one event negotiated to 80% deep and fully funded
    pushes dead-net below COGS on its own cells, and the example names the event."""
    (tmp_path / "event.yaml").write_text(
        "events:\n  - {id: deep-deal, account: conv-b, product_group: water, mechanic: tpr-20, weeks: [30],"
        " depth: 80%, funding: 100%}\n", encoding="utf-8")
    loaded = load_rules([BASE, tmp_path / "event.yaml"])
    assert not loaded.findings
    found = [f for f in run_checks(loaded.rules) if f.code in ("PP320", "PP321")]
    assert found and all(f.example["event"] == "deep-deal" and f.example["week"] == 30 for f in found)
    assert all(f.example["account"] == "conv-b" and f.example["product"] == "aqua-pet" for f in found)
    assert any(r.path.startswith("events") for f in found for r in f.related)
    without = load_rules([BASE]).rules
    assert not [f for f in run_checks(without) if f.code in ("PP320", "PP321")]
