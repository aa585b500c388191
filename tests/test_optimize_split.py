"""The account split (planner/optimize/split.py): blocks, prices, the certified bound, and its plans.

The world: three accounts of different sizes (test_optimize_properties.with_accounts) over eight weeks, a deep
and a shallow cut on cola and water, a retroactive quarterly revenue rebate at every account (the tiers the LP
relaxation smooths over), a total budget and a total margin floor (the rows that couple accounts).

- blocks: every option, variant and rebate column lies in its account's block, and the only coupling rows are the
  total budget and the total margin floor;
- weak duality: for any prices, L(prices) bounds the whole model's optimum;
- strong duality: with the LP relaxation's duals as prices and the LP's blocks, L is the LP optimum (which fixes
  the sign convention of HiGHS's duals, for maximising and, on the elastic model, minimising);
- the split's plan is the whole model's optimum, with the budget binding or not; a budget the accounts' plans
  break is mended by the repair; a block solved before is taken from the memo; an account with no plan proves
  the whole model infeasible.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_optimize_families import mechanic, plan_cells, prepared, world
from test_optimize_properties import with_accounts

from planner.optimize import repair, split
from planner.optimize.blocks import groups
from planner.optimize.highs import Run, Status, run_problem
from planner.optimize.matrix import Problem
from planner.optimize.model import Model
from planner.optimize.solve import build, solve
from planner.rules.schema import Budget, MarginFloor, Rebate, RuleSet

GAP = 1e-9
REBATE = Rebate.model_validate({"id": "r", "period": "quarter", "basis": "revenue", "method": "retroactive",
                                "tiers": [{"from": 150_000, "rate": 0.02}, {"from": 200_000, "rate": 0.05}]})


def accounts_world(budget_share: float | None = None, margin: float | None = None) -> RuleSet:
    rules = with_accounts(world(mechanics=(
        mechanic("deep", depth=0.3, funding=0.6, applies_to={"brand": ["cola", "aqua"]}),
        mechanic("shallow", depth=0.1, feature=True, lift=1.2, applies_to={"brand": "cola"},
                 valid={"from": dt.date(2027, 1, 18)}),
    ), cogs=30.0), 3).replace(rebates=(REBATE,))
    if budget_share is not None:
        _, options = prepared(rules)
        rules = rules.replace(budgets=(Budget(id="promo", max=budget_share * options.value["budget_spend"].clip(0).sum()),))
    if margin is not None:
        rules = rules.replace(margin_floors=(MarginFloor(id="mf", per="total", min_gross_margin=margin),))
    return rules


WORLD = accounts_world(budget_share=0.4, margin=0.3)


def model_of(rules: RuleSet, elastic: bool = False) -> Model:
    compiled, options = prepared(rules)
    return build(rules, compiled, options, elastic=elastic)


def parts(model: Model) -> tuple[Problem, split.Blocks]:
    problem = model.matrix.problem()
    return problem, split.blocks(problem, model.options.column_account)


def test_blocks_are_the_accounts_and_only_rows_across_accounts_couple() -> None:
    model = model_of(WORLD)
    _, blocks = parts(model)
    options = model.options
    assert (blocks.column[: options.columns] == options.column_account).all()
    accounts = [account.id for account in model.compiled.index.accounts]
    coupling = {(model.labels[k].family, model.labels[k].rule) for k in np.flatnonzero(blocks.coupling)}
    assert coupling == {("budget", "promo"), ("margin_floor", "mf")}
    for k, label in enumerate(model.labels):
        if label.account:
            assert blocks.row[k] == accounts.index(label.account), label
    rebate_rows = [k for k, label in enumerate(model.labels) if label.family == "rebate"]
    assert rebate_rows and all(blocks.row[k] >= 0 for k in rebate_rows)
    assert blocks.count == 3 and (blocks.column >= 0).all()


@pytest.mark.parametrize("elastic", [False, True])
def test_the_lp_duals_as_prices_give_the_lp_optimum(elastic: bool) -> None:
    """Strong duality: each block's LP under the LP's prices, plus the prices times the limits, is the LP
    optimum. With the wrong sign for HiGHS's duals (or the wrong side of a limit) it would not be."""
    rules = WORLD.replace(budgets=(Budget(id="promo", min=3e6),)) if elastic else WORLD  # elastic: relaxes the min
    problem, blocks = parts(model_of(rules, elastic))
    relaxed = problem.relaxed()
    lp = run_problem(relaxed, 30, None, options={})
    assert lp.status is Status.OPTIMAL
    lam = split.prices(problem, blocks, lp.duals)
    assert np.count_nonzero(lam) >= 1  # the budget (or, elastic, the floor's slack) is priced
    result = split.split(relaxed, blocks, lam, 30, 0.0)
    assert result.bound == pytest.approx(lp.objective, rel=1e-7)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.floats(0.0, 3.0), st.floats(0.0, 3.0))
