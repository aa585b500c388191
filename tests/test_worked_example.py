"""A hand-worked plan, computed here from first principles and compared with the simulator to 1e-9 (relative).

The expected numbers are written out step by step from the formulas in docs/economics.md ("Worked example" uses
exactly these numbers); nothing here calls the economics code to get an expected value. One account, one product,
six weeks:

    list price 62.50/case, COGS 30.00/case; partnership price band -4% (12 years >= 10); off-invoice 5% then 3.00/case
    shelf: retail markup 25%, pass-through 60%; baseline 1,000 cases/week measured at the undiscounted shelf price
    elasticity -2; a 20% price cut with lift 1.2 in week 3, funded 50%, 5,000 fixed cost; 30% dip over 2 weeks
    annual volume rebate, tiers 5,000 cases -> 1% and 7,000 cases -> 2.5%: without the promotion the account sells
    6,790 cases (1%); the promotion lifts it to 7,484 (2.5%) -- retroactively on every case, or only on the cases
    above 7,000 in the incremental variant.
"""

from __future__ import annotations

import datetime as dt

import pytest

from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import (
    Account,
    Baseline,
    Brand,
    Calendar,
    Category,
    Channel,
    Company,
    Discount,
    Event,
    Mechanic,
    PriceBand,
    Product,
    ProductGroup,
    Rebate,
    Region,
    Response,
    RuleSet,
)
from planner.simulate import promotions_for, simulate

REL = 1e-9
WEEKS = 6


def rule_set(method: str) -> RuleSet:
    return RuleSet(
        company=Company(name="Worked Example Bottler"),
        calendar=Calendar(year=2027, start=dt.date(2027, 1, 4), weeks=WEEKS, quarters=(3, 3)),
        channels=(Channel(id="hypermarket"),), regions=(Region(id="east"),),
        categories=(Category(id="sparkling"),), brands=(Brand(id="cola"),),
        products=(Product(id="cola-can", brand="cola", category="sparkling", list_price=62.5, cogs=30.0),),
        accounts=(Account(id="hyper", channel="hypermarket", tier="A", region="east", partner_since=2015,
                          last_year_volume=6000, pass_through=0.6, retail_markup=0.25, safety_stock_weeks=1.0),),
        baselines=(Baseline(id="hyper-base", account="hyper", cases_per_week={"cola-can": 1000}),),
        product_groups=(ProductGroup.model_validate({"id": "cola", "products": {"brand": "cola"}}),),
        response=(Response(id="default", elasticity=-2.0, post_promo_dip=0.30, dip_weeks=2),),
        price_bands=(PriceBand.model_validate({
            "id": "loyalty", "basis": "partnership_years",
            "tiers": [{"from": 0, "adjustment": 0}, {"from": 10, "adjustment": "-4%"}]}),),
        discounts=(Discount(id="hyper-5pct", percent=0.05, priority=10),
                   Discount(id="hyper-3-per-case", per_case=3.0, priority=20)),
        rebates=(Rebate.model_validate({"id": "hyper-annual", "period": "year", "basis": "volume", "method": method,
                                        "tiers": [{"from": 5000, "rate": "1%"}, {"from": 7000, "rate": "2.5%"}]}),),
        mechanics=(Mechanic(id="tpr-20", kind="price_cut", depth=0.20, funding=0.50, lift=1.2, feature=True,
                            fixed_cost=5000),),
        events=(Event(id="cny-cola", account="hyper", product_group="cola", mechanic="tpr-20", weeks=(3,)),),
    )


