"""The vectorised discount stack equals the stacking rules applied one cell at a time (docs/rules.md, "Stacking").

`stack_discounts` works block by block and skips work it can prove changes nothing (a block no stop rule reaches,
the few cells where an exclusive is live); this test recomputes every cell of small generated worlds from the
rules in planner/compile/discounts.py's docstring, with the same float operations in the same order, and asks
for the same invoice prices bit for bit, the same live and applied masks and the same exclusive clashes."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    _ids,
    accounts,
    build_world,
    calendars,
    date_ranges,
    price_bands,
    pricing_worlds,
    products,
    scopes,
)

from planner.check.context import CheckContext
from planner.compile.discounts import DiscountTable
from planner.compile.index import Cell
from planner.rules.schema import Discount, RuleSet


def stack_cell(band: float, table: DiscountTable, covering: list[int]) -> tuple[float, list[int], list[int], int]:
    """(invoice price, live discounts, applied discounts, first live exclusive or -1) of one cell, given the
    discounts whose block covers it, in application order."""
    stopped, first_exclusive, live = False, -1, []
    for d in covering:
        if stopped:
            continue
        live.append(d)
        if table.stacking[d] == "exclusive" and first_exclusive == -1:
            first_exclusive = d
        stopped = table.stop[d]
    kept = [d for d in live if first_exclusive in (-1, d)]
    best: dict[str, int] = {}
    for d in kept:
        if table.stacking[d] == "best_of":
            value = band * table.percent[d] + table.per_case[d]
            held = best.get(table.group[d])
            if held is None or value > band * table.percent[held] + table.per_case[held]:
                best[table.group[d]] = d
    applied = [d for d in kept if table.stacking[d] != "best_of" or best[table.group[d]] == d]
    price = np.float64(band)
    for d in applied:
        if table.percent[d]:
            price = price * (1.0 - table.percent[d])
        if table.per_case[d]:
            price = np.maximum(price - table.per_case[d], 0.0)
    return float(price), live, applied, first_exclusive


@given(pricing_worlds())
def test_the_stack_is_the_rules_applied_cell_by_cell(rules: RuleSet) -> None:
    assert_cell_by_cell(rules)


@st.composite
def interleaved_best_of_worlds(draw: st.DrawFn) -> RuleSet:
    """One best_of group whose members' priorities leave room for other discounts between them in the application
    order, on the group's cells or beside them (other weeks, other scopes): the stack applies a group in one pass
    only when nothing between its members touches its cells."""
    calendar = draw(calendars())
    account_list, product_list = draw(accounts()), draw(products())
    a, p, w = _ids(account_list), _ids(product_list), calendar.weeks
    items = []
    for i in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(("percent", "per_case")))
        raw: dict[str, Any] = {
            "id": f"d{i}", "applies_to": draw(scopes(a, p)),
            kind: draw(st.integers(0, 40)) / 100 if kind == "percent" else draw(st.integers(0, 24)) / 2,
            "stacking": draw(st.sampled_from(("best_of", "best_of", "stack"))),
            "priority": draw(st.sampled_from((10, 20, 30))), "stop": draw(st.integers(0, 5)) == 0}
        if raw["stacking"] == "best_of":
            raw["group"] = "g1"
        valid = draw(date_ranges(w))
        if valid is not None:
            raw["valid"] = valid
        items.append(Discount.model_validate(raw))
    return build_world(calendar=calendar, accounts=account_list, products=product_list,
                       price_bands=draw(price_bands(a, p)), discounts=tuple(items))


@given(interleaved_best_of_worlds())
def test_a_best_of_group_with_discounts_between_its_members(rules: RuleSet) -> None:
    assert_cell_by_cell(rules)


def assert_cell_by_cell(rules: RuleSet) -> None:
    """Every cell's invoice price (bit for bit), live and applied discounts, and the exclusive clashes."""
    context = CheckContext(rules)
    table, band_price, stack = context.discounts, context.band_price, context.stack
    accounts, products, weeks = stack.invoice.shape
    taken_before: dict[tuple[int, Cell], int] = {}  # (exclusive d, cell): the first live exclusive before d
    for a, p, w in itertools.product(range(accounts), range(products), range(weeks)):
        cell = Cell(a, p, w)
        covering = [d for d in range(len(table)) if table.local(d, cell) is not None]
        band = float(band_price[a, p])
        price, live, applied, _ = stack_cell(band, table, covering)
        assert stack.invoice[a, p, w].tobytes() == np.float64(price).tobytes(), (cell, covering)
        for d in covering:
            local = table.local(d, cell)
            assert local is not None
            assert bool(stack.live[d][local]) == (d in live), (cell, d)
            assert bool(stack.applied[d][local]) == (d in applied), (cell, d)
            if table.stacking[d] == "exclusive" and d in live:
                _, _, _, first = stack_cell(band, table, covering[:covering.index(d)])
                taken_before[d, cell] = first
    expected = []
    for d in range(len(table)):
        if table.stacking[d] != "exclusive":
            continue
        block = np.broadcast_to(stack.live[d], stack.live[d].shape)
        for i, j, k in itertools.product(*(range(n) for n in block.shape)):
            cell = table.cell(d, (i, j, k))
            if taken_before.get((d, cell), -1) >= 0:
                expected.append((taken_before[d, cell], d, cell))
                break
    assert stack.exclusive_clashes == expected
