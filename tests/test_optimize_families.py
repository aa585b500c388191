"""Every constraint family of the promotion MILP (planner/optimize/constraints), on tiny worlds.

Two kinds of test per family:

- brute force: on a world of one account, 6-8 weeks and 1-2 mechanics, every schedule the options allow is
  enumerated; the model's rows (read back from Pyomo) must accept exactly the schedules that
  planner/compile/calendar.violations (the single statement of the calendar rules) finds nothing wrong with;
- solve: the family changes the optimum in a way one can predict by hand, and the optimizer's plan re-checks clean
  against the same `violations` and against the economics core (margins, spend, display net sales, rebates).

`test_every_family_has_a_test` fails when a family is added to FAMILIES without a test here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyomo.repn import generate_standard_repn
from strategies import build_world

from planner.compile.calendar import violations
from planner.compile.model import Compiled, compile_rules
from planner.compile.promotions import Promotions, compile_promotions
from planner.economics.core import Cells, evaluate
from planner.optimize import constraints
from planner.optimize.constraints import FAMILIES, choice
from planner.optimize.constraints.display_min_revenue import own_week_net_sales
from planner.optimize.highs import Status
from planner.optimize.investments import bought_in
from planner.optimize.model import Model
from planner.optimize.options import Options, build_options
from planner.optimize.readable import PyomoModel
from planner.optimize.solve import Solution, build, solve
from planner.rules.schema import (
    SECTIONS,
    Account,
    Baseline,
    Budget,
    Calendar,
    Cooler,
    Discount,
    Display,
    Event,
    MarginFloor,
    Mechanic,
    PriceFloor,
    Product,
    ProductGroup,
    Rebate,
    Response,
    RuleSet,
    Seasonality,
    ShelfTarget,
    TradeSpendCap,
)
from planner.rules.vividness import buy

# --------------------------------------------------------------------------------------------------------- worlds


def rule(**raw: Any) -> Any:
    return SECTIONS["calendar_rules"].adapter.validate_python({"id": raw.pop("id", raw["kind"]), **raw})


def mechanic(id: str, **raw: Any) -> Mechanic:
    return Mechanic.model_validate({"id": id, "kind": "price_cut", "depth": 0.2, "funding": 0.2, **raw})


def event(id: str, mechanic: str, weeks: list[int], group: str = "cola") -> Event:
    return Event.model_validate({"id": id, "account": "acc0", "product_group": group, "mechanic": mechanic,
                                 "weeks": weeks, "locked": True})


def world(weeks: int = 8, quarters: tuple[int, ...] = (2, 2, 2, 2), mechanics: tuple[Mechanic, ...] = (),
          weights: tuple[float, ...] = (), cogs: float = 20.0, **sections: Any) -> RuleSet:
    """One hypermarket account selling cola (cans), water and fizz; groups of the same names. Demand responds
    strongly (elasticity -3, no dip, no cannibalization), so a cheap price cut pays in every week; `weights` give
    each week's demand (flat when absent)."""
    products = (Product(id="cola-can", brand="cola", category="sparkling", list_price=60, cogs=cogs),
                Product(id="aqua-pet", brand="aqua", category="water", list_price=30, cogs=cogs / 2),
                Product(id="fizz-can", brand="fizz", category="sparkling", list_price=50, cogs=cogs))
    return build_world(
        calendar=Calendar(year=2027, start=dt.date(2027, 1, 4), weeks=weeks, quarters=quarters),
        accounts=(Account(id="acc0", channel="hypermarket", tier="A", region="east", partner_since=2015,
                          last_year_volume=50_000),),
        products=products,
        seasonality=(Seasonality(id="weeks", weights=(*weights, *[1.0] * (52 - len(weights)))),),
        baselines=(Baseline(id="base", account="acc0", seasonality="weeks",
                            cases_per_week={"cola-can": 1000, "aqua-pet": 800, "fizz-can": 500}),),
        product_groups=tuple(ProductGroup.model_validate({"id": g, "products": {"brand": b}})
                             for g, b in (("cola", "cola"), ("water", "aqua"), ("fizz", "fizz"))),
        response=(Response(id="resp", elasticity=-3.0, post_promo_dip=0.0, cannibalization=0.0),),
        mechanics=mechanics, **sections)


ONE_LINE = world(mechanics=(
    mechanic("deep", depth=0.3, applies_to={"brand": "cola"}),
    mechanic("shallow", depth=0.1, feature=True, lift=1.2, applies_to={"brand": "cola"},
             valid={"from": dt.date(2027, 1, 18)}),  # weeks 3-8 only
))
"""Cola: deep in weeks 1-8, a featured shallow cut in weeks 3-8. Water and fizz are sold but cannot be promoted."""
TWO_LINES = world(weeks=6, quarters=(2, 1, 2, 1), mechanics=(mechanic("tpr", applies_to={"brand": ["cola", "aqua"]}),))
"""Cola and water take one price cut each week; fizz is sold but cannot be promoted."""


_PREPARED: dict[int, tuple[RuleSet, Compiled, Options]] = {}


