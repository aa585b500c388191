"""A synthetic sales history for a rule set, made by the simulator with known parameters: what `history/`
holds for the bundled demo, so that `planner calibrate` can be tried, and judged, on data whose truth is known.

    python -m planner.calibrate.demo_history rules/ history/demo-sales.csv [--truth FILE] [--years 2] [--seed 7]

The truth is the rule set's demand: its baselines, seasonality (per baseline entry), response profiles
(elasticity, post-promotion dip, cannibalization) — or those of `--truth FILE`, a file holding only these sections
(the demo's is history/truth.yaml: its hand-typed demand, since the demo's rules hold the demand calibrated from
the history) — with the lifts of the history's flags set on the root response
profile as scoped lifts (`TRUE_LIFTS`: feature, display, and deal = a price mechanic alone). Prices, discounts,
rebates, vividness and holidays are left out: the history's price is the shelf price, and a promotion's depth is
its mechanic's effective depth. The calendar is random but shaped like a key account's: about one promoted week
in eight per account x product, mechanics drawn from those allowed there. Each year is one simulation of 52 weeks
(a dip running over the year end is not booked, as in the simulator); weekly cases get negative-binomial noise
(`NOISE` coefficient of variation on top of Poisson).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from planner.calibrate.rules_writer import mechanic_flags, rule_id
from planner.check import run_checks
from planner.compile.index import PlanIndex
from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.rules.findings import SINGLETON_MISSING, Severity
from planner.rules.load import load_rules
from planner.rules.schema import Calendar, Event, Mechanic, ProductGroup, Response, RuleSet
from planner.simulate import promotions_for

TRUE_LIFTS = {"feature": 1.6, "display": 1.9, "deal": 1.05}
PROMOTED_SHARE = 0.12
NOISE = 0.12
YEAR = 52


def truth(rules: RuleSet) -> RuleSet:
    """The rule set the history is drawn from: its demand, the true flag lifts, nothing priced."""
    lifts = {}
    for mechanic in rules.mechanics:
        flags = mechanic_flags(mechanic)
        if flags and mechanic.effective_depth > 0 or "feature" in flags or "display" in flags:
            lifts[mechanic.id] = float(np.prod([TRUE_LIFTS[f] for f in flags]))
    root = [r for r in rules.response if r.applies_to.specificity == 0]
    others = [r for r in rules.response if r.applies_to.specificity > 0]
    base = root[-1] if root else Response(id="truth-default", elasticity=-2.0)
    response = (*root[:-1], base.model_copy(update={"lifts": lifts}), *others)
    none: tuple[()] = ()
    return rules.replace(response=response, discounts=none, price_bands=none, rebates=none, shelf_targets=none,
                         displays=none, coolers=none, calendar_rules=none, budgets=none, margin_floors=none,
                         price_floors=none, trade_spend_caps=none, events=none)


DEMAND = ("seasonality", "baselines", "response")


def with_truth(rules: RuleSet, truth: Path) -> tuple[RuleSet, list[str]]:
    """`rules` with their seasonality, baselines and response taken from the file `truth` (which may hold only
    those sections), and the problems found: the file's own, then references it breaks in `rules`."""
    loaded = load_rules([truth])
    problems = [f for f in loaded.findings if f.code != SINGLETON_MISSING.code]
    others = sorted(name for document in loaded.documents if isinstance(document.data, dict)
                    for name in document.data if name not in DEMAND)
    merged = rules.replace(**{name: loaded.rules.section(name) for name in DEMAND})
    if not problems:
        problems = [f for f in run_checks(merged) if f.severity is Severity.ERROR and f.code == "PP201"]
    messages = [f"{f.location}: {f.code} {f.message}" for f in problems]
    if others:
        messages.append(f"{truth}: holds {', '.join(others)}; a truth file holds only {', '.join(DEMAND)}")
    return merged, messages


def synthetic_history(rules: RuleSet, start: dt.date, years: int = 2, seed: int = 7) -> pd.DataFrame:
    """`years` x 52 weeks of sales of every account x carried product from `start`, drawn from `truth(rules)`."""
    rng = np.random.default_rng(seed)
    world = truth(rules)
    groups = tuple(ProductGroup.model_validate({"id": rule_id("history", p.id), "products": {"product": p.id}})
                   for p in world.products)
    usable = [m for m in world.mechanics if mechanic_flags(m) and m.id in world.response[0].lifts]
    parts = []
    for year in range(years):
        first = start + dt.timedelta(weeks=YEAR * year)
        calendar = Calendar(year=first.year, start=first, weeks=YEAR, quarters=(13, 13, 13, 13))
        rules_year = world.replace(calendar=calendar, product_groups=groups)
        index = PlanIndex.of(rules_year)
        compiled = compile_rules(rules_year)
        carried = compiled.demand.baseline > 0
        events, chosen = _calendar(rng, index, carried, usable)
        rules_year = rules_year.replace(events=tuple(events))
        volume = evaluate(compiled, promotions_for(rules_year, compiled, events)).volume
        parts.append(_rows(rng, rules_year, index, carried, volume, chosen, first))
    return pd.concat(parts, ignore_index=True).sort_values(["account", "product", "week"], ignore_index=True)


