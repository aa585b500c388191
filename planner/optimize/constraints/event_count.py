"""Minimum and maximum event weeks per line in each period, counting only the rule's mechanics.

    min  <=  sum_{t in q} promoted_l,t,M  <=  max       for every line l the rule binds and every period q

Symbols:

    promoted_l,t,M  sum of x_o over the options of line l in week t whose mechanic is in M (constraints/_calendar)
    M               the rule's `mechanics`, or every mechanic when absent
    q               the year, or each quarter of the fiscal calendar (`period`; compile.calendar.periods)
    min, max        the rule's bounds; min defaults to 0, max to none

Lines are every account x product group the account sells, promoted or not, exactly as the simulator checks
its plan: a line the rule binds where no option can count (no mechanic may run there, or none in the period)
gets the row 0 >= min on a variable fixed at 0, so the model is infeasible in the rule's name when min > 0.
Maximum rows that fewer than max + 1 weeks could ever break are left out.
"""

from __future__ import annotations

from planner.compile.calendar import periods
from planner.optimize.constraints._calendar import bound, impossible, label, mechanics, promoted
from planner.optimize.model import Model
from planner.rules.schema import EventCount


def add(model: Model) -> None:
    index = model.compiled.index
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, EventCount):
            continue
        counted = mechanics(model, rule.mechanics)
        for line in bound(model, rule):
            for name, weeks in periods(rule, index):
                at = [promoted(model, line, w - 1, counted) for w in weeks]
                chosen = [o for options in at for o in options]
                possible = sum(1 for options in at if options)
                if rule.max is not None and possible > rule.max:
                    model.row(label("event_count", rule.id, line, f"{name} at most {rule.max}"), model.linear(chosen),
                              upper=float(rule.max))
                if rule.min > 0:
                    row_label = label("event_count", rule.id, line, f"{name} at least {rule.min}")
                    if chosen:
                        model.row(row_label, model.linear(chosen), lower=float(rule.min))
                    else:
                        impossible(model, row_label, float(rule.min))
