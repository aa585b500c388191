"""Compile a promotion calendar (events) into per-cell arrays: depth, lift, funding share, fixed cost.

The simulator compiles the scenario's events or a plan file; the optimizer compiles the plan it chose. One event
runs one mechanic for one account x product group in each of its weeks; it covers every product of the group.
Two events covering the same account x product x week are a conflict (the later one would silently win), reported
by `conflicts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.compile.index import FloatArray, PlanIndex
from planner.rules.schema import Event, Mechanic, ProductGroup


@dataclass(frozen=True)
class Promotions:
    depth: FloatArray
    """(A, P, W) effective depth of the shopper's saving (0: no promotion)."""
    lift: FloatArray
    """(A, P, W) volume multiplier on top of the price response (1: none): the mechanic's lift, or the lift a
    response profile sets for it in the cell (`Response.lifts`)."""
    funding: FloatArray
    """(A, P, W) bottler's share of the shopper's saving."""
    fixed_cost: FloatArray
    """(A, P, W) event fixed cost (money), spread over the group's products by expected volume."""
    promoted: npt.NDArray[np.bool_]
    """(A, P, W) a promotion runs in the cell."""

    @classmethod
    def none(cls, shape: tuple[int, int, int]) -> Promotions:
        return cls(np.zeros(shape), np.ones(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool))


def group_products(group: ProductGroup, index: PlanIndex) -> npt.NDArray[np.bool_]:
    return index.product_mask(group.products)


def place(promotions: Promotions, accounts: npt.NDArray[np.intp], products: npt.NDArray[np.intp],
          weeks: npt.NDArray[np.intp], mechanic: Mechanic, weight: FloatArray, depth: float | None = None,
          funding: float | None = None, lifts: Mapping[str, FloatArray] | None = None) -> None:
    """Run `mechanic` at every account x week given, on the products given (one event per account x week, whose
    fixed cost is spread over the products by `weight`). `lifts`: the compiled scoped lifts (`Demand.lifts`)."""
    if not (len(accounts) and len(products) and len(weeks)):
        return
    cells = np.ix_(accounts, products, weeks)
    promotions.depth[cells] = mechanic.effective_depth if depth is None else depth
    table = (lifts or {}).get(mechanic.id)
    promotions.lift[cells] = mechanic.lift if table is None else table[np.ix_(accounts, products)][:, :, None]
    promotions.funding[cells] = mechanic.funding if funding is None else funding
    promotions.promoted[cells] = True
    share = weight[cells]
    total = share.sum(axis=1, keepdims=True)
    share = np.divide(share, total, out=np.full_like(share, 1.0 / len(products)), where=total > 0)
    promotions.fixed_cost[cells] += share * mechanic.fixed_cost


def compile_promotions(events: Sequence[Event], mechanics: dict[str, Mechanic], groups: dict[str, ProductGroup],
                       index: PlanIndex, weight: FloatArray,
                       lifts: Mapping[str, FloatArray] | None = None) -> Promotions:
    """All events placed at once: their cells are gathered first, then written in one pass (a later event wins a
    cell two events cover; `conflicts` reports those). `weight`: (A, P, W) expected unpromoted volume, used to
    spread each event week's fixed cost over the group's products. `lifts`: mechanic id -> (A, P) lift where a
    response profile sets one (`Demand.lifts`); elsewhere the mechanic's own lift."""
    lifts = lifts or {}
    promotions = Promotions.none(index.shape)
    weeks = index.calendar.weeks
    members = {g: np.flatnonzero(group_products(group, index)) for g, group in groups.items()}
    parts: list[tuple[np.ndarray, ...]] = []
    event_weeks = 0
    for event in events:
        a = index.account_position.get(event.account)
        mechanic, products = mechanics.get(event.mechanic), members.get(event.product_group)
        if a is None or mechanic is None or products is None or not len(products):
            continue
        live = np.array([w - 1 for w in event.weeks if 1 <= w <= weeks], dtype=np.intp)
        if not len(live):
            continue
        product_of = np.tile(products, len(live))
        week_of = np.repeat(live, len(products))
        depth = mechanic.effective_depth if event.depth is None else event.depth
        funding = mechanic.funding if event.funding is None else event.funding
        values = np.tile(np.array([depth, mechanic.lift, funding, mechanic.fixed_cost]), (len(product_of), 1))
        table = lifts.get(event.mechanic)
        if table is not None:
            values[:, 1] = table[a, product_of]
        key = event_weeks + np.repeat(np.arange(len(live)), len(products))
        event_weeks += len(live)
        parts.append((np.full(len(product_of), a), product_of, week_of, values, key))
    if not parts:
        return promotions
    a_all, p, w, values, key = (np.concatenate(column) for column in zip(*parts))
    cells = (a_all, p, w)
    promotions.depth[cells] = values[:, 0]
    promotions.lift[cells] = values[:, 1]
    promotions.funding[cells] = values[:, 2]
    promotions.promoted[cells] = True
    share = weight[cells]
    total = np.bincount(key, weights=share, minlength=event_weeks)[key]
    count = np.bincount(key, minlength=event_weeks)[key]
    share = np.divide(share, total, out=1.0 / count, where=total > 0)
    flat = np.ravel_multi_index(cells, index.shape)
    promotions.fixed_cost[...] = np.bincount(flat, weights=share * values[:, 3], minlength=weight.size).reshape(
        index.shape)
    return promotions


def conflicts(events: Sequence[Event], groups: dict[str, ProductGroup], index: PlanIndex) -> list[tuple[Event, Event, str, int]]:
    """Pairs of events that cover the same account x product x week: (first, second, product, week)."""
    seen: dict[tuple[str, int, int], Event] = {}
    out = []
    for event in events:
        group = groups.get(event.product_group)
        if group is None:
            continue
        for p in np.flatnonzero(group_products(group, index)):
            for week in event.weeks:
                key = (event.account, int(p), week)
                if key in seen and seen[key] is not event:
                    out.append((seen[key], event, index.products[p].id, week))
                seen.setdefault(key, event)
    return out
