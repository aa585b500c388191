"""Properties of the economics core (planner.economics, planner.compile.model/promotions, planner.simulate) on small
generated worlds: 1-3 accounts, 1-4 products, 4-13 weeks, with random price bands, discounts, rebates, mechanics,
events, holidays, seasonality, response parameters, shelf targets, displays, coolers and budgets.

Each property states a fact a finance reader relies on: the P&L adds up; account-level money is neither lost nor
invented when it is spread over cells; a deeper discount never raises the dead-net price; rebates never pay less
for more; money is in no particular unit; the order of accounts is irrelevant; no promotion means baseline volume;
volume is never negative; Monte Carlo is reproducible. Where a property needs a precondition (a monotone tier
table, no cap), the world generator is told so and the docstring says why.

The economics-specific world generator lives here; shared building blocks (ids, scopes, calendars, date ranges,
price bands, `build_world`) come from tests/strategies.py, the profile (`ci` / `nightly`) from tests/conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from strategies import (
    BRANDS,
    CATEGORIES,
    CHANNELS,
    POSITIONS,
    REGIONS,
    TIERS,
    account_scopes,
    build_world,
    calendars,
    date_ranges,
    price_bands,
    product_scopes,
    scopes,
)

from planner.compile.index import PlanIndex
from planner.compile.model import Compiled, compile_rules
from planner.economics.core import Cells, evaluate
from planner.economics.rebates import payout
from planner.results import MONEY_AND_VOLUME, Kpis, PolicyCheck
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import (
    Account,
    Baseline,
    Budget,
    Calendar,
    Cooler,
    Discount,
    Display,
    DisplayMinRevenue,
    Event,
    Holiday,
    MarginFloor,
    Mechanic,
    Product,
    ProductGroup,
    Rebate,
    Response,
    RuleSet,
    Seasonality,
    ShelfTarget,
    TradeSpendCap,
)
from planner.rules.schema.common import Scope
from planner.simulate import WEEKLY, promotions_for, simulate

RATIOS = ("gross_margin", "trade_spend_pct", "promo_roi")
VOLUMES = ("volume", "incremental_volume")


# ---------------------------------------------------------------------------------------------------- worlds

@dataclass(frozen=True)
class Shape:
    """What a generated world may contain (the preconditions of one property)."""

    best_of: bool = True
    """best_of discounts may occur."""
    percent_discount: bool = False
    """At least one percent discount (the first)."""
    caps: bool = True
    """Rebates may have a cap."""
    rebate_bases: tuple[str, ...] = ("volume", "revenue", "growth")
    monotone_tiers: bool = False
    """Rebate rates never fall as tiers rise, and tiers are contiguous (no gaps)."""
    max_depth: float = 0.9
    """Deepest effective depth of a consumer mechanic or event (100% would be a free product: infinite demand)."""
    max_lift: float = 3.0
    max_dip: float = 0.6
    max_cannibalization: float = 0.5
    extreme_response: bool = False
    """Dip and cannibalization of 50-100% and lifts up to 10."""
    carry_everything: bool = False
    """Every account carries every product (baseline >= 1 case/week): every cell has volume to vary."""
    noise: bool = False
    """Baseline noise of at least 5% (Monte Carlo has something to draw)."""
    events: bool = True


def _share(draw: st.DrawFn, top: float = 1.0) -> float:
    return draw(st.integers(0, round(top * 20))) * 5 / 100


@st.composite
def product_lists(draw: st.DrawFn) -> tuple[Product, ...]:
    """1-4 products; list prices of 20-90 so that no generated discount stack reaches a zero invoice price."""
    out = []
    for i in range(draw(st.integers(1, 4))):
        list_price = draw(st.integers(20, 90))
        out.append(Product(id=f"sku{i}", brand=draw(st.sampled_from(BRANDS)),
                           category=draw(st.sampled_from(CATEGORIES)),
                           list_price=list_price, cogs=round(list_price * draw(st.integers(30, 105)) / 100, 2)))
    return tuple(out)


@st.composite
def account_lists(draw: st.DrawFn) -> tuple[Account, ...]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        shelf = {c: draw(st.integers(1, 12)) * 5 / 100 for c in CATEGORIES if draw(st.booleans())}
        out.append(Account.model_validate({
            "id": f"acc{i}", "channel": draw(st.sampled_from(CHANNELS)), "tier": draw(st.sampled_from(TIERS)),
            "region": draw(st.sampled_from(REGIONS)), "partner_since": draw(st.integers(2005, 2027)),
            "market_position": draw(st.sampled_from(POSITIONS)), "shelf_share": shelf,
            "last_year_volume": draw(st.sampled_from((0, 3000, 12000, 40000))),
            "growth_target": draw(st.sampled_from((None, 0.0, 0.1, 0.25))),
            "pass_through": draw(st.integers(0, 10)) / 10, "retail_markup": draw(st.integers(0, 12)) * 5 / 100,
            "safety_stock_weeks": draw(st.sampled_from((0.0, 1.0, 2.5))),
        }))
    return tuple(out)


@st.composite
def tier_tables(draw: st.DrawFn, basis: str, monotone: bool) -> list[dict[str, Any]]:
    """1-3 tiers in the basis' own unit. Monotone: rates non-decreasing and contiguous (a `to` only ever equals the
    next tier's `from`); otherwise rates may fall and a tier may end early (a gap)."""
    pool = {"volume": (0, 500, 2000, 5000, 10000, 25000), "revenue": (0, 20_000, 100_000, 300_000, 1_000_000),
            "growth": (0, 0.05, 0.1, 0.25, 0.5)}[basis]
    starts = sorted(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)))
    rates = [draw(st.integers(0, 10)) / 200 for _ in starts]
    if monotone:
        rates.sort()
    tiers: list[dict[str, Any]] = [{"from": s, "rate": r} for s, r in zip(starts, rates)]
    for k, tier in enumerate(tiers[:-1]):
        if draw(st.integers(0, 3)) == 0:
            tier["to"] = starts[k + 1] if monotone else (tier["from"] + starts[k + 1]) / 2
    return tiers


