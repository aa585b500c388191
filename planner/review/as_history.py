"""The plan store's actuals of a plan year as a sales history (docs/history.md), so that a refit
(`planner calibrate RULES HISTORY --actuals`, docs/review.md) can fold the executed weeks into the calibration.

The store keeps what was sold in (cases and invoiced value per account x product x fiscal week) and the promotions
that ran; a history row also needs the week's date and the shelf price the shopper paid. Both come from the rules,
as the review's "calendar as run" does (docs/review.md):

* **week**: the fiscal week's first day (the calendar's start + 7 days per week);
* **regular_price**: the rules' regular shelf price of the account x product in that week (list price, bands,
  off-invoice discounts, the account's markup and pass-through);
* **depth**, **mechanic**, **event**: the executed promotion covering the cell, at its depth as run (the
  mechanic's own when the import gave none); 0 and empty elsewhere;
* **price**: regular_price x (1 - depth);
* **invoice_price**: invoiced value / cases (empty on a week with no cases);
* **category**, **brand**, **channel**, **region**: the rules' product and account attributes.

Rows are numbered as the store returns them (account, product, week), so a problem the calibration finds in them
is located at "plan store actuals YEAR:ROW". The history's sha256 is the SHA-256 of the rows as CSV followed by
the executed promotions, one per line: a refit's provenance names exactly the actuals it read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.actuals.model import Actuals
from planner.compile.index import PlanIndex
from planner.compile.model import compile_rules
from planner.history import History
from planner.history.derive import complete
from planner.history.frame import SOURCE_ROW
from planner.rules.schema import Event, RuleSet
from planner.simulate import promotions_for


def actuals_history(rules: RuleSet, actuals: Actuals, source: str | None = None) -> History:
    """The sell-in of `actuals` as a checked, completed history on the rules' calendar (see the module)."""
    calendar = rules.calendar
    if calendar is None:
        raise ValueError("the rules have no calendar: the actuals' fiscal weeks have no dates")
    name = source or f"plan store actuals {actuals.year}"
    compiled = compile_rules(rules)
    index = compiled.index
    sales = actuals.sales.sort_values(["account", "product", "week"], ignore_index=True)
    a = pd.Index([x.id for x in index.accounts]).get_indexer(sales["account"])
    p = pd.Index([x.id for x in index.products]).get_indexer(sales["product"])
    w = sales["week"].to_numpy().astype(np.intp) - 1
    known = (a >= 0) & (p >= 0) & (w >= 0) & (w < index.calendar.weeks)
    sales, a, p, w = sales.loc[known].reset_index(drop=True), a[known], p[known], w[known]
    events = [promotion.as_event() for promotion in actuals.promotions]
    depth = promotions_for(rules, compiled, events).depth[a, p, w]
    regular = compiled.shelf_regular[a, p, w]
    ran = event_cells(rules, index, events)
    keys = list(zip(a.tolist(), p.tolist(), w.tolist(), strict=True))
    cases = sales["cases"].to_numpy(dtype=float)
    value = sales["invoice_value"].to_numpy(dtype=float)
    products = [index.products[k] for k in p]
    accounts = [index.accounts[k] for k in a]
    frame = pd.DataFrame({
        "week": pd.to_datetime([calendar.start + dt.timedelta(weeks=int(k)) for k in w]).astype("datetime64[ns]"),
        "account": sales["account"].astype(object), "product": sales["product"].astype(object),
        "cases": cases, "price": regular * (1.0 - depth), "regular_price": regular, "depth": depth,
        "mechanic": [ran[key][1] if key in ran else None for key in keys],
        "event": [ran[key][0] if key in ran else None for key in keys],
        "invoice_price": np.divide(value, cases, out=np.full(len(cases), np.nan), where=cases > 0),
        "category": [x.category for x in products], "brand": [x.brand for x in products],
        "channel": [x.channel for x in accounts], "region": [x.region for x in accounts],
        SOURCE_ROW: np.arange(1, len(sales) + 1),
    })
    frame, rule = complete(frame)
    return History(frame, name, _sha256(actuals), rule)


def event_cells(rules: RuleSet, index: PlanIndex, events: Sequence[Event]) -> dict[tuple[int, int, int], tuple[str, str]]:
    """(account, product, 0-based week) -> (event id, mechanic) of the events' cells (a later event wins a cell)."""
    groups = rules.ids("product_groups")
    out = {}
    for event in events:
        a = index.account_position[event.account]
        for p in np.flatnonzero(index.product_mask(groups[event.product_group].products)):
            for week in event.weeks:
                out[(a, int(p), week - 1)] = (event.id, event.mechanic)
    return out


def _sha256(actuals: Actuals) -> str:
    digest = hashlib.sha256()
    sales = actuals.sales.sort_values(["account", "product", "week"], ignore_index=True)
    digest.update(sales.to_csv(index=False, float_format="%.10g").encode())
    for promotion in sorted(actuals.promotions, key=lambda x: (x.first_week, x.event)):
        digest.update((repr(tuple(promotion.__dict__.values())) + "\n").encode())
    return digest.hexdigest()
