"""`then` may not follow `first` within K weeks on one line.

    promoted_l,t,F + promoted_l,s,T  <=  1       for every line l the rule binds, every week t and
                                                 s = t+1 .. t+K inside the year

Symbols:

    promoted_l,t,F  sum of x_o over the options of line l in week t whose mechanic is in F = `first`
    promoted_l,s,T  the same for the mechanics in T = `then`
    K               the rule's `within_weeks`

A pair (t, s) breaks the rule exactly when week t runs a mechanic of `first` and week s one of `then`
(compile.calendar.line_violations); each side is 0 or 1 (the `choice` family), so the row forbids exactly that.
Pairs where either side has no option get no row.
"""

from __future__ import annotations

from planner.optimize.constraints._calendar import bound, label, mechanics, promoted
from planner.optimize.model import Model
from planner.rules.schema import ForbiddenSequence


def add(model: Model) -> None:
    weeks = model.compiled.index.calendar.weeks
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, ForbiddenSequence):
            continue
        first, then = mechanics(model, rule.first), mechanics(model, rule.then)
        for line in bound(model, rule):
            if line.number is None:
                continue
            before = [promoted(model, line, t, first) for t in range(weeks)]
            after = [promoted(model, line, t, then) for t in range(weeks)]
            for t in range(weeks):
                if not before[t]:
                    continue
                for s in range(t + 1, min(weeks, t + rule.within_weeks + 1)):
                    if after[s]:
                        model.row(label("forbidden_sequence", rule.id, line, f"week {t + 1} then week {s + 1}"),
                                  model.linear(before[t] + after[s]), upper=1.0)