@st.composite
def economic_worlds(draw: st.DrawFn, shape: Shape = Shape()) -> RuleSet:
    base_calendar = draw(calendars(min_weeks=4, max_weeks=13))
    weeks = base_calendar.weeks
    account_list, product_list = draw(account_lists()), draw(product_lists())
    a, p = [x.id for x in account_list], [x.id for x in product_list]
    holidays = tuple(
        Holiday(id=f"hol{i}", weeks=tuple(draw(st.lists(st.integers(1, weeks), min_size=1, max_size=2, unique=True))),
                uplift=draw(st.sampled_from((0.8, 1.2, 1.5))), applies_to=Scope.model_validate(draw(scopes(a, p))))
        for i in range(draw(st.integers(0, 2))))
    calendar = Calendar(year=base_calendar.year, start=base_calendar.start, weeks=weeks,
                        quarters=base_calendar.quarters, holidays=holidays)
    periods = draw(st.sampled_from((4, 13, 52)))
    seasonality = Seasonality(id="season", weights=tuple(draw(st.lists(st.sampled_from((0.5, 0.8, 1.0, 1.3)),
                                                                       min_size=periods, max_size=periods))))
    baselines = []
    for account in a:
        carried = p if shape.carry_everything else draw(st.lists(st.sampled_from(p), min_size=1, unique=True))
        low = 1 if shape.carry_everything else 0
        baselines.append(Baseline(id=f"base-{account}", account=account,
                                  seasonality=draw(st.sampled_from((None, "season"))),
                                  cases_per_week={product: draw(st.integers(low, 2000)) for product in carried}))

    def response(id_: str, applies_to: dict[str, Any]) -> Response:
        extreme = shape.extreme_response
        return Response.model_validate({
            "id": id_, "applies_to": applies_to, "elasticity": -draw(st.integers(0, 8)) / 2,
            "post_promo_dip": draw(st.sampled_from((0.5, 1.0))) if extreme else _share(draw, shape.max_dip),
            "dip_weeks": draw(st.integers(1, 3)),
            "cannibalization": draw(st.sampled_from((0.5, 1.0))) if extreme
            else _share(draw, shape.max_cannibalization),
            "shelf_elasticity": draw(st.sampled_from((0.0, 0.3, 1.0))),
            "baseline_noise": draw(st.sampled_from((0.05, 0.2) if shape.noise else (0.0, 0.1))),
            "elasticity_sd": draw(st.sampled_from((0.0, 0.3))),
        })

    responses = [response("resp-all", {})]
    if draw(st.booleans()):
        responses.append(response("resp-cat", {"category": draw(st.sampled_from(CATEGORIES))}))

    discounts = []
    for i in range(draw(st.integers(1 if shape.percent_discount else 0, 3))):
        kind = "percent" if shape.percent_discount and i == 0 else \
            draw(st.sampled_from(("percent", "percent", "per_case", "fixed")))
        amount = (draw(st.integers(0, 30)) / 100 if kind == "percent"
                  else draw(st.integers(0, 6)) / 2 if kind == "per_case" else draw(st.integers(0, 5000)))
        raw: dict[str, Any] = {
            "id": f"disc{i}", "applies_to": draw(scopes(a, p)), kind: amount,
            "stacking": draw(st.sampled_from(("stack", "stack", "exclusive", "best_of")[: 4 if shape.best_of else 3])),
            "priority": draw(st.sampled_from((10, 20))), "stop": draw(st.integers(0, 4)) == 0,
        }
        if draw(st.booleans()):
            raw["group"] = "pool"
        if (valid := draw(date_ranges(weeks))) is not None:
            raw["valid"] = valid
        discounts.append(Discount.model_validate(raw))

    rebates = []
    for i in range(draw(st.integers(0, 2))):
        basis = draw(st.sampled_from(shape.rebate_bases))
        raw = {"id": f"reb{i}", "applies_to": draw(scopes(a, p)), "period": draw(st.sampled_from(("quarter", "year"))),
               "basis": basis, "method": draw(st.sampled_from(("retroactive", "incremental"))),
               "tiers": draw(tier_tables(basis, shape.monotone_tiers))}
        if (valid := draw(date_ranges(weeks))) is not None:
            raw["valid"] = valid
        if shape.caps and draw(st.booleans()):
            raw["cap"] = draw(st.sampled_from((100, 2000, 20000)))
        rebates.append(Rebate.model_validate(raw))

    mechanics = []
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("price_cut", "bogo", "multi_buy", "spend_save", "coupon", "feature", "display",
                                     "tasting")))
        raw = {"id": f"mech{i}", "kind": kind, "funding": _share(draw), "fixed_cost": draw(st.integers(0, 5000)),
               "lift": draw(st.sampled_from((1.0, 10.0) if shape.extreme_response else (1.0, 1.2, 2.0, 3.0))),
               "feature": draw(st.booleans())}
        if kind in ("price_cut", "coupon") or (kind in ("feature", "display", "tasting") and draw(st.booleans())):
            raw["depth"] = _share(draw, shape.max_depth)
        if kind in ("bogo", "multi_buy", "spend_save"):  # effective depth <= redemption <= max_depth
            raw["redemption"] = _share(draw, shape.max_depth)
        if kind == "multi_buy" or (kind == "bogo" and draw(st.booleans())):
            buy = draw(st.integers(2, 4))
            raw["buy"], raw["pay"] = buy, draw(st.integers(1, buy - 1))
        if kind == "spend_save":
            spend = draw(st.integers(20, 100))
            raw["spend"], raw["save"] = spend, draw(st.integers(0, spend - 1))
        mechanics.append(Mechanic.model_validate(raw))
    assert all(m.effective_depth <= shape.max_depth + 1e-12 for m in mechanics)

    groups = [ProductGroup.model_validate({"id": "everything", "products": {}})]
    groups += [ProductGroup.model_validate({"id": f"only-{x}", "products": {"product": x}}) for x in p]
    groups += [ProductGroup.model_validate({"id": f"cat-{c}", "products": {"category": c}}) for c in CATEGORIES]
    events = []
    for i in range(draw(st.integers(0, 4) if shape.events else st.just(0))):
        raw = {"id": f"ev{i}", "account": draw(st.sampled_from(a)), "product_group": draw(st.sampled_from(groups)).id,
               "mechanic": draw(st.sampled_from(mechanics)).id,
               "weeks": sorted(draw(st.lists(st.integers(1, weeks), min_size=1, max_size=3, unique=True)))}
        if draw(st.integers(0, 3)) == 0:
            raw["depth"] = _share(draw, shape.max_depth)
        if draw(st.integers(0, 3)) == 0:
            raw["funding"] = _share(draw)
        events.append(Event.model_validate(raw))

    shelf_targets = tuple(
        ShelfTarget.model_validate({"id": f"shelf{i}", "applies_to": draw(account_scopes(a)),
                                    "category": draw(st.sampled_from(CATEGORIES)), "share": _share(draw, 0.8),
                                    "cost_per_point": draw(st.sampled_from((0, 250, 1000)))})
        for i in range(draw(st.integers(0, 2))))
    displays = tuple(
        Display.model_validate({"id": f"disp{i}", "applies_to": draw(account_scopes(a)),
                                "products": draw(product_scopes(p)), "area_m2": 4,
                                "lift": draw(st.sampled_from((1.0, 1.1, 1.3))),
                                "fee_per_week": draw(st.integers(0, 3000)),
                                "weeks": draw(st.lists(st.integers(1, weeks), max_size=3, unique=True))})
        for i in range(draw(st.integers(0, 2))))
    coolers = tuple(
        Cooler.model_validate({"id": f"cool{i}", "applies_to": draw(account_scopes(a)),
                               "products": draw(product_scopes(p)),
                               "units": draw(st.integers(1, 5)), "cost_per_unit": draw(st.integers(0, 5000)),
                               "cases_per_unit_week": draw(st.integers(0, 20))})
        for i in range(draw(st.integers(0, 1))))
    budgets = []
    for i in range(draw(st.integers(0, 2))):
        least = draw(st.integers(0, 5)) * 1000
        budgets.append(Budget.model_validate({
            "id": f"budget{i}", "applies_to": draw(scopes(a, p)), "period": draw(st.sampled_from(("year", "Q1", "Q4"))),
            "per": draw(st.sampled_from(("total", "account"))), "min": least,
            "max": least + draw(st.integers(0, 50)) * 1000}))
    return build_world(
        calendar=calendar, accounts=account_list, products=product_list, seasonality=(seasonality,),
        baselines=tuple(baselines), product_groups=tuple(groups), response=tuple(responses),
        price_bands=draw(price_bands(a, p)), discounts=tuple(discounts), rebates=tuple(rebates),
        mechanics=tuple(mechanics), events=tuple(events), shelf_targets=shelf_targets, displays=displays,
        coolers=coolers, budgets=tuple(budgets),
        margin_floors=(MarginFloor(id="margin", per=draw(st.sampled_from(("account", "channel", "total"))),
                                   min_gross_margin=0.2),),
        trade_spend_caps=(TradeSpendCap(id="spend-cap", per=draw(st.sampled_from(("account", "channel", "total"))),
                                        max_share=0.25),),
        calendar_rules=(DisplayMinRevenue(id="display-revenue", kind="display_min_revenue",
                                          min_revenue=draw(st.integers(0, 20)) * 1000),),
    )


