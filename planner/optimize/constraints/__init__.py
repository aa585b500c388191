"""Constraint families of the promotion MILP, one small module each (the oemof-solph habit): a pure function
`add(model)` that adds its rows, with its math and symbols in the module docstring.

`FAMILIES` is the order the model builder adds them in; a test fails when a family has no test
(tests/test_optimize_families.py). Every business row is labelled with its rule in the user's terms and is not
hard, so the elastic diagnosis can relax it and name the rules that conflict.

- structure: `choice` (one mechanic per line and week), `vividness` (one package of vividness investments per
  account, and each option valued under the package bought), `locked` (pinned events);
- static exclusions, option by option (planner/optimize/prefilter.py): `blackout`, `feature_min_depth`,
  `display_min_revenue`, `price_floors`;
- calendar rules across weeks and lines, with the semantics of planner/compile/calendar.py: `max_consecutive`,
  `min_gap`, `event_count`, `deep_discount_window`, `forbidden_sequence`, `product_clash`, `paired_products`;
- money: `budgets`, `rebates` (exact tiers; sets Model.rebates), then `margin_floors` and `trade_spend_caps`,
  which read the rebate variables and so come after `rebates`.

`_calendar.py` holds what the calendar families share, `_scoped.py` the sums over a scope that `budgets` and
`rebates` ask for (each once); neither is a family.
"""

from __future__ import annotations

from collections.abc import Callable

from planner.optimize.constraints import (
    blackout,
    budgets,
    choice,
    deep_discount_window,
    display_min_revenue,
    event_count,
    feature_min_depth,
    forbidden_sequence,
    locked,
    margin_floors,
    max_consecutive,
    min_gap,
    paired_products,
    price_floors,
    product_clash,
    rebates,
    trade_spend_caps,
    vividness,
)
from planner.optimize.model import Model

Family = Callable[[Model], None]

FAMILIES: dict[str, Family] = {
    "choice": choice.add,
    "vividness": vividness.add,
    "locked": locked.add,
    "blackout": blackout.add,
    "feature_min_depth": feature_min_depth.add,
    "display_min_revenue": display_min_revenue.add,
    "price_floors": price_floors.add,
    "max_consecutive": max_consecutive.add,
    "min_gap": min_gap.add,
    "event_count": event_count.add,
    "deep_discount_window": deep_discount_window.add,
    "forbidden_sequence": forbidden_sequence.add,
    "product_clash": product_clash.add,
    "paired_products": paired_products.add,
    "budgets": budgets.add,
    "rebates": rebates.add,
    "margin_floors": margin_floors.add,
    "trade_spend_caps": trade_spend_caps.add,
}
