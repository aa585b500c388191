"""The listed product groups are promoted together at one account: one promoted means all promoted that week.

    promoted_a,g,t  =  promoted_a,g0,t        for every account a the rule binds, week t and group g in G after
                                              the first, g0

Symbols:

    promoted_a,g,t  sum of x_o over the options of line (a, g) in week t, any mechanic (constraints/_calendar);
                    0 when the account does not sell g or no mechanic may run there
    G               the distinct groups of the rule's `groups`

So a group the account cannot promote in week t keeps every group of the pair unpromoted that week, as
compile.calendar.account_violations reads it (a group without a schedule is never promoted). The rule binds by
account scope only; its `product_groups` key plays no part. Weeks where no group has an option get no row.
"""

from __future__ import annotations

from planner.optimize.constraints._calendar import promoted
from planner.optimize.constraints.product_clash import account_lines
from planner.optimize.model import Model, RowLabel
from planner.rules.schema import PairedProducts


def add(model: Model) -> None:
    weeks = model.compiled.index.calendar.weeks
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, PairedProducts):
            continue
        groups = list(dict.fromkeys(rule.groups))
        if len(groups) < 2:
            continue
        for account, by_group in account_lines(model, rule).items():
            account_id = model.compiled.index.accounts[account].id
            for t in range(weeks):
                terms = [promoted(model, by_group[g], t) if g in by_group else [] for g in groups]
                if not any(terms):
                    continue
                for group, chosen in zip(groups[1:], terms[1:]):
                    if not chosen and not terms[0]:
                        continue
                    coefficients = [1.0] * len(chosen) + [-1.0] * len(terms[0])
                    label = RowLabel("paired_products", rule.id, account_id, f"{group} with {groups[0]} week {t + 1}")
                    model.row(label, model.linear(chosen + terms[0], coefficients), lower=0.0, upper=0.0)
