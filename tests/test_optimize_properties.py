"""Properties of the optimizer (planner/optimize) on small generated worlds, with the simulator as referee.

- more budget never lowers the optimal profit, whatever the budget's period and scope;
- the optimized plan is never worse than no promotions, nor than the scenario's own calendar, whenever the rules
  allow them (the whole run, `planner.optimize.run.optimize`, against `planner.simulate.simulate`);
- on worlds of four weeks and one or two lines, the optimum is the best of every calendar the options allow, each
  simulated and policy-checked, and the MILP's objective is that calendar's simulated profit;
- permuting the accounts changes neither the optimal profit nor the plan;
- locking an event of the optimal plan changes nothing.

The worlds are those of test_optimize_families (a hypermarket selling cola, water and fizz) with up to three
accounts of different sizes, four weeks of different demand, and drawn mechanics, demand response, calendar rules and
budget. Distinct account sizes and week demands make the optimum unique, so "the plan" is well defined when the
accounts are permuted. The dip and cannibalization stay small enough that no cell's volume is clamped at zero, the
one non-linearity the option values leave out (options.py): on these worlds the MILP is exact, every solve is
run to proven optimality, and profits are compared up to rounding.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_optimize_families import mechanic, optimize, plan_cells, prepared, rule, schedules, world

from planner.compile.model import Compiled
from planner.optimize import run
from planner.optimize.highs import Status
from planner.optimize.options import Options
from planner.rules.scenario import Resolved, ScenarioOptions
from planner.rules.schema import Budget, Event, Response, RuleSet
from planner.simulate import simulate

GAP = 0.0
"""Every solve runs to proven optimality: at any positive gap, near-optimal plans (a unit of money apart on a
million of profit) pass for optimal, and two runs need not stop at the same one."""
ROUNDING = 1e-9
"""Relative difference between two profits that is rounding, not a different plan."""
WEEKS = 4
WEEK_DEMAND = (1.04, 1.08, 1.16, 1.32)
"""Seasonality of the four weeks, in a drawn order: 1 + 2^k / 25, so no two sets of weeks have the same demand."""
QUARTERS = ((1, 1, 1, 1), (2, 1, 1), (2, 2))
"""A year of four, three or two quarters: a budget may name a quarter the calendar does not have."""
ACCOUNT_SIZES = (1.0, 1.37, 0.61)
"""Baseline volume of each account, relative to the first."""
MOST_CALENDARS = 256
"""Most calendars a world may allow when every one of them is simulated."""
REFEREE = ScenarioOptions()
"""Deterministic (no Monte Carlo draws)."""
SOLVES = settings(max_examples=max(1, settings().max_examples // 2), derandomize=True)
"""Half the profile's examples (30 under `ci`): each example solves one to four MILPs."""

CALENDAR_RULES: tuple[dict[str, Any], ...] = (
    {"kind": "event_count", "max": 1},
    {"kind": "event_count", "max": 2},
    {"kind": "event_count", "period": "quarter", "max": 1},
    {"kind": "event_count", "min": 2, "product_groups": ["cola"]},
    {"kind": "max_consecutive", "weeks": 1},
    {"kind": "min_gap", "weeks": 1},
    {"kind": "blackout", "weeks": [2]},
)


# --------------------------------------------------------------------------------------------------------- worlds


def with_accounts(rules: RuleSet, count: int) -> RuleSet:
    """The world's one account and its baseline, copied to `count` accounts of ACCOUNT_SIZES."""
    first, baseline = rules.accounts[0], rules.baselines[0]
    return rules.replace(
        accounts=tuple(first.model_copy(update={"id": f"acc{a}"}) for a in range(count)),
        baselines=tuple(baseline.model_copy(update={
            "id": f"base{a}", "account": f"acc{a}",
            "cases_per_week": {product: cases * ACCOUNT_SIZES[a] for product, cases in baseline.cases_per_week.items()},
        }) for a in range(count)))


