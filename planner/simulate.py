"""Simulate a scenario: compile, evaluate with the economics core, aggregate KPIs, check policy, and (optionally)
run Monte Carlo over baseline noise and response parameters.

A simulation is a pure function of (rule set, options, events): the same inputs and seed give identical results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special

from planner.compile.calendar import violations
from planner.compile.index import FloatArray
from planner.compile.model import Compiled, IntArray, compile_rules
from planner.compile.promotions import Promotions, compile_promotions
from planner.economics.core import Cells, evaluate
from planner.execute import Executor
from planner.results import Kpis, PolicyCheck, Simulation, Spread, Uncertainty
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import Calendar, DisplayMinRevenue, Event, RuleSet

Progress = Callable[[int, int], None]
WEEKLY = ("volume", "gross_sales", "trade_spend", "net_sales", "gross_profit", "budget_spend")
UNCERTAIN = ("volume", "gross_sales", "trade_spend", "net_sales", "gross_profit", "gross_margin", "trade_spend_pct",
             "budget_used")
ORDER_UP_TO = 1.5
"""The rep's order brings the outlet's stock to 1.5x safety stock (1.5倍安全库存)."""


def promotions_for(rules: RuleSet, compiled: Compiled, events: Sequence[Event]) -> Promotions:
    return compile_promotions(events, rules.ids("mechanics"), rules.ids("product_groups"), compiled.index,
                              compiled.demand.expected_base, compiled.demand.lifts)


def order_suggestion(volume: np.ndarray, safety_weeks: np.ndarray) -> np.ndarray:
    """Cases to order per account x week: this week's sales plus the change in the stock target, where the target
    is 1.5 x safety stock and safety stock is `safety_weeks` of next week's forecast. Stock starts at target."""
    following = np.concatenate([volume[:, 1:], volume[:, -1:]], axis=1)
    target = ORDER_UP_TO * safety_weeks[:, None] * following
    before = np.concatenate([ORDER_UP_TO * safety_weeks[:, None] * volume[:, :1], target[:, :-1]], axis=1)
    order: np.ndarray = np.maximum(volume + target - before, 0.0)
    return order


def _period_weeks(calendar: Calendar, period: str) -> range:
    """0-based weeks of a budget period; a quarter the calendar does not have (Q4 of a two-quarter year) has none."""
    if period == "year":
        return range(calendar.weeks)
    quarter = int(period[1])
    if quarter > len(calendar.quarters):
        return range(0)
    weeks = calendar.quarter_weeks(quarter)
    return range(weeks.start - 1, weeks.stop - 1)


def _policy(rules: RuleSet, compiled: Compiled, cells: Cells, events: Sequence[Event],
            per_account: dict[str, np.ndarray]) -> list[PolicyCheck]:
    index = compiled.index
    checks: list[PolicyCheck] = []
    budget_spend = cells.budget_spend
    for budget in rules.budgets:
        weeks = _period_weeks(index.calendar, budget.period)
        accounts = index.account_mask(budget.applies_to)
        products = index.product_mask(budget.applies_to)
        in_weeks = np.zeros(index.calendar.weeks)
        in_weeks[weeks.start:weeks.stop] = 1.0
        spend = np.einsum("apw,p,w->a", budget_spend, products.astype(float), in_weeks)
        groups = ([(index.accounts[a].id, spend[a:a + 1]) for a in np.flatnonzero(accounts)]
                  if budget.per == "account" else [("total", spend[accounts])])
        for scope, amounts in groups:
            used = float(amounts.sum())
            if budget.max is not None:
                checks.append(PolicyCheck(budget.id, "budget_max", f"{scope} {budget.period}", used, budget.max,
                                          used <= budget.max + 1e-6))
            if budget.min is not None:
                checks.append(PolicyCheck(budget.id, "budget_min", f"{scope} {budget.period}", used, budget.min,
                                          used >= budget.min - 1e-6))
    channel = np.array([a.channel for a in index.accounts])
    for floor in list(rules.margin_floors) + list(rules.trade_spend_caps):
        accounts = index.account_mask(floor.applies_to)
        if floor.per == "account":
            groups = [(index.accounts[a].id, accounts & (np.arange(len(accounts)) == a)) for a in np.flatnonzero(accounts)]
        elif floor.per == "channel":
            groups = [(c, accounts & (channel == c)) for c in sorted(set(channel[accounts]))]
        else:
            groups = [("total", accounts)]
        for scope, members in groups:
            if hasattr(floor, "min_gross_margin"):
                net, profit = per_account["net_sales"][members].sum(), per_account["gross_profit"][members].sum()
                actual = float(profit / net) if net else 0.0
                checks.append(PolicyCheck(floor.id, "margin_floor", scope, actual, floor.min_gross_margin,
                                          actual >= floor.min_gross_margin - 1e-9))
            else:
                gross, trade = per_account["gross_sales"][members].sum(), per_account["trade_spend"][members].sum()
                actual = float(trade / gross) if gross else 0.0
                checks.append(PolicyCheck(floor.id, "trade_spend_cap", scope, actual, floor.max_share,
                                          actual <= floor.max_share + 1e-9))
    checks.extend(_display_revenue(rules, compiled, cells, events))
    plan: dict[tuple[str, str], dict[int, str]] = {}
    carried = compiled.demand.baseline > 0
    for group in rules.product_groups:  # every line the account sells, promoted or not: minimums apply to all
        products = index.product_mask(group.products)
        for a in np.flatnonzero((carried & products[None, :]).any(axis=1)):
            plan[(index.accounts[a].id, group.id)] = {}
    for event in events:
        for week in event.weeks:
            plan.setdefault((event.account, event.product_group), {})[week] = event.mechanic
    for broken in violations(rules, index, plan, complete=True):
        rule_id = broken.rule.id if broken.rule else "calendar"
        checks.append(PolicyCheck(rule_id, "calendar", f"{broken.account} x {'/'.join(broken.groups)}", 0.0, 0.0,
                                  False, broken.message))
    return checks


