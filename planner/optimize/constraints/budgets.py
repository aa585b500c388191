"""Promotion budgets: total, per quarter, per fund pool (a product scope), per account (min and max).

    base_spend_b + sum_c spend_c,b y_c  <=  max_b     (and >= min_b)

spend_c,b is column c's change of budget spend on the cells of budget b's scope and period, measured by the
economics core: an option's (or variant's) consumer funding and event fixed cost, a vividness package's fees;
base_spend_b is the no-promotion plan's spend with no investment bought (vividness kept as written). With
`per: account` there is one row per account in scope. The dual of the total budget's row is the marginal profit
of one more unit of budget (solve.py).
"""

from __future__ import annotations

import numpy as np

from planner.optimize.constraints._scoped import ScopedSums
from planner.optimize.model import Model, RowLabel
from planner.rules.schema import Budget


def period_weeks(model: Model, budget: Budget) -> np.ndarray:
    """The budget's weeks; a quarter the calendar does not have (Q4 of a two-quarter year) has none, as in the
    simulator."""
    calendar = model.compiled.index.calendar
    weeks = np.zeros(calendar.weeks, dtype=bool)
    if budget.period == "year":
        weeks[:] = True
    elif int(budget.period[1]) <= len(calendar.quarters):
        span = calendar.quarter_weeks(int(budget.period[1]))
        weeks[span.start - 1 : span.stop - 1] = True
    return weeks


def add(model: Model) -> None:
    index, options = model.compiled.index, model.options
    scopes = [(budget, index.product_mask(budget.applies_to), period_weeks(model, budget))
              for budget in model.rules.budgets]
    scoped = ScopedSums(options, (("budget_spend", products, weeks) for _, products, weeks in scopes))
    for budget, products, weeks in scopes:
        accounts = index.account_mask(budget.applies_to)
        spend = scoped("budget_spend", products, weeks)
        base = scoped.base("budget_spend", products, weeks)
        groups = ([(index.accounts[a].id, accounts & (np.arange(len(accounts)) == a)) for a in np.flatnonzero(accounts)]
                  if budget.per == "account" else [("", accounts)])
        for account, members in groups:
            chosen = model.columns_in(members)
            chosen = chosen[spend[chosen] != 0]
            expression = model.linear(chosen, spend[chosen], float(base[members].sum()))
            label = RowLabel("budget", budget.id, account, budget.period)
            model.row(label, expression, lower=budget.min, upper=budget.max)
            if budget.per == "total" and budget.max is not None and not budget.applies_to.specificity \
                    and budget.period == "year":
                model.budget_rows.append(len(model.labels) - 1)
