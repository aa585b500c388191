"""What every figure of a review is computed from: the plan, the actuals and the model's view of both.

    plan       the plan's calendar evaluated by the economics core (the whole year)
    expected   the calendar as it ran to week `through` (executed promotions, at their depth) and as planned after
               it, evaluated by the core: what the model expects of the weeks that happened, and its forecast of
               the rest
    none       no consumer promotion at all: the counterfactual of post-event analysis
    actual     the imported sell-in and promotions of weeks 1..through (zero after)
    latest     the latest estimate: actual to week `through`, then `expected` x the account's run rate

The run rate (`trend`) is each account's actual cases / the model's cases over the weeks to date in the cells no
promotion touches (no promoted week, no dip, no cannibalization): an account running 3 % under the model is
forecast 3 % under it for the rest of the year. Accounts without such cells keep 1.

Actual P&L lines: volume and invoice revenue as imported; gross sales = cases x list price; off-invoice = gross
sales - invoice revenue; promotion funding and fixed costs as claimed, spread over the promotion's cells by the
cases sold; fixed discounts and vividness fees as the plan books them (contractual); rebates accrued at the rate
the latest estimate reaches (economics.core.rebates_per_cell on the latest estimate), so that they are booked as
finance accrues them; cogs = cases x COGS per case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.actuals.model import ActualCells, Actuals, ExecutedPromotion, on_grid
from planner.compile.index import FloatArray
from planner.compile.model import Compiled, compile_rules
from planner.compile.promotions import Promotions
from planner.economics.core import Cells, evaluate, rebates_per_cell
from planner.review.ledger import BASE_LINES, Ledger, budget_sums, complete, ledger_of, rebate_sums
from planner.rules.schema import Event, RuleSet
from planner.simulate import DemandDraw, promotions_for

SCALED = ("volume", "revenue", "gross_sales", "off_invoice", "promo_funding", "cogs")
"""Lines proportional to volume: scaled by the run rate in the forecast. Fixed costs and fees are not."""
QUIET = 1e-9


@dataclass
class Basis:
    rules: RuleSet
    compiled: Compiled
    through: int
    plan_events: list[Event]
    executed: list[ExecutedPromotion]
    """Executed promotions that started by `through`, cut at it."""
    forecast_events: list[Event]
    plan: Ledger
    expected: Ledger
    actual: Ledger
    latest: Ledger
    trend: FloatArray
    """(A,) run rate of each account."""
    cells: ActualCells
    volume: dict[str, FloatArray]
    """'plan', 'expected', 'none' -> (A, P, W) cases, and 'plan_spend' the plan's funding + event costs per
    cell: for post-event analysis."""
    forecast_promotions: Promotions
    touched: dict[str, FloatArray]
    """'expected', 'actual' -> (A, W) cases in the cells a promotion of the calendar as run touches (promoted,
    dip or cannibalization in the model): what the variance attributes to how promotions performed."""

    plan_promoted: np.ndarray
    """(A, P, W) bool: the plan's promoted cells."""

    @property
    def weeks(self) -> int:
        return self.compiled.index.calendar.weeks


def forecast_calendar(plan_events: list[Event], executed: list[ExecutedPromotion], through: int) -> list[Event]:
    """The executed promotions (weeks to `through`) and the plan's events in the weeks after it."""
    past = [promotion.as_event() for promotion in executed]
    future = [event.model_copy(update={"weeks": tuple(w for w in event.weeks if w > through)})
              for event in plan_events if max(event.weeks) > through]
    return past + future


def build(rules: RuleSet, plan_events: list[Event], actuals: Actuals, through: int) -> Basis:
    compiled = compile_rules(rules)
    index = compiled.index
    if not 0 <= through <= index.calendar.weeks:
        raise ValueError(f"--through {through} is outside the plan year's weeks 0..{index.calendar.weeks}")
    executed = list(actuals.through(through).promotions)
    forecast_events = forecast_calendar(plan_events, executed, through)
    plan_promotions = promotions_for(rules, compiled, plan_events)
    plan_cells = evaluate(compiled, plan_promotions)
    plan = ledger_of(rules, compiled, plan_cells)
    volume = {"plan": plan_cells.volume, "plan_spend": plan_cells.promo_funding + plan_cells.event_costs}
    del plan_cells
    forecast_promotions = promotions_for(rules, compiled, forecast_events)
    expected_cells = evaluate(compiled, forecast_promotions)
    cells = on_grid(actuals, index, through)
    trend = run_rate(compiled, expected_cells, cells)
    touched_mask = np.abs(expected_cells.incremental_volume) >= QUIET
    touched = {"expected": np.where(touched_mask, expected_cells.volume, 0.0).sum(axis=1),
               "actual": np.where(touched_mask, cells.cases, 0.0).sum(axis=1)}
    del touched_mask
    spend = claimed(rules, compiled, executed, cells)
    actual, latest = compose(rules, compiled, cells, spend, expected_cells, trend)
    expected = ledger_of(rules, compiled, expected_cells)
    volume["expected"] = expected_cells.volume
    del expected_cells
    volume["none"] = evaluate(compiled, Promotions.none(compiled.shape)).volume
    return Basis(rules, compiled, through, plan_events, executed, forecast_events, plan, expected, actual, latest,
                 trend, cells, volume, forecast_promotions, touched, plan_promotions.promoted)


