"""The checker against brute force: on small generated worlds every cell (and every promotion schedule) is evaluated
from first principles, here in the test, and the checker must agree: no missed conflict, no false alarm, and every
example a finding reports must reproduce.

The reference implementations below are written from the documented semantics (docs/rules.md, the docstrings of
planner/compile/discounts.py, planner/economics/waterfall.py and planner/rules/schema/policy.py), one scalar cell
at a time. They deliberately do not call the vectorised code they check.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hypothesis import example, given, note
from hypothesis import strategies as st
from strategies import (
    START,
    budget_worlds,
    build_world,
    calendar_worlds,
    line_rule_worlds,
    pricing_worlds,
    shelf_worlds,
    tier_worlds,
)

from planner.check import run_checks
from planner.check.budgets import check_budget_minimums
from planner.check.calendar import check_feasibility
from planner.check.context import CheckContext
from planner.check.events import check_events
from planner.check.floors import check_floors
from planner.check.identity import check_matches_nothing
from planner.check.references import check_references
from planner.check.stacking import check_exclusive_overlap, check_never_applicable, check_shadowed
from planner.check.tiers import check_tiers
from planner.check.vividness import check_shelf_share
from planner.compile.calendar import violations
from planner.compile.index import Cell
from planner.rules.findings import Finding
from planner.rules.schema import (
    SECTIONS,
    Account,
    Calendar,
    Discount,
    Event,
    Mechanic,
    PriceFloor,
    Product,
    ProductGroup,
    RuleSet,
)
from planner.rules.schema.common import DateRange

TOLERANCE = 1e-7
"""Money differences below this are float noise: a cell this close to a floor is neither asserted nor refuted."""


# ------------------------------------------------------------------------------------------------ first principles

def account_in(scope: Any, account: Account) -> bool:
    """Each key of a scope narrows it, a missing key means all, a list means any of."""
    attributes = {"account": account.id, "channel": account.channel, "tier": account.tier, "region": account.region}
    return all(getattr(scope, key, None) is None or value in getattr(scope, key) for key, value in attributes.items())


def product_in(scope: Any, product: Product) -> bool:
    attributes = {"product": product.id, "brand": product.brand, "category": product.category}
    return all(getattr(scope, key, None) is None or value in getattr(scope, key) for key, value in attributes.items())


def week_live(valid: DateRange | None, rules: RuleSet, week: int) -> bool:
    """A 0-based week is covered by a date range when the week's first day is (both ends inclusive)."""
    if valid is None:
        return True
    assert rules.calendar is not None
    day = rules.calendar.start + dt.timedelta(days=7 * week)
    return (valid.from_ is None or valid.from_ <= day) and (valid.to is None or day <= valid.to)


def covers(item: Any, rules: RuleSet, a: int, p: int, w: int) -> bool:
    scope = item.applies_to
    return (account_in(scope, rules.accounts[a]) and product_in(scope, rules.products[p])
            and week_live(getattr(item, "valid", None), rules, w))


def band_price(rules: RuleSet, a: int, p: int) -> float:
    """List price x the adjustment of every band in scope; a band gives the adjustment of the highest tier reached."""
    account, product = rules.accounts[a], rules.products[p]
    factor = 1.0
    for band in rules.price_bands:
        if not (account_in(band.applies_to, account) and product_in(band.applies_to, product)):
            continue
        if band.basis == "market_position":
            adjustment = band.positions.get(account.market_position, 0.0)
        else:
            value = account.last_year_volume if band.basis == "last_year_volume" else \
                rules.calendar.year - account.partner_since  # type: ignore[union-attr]
            reached = [t for t in band.tiers if value >= t.from_]
            adjustment = max(reached, key=lambda t: t.from_).adjustment if reached else 0.0
        factor *= 1.0 + adjustment
    return product.list_price * factor


@dataclass
class CellStack:
    """The reference outcome of stacking at one cell."""

    invoice: float
    live: list[Discount]
    applied: list[Discount]
    live_exclusives: list[Discount]


def application_order(rules: RuleSet) -> list[Discount]:
    """Per-case discounts by priority, then file order; `fixed` lump sums take no part in stacking."""
    return sorted((d for d in rules.discounts if d.fixed is None), key=lambda d: d.priority)


