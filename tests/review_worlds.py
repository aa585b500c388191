"""Small worlds for the review and re-plan tests (no test here): accounts of different sizes selling cola, water
and fizz over a few weeks, price cuts on cola and water, a drawn rebate, and a drawn calendar of events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st
from strategies import build_world

from planner.rules.schema import (
    Account,
    Baseline,
    Calendar,
    Event,
    Mechanic,
    Product,
    ProductGroup,
    Rebate,
    Response,
    RuleSet,
    Seasonality,
)

SIZES = (1.0, 1.37, 0.61)


def small_world(weeks: int, accounts: int, mechanics: tuple[Mechanic, ...], **sections: Any) -> RuleSet:
    products = (Product(id="cola-can", brand="cola", category="sparkling", list_price=60, cogs=20),
                Product(id="aqua-pet", brand="aqua", category="water", list_price=30, cogs=10),
                Product(id="fizz-can", brand="fizz", category="sparkling", list_price=50, cogs=20))
    quarters = (weeks // 4 + weeks % 4, *(weeks // 4,) * 3) if weeks >= 4 else (weeks,)
    return build_world(
        calendar=Calendar(year=2027, start=dt.date(2027, 1, 4), weeks=weeks, quarters=quarters),
        accounts=tuple(Account(id=f"acc{a}", channel="hypermarket", tier="A", region="east", partner_since=2015,
                               last_year_volume=50_000 * SIZES[a]) for a in range(accounts)),
        products=products,
        seasonality=(Seasonality(id="weeks", weights=tuple(1.0 + 0.04 * (w % 5) for w in range(52))),),
        baselines=tuple(Baseline(id=f"base{a}", account=f"acc{a}", seasonality="weeks",
                                 cases_per_week={"cola-can": 1000 * SIZES[a], "aqua-pet": 800 * SIZES[a],
                                                 "fizz-can": 500 * SIZES[a]}) for a in range(accounts)),
        product_groups=tuple(ProductGroup.model_validate({"id": g, "products": {"brand": b}})
                             for g, b in (("cola", "cola"), ("water", "aqua"), ("fizz", "fizz"))),
        response=(Response(id="resp", elasticity=-2.5, post_promo_dip=0.2, dip_weeks=2, cannibalization=0.05),),
        mechanics=mechanics, **sections)


def cut(name: str, **raw: Any) -> Mechanic:
    return Mechanic.model_validate({"id": name, "kind": "price_cut", "applies_to": {"brand": ["cola", "aqua"]},
                                    **raw})


@st.composite
def worlds(draw: st.DrawFn, weeks: int = 8, most_accounts: int = 3) -> tuple[RuleSet, list[Event]]:
    """A world with a drawn rebate (basis, method, period) and a drawn calendar of single-week events."""
    mechanics = tuple(cut(f"cut{m}", depth=draw(st.sampled_from((0.1, 0.2, 0.3))),
                          funding=draw(st.sampled_from((0.2, 0.5, 1.0))),
                          fixed_cost=draw(st.sampled_from((0.0, 2_000.0))))
                      for m in range(draw(st.integers(1, 2))))
    accounts = draw(st.integers(1, most_accounts))
    basis = draw(st.sampled_from(("volume", "revenue", "growth")))
    scale = {"volume": 1_000.0 * weeks, "revenue": 40_000.0 * weeks, "growth": 0.05}[basis]
    rebate = Rebate.model_validate({
        "id": "rebate", "period": draw(st.sampled_from(("quarter", "year"))), "basis": basis,
        "method": draw(st.sampled_from(("retroactive", "incremental"))),
        "tiers": [{"from": scale, "rate": 0.01}, {"from": 2 * scale, "rate": 0.02}]})
    rules = small_world(weeks, accounts, mechanics, rebates=(rebate,))
    events = []
    for account in rules.accounts:
        for group in ("cola", "water"):
            for week in sorted(draw(st.sets(st.integers(1, weeks), max_size=max(1, weeks // 3)))):
                events.append(Event(id=f"e-{account.id}-{group}-{week}", account=account.id, product_group=group,
                                    mechanic=draw(st.sampled_from(mechanics)).id, weeks=(week,)))
    return rules, events
