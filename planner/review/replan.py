"""The re-plan: the scenario with the past made fixed, handed to the existing optimizer unchanged.

`planner optimize SCENARIO --from-actuals --through WEEK` optimizes the remaining weeks only. Nothing in the
optimizer knows about actuals: this module rewrites the rules so that the optimizer's own model of the whole year
holds the past as it happened, and everything it may still decide lies after week WEEK.

    the past as run     every executed promotion (to WEEK) becomes a locked event at its depth as run; one the plan
                        continues past WEEK stays one locked event, its planned weeks after WEEK kept (it is running);
                        a planned event that never ran is dropped from the past (its weeks after WEEK stay planned)
    past weeks fixed    a blackout of weeks 1..WEEK on every account x product group, except the weeks a locked
                        event of that line runs in: no other promotion can be placed in the past
    budget spent        each budget's max (and min) moves by what the actuals spent in its period to date minus
                        what the model books for the locked past: max' = max - (actual - model). The model's
                        whole-year spend within max' is then actual past spend + future spend within max.
                        A per-account budget becomes one budget per account whose spend differs.
    rebates accrued     each rebate's tiers move, per account and settlement period touching the past, by what the
                        actuals did beyond the model in the period's weeks to date (cases, revenue, or growth
                        points = cases / last year's period): from' = from - (actual - model). A tier is reached in
                        the model exactly when actual past + planned future reaches it. A quarterly rebate becomes a
                        copy per account for each quarter touched (valid in that quarter) and one for the rest.
                        Volume and revenue thresholds stop at 0 (the measure cannot be negative). The amount paid
                        is still the tier's rate on the model's revenue: the tier is exact, the money an estimate.
    calendar rules      count the events already run, because those are in the calendar (locked).

Through week 0 nothing changes: the re-plan is a fresh optimize of the scenario.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from planner.actuals.model import Actuals, ExecutedPromotion, on_grid
from planner.compile.model import Compiled, compile_rules
from planner.economics.core import evaluate
from planner.review.basis import claimed
from planner.review.policy import period_slice
from planner.rules.schema import Blackout, Budget, Calendar, DateRange, Event, Rebate, RuleSet
from planner.simulate import promotions_for

MOVED = 1e-6
"""A budget or tier that moves by less than this (money, cases, growth points) is left as written."""


@dataclass
class Replan:
    rules: RuleSet
    """The scenario's rules with the past fixed: what the optimizer is given."""
    through: int
    locked: list[Event] = field(default_factory=list)
    """The past as run, locked."""
    log: list[str] = field(default_factory=list)
    """Every change made, in words (printed by planner optimize --from-actuals)."""


def past_as_run(plan_events: list[Event], executed: list[ExecutedPromotion], through: int) -> tuple[list[Event],
                                                                                                     list[Event]]:
    """(locked events of the past, the plan's events that remain open after `through`)."""
    planned = {event.id: event for event in plan_events}
    ran = {promotion.event for promotion in executed}
    locked = []
    for promotion in executed:
        event = promotion.as_event(locked=True)
        plan = planned.get(promotion.event)
        if plan is not None and (plan.account, plan.product_group, plan.mechanic) == \
                (promotion.account, promotion.product_group, promotion.mechanic) and max(plan.weeks) > through:
            event = event.model_copy(update={"weeks": (*event.weeks, *(w for w in plan.weeks if w > through))})
        locked.append(event)
    future = []
    for event in plan_events:
        if event.id in ran:
            continue
        if min(event.weeks) > through:
            future.append(event)
        elif max(event.weeks) > through:  # it should have started: its weeks still ahead stay as planned
            future.append(event.model_copy(update={"weeks": tuple(w for w in event.weeks if w > through)}))
    return locked, future


