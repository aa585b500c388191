"""Post-event analysis: did each executed promotion pay, against the calibrated model's counterfactual?

For a promotion at account a on product group G in weeks T (to date), with the counterfactual baseline
cf = the core's volume without any promotion x the account's run rate (basis.run_rate), actual cases x, and
m = invoice price - COGS per case of each cell:

    lift            = sum_T x / sum_T cf                       over G's cells in T
    incremental     = sum_T (x - cf)
    dip             = sum_D (cf - x)      D: G's cells in the dip weeks after T (the longest dip of G), to date
    cannibalization = sum_S (cf - x)      S: the other products of G's categories at a in T
    incremental GP  = sum_T (x - cf) m - sum_D (cf - x) m - sum_S (cf - x) m - spend
    spend           = funding claimed + fixed costs;   ROI = incremental GP / spend

D and S leave out cells another promotion ran in. The planned ROI of a planned event is the same estimator on
the plan's own simulation (x = the plan's cases over all its weeks, cf without the run rate, spend = the plan's
funding and fixed costs), so actual and planned ROI are measured alike. Rebates are left out of both (they
depend on period totals, not on one event). The league table adds the events of each account x mechanic up:
repeat when its ROI is at least 0 (it earned its cost back), drop when not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.compile.index import FloatArray
from planner.review.basis import Basis
from planner.rules.schema import Event


@dataclass(frozen=True)
class EventResult:
    event: str
    account: str
    product_group: str
    mechanic: str
    weeks: tuple[int, ...]
    status: str
    """'as planned', 'changed' (weeks, mechanic or depth), 'unplanned' or 'cancelled'."""
    actual_cases: float
    baseline_cases: float
    """The counterfactual: the model without promotions at the account's run rate."""
    lift: float | None
    incremental_volume: float
    dip: float
    cannibalization: float
    spend: float
    planned_spend: float | None
    incremental_gross_profit: float
    roi: float | None
    planned_roi: float | None
    model_lift: float | None
    """What the model expected of the promotion as it ran: expected cases / counterfactual in its weeks."""


@dataclass(frozen=True)
class LeagueRow:
    account: str
    mechanic: str
    events: int
    incremental_volume: float
    incremental_gross_profit: float
    spend: float
    roi: float | None
    verdict: str


@dataclass(frozen=True)
class _Measured:
    actual: float
    baseline: float
    incremental: float
    dip: float
    cannibalization: float
    margin: float


def _measure(basis: Basis, sold: FloatArray, counterfactual: FloatArray, promoted: np.ndarray, a: int,
             products: np.ndarray, weeks: np.ndarray, horizon: int) -> _Measured:
    compiled = basis.compiled
    margin = compiled.invoice[a] - compiled.cogs[:, None]  # (P, W)
    x, cf = sold[a], counterfactual[a]
    event = np.ix_(products, weeks)
    gain = x[event] - cf[event]
    last = int(weeks.max()) if len(weeks) else -1
    dip_weeks = np.arange(last + 1, min(last + 1 + horizon, x.shape[1]))
    dip_cells = np.ix_(products, dip_weeks)
    quiet_dip = ~promoted[a][dip_cells]
    dip = np.where(quiet_dip, cf[dip_cells] - x[dip_cells], 0.0)
    categories = np.unique(compiled.category[products])
    siblings = np.setdiff1d(np.flatnonzero(np.isin(compiled.category, categories)), products)
    sibling_cells = np.ix_(siblings, weeks)
    taken = np.where(~promoted[a][sibling_cells], cf[sibling_cells] - x[sibling_cells], 0.0)
    value = (gain * margin[event]).sum() - (dip * margin[dip_cells]).sum() - (taken * margin[sibling_cells]).sum()
    return _Measured(float(x[event].sum()), float(cf[event].sum()), float(gain.sum()), float(dip.sum()),
                     float(taken.sum()), float(value))


def _depth(basis: Basis, event: Event) -> float:
    mechanic = basis.rules.ids("mechanics").get(event.mechanic)
    return event.depth if event.depth is not None else (mechanic.effective_depth if mechanic else 0.0)


