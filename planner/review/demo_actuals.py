"""Q1 actuals for the bundled demo, drawn from the plan's own model with noise and the deviations a real quarter
has: what `history/actuals-2027-q1-*.csv` hold, so that `planner review` and the re-plan can be tried on them.

    python -m planner.review.demo_actuals scenarios/base.yaml history/ [--through 13] [--seed 2027]

How the quarter is made (every figure below is a parameter of this module, nothing else is typed in):

* the executed calendar is the scenario's events that start by `--through`, except `CANCELLED` (it did not run),
  plus `UNPLANNED` (a price cut the account ran without it being in the plan, claimed from us);
* expected sell-in per account x product x week is the economics core's volume for that calendar (the scenario's
  rules: baselines, seasonality, holidays, prices, response), except that the event `UNDERPERFORMED` reached only
  `UNDERPERFORMED_SHARE` of the incremental volume the model expects of it, and the account `BELOW_TREND` runs at
  `BELOW_TREND_FACTOR` of the model in every week;
* weekly cases get negative-binomial noise (`NOISE` coefficient of variation on top of Poisson);
* the invoice price is the plan's (price bands and off-invoice discounts), the shelf price the regular shelf
  price less the promotion's depth; funding claimed is the mechanic's funding per case on the cases actually sold
  in the event's weeks, fixed costs are the mechanic's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from planner.compile.model import Compiled, compile_rules
from planner.compile.promotions import Promotions
from planner.economics.core import evaluate
from planner.economics.waterfall import funding_per_case
from planner.review.as_history import event_cells
from planner.rules.scenario import resolve
from planner.rules.schema import Event, RuleSet
from planner.simulate import promotions_for

CANCELLED = "rt-juice-tasting"
UNPLANNED = Event(id="wm-water-price-cut", account="walmart", product_group="pg-water", mechanic="tpr-10",
                  weeks=(8, 9))
UNDERPERFORMED = "yh-cny-cans"
UNDERPERFORMED_SHARE = 0.4
BELOW_TREND = "carrefour"
BELOW_TREND_FACTOR = 0.975
NOISE = 0.06
SALES_FILE = "actuals-{year}-q1-sales.csv"
PROMOTIONS_FILE = "actuals-{year}-q1-promotions.csv"


def executed_calendar(rules: RuleSet, through: int) -> list[Event]:
    """The scenario's events that started by `through` (cut at it), without CANCELLED, with UNPLANNED."""
    known = {event.id for event in rules.events}
    if CANCELLED not in known or UNDERPERFORMED not in known:
        raise ValueError(f"the scenario has no event {CANCELLED!r} or {UNDERPERFORMED!r}: the demo's deviations "
                         "are written for the bundled demo")
    ran = [event.model_copy(update={"weeks": tuple(w for w in event.weeks if w <= through)})
           for event in rules.events if min(event.weeks) <= through and event.id != CANCELLED]
    return ran + ([UNPLANNED] if min(UNPLANNED.weeks) <= through else [])


def demo_actuals(rules: RuleSet, through: int = 13, seed: int = 2027) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sell-in rows in the history format, executed promotions) of weeks 1..through."""
    if rules.calendar is None:
        raise ValueError("the rules have no calendar")
    rng = np.random.default_rng(seed)
    compiled = compile_rules(rules)
    index = compiled.index
    events = executed_calendar(rules, through)
    promotions = promotions_for(rules, compiled, events)
    expected = evaluate(compiled, promotions).volume
    reached = evaluate(compiled, promotions_for(rules, compiled, [e for e in events if e.id != UNDERPERFORMED])).volume
    expected = reached + UNDERPERFORMED_SHARE * (expected - reached)  # the event's effect (and its dip) cut down
    expected[index.account_position[BELOW_TREND]] *= BELOW_TREND_FACTOR
    carried = compiled.demand.baseline > 0
    accounts, products, weeks = np.nonzero(carried[:, :, None] & (np.arange(index.calendar.weeks) < through))
    mean = expected[accounts, products, weeks]
    shape = 1.0 / NOISE**2
    cases = rng.poisson(mean * rng.gamma(shape, 1.0 / shape, len(mean))).astype(float)
    actual = np.zeros(index.shape)
    actual[accounts, products, weeks] = cases
    depth = promotions.depth[accounts, products, weeks]
    regular = compiled.shelf_regular[accounts, products, weeks]
    event_of = event_cells(rules, index, events)
    keys = list(zip(accounts.tolist(), products.tolist(), weeks.tolist(), strict=True))
    product = [index.products[p] for p in products]
    account = [index.accounts[a] for a in accounts]
    start = rules.calendar.start
    sales = pd.DataFrame({
        "week": [start + dt.timedelta(weeks=int(w)) for w in weeks],
        "account": [a.id for a in account], "product": [p.id for p in product],
        "category": [p.category for p in product], "brand": [p.brand for p in product],
        "channel": [a.channel for a in account], "region": [a.region for a in account],
        "cases": cases, "price": np.round(regular * (1 - depth), 2), "regular_price": np.round(regular, 2),
        "depth": np.round(depth, 4),
        "mechanic": [event_of.get(key, ("", ""))[1] for key in keys],
        "event": [event_of.get(key, ("", ""))[0] for key in keys],
        "invoice_price": np.round(compiled.invoice[accounts, products, weeks], 4),
    })
    return sales, _claims(rules, compiled, promotions, events, actual, start)


def _claims(rules: RuleSet, compiled: Compiled, promotions: Promotions, events: list[Event], actual: np.ndarray,
            start: dt.date) -> pd.DataFrame:
    """Funding claimed (the mechanic's funding per case on the cases sold in the event's weeks) and fixed costs."""
    index, groups = compiled.index, rules.ids("product_groups")
    rows = []
    for event in events:
        cells = np.ix_(np.array([index.account_position[event.account]]),
                       np.flatnonzero(index.product_mask(groups[event.product_group].products)),
                       np.array(event.weeks) - 1)
        per_case = funding_per_case(compiled.shelf_regular[cells], promotions.depth[cells], promotions.funding[cells])
        rows.append({"event": event.id, "account": event.account, "product_group": event.product_group,
                     "mechanic": event.mechanic,
                     "first_week": start + dt.timedelta(weeks=min(event.weeks) - 1),
                     "last_week": start + dt.timedelta(weeks=max(event.weeks) - 1),
                     "depth": round(float(promotions.depth[cells].max()), 4),
                     "funding": round(float((per_case * actual[cells]).sum()), 2),
                     "fixed_cost": round(float(promotions.fixed_cost[cells].sum()), 2)})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("scenario", type=Path, help="the plan's scenario file (its rules and events)")
    parser.add_argument("out", type=Path, help="folder to write the two CSV files into")
    parser.add_argument("--through", type=int, default=13, help="last fiscal week of actuals (13: Q1)")
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args(argv)
    resolved = resolve(args.scenario, [])
    if not resolved.ok or resolved.rules.calendar is None:
        print(f"{args.scenario}: the scenario has errors; run planner validate", file=sys.stderr)
        return 2
    sales, promotions = demo_actuals(resolved.rules, args.through, args.seed)
    year = resolved.rules.calendar.year
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in ((SALES_FILE, sales), (PROMOTIONS_FILE, promotions)):
        path = args.out / name.format(year=year)
        frame.to_csv(path, index=False, float_format="%.10g", date_format="%Y-%m-%d")
        print(f"{path}: {len(frame):,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
