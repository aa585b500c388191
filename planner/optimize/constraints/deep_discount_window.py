"""A deep mechanic at most A times in any N consecutive weeks.

    sum_{s=t}^{t+N-1} promoted_l,s,D  <=  A       for every line l the rule binds and every window start
                                                  t = 1 .. W - N + 1 (one window of the whole year when W < N)

Symbols:

    promoted_l,s,D  sum of x_o over the options of line l in week s whose mechanic is deep (constraints/_calendar)
    D               mechanics at least min_depth deep (compile.calendar.deep_enough, the same comparison)
    N, A            the rule's `window_weeks` and `at_most`; W the weeks of the year

compile.calendar counts the deep weeks in the N weeks starting at each deep week, cut at the year's end. Those
windows and the full windows above forbid the same schedules: a full window holding more than A deep weeks
contains the calendar's window starting at its first deep week, which holds at least as many; a calendar window
near the year's end lies inside the last full window. Windows with at most A weeks that have a deep option cannot
break the rule and get no row.
"""

from __future__ import annotations

from planner.compile.calendar import deep_enough
from planner.optimize.constraints._calendar import bound, label, promoted, weeks_text
from planner.optimize.model import Model
from planner.rules.schema import DeepDiscountWindow


def add(model: Model) -> None:
    weeks = model.compiled.index.calendar.weeks
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, DeepDiscountWindow):
            continue
        deep = {m for m, mechanic in enumerate(model.options.mechanics) if deep_enough(mechanic, rule.min_depth)}
        if not deep:
            continue
        span = min(rule.window_weeks, weeks)
        for line in bound(model, rule):
            if line.number is None:
                continue
            at = [promoted(model, line, t, deep) for t in range(weeks)]
            for t in range(weeks - span + 1):
                window = at[t : t + span]
                if sum(1 for chosen in window if chosen) <= rule.at_most:
                    continue
                detail = f"{weeks_text(t, t + span - 1)} at most {rule.at_most} deep"
                model.row(label("deep_discount_window", rule.id, line, detail),
                          model.linear([o for chosen in window for o in chosen]), upper=float(rule.at_most))