def prepared(rules: RuleSet) -> tuple[Compiled, Options]:
    """Compile and value the options once per world: calendar rules and events do not change them."""
    if id(rules) not in _PREPARED:
        compiled = compile_rules(rules)
        _PREPARED[id(rules)] = (rules, compiled, build_options(rules, compiled))
    return _PREPARED[id(rules)][1:]


def with_rules(base: RuleSet, calendar_rules: tuple[Any, ...] = (), events: tuple[Event, ...] = ()) -> RuleSet:
    return base.replace(calendar_rules=calendar_rules, events=events)


# --------------------------------------------------------------------------------------------------- brute force


def rows(model: PyomoModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's rows over x as a matrix, with lower and upper bounds (other variables must be fixed by bounds)."""
    x = {id(model.x[o]): o for o in range(len(model.options))}
    matrix, lower, upper = [], [], []
    for row in model.pyomo.rows.values():
        repn = generate_standard_repn(row.body, compute_values=True)
        line, constant = np.zeros(len(model.options)), float(repn.constant)
        for coefficient, var in zip(repn.linear_coefs, repn.linear_vars):
            if id(var) in x:
                line[x[id(var)]] += coefficient
            else:
                assert var.lb == var.ub, "brute force handles rows over x (and fixed variables) only"
                constant += coefficient * var.lb
        matrix.append(line)
        lower.append(-np.inf if row.lower is None else float(row.lower) - constant)
        upper.append(np.inf if row.upper is None else float(row.upper) - constant)
    return np.array(matrix).reshape(len(matrix), len(model.options)), np.array(lower), np.array(upper)


def schedules(options: Options) -> np.ndarray:
    """Every 0/1 choice of options with at most one option per line and week."""
    slots: dict[tuple[int, int], list[int]] = {}
    for o, key in enumerate(zip(options.line.tolist(), options.week.tolist())):
        slots.setdefault(key, []).append(o)
    choices = [[None, *chosen] for chosen in slots.values()]
    combos = list(itertools.product(*choices))
    out = np.zeros((len(combos), len(options)), dtype=np.int8)
    for s, combo in enumerate(combos):
        out[s, [o for o in combo if o is not None]] = 1
    return out


def reference(rules: RuleSet, compiled: Compiled, options: Options, chosen: np.ndarray) -> bool:
    """No calendar rule broken (every sold line in the plan, so minimums count) and every locked event kept."""
    index = compiled.index
    plan: dict[tuple[str, str], dict[int, str]] = {}
    for group in rules.product_groups:
        products = index.product_mask(group.products)
        for a in np.flatnonzero((compiled.demand.baseline[:, products] > 0).any(axis=1)):
            plan[(index.accounts[a].id, group.id)] = {}
    for o in np.flatnonzero(chosen):
        account, group = options.lines[options.line[o]]
        plan[(index.accounts[account].id, group)][int(options.week[o]) + 1] = options.mechanics[options.mechanic[o]].id
    locked = all(plan.get((e.account, e.product_group), {}).get(w) == e.mechanic
                 for e in rules.events if e.locked for w in e.weeks)
    return locked and not violations(rules, index, plan, complete=True)


def assert_same_feasible_set(base: RuleSet, family: str, calendar_rules: tuple[Any, ...] = (),
                             events: tuple[Event, ...] = ()) -> None:
    rules = with_rules(base, calendar_rules, events)
    compiled, options = prepared(base)
    model = PyomoModel(rules, compiled, options)
    choice.add(model)
    FAMILIES[family](model)
    matrix, lower, upper = rows(model)
    every = schedules(options)
    activity = every @ matrix.T
    accepted = ((activity >= lower - 1e-9) & (activity <= upper + 1e-9)).all(axis=1)
    for s, chosen in enumerate(every):
        assert accepted[s] == reference(rules, compiled, options, chosen), (
            f"{family}: the model {'accepts' if accepted[s] else 'rejects'} {describe(options, chosen)}")


def describe(options: Options, chosen: np.ndarray) -> list[tuple[str, int, str]]:
    """A schedule as (group, 1-based week, mechanic) triples."""
    return [(options.lines[options.line[o]][1], int(options.week[o]) + 1, options.mechanics[options.mechanic[o]].id)
            for o in np.flatnonzero(chosen)]


BRUTE_FORCE = [
    ("blackout", ONE_LINE, [rule(kind="blackout", weeks=[2, 5])]),
    ("blackout", ONE_LINE, [rule(kind="blackout", weeks=[4, 9], mechanics=["shallow"])]),
    ("blackout", ONE_LINE, [rule(kind="blackout", weeks=[1], applies_to={"channel": "convenience"})]),
    ("max_consecutive", ONE_LINE, [rule(kind="max_consecutive", weeks=1)]),
    ("max_consecutive", ONE_LINE, [rule(kind="max_consecutive", weeks=3)]),
    ("max_consecutive", TWO_LINES, [rule(kind="max_consecutive", weeks=2, product_groups=["water"])]),
    ("min_gap", ONE_LINE, [rule(kind="min_gap", weeks=1)]),
    ("min_gap", ONE_LINE, [rule(kind="min_gap", weeks=3)]),
    ("min_gap", TWO_LINES, [rule(kind="min_gap", weeks=2)]),
    ("event_count", ONE_LINE, [rule(kind="event_count", max=3)]),
    ("event_count", ONE_LINE, [rule(kind="event_count", period="quarter", min=1, max=1)]),
    ("event_count", ONE_LINE, [rule(kind="event_count", mechanics=["shallow"], min=2, max=3)]),
    ("event_count", ONE_LINE, [rule(kind="event_count", product_groups=["water"], min=1)]),  # no option: none
    ("event_count", TWO_LINES, [rule(kind="event_count", period="quarter", max=1, product_groups=["cola"])]),
    ("deep_discount_window", ONE_LINE, [rule(kind="deep_discount_window", min_depth=0.25, window_weeks=3)]),
    ("deep_discount_window", ONE_LINE, [rule(kind="deep_discount_window", min_depth=0.05, window_weeks=4,
                                             at_most=2)]),
    ("deep_discount_window", ONE_LINE, [rule(kind="deep_discount_window", min_depth=0.3, window_weeks=10)]),
    ("deep_discount_window", ONE_LINE, [rule(kind="deep_discount_window", min_depth=0.3, window_weeks=2,
                                             at_most=0)]),
    ("forbidden_sequence", ONE_LINE, [rule(kind="forbidden_sequence", first=["deep"], then=["shallow"],
                                           within_weeks=2)]),
    ("forbidden_sequence", ONE_LINE, [rule(kind="forbidden_sequence", first=["deep", "shallow"],
                                           then=["deep", "shallow"], within_weeks=1)]),
    ("feature_min_depth", ONE_LINE, [rule(kind="feature_min_depth", min_depth=0.15)]),
    ("feature_min_depth", ONE_LINE, [rule(kind="feature_min_depth", min_depth=0.1)]),
    ("product_clash", TWO_LINES, [rule(kind="product_clash", groups=["cola", "water"])]),
    ("product_clash", TWO_LINES, [rule(kind="product_clash", groups=["cola", "water", "fizz"])]),
    ("paired_products", TWO_LINES, [rule(kind="paired_products", groups=["cola", "water"])]),
    ("paired_products", TWO_LINES, [rule(kind="paired_products", groups=["water", "fizz"])]),
    ("paired_products", TWO_LINES, [rule(kind="paired_products", groups=["cola", "water"],
                                         applies_to={"tier": "C"})]),
]


@pytest.mark.parametrize(("family", "base", "calendar_rules"), BRUTE_FORCE,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BRUTE_FORCE)])
def test_feasible_set_is_the_calendar_semantics(family: str, base: RuleSet, calendar_rules: list[Any]) -> None:
    assert_same_feasible_set(base, family, tuple(calendar_rules))


