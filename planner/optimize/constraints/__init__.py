"""Constraint families of the promotion MILP, one small module each (the oemof-solph habit): a pure function
`add(model)` that adds its rows, with its math and symbols in the module docstring.

`FAMILIES` is the order the model builder adds them in; a test fails when a family has no test.
"""

from __future__ import annotations

from collections.abc import Callable

from planner.optimize.constraints import budgets, choice, rebates
from planner.optimize.model import Model

Family = Callable[[Model], None]

FAMILIES: dict[str, Family] = {
    "choice": choice.add,
    "budgets": budgets.add,
    "rebates": rebates.add,
}