def test_any_prices_bound_the_optimum(budget_price: float, margin_price: float) -> None:
    """Weak duality, the certificate every split plan is reported with: L(prices) >= the optimum."""
    model = model_of(WORLD)
    problem, blocks = parts(model)
    lam = np.zeros(len(problem.row_lower))
    for k in np.flatnonzero(blocks.coupling):
        finite_upper = np.isfinite(problem.row_upper[k])
        lam[k] = budget_price if finite_upper else -margin_price  # a max is priced >= 0, a min <= 0
    whole = solve(model, 30, GAP, duals=False, whole=True)
    result = split.split(problem, blocks, lam, 30, 0.0)
    assert result.bound >= whole.objective - 1e-6 * abs(whole.objective)


@pytest.mark.parametrize("share", [None, 0.6, 0.25])
def test_the_split_plan_is_the_whole_models_optimum(share: float | None) -> None:
    rules = accounts_world(budget_share=share, margin=0.3)
    whole = solve(model_of(rules), 30, GAP, duals=False, whole=True)
    model = model_of(rules)
    planned = solve(model, 30, GAP, duals=False)
    assert planned.status is whole.status is Status.OPTIMAL
    assert planned.objective == pytest.approx(whole.objective, rel=1e-9)
    assert planned.bound >= planned.objective - 1e-9 * abs(planned.objective)
    if share is None:
        assert planned.method == split.Method.SPLIT  # nothing binds across accounts: the blocks decide alone
    compiled, _ = prepared(rules)
    cells = plan_cells(rules, compiled, planned)
    if rules.budgets:
        assert cells.budget_spend.sum() <= rules.budgets[0].max + 1e-6  # type: ignore[operator]
    assert cells.gross_profit.sum() >= 0.3 * cells.net_sales.sum() - 1e-6


def test_prices_of_zero_on_a_binding_budget_break_it_and_the_whole_model_takes_over() -> None:
    """Unpriced, each account spends as it likes: together they break the tight budget, so the split has no plan
    of the whole model, and `solve` finishes with the whole model."""
    model = model_of(accounts_world(budget_share=0.25))
    problem, blocks = parts(model)
    unpriced = split.split(problem, blocks, np.zeros(len(problem.row_lower)), 30, 0.0)
    assert unpriced.broken == 1 and not unpriced.feasible and unpriced.status is Status.OPTIMAL
    whole = solve(model_of(accounts_world(budget_share=0.25)), 30, GAP, duals=False, whole=True)
    assert unpriced.bound >= whole.objective  # still a bound
    outcome = split.solve(problem, blocks, 30, 0.0)
    assert outcome.run.objective == pytest.approx(whole.objective, rel=1e-9)
    assert outcome.split is not None and outcome.relaxation.status is Status.OPTIMAL


def test_the_repair_mends_a_budget_the_accounts_plans_break() -> None:
    """The accounts' plans, unpriced, overspend the tight budget; deciding again the columns where they and the LP
    relaxation disagree (the rest fixed) gives a plan that keeps it, no better than the optimum."""
    model = model_of(accounts_world(budget_share=0.25))
    problem, blocks = parts(model)
    unpriced = split.split(problem, blocks, np.zeros(len(problem.row_lower)), 30, 0.0)
    assert unpriced.broken == 1
    lp = run_problem(problem.relaxed(), 30, None, options={})
    mended = split.repair(problem, unpriced.values, lp.values, 30, 1e-9, None)
    assert mended.status is Status.OPTIMAL
    row = model.budget_rows[0]
    assert model.matrix.activity(row, mended.values) <= model.matrix.row_upper[row] + model.matrix.row_constant[row] + 1e-6
    whole = solve(model_of(accounts_world(budget_share=0.25)), 30, GAP, duals=False, whole=True)
    assert mended.objective == pytest.approx(whole.objective, rel=1e-9)  # on this world, the optimum itself
    target = whole.objective - 1e-3 * abs(whole.objective)
    good_enough = split.repair(problem, unpriced.values, lp.values, 30, 1e-9, None, target=target)
    assert good_enough.has_plan and target <= good_enough.objective <= whole.objective + 1e-6


