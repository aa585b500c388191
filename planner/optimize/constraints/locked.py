"""Locked events: the plan keeps every week of every locked (pinned) event.

    x_o  >=  1        for o = (account, product group, week, mechanic) of each week of each locked event

Symbols:

    x_o     1 when option o runs (model.py)
    o       the option for the event's account, product group and mechanic in that week: Options.option_of

A locked event with no such option (the mechanic may not run there or then, or the account does not sell the
group) gets the row 0 >= 1 on a variable fixed at 0: the model is infeasible, labelled with the event's id, and
the elastic diagnosis names it. Weeks after the end of the fiscal year are skipped, as the simulator skips them
(the checker reports them: PP423). The event's own `depth` or `funding`, when it overrides the
mechanic's, is not modelled: the option runs the mechanic as written.
"""

from __future__ import annotations

from planner.optimize.constraints._calendar import impossible
from planner.optimize.model import Model, RowLabel


def add(model: Model) -> None:
    index, options = model.compiled.index, model.options
    groups = {group: g for g, group in enumerate(options.groups)}
    mechanics = {mechanic.id: m for m, mechanic in enumerate(options.mechanics)}
    for event in model.rules.events:
        if not event.locked:
            continue
        account = index.account_position.get(event.account)
        group, mechanic = groups.get(event.product_group), mechanics.get(event.mechanic)
        for week in event.weeks:
            if week > index.calendar.weeks:
                continue
            label = RowLabel("locked", event.id, event.account, f"{event.product_group} {event.mechanic} week {week}")
            o = None if account is None or group is None or mechanic is None else \
                options.option_of.get((account, group, week - 1, mechanic))
            if o is None:
                impossible(model, label, 1.0)
            else:
                model.row(label, model.linear([o]), lower=1.0)