def _display_revenue(rules: RuleSet, compiled: Compiled, cells: Cells, events: Sequence[Event]) -> list[PolicyCheck]:
    index, mechanics, groups = compiled.index, rules.ids("mechanics"), rules.ids("product_groups")
    out = []
    for rule in (r for r in rules.calendar_rules if isinstance(r, DisplayMinRevenue)):
        accounts = index.account_mask(rule.applies_to)
        for event in events:
            mechanic, a = mechanics.get(event.mechanic), index.account_position.get(event.account)
            if mechanic is None or a is None or not accounts[a] or not (mechanic.display or mechanic.kind == "display"):
                continue
            if rule.product_groups is not None and event.product_group not in rule.product_groups:
                continue
            products = index.product_mask(groups[event.product_group].products)
            for week in event.weeks:
                revenue = float(cells.net_sales[a, products, week - 1].sum())
                out.append(PolicyCheck(rule.id, "display_min_revenue", f"{event.account} week {week}", revenue,
                                       rule.min_revenue, revenue >= rule.min_revenue - 1e-6, event.id))
    return out


def _kpis(compiled: Compiled, per_account: dict[str, np.ndarray], none: Cells) -> tuple[Kpis, dict[str, Kpis]]:
    totals = Kpis.of({key: value.sum() for key, value in per_account.items()}, float(none.gross_profit.sum()))
    baseline_profit = none.gross_profit.sum(axis=(1, 2))
    accounts = {account.id: Kpis.of({k: v[a] for k, v in per_account.items()}, float(baseline_profit[a]))
                for a, account in enumerate(compiled.index.accounts)}
    return totals, accounts


def _growth(compiled: Compiled, volume_by_account: np.ndarray) -> np.ndarray:
    """Volume growth vs last year; `volume_by_account` has accounts on its last axis."""
    last_year = np.array([a.last_year_volume for a in compiled.index.accounts])
    growth: np.ndarray = np.divide(volume_by_account, last_year, out=np.zeros_like(volume_by_account),
                                   where=last_year > 0) - 1.0
    return growth


@dataclass(frozen=True)
class UncertainPlan:
    """A plan ready for Monte Carlo: what every draw of its demand reads (sent once to each worker of a cluster,
    planner.execute). A promoted cell whose mechanic has a lift spread (`Demand.lift_sd`) draws its lift from the
    normal of its (mechanic, account, product): the same number in every week of the draw."""

    compiled: Compiled
    promotions: Promotions
    lift_cells: IntArray
    """Flat numbers of the promoted cells whose lift is uncertain."""
    lift_normal: IntArray
    """For each of them, which of the draw's `lift_normals` standard normals it takes."""
    lift_sd: FloatArray
    """For each of them, the standard deviation of its log lift."""
    lift_normals: int
    """Normals a draw takes for the lifts: (mechanics with a spread) x accounts x products; 0 when none has one."""
    holiday_cells: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    """Flat numbers of the cells a holiday with an uncertain uplift covers (a cell once per such holiday)."""
    holiday_normal: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    """For each of them, which of the draw's `holiday_normals` standard normals it takes."""
    holiday_sd: FloatArray = field(default_factory=lambda: np.zeros(0))
    """For each of them, the standard deviation of the holiday's log uplift there."""
    holiday_normals: int = 0
    """Normals a draw takes for the holidays: (holidays with a spread) x accounts x products; 0 when none has one."""


