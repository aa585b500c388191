"""Options no plan may choose, whatever else it holds: the static exclusions of the rules.

Some rules forbid options one by one, from the rules and the economics alone, without looking at any other option:
a blackout week, a featured mechanic shallower than `feature_min_depth`, a display week whose net sales fall short
of `display_min_revenue`, an option whose worst-case dead-net breaks a price floor. Each such family computes its
`Exclusion`s and hands them to `forbid`.

An exclusion enters the model as one labelled row, not by deleting its options from the option set:

    sum_{c in E} y_c <= 0          for each exclusion E (one rule, one line, one week or mechanic): options x_o,
                                   or the vividness variants v_o,T of an option that only some packages forbid

Deleting would be cheaper to write down, but a locked event inside a blackout (or under a price floor) must make
the model infeasible *in the rule's name*, so that the elastic diagnosis can relax that very row and tell the user
which rule the locked event conflicts with. Such rows cost nothing: HiGHS presolve fixes their columns at 0 and
drops them before the branch and bound starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from planner.optimize.model import Model, RowLabel


@dataclass(frozen=True)
class Exclusion:
    label: RowLabel
    """The rule that forbids the options, in the user's terms."""
    options: np.ndarray
    """Column numbers the rule forbids (an option number is its own column, model.py)."""


def by_line(model: Model, family: str, rule: str, excluded: np.ndarray, why: str = "") -> list[Exclusion]:
    """Group the excluded columns (a boolean mask over options, or over columns) into one exclusion per line and
    mechanic, described
    for the user as '<group> <mechanic> week(s) <weeks>[: why]'."""
    options, index = model.options, model.compiled.index
    chosen = np.flatnonzero(excluded)  # columns: an option is its own column; a variant runs its option
    if not len(chosen):
        return []
    option = options.column_option[chosen]
    keys = options.line[option] * max(1, len(options.mechanics)) + options.mechanic[option]
    out = []
    for key in np.unique(keys).tolist():
        members = chosen[keys == key]
        first = int(option[keys == key][0])
        account, group = options.lines[int(options.line[first])]
        weeks = sorted(set(options.week[option[keys == key]].tolist()))
        text = (f"{group} {options.mechanics[int(options.mechanic[first])].id} week{'s' if len(weeks) > 1 else ''} "
                f"{', '.join(str(w + 1) for w in weeks)}" + (f": {why}" if why else ""))
        out.append(Exclusion(RowLabel(family, rule, index.accounts[account].id, text), members))
    return out


def forbid(model: Model, exclusions: Iterable[Exclusion]) -> None:
    """sum_{c in E} y_c <= 0 for each exclusion, labelled with its rule (relaxable by the diagnosis)."""
    for exclusion in exclusions:
        if len(exclusion.options):
            model.row(exclusion.label, model.linear(exclusion.options), upper=0.0)