SMALL_ONE_LINE = world(weeks=6, quarters=(2, 1, 2, 1), mechanics=ONE_LINE.mechanics)
SMALL_TWO_LINES = world(weeks=5, quarters=(2, 1, 1, 1), mechanics=TWO_LINES.mechanics)


@st.composite
def calendar_rules(draw: st.DrawFn) -> tuple[RuleSet, str, Any]:
    """One calendar rule of any kind the brute force covers, with drawn parameters, on a small world."""
    base = draw(st.sampled_from((SMALL_ONE_LINE, SMALL_TWO_LINES)))
    weeks, mechanics = base.calendar.weeks, [m.id for m in base.mechanics]  # type: ignore[union-attr]
    kinds = ["blackout", "max_consecutive", "min_gap", "event_count", "deep_discount_window", "forbidden_sequence",
             "feature_min_depth"] + (["product_clash", "paired_products"] if base is SMALL_TWO_LINES else [])
    kind = draw(st.sampled_from(kinds))
    some = st.lists(st.sampled_from(mechanics), min_size=1, max_size=2, unique=True)
    raw: dict[str, Any] = {"kind": kind}
    if draw(st.integers(0, 3)) == 0:
        raw["product_groups"] = draw(st.lists(st.sampled_from(("cola", "water", "fizz")), min_size=1, max_size=2))
    if kind == "blackout":
        raw["weeks"] = draw(st.lists(st.integers(1, weeks + 1), min_size=1, max_size=3, unique=True))
        raw["mechanics"] = draw(st.none() | some)
    elif kind in ("max_consecutive", "min_gap"):
        raw["weeks"] = draw(st.integers(1, 4))
    elif kind == "event_count":
        raw.update(period=draw(st.sampled_from(("year", "quarter"))), min=draw(st.integers(0, 3)),
                   mechanics=draw(st.none() | some))
        raw["max"] = draw(st.none() | st.integers(raw["min"], raw["min"] + 3))
    elif kind == "deep_discount_window":
        raw.update(min_depth=draw(st.sampled_from((0.05, 0.1, 0.2, 0.3, 0.5))), window_weeks=draw(st.integers(1, 7)),
                   at_most=draw(st.integers(0, 2)))
    elif kind == "forbidden_sequence":
        raw.update(first=draw(some), then=draw(some), within_weeks=draw(st.integers(1, 4)))
    elif kind == "feature_min_depth":
        raw["min_depth"] = draw(st.sampled_from((0.05, 0.1, 0.15)))
    else:
        raw["groups"] = draw(st.lists(st.sampled_from(("cola", "water", "fizz")), min_size=2, max_size=3, unique=True))
    return base, kind, rule(**raw)