def post_event(basis: Basis) -> list[EventResult]:
    index, groups = basis.compiled.index, basis.rules.ids("product_groups")
    planned = {event.id: event for event in basis.plan_events}
    trend = basis.trend
    counterfactual = basis.volume["none"] * trend[:, None, None]
    promoted_now = basis.forecast_promotions.promoted
    dip_weeks = basis.compiled.demand.dip_weeks
    out: list[EventResult] = []
    ran: set[str] = set()

    def cells(event: Event | None, account: str, group: str, weeks: tuple[int, ...]) -> tuple[int, np.ndarray,
                                                                                               np.ndarray, int]:
        a = index.account_position[account]
        products = np.flatnonzero(index.product_mask(groups[group].products))
        horizon = int(dip_weeks[a, products].max(initial=0))
        return a, products, np.array(weeks, dtype=np.intp) - 1, horizon

    def planned_view(event: Event) -> tuple[float, float]:
        """(planned ROI, planned spend) of a plan event over all its weeks."""
        a, products, weeks, horizon = cells(event, event.account, event.product_group, event.weeks)
        model = _measure(basis, basis.volume["plan"], basis.volume["none"], basis.plan_promoted, a, products, weeks,
                         horizon)
        spend = float(basis.volume["plan_spend"][a][np.ix_(products, weeks)].sum())
        return ((model.margin - spend) / spend if spend > 0 else float("nan")), spend

    for promotion in basis.executed:
        if promotion.account not in index.account_position or promotion.product_group not in groups:
            continue
        ran.add(promotion.event)
        a, products, weeks, horizon = cells(None, promotion.account, promotion.product_group, promotion.weeks)
        seen = _measure(basis, basis.cells.cases, counterfactual, promoted_now, a, products, weeks, horizon)
        expected = float(basis.volume["expected"][a][np.ix_(products, weeks)].sum())
        spend = promotion.funding + promotion.fixed_cost
        gain = seen.margin - spend
        plan_event = planned.get(promotion.event)
        status = "unplanned"
        planned_roi = planned_spend = None
        if plan_event is not None:
            same = (plan_event.mechanic == promotion.mechanic and plan_event.product_group == promotion.product_group
                    and tuple(w for w in plan_event.weeks if w <= basis.through) == promotion.weeks
                    and abs(_depth(basis, plan_event) - (promotion.depth if promotion.depth is not None
                                                         else _depth(basis, promotion.as_event()))) < 1e-9)
            status = "as planned" if same else "changed"
            roi, planned_spend = planned_view(plan_event)
            planned_roi = None if np.isnan(roi) else roi
        out.append(EventResult(promotion.event, promotion.account, promotion.product_group, promotion.mechanic,
                               promotion.weeks, status, seen.actual, seen.baseline,
                               seen.actual / seen.baseline if seen.baseline > 0 else None, seen.incremental, seen.dip,
                               seen.cannibalization, spend, planned_spend, gain,
                               gain / spend if spend > 0 else None, planned_roi,
                               expected / seen.baseline if seen.baseline > 0 else None))
    for event in basis.plan_events:
        if event.id in ran or min(event.weeks) > basis.through:
            continue
        roi, planned_spend = planned_view(event)
        out.append(EventResult(event.id, event.account, event.product_group, event.mechanic,
                               tuple(w for w in event.weeks if w <= basis.through), "cancelled", 0.0, 0.0, None, 0.0,
                               0.0, 0.0, 0.0, planned_spend, 0.0, None, None if np.isnan(roi) else roi, None))
    return out


def league_table(results: list[EventResult]) -> list[LeagueRow]:
    """Executed promotions added up per account x mechanic, best ROI first within each account."""
    grouped: dict[tuple[str, str], list[EventResult]] = {}
    for result in results:
        if result.status != "cancelled":
            grouped.setdefault((result.account, result.mechanic), []).append(result)
    rows = []
    for (account, mechanic), members in grouped.items():
        spend = sum(r.spend for r in members)
        profit = sum(r.incremental_gross_profit for r in members)
        roi = profit / spend if spend > 0 else None
        rows.append(LeagueRow(account, mechanic, len(members), sum(r.incremental_volume for r in members), profit,
                              spend, roi, "repeat" if profit >= 0 else "drop"))
    return sorted(rows, key=lambda row: (row.account, -(row.roi if row.roi is not None else -np.inf)))