# --------------------------------------------------------------------------------------------------- helpers

def cells_of(rules: RuleSet) -> tuple[Compiled, Cells]:
    """The compiled arrays and the evaluated cells of the rules' own events."""
    compiled = compile_rules(rules)
    return compiled, evaluate(compiled, promotions_for(rules, compiled, rules.events))


def close(actual: float, expected: float, scale: float = 1.0, rel: float = 1e-9) -> bool:
    """Equal up to float noise: `scale` is the size of the numbers the value was summed from."""
    return bool(abs(actual - expected) <= rel * max(abs(expected), abs(scale), 1.0))


def money_scale(kpis: Kpis) -> float:
    return abs(kpis.gross_sales) + abs(kpis.trade_spend) + abs(kpis.cogs) + 1.0


# ------------------------------------------------------------------------------------------ the P&L adds up

@given(economic_worlds())
def test_pnl_adds_up_per_cell_and_in_totals(rules: RuleSet) -> None:
    _, cells = cells_of(rules)
    for name in (*MONEY_AND_VOLUME, "revenue"):
        assert np.isfinite(getattr(cells, name)).all(), name
    np.testing.assert_allclose(cells.trade_spend, cells.off_invoice + cells.promo_funding + cells.event_costs
                               + cells.fixed_discounts + cells.vividness + cells.rebates, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cells.net_sales, cells.gross_sales - cells.trade_spend, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cells.gross_profit, cells.net_sales - cells.cogs, rtol=1e-12, atol=1e-9)

    result = simulate(rules, ScenarioOptions())
    totals, scale = result.totals, money_scale(result.totals)
    for name in MONEY_AND_VOLUME:
        total = float(getattr(cells, name).sum())
        assert close(getattr(totals, name), total, scale), name
        assert close(sum(getattr(k, name) for k in result.accounts.values()), total, scale), name
    for account, weekly in result.account_weeks.items():
        for name in WEEKLY:
            expected = result.accounts[account].budget_used if name == "budget_spend" \
                else getattr(result.accounts[account], name)
            assert close(sum(weekly[name]), expected, scale), (account, name)
    for kpis in (totals, *result.accounts.values()):
        parts = (kpis.off_invoice + kpis.promo_funding + kpis.event_costs + kpis.fixed_discounts + kpis.vividness
                 + kpis.rebates)
        assert close(kpis.trade_spend, parts, scale)
        assert close(kpis.net_sales, kpis.gross_sales - kpis.trade_spend, scale)
        assert close(kpis.gross_profit, kpis.net_sales - kpis.cogs, scale)
        assert close(kpis.budget_used, kpis.promo_funding + kpis.event_costs + kpis.vividness, scale)
        if kpis.volume:
            assert close(kpis.dead_net_per_case * kpis.volume, kpis.net_sales, scale)


