"""What the calendar families share: the lines a rule binds, and promoted_l,t as a sum of option binaries.

Not a family itself. planner/compile/calendar.py is the single statement of what each calendar rule means; these
helpers read it the same way:

    line l          one account x product group the account sells (carries some product of the group), promoted
                    or not: the simulator's plan holds exactly these lines, so minimum counts apply to each
    binds(r, l)     compile.calendar.binds: the account is in the rule's scope and the group in its product groups
    O(l, t, M)      the options of line l in (0-based) week t whose mechanic is in M (all mechanics when M is absent)
    promoted_l,t,M  sum_{o in O(l, t, M)} x_o, 0 or 1 by the `choice` family
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from planner.compile.calendar import binds
from planner.compile.promotions import group_products
from planner.optimize.model import Model, RowLabel
from planner.rules.schema import CalendarRule


@dataclass(frozen=True)
class Line:
    account: int
    """Account position."""
    account_id: str
    group: str
    """Product group id."""
    number: int | None
    """The options' line number; None when the account sells the group but no mechanic may run there."""


def lines(model: Model) -> list[Line]:
    """Every line of the plan: each account x product group where the account carries a product of the group."""
    index, options = model.compiled.index, model.options
    numbers = {key: n for n, key in enumerate(options.lines)}
    carried = model.compiled.demand.baseline > 0
    out = []
    for group in model.rules.product_groups:
        products = group_products(group, index)
        for a in np.flatnonzero((carried & products[None, :]).any(axis=1)).tolist():
            out.append(Line(a, index.accounts[a].id, group.id, numbers.get((a, group.id))))
    return out


def bound(model: Model, rule: CalendarRule) -> list[Line]:
    """The lines the rule binds."""
    index = model.compiled.index
    return [line for line in lines(model) if binds(rule, index, line.account_id, line.group)]


def bound_options(model: Model, rule: CalendarRule) -> np.ndarray:
    """(options,) True where the option's line is bound by the rule (as `binds` reads it: the rule's accounts, and
    its product groups when it names any), line by line in arrays: a re-plan holds a blackout per account, and a
    pass of `binds` over every line for each made the build grow with the square of the accounts."""
    index, options = model.compiled.index, model.options
    if not options.lines:
        return np.zeros(len(options), dtype=bool)
    account = np.fromiter((a for a, _ in options.lines), dtype=np.intp, count=len(options.lines))
    on_line = index.account_mask(rule.applies_to)[account]
    if rule.product_groups is not None:
        named = set(rule.product_groups)
        on_line &= np.fromiter((group in named for _, group in options.lines), dtype=bool, count=len(options.lines))
    return on_line[options.line]


def mechanics(model: Model, ids: Iterable[str] | None) -> set[int] | None:
    """Mechanic positions of the ids (None: every mechanic, as compile.calendar.counted reads an absent list)."""
    if ids is None:
        return None
    wanted = set(ids)
    return {m for m, mechanic in enumerate(model.options.mechanics) if mechanic.id in wanted}


def promoted(model: Model, line: Line, week: int, counted: set[int] | None = None) -> list[int]:
    """O(l, t, M): the options whose sum is promoted_l,t (of the counted mechanics)."""
    if line.number is None or not 0 <= week < model.compiled.index.calendar.weeks:
        return []
    chosen = model.options_at(line.number, week)
    if counted is None:
        return chosen
    mechanic = model.options.mechanic
    return [o for o in chosen if int(mechanic[o]) in counted]


def label(family: str, rule: str, line: Line, detail: str) -> RowLabel:
    return RowLabel(family, rule, line.account_id, f"{line.group} {detail}")


def impossible(model: Model, row_label: RowLabel, lower: float | None = None, upper: float | None = None) -> None:
    """A row no plan can meet, 0 >= lower > 0 or 0 <= upper < 0, in the rule's name: a minimum, a locked event or a
    floor with no option to meet it. Written on a variable fixed at 0 rather than as a constant row, so the solver
    reports the model infeasible (Pyomo's writers raise on a constant row that is false) and the elastic diagnosis
    can relax it."""
    nothing = model.new_var(0.0, 0.0)
    model.row(row_label, model.expression([1.0], [nothing]), lower=lower, upper=upper)


def weeks_text(first: int, last: int) -> str:
    """0-based first and last week as the user reads them."""
    return f"week {first + 1}" if first == last else f"weeks {first + 1}-{last + 1}"
