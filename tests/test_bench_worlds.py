"""The simulator benchmark's synthetic world is a valid rule set that simulates, and the benchmark's fused reference
kernel computes what `evaluate` computes (else its throughput ratio would compare different work).

No timing here: benchmarks print their tables, the unit tests never assert wall-clock time (docs/STYLE.md).
"""

from __future__ import annotations

import pytest

from benchmarks.bench_simulate import check_same, fused_evaluate, prepare_cold, prepare_warm, workspace
from benchmarks.worlds import synthetic_world
from planner.check import run_checks
from planner.compile.model import compile_rules
from planner.compile.promotions import Promotions
from planner.economics.core import evaluate
from planner.rules.findings import Severity
from planner.rules.scenario import ScenarioOptions
from planner.simulate import promotions_for, simulate


@pytest.mark.parametrize("seed", [0, 1])
def test_small_world_validates_and_simulates(seed: int) -> None:
    rules = synthetic_world(5, 4, 12, seed=seed)
    errors = [f"{f.code} {f.message}" for f in run_checks(rules) if f.severity is Severity.ERROR]
    assert errors == []
    result = simulate(rules, ScenarioOptions(draws=0))
    assert result.weeks == 12
    assert len(result.accounts) == 5
    assert result.totals.volume > 0 and result.totals.gross_profit > 0
    assert result.totals.promo_funding > 0 and result.totals.rebates > 0


def test_world_has_the_dimensions_asked_and_a_few_percent_promoted() -> None:
    rules = synthetic_world(40, 60, seed=3)
    compiled = compile_rules(rules)
    assert compiled.shape == (40, 60, 52)
    assert len(rules.events) == 4 * 40
    promoted = promotions_for(rules, compiled, rules.events).promoted.mean()
    assert 0.01 <= promoted <= 0.06
    assert not [f for f in run_checks(rules) if f.severity is Severity.ERROR]


def test_world_is_deterministic() -> None:
    assert synthetic_world(6, 10, 13, seed=7) == synthetic_world(6, 10, 13, seed=7)
    assert synthetic_world(6, 10, 13, seed=7) != synthetic_world(6, 10, 13, seed=8)


@pytest.mark.parametrize("size", [(5, 4, 12), (30, 24, 52)])
def test_fused_kernel_reproduces_evaluate(size: tuple[int, int, int]) -> None:
    rules = synthetic_world(*size)
    compiled = compile_rules(rules)
    out = workspace(compiled.shape)
    for promotions in (promotions_for(rules, compiled, rules.events), Promotions.none(compiled.shape)):
        cells = evaluate(compiled, promotions)
        check_same(cells, fused_evaluate(compiled, prepare_cold(compiled), promotions, out), "cold")
        check_same(cells, fused_evaluate(compiled, prepare_warm(compiled), promotions, out), "warm")


def test_optimizer_benchmarks_run_on_a_small_world() -> None:
    """The optimizer benchmarks' own helpers run against the current solver API (a benchmark that no longer runs
    is caught here, not when someone wants its numbers): the HiGHS options runner and the direct matrices agree
    with the planner's solve on a 4-account world."""
    from benchmarks.bench_highs_options import run
    from benchmarks.bench_optimize import direct_matrices, optimizer_world, run_highs
    from planner.optimize.options import build_options
    from planner.optimize.solve import build, solve

    rules = optimizer_world(accounts=4, mechanics=2, seed=3)
    compiled = compile_rules(rules)
    options = build_options(rules, compiled, decide_vividness=False)
    model = build(rules, compiled, options)
    planner = solve(model, time_limit=30, gap=1e-6, duals=False)
    _, status, objective, _ = run(model, {}, 30, 1e-6)
    direct = run_highs(direct_matrices(rules, compiled, options).highs(), 30, 1e-6)
    assert status == "optimal"
    assert objective == pytest.approx(planner.objective, rel=1e-6)
    assert direct.objective == pytest.approx(planner.objective, rel=1e-6)