class Hand:
    """The plan worked by hand. Every line is one step of the waterfall; comments give the rounded value."""

    def __init__(self, method: str) -> None:
        # --- price waterfall per case -------------------------------------------------------------------------
        list_price = 62.5
        band = list_price * (1 - 0.04)                   # 60.00: partnership since 2015 -> 12 years >= 10 -> -4%
        invoice = band * (1 - 0.05)                      # 57.00: 5% off (priority 10) ...
        invoice = invoice - 3.0                          # 54.00: ... then 3.00 per case (priority 20)
        markup, pass_through = 0.25, 0.6
        shelf_reference = band * (1 + markup)            # 75.00: undiscounted shelf price (where baseline is measured)
        trade_cut = 1 - invoice / band                   # 10%: the trade discount off the banded price
        shelf = shelf_reference * (1 - pass_through * trade_cut)  # 70.50: 60% of the 10% reaches the shelf
        depth = 0.20
        shelf_promo = shelf * (1 - depth)                # 56.40 in the promoted week
        # --- demand ---------------------------------------------------------------------------------------------
        base, elasticity, lift = 1000.0, -2.0, 1.2
        unpromoted = base * (shelf / shelf_reference) ** elasticity                  # 1,131.73 = 1000 x 0.94^-2
        promoted = base * (shelf_promo / shelf_reference) ** elasticity * lift      # 2,122.00 = 1000 x 0.752^-2 x 1.2
        incremental = promoted - unpromoted                                          # 990.27
        dip_per_week = 0.30 * incremental / 2                                        # 148.54 in each of weeks 4, 5
        self.weekly_volume = [unpromoted, unpromoted, promoted, unpromoted - dip_per_week,
                              unpromoted - dip_per_week, unpromoted]   # 1131.7 1131.7 2122.0 983.2 983.2 1131.7
        volume = sum(self.weekly_volume)                                             # 7,483.59 cases
        no_promo_volume = WEEKS * unpromoted                                         # 6,790.40 cases
        self.volume = volume
        self.incremental_volume = volume - no_promo_volume                           # 693.19 = 990.27 - 297.08
        # --- P&L ------------------------------------------------------------------------------------------------
        self.gross_sales = volume * list_price                                       # 467,724.37
        self.off_invoice = volume * (list_price - invoice)                           # 8.50/case -> 63,610.51
        funding_share = 0.50
        funding_per_case = funding_share * depth * shelf                             # 7.05 per promoted case
        self.promo_funding = promoted * funding_per_case                             # 14,960.11
        self.event_costs = 5000.0
        revenue = volume * invoice                                                   # invoice revenue 404,113.85

        def rebate(cases: float, money: float) -> float:
            if method == "retroactive":  # the tier reached pays its rate on every case of the year
                rate = 0.025 if cases >= 7000 else 0.01 if cases >= 5000 else 0.0
                return rate * money
            price = money / cases  # incremental: each rate only on the cases inside its band, priced at R / V
            return (0.01 * min(max(cases - 5000, 0.0), 2000) + 0.025 * max(cases - 7000, 0.0)) * price

        self.rebates = rebate(volume, revenue)      # retroactive: 2.5% x 404,113.85 = 10,102.85
        #                                             incremental: (1% x 2,000 + 2.5% x 483.59) x 54 = 1,732.85
        self.trade_spend = self.off_invoice + self.promo_funding + self.event_costs + self.rebates
        self.net_sales = self.gross_sales - self.trade_spend
        self.cogs = volume * 30.0                                                    # 224,507.70
        self.gross_profit = self.net_sales - self.cogs
        self.dead_net_per_case = self.net_sales / volume                             # KPI: net sales per case
        # the waterfall's dead-net of the promoted case: invoice - funding - rebate (per case, no fixed costs)
        self.promoted_case_dead_net = invoice - funding_per_case - self.rebates / revenue * invoice
        # --- promotion ROI: against the same plan without the event (no funding, no fixed cost, 1% rebate tier)
        no_promo_revenue = no_promo_volume * invoice
        no_promo_profit = (no_promo_volume * list_price - no_promo_volume * (list_price - invoice)
                           - rebate(no_promo_volume, no_promo_revenue) - no_promo_volume * 30.0)
        self.promo_roi = (self.gross_profit - no_promo_profit) / (self.promo_funding + self.event_costs)
        self.trade_spend_pct = self.trade_spend / self.gross_sales
        self.gross_margin = self.gross_profit / self.net_sales
        self.budget_used = self.promo_funding + self.event_costs
        # --- order suggestion: stock up to 1.5 x safety stock (1 week of next week's sales); stock starts there
        v = self.weekly_volume
        following = v[1:] + v[-1:]
        target = [1.5 * 1.0 * f for f in following]
        before = [1.5 * 1.0 * v[0]] + target[:-1]
        self.orders = [max(sold + t - b, 0.0) for sold, t, b in zip(v, target, before)]


@pytest.mark.parametrize("method", ["retroactive", "incremental"])
def test_simulator_reproduces_the_hand_worked_plan(method: str) -> None:
    hand = Hand(method)
    result = simulate(rule_set(method), ScenarioOptions())
    totals = result.totals
    for name in ("volume", "incremental_volume", "gross_sales", "off_invoice", "promo_funding", "event_costs",
                 "rebates", "trade_spend", "net_sales", "cogs", "gross_profit", "dead_net_per_case", "promo_roi",
                 "trade_spend_pct", "gross_margin", "budget_used"):
        assert getattr(totals, name) == pytest.approx(getattr(hand, name), rel=REL), name
    assert totals.fixed_discounts == 0.0 and totals.vividness == 0.0
    assert result.accounts["hyper"] == totals
    weeks = result.account_weeks["hyper"]
    assert weeks["volume"] == pytest.approx(hand.weekly_volume, rel=REL)
    assert weeks["order_suggestion"] == pytest.approx(hand.orders, rel=REL)


@pytest.mark.parametrize("method", ["retroactive", "incremental"])
def test_dead_net_of_the_promoted_case(method: str) -> None:
    """The per-case waterfall in the promoted week: invoice - funding - rebate, from the simulator's cells."""
    hand = Hand(method)
    rules = rule_set(method)
    compiled = compile_rules(rules)
    cells = evaluate(compiled, promotions_for(rules, compiled, rules.events))
    cell = (0, 0, 2)
    dead_net = (cells.revenue[cell] - cells.promo_funding[cell] - cells.rebates[cell]) / cells.volume[cell]
    assert dead_net == pytest.approx(hand.promoted_case_dead_net, rel=REL)


def test_the_promotion_crosses_the_retroactive_tier() -> None:
    """Without the event the year stays in the 1% tier; with it every case earns 2.5% (the hand numbers say so)."""
    hand = Hand("retroactive")
    assert 5000 <= hand.volume - hand.incremental_volume < 7000 <= hand.volume
    assert hand.rebates == pytest.approx(0.025 * hand.volume * 54.0, rel=REL)
    assert Hand("incremental").rebates < hand.rebates
