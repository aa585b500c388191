"""At most L promoted weeks in a row.

    sum_{s=t}^{t+L} promoted_l,s  <=  L        for every line l the rule binds and every window t .. t+L of
                                                L + 1 consecutive weeks inside the year

Symbols:

    promoted_l,s    sum of x_o over the options of line l in week s, any mechanic (constraints/_calendar.py)
    L               the rule's `weeks`

A run longer than L holds L + 1 consecutive promoted weeks, which fill one window; a window with L + 1 promoted
weeks is such a run: the rows allow exactly the schedules compile.calendar.line_violations accepts. Windows with
at most L weeks that have any option cannot break the rule and get no row.
"""

from __future__ import annotations

from planner.optimize.constraints._calendar import bound, label, promoted, weeks_text
from planner.optimize.model import Model
from planner.rules.schema import MaxConsecutive


def add(model: Model) -> None:
    weeks = model.compiled.index.calendar.weeks
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, MaxConsecutive):
            continue
        for line in bound(model, rule):
            if line.number is None:
                continue
            at = [promoted(model, line, t) for t in range(weeks)]
            for t in range(weeks - rule.weeks):
                window = at[t : t + rule.weeks + 1]
                if sum(1 for chosen in window if chosen) <= rule.weeks:
                    continue
                model.row(label("max_consecutive", rule.id, line, weeks_text(t, t + rule.weeks)),
                          model.linear([o for chosen in window for o in chosen]), upper=float(rule.weeks))