@st.composite
def small_worlds(draw: st.DrawFn, min_accounts: int = 1, max_accounts: int = 2,
                 most_calendars: int | None = MOST_CALENDARS, budget: bool = True) -> RuleSet:
    """A four-week world: 1-2 promotable product groups (cola, water), 1-2 price cuts on them, 1-2 calendar rules
    and maybe a total budget. With `most_calendars`, no more calendars than that (at most two accounts)."""
    accounts = draw(st.integers(min_accounts, max_accounts))
    brands = draw(st.sampled_from((("cola",), ("cola", "aqua"))))
    if most_calendars is not None and 2 ** (WEEKS * accounts * len(brands)) > most_calendars:
        brands = ("cola",)
    lines = accounts * len(brands)
    most_mechanics = max(m for m in (1, 2) if most_calendars is None or (1 + m) ** (WEEKS * lines) <= most_calendars)
    mechanics = []
    for m in range(draw(st.integers(1, most_mechanics))):
        raw: dict[str, Any] = {
            "depth": draw(st.sampled_from((0.1, 0.2, 0.3))), "funding": draw(st.sampled_from((0.2, 0.5, 1.0))),
            "fixed_cost": draw(st.sampled_from((0.0, 2_000.0, 20_000.0))), "lift": draw(st.sampled_from((1.0, 1.15))),
            "feature": draw(st.booleans()), "applies_to": {"brand": list(brands)}}
        if draw(st.booleans()):
            raw["valid"] = {"from": dt.date(2027, 1, 11)}  # from week 2
        mechanics.append(mechanic(f"cut{m}", **raw))
    rules = world(weeks=WEEKS, quarters=draw(st.sampled_from(QUARTERS)), mechanics=tuple(mechanics),
                  weights=tuple(draw(st.permutations(WEEK_DEMAND))), cogs=draw(st.sampled_from((20.0, 35.0))))
    response = Response(id="resp", elasticity=draw(st.sampled_from((-1.5, -3.0))),
                        post_promo_dip=draw(st.sampled_from((0.0, 0.1, 0.2))), dip_weeks=draw(st.integers(1, 2)),
                        cannibalization=draw(st.sampled_from((0.0, 0.05))))
    chosen = draw(st.lists(st.sampled_from(CALENDAR_RULES), min_size=1, max_size=2))
    rules = with_accounts(rules, accounts).replace(
        response=(response,), calendar_rules=tuple(rule(id=f"rule{i}", **raw) for i, raw in enumerate(chosen)))
    share = draw(st.sampled_from((None, 0.25, 0.5, 0.75))) if budget else None
    if share is not None:  # a share of what every option that spends would spend
        _, options = prepared(rules)
        rules = rules.replace(budgets=(Budget(id="promo", max=share * options.value["budget_spend"].clip(0).sum()),))
    return rules


# ------------------------------------------------------------------------------------------------------- referee


def calendar(options: Options, compiled: Compiled, chosen: Iterable[int]) -> list[Event]:
    """The chosen options as a calendar: one single-week event each."""
    return [Event(id=f"option{o}", account=compiled.index.accounts[options.lines[options.line[o]][0]].id,
                  product_group=options.lines[options.line[o]][1], mechanic=options.mechanics[options.mechanic[o]].id,
                  weeks=(int(options.week[o]) + 1,))
            for o in chosen]


def refereed(rules: RuleSet, events: Sequence[Event]) -> tuple[float, bool]:
    """The simulator's gross profit of a calendar, and whether it passes every policy check (budgets, calendar)."""
    simulation = simulate(rules, REFEREE, events=events)
    return simulation.totals.gross_profit, all(check.ok for check in simulation.policy)


def promoted(events: Iterable[Event]) -> set[tuple[str, str, int, str]]:
    """A plan as (account, product group, week, mechanic), however its weeks are cut into events."""
    return {(e.account, e.product_group, week, e.mechanic) for e in events for week in e.weeks}


def slack(profit: float) -> float:
    """How far below another profit a profit may lie by rounding alone."""
    return ROUNDING * max(1.0, abs(profit))


# ----------------------------------------------------------------------------------------------------- properties


@SOLVES
@given(small_worlds(budget=False), st.sampled_from(("year", "Q1", "Q2", "Q3", "Q4")),
       st.sampled_from(("total", "account")), st.lists(st.integers(0, 8), min_size=2, max_size=3, unique=True))