def uncertain_plan(rules: RuleSet, compiled: Compiled, events: Sequence[Event], promotions: Promotions) -> UncertainPlan:
    """`promotions` (compiled from `events`) with the lift spread of each promoted cell. Which mechanic runs in a
    cell is what `compile_promotions` decides (a later event wins a cell two events cover), so it is asked: placed
    with each mechanic's number as its lift (1, 2, ... for the mechanics with a spread, 0 for the others), the
    calendar gives the number of every promoted cell's mechanic."""
    holidays = _holiday_spread(rules, compiled)
    spread = sorted(m for m, table in compiled.demand.lift_sd.items() if table.any())
    none = np.zeros(0, dtype=np.intp)
    if not spread:
        return UncertainPlan(compiled, promotions, none, none, np.zeros(0), 0, *holidays)
    accounts, products, weeks = compiled.shape
    numbers = {m: np.broadcast_to(float(spread.index(m) + 1) if m in spread else 0.0, (accounts, products))
               for m in rules.ids("mechanics")}
    placed = compile_promotions(events, rules.ids("mechanics"), rules.ids("product_groups"), compiled.index,
                                compiled.demand.expected_base, numbers)
    if not np.array_equal(placed.promoted, promotions.promoted):
        raise ValueError("the promotions were not compiled from these events")
    promoted = np.flatnonzero(promotions.promoted)
    number = np.rint(placed.lift.reshape(-1)[promoted]).astype(np.intp) - 1
    live = number >= 0
    line = promoted[live] // weeks  # account x products + product
    tables = np.stack([compiled.demand.lift_sd[m] for m in spread]).reshape(len(spread), -1)
    return UncertainPlan(compiled, promotions, promoted[live], number[live] * (accounts * products) + line,
                         tables[number[live], line], len(spread) * accounts * products, *holidays)


def _holiday_spread(rules: RuleSet, compiled: Compiled) -> tuple[IntArray, IntArray, FloatArray, int]:
    """(cells, normal, sd, normals) of the holidays with an uplift spread (`Demand.holiday_uplift_sd`): every cell
    a holiday covers in its weeks takes the normal of its (holiday, account, product), the same in each week."""
    tables = compiled.demand.holiday_uplift_sd
    days = [day for day in (rules.calendar.holidays if rules.calendar else ()) if day.id in tables
            and tables[day.id].any()]
    accounts, products, weeks = compiled.shape
    cells, normal, sd = [], [], []
    for number, day in enumerate(days):
        live = np.array(sorted({w - 1 for w in day.weeks if 1 <= w <= weeks}), dtype=np.intp)
        covered = compiled.index.account_mask(day.applies_to)[:, None] \
            & compiled.index.product_mask(day.applies_to)[None, :] & (tables[day.id] > 0)
        line = np.flatnonzero(covered)  # account x products + product
        cells.append((line[:, None] * weeks + live[None, :]).reshape(-1))
        normal.append(np.repeat(number * accounts * products + line, len(live)))
        sd.append(np.repeat(tables[day.id].reshape(-1)[line], len(live)))
    if not days:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0), 0
    return (np.concatenate(cells).astype(np.intp), np.concatenate(normal).astype(np.intp), np.concatenate(sd),
            len(days) * accounts * products)


@dataclass(frozen=True)
class DemandDraw:
    """One draw of the demand's uncertainty: the rules with the drawn dip and cannibalization shares, the
    promotions with the drawn lifts, the drawn elasticities and the baseline noise."""

    compiled: Compiled
    promotions: Promotions
    elasticity: FloatArray
    noise: FloatArray

    def cells(self) -> Cells:
        return evaluate(self.compiled, self.promotions, elasticity=self.elasticity, noise=self.noise)