def stack_cell(rules: RuleSet, a: int, p: int, w: int) -> CellStack:
    """docs/rules.md, 'Prices, discounts and stacking', steps 1-5, for one account x product x week."""
    band = band_price(rules, a, p)
    live: list[Discount] = []
    stopped = False
    for discount in application_order(rules):
        if stopped or not covers(discount, rules, a, p, w):
            continue
        live.append(discount)
        if discount.stop:  # stop-after: every later discount is discarded
            stopped = True
    exclusives = [d for d in live if d.stacking == "exclusive"]
    if exclusives:
        applied = exclusives[:1]
    else:
        best: dict[str, tuple[float, Discount]] = {}
        for d in live:
            if d.stacking == "best_of":
                worth = band * (d.percent or 0.0) + (d.per_case or 0.0)
                if d.stacking_group not in best or worth > best[d.stacking_group][0]:
                    best[d.stacking_group] = (worth, d)
        applied = [d for d in live if d.stacking != "best_of" or best[d.stacking_group][1] is d]
    price = band
    for d in applied:
        if d.percent is not None:
            price = price * (1.0 - d.percent)
        else:
            price = max(price - (d.per_case or 0.0), 0.0)
    return CellStack(price, live, applied, exclusives)


def cells(rules: RuleSet) -> list[tuple[int, int, int]]:
    assert rules.calendar is not None
    return list(itertools.product(range(len(rules.accounts)), range(len(rules.products)), range(rules.calendar.weeks)))


def effective_depth(mechanic: Mechanic) -> float:
    """docs/rules.md, the table of effective depths."""
    kind, redemption = mechanic.kind, mechanic.redemption
    if kind == "price_cut":
        return mechanic.depth or 0.0
    if kind == "coupon":
        return (mechanic.depth or 0.0) * redemption
    if kind in ("bogo", "multi_buy"):
        buy, pay = mechanic.buy or 2, mechanic.pay or 1
        return (1 - pay / buy) * redemption
    if kind == "spend_save":
        return (mechanic.save or 0.0) / (mechanic.spend or 1.0) * redemption
    return mechanic.depth or 0.0


@dataclass
class CellWaterfall:
    stack: CellStack
    shelf: float
    funding: float
    mechanics: list[str]
    """The mechanics that reach the largest funding (ties: any of them is the worst case)."""
    rebates: list[str]
    rebate_rate: float
    dead_net: float


def waterfall_cell(rules: RuleSet, a: int, p: int, w: int) -> CellWaterfall:
    """planner/economics/waterfall.py's docstring, for the worst legal case of one cell."""
    account = rules.accounts[a]
    stack = stack_cell(rules, a, p, w)
    band = band_price(rules, a, p)
    passed = account.pass_through * (1.0 - stack.invoice / band)
    shelf = band * (1.0 + account.retail_markup) * (1.0 - passed)
    costs = {m.id: m.funding * effective_depth(m) * shelf for m in rules.mechanics if covers(m, rules, a, p, w)}
    funding = max([0.0, *costs.values()])
    worst = [m for m, cost in costs.items() if cost == funding and funding > 0]
    live_rebates = [r for r in rules.rebates if covers(r, rules, a, p, w)]
    rate = 0.0
    for rebate in live_rebates:
        rate += max(t.rate for t in rebate.tiers)
    dead_net = stack.invoice - funding - rate * stack.invoice
    return CellWaterfall(stack, shelf, funding, worst, [r.id for r in live_rebates], rate, dead_net)


def subject(item: Finding) -> str:
    """The generated object a finding is located at ('discounts.d3')."""
    return item.location.path


def related(item: Finding) -> list[str]:
    return [location.path for location in item.related]


def cell_of(rules: RuleSet, example: dict[str, Any]) -> tuple[int, int, int]:
    a = [x.id for x in rules.accounts].index(example["account"])
    p = [x.id for x in rules.products].index(example["product"])
    return a, p, example["week"] - 1


def assert_loads_clean(rules: RuleSet) -> CheckContext:
    context = CheckContext(rules)
    assert check_references(context) == []  # the generated world is well-formed, so the semantic checks run
    return context


@given(st.one_of(pricing_worlds(), tier_worlds(), shelf_worlds(), budget_worlds(), calendar_worlds()))
def test_run_checks_on_any_world_never_fails_and_locates_every_finding(rules: RuleSet) -> None:
    for item in run_checks(rules):
        assert item.code != "PP999", item.message
        assert item.message and item.fix, item
        assert item.example, item  # every finding shows a concrete example


