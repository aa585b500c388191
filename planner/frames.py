"""Tidy tables of a plan's results, one row per account x product x week, for notebooks, CSV and Parquet.

The simulator reports accounts and account x weeks; planners and analysts also ask what each SKU sells and what
to order of it. This evaluates the plan once more with the same economics core (planner.economics.core) and
keeps every carried cell: its volume and P&L, the mechanic promoted there, and the rep's order suggestion for
the SKU (1.5x safety stock, planner.simulate.order_suggestion). Names are split into English and Chinese
beside the ids ('Carrefour China - East (家乐福华东)' -> 'Carrefour China - East', '家乐福华东').
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.rules.schema import Event, RuleSet
from planner.simulate import order_suggestion, promotions_for

CELL_MEASURES = ("volume", "incremental_volume", "gross_sales", "off_invoice", "promo_funding", "event_costs",
                 "rebates", "trade_spend", "net_sales", "cogs", "gross_profit", "budget_spend")
VOLUME_MEASURES = frozenset({"volume", "incremental_volume", "order_suggestion"})
"""Measures in cases; every other measure is money in the rule set's currency."""
_CHINESE = re.compile(r"[\u3400-\u9fff]")
_TRAILING = re.compile(r"^(?P<english>.*?)\s*[(（](?P<chinese>[^()（）]*)[)）]\s*$")


def names(text: str, fallback: str) -> tuple[str, str]:
    """(English, Chinese) of a rule's name: 'Cola (可乐)' -> ('Cola', '可乐'); a name in one language fills its
    side and leaves the other empty; no name gives the id as the English name."""
    if not text:
        return fallback, ""
    match = _TRAILING.match(text)
    if match and _CHINESE.search(match["chinese"]) and not _CHINESE.search(match["english"]):
        return match["english"], match["chinese"]
    return ("", text) if _CHINESE.search(text) and not re.search(r"[A-Za-z]", text) else (text, "")


def unit(measure: str, currency: str) -> str:
    """'cases' for volumes, the currency for money."""
    return "cases" if measure in VOLUME_MEASURES else currency


def product_weeks(rules: RuleSet, events: Sequence[Event]) -> pd.DataFrame:
    """Every carried account x product x week of the plan `events`: ids and names, the week and its start, the
    mechanic promoted ('' none), volume and P&L, and the SKU's order suggestion. Units are in `frame.attrs`."""
    compiled = compile_rules(rules)
    index = compiled.index
    cells = evaluate(compiled, promotions_for(rules, compiled, events))
    accounts, products, weeks = index.shape
    mechanic = np.full(index.shape, "", dtype=object)
    groups = rules.ids("product_groups")
    for event in events:
        row = index.account_position[event.account]
        members = np.flatnonzero(index.product_mask(groups[event.product_group].products))
        mechanic[row, members[:, None], np.array(event.weeks) - 1] = event.mechanic
    safety = np.array([account.safety_stock_weeks for account in index.accounts])
    orders = order_suggestion(cells.volume.reshape(accounts * products, weeks),
                              np.repeat(safety, products)).reshape(index.shape)
    carried = np.repeat(compiled.demand.baseline > 0, weeks).reshape(index.shape)
    a, p, w = np.nonzero(carried)
    account_names = [names(account.name, account.id) for account in index.accounts]
    product_names = [names(product.name, product.id) for product in index.products]
    calendar = index.calendar
    starts = [calendar.week_start(week + 1) for week in range(weeks)]
    frame = pd.DataFrame({
        "account": [index.accounts[i].id for i in a],
        "account_name": [account_names[i][0] for i in a],
        "account_name_zh": [account_names[i][1] for i in a],
        "product": [index.products[i].id for i in p],
        "product_name": [product_names[i][0] for i in p],
        "product_name_zh": [product_names[i][1] for i in p],
        "week": w + 1,
        "week_start": pd.to_datetime([starts[i] for i in w]),
        "mechanic": mechanic[a, p, w].astype(str),
    })
    budget = cells.budget_spend
    for measure in CELL_MEASURES:
        values = budget if measure == "budget_spend" else getattr(cells, measure)
        frame[measure] = values[a, p, w]
    frame["order_suggestion"] = orders[a, p, w]
    currency = rules.company.currency if rules.company else ""
    frame.attrs["units"] = {measure: unit(measure, currency) for measure in (*CELL_MEASURES, "order_suggestion")}
    return frame