@given(economic_worlds())
def test_spread_amounts_are_neither_lost_nor_invented(rules: RuleSet) -> None:
    """Account-level money (fixed discounts, shelf, display and cooler fees, event fixed costs) is spread over cells;
    the cells add up to the amounts the rules state, whenever the scope and weeks are not empty (also where the
    account sells none of the products: the amount is then spread evenly)."""
    _, cells = cells_of(rules)
    index = PlanIndex.of(rules)
    weeks = rules.calendar.weeks if rules.calendar else 0
    fixed = 0.0
    for discount in (d for d in rules.discounts if d.fixed is not None):
        span = index.week_range(discount.valid)
        if index.product_mask(discount.applies_to).any() and span.stop > span.start:
            fixed += discount.fixed * index.account_mask(discount.applies_to).sum()
    vividness = 0.0
    for display in rules.displays:
        live = len({w for w in display.weeks if w <= weeks}) if display.weeks else weeks
        if index.product_mask(display.products).any():
            vividness += display.fee_per_week * live * index.account_mask(display.applies_to).sum()
    for cooler in rules.coolers:
        if index.product_mask(cooler.products).any():
            vividness += cooler.units * cooler.cost_per_unit * index.account_mask(cooler.applies_to).sum()
    for target in rules.shelf_targets:
        in_category = any(x.category == target.category and (target.brand is None or x.brand in target.brand)
                          for x in rules.products)
        for account in (x for x, on in zip(rules.accounts, index.account_mask(target.applies_to)) if on):
            current = account.shelf_share.get(target.category)
            if in_category and current is not None:
                vividness += max(0.0, target.share - current) * 100 * target.cost_per_point
    mechanics, groups = rules.ids("mechanics"), rules.ids("product_groups")
    event_costs = sum(mechanics[e.mechanic].fixed_cost * len(set(e.weeks)) for e in rules.events
                      if index.product_mask(groups[e.product_group].products).any())
    assert close(float(cells.fixed_discounts.sum()), fixed)
    assert close(float(cells.vividness.sum()), vividness)
    assert close(float(cells.event_costs.sum()), event_costs)