# ------------------------------------------------------------------------------------------------------ stacking

@given(pricing_worlds())
def test_stack_matches_brute_force_in_every_cell(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    stack, table = context.stack, context.discounts
    assert list(table.ids) == [d.id for d in application_order(rules)]
    clashing: dict[str, list[tuple[int, int, int]]] = {}
    for a, p, w in cells(rules):
        reference = stack_cell(rules, a, p, w)
        assert abs(stack.invoice[a, p, w] - reference.invoice) <= 1e-9 * max(1.0, reference.invoice), (a, p, w)
        assert stack.applied_at(table, Cell(a, p, w)) == [d.id for d in reference.applied], (a, p, w)
        live = [table.ids[d] for d in range(len(table))
                if (local := table.local(d, Cell(a, p, w))) is not None and stack.live[d][local]]
        assert live == [d.id for d in reference.live], (a, p, w)
        for later in reference.live_exclusives[1:]:
            clashing.setdefault(later.id, []).append((a, p, w))
    # every exclusive live where an earlier exclusive is live is reported, once, with a cell that reproduces
    reported = {table.ids[second]: (table.ids[first], cell) for first, second, cell in stack.exclusive_clashes}
    assert set(reported) == set(clashing)
    for second_id, (first_id, cell) in reported.items():
        reference = stack_cell(rules, cell.account, cell.product, cell.week)
        assert first_id == reference.live_exclusives[0].id
        assert second_id in [d.id for d in reference.live_exclusives[1:]]


@given(pricing_worlds())
def test_exclusive_clashes_reported_iff_two_exclusives_are_live_in_a_cell(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    pairs: set[tuple[str, str]] = set()
    for a, p, w in cells(rules):
        live = stack_cell(rules, a, p, w).live_exclusives
        pairs.update((live[0].id, later.id) for later in live[1:])
    findings = check_exclusive_overlap(context)
    assert {f.code for f in findings} <= {"PP310"}
    assert bool(findings) == bool(pairs)
    assert {subject(f).removeprefix("discounts.") for f in findings} == {second for _, second in pairs}
    for item in findings:
        second = subject(item).removeprefix("discounts.")
        [first] = [r.removeprefix("discounts.") for r in related(item)]
        assert (first, second) in pairs
        live_ids = [d.id for d in stack_cell(rules, *cell_of(rules, item.example)).live_exclusives]
        assert first in live_ids and second in live_ids, item


@given(pricing_worlds())
def test_shadowed_reported_iff_an_earlier_stop_rule_kills_every_cell(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    expected = set()
    for discount in application_order(rules):
        block = [c for c in cells(rules) if covers(discount, rules, *c)]
        if block and not any(discount in stack_cell(rules, *c).live for c in block):
            expected.add(discount.id)
    findings = check_shadowed(context)
    assert {subject(f).removeprefix("discounts.") for f in findings} == expected
    assert len(findings) == len(expected)
    order = application_order(rules)
    for item in findings:
        shadowed = rules.ids("discounts")[subject(item).removeprefix("discounts.")]
        [stopper_path] = related(item)
        stopper = rules.ids("discounts")[stopper_path.removeprefix("discounts.")]
        a, p, w = cell_of(rules, item.example)
        reference = stack_cell(rules, a, p, w)
        assert covers(shadowed, rules, a, p, w) and shadowed not in reference.live
        assert stopper.stop and stopper in reference.live and order.index(stopper) < order.index(shadowed)


APPLICABILITY = ("price_bands", "discounts", "rebates", "mechanics", "price_floors")


@given(pricing_worlds())
def test_never_applicable_iff_scope_or_dates_match_nothing(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    assert rules.calendar is not None
    expected = set()
    for section in APPLICABILITY:
        for item in rules.section(section):
            scope = item.applies_to
            accounts = any(account_in(scope, account) for account in rules.accounts)
            products = any(product_in(scope, product) for product in rules.products)
            weeks = any(week_live(getattr(item, "valid", None), rules, w) for w in range(rules.calendar.weeks))
            if not (accounts and products and weeks):
                expected.add(f"{section}.{item.id}")
    findings = check_never_applicable(context)
    assert {f.code for f in findings} <= {"PP312"}
    assert sorted(subject(f) for f in findings) == sorted(expected)
    for item in findings:
        assert item.example["id"] == subject(item).split(".", 1)[1]


# ------------------------------------------------------------------------------------------------------- floors

def _floor_gaps(rules: RuleSet, required: Any) -> dict[tuple[int, int, int], float]:
    """Dead-net minus what is required, per cell (required: (a, p) -> money, or None where not covered)."""
    out = {}
    for a, p, w in cells(rules):
        need = required(a, p)
        if need is not None:
            out[(a, p, w)] = waterfall_cell(rules, a, p, w).dead_net - need
    return out


def _assert_floor_finding(rules: RuleSet, findings: list[Finding], gaps: dict[tuple[int, int, int], float],
                          need: Any = None) -> None:
    """Reported iff some cell is clearly below; the example's numbers reproduce and it is the worst cell."""
    clearly_below = [c for c, gap in gaps.items() if gap < -TOLERANCE]
    unclear = [c for c, gap in gaps.items() if abs(gap) <= TOLERANCE]
    if unclear:
        return  # a cell at the floor to float precision: either verdict is right
    assert len(findings) == (1 if clearly_below else 0), (clearly_below, findings)
    if not findings:
        return
    [item] = findings
    example = item.example
    a, p, w = cell_of(rules, example)
    cell = waterfall_cell(rules, a, p, w)
    assert gaps[(a, p, w)] == min(gaps.values()), "the example is the worst cell"
    assert example["invoice_price"] == round(cell.stack.invoice, 2)
    assert example["discounts"] == [d.id for d in cell.stack.applied]
    assert example["funding_per_case"] == round(cell.funding, 2)
    assert (example["mechanic"] in cell.mechanics) if cell.mechanics else example["mechanic"] is None
    assert example["rebates"] == cell.rebates
    assert example["rebate_rate"] == round(cell.rebate_rate, 4)
    assert example["dead_net"] == round(cell.dead_net, 2)
    assert example["list_price"] == round(rules.products[p].list_price, 2)
    assert example["cogs"] == round(rules.products[p].cogs, 2)
    if need is not None:  # a price floor: the example names it, and the dead-net is below it
        assert abs(example["floor"] - need(a, p)) <= 0.006 and cell.dead_net < need(a, p)
    count = int(re.search(r"in (\d+) account x", item.message).group(1))  # type: ignore[union-attr]
    assert count == len(clearly_below)
    expected_related = {f"discounts.{d.id}" for d in cell.stack.applied} | {f"rebates.{r}" for r in cell.rebates}
    if example["mechanic"]:
        expected_related.add(f"mechanics.{example['mechanic']}")
    assert set(related(item)) == expected_related


@given(pricing_worlds())
def test_price_floors_and_cogs_breached_iff_the_worst_legal_stack_goes_below(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    findings = check_floors(context)
    assert {f.code for f in findings} <= {"PP320", "PP321"}
    for floor in rules.price_floors:
        def required(a: int, p: int, floor: PriceFloor = floor) -> float | None:
            if account_in(floor.applies_to, rules.accounts[a]) and product_in(floor.applies_to, rules.products[p]):
                return rules.products[p].cogs * (1 + floor.min_markup)
            return None

        mine = [f for f in findings if f.code == "PP320" and subject(f) == f"price_floors.{floor.id}"]
        gaps = _floor_gaps(rules, required)
        note(f"floor {floor.id}: worst gap {min(gaps.values(), default=None)}")
        _assert_floor_finding(rules, mine, gaps, need=required)
    for p, product in enumerate(rules.products):
        mine = [f for f in findings if f.code == "PP321" and subject(f) == f"products.{product.id}"]
        gaps = {c: gap for c, gap in _floor_gaps(rules, lambda _a, q: rules.products[q].cogs).items() if c[1] == p}
        _assert_floor_finding(rules, mine, gaps)


# -------------------------------------------------------------------------------------------------------- tiers

def _tier_conditions(tiers: tuple[Any, ...]) -> tuple[bool, bool, bool]:
    """(unsorted, overlapping, rate falls) from first principles, for a tier list.

    A tier covers [from, end): end is its `to`, else the next tier's `from`, else infinity. Tiers overlap when
    two start at the same threshold or two of those ranges intersect. Overlap and falling rates are only defined
    for a sorted list (an unsorted one is already an error)."""
    starts = [t.from_ for t in tiers]
    unsorted = any(starts[j] < starts[i] for i, j in itertools.combinations(range(len(tiers)), 2))
    if unsorted:
        return True, False, False
    ends = [getattr(t, "to", None) or (starts[k + 1] if k + 1 < len(tiers) else float("inf"))
            for k, t in enumerate(tiers)]
    overlap = len(set(starts)) < len(starts) or any(
        max(starts[i], starts[j]) < min(ends[i], ends[j]) for i, j in itertools.combinations(range(len(tiers)), 2))
    rates: list[float] = [t.rate for t in tiers if hasattr(t, "rate")]
    falls = any(rates[j] < rates[i] for i, j in itertools.combinations(range(len(rates)), 2))
    return False, overlap, falls


@given(tier_worlds())
def test_tier_findings_iff_the_tier_list_is_unsorted_overlapping_or_falling(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    findings = check_tiers(context)
    by_id: dict[str, set[str]] = {}
    for item in findings:
        by_id.setdefault(str(item.example.get("id") or item.example.get("rebate")), set()).add(item.code)
    for tiered in list(rules.rebates) + list(rules.price_bands):
        unsorted, overlap, falls = _tier_conditions(tiered.tiers)
        codes = by_id.get(tiered.id, set())
        assert ("PP300" in codes) == unsorted, (tiered.id, tiered.tiers)
        if not unsorted:
            assert ("PP301" in codes) == overlap, (tiered.id, tiered.tiers)
            assert ("PP303" in codes) == falls, (tiered.id, tiered.tiers)
    for item in (f for f in findings if f.code in ("PP300", "PP301", "PP303")):
        owner_id = str(item.example.get("id") or item.example.get("rebate"))
        owner = rules.ids("rebates").get(owner_id) or rules.ids("price_bands")[owner_id]
        starts = [t.from_ for t in owner.tiers]
        if item.code == "PP300":
            k = item.example["tier"] - 1
            assert starts[k] == item.example["from"] and starts[k] < starts[k - 1]
        elif item.code == "PP301" and "from" in item.example:
            assert starts.count(item.example["from"]) >= 2
        elif item.code == "PP301":
            start, end = item.example["overlap"]
            assert any(t.to == end and start < end and start in starts for t in owner.tiers)
        elif item.code == "PP303":
            k = item.example["tier"] - 1
            tiers = owner.tiers
            assert tiers[k].from_ == item.example["from"] and tiers[k].rate < tiers[k - 1].rate


# ---------------------------------------------------------------------------------------------------- vividness

@given(shelf_worlds())
def test_shelf_targets_over_100_percent_iff_some_account_and_category_sums_over(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    over = set()
    for account in rules.accounts:
        for category in {t.category for t in rules.shelf_targets}:
            live = [t for t in rules.shelf_targets if t.category == category and account_in(t.applies_to, account)]
            if sum(Fraction(round(t.share * 100), 100) for t in live) > 1:
                over.add(tuple(sorted(t.id for t in live)))
    findings = check_shelf_share(context)
    assert {f.code for f in findings} <= {"PP400"}
    assert {tuple(sorted(f.example["targets"])) for f in findings} == over
    for item in findings:
        account = rules.ids("accounts")[item.example["account"]]
        live = [t for t in rules.shelf_targets
                if t.category == item.example["category"] and account_in(t.applies_to, account)]
        assert sorted(t.id for t in live) == sorted(item.example["targets"])
        assert abs(sum(t.share for t in live) - item.example["total_share"]) < 1e-4 and item.example["total_share"] > 1


# ------------------------------------------------------------------------------------------------------ budgets

QUARTERS = {"year": frozenset(range(1, 5)), "Q1": frozenset({1}), "Q2": frozenset({2}), "Q3": frozenset({3}),
            "Q4": frozenset({4})}


def least_spend(regions: list[frozenset[Any]], minimums: list[int]) -> Fraction:
    """The least spend that meets every minimum, each over its region of (product, quarter) cells:
    min sum(x) s.t. sum(x over region_m) >= min_m, x >= 0. Solved exactly through its dual,
    max sum(min_m y_m) s.t. sum(y_m over the minimums containing a cell) <= 1 for every cell, y >= 0,
    by enumerating the dual's vertices (fine for the few minimums of a generated world)."""
    k = len(minimums)
    if k == 0:
        return Fraction(0)
    cells_ = set().union(*regions)
    rows = {tuple(int(c in region) for region in regions) for c in cells_}
    constraints = [(list(row), Fraction(1)) for row in rows]
    constraints += [([-int(i == m) for i in range(k)], Fraction(0)) for m in range(k)]  # -y_m <= 0
    best = Fraction(0)
    for chosen in itertools.combinations(constraints, k):
        y = _solve([row for row, _ in chosen], [rhs for _, rhs in chosen])
        if y is None or any(sum(c * v for c, v in zip(row, y)) > rhs for row, rhs in constraints):
            continue
        best = max(best, sum((Fraction(b) * v for b, v in zip(minimums, y)), Fraction(0)))
    return best


def _solve(matrix: list[list[int]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Exact Gauss-Jordan elimination; None when the system is singular."""
    n = len(matrix)
    rows = [[Fraction(v) for v in row] + [b] for row, b in zip(matrix, rhs)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if rows[r][col] != 0), None)
        if pivot is None:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[col])]
    return [rows[i][n] / rows[i][i] for i in range(n)]


@given(budget_worlds())
def test_budget_minimums_reported_iff_the_least_spend_they_force_exceeds_the_budget(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    findings = check_budget_minimums(context)
    assert {f.code for f in findings} <= {"PP410"}
    minimums = [b for b in rules.budgets if b.per == "account" and b.min]
    for total in (b for b in rules.budgets if b.per == "total" and b.max is not None):
        def region(budget: Any) -> frozenset[tuple[str, int]]:
            return frozenset((p.id, q) for p in rules.products if product_in(budget.applies_to, p)
                             for q in QUARTERS[budget.period])
        inside = region(total)
        needed = {}
        for account in rules.accounts:
            if not account_in(total.applies_to, account):
                continue
            counting = [m for m in minimums if account_in(m.applies_to, account) and region(m) <= inside]
            needed[account.id] = least_spend([region(m) for m in counting], [int(m.min or 0) for m in counting])
        mine = [f for f in findings if subject(f) == f"budgets.{total.id}"]
        note(f"{total.id}: max {total.max}, least spend {needed}")
        assert len(mine) == (1 if sum(needed.values()) > (total.max or 0) else 0)
        for item in mine:
            assert item.example["sum_of_minimums"] == sum(needed.values())
            for account, amount in item.example["accounts"].items():
                assert amount == needed[account]


# ----------------------------------------------------------------------------------------------------- calendar

def binds(rule: Any, account: Account, group: str) -> bool:
    return account_in(rule.applies_to, account) and (rule.product_groups is None or group in rule.product_groups)


def runs_of(weeks: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for week in sorted(weeks):
        if out and week == out[-1][-1] + 1:
            out[-1].append(week)
        else:
            out.append([week])
    return out


def breaks(rule: Any, schedule: dict[int, str], rules: RuleSet, complete: bool) -> bool:
    """Does a line's schedule break one calendar rule? From the rule's docstring (planner/rules/schema/policy.py)."""
    mechanics = rules.ids("mechanics")
    calendar = rules.calendar
    assert calendar is not None
    kind = rule.kind
    if kind == "blackout":  # no promotion (of the listed mechanics, or any) in these weeks
        return any(w in rule.weeks and (rule.mechanics is None or m in rule.mechanics) for w, m in schedule.items())
    if kind == "max_consecutive":  # at most `weeks` promoted weeks in a row
        return any(len(run) > rule.weeks for run in runs_of(list(schedule)))
    if kind == "min_gap":  # at least `weeks` unpromoted weeks after each run before the next one
        return any(nxt[0] - run[-1] - 1 < rule.weeks for run, nxt in itertools.pairwise(runs_of(list(schedule))))
    if kind == "event_count":  # min / max event weeks per account x product group in each period
        if rule.period == "year":
            periods = [range(1, calendar.weeks + 1)]
        else:
            edges = list(itertools.accumulate(calendar.quarters, initial=0))
            periods = [range(lo + 1, hi + 1) for lo, hi in itertools.pairwise(edges)]
        for span in periods:
            count = sum(1 for w, m in schedule.items() if w in span and (rule.mechanics is None or m in rule.mechanics))
            if (rule.max is not None and count > rule.max) or (complete and count < rule.min):
                return True
        return False
    if kind == "deep_discount_window":  # a deep mechanic at most `at_most` times in any `window_weeks` weeks
        deep = [w for w, m in schedule.items() if effective_depth(mechanics[m]) >= rule.min_depth - 1e-9]
        return any(sum(1 for w in deep if start <= w < start + rule.window_weeks) > rule.at_most
                   for start in range(1 - rule.window_weeks, calendar.weeks + 1))
    if kind == "forbidden_sequence":  # `then` may not follow `first` within `within_weeks` weeks
        return any(m in rule.first and n in rule.then and 0 < v - w <= rule.within_weeks
                   for w, m in schedule.items() for v, n in schedule.items())
    if kind == "feature_min_depth":  # a featured or displayed event must cut the price by at least `min_depth`
        return any((mechanics[m].feature or mechanics[m].display or mechanics[m].kind in ("feature", "display"))
                   and effective_depth(mechanics[m]) < rule.min_depth - 1e-9 for m in schedule.values())
    raise AssertionError(f"not a line rule: {kind}")


def breaks_across(rule: Any, schedules: dict[str, dict[int, str]], weeks: int) -> bool:
    """product_clash / paired_products over one account's groups (group -> schedule)."""
    for week in range(1, weeks + 1):
        promoted = [g for g in rule.groups if week in schedules.get(g, {})]
        if rule.kind == "product_clash" and len(promoted) > 1:
            return True
        if rule.kind == "paired_products" and 0 < len(promoted) < len(set(rule.groups)):
            return True
    return False


def mechanic_allowed_here(mechanic: Mechanic, rules: RuleSet, account: Account, group: Any, week: int) -> bool:
    """The mechanic's scope takes the account and at least one of the group's products, and its dates the week."""
    return (account_in(mechanic.applies_to, account)
            and any(product_in(group.products, p) and product_in(mechanic.applies_to, p) for p in rules.products)
            and week_live(mechanic.valid, rules, week - 1))


def one_line(quarters: tuple[int, ...], calendar_rules: list[dict[str, Any]],
             mechanics: tuple[dict[str, Any], ...] = ({"kind": "price_cut", "depth": 0.2},),
             locked: dict[int, str] | None = None) -> RuleSet:
    """A hand-written calendar world: one account, one product, one product group 'line', mechanics mech0, ..."""
    return build_world(
        calendar=Calendar(year=2027, start=START, weeks=sum(quarters), quarters=quarters),
        accounts=(Account.model_validate({"id": "acc0", "channel": "hypermarket", "tier": "A", "region": "east",
                                          "partner_since": 2015, "last_year_volume": 1000}),),
        products=(Product.model_validate({"id": "sku0", "brand": "cola", "category": "sparkling", "list_price": 10,
                                          "cogs": 5}),),
        product_groups=(ProductGroup.model_validate({"id": "line", "products": {}}),),
        mechanics=tuple(Mechanic.model_validate({"id": f"mech{i}", **spec}) for i, spec in enumerate(mechanics)),
        calendar_rules=tuple(SECTIONS["calendar_rules"].adapter.validate_python(r) for r in calendar_rules),
        events=tuple(Event.model_validate({"id": f"ev{w}", "account": "acc0", "product_group": "line", "mechanic": m,
                                           "weeks": [w], "locked": True}) for w, m in (locked or {}).items()),
    )


@example((  # buy 4 pay 1 at 60% redemption is exactly 45% deep (0.44999999999999996 in floating point)
    one_line((1, 1, 1, 1), [{"id": "deep", "kind": "deep_discount_window", "min_depth": 0.45, "window_weeks": 2,
                             "at_most": 0}], mechanics=({"kind": "multi_buy", "buy": 4, "pay": 1, "redemption": 0.6},)),
    {("acc0", "line"): {1: "mech0"}}))
@given(line_rule_worlds())
def test_calendar_violations_match_every_rule_docstring(world: tuple[RuleSet, dict[Any, dict[int, str]]]) -> None:
    rules, plan = world
    context = assert_loads_clean(rules)
    assert rules.calendar is not None
    for complete in (False, True):
        found = violations(rules, context.index, plan, complete=complete)
        for rule in rules.calendar_rules:
            for account in rules.accounts:
                if rule.kind in ("product_clash", "paired_products"):
                    schedules = {g: s for (a, g), s in plan.items() if a == account.id}
                    if not any(a == account.id for a, _ in plan):
                        continue
                    expected = account_in(rule.applies_to, account) and breaks_across(rule, schedules,
                                                                                       rules.calendar.weeks)
                    got = any(v.rule is rule and v.account == account.id for v in found)
                    assert got == expected, (rule, account.id, schedules)
                    continue
                for group in (g.id for g in rules.product_groups):
                    if (account.id, group) not in plan:
                        continue
                    schedule = plan[(account.id, group)]
                    expected = binds(rule, account, group) and breaks(rule, schedule, rules, complete)
                    got = any(v.rule is rule and v.account == account.id and v.groups == (group,) for v in found)
                    assert got == expected, (rule, account.id, group, schedule, complete)


def schedules_of(rules: RuleSet, account: Account, group: Any, locked: dict[int, str]) -> Any:
    """Every schedule of one line: each week unpromoted or one allowed mechanic; locked weeks are fixed."""
    assert rules.calendar is not None
    choices: list[list[str | None]] = []
    for week in range(1, rules.calendar.weeks + 1):
        if week in locked:
            choices.append([locked[week]])  # fixed
        else:
            choices.append([None] + [m.id for m in rules.mechanics
                                     if mechanic_allowed_here(m, rules, account, group, week)])
    for picked in itertools.product(*choices):
        yield {w: m for w, m in enumerate(picked, start=1) if m is not None}


@example(one_line(  # the minimum of Q1 forces a run of two weeks that leaves no room for the locked week 3
    (2, 1, 1, 1), [{"id": "count", "kind": "event_count", "period": "quarter", "min": 2},
                   {"id": "run", "kind": "max_consecutive", "weeks": 2}], locked={3: "mech0"}))
@example(one_line(  # one event in each quarter, a gap of 2 between runs: only a run of 5 works, and Q3 allows 1
    (1, 1, 2, 1), [{"id": "count", "kind": "event_count", "period": "quarter", "min": 1, "max": 1},
                   {"id": "gap", "kind": "min_gap", "weeks": 2}]))
@example(one_line(  # mech0 counts, in weeks 1 and 3 only; mech1 does not count but joins them into one run
    (1, 1, 1, 1), [{"id": "count", "kind": "event_count", "min": 2, "mechanics": "mech0"},
                   {"id": "gap", "kind": "min_gap", "weeks": 2},
                   {"id": "dark", "kind": "blackout", "weeks": [2], "mechanics": "mech0"}],
    mechanics=({"kind": "price_cut", "depth": 0.2, "valid": {"to": START + dt.timedelta(days=14)}},
               {"kind": "price_cut", "depth": 0.2})))
@given(calendar_worlds())
def test_calendar_infeasible_iff_no_schedule_meets_every_rule(rules: RuleSet) -> None:
    context = assert_loads_clean(rules)
    [group] = rules.product_groups
    feasibility = check_feasibility(context)
    events = [f for f in check_events(context) if f.severity.value == "error"]
    assert {f.code for f in feasibility} <= {"PP420"} and {f.code for f in events} <= {"PP421"}
    if not any(product_in(group.products, p) for p in rules.products):  # an empty group: PP314, not PP420 per line
        assert not feasibility and [f.code for f in check_matches_nothing(context)] == ["PP314"]
        return
    for account in rules.accounts:
        line = (account.id, group.id)
        binding = [r for r in rules.calendar_rules if binds(r, account, group.id)]
        locked = {w: e.mechanic for e in rules.events if e.account == account.id for w in e.weeks}
        locked_breaks = [r.id for r in binding if breaks(r, locked, rules, complete=False)]
        reported_locked = {f.example["rule"] for f in events if f.example["account"] == account.id}
        assert reported_locked == set(locked_breaks), (account.id, locked)
        infeasible = [f for f in feasibility if f.example["account"] == account.id]
        if locked_breaks:
            continue  # the locked events alone break a rule: PP421 above, and no verdict on the minimum
        feasible = False
        for schedule in schedules_of(rules, account, group, locked):
            mine = not any(breaks(r, schedule, rules, complete=True) for r in binding)
            theirs = not violations(rules, context.index, {line: schedule}, complete=True)
            assert mine == theirs, (account.id, schedule)
            if mine:
                feasible = True
                break
        note(f"{account.id}: feasible={feasible}, locked={locked}")
        assert bool(infeasible) == (not feasible), (account.id, infeasible)
        for item in infeasible:
            assert item.example["product_group"] == group.id and item.example["rule"] == "count"