def test_fixed_columns_leave_a_smaller_problem_whose_plans_are_worth_the_same() -> None:
    """What the repair gives HiGHS: the columns where the accounts' plans and the LP agree fixed, out of the
    problem, and the rows of fixed columns only gone; its optimum is the whole model's with those columns fixed by
    their bounds. All columns fixed at a plan that breaks the budget: no plan."""
    problem, blocks = parts(model_of(accounts_world(budget_share=0.25)))
    unpriced = split.split(problem, blocks, np.zeros(len(problem.row_lower)), 30, 0.0)
    lp = run_problem(problem.relaxed(), 30, None, options={})
    agree = (problem.integrality == 1) & (np.abs(lp.values - unpriced.values) <= 1e-6)
    at = np.where(agree, np.round(unpriced.values), 0.0)
    lower, upper = problem.column_lower.copy(), problem.column_upper.copy()
    lower[agree] = upper[agree] = at[agree]
    bounded = run_problem(dataclasses.replace(problem, column_lower=lower, column_upper=upper), 30, 1e-9)
    reduced = split.fixing(problem, agree, at)
    assert reduced is not None
    rest, free = reduced
    assert len(free) == len(rest.cost) < len(problem.cost) and len(rest.row_lower) < len(problem.row_lower)
    alone = run_problem(rest, 30, 1e-9)
    assert alone.objective == pytest.approx(bounded.objective, rel=1e-9)
    plan = at.copy()
    plan[free] = alone.values
    assert float(problem.cost @ plan) + problem.offset == pytest.approx(alone.objective, rel=1e-9)
    assert split.fixing(problem, np.ones(len(problem.cost), dtype=bool), unpriced.values) is None