@given(calendar_rules())
def test_drawn_rules_have_the_calendar_semantics(drawn: tuple[RuleSet, str, Any]) -> None:
    base, kind, calendar_rule = drawn
    assert_same_feasible_set(base, kind, (calendar_rule,))


def test_choice_allows_one_mechanic_per_line_and_week() -> None:
    compiled, options = prepared(ONE_LINE)
    model = PyomoModel(ONE_LINE, compiled, options)
    choice.add(model)
    matrix, _, upper = rows(model)
    assert len(matrix) == 6 and (upper == 1).all()  # weeks 3-8 hold two options
    both = np.zeros(len(options))
    both[[options.option_of[(0, 0, 3, 0)], options.option_of[(0, 0, 3, 1)]]] = 1
    assert (matrix @ both > upper).any()


@pytest.mark.parametrize("events", [
    (event("a", "deep", [1, 2]), event("b", "shallow", [5])),
    (event("no-option", "shallow", [1]),),  # the shallow cut only runs from week 3: nothing can meet it
    (event("not-promotable", "deep", [2], group="water"),),
], ids=["kept", "no-option", "no-line-option"])
def test_locked_feasible_set(events: tuple[Event, ...]) -> None:
    assert_same_feasible_set(ONE_LINE, "locked", (), events)


# --------------------------------------------------------------------------------------------------------- solves


def optimize(rules: RuleSet, gap: float = 1e-6) -> tuple[Solution, Compiled, Options]:
    compiled = compile_rules(rules)
    options = build_options(rules, compiled)
    return solve(build(rules, compiled, options), time_limit=30, gap=gap, duals=False), compiled, options


def promoted(solution: Solution, group: str = "cola") -> dict[int, str]:
    return {w: e.mechanic for e in solution.events if e.product_group == group for w in e.weeks}


def plan_cells(rules: RuleSet, compiled: Compiled, solution: Solution) -> Cells:
    promotions = compile_promotions(solution.events, rules.ids("mechanics"), rules.ids("product_groups"),
                                    compiled.index, compiled.demand.expected_base)
    return evaluate(compiled, promotions)


def clean(rules: RuleSet, compiled: Compiled, options: Options, solution: Solution) -> None:
    """Optimal, and the plan breaks no calendar rule and keeps every locked event."""
    assert solution.status is Status.OPTIMAL
    assert reference(rules, compiled, options, np.isin(np.arange(len(options)), solution.chosen))


SEASONAL = world(mechanics=(mechanic("tpr", applies_to={"brand": "cola"}),),
                 weights=(1.0, 1.1, 1.8, 1.2, 1.05, 1.6, 1.15, 1.02))
"""A cheap price cut on cola pays every week, in proportion to the week's demand: most in weeks 3 and 6."""


@pytest.mark.parametrize(("calendar_rules", "weeks"), [
    ((), {1, 2, 3, 4, 5, 6, 7, 8}),
    ((rule(kind="blackout", weeks=[3]),), {1, 2, 4, 5, 6, 7, 8}),
    ((rule(kind="event_count", max=2),), {3, 6}),
    ((rule(kind="event_count", period="quarter", max=1),), {2, 3, 6, 7}),
    ((rule(kind="max_consecutive", weeks=1),), {1, 3, 6, 8}),
    ((rule(kind="max_consecutive", weeks=2),), {1, 3, 4, 6, 7}),
    ((rule(kind="max_consecutive", weeks=2), rule(kind="min_gap", weeks=2)), {2, 3, 6, 7}),
], ids=["none", "blackout", "event_count", "event_count-quarter", "max_consecutive-1", "max_consecutive-2",
        "min_gap"])
def test_calendar_rules_change_the_optimum(calendar_rules: tuple[Any, ...], weeks: set[int]) -> None:
    rules = with_rules(SEASONAL, calendar_rules)
    solution, compiled, options = optimize(rules)
    clean(rules, compiled, options, solution)
    assert set(promoted(solution)) == weeks
    every = schedules(options)  # and no plan the rules allow earns more
    allowed = [s for s, chosen in enumerate(every) if reference(rules, compiled, options, chosen)]
    best = (every[allowed] @ options.value["gross_profit"]).max()
    assert options.value["gross_profit"][solution.chosen].sum() == pytest.approx(best, rel=1e-9)


COSTLY = world(mechanics=(mechanic("tpr", depth=0.3, funding=1.0, fixed_cost=50_000,
                                   applies_to={"brand": ["cola", "aqua"]}),))
"""A price cut that never pays; fizz cannot be promoted."""