# ------------------------------------------------------------------------------------------------ dead-net

DEAD_NET_SHAPE = Shape(best_of=False, percent_discount=True, caps=False, rebate_bases=("volume", "growth"),
                       monotone_tiers=True, max_depth=0.5, max_dip=0.0, max_cannibalization=0.0)


@given(economic_worlds(DEAD_NET_SHAPE), st.data())
def test_a_deeper_discount_never_raises_dead_net(rules: RuleSet, data: st.DataObject) -> None:
    """Per cell, dead-net per case = invoice - funding - rebate, each per case. Deepening one percent discount
    lowers the invoice price; through pass-through it lowers the shelf price and so the funding per case
    (funding share x depth x shelf), and it raises the volume of the cells it covers, which can only move volume
    rebates to a higher rate.

    Preconditions, each a real way dead-net *can* rise (docs/economics.md, "Modelling choices"):
    - best_of compares members at the banded list price, not at the running price, so a deeper percent can win a
      best_of group and replace a per-case discount worth more at the running price: no best_of here;
    - a binding cap pays the same money over more cases, and a revenue rebate can fall out of a tier when a price
      cut lowers revenue (inelastic demand): volume and growth rebates without caps, rates non-decreasing;
    - funding is paid on the promoted volume *before* the dip and cannibalization (so event values stay additive
      for the optimizer); where they take volume from a promoted cell, funding per case sold is
      funding x depth x shelf x (promoted volume / volume sold), and a deeper discount elsewhere changes that
      ratio either way; dip and cannibalization could also move volume out of a rebate period and cost it a tier:
      no dip, no cannibalization here (every cell's volume then only rises);
    - funding per case falls by funding x depth x (1 + markup) x pass-through per unit of invoice cut; that stays
      below 1 - (highest rebate rate) because depth <= 50%, markup <= 60% and rates <= 5%.
    """
    percent = [i for i, d in enumerate(rules.discounts) if d.percent is not None]
    i = data.draw(st.sampled_from(percent), label="discount")
    old = rules.discounts[i]
    deeper_percent = (old.percent or 0.0) + data.draw(st.integers(1, 30), label="extra") / 100
    new = old.model_copy(update={"percent": min(1.0, deeper_percent)})
    deeper = rules.replace(discounts=rules.discounts[:i] + (new,) + rules.discounts[i + 1:])
    compiled, cells = cells_of(rules)
    compiled_deeper, cells_deeper = cells_of(deeper)
    assert (compiled_deeper.invoice <= compiled.invoice + 1e-12).all()
    live = (cells.volume > 1e-9) & (cells_deeper.volume > 1e-9)

    def dead_net(c: Cells) -> np.ndarray:
        return np.divide(c.revenue - c.promo_funding - c.rebates, c.volume, out=np.zeros_like(c.volume),
                         where=live)

    before, after = dead_net(cells), dead_net(cells_deeper)
    worse = after > before + 1e-9 * np.maximum(1.0, np.abs(before))
    note(f"cells where dead-net rose: {np.argwhere(worse)[:5].tolist()}")
    assert not worse.any()