def test_more_budget_never_lowers_the_optimal_profit(rules: RuleSet, period: str, per: str,
                                                     eighths: list[int]) -> None:
    """Budgets of 0-8 eighths of what the unbudgeted optimum spends, then no budget: profit never falls."""
    free, compiled, _ = optimize(rules, GAP)
    spend = float(plan_cells(rules, compiled, free).budget_spend.sum())
    ladder = [optimize(rules.replace(budgets=(Budget(id="promo", period=period, per=per, max=spend * k / 8),)), GAP)[0]
              for k in sorted(eighths)]
    for tighter, looser in itertools.pairwise([*ladder, free]):
        if tighter.status is Status.INFEASIBLE:
            continue
        assert tighter.status is Status.OPTIMAL and looser.status is Status.OPTIMAL
        assert looser.objective >= tighter.objective - slack(tighter.objective)


@SOLVES
@given(small_worlds(), st.data())
def test_the_plan_beats_no_promotions_and_the_scenario_calendar(rules: RuleSet, data: st.DataObject) -> None:
    """The scenario's own calendar is any calendar the options allow (unlocked, so the optimizer may drop it)."""
    compiled, options = prepared(rules)
    every = schedules(options)
    chosen = np.flatnonzero(every[data.draw(st.integers(0, len(every) - 1), label="calendar")])
    scenario = rules.replace(events=tuple(calendar(options, compiled, chosen)))
    result = run.optimize(Resolved("properties", "", "", scenario, REFEREE), time_limit=30, gap=GAP)
    for name, events in (("no promotions", ()), ("the scenario's calendar", scenario.events)):
        profit, allowed = refereed(scenario, events)
        if allowed:
            assert result.status is Status.OPTIMAL, f"{result.status.value} although {name} keeps every rule"
            assert not result.violations and result.prediction_ok
            assert result.simulated_profit is not None and result.simulated_profit >= profit - slack(profit), name


@SOLVES
@given(small_worlds())
def test_the_optimum_is_the_best_calendar_by_enumeration(rules: RuleSet) -> None:
    solution, compiled, options = optimize(rules, GAP)
    every = [refereed(rules, calendar(options, compiled, np.flatnonzero(chosen))) for chosen in schedules(options)]
    allowed = [profit for profit, ok in every if ok]
    if not allowed:
        assert solution.status is Status.INFEASIBLE
        return
    assert solution.status is Status.OPTIMAL
    profit, ok = refereed(rules, solution.events)
    assert ok
    assert profit == pytest.approx(max(allowed), rel=ROUNDING)
    assert solution.objective == pytest.approx(profit, rel=ROUNDING)


@SOLVES
@given(small_worlds(min_accounts=2, max_accounts=3, most_calendars=None), st.data())
def test_permuting_accounts_changes_neither_profit_nor_plan(rules: RuleSet, data: st.DataObject) -> None:
    order = data.draw(st.permutations(rules.accounts).filter(lambda order: order != list(rules.accounts)),
                      label="accounts")
    position = {account.id: a for a, account in enumerate(order)}
    permuted = rules.replace(accounts=tuple(order),
                             baselines=tuple(sorted(rules.baselines, key=lambda b: position[b.account])))
    solution, again = optimize(rules, GAP)[0], optimize(permuted, GAP)[0]
    assert again.status is solution.status
    if solution.status is Status.OPTIMAL:
        assert again.objective == pytest.approx(solution.objective, rel=ROUNDING)
        assert promoted(again.events) == promoted(solution.events)


@SOLVES
@given(small_worlds(max_accounts=3, most_calendars=None), st.data())
def test_locking_an_event_of_the_optimum_changes_nothing(rules: RuleSet, data: st.DataObject) -> None:
    solution, _, _ = optimize(rules, GAP)
    assume(solution.status is Status.OPTIMAL and solution.events)
    chosen = data.draw(st.sampled_from(solution.events), label="locked")
    pinned = chosen.model_copy(update={"id": "pinned", "locked": True})
    again, _, _ = optimize(rules.replace(events=(*rules.events, pinned)), GAP)
    assert again.status is Status.OPTIMAL
    assert again.objective == pytest.approx(solution.objective, rel=ROUNDING)
    assert pinned in again.events
