"""Events against the calendar rules, against each other and against their mechanic's scope.

* PP421: every calendar rule on the locked events alone (error: neither can move), then on locked and planned
  events together (warning: a planned event is involved, the optimizer may move it, but the plan as written breaks
  the rule). A violation only the planned events complete is reported, naming both kinds.
* Event-level overrides: an event's `depth` replaces its mechanic's effective depth for that event, so the rules
  that read depth (`feature_min_depth`, `deep_discount_window`) see the event's depth, not the mechanic's
  (the price-floor stack reads the event's `depth` and `funding` too: planner/check/floors.py).
* PP428: two events on one account x product group in one week (two locked: error; otherwise a warning). Only one
  promotion can run on a line in a week; the simulator keeps the later one.
* PP429: an event whose mechanic may not run there: the mechanic's scope excludes the account (its channel, tier,
  region ...), every product of the group, or the week (its dates). Locked: error; planned: warning.

The calendar rules' meaning stays in one place (planner/compile/calendar.py: `violations`, `line_violations`,
`mechanic_allowed`); this module only decides which events go in and how a violation is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.check.context import CheckContext, related
from planner.compile.calendar import Violation, binds, line_violations, violations
from planner.rules.findings import (
    EVENT_OUT_OF_SCOPE,
    EVENTS_DOUBLE_BOOKED,
    LOCKED_EVENT_BREAKS_RULE,
    Finding,
    Severity,
    finding,
)
from planner.rules.schema import DeepDiscountWindow, Event, FeatureMinDepth, Mechanic

DEPTH_RULES = (FeatureMinDepth, DeepDiscountWindow)


class EventMechanic(Mechanic):
    """A mechanic as one event runs it: the event's `depth` replaces the effective depth."""

    override_depth: float | None = None

    @property
    def effective_depth(self) -> float:
        return super().effective_depth if self.override_depth is None else self.override_depth


def plan_of(events: tuple[Event, ...] | list[Event], locked_only: bool) -> dict[tuple[str, str], dict[int, str]]:
    """(account, product group) -> week -> mechanic id (a later event wins a week, as in the simulator)."""
    plan: dict[tuple[str, str], dict[int, str]] = {}
    for event in events:
        if locked_only and not event.locked:
            continue
        for week in event.weeks:
            plan.setdefault((event.account, event.product_group), {})[week] = event.mechanic
    return plan


def _with_overrides(context: CheckContext, events: list[Event],
                    plan: dict[tuple[str, str], dict[int, str]]) -> list[Violation]:
    """`violations` of the plan, with the depth rules re-run on lines where an event overrides its depth: there the
    schedule names a per-event mechanic whose effective depth is the event's."""
    rules, index = context.rules, context.index
    found = violations(rules, index, plan, complete=False)
    overridden = [e for e in events if e.depth is not None]
    if not overridden:
        return found
    mechanics: dict[str, Mechanic] = dict(rules.ids("mechanics"))
    schedules: dict[tuple[str, str], dict[int, str]] = {}
    for event in events:
        for week in event.weeks:
            name = event.mechanic
            if event.depth is not None and event.mechanic in mechanics:
                name = f"{event.mechanic}@{event.id}"
                mechanics[name] = EventMechanic.model_construct(
                    **dict(rules.ids("mechanics")[event.mechanic]), override_depth=event.depth)
            schedules.setdefault((event.account, event.product_group), {})[week] = name
    lines = {(e.account, e.product_group) for e in overridden}
    kept = [v for v in found if not (isinstance(v.rule, DEPTH_RULES) and (v.account, v.groups[0]) in lines)]
    for line in sorted(lines):
        for rule in rules.calendar_rules:
            if isinstance(rule, DEPTH_RULES) and binds(rule, index, line[0], line[1]):
                kept.extend(line_violations(rule, schedules[line], mechanics, index, line, complete=False))
    return kept


def check_events(context: CheckContext) -> list[Finding]:
    """PP421, locked events first (error), then locked and planned together (module docstring)."""
    rules = context.rules
    findings = []
    seen = set()
    for locked_only in (True, False):
        events = [e for e in rules.events if e.locked or not locked_only]
        events_at = {(e.account, e.product_group, w): e for e in events for w in e.weeks}
        for broken in _with_overrides(context, events, plan_of(events, locked_only)):
            involved = [events_at[(broken.account, g, w)] for g in broken.groups for w in broken.weeks
                        if (broken.account, g, w) in events_at]
            key = (broken.rule.id if broken.rule else "", broken.account, broken.groups, broken.weeks)
            if key in seen or not involved:
                continue
            seen.add(key)
            findings.append(_broken_rule(broken, involved))
    return findings