def test_event_count_minimum_forces_unprofitable_weeks() -> None:
    rules = with_rules(COSTLY, (rule(kind="event_count", period="quarter", min=1, product_groups=["cola"]),))
    solution, compiled, options = optimize(rules)
    clean(rules, compiled, options, solution)
    weeks = sorted(promoted(solution))
    assert [compiled.index.calendar.quarter_of(w) for w in weeks] == [1, 2, 3, 4]
    assert not promoted(solution, "water")
    everywhere = with_rules(COSTLY, (rule(kind="event_count", min=1),))  # binds fizz too, sold but not promotable
    assert optimize(everywhere)[0].status is Status.INFEASIBLE


def test_locked_events_are_kept_or_make_the_model_infeasible() -> None:
    assert not optimize(COSTLY)[0].events
    rules = with_rules(COSTLY, (rule(kind="min_gap", weeks=2),), (event("pinned", "tpr", [2, 3]),))
    solution, compiled, options = optimize(rules)
    clean(rules, compiled, options, solution)
    assert promoted(solution) == {2: "tpr", 3: "tpr"} and solution.events[0].locked
    blackout = with_rules(COSTLY, (rule(kind="blackout", weeks=[3]),), (event("pinned", "tpr", [2, 3]),))
    assert optimize(blackout)[0].status is Status.INFEASIBLE
    assert optimize(with_rules(COSTLY, (), (event("fizz", "tpr", [2], group="fizz"),)))[0].status is Status.INFEASIBLE


TWO_DEPTHS = world(mechanics=(mechanic("deep", depth=0.3, applies_to={"brand": "cola"}),
                              mechanic("shallow", depth=0.1, feature=True, lift=1.1, applies_to={"brand": "cola"})))
"""Both cuts pay every week on cola, the deep one most."""


def test_deep_window_forbidden_sequence_and_feature_depth() -> None:
    solution, _, _ = optimize(TWO_DEPTHS)
    assert set(promoted(solution).values()) == {"deep"} and len(promoted(solution)) == 8
    window = with_rules(TWO_DEPTHS, (rule(kind="deep_discount_window", min_depth=0.25, window_weeks=3),))
    solution, compiled, options = optimize(window)
    clean(window, compiled, options, solution)
    assert list(promoted(solution).values()).count("deep") == 3 and len(promoted(solution)) == 8
    sequence = (rule(kind="forbidden_sequence", first=["deep"], then=["deep"], within_weeks=1),)
    solution, compiled, options = optimize(with_rules(TWO_DEPTHS, sequence))
    clean(with_rules(TWO_DEPTHS, sequence), compiled, options, solution)
    assert list(promoted(solution).values()).count("deep") == 4 and len(promoted(solution)) == 8
    feature = with_rules(TWO_DEPTHS, (rule(kind="feature_min_depth", min_depth=0.15), *sequence))
    solution, compiled, options = optimize(feature)
    clean(feature, compiled, options, solution)
    assert list(promoted(solution).values()) == ["deep"] * 4  # the shallow cut is featured: not allowed


def test_clash_and_pairs_across_groups() -> None:
    solution, _, _ = optimize(TWO_LINES)
    assert len(promoted(solution, "cola")) == len(promoted(solution, "water")) == 6
    clash = with_rules(TWO_LINES, (rule(kind="product_clash", groups=["cola", "water"]),))
    solution, compiled, options = optimize(clash)
    clean(clash, compiled, options, solution)
    assert len(promoted(solution, "cola")) + len(promoted(solution, "water")) == 6
    pair = with_rules(TWO_LINES, (rule(kind="paired_products", groups=["cola", "fizz"]),))
    solution, compiled, options = optimize(pair)
    clean(pair, compiled, options, solution)
    assert not promoted(solution, "cola") and len(promoted(solution, "water")) == 6


DISPLAY = world(mechanics=(mechanic("endcap", kind="display", depth=0.15, lift=1.9, fixed_cost=1000,
                                    applies_to={"brand": "cola"}),),
                weights=(1.0, 1.1, 1.8, 1.2, 1.05, 1.6, 1.15, 1.02))


def test_display_weeks_bring_the_minimum_net_sales() -> None:
    compiled, options = prepared(DISPLAY)
    own = own_week_net_sales(Model(DISPLAY, compiled, options))
    cola = compiled.index.product_mask(DISPLAY.product_groups[0].products)
    for o in range(len(options)):  # alone in the plan, an option's own-week net sales are exact
        alone = event("alone", "endcap", [int(options.week[o]) + 1])
        cells = evaluate(compiled, compile_promotions([alone], DISPLAY.ids("mechanics"),
                                                      DISPLAY.ids("product_groups"), compiled.index,
                                                      compiled.demand.expected_base))
        assert own[o] == pytest.approx(cells.net_sales[0, cola, options.week[o]].sum(), rel=1e-9)
    ranked = np.sort(own)
    minimum = float(ranked[-2] + ranked[-3]) / 2  # between the two biggest weeks (3 and 6) and the rest
    rules = with_rules(DISPLAY, (rule(kind="display_min_revenue", min_revenue=minimum),))
    free, _, _ = optimize(DISPLAY)
    solution, compiled, _ = optimize(rules)
    assert len(promoted(free)) == 8 and set(promoted(solution)) == {3, 6}
    cells = plan_cells(rules, compiled, solution)
    assert all(cells.net_sales[0, cola, w - 1].sum() >= minimum for w in (3, 6))


