"""The sums over a scope that the budget and rebate rows ask for (planner/optimize/constraints/_scoped.py): each
is what `Options.scoped` gives, summed once however often it is asked for, and let go after its last use; a
re-plan, whose rules hold a copy of a rebate or budget per account, sums no more scopes than a fresh optimize."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.bench_review import actuals_of
from benchmarks.worlds import synthetic_world
from planner.compile.model import compile_rules
from planner.optimize.constraints._scoped import ScopedSums
from planner.optimize.options import SCOPED, Options, build_options
from planner.optimize.solve import build
from planner.review.replan import replan_rules
from planner.rules.schema import RuleSet


@pytest.fixture(scope="module")
def world() -> RuleSet:
    return synthetic_world(6, 20, 52, 0)


@pytest.fixture(scope="module")
def options(world: RuleSet) -> Options:
    return build_options(world, compile_rules(world))


def test_each_scope_is_summed_once_and_let_go_after_its_last_use(options: Options) -> None:
    products, weeks = options.base.volume.shape[1:]
    everything = np.ones(products, dtype=bool)
    some = np.arange(products) % 3 == 0
    first_quarter = np.arange(weeks) < 13
    year = np.ones(weeks, dtype=bool)
    asked = [("volume", everything, first_quarter), ("revenue", some, year), ("volume", everything, first_quarter),
             ("budget_spend", some, first_quarter), ("volume", everything, first_quarter)]
    scoped = ScopedSums(options, asked)
    kept_after = []
    for measure, scope, period in asked:
        value = scoped(measure, scope, period)
        assert np.array_equal(value, options.scoped(measure, scope, period))
        kept_after.append(len(scoped.kept))
    # the repeated volume scope is kept between its uses, nothing else, and nothing once all are done
    assert kept_after == [1, 1, 1, 1, 0]
    base = scoped.base("revenue", some, year)
    assert np.array_equal(base, options.base.revenue[:, some][:, :, year].sum(axis=(1, 2)))
    assert scoped.base("revenue", some, year) is base


def _scoped_sums(rules: RuleSet, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times building the model of `rules` summed over a scope of the options."""
    calls = 0
    original = Options.scoped

    def counted(self: Options, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args)

    compiled = compile_rules(rules)
    values = build_options(rules, compiled)
    with monkeypatch.context() as patch:
        patch.setattr(Options, "scoped", counted)
        build(rules, compiled, values, "profit")
    return calls


def test_a_replan_sums_no_more_scopes_than_a_fresh_optimize(world: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    replanned = replan_rules(world, list(world.events), actuals_of(world, 13, 0), 13).rules
    # the re-plan holds copies of rebates (per account and quarter) with the originals' scopes
    assert len(replanned.rebates) > 2 * len(world.rebates)
    fresh, replan = _scoped_sums(world, monkeypatch), _scoped_sums(replanned, monkeypatch)
    assert 0 < replan <= fresh


def test_the_reached_cells_add_up_to_each_columns_own_change(options: Options) -> None:
    """Options.reach keeps only the products each column changes: over every product and week a column's entries
    add up to its own change of the measure, and `cells` puts them back at their products."""
    reach = options.reach
    everything = np.ones(reach.products, dtype=bool)
    year = np.ones(options.base.volume.shape[2], dtype=bool)
    per_column = [np.bincount(chunk.entry) for chunk in reach.chunks]
    assert reach.chunks and max(int(counts.max()) for counts in per_column) < reach.products  # zeros were left out
    for measure in SCOPED:
        summed = options.scoped(measure, everything, year)[: reach.columns]
        assert np.allclose(summed, options.value[measure][: reach.columns], rtol=1e-9, atol=1e-6)
    chunk = max(reach.chunks, key=lambda c: len(c.columns))
    row = len(chunk.columns) // 2
    at = chunk.entry == row
    assert at.any()
    dense = reach.cells("revenue", int(chunk.columns[row]))
    assert np.array_equal(dense[chunk.product[at]], chunk.cells["revenue"][at])
    outside = np.setdiff1d(np.arange(reach.products), chunk.product[at])
    assert not dense[outside].any()


def test_each_column_is_valued_once_and_its_entries_are_its_own_products(options: Options) -> None:
    """Every option valued on its own and every variant has its money in exactly one chunk (or none, when it
    changes nothing), its entries in product order and only where some measure changes."""
    seen = np.concatenate([chunk.columns for chunk in options.reach.chunks])
    assert len(seen) == len(np.unique(seen))
    for chunk in options.reach.chunks:
        assert np.all(np.diff(chunk.entry) >= 0)
        same = np.diff(chunk.entry) == 0
        assert np.all(np.diff(chunk.product)[same] > 0)
        assert all(np.any([chunk.cells[key][k].any() for key in SCOPED]) for k in range(0, len(chunk.entry), 97))


def test_option_numbers_read_back_every_option_and_nothing_else(options: Options) -> None:
    """Options.option_of (a look-up into the per-batch arrays) gives each option's own number for its account,
    group, week and mechanic, and None where no option is."""
    groups = {group: g for g, group in enumerate(options.groups)}
    numbers = options.option_of
    for o in range(0, len(options), 7):
        account, group = options.lines[int(options.line[o])]
        key = (account, groups[group], int(options.week[o]), int(options.mechanic[o]))
        assert numbers.get(key) == o and numbers[key] == o
    weeks = options.base.volume.shape[2]
    assert numbers.get((0, 0, weeks, 0)) is None and numbers.get((10_000, 0, 0, 0)) is None
    with pytest.raises(KeyError):
        numbers[(0, 0, -1, 0)]


def test_bound_options_are_the_lines_each_calendar_rule_binds(world: RuleSet) -> None:
    """bound_options (arrays) marks exactly the options whose line `binds` says the rule binds, for every calendar
    rule of a re-plan (a blackout per account, with and without product groups) and of the fresh world."""
    from planner.compile.calendar import binds
    from planner.optimize.constraints._calendar import bound_options
    from planner.optimize.model import Model

    replanned = replan_rules(world, list(world.events), actuals_of(world, 13, 0), 13).rules
    compiled = compile_rules(replanned)
    model = Model(replanned, compiled, build_options(replanned, compiled))
    index, options = compiled.index, model.options
    assert any(r.product_groups for r in replanned.calendar_rules)
    for rule in replanned.calendar_rules:
        by_line = np.array([binds(rule, index, index.accounts[a].id, group) for a, group in options.lines])
        assert np.array_equal(bound_options(model, rule), by_line[options.line])