def run_rate(compiled: Compiled, expected: Cells, cells: ActualCells) -> FloatArray:
    """(A,) actual / expected cases over the quiet cells of the weeks to date (1 where there are none)."""
    past = slice(0, cells.through)
    quiet = (np.abs(expected.incremental_volume[:, :, past]) < QUIET) & (compiled.demand.baseline[:, :, None] > 0)
    model = np.where(quiet, expected.volume[:, :, past], 0.0).sum(axis=(1, 2))
    sold = np.where(quiet, cells.cases[:, :, past], 0.0).sum(axis=(1, 2))
    rate: FloatArray = np.divide(sold, model, out=np.ones_like(model), where=model > 0)
    return rate


def claimed(rules: RuleSet, compiled: Compiled, executed: list[ExecutedPromotion],
            cells: ActualCells) -> tuple[FloatArray, FloatArray]:
    """(funding, fixed costs) per cell (A, P, W): each promotion's claim spread over its cells by cases sold
    (evenly when it sold nothing)."""
    index, groups = compiled.index, rules.ids("product_groups")
    funding, fixed = np.zeros(compiled.shape), np.zeros(compiled.shape)
    for promotion in executed:
        a = index.account_position.get(promotion.account)
        group = groups.get(promotion.product_group)
        if a is None or group is None:
            continue
        products = np.flatnonzero(index.product_mask(group.products))
        weeks = np.array([w - 1 for w in promotion.weeks if w <= cells.through], dtype=np.intp)
        if not len(products) or not len(weeks):
            continue
        block = np.ix_(np.array([a]), products, weeks)
        sold = cells.cases[block]
        total = sold.sum()
        share = sold / total if total > 0 else np.full(sold.shape, 1.0 / sold.size)
        funding[block] += share * promotion.funding
        fixed[block] += share * promotion.fixed_cost
    return funding, fixed


def compose(rules: RuleSet, compiled: Compiled, cells: ActualCells, spend: tuple[FloatArray, FloatArray],
            expected: Cells, trend: FloatArray) -> tuple[Ledger, Ledger]:
    """(actual ledger of weeks to date, latest estimate of the year) from the actuals and the core's forecast."""
    through, weeks = cells.through, compiled.shape[2]
    past = (np.arange(weeks) < through)[None, None, :]
    rate = trend[:, None, None]
    volume = np.where(past, cells.cases, expected.volume * rate)
    revenue = np.where(past, cells.invoice_value, expected.revenue * rate)
    rebates = rebates_per_cell(compiled, volume, revenue)
    funding, fixed = spend
    fees = compiled.fees
    gross = cells.cases * compiled.list_price[None, :, None]
    actual_cells = {
        "volume": cells.cases, "revenue": cells.invoice_value, "gross_sales": gross,
        "off_invoice": gross - cells.invoice_value, "promo_funding": funding, "event_costs": fixed,
        "fixed_discounts": fees.fixed_discounts * past, "vividness": fees.vividness * past,
        "rebates": rebates * past, "cogs": cells.cases * compiled.cogs[None, :, None],
    }
    actual_lines = {name: values.sum(axis=1) for name, values in actual_cells.items()}
    actual_spend = funding + fixed + actual_cells["vividness"]
    actual = Ledger(complete(actual_lines), budget_sums(rules, compiled, actual_spend),
                    *rebate_sums(compiled, cells.cases, cells.invoice_value))
    future = ~past[0, 0]
    latest_lines: dict[str, FloatArray] = {}
    for name in BASE_LINES:
        if name == "rebates":
            latest_lines[name] = rebates.sum(axis=1)
            continue
        ahead = getattr(expected, name).sum(axis=1) * (trend[:, None] if name in SCALED else 1.0)
        latest_lines[name] = np.where(future[None, :], ahead, actual_lines[name])
    ahead_spend = expected.promo_funding * rate + expected.event_costs + fees.vividness
    latest_spend = np.where(past, actual_spend, ahead_spend)
    latest = Ledger(complete(latest_lines), budget_sums(rules, compiled, latest_spend),
                    *rebate_sums(compiled, volume, revenue))
    return actual, latest


def latest_of_draw(basis: Basis, draw: DemandDraw) -> Ledger:
    """The latest estimate in one Monte Carlo draw of the forecast (the actuals stay as they are); `draw` is of
    the forecast's promotions (simulate.uncertain_plan of `forecast_events`)."""
    expected = draw.cells()
    spend = claimed(basis.rules, basis.compiled, basis.executed, basis.cells)
    return compose(basis.rules, basis.compiled, basis.cells, spend, expected, basis.trend)[1]


__all__ = ["Basis", "build", "forecast_calendar", "latest_of_draw", "ledger_of"]
