"""Featured or displayed events must cut the price by at least the rule's depth.

    x_o = 0      for every option o of a line the rule binds whose mechanic m is featured or displayed and
                 effective_depth_m < min_depth

Symbols:

    featured or displayed   mechanic.is_featured_or_displayed: `feature` or `display` set, or kind feature/display
    effective_depth_m       the shopper's average saving as a share of the regular shelf price (Mechanic)
    min_depth               the rule's minimum depth (compared with the same 1e-12 tolerance as
                            compile.calendar.line_violations)

The depth is the mechanic's own: an option always runs its mechanic as written (events' negotiated depths only
exist on the scenario's calendar). A static exclusion (planner/optimize/prefilter.py).
"""

from __future__ import annotations

import numpy as np

from planner.optimize.constraints._calendar import bound_options
from planner.optimize.model import Model
from planner.optimize.prefilter import Exclusion, by_line, forbid
from planner.rules.schema import FeatureMinDepth


def exclusions(model: Model, rule: FeatureMinDepth) -> list[Exclusion]:
    shallow = np.array([m.is_featured_or_displayed and m.effective_depth < rule.min_depth - 1e-12
                        for m in model.options.mechanics], dtype=bool)
    if not shallow.any():
        return []
    excluded = bound_options(model, rule) & shallow[model.options.mechanic]
    return by_line(model, "feature_min_depth", rule.id, excluded, f"featured/displayed below {rule.min_depth:.0%} depth")


def add(model: Model) -> None:
    for rule in model.rules.calendar_rules:
        if isinstance(rule, FeatureMinDepth):
            forbid(model, exclusions(model, rule))
