"""At most one mechanic per line and week.

    sum_{o in options(l, t)} x_o <= 1        for every line l (account x product group) and week t
"""

from __future__ import annotations

from planner.optimize.model import Model, RowLabel


def add(model: Model) -> None:
    options = model.options
    for line, week, chosen in model.slots():
        if len(chosen) > 1:
            account, group = options.lines[line]
            label = RowLabel("choice", "one-mechanic-per-week", model.compiled.index.accounts[account].id,
                             f"{group} week {week + 1}")
            model.row(label, model.linear(chosen), upper=1.0, hard=True)
