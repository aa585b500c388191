"""The Lagrangian decomposition returns a feasible plan and a bound that brackets the true optimum, with the gap it
reports computed from them: checked by brute force on tiny option tables, against the LP relaxation solved by
HiGHS, and against the planner's own MILP (planner.optimize.solve) on a small synthetic world.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.compile.model import compile_rules
from planner.execute import connect
from planner.optimize.decompose import Decomposition, OptionTable, Unsupported, decompose, option_table
from planner.optimize.highs import Status, new_highs
from planner.optimize.options import build_options
from planner.optimize.solve import build, solve
from planner.rules.load import load_rules

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ sits next to the installed package, not inside it
    sys.path.insert(0, str(ROOT))
from benchmarks.bench_optimize import optimizer_world, with_budgets

TOLERANCE = 1e-7


@st.composite
def option_tables(draw: st.DrawFn, max_slots: int = 6) -> OptionTable:
    """1-3 accounts, at most `max_slots` line-week slots with 1-3 options each: small enough to enumerate."""
    accounts = draw(st.integers(1, 3))
    slots = draw(st.integers(accounts, max(accounts, max_slots)))
    slot_account = [a % accounts for a in range(slots)]
    account, slot, value, spend = [], [], [], []
    money = st.floats(-40, 100, allow_nan=False).map(lambda v: round(v, 2))
    for s in range(slots):
        for _ in range(draw(st.integers(1, 3))):
            account.append(slot_account[s])
            slot.append(s)
            value.append(draw(money))
            spend.append(draw(st.one_of(st.just(0.0), st.floats(0, 60).map(lambda v: round(v, 2)))))
    caps = draw(st.one_of(st.none(), st.lists(st.one_of(st.just(np.inf), st.floats(0, 120)),
                                               min_size=accounts, max_size=accounts)))
    budget = draw(st.one_of(st.just(np.inf), st.floats(0, 200)))
    return OptionTable(np.array(account, dtype=np.intp), np.array(slot, dtype=np.intp), np.array(value),
                       np.array(spend), budget, None if caps is None else np.array(caps),
                       draw(st.floats(-100, 1000)))


def brute_force(table: OptionTable) -> float:
    """The optimum over every plan (one option or none per slot) within every budget."""
    slots = sorted(set(table.slot.tolist()))
    choices = [[-1, *np.flatnonzero(table.slot == s).tolist()] for s in slots]
    caps = table.caps()
    best = -np.inf
    for plan in itertools.product(*choices):
        chosen = [o for o in plan if o >= 0]
        spend = table.spend[chosen]
        per_account = np.bincount(table.account[chosen], weights=spend, minlength=table.accounts)
        if spend.sum() <= table.budget and (per_account <= caps).all():
            best = max(best, table.base + float(table.value[chosen].sum()))
    return best


def assert_feasible(table: OptionTable, result: Decomposition) -> None:
    chosen = result.chosen
    assert len(set(table.slot[chosen].tolist())) == len(chosen), "two options in one line-week"
    assert table.spend[chosen].sum() <= table.budget + TOLERANCE
    per_account = np.bincount(table.account[chosen], weights=table.spend[chosen], minlength=table.accounts)
    assert (per_account <= table.caps() + TOLERANCE).all()
    assert result.profit == pytest.approx(table.base + float(table.value[chosen].sum()), abs=TOLERANCE)
    assert result.spend == pytest.approx(float(table.spend[chosen].sum()), abs=TOLERANCE)


def assert_gap(result: Decomposition) -> None:
    if result.profit:
        assert result.gap == pytest.approx((result.bound - result.profit) / abs(result.profit), abs=1e-12)
    assert result.gap >= 0


@pytest.mark.parametrize("settings", [{}, {"exact": False}, {"max_states": 1}], ids=["knapsacks", "greedy", "cut"])
@given(table=option_tables())
def test_plan_is_feasible_and_bound_brackets_the_optimum(table: OptionTable, settings: dict[str, Any]) -> None:
    """Exact knapsacks, the greedy repair alone, and knapsacks cut off at one state (greedy plan, LP bound)."""
    optimum = brute_force(table)
    result = decompose(table, **settings)
    assert_feasible(table, result)
    assert_gap(result)
    scale = TOLERANCE * max(1.0, abs(optimum))
    assert result.profit <= optimum + scale
    assert result.bound >= optimum - scale
    assert result.relaxation >= result.bound - scale


def random_table(seed: int, accounts: int = 6, weeks: int = 12, mechanics: int = 4) -> OptionTable:
    rng = np.random.default_rng(seed)
    slot = np.repeat(np.arange(accounts * weeks), mechanics)
    spend = rng.gamma(2.0, 500.0, len(slot)) * rng.choice([0.0, 1.0], len(slot), p=[0.05, 0.95])
    value = spend * rng.normal(0.6, 0.5, len(slot)) + rng.normal(0, 100, len(slot))
    caps = np.where(rng.random(accounts) < 0.7, rng.uniform(2000, 8000, accounts), np.inf)
    return OptionTable(slot // weeks, slot, value, spend, float(spend.sum()) * 0.15, caps, 10_000.0)


def lp_relaxation(table: OptionTable) -> float:
    """The table's LP relaxation (choice rows, per-account and total budgets), solved by HiGHS."""
    n, slots = len(table.value), int(table.slot.max()) + 1
    ones = np.ones(n)
    rows = [(np.flatnonzero(table.slot == s), ones, 1.0) for s in range(slots)]
    rows += [(np.flatnonzero(table.account == a), table.spend, cap) for a, cap in enumerate(table.caps().tolist())
             if np.isfinite(cap)]
    rows += [(np.arange(n), table.spend, table.budget)] if np.isfinite(table.budget) else []
    starts = np.cumsum([0] + [len(r) for r, _, _ in rows])[:-1].astype(np.int32)
    index = np.concatenate([r for r, _, _ in rows]).astype(np.int32)
    value = np.concatenate([coefficients[r] for r, coefficients, _ in rows])
    h = new_highs()
    h.passModel(n, len(rows), len(index), 2, -1, table.base, table.value, np.zeros(n), np.ones(n),
                np.full(len(rows), -np.inf), np.array([upper for _, _, upper in rows]), starts, index, value,
                np.zeros(n, dtype=np.int32))
    h.run()
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize("seed", range(4))
def test_relaxation_is_the_lp_optimum(seed: int) -> None:
    """The bisection on the budget price is exact: L(price) equals the LP relaxation HiGHS finds."""
    table = random_table(seed)
    result = decompose(table)
    assert result.relaxation == pytest.approx(lp_relaxation(table), rel=1e-9)
    assert result.price > 0  # the total budget binds in these tables
    assert_feasible(table, result)
    assert_gap(result)