# ------------------------------------------------------------------------------------------------- money families


PRICED = world(mechanics=(mechanic("deep", depth=0.3, funding=0.5, applies_to={"brand": "cola"}),
                          mechanic("shallow", depth=0.1, funding=0.5, applies_to={"brand": "cola"})),
               cogs=30.0, discounts=(Discount(id="early", percent=0.1, valid={"to": dt.date(2027, 1, 31)}),))
"""Cola at list 60, COGS 30; a 10% off-invoice discount in weeks 1-4 (invoice 54, shelf 78 x (1 - 0.6 x 10%)).
Worst-case dead-net per case, invoice - 0.5 x depth x shelf: deep 43.0 in weeks 1-4 and 48.3 after; shallow
50.3 and 56.1. Both cuts pay everywhere, the deep one most."""


def test_price_floors_exclude_options_below_the_floor() -> None:
    solution, _, _ = optimize(PRICED)
    assert set(promoted(solution).values()) == {"deep"} and len(promoted(solution)) == 8
    floor = PRICED.replace(price_floors=(PriceFloor(id="floor", min_markup=0.5, applies_to={"brand": "cola"}),))
    solution, _, _ = optimize(floor)  # 45 per case: deep is out in weeks 1-4 only
    assert promoted(solution) == {**{w: "shallow" for w in range(1, 5)}, **{w: "deep" for w in range(5, 9)}}
    # A 3% tier nobody reaches still counts in the worst case: 1.8 off deep in weeks 5-8 (46.5 < 48)
    rebate = Rebate.model_validate({"id": "r", "period": "year", "basis": "volume", "method": "retroactive",
                                    "tiers": [{"from": 1e9, "rate": 0.03}], "applies_to": {"brand": "cola"}})
    higher = (PriceFloor(id="floor", min_markup=0.6, applies_to={"brand": "cola"}),)
    solution, _, _ = optimize(PRICED.replace(price_floors=higher))
    assert promoted(solution) == {**{w: "shallow" for w in range(1, 5)}, **{w: "deep" for w in range(5, 9)}}
    solution, _, _ = optimize(PRICED.replace(price_floors=higher, rebates=(rebate,)))
    assert promoted(solution) == {w: "shallow" for w in range(1, 9)}


RICH = world(mechanics=(mechanic("deep", depth=0.3, funding=0.6),), cogs=30.0)
"""A deep, well-funded cut that adds profit on every line and week but lowers the margin and raises trade spend."""


def test_margin_floors_and_trade_spend_caps_hold_on_the_simulated_plan() -> None:
    free, compiled, _ = optimize(RICH)
    cells = plan_cells(RICH, compiled, free)
    margin, share = cells.gross_profit.sum() / cells.net_sales.sum(), cells.trade_spend.sum() / cells.gross_sales.sum()
    base = evaluate(compiled, Promotions.none(compiled.shape))
    assert len(promoted(free)) == 8 and margin < base.gross_profit.sum() / base.net_sales.sum() - 0.02
    floored = RICH.replace(margin_floors=(MarginFloor(id="mf", per="total", min_gross_margin=margin + 0.01),))
    solution, compiled, _ = optimize(floored)
    cells = plan_cells(floored, compiled, solution)
    assert solution.objective < free.objective and cells.gross_profit.sum() >= (margin + 0.01) * cells.net_sales.sum()
    capped = RICH.replace(trade_spend_caps=(TradeSpendCap(id="ts", per="account", max_share=share - 0.01),))
    solution, compiled, _ = optimize(capped)
    cells = plan_cells(capped, compiled, solution)
    assert solution.objective < free.objective and cells.trade_spend.sum() <= (share - 0.01) * cells.gross_sales.sum()


def test_budgets_and_rebates_hold_on_the_simulated_plan() -> None:
    free, compiled, _ = optimize(RICH)
    spend = plan_cells(RICH, compiled, free).budget_spend.sum()
    budget = RICH.replace(budgets=(Budget(id="b", max=spend / 2),))
    solution, compiled, _ = optimize(budget)
    assert solution.objective < free.objective
    assert plan_cells(budget, compiled, solution).budget_spend.sum() <= spend / 2 + 1e-6
    rebate = Rebate.model_validate({"id": "r", "period": "quarter", "basis": "revenue", "method": "retroactive",
                                    "tiers": [{"from": 300_000, "rate": 0.02}, {"from": 500_000, "rate": 0.04}]})
    rules = RICH.replace(rebates=(rebate,))
    solution, compiled, _ = optimize(rules)
    assert solution.rebates > 0
    assert solution.rebates == pytest.approx(plan_cells(rules, compiled, solution).rebates.sum(), rel=1e-6)