# ------------------------------------------------------------------------------------------------- rebates

@st.composite
def monotone_rebates(draw: st.DrawFn) -> Rebate:
    basis = draw(st.sampled_from(("volume", "revenue", "growth")))
    raw: dict[str, Any] = {"id": "r", "period": "year", "basis": basis, "method": "retroactive",
                           "tiers": draw(tier_tables(basis, monotone=True))}
    if draw(st.booleans()):
        raw["cap"] = draw(st.sampled_from((50, 1000, 20000)))
    return Rebate.model_validate(raw)


amounts = st.lists(st.floats(0, 60000, allow_nan=False), min_size=1, max_size=5)


@given(monotone_rebates(), amounts, st.data())
def test_rebates_never_pay_less_for_more(rebate: Rebate, volume: list[float], data: st.DataObject) -> None:
    """With non-decreasing rates, more volume at the same price per case, or more revenue for the same volume, never
    earns a smaller rebate; retroactive pays at least incremental for the same tiers and the same period totals."""
    n = len(volume)
    v = np.array(volume)
    more = v + np.array(data.draw(st.lists(st.floats(0, 30000), min_size=n, max_size=n), label="more volume"))
    price = np.array(data.draw(st.lists(st.floats(5, 90), min_size=n, max_size=n), label="price per case"))
    richer = price * np.array(data.draw(st.lists(st.floats(1, 2), min_size=n, max_size=n), label="price rise"))
    last_year = np.array(data.draw(st.lists(st.sampled_from((0.0, 1000.0, 9000.0, 30000.0)), min_size=n,
                                            max_size=n), label="last year"))
    tolerance = 1e-9 * (1 + more * richer)
    for method in ("retroactive", "incremental"):
        r = rebate.model_copy(update={"method": method})
        paid = payout(r, v, v * price, last_year)
        assert (paid >= 0).all()
        assert (payout(r, more, more * price, last_year) >= paid - tolerance).all(), method
        assert (payout(r, v, v * richer, last_year) >= paid - tolerance).all(), method
    retro = payout(rebate, more, more * richer, last_year)
    incremental = payout(rebate.model_copy(update={"method": "incremental"}), more, more * richer, last_year)
    assert (retro >= incremental - tolerance).all()


@given(monotone_rebates(), amounts, st.floats(5, 90))
def test_retroactive_rebate_is_the_reached_rate_on_all_revenue(rebate: Rebate, volume: list[float],
                                                                price: float) -> None:
    """Brute force, one account at a time: the highest tier whose threshold the measure reaches pays its rate on
    the period's whole invoice revenue (tiers here are contiguous, so that tier contains the measure)."""
    last_year = 9000.0
    v = np.array(volume)
    paid = payout(rebate, v, v * price, np.full(len(v), last_year))
    for cases, amount in zip(volume, paid):
        revenue = cases * price
        measure = {"volume": cases, "revenue": revenue, "growth": cases / last_year - 1}[rebate.basis]
        rate = max([t.rate for t in rebate.tiers if measure >= t.from_], default=0.0)
        expected = min(rate * revenue, rebate.cap if rebate.cap is not None else np.inf)
        assert amount == pytest.approx(expected, rel=1e-12, abs=1e-9)


