"""The listed product groups may not be promoted in the same week at one account.

    sum_{g in G} promoted_a,g,t  <=  1        for every account a the rule binds and every week t

Symbols:

    promoted_a,g,t  sum of x_o over the options of line (a, g) in week t, any mechanic (constraints/_calendar);
                    0 when the account does not sell g or no mechanic may run there
    G               the rule's `groups`: two or more different groups (the schema refuses a group listed twice)

The rule binds by account scope only: its `product_groups` key plays no part (compile.calendar.account_violations
reads `groups`). Weeks where fewer than two terms have options get no row.
"""

from __future__ import annotations

from planner.compile.calendar import binds
from planner.optimize.constraints._calendar import Line, lines, promoted
from planner.optimize.model import Model, RowLabel
from planner.rules.schema import PairedProducts, ProductClash


def account_lines(model: Model, rule: ProductClash | PairedProducts) -> dict[int, dict[str, Line]]:
    """Account position -> group -> line, for the accounts the rule binds (by account scope only)."""
    index = model.compiled.index
    out: dict[int, dict[str, Line]] = {}
    for line in lines(model):
        if binds(rule, index, line.account_id, None):
            out.setdefault(line.account, {})[line.group] = line
    return out


def add(model: Model) -> None:
    weeks = model.compiled.index.calendar.weeks
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, ProductClash):
            continue
        for account, by_group in account_lines(model, rule).items():
            for t in range(weeks):
                terms = [promoted(model, by_group[g], t) if g in by_group else [] for g in rule.groups]
                if sum(1 for chosen in terms if chosen) < 2:
                    continue
                label = RowLabel("product_clash", rule.id, model.compiled.index.accounts[account].id,
                                 f"{' / '.join(rule.groups)} week {t + 1}")
                model.row(label, model.linear([o for chosen in terms for o in chosen]), upper=1.0)
