"""The price search (planner/optimize/prices.py): the coupling rows' prices from the accounts' own LPs.

On the account split's world (tests/test_optimize_split.py: three accounts, rebate tiers, a total budget and a
total margin floor), with the budget loose, binding and tight:

- the search's bound is L(prices) with the accounts' LP hulls: at least the MILP optimum (weak duality, whatever
  the prices) and, at the search's tolerance, the LP relaxation's optimum (strong duality), which it reaches
  without the whole model's LP; its proven lower value lies below that optimum;
- its prices give the split the LP duals' plan: the account split reaches the gap target with the search forced
  (`split.PRICE_SEARCH_COLUMNS` 0), and its plan keeps every rule the whole model's optimum keeps;
- the master's mix of the accounts' LP solutions (what the repair uses as the LP's plan) keeps every row and is
  worth the LP optimum, with a cut per account and with cuts summed over groups of accounts (`prices.GROUPS`);
- a search stopped after its first iteration, or by the time limit, still certifies a bound;
- an account whose own rows have no LP solution makes the search say infeasible;
- the search is the same, byte for byte, one account after the other, in threads, and when no process keeps an
  account's basis between iterations (each LP solved again from the first prices, as a worker of a cluster that
  did not solve the account last time does); on a LocalCluster of 2: tests/test_execute.py.
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from test_optimize_families import plan_cells, prepared
from test_optimize_split import GAP, accounts_world, model_of, parts

from planner.execute import Executor
from planner.optimize import prices, split
from planner.optimize.blocks import block_problems
from planner.optimize.highs import Status, run_problem
from planner.optimize.matrix import Problem
from planner.optimize.solve import solve
from planner.rules.schema import Budget

SHARES = [None, 0.6, 0.25]


def search_of(share: float | None, max_iterations: int = prices.MAX_ITERATIONS) -> tuple[prices.Search, float]:
    """The search on the world with the budget at `share` of what every option would spend, and the LP optimum."""
    found, lp, _ = searched(share, max_iterations)
    return found, lp


def searched(share: float | None, max_iterations: int = prices.MAX_ITERATIONS,
             groups: int = prices.GROUPS) -> tuple[prices.Search, float, Problem]:
    problem, blocks = parts(model_of(accounts_world(budget_share=share, margin=0.3)))
    lp = run_problem(problem.relaxed(), 30, None, options={})
    assert lp.status is Status.OPTIMAL
    found = prices.search(problem, block_problems(problem, blocks, problem.cost), blocks.coupling,
                          max_iterations=max_iterations, groups=groups)
    return found, lp.objective, problem


@pytest.mark.parametrize("share", SHARES)
def test_the_recovered_plan_is_an_lp_relaxation_plan(share: float | None) -> None:
    """The master's mix of the accounts' LP solutions keeps every row of the LP relaxation, the coupling rows
    included, and is worth the LP optimum (within the search's tolerance): what the repair takes as the LP's plan."""
    found, lp, problem = searched(share)
    assert_an_lp_plan(found, lp, problem)


@pytest.mark.parametrize("groups", [1, 2])
def test_cuts_summed_by_group_of_accounts_reach_the_lp_optimum_and_an_lp_plan(groups: int) -> None:
    """With fewer groups than accounts (the master's size bounded however many accounts: `prices.GROUPS`), each
    cut is the sum of its group's accounts' cuts: the model of L is coarser, the bound still L(prices) and, at the
    tolerance, the LP optimum; the recovered plan mixes each account's solutions by its group's weights."""
    found, lp, problem = searched(0.25, groups=groups)
    assert found.status is Status.OPTIMAL
    assert found.bound == pytest.approx(lp, rel=prices.TOLERANCE) and found.bound >= lp - 1e-9 * abs(lp)
    assert found.lower <= lp + 1e-9 * abs(lp)
    assert_an_lp_plan(found, lp, problem)


def assert_an_lp_plan(found: prices.Search, lp: float, problem: Problem) -> None:
    activity = np.bincount(problem.row_of(), weights=problem.value * found.recovered[problem.index],
                           minlength=len(problem.row_lower))
    room = 1e-6 * np.maximum(1.0, np.abs(activity))
    assert (activity >= problem.row_lower - room).all() and (activity <= problem.row_upper + room).all()
    assert problem.cost @ found.recovered + problem.offset == pytest.approx(lp, rel=prices.TOLERANCE)


@pytest.mark.parametrize("share", SHARES)
def test_the_bound_is_the_lp_optimum_and_above_the_milp_optimum(share: float | None) -> None:
    found, lp = search_of(share)
    assert found.status is Status.OPTIMAL
    assert found.bound == pytest.approx(lp, rel=prices.TOLERANCE)
    assert found.bound >= lp - 1e-9 * abs(lp)  # L(prices) >= min L = the LP optimum
    assert found.lower <= lp + 1e-9 * abs(lp)
    whole = solve(model_of(accounts_world(budget_share=share, margin=0.3)), 30, GAP, duals=False, whole=True)
    assert found.bound >= whole.objective


def test_a_search_stopped_at_once_still_bounds_the_optimum() -> None:
    found, lp = search_of(0.25, max_iterations=1)
    assert found.iterations == 1 and found.status is Status.TIME_LIMIT
    assert found.bound >= lp  # prices 0: a bound, far from the LP's
    assert found.bound > lp * (1 + prices.TOLERANCE)


@pytest.mark.parametrize("share", SHARES)
def test_the_split_priced_by_the_search_reaches_the_gap(share: float | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced on the split's world, the search's prices take the split where the LP's duals take it (with the
    tight budget neither the accounts' plans nor the repair prove 1e-4, and the whole model finishes from them), to
    the same plan within the gap."""
    rules = accounts_world(budget_share=share, margin=0.3)
    gap = 1e-4
    whole = solve(model_of(rules), 30, GAP, duals=False, whole=True)
    by_lp = solve(model_of(rules), 30, gap, duals=False)
    monkeypatch.setattr(split, "PRICE_SEARCH_COLUMNS", 0)
    model = model_of(rules)
    planned = solve(model, 30, gap, duals=False)
    assert planned.status is Status.OPTIMAL and planned.method == by_lp.method
    if share != 0.25:
        assert planned.method == split.Method.SPLIT
    assert planned.gap <= gap
    assert planned.bound >= whole.objective - 1e-9 * abs(whole.objective)
    assert planned.objective >= whole.objective - gap * abs(whole.objective)
    compiled, _ = prepared(rules)
    cells = plan_cells(rules, compiled, planned)
    if rules.budgets:
        assert cells.budget_spend.sum() <= rules.budgets[0].max + 1e-6  # type: ignore[operator]
    assert cells.gross_profit.sum() >= 0.3 * cells.net_sales.sum() - 1e-6


def test_a_search_stopped_by_the_time_limit_still_gives_the_split_a_certified_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With no time at all the search makes its one iteration (prices 0) and stops: no plan from the split in no
    time, but a certified bound, which `planner optimize` states the scenario's own calendar's gap against."""
    rules = accounts_world(budget_share=0.25, margin=0.3)
    whole = solve(model_of(rules), 30, GAP, duals=False, whole=True)
    monkeypatch.setattr(split, "PRICE_SEARCH_COLUMNS", 0)
    problem, blocks = parts(model_of(rules))
    outcome = split.solve(problem, blocks, 0.0, 1e-4, relaxation_seconds=0.0)
    assert outcome.relaxation.status is Status.OPTIMAL and outcome.run.status is Status.NO_SOLUTION
    assert np.isfinite(outcome.bound) and outcome.bound >= whole.objective
    given_time = split.solve(problem, blocks, 30, 1e-4)
    assert given_time.run.has_plan and given_time.bound <= outcome.bound


def test_an_account_without_an_lp_solution_makes_the_search_infeasible() -> None:
    rules = accounts_world()
    _, options = prepared(rules)
    spend = options.value["budget_spend"][: len(options)]
    over = 2 * spend[options.column_account[: len(options)] == 1].clip(0).sum() + 1.0
    rules = rules.replace(budgets=(Budget(id="acc1-over", min=over, applies_to={"account": "acc1"}),))
    problem, blocks = parts(model_of(rules))
    found = prices.search(problem, block_problems(problem, blocks, problem.cost), blocks.coupling)
    assert found.status is Status.INFEASIBLE and np.isnan(found.bound)


def bytes_of(found: prices.Search) -> bytes:
    """Everything the search found, but its times."""
    return pickle.dumps(dataclasses.replace(found, seconds=0.0, master_seconds=0.0))


def test_the_search_is_the_same_in_threads_and_without_kept_bases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each account's LP starts from the basis of its LP at the prices before; a process without that basis solves
    the account's LPs at the earlier prices again first, so that it starts from the same basis (a cold start ends
    at another optimal vertex in 5 columns on this world, measured). With the tight budget the search takes
    more than one iteration, so the warm starts are at work."""
    problem, blocks = parts(model_of(accounts_world(budget_share=0.25, margin=0.3)))
    accounts = block_problems(problem, blocks, problem.cost)
    here = prices.search(problem, accounts, blocks.coupling)
    threads = prices.search(problem, accounts, blocks.coupling, executor=Executor(threads=2))
    monkeypatch.setattr(prices._BASES, "keep", lambda *_: None)
    again = prices.search(problem, accounts, blocks.coupling)
    assert here.iterations > 1 and here.status is Status.OPTIMAL
    assert bytes_of(here) == bytes_of(threads) == bytes_of(again)