def truncated_normal(mean: FloatArray, sd: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Normal around `mean` with `sd`, truncated to [0, 1] (a share), by inverting the normal distribution
    function on one uniform per value; `mean` itself where `sd` is 0. Both bounds are at most 1 / sd standard
    deviations from a mean in [0, 1], so the inversion stays accurate."""
    uniform = rng.random(mean.shape)
    spread = sd > 0
    scale = np.where(spread, sd, 1.0)
    low, high = special.ndtr(-mean / scale), special.ndtr((1.0 - mean) / scale)
    value = np.clip(mean + scale * special.ndtri(low + uniform * (high - low)), 0.0, 1.0)
    drawn: FloatArray = np.where(spread, value, mean)
    return drawn


def _with_shares(compiled: Compiled, dip: FloatArray, cannibalization: FloatArray) -> Compiled:
    """`compiled` with other dip and cannibalization shares. None of its cached arrays reads them (the expected
    base, the shelf prices, price ratios and off-invoice amounts, the categories), so those are carried over, not
    computed again in every draw; a cached array that read the shares would have to be left out here."""
    demand = replace(compiled.demand, post_promo_dip=dip, cannibalization=cannibalization)
    demand.__dict__["expected_base"] = compiled.demand.expected_base
    drawn = replace(compiled, demand=demand)
    for name in ("shelf_regular", "price_ratio", "off_invoice_per_case", "category"):
        drawn.__dict__[name] = getattr(compiled, name)
    return drawn


def demand_draw(plan: UncertainPlan, rng: np.random.Generator) -> DemandDraw:
    """One draw of the demand's uncertainty, in this order of `rng`'s numbers:

    * baseline noise, log-normal with mean 1 and CV baseline_noise per cell;
    * elasticities, normal around their value with sd elasticity_sd per account x product, capped at 0;
    * lifts, when some mechanic has a spread: lift x exp(lift_sd x Z), Z one standard normal per mechanic (with a
      spread) x account x product, so log-normal with the lift as median;
    * dip shares, when some has a spread: normal with sd post_promo_dip_sd per account x product, truncated to
      [0, 1];
    * cannibalization shares likewise, when some has a spread;
    * holiday uplifts, when some holiday has a spread: uplift x exp(holiday_uplift_sd x Z), Z one standard normal
      per holiday (with a spread) x account x product, the same in every week the holiday covers (a factor on the
      cell's base, as the uplift is).

    A rule set without spreads draws what it drew before lifts, dips, cannibalization and holiday uplifts could
    be drawn. The simulator's Monte Carlo and the review's latest estimate both draw through here."""
    compiled, promotions = plan.compiled, plan.promotions
    demand = compiled.demand
    sigma = np.sqrt(np.log1p(demand.baseline_noise**2))[:, :, None]
    noise = np.exp(rng.standard_normal(compiled.index.shape) * sigma - sigma**2 / 2)
    elasticity = np.minimum(demand.elasticity + rng.standard_normal(demand.elasticity.shape) * demand.elasticity_sd,
                            0.0)
    if plan.lift_normals:
        normals = rng.standard_normal(plan.lift_normals)
        lift = promotions.lift.copy()
        lift.reshape(-1)[plan.lift_cells] *= np.exp(plan.lift_sd * normals[plan.lift_normal])
        promotions = replace(promotions, lift=lift)
    dip, cannibalization = demand.post_promo_dip, demand.cannibalization
    if demand.post_promo_dip_sd.any():
        dip = truncated_normal(dip, demand.post_promo_dip_sd, rng)
    if demand.cannibalization_sd.any():
        cannibalization = truncated_normal(cannibalization, demand.cannibalization_sd, rng)
    if dip is not demand.post_promo_dip or cannibalization is not demand.cannibalization:
        compiled = _with_shares(compiled, dip, cannibalization)
    if plan.holiday_normals:
        normals = rng.standard_normal(plan.holiday_normals)
        np.multiply.at(noise.reshape(-1), plan.holiday_cells, np.exp(plan.holiday_sd * normals[plan.holiday_normal]))
    return DemandDraw(compiled, promotions, elasticity, noise)


@dataclass(frozen=True)
class _DrawInputs:
    plan: UncertainPlan
    seed: int


def _draw(inputs: _DrawInputs, draw: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """One draw: totals and per-account sums. Its random numbers come from a generator of its own, seeded by
    (seed, draw), so a draw is the same wherever and in whatever order it runs."""
    cells = demand_draw(inputs.plan, np.random.default_rng([inputs.seed, draw])).cells()
    kpis = Kpis.of(cells.sums((0, 1, 2)), 0.0).as_dict()
    per_account = cells.sums((1, 2))
    return ({key: kpis[key] for key in UNCERTAIN},
            {key: per_account[key] for key in ("volume", "gross_profit", "net_sales")})


def monte_carlo(rules: RuleSet, compiled: Compiled, promotions: Promotions, draws: int, seed: int,
                progress: Progress | None = None, executor: Executor | None = None,
                events: Sequence[Event] | None = None) -> Uncertainty:
    """Re-evaluate the plan under `draws` draws of its demand (`demand_draw`: baseline noise, elasticities, and
    the lifts, dips and cannibalization shares the rules give a spread); seeded and reproducible. `events`: the
    calendar `promotions` was compiled from (default the rules' own). The draws are independent tasks of
    `executor` (default: in process): the same seed gives the same results, byte for byte, wherever they run."""
    index = compiled.index
    done = [0]

    def count(_position: int, _result: object) -> None:
        done[0] += 1
        if progress:
            progress(done[0], draws)

    plan = uncertain_plan(rules, compiled, list(rules.events if events is None else events), promotions)
    results = (executor or Executor()).map(_draw, range(draws), _DrawInputs(plan, seed), on_result=count)
    totals = {key: np.array([kpis[key] for kpis, _ in results]) for key in UNCERTAIN}
    accounts = {key: np.array([sums[key] for _, sums in results]).reshape(draws, len(index.accounts))
                for key in ("volume", "gross_profit", "net_sales")}
    result = Uncertainty(draws, seed, {key: Spread.of(values) for key, values in totals.items()})
    growth = _growth(compiled, accounts["volume"])
    for a, account in enumerate(index.accounts):
        result.accounts[account.id] = {key: Spread.of(values[:, a]) for key, values in accounts.items()}
        if account.growth_target is not None:
            result.target_probability[account.id] = float((growth[:, a] >= account.growth_target - 1e-12).mean())
    return result


def simulate(rules: RuleSet, options: ScenarioOptions, *, scenario: str = "", name: str = "",
             events: Sequence[Event] | None = None, plan_source: str = "rules", applied: Sequence[str] = (),
             progress: Progress | None = None, executor: Executor | None = None) -> Simulation:
    """Evaluate the plan (`events`, default the rules' own) and, with `options.draws`, its Monte Carlo draws on
    `executor` (default: in process)."""
    compiled = compile_rules(rules)
    events = list(rules.events if events is None else events)
    promotions = promotions_for(rules, compiled, events)
    cells = evaluate(compiled, promotions)
    none = evaluate(compiled, Promotions.none(compiled.shape))
    by_week = cells.sums((1,))
    per_account = {key: value.sum(axis=1) for key, value in by_week.items()}
    totals, accounts = _kpis(compiled, per_account, none)
    safety = np.array([a.safety_stock_weeks for a in compiled.index.accounts])
    orders = order_suggestion(by_week["volume"], safety)
    account_weeks = {
        account.id: {**{key: by_week[key][a].tolist() for key in WEEKLY}, "order_suggestion": orders[a].tolist()}
        for a, account in enumerate(compiled.index.accounts)
    }
    growth = _growth(compiled, per_account["volume"])
    shelf = []
    for target in rules.shelf_targets:
        for a in np.flatnonzero(compiled.index.account_mask(target.applies_to)):
            account = compiled.index.accounts[a]
            current = account.shelf_share.get(target.category)  # None: not recorded, no fee (as the P&L books it)
            gap = 0.0 if current is None else max(0.0, target.share - current)
            shelf.append({"target": target.id, "account": account.id, "category": target.category,
                          "current": current, "share": target.share, "met_without_investment": gap == 0.0,
                          "fee": gap * 100 * target.cost_per_point})
    uncertainty = monte_carlo(rules, compiled, promotions, options.draws, options.seed, progress, executor,
                              events) if options.draws else None
    calendar = rules.calendar
    return Simulation(
        scenario=scenario, name=name, year=calendar.year if calendar else 0,
        currency=rules.company.currency if rules.company else "", totals=totals, accounts=accounts,
        weeks=compiled.index.calendar.weeks, account_weeks=account_weeks,
        policy=_policy(rules, compiled, cells, events, per_account),
        growth={account.id: float(growth[a]) for a, account in enumerate(compiled.index.accounts)},
        shelf_targets=shelf, uncertainty=uncertainty, applied_overrides=list(applied), plan_source=plan_source,
    )
