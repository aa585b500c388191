"""Compile a rule set into dense arrays over account x product x week: everything the economics core needs.

Every scope is resolved once here (planner.compile.index); the economics core then runs without per-cell Python.
Account-level amounts (fixed discounts, shelf fees, display fees, coolers) are spread over the cells they cover in
proportion to expected baseline volume, so every total is the sum of its cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from planner.compile.discounts import stack_discounts
from planner.compile.index import FloatArray, PlanIndex
from planner.compile.terms import band_prices, compile_discounts, shelf_price
from planner.rules.schema import Rebate, RuleSet
from planner.rules.schema.common import AccountScope, ProductScope, Scope

IntArray = npt.NDArray[np.int64]
Named = TypeVar("Named")


@dataclass(frozen=True)
class Demand:
    """Demand inputs per cell. Baseline volume is measured at the undiscounted shelf price."""

    baseline: FloatArray
    """(A, P) cases per week; 0 where the account does not carry the product."""
    seasonality: FloatArray
    """(A, W) multiplier: the account's seasonality profile (the last baseline entry naming one)."""
    holiday: FloatArray
    """(A, P, W) multiplier: holidays, times, for a product whose baseline entry names a profile other than the
    account's, that profile over the account's (so each product follows its own entry's seasonality)."""
    shelf: FloatArray
    """(A, P) multiplier from shelf-share targets: (target / current) ** shelf_elasticity."""
    display: FloatArray
    """(A, P, W) multiplier from bought display space."""
    cooler_cases: FloatArray
    """(A, P) extra cases per week from coolers."""
    elasticity: FloatArray
    """(A, P) shelf-price elasticity."""
    post_promo_dip: FloatArray
    """(A, P) share of incremental volume lost after a promotion."""
    dip_weeks: IntArray
    """(A, P) weeks the dip is spread over."""
    cannibalization: FloatArray
    """(A, P) share of incremental volume taken from unpromoted products of the same category."""
    baseline_noise: FloatArray
    """(A, P) coefficient of variation of weekly baseline volume."""
    elasticity_sd: FloatArray
    """(A, P) standard deviation of the elasticity."""
    post_promo_dip_sd: FloatArray
    """(A, P) standard deviation of the dip share."""
    cannibalization_sd: FloatArray
    """(A, P) standard deviation of the cannibalization share."""
    lifts: dict[str, FloatArray] = field(default_factory=dict)
    """Mechanic id -> (A, P) lift, for the mechanics a response profile names (`Response.lifts`); a mechanic
    not in it has its own `lift` everywhere."""
    lift_sd: dict[str, FloatArray] = field(default_factory=dict)
    """Mechanic id -> (A, P) standard deviation of the log lift, for the mechanics a response profile names in
    `Response.lift_sd`; a mechanic not in it has an exact lift."""
    holiday_uplift_sd: dict[str, FloatArray] = field(default_factory=dict)
    """Holiday id -> (A, P) standard deviation of the log uplift, for the holidays a response profile names in
    `Response.holiday_uplift_sd`; a holiday not in it has an exact uplift."""

    @cached_property
    def expected_base(self) -> FloatArray:
        """(A, P, W) expected unpromoted volume before price response: the weight for spreading fees."""
        base = self.holiday * self.display
        base *= self.seasonality[:, None, :]
        base *= (self.baseline * self.shelf)[:, :, None]
        return base


@dataclass(frozen=True)
class Fees:
    """Fixed amounts per cell (money), already spread over the cells they cover."""

    fixed_discounts: FloatArray
    shelf: FloatArray
    display: FloatArray
    cooler: FloatArray

    @cached_property
    def vividness(self) -> FloatArray:
        total = self.shelf + self.display
        total += self.cooler
        return total

    @cached_property
    def total(self) -> FloatArray:
        """Every fixed amount: fixed discounts and vividness fees."""
        total = self.fixed_discounts + self.vividness
        return total


@dataclass(frozen=True)
class CompiledRebate:
    rebate: Rebate
    accounts: IntArray
    products: npt.NDArray[np.bool_]
    """(P,) products whose volume counts."""
    weeks: slice
    periods: tuple[range, ...]
    """0-based week ranges of each settlement period (quarters, or the year)."""
    last_year: FloatArray
    """(len(accounts),) last year's volume per period, for growth rebates."""


