"""The price waterfall per case: list -> band -> invoice -> shelf -> promotion funding -> rebates -> dead-net.

Symbols (per account a, product p, week t; money per case):

    band_price[a,p]     list price x product of price-band factors
    invoice[a,p,t]      band price after off-invoice discounts (economics.discounts)
    shelf[a,p,t]        regular shelf price = band x (1 + markup_a) x (1 - pass_through_a x (1 - invoice / band))
                        (the account passes that share of the trade discount on to shoppers)
    funding[a,p,t]      funding_share_m x effective_depth_m x shelf   for the mechanic m running that week
    dead_net[a,p,t]     invoice - funding - rebate_rate x invoice

The same functions price the simulator's cells, the optimizer's candidates and the checker's worst case.
"""

from __future__ import annotations

import numpy as np

from planner.economics.discounts import FloatArray


def shelf_price(band_price: FloatArray, invoice: FloatArray, markup: FloatArray, pass_through: FloatArray) -> FloatArray:
    """Regular shelf price per case (accounts x products x weeks); markup and pass_through are per account.

    Written in place on one array: band x (1 + markup) x (1 - pass_through x (1 - invoice / band))."""
    band = band_price[:, :, None]
    shelf = np.divide(invoice, band, out=np.ones_like(invoice), where=band > 0)
    shelf -= 1.0
    shelf *= pass_through[:, None, None]
    shelf += 1.0
    shelf *= band * (1.0 + markup[:, None, None])
    return shelf


def funding_per_case(shelf: FloatArray, effective_depth: float | FloatArray, funding_share: float | FloatArray) -> FloatArray:
    """What the bottler pays per case sold for a consumer mechanic: its share of the shopper's saving."""
    funding: FloatArray = np.asarray(funding_share) * np.asarray(effective_depth) * shelf
    return funding


def dead_net_price(invoice: FloatArray, funding: FloatArray, rebate_rate: FloatArray) -> FloatArray:
    """Dead-net price per case: what the bottler really earns after discounts, funding and rebates."""
    return invoice - funding - rebate_rate * invoice
