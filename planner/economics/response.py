"""Promotion response: the post-promotion dip and cannibalization, worked out only on the cells promotions reach.

Promotions run on a few percent of the cells, so nothing here is dense: cells are flat numbers in C order,
cell = (account x products + product) x weeks + week, and only the promoted cells, the weeks their dips fall in
and the sibling products sharing their account, category and week are visited. Symbols (planner.economics.core):

    incremental_p = base_p x ((1 - depth_p) ** elasticity_p x lift_p - 1)      on promoted cell p
    dip           = post_promo_dip_p x max(incremental_p, 0) / dip_weeks_p     on each of the dip_weeks weeks after p
    taken_p       = cannibalization_p x max(incremental_p, 0)                  from p's siblings
    loss_q        = sum_{p != q} taken_p x volume_np_q / (T - volume_np_p)      T = the category's volume_np that week

`volume_lost` adds a cell's terms in one fixed order: every dip (by week offset), then cannibalization, then minus
the cell's own incremental volume.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from planner.compile.index import FloatArray
from planner.compile.model import Demand

CellNumbers = npt.NDArray[np.intp]
"""Flat cell numbers into an (A, P, W) array, ascending."""


def volume_lost(volume_np: FloatArray, promoted: CellNumbers, incremental: FloatArray, demand: Demand,
                category: npt.NDArray[np.intp]) -> FloatArray:
    """(A, P, W) dip + cannibalization - incremental volume; zero on every cell no promotion touches, so that
    volume = max(volume_np - lost, 0). `incremental` is the extra volume of each `promoted` cell."""
    lost = np.zeros(volume_np.shape)  # written only where promotions reach: its other pages are never touched
    flat = lost.reshape(-1)
    for cells, amount in _dips(volume_np.shape, promoted, incremental, demand.post_promo_dip, demand.dip_weeks):
        flat[cells] += amount  # distinct cells for each week offset
    for cells, amount in _cannibalization(volume_np, promoted, incremental, demand.cannibalization, category):
        flat[cells] += amount  # each cell is the donor of one account x category x week
    flat[promoted] -= incremental
    return lost


def _dips(shape: tuple[int, int, int], promoted: CellNumbers, incremental: FloatArray, dip: FloatArray,
          dip_weeks: npt.NDArray[np.int64]) -> Iterator[tuple[CellNumbers, FloatArray]]:
    """(cells, volume lost) k weeks after the promotions, for k = 1 .. the longest dip."""
    weeks = shape[2]
    horizon = min(int(dip_weeks.max(initial=0)), weeks - 1)
    if horizon <= 0 or not dip.any():
        return
    line = promoted // weeks  # account x products + product
    week = promoted - line * weeks
    spread = dip_weeks.reshape(-1)[line]
    amount = np.maximum(incremental, 0.0) * dip.reshape(-1)[line] / np.maximum(spread, 1)
    for k in range(1, horizon + 1):
        live = (spread >= k) & (week + k < weeks)
        yield promoted[live] + k, amount[live]


def _cannibalization(volume_np: FloatArray, promoted: CellNumbers, incremental: FloatArray, share: FloatArray,
                     category: npt.NDArray[np.intp]) -> Iterator[tuple[CellNumbers, FloatArray]]:
    """(donor cells, volume they lose) per category: every product of the category in each account x week where
    one of them is promoted. Linear in the promotions, so the optimizer's event values add up exactly."""
    if not share.any():
        return
    accounts, products, weeks = volume_np.shape
    flat_np = volume_np.reshape(-1)
    line = promoted // weeks
    product = line % products
    account_week = (line // products) * weeks + (promoted - line * weeks)
    promoted_category = category[product]
    taken = np.maximum(incremental, 0.0) * share.reshape(-1)[line]
    for c in np.unique(promoted_category):
        members = np.flatnonzero(category == c)
        mine = np.flatnonzero(promoted_category == c)
        seen = np.zeros(accounts * weeks, dtype=bool)
        seen[account_week[mine]] = True
        slots = np.flatnonzero(seen)  # the account x weeks where the category has a promotion
        slot = (np.cumsum(seen) - 1)[account_week[mine]]
        donors = ((slots // weeks) * products + members[:, None]) * weeks + slots % weeks  # (members, slots)
        supply = flat_np[donors]
        own = flat_np[promoted[mine]]
        others = supply.sum(axis=0)[slot] - own  # T - volume_np_p, T summed over the members in order
        per_donor = np.divide(taken[mine], others, out=np.zeros(len(mine)), where=others > 0)
        lost = supply * np.bincount(slot, per_donor, len(slots))
        lost[np.searchsorted(members, product[mine]), slot] -= own * per_donor  # a product takes nothing from itself
        yield donors.reshape(-1), lost.reshape(-1)