def tier_bands(rebate: Rebate) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(lower bounds, upper bounds, rates) in the rebate's own measure, tiers sorted by lower bound."""
    tiers = sorted(rebate.tiers, key=lambda t: t.from_)
    lower = np.array([t.from_ for t in tiers], dtype=float)
    upper = np.array([t.to if t.to is not None else (tiers[k + 1].from_ if k + 1 < len(tiers) else np.inf)
                      for k, t in enumerate(tiers)], dtype=float)
    rates = np.array([t.rate for t in tiers], dtype=float)
    return lower, upper, rates


@dataclass(frozen=True)
class RebateGroup:
    """Rebates whose payouts are computed as one array: the same products, basis, method, cap, weeks, settlement
    periods and number of tiers (a re-plan's copies of one rebate, one per account and quarter, form one group per
    quarter). One row per rebate and account in its scope, in the order of the rebates."""

    like: CompiledRebate
    """The group's first rebate: its products, weeks, periods, basis, method and cap are every row's."""
    accounts: IntArray
    """(n,) account of each row."""
    last_year: FloatArray
    """(n,) last year's volume per period of each row."""
    lower: FloatArray
    """(n, tiers) each row's tier bands (tier_bands)."""
    upper: FloatArray
    rates: FloatArray


def group_rebates(rebates: tuple[CompiledRebate, ...]) -> tuple[RebateGroup, ...]:
    """The rebates that cover an account and a product, grouped by what their payouts share (RebateGroup)."""
    members: dict[tuple[object, ...], list[CompiledRebate]] = {}
    for item in rebates:
        if len(item.accounts) and item.products.any():
            rebate = item.rebate
            key = (item.products.tobytes(), rebate.basis, rebate.method, rebate.cap, item.weeks.start,
                   item.weeks.stop, item.periods, len(rebate.tiers))
            members.setdefault(key, []).append(item)
    groups = []
    for items in members.values():
        bands = [tier_bands(item.rebate) for item in items]
        rows = [len(item.accounts) for item in items]
        lower, upper, rates = (np.repeat(np.array([band[k] for band in bands]), rows, axis=0) for k in range(3))
        groups.append(RebateGroup(items[0], np.concatenate([item.accounts for item in items]),
                                  np.concatenate([item.last_year for item in items]), lower, upper, rates))
    return tuple(groups)