def _calendar(rng: np.random.Generator, index: PlanIndex, carried: np.ndarray,
              usable: list[Mechanic]) -> tuple[list[Event], dict[tuple[int, int, int], Mechanic]]:
    """About PROMOTED_SHARE of each carried line's weeks promoted, with a mechanic allowed there."""
    events: list[Event] = []
    chosen: dict[tuple[int, int, int], Mechanic] = {}
    for a, account in enumerate(index.accounts):
        for p in np.flatnonzero(carried[a]):
            allowed = [m for m in usable if index.account_mask(m.applies_to)[a]
                       and index.product_mask(m.applies_to)[p]]
            if not allowed:
                continue
            for week in np.flatnonzero(rng.random(index.calendar.weeks) < PROMOTED_SHARE):
                mechanic = allowed[int(rng.integers(len(allowed)))]
                product = index.products[p].id
                events.append(Event(id=f"e{len(events)}", account=account.id, product_group=rule_id("history", product),
                                    mechanic=mechanic.id, weeks=(int(week) + 1,)))
                chosen[(a, int(p), int(week))] = mechanic
    return events, chosen


def _rows(rng: np.random.Generator, rules: RuleSet, index: PlanIndex, carried: np.ndarray, volume: np.ndarray,
          chosen: dict[tuple[int, int, int], Mechanic], first: dt.date) -> pd.DataFrame:
    accounts, products, weeks = np.nonzero(np.broadcast_to(carried[:, :, None], volume.shape))
    mean = volume[accounts, products, weeks]
    shape = 1.0 / NOISE**2
    cases = rng.poisson(mean * rng.gamma(shape, 1.0 / shape, len(mean)))
    markup = np.array([a.retail_markup for a in index.accounts])
    list_price = np.array([p.list_price for p in index.products])
    regular = np.round(list_price[products] * (1 + markup[accounts]), 2)
    flags = np.zeros((len(mean), 3))
    depth = np.zeros(len(mean))
    for row, key in enumerate(zip(accounts.tolist(), products.tolist(), weeks.tolist(), strict=True)):
        mechanic = chosen.get(key)
        if mechanic is not None:
            on = mechanic_flags(mechanic)
            flags[row] = [float(k in on) for k in ("feature", "display", "deal")]
            depth[row] = mechanic.effective_depth
    product_of = {p.id: p for p in rules.products}
    product_ids = np.array([p.id for p in index.products], dtype=object)[products]
    account_ids = np.array([a.id for a in index.accounts], dtype=object)[accounts]
    return pd.DataFrame({
        "week": [first + dt.timedelta(weeks=int(w)) for w in weeks],
        "account": account_ids, "product": product_ids,
        "category": [product_of[p].category for p in product_ids],
        "brand": [product_of[p].brand for p in product_ids],
        "channel": [index.accounts[a].channel for a in accounts],
        "region": [index.accounts[a].region for a in accounts],
        "cases": cases, "price": np.round(regular * (1 - depth), 2), "regular_price": regular,
        "feature": flags[:, 0], "display": flags[:, 1], "deal": flags[:, 2],
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("rules", type=Path, help="rules folder (its calendar start ends the history)")
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--truth", type=Path, help="a file of seasonality, baselines and response to draw from "
                        "instead of the rules' own")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    loaded = load_rules([args.rules])
    if loaded.rules.calendar is None or any(f.severity.value == "error" for f in loaded.findings):
        print(f"{args.rules}: rules with errors or without a calendar; run planner validate", file=sys.stderr)
        return 2
    rules = loaded.rules
    if args.truth is not None:
        rules, problems = with_truth(rules, args.truth)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"{args.truth}: not a usable truth; nothing written", file=sys.stderr)
            return 2
    start = loaded.rules.calendar.start - dt.timedelta(weeks=YEAR * args.years)
    frame = synthetic_history(rules, start, args.years, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False, float_format="%.6g", date_format="%Y-%m-%d")
    print(f"{args.out}: {len(frame):,} rows, {frame['week'].nunique()} weeks from {start}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