# ------------------------------------------------------------------------------------------- money scaling

def scaled(rules: RuleSet, k: float) -> RuleSet:
    """Every amount of money in the rules times k: prices, costs, per-case and fixed discounts, revenue tiers,
    caps, mechanic costs and basket thresholds, fees, budgets and revenue minimums."""

    def times(value: float | None) -> float | None:
        return None if value is None else value * k

    def rebate(r: Rebate) -> Rebate:
        tiers = tuple(t.model_copy(update={"from_": t.from_ * k, "to": times(t.to)}) for t in r.tiers) \
            if r.basis == "revenue" else r.tiers
        return r.model_copy(update={"cap": times(r.cap), "tiers": tiers})

    return rules.replace(
        products=tuple(x.model_copy(update={"list_price": x.list_price * k, "cogs": x.cogs * k})
                       for x in rules.products),
        discounts=tuple(d.model_copy(update={"per_case": times(d.per_case), "fixed": times(d.fixed)})
                        for d in rules.discounts),
        rebates=tuple(rebate(r) for r in rules.rebates),
        mechanics=tuple(m.model_copy(update={"fixed_cost": m.fixed_cost * k, "spend": times(m.spend),
                                             "save": times(m.save)}) for m in rules.mechanics),
        shelf_targets=tuple(t.model_copy(update={"cost_per_point": t.cost_per_point * k}) for t in rules.shelf_targets),
        displays=tuple(d.model_copy(update={"fee_per_week": d.fee_per_week * k}) for d in rules.displays),
        coolers=tuple(c.model_copy(update={"cost_per_unit": c.cost_per_unit * k}) for c in rules.coolers),
        budgets=tuple(b.model_copy(update={"max": times(b.max), "min": times(b.min)}) for b in rules.budgets),
        calendar_rules=tuple(r.model_copy(update={"min_revenue": r.min_revenue * k})
                             if isinstance(r, DisplayMinRevenue) else r for r in rules.calendar_rules),
    )


def assert_kpis_scale(base: Kpis, other: Kpis, k: float) -> None:
    scale = money_scale(base)
    for name in MONEY_AND_VOLUME + ("dead_net_per_case", "budget_used"):
        factor = 1.0 if name in VOLUMES else k
        assert close(getattr(other, name), factor * getattr(base, name), factor * scale), name
    for name in RATIOS:
        assert close(getattr(other, name), getattr(base, name), 1.0, rel=1e-9), name


@given(economic_worlds(), st.sampled_from((0.25, 0.5, 2.0, 8.0, 1024.0)))
def test_scaling_all_money_by_k_scales_every_money_total_by_k(rules: RuleSet, k: float) -> None:
    """k is a power of two, so every scaled float is exact and no tier or floor comparison can flip by rounding."""
    options = ScenarioOptions(draws=2, seed=7)
    base, other = simulate(rules, options), simulate(scaled(rules, k), options)
    assert_kpis_scale(base.totals, other.totals, k)
    for account, kpis in base.accounts.items():
        assert_kpis_scale(kpis, other.accounts[account], k)
        for name, values in base.account_weeks[account].items():
            factor = 1.0 if name in ("volume", "order_suggestion") else k
            np.testing.assert_allclose(other.account_weeks[account][name], np.array(values) * factor,
                                       rtol=1e-9, atol=1e-9 * factor * money_scale(kpis))
    for before, after in zip(base.policy, other.policy):
        assert (before.rule, before.kind, before.scope, before.ok) == (after.rule, after.kind, after.scope, after.ok)
        factor = k if before.kind in ("budget_max", "budget_min", "display_min_revenue") else 1.0
        assert close(after.actual, factor * before.actual, factor * money_scale(base.totals))
    assert base.uncertainty is not None and other.uncertainty is not None
    for name, spread in base.uncertainty.totals.items():
        factor = 1.0 if name in ("volume", "gross_margin", "trade_spend_pct") else k
        for q in ("p10", "p50", "p90"):
            assert close(getattr(other.uncertainty.totals[name], q), factor * getattr(spread, q),
                         factor * money_scale(base.totals)), (name, q)


# -------------------------------------------------------------------------------------- permuting accounts