def test_more_budget_never_lowers_the_bound_and_money_scales() -> None:
    table = random_table(7)
    results = [decompose(OptionTable(table.account, table.slot, table.value, table.spend, table.budget * k,
                                     table.account_budget, table.base)) for k in (0.5, 1.0, 2.0)]
    assert [r.relaxation for r in results] == sorted(r.relaxation for r in results)
    assert [r.bound for r in results] == sorted(r.bound for r in results)
    scaled = decompose(OptionTable(table.account, table.slot, table.value * 3, table.spend * 3, table.budget * 3,
                                   table.caps() * 3, table.base * 3))
    assert scaled.bound == pytest.approx(3 * results[1].bound, rel=1e-9)
    assert scaled.profit == pytest.approx(3 * results[1].profit, rel=1e-9)


def test_accounts_on_a_cluster_of_two_give_the_same_plan() -> None:
    table = random_table(3, accounts=12)
    alone = decompose(table)
    with connect(workers=2) as cluster:
        parallel = decompose(table, executor=cluster)
    assert alone.capped > 0  # knapsacks were solved, on the cluster
    assert alone.chosen.tobytes() == parallel.chosen.tobytes()
    assert (alone.bound, alone.profit, alone.inexact) == (parallel.bound, parallel.profit, parallel.inexact)


def test_brackets_the_planner_milp_on_a_synthetic_world() -> None:
    """On the economics core's options for a small world, the decomposition's plan earns no more than the MILP's
    bound and its bound is no less than the MILP's plan (planner.optimize.solve, the same choice + budgets)."""
    rules = optimizer_world(accounts=4, mechanics=4, seed=1)
    compiled = compile_rules(rules)
    options = build_options(rules, compiled, decide_vividness=False)
    rules = with_budgets(rules, options)
    table = option_table(rules, compiled, options)
    result = decompose(table)
    assert_feasible(table, result)
    assert_gap(result)
    model = build(rules, compiled, options)
    assert {label.family for label in model.labels} == {"choice", "budget"}
    solution = solve(model, time_limit=60, gap=1e-6, duals=False)
    assert solution.status in (Status.OPTIMAL, Status.TIME_LIMIT)
    scale = 1e-7 * abs(solution.objective)
    assert result.profit <= solution.bound + scale
    assert result.bound >= solution.objective - scale
    assert result.gap <= 1e-3


def test_refuses_rows_it_does_not_price() -> None:
    loaded = load_rules([ROOT / "rules"])
    compiled = compile_rules(loaded.rules)
    with pytest.raises(Unsupported, match="rebate"):
        option_table(loaded.rules, compiled, build_options(loaded.rules, compiled))