def _broken_rule(broken: Violation, involved: list[Event]) -> Finding:
    locked = sorted({e.id for e in involved if e.locked})
    planned = sorted({e.id for e in involved if not e.locked})
    names = " and ".join(f"{kind} event(s) {', '.join(ids)}" for kind, ids in (("locked", locked), ("planned", planned))
                         if ids)
    rule_id = broken.rule.id if broken.rule else "?"
    example: dict[str, Any] = {"account": broken.account, "product_groups": list(broken.groups),
                               "weeks": list(broken.weeks), "rule": rule_id}
    if locked and planned:
        example.update(locked=locked, planned=planned)
    fix = (f"move the planned event(s) {', '.join(planned)}, or change the rule" if locked and planned
           else "move or unlock the event, or change the rule")
    return finding(
        LOCKED_EVENT_BREAKS_RULE, f"{names} at {broken.account} break calendar rule '{rule_id}': {broken.message}",
        involved[0].location,
        related=related([e.location for e in involved[1:]] + ([broken.rule.location] if broken.rule else []), example),
        example=example, fix=fix, severity=Severity.WARNING if planned else Severity.ERROR)


def check_double_booked(context: CheckContext) -> list[Finding]:
    """PP428: one finding per account x product group x week that more than one event claims."""
    claims: dict[tuple[str, str, int], list[Event]] = {}
    for event in context.rules.events:
        for week in sorted(set(event.weeks)):
            claims.setdefault((event.account, event.product_group, week), []).append(event)
    findings = []
    for (account, group, week), events in claims.items():
        if len(events) < 2:
            continue
        both_locked = sum(e.locked for e in events) >= 2
        example: dict[str, Any] = {"account": account, "product_group": group, "week": week,
                                   "events": [e.id for e in events[:2]], "locked": [e.id for e in events if e.locked]}
        if len(events) > 2:
            example["more_events"] = len(events) - 2
        findings.append(finding(
            EVENTS_DOUBLE_BOOKED,
            f"{len(events)} events on {account} x {group} in week {week}: '{events[0].id}' ({events[0].mechanic}) and "
            f"'{events[1].id}' ({events[1].mechanic}){' and more' if len(events) > 2 else ''}; only one promotion "
            f"runs on a line in a week (the later one wins in the simulator)",
            events[1].location, related=related([events[0].location] + [e.location for e in events[2:]], example),
            example=example, fix="drop or move one of them, or merge them into one event",
            severity=Severity.ERROR if both_locked else Severity.WARNING))
    return findings


def check_event_scope(context: CheckContext) -> list[Finding]:
    """PP429: the mechanic's scope and dates must allow the event's account, some product of its group, and every
    week (the same test the optimizer uses to offer a mechanic: `mechanic_allowed`)."""
    index, rules = context.index, context.rules
    mechanics: Mapping[str, Mechanic] = rules.ids("mechanics")
    groups = rules.ids("product_groups")
    findings = []
    for event in rules.events:
        mechanic, group = mechanics.get(event.mechanic), groups.get(event.product_group)
        a = index.account_position.get(event.account)
        if mechanic is None or group is None or a is None:
            continue
        products = index.product_mask(group.products)
        reason = None
        if not index.account_mask(mechanic.applies_to)[a]:
            reason = f"its scope excludes account {event.account} ({_describe(index.accounts[a])})"
        elif not (index.product_mask(mechanic.applies_to) & products).any():
            reason = f"its scope covers no product of group '{event.product_group}'"
        else:
            outside = [w for w in event.weeks if w <= len(index.week_mask(mechanic.valid))
                       and not index.week_mask(mechanic.valid)[w - 1]]
            if outside:
                reason = f"its dates exclude week(s) {outside}"
        if reason is None:
            continue
        findings.append(finding(
            EVENT_OUT_OF_SCOPE,
            f"{'locked' if event.locked else 'planned'} event '{event.id}' runs mechanic '{mechanic.id}' where it "
            f"is not allowed: {reason}", event.field_location("mechanic"), related=[mechanic.location],
            example={"event": event.id, "account": event.account, "product_group": event.product_group,
                     "mechanic": mechanic.id, "weeks": list(event.weeks), "reason": reason},
            fix=f"use a mechanic allowed at {event.account}, or widen the scope or dates of '{mechanic.id}'",
            severity=Severity.ERROR if event.locked else Severity.WARNING))
    return findings


def _describe(account: Any) -> str:
    return ", ".join(f"{key} {getattr(account, key)}" for key in ("channel", "tier", "region")
                     if getattr(account, key, None) is not None)