@dataclass(frozen=True)
class Compiled:
    index: PlanIndex
    list_price: FloatArray
    """(P,) list price per case."""
    cogs: FloatArray
    """(P,) COGS per case."""
    band_price: FloatArray
    """(A, P) list price after price bands."""
    invoice: FloatArray
    """(A, P, W) invoice price after off-invoice discounts."""
    markup: FloatArray
    """(A,) retail markup."""
    pass_through: FloatArray
    """(A,) pass-through of trade discounts to the shelf."""
    demand: Demand
    fees: Fees
    rebates: tuple[CompiledRebate, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.index.shape

    @cached_property
    def rebate_groups(self) -> tuple[RebateGroup, ...]:
        """The rebates grouped by what their payouts share, for one array computation per group."""
        return group_rebates(self.rebates)

    @cached_property
    def shelf_regular(self) -> FloatArray:
        """(A, P, W) regular shelf price: the trade discounts passed through (economics.waterfall)."""
        return shelf_price(self.band_price, self.invoice, self.markup, self.pass_through)

    @cached_property
    def price_ratio(self) -> FloatArray:
        """(A, P, W) regular shelf price / undiscounted shelf price (band x (1 + markup))."""
        reference = self.band_price[:, :, None] * (1.0 + self.markup[:, None, None])
        return np.divide(self.shelf_regular, reference, out=np.ones(self.shape), where=reference > 0)

    @cached_property
    def price_factor(self) -> FloatArray:
        """(A, P, W) volume response to the regular shelf price at the expected elasticity."""
        return np.power(self.price_ratio, self.demand.elasticity[:, :, None])

    @cached_property
    def off_invoice_per_case(self) -> FloatArray:
        """(A, P, W) list price - invoice price: bands and off-invoice discounts per case."""
        return self.list_price[None, :, None] - self.invoice

    @cached_property
    def category(self) -> npt.NDArray[np.intp]:
        """(P,) category number of each product."""
        return np.unique([p.category for p in self.index.products], return_inverse=True)[1]


def _spread(out: FloatArray, amount: float, accounts: npt.NDArray[np.bool_], products: npt.NDArray[np.bool_],
            weeks: npt.NDArray[np.bool_], weight: FloatArray, per_week: bool = False) -> None:
    """Add `amount` per account in `accounts` (or per account and week with `per_week`), spread over the block
    accounts x products x weeks in proportion to `weight`. Only the block is touched."""
    if not (accounts.any() and products.any() and weeks.any()):
        return
    cells = np.ix_(np.flatnonzero(accounts), np.flatnonzero(products), np.flatnonzero(weeks))
    weighted = weight[cells]
    total = weighted.sum(axis=(1,) if per_week else (1, 2), keepdims=True)
    even = 1.0 / (weighted.shape[1] if per_week else weighted.shape[1] * weighted.shape[2])
    share = np.divide(weighted, total, out=np.full_like(weighted, even), where=total > 0)
    out[cells] += share * amount


class _Profiles:
    """Response profiles resolved onto account x product cells: which profile wins each cell.

    The most specific profile covering a cell wins (most scope keys; ties: the later one). A calibrated rule set
    holds a profile per account x product, so a profile writes only its own block of cells (its accounts x its
    products), never a full (A, P) mask."""

    def __init__(self, rules: RuleSet, index: PlanIndex) -> None:
        self.index = index
        self.profiles = rules.response
        self.order = sorted(range(len(self.profiles)), key=lambda k: self.profiles[k].applies_to.specificity)
        self.blocks: dict[int, tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = {}
        self.winner = self._winners(self.order)

    def _block(self, k: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """The profile's accounts and products, by position. Named ids are looked up directly (the common case of
        a calibrated profile), other keys resolve through the index's masks."""
        if k not in self.blocks:
            scope = self.profiles[k].applies_to
            self.blocks[k] = (self._positions(scope, AccountScope.ACCOUNT_KEYS, "account"),
                              self._positions(scope, ProductScope.PRODUCT_KEYS, "product"))
        return self.blocks[k]

    def _positions(self, scope: Scope, keys: tuple[str, ...], named: str) -> npt.NDArray[np.intp]:
        ids = getattr(scope, named)
        if ids is not None and all(getattr(scope, key) is None for key in keys if key != named):
            position = self.index.account_position if named == "account" else self.index.product_position
            return np.array(sorted({position[i] for i in ids if i in position}), dtype=np.intp)
        mask = self.index.account_mask(scope) if named == "account" else self.index.product_mask(scope)
        return np.flatnonzero(mask)

    def _winners(self, order: list[int]) -> npt.NDArray[np.intp]:
        """(A, P) position of the winning profile among `order` (ascending specificity), -1 where none covers:
        each cell takes the profile latest in `order` that covers it."""
        products = len(self.index.products)
        cells, ranks = [np.zeros(0, dtype=np.intp)], [np.zeros(0, dtype=np.intp)]
        for rank, k in enumerate(order):
            accounts, members = self._block(k)
            covered = (accounts[:, None] * products + members[None, :]).reshape(-1)
            cells.append(covered)
            ranks.append(np.full(len(covered), rank, dtype=np.intp))
        best = np.full(len(self.index.accounts) * products, -1, dtype=np.intp)
        np.maximum.at(best, np.concatenate(cells), np.concatenate(ranks))
        positions = np.array([*order, -1], dtype=np.intp)
        return positions[best].reshape(len(self.index.accounts), products)  # rank -1 picks the trailing -1

    def parameter(self, name: str, default: float) -> FloatArray:
        """A response parameter per account x product: the winning profile's value, `default` where none."""
        values = np.array([getattr(p, name) for p in self.profiles] + [default], dtype=float)
        return values[self.winner]  # -1 picks the default at the end

    def by_id(self, name: str, targets: Mapping[str, Named], own: Callable[[Named], float]) -> dict[str, FloatArray]:
        """(A, P) value of each target (a mechanic, a holiday) some profile names in its map `name` (`lifts`,
        `lift_sd`, `holiday_uplifts`, `holiday_uplift_sd`): per target, the most specific profile covering the cell
        that names it wins; `own(target)` where none does."""
        out: dict[str, FloatArray] = {}
        named = sorted({m for p in self.profiles for m in getattr(p, name) if m in targets})
        for target in named:
            order = [k for k in self.order if target in getattr(self.profiles[k], name)]
            values = np.array([getattr(self.profiles[k], name).get(target, 0.0) for k in range(len(self.profiles))]
                              + [own(targets[target])], dtype=float)
            out[target] = values[self._winners(order)]
        return out


def _weekly(weights: tuple[float, ...], quarter_of: npt.NDArray[np.intp], weeks: int) -> FloatArray:
    """A profile's 4 (quarter), 13 (four-week period) or 52 (week) weights as one weight per fiscal week."""
    values = np.array(weights, dtype=float)
    if len(values) == 4:
        return values[np.minimum(quarter_of, 3)]
    if len(values) == 13:
        return values[np.minimum(np.arange(weeks) // 4, 12)]
    return np.resize(values, weeks)


def _seasonality(rules: RuleSet, index: PlanIndex) -> tuple[FloatArray, dict[tuple[int, int], FloatArray]]:
    """(A, W) the account's seasonality (the last baseline entry naming a profile), and, for the products whose
    own entry names another profile, (a, p) -> the ratio of that profile to the account's, per week."""
    weeks = index.calendar.weeks
    profiles = rules.ids("seasonality")
    out = np.ones((len(index.accounts), weeks))
    quarter_of = np.array([index.calendar.quarter_of(w) - 1 for w in range(1, weeks + 1)])
    own: dict[tuple[int, int], str] = {}
    account_profile: dict[int, str] = {}
    for baseline in rules.baselines:
        a = index.account_position.get(baseline.account)
        profile = profiles.get(baseline.seasonality) if baseline.seasonality else None
        if a is None or profile is None:
            continue
        out[a] = _weekly(profile.weights, quarter_of, weeks)
        account_profile[a] = profile.id
        for product in baseline.cases_per_week:
            p = index.product_position.get(product)
            if p is not None:
                own[(a, p)] = profile.id
    ratios = {}
    for (a, p), profile_id in own.items():
        if profile_id != account_profile[a]:
            ratios[(a, p)] = _weekly(profiles[profile_id].weights, quarter_of, weeks) / out[a]
    return out, ratios


def compile_demand(rules: RuleSet, index: PlanIndex) -> Demand:
    accounts, products, weeks = index.shape
    baseline = np.zeros((accounts, products))
    for entry in rules.baselines:
        row = index.account_position.get(entry.account)
        for product, cases in entry.cases_per_week.items():
            p = index.product_position.get(product)
            if row is not None and p is not None:
                baseline[row, p] += cases
    profiles = _Profiles(rules, index)
    holiday = np.ones(index.shape)
    days = rules.calendar.holidays if rules.calendar else ()
    uplifts = profiles.by_id("holiday_uplifts", {day.id: day for day in days}, lambda day: day.uplift)
    for day in days:  # a response profile's uplift of the holiday replaces the calendar's in the cells it covers
        live = [w - 1 for w in day.weeks if w <= weeks]
        cells = index.account_mask(day.applies_to)[:, None] & index.product_mask(day.applies_to)[None, :]
        holiday[:, :, live] *= np.where(cells, uplifts.get(day.id, day.uplift), 1.0)[:, :, None]
    seasonality, own_season = _seasonality(rules, index)
    for (row, column), ratio in own_season.items():  # a product whose baseline entry names its own profile
        holiday[row, column] *= ratio
    mechanics = rules.ids("mechanics")
    shelf_elasticity = profiles.parameter("shelf_elasticity", 0.3)
    shelf = np.ones((accounts, products))
    for target in rules.shelf_targets:
        for a in np.flatnonzero(index.account_mask(target.applies_to)):
            current = index.accounts[a].shelf_share.get(target.category)
            if not current or target.share <= current:
                continue
            cells = np.array([p.category == target.category and (target.brand is None or p.brand in target.brand)
                              for p in index.products])
            shelf[a, cells] *= (target.share / current) ** shelf_elasticity[a, cells]
    display = np.ones(index.shape)
    for item in rules.displays:
        weeks_live = [w - 1 for w in item.weeks if w <= weeks] if item.weeks else list(range(weeks))
        cells = index.account_mask(item.applies_to)[:, None] & index.product_mask(item.products)[None, :]
        display[:, :, weeks_live] *= np.where(cells, item.lift, 1.0)[:, :, None]
    cooler_cases = np.zeros((accounts, products))
    for cooler in rules.coolers:
        cells = index.account_mask(cooler.applies_to)[:, None] & index.product_mask(cooler.products)[None, :] \
            & (baseline > 0)
        weight = np.where(cells, baseline, 0.0)
        total = weight.sum(axis=1, keepdims=True)
        cooler_cases += np.divide(weight, total, out=np.zeros_like(weight), where=total > 0) \
            * cooler.units * cooler.cases_per_unit_week
    return Demand(
        baseline=baseline, seasonality=seasonality, holiday=holiday, shelf=shelf, display=display,
        cooler_cases=cooler_cases, elasticity=profiles.parameter("elasticity", -2.0),
        post_promo_dip=profiles.parameter("post_promo_dip", 0.0),
        dip_weeks=profiles.parameter("dip_weeks", 1).astype(np.int64),
        cannibalization=profiles.parameter("cannibalization", 0.0),
        baseline_noise=profiles.parameter("baseline_noise", 0.1),
        elasticity_sd=profiles.parameter("elasticity_sd", 0.2),
        post_promo_dip_sd=profiles.parameter("post_promo_dip_sd", 0.0),
        cannibalization_sd=profiles.parameter("cannibalization_sd", 0.0),
        lifts=profiles.by_id("lifts", mechanics, lambda mechanic: mechanic.lift),
        lift_sd=profiles.by_id("lift_sd", mechanics, lambda _mechanic: 0.0),
        holiday_uplift_sd=profiles.by_id("holiday_uplift_sd", {day.id: day for day in days}, lambda _day: 0.0),
    )


def compile_fees(rules: RuleSet, index: PlanIndex, demand: Demand) -> Fees:
    weight = demand.expected_base
    every_week = np.ones(index.calendar.weeks, dtype=bool)
    fixed = np.zeros(index.shape)
    for discount in rules.discounts:
        if discount.fixed is None:
            continue
        _spread(fixed, discount.fixed, index.account_mask(discount.applies_to), index.product_mask(discount.applies_to),
                index.week_mask(discount.valid), weight)
    shelf = np.zeros(index.shape)
    for target in rules.shelf_targets:
        in_category = np.array([p.category == target.category and (target.brand is None or p.brand in target.brand)
                                for p in index.products], dtype=bool)
        for a in np.flatnonzero(index.account_mask(target.applies_to)):
            points = max(0.0, target.share - index.accounts[a].shelf_share.get(target.category, target.share)) * 100
            if points:
                _spread(shelf, points * target.cost_per_point, np.arange(len(index.accounts)) == a, in_category,
                        every_week, weight)
    display = np.zeros(index.shape)
    for item in rules.displays:
        live = every_week.copy()
        if item.weeks:
            live[:] = False
            live[[w - 1 for w in item.weeks if w <= index.calendar.weeks]] = True
        _spread(display, item.fee_per_week, index.account_mask(item.applies_to), index.product_mask(item.products),
                live, weight, per_week=True)
    cooler = np.zeros(index.shape)
    for unit in rules.coolers:
        _spread(cooler, unit.units * unit.cost_per_unit, index.account_mask(unit.applies_to),
                index.product_mask(unit.products), every_week, weight)
    return Fees(fixed_discounts=fixed, shelf=shelf, display=display, cooler=cooler)


def compile_rebates(rules: RuleSet, index: PlanIndex) -> tuple[CompiledRebate, ...]:
    quarters = [range(r.start - 1, r.stop - 1) for r in
                (index.calendar.quarter_weeks(q) for q in range(1, len(index.calendar.quarters) + 1))]
    year = (range(index.calendar.weeks),)
    out = []
    for rebate in rules.rebates:
        accounts = np.flatnonzero(index.account_mask(rebate.applies_to))
        periods = tuple(quarters) if rebate.period == "quarter" else year
        last_year = np.array([index.accounts[a].last_year_volume / len(periods) for a in accounts])
        out.append(CompiledRebate(rebate, accounts, index.product_mask(rebate.applies_to),
                                  index.week_range(rebate.valid), periods, last_year))
    return tuple(out)


def compile_rules(rules: RuleSet) -> Compiled:
    """Everything but the promotion calendar, which `planner.compile.promotions` compiles separately (the
    optimizer builds its own)."""
    index = PlanIndex.of(rules)
    band = band_prices(rules, index)
    stack = stack_discounts(band, compile_discounts(rules, index), index.calendar.weeks)
    demand = compile_demand(rules, index)
    return Compiled(
        index=index,
        list_price=np.array([p.list_price for p in index.products], dtype=float),
        cogs=np.array([p.cogs for p in index.products], dtype=float),
        band_price=band, invoice=stack.invoice,
        markup=np.array([a.retail_markup for a in index.accounts], dtype=float),
        pass_through=np.array([a.pass_through for a in index.accounts], dtype=float),
        demand=demand, fees=compile_fees(rules, index, demand), rebates=compile_rebates(rules, index),
    )