def replan_rules(rules: RuleSet, plan_events: list[Event], actuals: Actuals, through: int) -> Replan:
    """The rules the optimizer re-plans the weeks after `through` with (module docstring)."""
    if through <= 0:
        return Replan(rules, 0, [], ["through week 0: nothing has happened, the scenario is optimized as it is"])
    calendar = rules.calendar
    if calendar is None:
        raise ValueError("the rules have no calendar")
    through = min(through, calendar.weeks)
    executed = list(actuals.through(through).promotions)
    locked, future = past_as_run(plan_events, executed, through)
    result = Replan(rules, through, locked)
    result.log.append(f"{len(locked)} promotion(s) as run to week {through} locked; {len(future)} planned event(s) "
                      "after it kept open")
    with_past = rules.replace(events=tuple(locked + future))
    compiled = compile_rules(with_past)
    past_only = [e.model_copy(update={"weeks": tuple(w for w in e.weeks if w <= through)}) for e in locked]
    model = evaluate(compiled, promotions_for(with_past, compiled, past_only))
    cells = on_grid(actuals, compiled.index, through)
    funding, fixed = claimed(with_past, compiled, executed, cells)
    actual_spend = funding + fixed + compiled.fees.vividness * (np.arange(calendar.weeks) < through)
    budgets = _budgets(with_past, compiled, model.budget_spend, actual_spend, through, result.log)
    rebates = _rebates(with_past, compiled, model.volume, model.revenue, cells.cases, cells.invoice_value, through,
                       result.log)
    blackouts = _blackouts(with_past, locked, through)
    result.log.append(f"{len(blackouts)} blackout rule(s) keep weeks 1-{through} as they ran")
    result.rules = with_past.replace(budgets=budgets, rebates=rebates,
                                     calendar_rules=(*with_past.calendar_rules, *blackouts))
    return result


def _blackouts(rules: RuleSet, locked: list[Event], through: int) -> tuple[Blackout, ...]:
    """Per account: one blackout of weeks 1..through for its product groups no locked event runs on in the past,
    and one per line that has such an event, leaving that event's weeks out."""
    busy: dict[tuple[str, str], set[int]] = {}
    for event in locked:
        busy.setdefault((event.account, event.product_group), set()).update(w for w in event.weeks if w <= through)
    groups = [group.id for group in rules.product_groups]
    out = []
    for account in rules.accounts:
        free = [g for g in groups if not busy.get((account.id, g))]
        if free:
            out.append(Blackout(id=f"past-{account.id}", kind="blackout", applies_to={"account": account.id},
                                product_groups=tuple(free), weeks=tuple(range(1, through + 1))))
        for g in groups:
            weeks = tuple(w for w in range(1, through + 1) if w not in busy.get((account.id, g), {w}))
            if busy.get((account.id, g)) and weeks:
                out.append(Blackout(id=f"past-{account.id}-{g}", kind="blackout", applies_to={"account": account.id},
                                    product_groups=(g,), weeks=weeks))
    return tuple(out)


def _budgets(rules: RuleSet, compiled: Compiled, model: np.ndarray, actual: np.ndarray, through: int,
             log: list[str]) -> tuple[Budget, ...]:
    index = compiled.index
    out: list[Budget] = []
    for budget in rules.budgets:
        period = period_slice(index.calendar, budget.period)
        past = slice(period.start, max(period.start, min(period.stop, through)))
        products = index.product_mask(budget.applies_to)
        accounts = np.flatnonzero(index.account_mask(budget.applies_to))
        difference = (actual[:, products, past].sum(axis=(1, 2)) - model[:, products, past].sum(axis=(1, 2)))
        if budget.per == "total":
            moved = float(difference[accounts].sum())
            out.append(_moved(budget, moved, budget.id, log, "total"))
            continue
        for a in accounts:
            if abs(difference[a]) <= MOVED:
                continue
            account = index.accounts[a].id
            copy = budget.model_copy(update={"id": f"{budget.id}--{account}",
                                             "applies_to": budget.applies_to.model_copy(update={"account": (account,)})})
            out.append(_moved(copy, float(difference[a]), budget.id, log, account))
        moved_accounts = tuple(index.accounts[a].id for a in accounts if abs(difference[a]) > MOVED)
        if len(moved_accounts) < len(accounts):
            rest = [index.accounts[a].id for a in accounts if abs(difference[a]) <= MOVED]
            out.append(budget.model_copy(update={"applies_to": budget.applies_to.model_copy(
                update={"account": tuple(rest)})}))
    return tuple(out)