def test_rebate_margins_cover_the_simulators_volume_rebates() -> None:
    """The model prices a volume rebate at the no-promotion average price; the simulator pays it on the actual
    revenue. Promoting only cola, the dearest product, lifts the average price, so the simulator pays more than
    the model; the margins the floors and caps add on top of the model's rebates cover the difference."""
    cola_only = RICH.replace(mechanics=(mechanic("deep", depth=0.3, funding=0.6, applies_to={"brand": "cola"}),))
    base = evaluate(compile_rules(cola_only), Promotions.none(compile_rules(cola_only).shape))
    quarter = float(base.volume[:, :, :2].sum(axis=(1, 2)).min())  # the smallest account's first quarter (2 weeks)
    rebate = Rebate.model_validate({"id": "r", "period": "quarter", "basis": "volume", "method": "retroactive",
                                    "tiers": [{"from": 0.9 * quarter, "rate": 0.03},
                                              {"from": 1.05 * quarter, "rate": 0.06}]})
    rules = cola_only.replace(rebates=(rebate,))
    compiled = compile_rules(rules)
    model = build(rules, compiled, build_options(rules, compiled))
    solution = solve(model, time_limit=30, gap=1e-6, duals=False)
    simulated = plan_cells(rules, compiled, solution).rebates.sum()
    margins = sum(solution.values[model.column(v)] for group in model.rebate_margins.values() for v in group)
    assert simulated > solution.rebates > 0 and margins > 0
    assert simulated <= solution.rebates + margins + 1e-6


def vivid(shelf_fee: float, display_fee: float, cooler_cost: float, weeks: int = 5) -> RuleSet:
    """One account with a cola price cut, a dip and cannibalization (so investments change what promotions
    earn), offered three investments: a sparkling shelf target (40% -> 55%), a cola display in weeks 2-3, and
    coolers for sparkling; the fees set which pay."""
    base = world(weeks=weeks, quarters=(2, 1, 1, 1), mechanics=(mechanic("tpr", depth=0.25, funding=0.5,
                                                                        applies_to={"brand": "cola"}),))
    account = base.accounts[0].model_copy(update={"shelf_share": {"sparkling": 0.4}})
    return base.replace(
        accounts=(account,),
        response=(Response(id="resp", elasticity=-3.0, post_promo_dip=0.4, dip_weeks=2, cannibalization=0.3,
                           shelf_elasticity=0.8),),
        shelf_targets=(ShelfTarget(id="st", category="sparkling", share=0.55, cost_per_point=shelf_fee),),
        displays=(Display(id="disp", products={"brand": "cola"}, area_m2=4, fee_per_week=display_fee,
                          weeks=(2, 3), lift=1.3),),
        coolers=(Cooler(id="cool", products={"category": "sparkling"}, units=10, cost_per_unit=cooler_cost,
                        cases_per_unit_week=20),))


def core_profit(rules: RuleSet, package: int, investments: list[Any], weeks: tuple[int, ...]) -> float:
    """Gross profit the economics core gives for buying `package` (slot bits) and promoting cola in `weeks`."""
    bought = buy(rules, bought_in(investments, rules, package))
    compiled = compile_rules(bought)
    events = [Event(id=f"e{w}", account="acc0", product_group="cola", mechanic="tpr", weeks=(w,)) for w in weeks]
    promotions = compile_promotions(events, bought.ids("mechanics"), bought.ids("product_groups"), compiled.index,
                                    compiled.demand.expected_base)
    return float(evaluate(compiled, promotions).gross_profit.sum())


def column_profit(options: Options, package: int, weeks: tuple[int, ...]) -> float:
    """The same plan read from the option table: base + packages + each chosen option's matching variant."""
    gp = options.value["gross_profit"]
    total = float(options.base.gross_profit.sum() + options.base.rebates.sum())
    total += sum(gp[c] for c in options.packages.tolist() if options.column_bought[c] == package)
    for o in (options.option_of[(0, 0, w - 1, 0)] for w in weeks):
        matters = int(options.column_matters[o])
        total += gp[o] if not matters else sum(gp[c] for c in options.variants.tolist()
                                               if options.column_option[c] == o
                                               and options.column_bought[c] == package & matters)
    return float(total)


@pytest.mark.parametrize(("label", "fees"), [("free", (0.0, 0.0, 0.0)), ("mixed", (3000.0, 20000.0, 500.0)),
                                             ("dear", (1e5, 1e5, 1e5))])
