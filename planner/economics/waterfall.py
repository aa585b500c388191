"""The price waterfall per case: list -> band -> invoice -> shelf -> promotion funding -> rebates -> dead-net.

Symbols (per account a, product p, week t; money per case):

    band_price[a,p]     list price x product of price-band factors
    invoice[a,p,t]      band price after off-invoice discounts (compile.discounts)
    shelf[a,p,t]        regular shelf price = band x (1 + markup_a) x (1 - pass_through_a x (1 - invoice / band))
                        (the account passes that share of the trade discount on to shoppers; computed
                        when the rules compile, compile.terms.shelf_price)
    funding[a,p,t]      funding_share_m x effective_depth_m x shelf   for the mechanic m running that week
    dead_net[a,p,t]     invoice - funding - rebate_rate x invoice

The same functions price the simulator's cells, the optimizer's candidates and the checker's worst case.
"""

from __future__ import annotations

import numpy as np

from planner.compile.index import FloatArray


def funding_per_case(shelf: FloatArray, effective_depth: float | FloatArray, funding_share: float | FloatArray) -> FloatArray:
    """What the bottler pays per case sold for a consumer mechanic: its share of the shopper's saving."""
    funding: FloatArray = np.asarray(funding_share) * np.asarray(effective_depth) * shelf
    return funding


def dead_net_price(invoice: FloatArray, funding: FloatArray, rebate_rate: FloatArray) -> FloatArray:
    """Dead-net price per case: what the bottler really earns after discounts, funding and rebates."""
    return invoice - funding - rebate_rate * invoice
