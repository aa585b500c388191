"""Blackout weeks: no promotion (of the rule's mechanics, or any) in the listed weeks.

    x_o = 0      for every option o of a line l the rule binds, in a blackout week t, whose mechanic m is counted

Symbols:

    o = (l, t, m)   an option: mechanic m on line l (account x product group) in week t
    weeks           the rule's blackout weeks (1-based in the rule file; weeks past the year's end never occur)
    counted         the rule's `mechanics`, or every mechanic when absent (compile.calendar.counted)

A static exclusion (planner/optimize/prefilter.py): written as labelled rows `sum x_o <= 0` per line and mechanic,
so a locked event inside a blackout makes the model infeasible in the blackout's name.
"""

from __future__ import annotations

import numpy as np

from planner.optimize.constraints._calendar import bound_options, mechanics
from planner.optimize.model import Model
from planner.optimize.prefilter import Exclusion, by_line, forbid
from planner.rules.schema import Blackout


def exclusions(model: Model, rule: Blackout) -> list[Exclusion]:
    options = model.options
    bound = np.flatnonzero(bound_options(model, rule))  # weeks and mechanics tested on the rule's lines only
    excluded = np.isin(options.week[bound] + 1, np.array(rule.weeks))
    counted = mechanics(model, rule.mechanics)
    if counted is not None:
        excluded &= np.isin(options.mechanic[bound], list(counted))
    out = np.zeros(len(options), dtype=bool)
    out[bound[excluded]] = True
    return by_line(model, "blackout", rule.id, out, "blackout")


def add(model: Model) -> None:
    for rule in model.rules.calendar_rules:
        if isinstance(rule, Blackout):
            forbid(model, exclusions(model, rule))