def test_vividness_packages_are_valued_exactly_and_bought_optimally(label: str, fees: tuple[float, ...]) -> None:
    """Every package x every cola calendar: the option table adds up to the economics core's gross profit, and
    the MILP's optimum (investments and calendar together) is the best of all of them."""
    rules = vivid(fees[0], fees[1], fees[2])
    compiled = compile_rules(rules)
    options = build_options(rules, compiled)
    assert {i.item for i in options.investments} == {"st", "disp", "cool"} and len(options.variants)
    weeks = range(1, compiled.index.calendar.weeks + 1)
    best = -np.inf
    for package in range(8):
        for size in range(len(weeks) + 1):
            for chosen in itertools.combinations(weeks, size):
                simulated = core_profit(rules, package, options.investments, chosen)
                assert column_profit(options, package, chosen) == pytest.approx(simulated, rel=1e-9, abs=1e-6)
                best = max(best, simulated)
    solution = solve(build(rules, compiled, options), time_limit=30, gap=1e-9, duals=False)
    assert solution.objective == pytest.approx(best, rel=1e-7)
    simulated = core_profit(rules, sum(1 << i.slot for i in options.investments
                                       if "acc0" in (solution.vividness or {})[i.item]),
                            options.investments, tuple(w for e in solution.events for w in e.weeks))
    assert simulated == pytest.approx(solution.predicted_profit, rel=1e-9)
    bought = {item for item, accounts in (solution.vividness or {}).items() if accounts}
    assert bought == {"free": {"st", "disp", "cool"}, "mixed": {"st", "cool"}, "dear": set()}[label]


def test_locked_vividness_is_bought_whatever_it_costs() -> None:
    """Dear investments are all dropped, but a locked cooler is no decision: it stays as written, and the optimum
    is the best plan over the other packages with the cooler bought (the same enumeration as above)."""
    rules = vivid(1e5, 1e5, 1e5)
    rules = rules.replace(coolers=(rules.coolers[0].model_copy(update={"locked": True}),))
    compiled = compile_rules(rules)
    options = build_options(rules, compiled)
    assert {i.item for i in options.investments} == {"st", "disp"}  # the locked cooler is no decision
    best = max(core_profit(rules, package, options.investments, chosen) for package in range(4)
               for size in range(6) for chosen in itertools.combinations(range(1, 6), size))
    solution = solve(build(rules, compiled, options), time_limit=30, gap=1e-9, duals=False)
    assert {item for item, accounts in (solution.vividness or {}).items() if accounts} == set()
    assert "cool" not in (solution.vividness or {})  # not listed: bought as the rules write it
    assert solution.objective == pytest.approx(best, rel=1e-7)


def test_vividness_kept_as_written_adds_no_decision() -> None:
    rules = vivid(3000.0, 800.0, 500.0)
    compiled = compile_rules(rules)
    options = build_options(rules, compiled, decide_vividness=False)
    assert not options.investments and options.columns == len(options)
    solution = solve(build(rules, compiled, options), time_limit=30, gap=1e-9, duals=False)
    assert solution.vividness is None
    full = core_profit(rules, 0, [], tuple(w for e in solution.events for w in e.weeks))
    assert full == pytest.approx(solution.predicted_profit, rel=1e-9)


# --------------------------------------------------------------------------------------------------------- guard


def test_every_family_has_a_test() -> None:
    """Every family key appears in this module (outside this test), and every module of the constraints
    package (but the private helpers) provides a family."""
    source = Path(__file__).read_text(encoding="utf-8").split("def test_every_family_has_a_test")[0]
    missing = [name for name in FAMILIES if not re.search(rf"\b{name}\b", source)]
    assert not missing, f"families without a test in {Path(__file__).name}: {missing}"
    package = Path(constraints.__file__).parent
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    providing = {add.__module__.rsplit(".", 1)[-1] for add in FAMILIES.values()}
    assert modules <= providing, f"modules with no family in FAMILIES: {sorted(modules - providing)}"


def test_rebate_measure_range_takes_one_option_per_line_and_week() -> None:
    """Only one mechanic runs per line and week, so the reachable measure is the sum of each slot's extremes,
    not of every option (which would make tiers look reachable that no plan reaches)."""
    from planner.optimize.constraints.rebates import slot_range

    line = np.array([0, 0, 0, 1, 1, 0])
    week = np.array([3, 3, 3, 3, 3, 4])
    values = np.array([5.0, -2.0, 7.0, 1.0, 4.0, -3.0])
    assert slot_range(line, week, values) == (-2.0 + 0.0 - 3.0, 7.0 + 4.0 + 0.0)
    assert slot_range(line[:0], week[:0], values[:0]) == (0.0, 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 9), min_size=12, max_size=12), st.integers(0, 4), st.integers(0, 3))
def test_rebate_measure_range_keeps_event_count_maxima(values: list[int], year_max: int, half_max: int) -> None:
    """With event_count maxima (a year and its halves), the range is the best any real schedule reaches:
    compared with every schedule of one line over 6 weeks, 2 options a week."""
    from planner.optimize.constraints.rebates import slot_range

    week = np.repeat(np.arange(6), 2)
    line = np.zeros(12, dtype=np.intp)
    value = np.array(values, dtype=float)
    limits = {0: [(frozenset(range(6)), year_max), (frozenset(range(3)), half_max), (frozenset(range(3, 6)), half_max)]}
    sums = []
    for pick in itertools.product(range(3), repeat=6):  # per week: nothing, option 0 or option 1
        weeks = [w for w in range(6) if pick[w]]
        if len(weeks) <= year_max and sum(w < 3 for w in weeks) <= half_max and sum(w >= 3 for w in weeks) <= half_max:
            sums.append(sum(value[2 * w + pick[w] - 1] for w in weeks))
    assert slot_range(line, week, value, limits) == (min(sums), max(sums))
