"""Worst-case legal stack against the price floors and COGS.

For every account x product x week: the discounts that legally stack there (compile.discounts), plus the
deepest consumer mechanic allowed there (largest funding per case), plus the highest tier of every rebate live
there, gives the lowest dead-net price the rules allow (economics.waterfall). It must stay at or above COGS and
at or above every price floor in scope: COGS x (1 + min_markup).

Dense rule sets (hundreds of rules on one scope) stay linear: the deepest mechanic of every cell is recorded while
the worst case is built (a per-cell index, not a scan per finding); floors are reduced over weeks once per distinct
markup and then looked at only over their own accounts x products; floors on one scope with one markup are solved
once; the discounts and rebates a finding names are found through their distinct scopes.

An event that sets its own `depth` or `funding` runs at that depth and funding share on its account x group
products x weeks (as the simulator runs it), so it joins the worst case there; the example then names the event.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from planner.check.context import CheckContext, related, shown
from planner.compile.index import Cell, FloatArray, block, positions
from planner.compile.terms import shelf_price
from planner.economics.waterfall import dead_net_price, funding_per_case
from planner.rules.findings import BELOW_COGS, PRICE_FLOOR_BREACH, Finding, Location, finding
from planner.rules.schema import Event, PriceFloor, RuleSet

BREACH = 1e-9


def week_runs(ranges: Sequence[tuple[int, int]], weeks: int) -> list[tuple[int, int]]:
    """The runs of weeks [first, last) between consecutive starts and ends of `ranges` (0-based, end excluded), so
    that every range covers a run wholly or not at all; weeks no range covers are left out."""
    cuts = sorted({0, weeks, *(edge for start, stop in ranges for edge in (start, stop) if 0 <= edge <= weeks)})
    return [(first, last) for first, last in itertools.pairwise(cuts)
            if any(start <= first and last <= stop for start, stop in ranges)]


@dataclass
class WorstCase:
    context: CheckContext
    _scopes: dict[str, list[tuple[Any, list[int]]]] = field(default_factory=dict)
    _stacks: dict[Cell, tuple[dict[str, Any], list[Location]]] = field(default_factory=dict)

    @cached_property
    def _funding_and_mechanic(self) -> tuple[FloatArray, npt.NDArray[np.int32]]:
        """The largest funding per case any allowed mechanic costs (funding is share x depth x shelf price), and
        which mechanic gives it (`deepest`). The shelf price and the largest share per cell are not kept: at 39
        million cells each is 310 MB that nothing reads again."""
        accounts = self.context.index.accounts
        share, mechanic = self.deepest()
        shelf = shelf_price(self.context.band_price, self.context.stack.invoice,
                            np.array([a.retail_markup for a in accounts]), np.array([a.pass_through for a in accounts]))
        return funding_per_case(shelf, share, 1.0), mechanic

    def deepest(self) -> tuple[FloatArray, npt.NDArray[np.int32]]:
        """Per cell, the largest funding share x effective depth of any mechanic allowed there, and which mechanic
        (the first in file order with that share; -1 where none has a positive share).

        Mechanics on one product scope and date range are taken together: per account the best of them (a vector
        over accounts), then one pass over their block, so the work follows the distinct product scopes, not the
        mechanics. The mechanics' dates cut the year into a few runs of weeks that the same mechanics cover, and
        each run is solved once over accounts x products (the largest share, the first mechanic on a tie: the same
        in any order), then copied to its weeks."""
        index, mechanics = self.context.index, self.context.rules.mechanics
        worst = np.zeros(index.shape)
        chosen = np.full(index.shape, -1, dtype=np.int32)
        by_scope: dict[tuple[int, int, int], list[int]] = {}
        for m, mechanic in enumerate(mechanics):
            weeks = index.week_range(mechanic.valid)
            by_scope.setdefault((id(index.product_mask(mechanic.applies_to)), weeks.start, weeks.stop), []).append(m)
        scopes = []
        for (_, start, stop), members in by_scope.items():
            best = np.zeros(len(index.accounts))
            which = np.full(len(index.accounts), -1, dtype=np.int32)
            for m in members:  # file order: on equal shares the earlier mechanic stays
                share = mechanics[m].funding * mechanics[m].effective_depth
                better = index.account_mask(mechanics[m].applies_to) & (share > best)
                best[better], which[better] = share, m
            rows = which >= 0
            if rows.any():
                at = block(positions(rows), positions(index.product_mask(mechanics[members[0]].applies_to)),
                           slice(None))[:2]
                scopes.append((start, stop, at, best[rows][:, None], which[rows][:, None]))
        for first, last in week_runs([(start, stop) for start, stop, *_ in scopes], index.calendar.weeks):
            plane, plane_which = np.zeros(index.shape[:2]), np.full(index.shape[:2], -1, dtype=np.int32)
            for start, stop, at, share_here, which_here in scopes:
                if start <= first and last <= stop:
                    current, current_which = plane[at], plane_which[at]
                    deeper = (share_here > current) | ((share_here == current) & (which_here < current_which))
                    plane[at] = np.where(deeper, share_here, current)
                    plane_which[at] = np.where(deeper, which_here, current_which)
            worst[:, :, first:last] = plane[:, :, None]
            chosen[:, :, first:last] = plane_which[:, :, None]
        for k, (event, share) in enumerate(self.overrides):
            at = self.event_cells(event)
            current = worst[at]
            deeper = share > current
            worst[at] = np.where(deeper, share, current)
            chosen[at] = np.where(deeper, len(self.context.rules.mechanics) + k, chosen[at])
        return worst, chosen

    @cached_property
    def overrides(self) -> list[tuple[Event, float]]:
        """Events that set their own `depth` or `funding`, with the funding share x depth they run at (the
        simulator's: planner/compile/promotions.py). They run where they are planned, whatever the mechanic's
        scope, so they join the worst case at their own cells."""
        mechanics = self.context.rules.ids("mechanics")
        out = []
        for event in self.context.rules.events:
            mechanic = mechanics.get(event.mechanic)
            if mechanic is None or (event.depth is None and event.funding is None):
                continue
            depth = mechanic.effective_depth if event.depth is None else event.depth
            funding = mechanic.funding if event.funding is None else event.funding
            out.append((event, funding * depth))
        return out

    def event_cells(self, event: Event) -> tuple[Any, ...]:
        index = self.context.index
        group = self.context.rules.ids("product_groups").get(event.product_group)
        a = index.account_position.get(event.account)
        weeks = [w - 1 for w in event.weeks if 1 <= w <= index.calendar.weeks]
        products = np.flatnonzero(index.product_mask(group.products)) if group is not None else np.array([], int)
        if a is None:
            return (np.array([], dtype=np.intp),) * 3
        return np.ix_(np.array([a]), products, np.array(weeks, dtype=np.intp))

    @property
    def funding(self) -> FloatArray:
        """Largest funding per case any allowed mechanic costs (funding is share x depth x shelf price)."""
        return self._funding_and_mechanic[0]

    def deepest_mechanic(self, cell: Cell) -> tuple[str | None, str | None]:
        """(mechanic id, event id when an event's own depth or funding sets the worst case there)."""
        m = int(self._funding_and_mechanic[1][cell.account, cell.product, cell.week])
        mechanics = self.context.rules.mechanics
        if m < 0:
            return None, None
        if m < len(mechanics):
            return str(mechanics[m].id), None
        event = self.overrides[m - len(mechanics)][0]
        return str(event.mechanic), str(event.id)

    @cached_property
    def rebate_rate(self) -> FloatArray:
        """Sum over rebates live in a cell of their highest tier rate, added in file order. The rebates' dates cut
        the year into runs of weeks that the same rebates cover: each run is summed once over accounts x products
        (the same additions in the same order as cell by cell) and copied to its weeks."""
        index = self.context.index
        rate = np.zeros(index.shape)
        scopes = []
        for rebate in self.context.rules.rebates:
            weeks = index.week_range(rebate.valid)
            at = block(positions(index.account_mask(rebate.applies_to)), positions(index.product_mask(rebate.applies_to)),
                       slice(None))[:2]
            scopes.append((weeks.start, weeks.stop, at, max(t.rate for t in rebate.tiers)))
        for first, last in week_runs([(start, stop) for start, stop, *_ in scopes], index.calendar.weeks):
            plane = np.zeros(index.shape[:2])
            for start, stop, at, top in scopes:
                if start <= first and last <= stop:
                    plane[at] += top
            rate[:, :, first:last] = plane[:, :, None]
        return rate

    @cached_property
    def dead_net(self) -> FloatArray:
        return dead_net_price(self.context.stack.invoice, self.funding, self.rebate_rate)

    def _rebates_at(self, cell: Cell) -> list[str]:
        """Rebates live in a cell, in file order, through their distinct scopes (one mask look-up per scope)."""
        index, rebates = self.context.index, self.context.rules.rebates
        if "rebates" not in self._scopes:
            by_scope: dict[tuple[int, int, int], tuple[Any, list[int]]] = {}
            for k, r in enumerate(rebates):
                masks = (index.account_mask(r.applies_to), index.product_mask(r.applies_to), index.week_mask(r.valid))
                by_scope.setdefault((id(masks[0]), id(masks[1]), id(masks[2])), (masks, []))[1].append(k)
            self._scopes["rebates"] = list(by_scope.values())
        live = sorted(k for (accounts, products, weeks), members in self._scopes["rebates"]
                      if accounts[cell.account] and products[cell.product] and weeks[cell.week] for k in members)
        return [rebates[k].id for k in live]

    def _discounts_at(self, cell: Cell) -> list[str]:
        """Ids of the discounts applied at a cell, in application order, through their distinct blocks
        (what Stack.applied_at gives, without a look at every discount)."""
        table, stack = self.context.discounts, self.context.stack
        if "discounts" not in self._scopes:
            by_block: dict[tuple[bytes, bytes, int, int], tuple[Any, list[int]]] = {}
            for d in range(len(table)):
                key = (b"*" if table.accounts[d] is None else table.accounts[d].tobytes(),  # type: ignore[union-attr]
                       b"*" if table.products[d] is None else table.products[d].tobytes(),  # type: ignore[union-attr]
                       table.weeks[d].start, table.weeks[d].stop)
                by_block.setdefault(key, (d, []))[1].append(d)
            self._scopes["discounts"] = list(by_block.values())
        applied: list[int] = []
        for first, members in self._scopes["discounts"]:
            local = table.local(first, cell)
            if local is not None:
                applied.extend(d for d in members if stack.applied[d][local])
        return [table.ids[d] for d in sorted(applied)]

    def stack_at(self, cell: Cell) -> tuple[dict[str, Any], list[Location]]:
        """The example of a cell and the related locations of its stack (once per cell: floors on overlapping
        scopes often share their worst cell)."""
        if cell not in self._stacks:
            example = self.explain(cell)
            self._stacks[cell] = (example, _related(self.context, example))
        example, locations = self._stacks[cell]
        return dict(example), locations

    def explain(self, cell: Cell) -> dict[str, Any]:
        context, index = self.context, self.context.index
        a, p, w = cell.account, cell.product, cell.week
        mechanic, event = self.deepest_mechanic(cell)
        return {
            **index.cell_names(cell),
            "list_price": round(float(index.products[p].list_price), 2),
            "invoice_price": round(float(context.stack.invoice[a, p, w]), 2),
            "discounts": self._discounts_at(cell),
            "mechanic": mechanic,
            **({"event": event} if event else {}),
            "funding_per_case": round(float(self.funding[a, p, w]), 2),
            "rebates": self._rebates_at(cell),
            "rebate_rate": round(float(self.rebate_rate[a, p, w]), 4),
            "dead_net": round(float(self.dead_net[a, p, w]), 2),
            "cogs": round(float(index.products[p].cogs), 2),
        }


@dataclass
class WeekReduced:
    """The dead-net's minimum over the weeks per account x product, taken once: a required price is per product
    (the same in every week), so per account x product the most negative gap over the weeks is that minimum less
    the requirement (exactly: subtracting one number keeps the order of floats). A floor then looks only at its
    own accounts x products, and the week and the count of breaching cells are computed for findings only."""

    dead_net: FloatArray
    lowest: FloatArray

    @classmethod
    def of(cls, dead_net: FloatArray) -> WeekReduced:
        return cls(dead_net, dead_net.min(axis=2))

    def worst(self, required: FloatArray, accounts: npt.NDArray[np.intp],
              products: npt.NDArray[np.intp]) -> tuple[Cell, int] | None:
        """The worst breaching cell over accounts x products (the first in account, product, week order among equal
        gaps, as a flat argmin over the cells would pick), and the number of breaching cells. `required` is the
        price per product, shaped (1, products, 1)."""
        per_product = required[0, :, 0]
        gap = self.lowest[np.ix_(accounts, products)] - per_product[products][None, :]
        breach = gap < -BREACH
        if not breach.any():
            return None
        i, j = np.unravel_index(np.where(breach, gap, np.inf).argmin(), gap.shape)
        a, p = int(accounts[i]), int(products[j])
        week = int((self.dead_net[a, p, :] - per_product[p]).argmin())
        limit = required[:, products, :] - BREACH
        count = int((self.dead_net[np.ix_(accounts, products)] < limit).sum())
        return Cell(a, p, week), count


def check_floors(context: CheckContext) -> list[Finding]:
    index, rules = context.index, context.rules
    if 0 in index.shape:  # no cell; with no terms at all the dead-net is the banded list price, still checked
        return []
    worst = WorstCase(context)
    cogs = np.array([p.cogs for p in index.products])[None, :, None]
    findings = []
    reduced = WeekReduced.of(worst.dead_net)
    solved: dict[tuple[int, int, float], tuple[Cell, int] | None] = {}
    for floor in rules.price_floors:
        accounts, products = index.account_mask(floor.applies_to), index.product_mask(floor.applies_to)
        key = (id(accounts), id(products), floor.min_markup)
        if key not in solved:  # masks of equal scopes are one object: floors on one scope are solved once
            solved[key] = reduced.worst(cogs * (1 + floor.min_markup), np.flatnonzero(accounts),
                                        np.flatnonzero(products))
        if solved[key] is not None:
            cell, count = solved[key]  # type: ignore[misc]
            findings.append(_floor_finding(worst, floor, cell, count, cogs))
    for p, product in enumerate(index.products):
        result = reduced.worst(cogs, np.arange(len(index.accounts)), np.array([p]))
        if result is None:
            continue
        cell, count = result
        example, locations = worst.stack_at(cell)
        findings.append(finding(
            BELOW_COGS,
            f"{product.id}: the worst legal stack sells below COGS in {count} account x week cells; worst: "
            f"{example['account']} week {example['week']}, dead-net {example['dead_net']:.2f} < COGS {product.cogs:.2f}",
            product.location, related=locations, example=example,
            fix="add a price floor and keep deep mechanics, stacked discounts and top rebate tiers from meeting here"))
    return findings


def _floor_finding(worst: WorstCase, floor: PriceFloor, cell: Cell, count: int, cogs: FloatArray) -> Finding:
    example, locations = worst.stack_at(cell)
    counts = {key: example.pop(key) for key in list(example) if key.endswith("_not_shown")}
    example["floor"] = round(float((cogs * (1 + floor.min_markup))[0, cell.product, 0]), 2)
    example.update(counts)
    return finding(
        PRICE_FLOOR_BREACH,
        f"price floor '{floor.id}' (COGS + {floor.min_markup:.0%}) breached in {count} account x product x week "
        f"cells; worst: {example['account']} x {example['product']} week {example['week']}, dead-net "
        f"{example['dead_net']:.2f} < floor {example['floor']:.2f}",
        floor.location, related=locations, example=example,
        fix="limit the stack there: a shallower mechanic, lower funding share, a narrower discount or a "
            "smaller top rebate rate")


def _related(context: CheckContext, example: dict[str, Any]) -> list[Any]:
    """The discounts, mechanic and rebates of the example's stack; long id lists are capped (the rest counted), and
    only the locations shown are looked up."""
    rules = context.rules
    involved = [("discounts", d) for d in example["discounts"]]
    if example["mechanic"]:
        involved.append(("mechanics", example["mechanic"]))
    if "event" in example:
        involved.append(("events", example["event"]))
    involved.extend(("rebates", r) for r in example["rebates"])
    example["discounts"] = shown(example["discounts"], example, "discounts_not_shown")
    example["rebates"] = shown(example["rebates"], example, "rebates_not_shown")
    return related(CountedLocations(rules, involved), example)


@dataclass
class CountedLocations(Sequence[Location]):
    """Locations of (section, id) pairs, looked up only when read (a capped list reads SHOWN of them)."""

    rules: RuleSet
    involved: list[tuple[str, str]]

    def __len__(self) -> int:
        return len(self.involved)

    @overload
    def __getitem__(self, at: int) -> Location: ...
    @overload
    def __getitem__(self, at: slice) -> list[Location]: ...

    def __getitem__(self, at: int | slice) -> Location | list[Location]:
        if isinstance(at, slice):
            return [self.rules.ids(section)[item].location for section, item in self.involved[at]]
        section, item = self.involved[at]
        return self.rules.ids(section)[item].location  # type: ignore[no-any-return]
