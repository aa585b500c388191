"""At least G unpromoted weeks after each run before the next run.

    promoted_l,t - promoted_l,t+1 + promoted_l,t+k  <=  1     for every line l the rule binds, every week t and
                                                              k = 2 .. G with t + k inside the year

Symbols:

    promoted_l,t    sum of x_o over the options of line l in week t, any mechanic (constraints/_calendar.py)
    G               the rule's `weeks`

A run ends in week t when promoted_t = 1 and promoted_t+1 = 0; the row then forbids a promotion in weeks
t+2 .. t+G, so the next run starts at t+G+1 or later (G unpromoted weeks between). Any other combination leaves
the left side at most 1. Two runs closer than G weeks end and start at some t and t+k with 2 <= k <= G, so the
rows forbid exactly what compile.calendar.line_violations calls a violation. No gap is asked after the last run
of the year. Rows whose t or t+k has no option are always met and are left out.
"""

from __future__ import annotations

from planner.optimize.constraints._calendar import bound, label, promoted
from planner.optimize.model import Model
from planner.rules.schema import MinGap


def add(model: Model) -> None:
    weeks = model.compiled.index.calendar.weeks
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, MinGap):
            continue
        for line in bound(model, rule):
            if line.number is None:
                continue
            at = [promoted(model, line, t) for t in range(weeks)]
            for t in range(weeks - 2):
                if not at[t]:
                    continue
                following = at[t + 1]
                for k in range(2, min(rule.weeks, weeks - 1 - t) + 1):
                    if not at[t + k]:
                        continue
                    coefficients = [1.0] * len(at[t]) + [-1.0] * len(following) + [1.0] * len(at[t + k])
                    detail = f"run ending week {t + 1}, next starting week {t + k + 1}"
                    model.row(label("min_gap", rule.id, line, detail),
                              model.linear(at[t] + following + at[t + k], coefficients), upper=1.0)