@given(economic_worlds(), st.data())
def test_the_order_of_accounts_changes_nothing_per_account(rules: RuleSet, data: st.DataObject) -> None:
    order = data.draw(st.permutations(rules.accounts), label="accounts")
    base, other = simulate(rules, ScenarioOptions()), simulate(rules.replace(accounts=tuple(order)), ScenarioOptions())
    scale = money_scale(base.totals)
    for account, kpis in base.accounts.items():
        mine = other.accounts[account]
        for name, value in kpis.as_dict().items():
            assert close(getattr(mine, name), value, scale), (account, name)
        for name, values in base.account_weeks[account].items():
            np.testing.assert_allclose(other.account_weeks[account][name], values, rtol=1e-9, atol=1e-9 * scale)
        assert close(other.growth[account], base.growth[account])
    assert_kpis_scale(base.totals, other.totals, 1.0)

    def key(check: PolicyCheck) -> tuple[str, str, str, str]:
        return check.rule, check.kind, check.scope, check.detail

    assert sorted(map(key, base.policy)) == sorted(map(key, other.policy))
    theirs = {key(c): c for c in other.policy}
    for check in base.policy:
        assert close(theirs[key(check)].actual, check.actual, scale)
        if abs(check.actual - check.limit) > 1e-6 * max(1.0, abs(check.limit)):
            assert theirs[key(check)].ok == check.ok


# ---------------------------------------------------------------------------------------- no promotion

@given(economic_worlds())
def test_no_promotion_sells_the_baseline(rules: RuleSet) -> None:
    """Without events (or with events whose mechanic neither cuts the price nor lifts volume) every cell sells
    expected_base x (regular shelf / undiscounted shelf) ** elasticity + cooler cases, and nothing is incremental."""
    compiled = compile_rules(rules)
    demand = compiled.demand
    band = compiled.band_price[:, :, None]
    shelf_ratio = 1 - compiled.pass_through[:, None, None] * (1 - compiled.invoice / band)
    expected = demand.expected_base * shelf_ratio ** demand.elasticity[:, :, None] + demand.cooler_cases[:, :, None]
    idle = Mechanic(id="idle", kind="tasting", funding=1.0, fixed_cost=0)
    idle_events = tuple(e.model_copy(update={"mechanic": "idle", "depth": None}) for e in rules.events)
    for events, mechanics in (((), rules.mechanics), (idle_events, (*rules.mechanics, idle))):
        world = rules.replace(events=events, mechanics=mechanics)
        cells = evaluate(compiled, promotions_for(world, compiled, events))
        np.testing.assert_allclose(cells.volume, expected, rtol=1e-12)
        assert (cells.incremental_volume == 0).all()
        assert (cells.promo_funding == 0).all() and (cells.event_costs == 0).all()
        result = simulate(world, ScenarioOptions())
        for kpis in (result.totals, *result.accounts.values()):
            assert kpis.incremental_volume == 0 and kpis.promo_funding == 0 and kpis.promo_roi == 0


# ------------------------------------------------------------------------------------------- the dip

@given(economic_worlds(Shape(extreme_response=True)))
def test_dip_and_cannibalization_never_make_volume_negative(rules: RuleSet) -> None:
    _, cells = cells_of(rules)
    assert np.isfinite(cells.volume).all()
    assert (cells.volume >= 0).all()
    assert (cells.rebates >= 0).all() and (cells.gross_sales >= 0).all() and (cells.cogs >= 0).all()
    result = simulate(rules, ScenarioOptions())
    for weekly in result.account_weeks.values():
        assert min(weekly["volume"]) >= 0 and min(weekly["order_suggestion"]) >= 0


# ------------------------------------------------------------------------------------------- Monte Carlo

@given(economic_worlds(Shape(carry_everything=True, noise=True)), st.integers(0, 2**32 - 1))
def test_monte_carlo_is_reproducible_and_depends_on_the_seed(rules: RuleSet, seed: int) -> None:
    first = simulate(rules, ScenarioOptions(draws=3, seed=seed))
    again = simulate(rules, ScenarioOptions(draws=3, seed=seed))
    other = simulate(rules, ScenarioOptions(draws=3, seed=seed + 1))
    assert first.uncertainty == again.uncertainty
    assert first.uncertainty is not None and other.uncertainty is not None
    assert first.uncertainty.totals["volume"] != other.uncertainty.totals["volume"]
    assert replace(first.uncertainty, seed=0) != replace(other.uncertainty, seed=0)

