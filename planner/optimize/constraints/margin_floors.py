"""Margin floors: gross profit at least a share of net sales, per account, per channel or for the accounts in scope.

    GP_S  >=  m . NS_S        for each group S of accounts (each account, each channel, or all in scope)

    GP_S = sum_{a in S} GP0_a + sum_{c of S} gp_c y_c - sum_{a in S} rebates_a
    NS_S = sum_{a in S} NS0_a + sum_{c of S} ns_c y_c - sum_{a in S} rebates_a

written as  sum_c (gp_c - m ns_c) y_c - (1 - m) sum rebates_a  >=  m NS0_S - GP0_S.

Symbols:

    GP0_a, NS0_a    gross profit and net sales of account a in the no-promotion plan with no investment bought,
                    rebates excluded
    gp_c, ns_c      column c's change of gross profit and net sales, rebates excluded (Options.value; a column
                    is an option, a variant or a vividness package, model.py)
    rebates_a       the rebate variables of account a (Model.rebates, set by the `rebates` family, which must run
                    first), exact in the tier reached, plus their margins (Model.rebate_margins): at least the
                    simulator's rebates, so the row holds on the simulator's numbers
    m               the floor's `min_gross_margin`

Linear because the margin GP / NS >= m is rewritten GP >= m NS, the same thing while net sales are positive (the
simulator's check). The constant sits in the row's bound so that the diagnosis scales its slack by the row's size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.optimize.constraints._calendar import impossible
from planner.optimize.model import Model, RowLabel
from planner.rules.schema import MarginFloor, TradeSpendCap


def account_groups(model: Model, rule: MarginFloor | TradeSpendCap) -> list[tuple[str, str, np.ndarray]]:
    """(account id or '', detail, (A,) member mask) per group of accounts the rule applies to on its own."""
    index = model.compiled.index
    accounts = index.account_mask(rule.applies_to)
    if rule.per == "account":
        return [(index.accounts[a].id, "account", np.arange(len(accounts)) == a) for a in np.flatnonzero(accounts)]
    if rule.per == "channel":
        channel = np.array([a.channel for a in index.accounts], dtype=object)
        return [("", f"channel {c}", accounts & (channel == c)) for c in sorted(set(channel[accounts].tolist()))]
    return [("", "total", accounts)] if accounts.any() else []


def scope_sums(model: Model, members: np.ndarray,
               measures: dict[str, float]) -> tuple[np.ndarray, np.ndarray, float, list[Any]]:
    """For the accounts in `members`: their columns, sum_k c_k value_c[k] per column, sum_k c_k base[k] (rebates
    excluded), and their rebate variables with the margins that make them at least the simulator's rebates."""
    options = model.options
    chosen = model.columns_in(members)
    coefficients = sum((c * options.value[k][chosen] for k, c in measures.items()), np.zeros(len(chosen)))
    chosen, coefficients = chosen[coefficients != 0], coefficients[coefficients != 0]  # an option with variants
    base = options.base
    rebates = base.rebates[members].sum()
    plain = {"gross_profit": base.gross_profit[members].sum() + rebates,
             "net_sales": base.net_sales[members].sum() + rebates,
             "trade_spend": base.trade_spend[members].sum() - rebates,
             "gross_sales": base.gross_sales[members].sum()}
    constant = float(sum(c * plain[k] for k, c in measures.items()))
    variables = [v for a in np.flatnonzero(members).tolist()
                 for v in (*model.rebates.get(a, []), *model.rebate_margins.get(a, []))]
    return chosen, coefficients, constant, variables


def add(model: Model) -> None:
    for floor in model.rules.margin_floors:
        m = floor.min_gross_margin
        for account, detail, members in account_groups(model, floor):
            chosen, coefficients, constant, rebates = scope_sums(model, members, {"gross_profit": 1.0, "net_sales": -m})
            label = RowLabel("margin_floor", floor.id, account, f"{detail} gross margin >= {m:.1%}")
            if not len(chosen) and not rebates:
                if constant < -1e-6:  # nothing to decide, and the accounts already miss the floor
                    impossible(model, label, lower=-constant)
                continue
            expression = model.linear(chosen, coefficients) + model.expression([-(1.0 - m)] * len(rebates), rebates)
            model.row(label, expression, lower=-constant)
