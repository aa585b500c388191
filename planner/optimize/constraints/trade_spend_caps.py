"""Trade-spend caps: trade spend at most a share of gross sales, per account, per channel or for the accounts in
scope.

    TS_S  <=  s . GS_S        for each group S of accounts (each account, each channel, or all in scope)

    TS_S = sum_{a in S} TS0_a + sum_{c of S} ts_c y_c + sum_{a in S} rebates_a
    GS_S = sum_{a in S} GS0_a + sum_{c of S} gs_c y_c

written as  sum_c (ts_c - s gs_c) y_c + sum rebates_a  <=  s GS0_S - TS0_S.

Symbols:

    TS0_a, GS0_a    trade spend (rebates excluded) and gross sales of account a in the no-promotion plan with no
                    investment bought: off-invoice discounts, fixed discounts (and vividness kept as written)
    ts_c, gs_c      column c's change of trade spend (rebates excluded) and of gross sales (Options.value): an
                    option's funding and event costs, a vividness package's fees and volume
    rebates_a       the rebate variables of account a (Model.rebates, from the `rebates` family, which runs first)
                    plus their margins (Model.rebate_margins): at least the simulator's rebates
    s               the cap's `max_share`

Groups of accounts are formed as for margin floors (constraints/margin_floors.py). The constant sits in the row's
bound so that the diagnosis scales its slack by the row's size.
"""

from __future__ import annotations

from planner.optimize.constraints._calendar import impossible
from planner.optimize.constraints.margin_floors import account_groups, scope_sums
from planner.optimize.model import Model, RowLabel


def add(model: Model) -> None:
    for cap in model.rules.trade_spend_caps:
        s = cap.max_share
        for account, detail, members in account_groups(model, cap):
            chosen, coefficients, constant, rebates = scope_sums(model, members, {"trade_spend": 1.0, "gross_sales": -s})
            label = RowLabel("trade_spend_cap", cap.id, account, f"{detail} trade spend <= {s:.1%} of gross sales")
            if not len(chosen) and not rebates:
                if constant > 1e-6:  # nothing to decide, and the accounts already exceed the cap
                    impossible(model, label, upper=-constant)
                continue
            expression = model.linear(chosen, coefficients) + model.expression([1.0] * len(rebates), rebates)
            model.row(label, expression, upper=-constant)