def test_the_repair_in_groups_of_accounts_keeps_every_row_and_reaches_its_target(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the blocks, the columns left to decide go to HiGHS in groups of whole accounts, the budget's and the
    margin floor's room shared out by the LP's activity: one account a group here (`GROUP_COLUMNS` 1), the groups'
    plans together keep every row of the model and are worth what their columns say, no more than one MILP over
    all those columns gives; short of a target (here that MILP's optimum) they are decided again all together,
    from the groups' plan, and reach it."""
    monkeypatch.setattr(repair, "GROUP_COLUMNS", 1)
    problem, blocks = parts(model_of(accounts_world(budget_share=0.25, margin=0.3)))
    unpriced = split.split(problem, blocks, np.zeros(len(problem.row_lower)), 30, 0.0)
    assert unpriced.broken >= 1
    lp = run_problem(problem.relaxed(), 30, None, options={})
    left = (problem.integrality != 1) | (np.abs(lp.values - unpriced.values) > 1e-6)
    assert len(np.unique(blocks.column[left])) >= 2  # more than one group
    together = split.repair(problem, unpriced.values, lp.values, 30, 1e-9, None)  # the best such plan
    in_groups = split.repair(problem, unpriced.values, lp.values, 30, 1e-9, None, blocks=blocks)
    target = together.objective - 1e-9 * abs(together.objective)
    mended = split.repair(problem, unpriced.values, lp.values, 30, 1e-9, None, target=target, blocks=blocks)
    assert mended.objective >= target
    for plan in (in_groups, mended):
        assert plan.has_plan and plan.objective <= together.objective + 1e-6
        assert plan.objective == pytest.approx(float(problem.cost @ plan.values) + problem.offset, rel=1e-12)
        activity = np.bincount(problem.row_of(), weights=problem.value * plan.values[problem.index],
                               minlength=len(problem.row_lower))
        room = 1e-6 * np.maximum(1.0, np.abs(activity))
        assert (activity >= problem.row_lower - room).all() and (activity <= problem.row_upper + room).all()
        assert (plan.values[~left] == np.round(unpriced.values[~left])).all()


def test_groups_short_of_the_target_hand_all_the_columns_to_one_milp(monkeypatch: pytest.MonkeyPatch) -> None:
    """A target the groups' plans together do not reach (here one above the best such plan): the columns left to
    decide go to one MILP, from the groups' plan, whose plan is the best one (HiGHS's runs counted by size)."""
    monkeypatch.setattr(repair, "GROUP_COLUMNS", 1)
    problem, blocks = parts(model_of(accounts_world(budget_share=0.25, margin=0.3)))
    unpriced = split.split(problem, blocks, np.zeros(len(problem.row_lower)), 30, 0.0)
    lp = run_problem(problem.relaxed(), 30, None, options={})
    together = split.repair(problem, unpriced.values, lp.values, 30, 1e-9, None)
    sizes: list[int] = []

    def counted(part: Problem, *args: object, **kwargs: object) -> Run:
        sizes.append(len(part.cost))
        return run_problem(part, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repair, "run_problem", counted)
    mended = split.repair(problem, unpriced.values, lp.values, 30, 1e-9, None,
                          target=together.objective + 1.0, blocks=blocks)
    assert len(sizes) >= 3 and sizes[-1] == sum(sizes[:-1])  # the groups, then all their columns at once
    assert mended.objective == pytest.approx(together.objective, rel=1e-9)


def test_groups_of_columns_are_the_model_cut_by_columns() -> None:
    """Each group's problem is the model's rows that hold any of its columns, over its columns only, entry by
    entry, with their limits and costs."""
    problem, _ = parts(model_of(WORLD))
    column_group = np.random.default_rng(3).integers(0, 4, len(problem.cost)).astype(np.intp)
    dense = np.zeros((len(problem.row_lower), len(problem.cost)))
    np.add.at(dense, (problem.row_of(), problem.index), problem.value)
    pieces = groups(problem, column_group, 4)
    assert sorted(np.concatenate([columns for columns, _, _ in pieces]).tolist()) == list(range(len(problem.cost)))
    for group, (columns, rows, piece) in enumerate(pieces):
        assert (column_group[columns] == group).all()
        assert rows.tolist() == np.flatnonzero((dense[:, columns] != 0).any(axis=1)).tolist()
        mine = np.zeros((len(rows), len(columns)))
        np.add.at(mine, (piece.row_of(), piece.index), piece.value)
        assert (mine == dense[np.ix_(rows, columns)]).all()
        assert (piece.cost == problem.cost[columns]).all() and (piece.row_upper == problem.row_upper[rows]).all()
        assert (piece.integrality == problem.integrality[columns]).all()


def test_the_interior_point_relaxation_gives_the_same_bound_and_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Big models' LP relaxation goes to interior point with crossover (`split.INTERIOR_POINT_COLUMNS`): a basic
    solution, whose prices give the split the same bound and plan as the dual simplex's on this world."""
    problem, blocks = parts(model_of(WORLD))
    simplex = split.solve(problem, blocks, 30, 1e-6)
    monkeypatch.setattr(split, "INTERIOR_POINT_COLUMNS", 0)
    assert split.relaxation_options(problem) == {"solver": "ipm", "run_crossover": "on"}
    interior = split.solve(problem, blocks, 30, 1e-6)
    assert interior.relaxation.objective == pytest.approx(simplex.relaxation.objective, rel=1e-9)
    assert interior.run.objective == pytest.approx(simplex.run.objective, rel=1e-9)
    assert interior.bound == pytest.approx(simplex.bound, rel=1e-6)


def test_a_block_solved_before_is_taken_from_the_memo() -> None:
    model = model_of(accounts_world(margin=0.3))
    problem, blocks = parts(model)
    memo: split.Memo = {}
    first = split.solve(problem, blocks, 30, 1e-6, memo=memo)
    again = split.solve(problem, blocks, 30, 1e-6, memo=memo)
    assert first.split is not None and again.split is not None
    assert (first.split.reused, again.split.reused) == (0, 3)
    assert again.run.objective == first.run.objective and (again.run.values == first.run.values).all()


def test_an_account_with_no_plan_makes_the_whole_model_infeasible() -> None:
    """A block that cannot keep its own rows proves there is no plan, without a whole-model solve: here acc1 must
    spend exactly half of its cheapest option, which the LP relaxation can and no plan can."""
    rules = accounts_world()
    _, options = prepared(rules)
    spend = options.value["budget_spend"][: len(options)]
    half = 0.5 * spend[(options.column_account[: len(options)] == 1) & (spend > 0)].min()
    rules = rules.replace(budgets=(Budget(id="acc1-exact", min=half, max=half, applies_to={"account": "acc1"}),))
    problem, blocks = parts(model_of(rules))
    outcome = split.solve(problem, blocks, 30, 1e-6)
    assert outcome.relaxation.status is Status.OPTIMAL
    assert outcome.run.status is Status.INFEASIBLE and outcome.method == split.Method.SPLIT
