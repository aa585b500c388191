"""Policy on actuals, with the headroom left for the rest of the year.

For every budget (each account of a per-account budget), margin floor and trade-spend cap the scenario's rules
hold, as the simulator checks them on a plan (planner.simulate), but on three figures:

    to date     the actuals of the weeks so far (the period's weeks up to `through`)
    projected   the latest estimate over the rule's whole period (actuals to date + the forecast of the rest)
    headroom    budgets: max - projected spend (money still free; negative = over), min: projected - min;
                margin floors: projected margin - floor; trade-spend caps: cap - projected share

`ok` judges the projected figure, the one finance can still act on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.review.basis import Basis
from planner.review.ledger import Ledger
from planner.rules.schema import Calendar


@dataclass(frozen=True)
class PolicyHeadroom:
    rule: str
    kind: str
    """budget_max, budget_min, margin_floor, trade_spend_cap."""
    scope: str
    limit: float
    to_date: float
    projected: float
    headroom: float
    ok: bool


def period_slice(calendar: Calendar, period: str) -> slice:
    """0-based weeks of a budget period ('year' or 'Q1'..'Q4'; a quarter the calendar lacks has none)."""
    if period == "year":
        return slice(0, calendar.weeks)
    quarter = int(period[1])
    if quarter > len(calendar.quarters):
        return slice(0, 0)
    weeks = calendar.quarter_weeks(quarter)
    return slice(weeks.start - 1, weeks.stop - 1)


def policy_headroom(basis: Basis) -> list[PolicyHeadroom]:
    return _budgets(basis) + _floors(basis)


def _budgets(basis: Basis) -> list[PolicyHeadroom]:
    index, out = basis.compiled.index, []
    for budget in basis.rules.budgets:
        period = period_slice(index.calendar, budget.period)
        past = slice(period.start, max(period.start, min(period.stop, basis.through)))
        accounts = np.flatnonzero(index.account_mask(budget.applies_to))
        groups = [(index.accounts[a].id, accounts[accounts == a]) for a in accounts] if budget.per == "account" \
            else [("total", accounts)]
        for scope, members in groups:
            to_date = float(basis.actual.budgets[budget.id][members, past].sum())
            projected = float(basis.latest.budgets[budget.id][members, period].sum())
            name = f"{scope} {budget.period}"
            if budget.max is not None:
                out.append(PolicyHeadroom(budget.id, "budget_max", name, budget.max, to_date, projected,
                                          budget.max - projected, projected <= budget.max + 1e-6))
            if budget.min is not None:
                out.append(PolicyHeadroom(budget.id, "budget_min", name, budget.min, to_date, projected,
                                          projected - budget.min, projected >= budget.min - 1e-6))
    return out


def _ratio(ledger: Ledger, members: np.ndarray, weeks: slice, top: str, bottom: str) -> float:
    numerator = float(ledger.line(top)[members, weeks].sum())
    denominator = float(ledger.line(bottom)[members, weeks].sum())
    return numerator / denominator if denominator else 0.0


def _floors(basis: Basis) -> list[PolicyHeadroom]:
    index, out = basis.compiled.index, []
    channel = np.array([a.channel for a in index.accounts])
    past, year = slice(0, basis.through), slice(0, basis.weeks)
    for floor in list(basis.rules.margin_floors) + list(basis.rules.trade_spend_caps):
        accounts = index.account_mask(floor.applies_to)
        if floor.per == "account":
            groups = [(index.accounts[a].id, np.array([a])) for a in np.flatnonzero(accounts)]
        elif floor.per == "channel":
            groups = [(c, np.flatnonzero(accounts & (channel == c))) for c in sorted(set(channel[accounts]))]
        else:
            groups = [("total", np.flatnonzero(accounts))]
        for scope, members in groups:
            if hasattr(floor, "min_gross_margin"):
                limit = float(floor.min_gross_margin)
                to_date = _ratio(basis.actual, members, past, "gross_profit", "net_sales")
                projected = _ratio(basis.latest, members, year, "gross_profit", "net_sales")
                out.append(PolicyHeadroom(floor.id, "margin_floor", scope, limit, to_date, projected,
                                          projected - limit, projected >= limit - 1e-9))
            else:
                limit = float(floor.max_share)
                to_date = _ratio(basis.actual, members, past, "trade_spend", "gross_sales")
                projected = _ratio(basis.latest, members, year, "trade_spend", "gross_sales")
                out.append(PolicyHeadroom(floor.id, "trade_spend_cap", scope, limit, to_date, projected,
                                          limit - projected, projected <= limit + 1e-9))
    return out