def _moved(budget: Budget, moved: float, original: str, log: list[str], scope: str) -> Budget:
    if abs(moved) <= MOVED:
        return budget
    update = {key: max(0.0, value - moved) for key, value in (("max", budget.max), ("min", budget.min))
              if value is not None}
    log.append(f"budget {original} ({scope} {budget.period}): the actuals spent {moved:+,.0f} against the model's "
               f"booking of the past; " + ", ".join(f"{k} {getattr(budget, k):,.0f} -> {v:,.0f}"
                                                    for k, v in update.items()))
    return budget.model_copy(update=update)


def _dates(calendar: Calendar, weeks: slice) -> DateRange:
    first = calendar.start + dt.timedelta(weeks=weeks.start)
    last = calendar.start + dt.timedelta(weeks=weeks.stop) - dt.timedelta(days=1)
    return DateRange.model_validate({"from": first, "to": last})


def _rebates(rules: RuleSet, compiled: Compiled, model_volume: np.ndarray, model_revenue: np.ndarray,
             actual_volume: np.ndarray, actual_revenue: np.ndarray, through: int, log: list[str]) -> tuple[Rebate, ...]:
    index, calendar = compiled.index, compiled.index.calendar
    out: list[Rebate] = []
    for item in compiled.rebates:
        rebate = item.rebate
        weight = item.products.astype(float)
        moved_accounts: list[str] = []
        for k, a in enumerate(item.accounts.tolist()):
            copies = []
            for period in item.periods:
                start, stop = max(period.start, item.weeks.start), min(period.stop, item.weeks.stop)
                past = slice(start, max(start, min(stop, through)))
                if past.stop <= past.start:
                    continue
                if rebate.basis == "revenue":
                    shift = float((actual_revenue[a, :, past].sum(axis=1) - model_revenue[a, :, past].sum(axis=1))
                                  @ weight)
                else:
                    shift = float((actual_volume[a, :, past].sum(axis=1) - model_volume[a, :, past].sum(axis=1))
                                  @ weight)
                    if rebate.basis == "growth":
                        shift = shift / float(item.last_year[k]) if item.last_year[k] > 0 else 0.0
                if abs(shift) > MOVED:
                    copies.append((slice(start, stop), shift))
            if not copies:
                continue
            account = index.accounts[a].id
            moved_accounts.append(account)
            scope = rebate.applies_to.model_copy(update={"account": (account,)})
            if rebate.period == "year":
                out.append(_shifted(rebate, f"{rebate.id}--{account}", scope, copies[0][1], None, rebate.basis))
            else:  # one copy per quarter, each valid in its own weeks: the shifted ones and the others as written
                shifts = {s.start: shift for s, shift in copies}
                for period in item.periods:
                    weeks = slice(max(period.start, item.weeks.start), min(period.stop, item.weeks.stop))
                    if weeks.stop <= weeks.start:
                        continue
                    number = calendar.quarter_of(weeks.start + 1)
                    out.append(_shifted(rebate, f"{rebate.id}--{account}--q{number}", scope,
                                        shifts.get(weeks.start, 0.0), _dates(calendar, weeks), rebate.basis))
            log.append(f"rebate {rebate.id} at {account}: actual - model to date "
                       + ", ".join(f"{shift:+,.4g}" for _, shift in copies)
                       + f" ({rebate.basis}); its tiers move by the opposite")
        if not moved_accounts:
            out.append(rebate)
        elif len(moved_accounts) < len(item.accounts):
            rest_accounts = tuple(index.accounts[a].id for a in item.accounts.tolist()
                                  if index.accounts[a].id not in moved_accounts)
            out.append(rebate.model_copy(update={"applies_to": rebate.applies_to.model_copy(
                update={"account": rest_accounts})}))
    return tuple(out)


def _shifted(rebate: Rebate, rebate_id: str, scope: object, shift: float, valid: DateRange | None,
             basis: str) -> Rebate:
    floor = 0.0 if basis in ("volume", "revenue") else -np.inf
    tiers = tuple(tier.model_copy(update={"from_": max(floor, tier.from_ - shift),
                                          "to": None if tier.to is None else max(floor, tier.to - shift)})
                  for tier in rebate.tiers)
    update: dict[str, object] = {"id": rebate_id, "applies_to": scope, "tiers": tiers}
    if valid is not None:
        update["valid"] = valid
    return rebate.model_copy(update=update)
