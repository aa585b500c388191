"""Scoped lifts: a response profile sets the lift of a mechanic in the cells it covers (`Response.lifts`).

The schema accepts and bounds it, the checker reports an unknown mechanic at the key, the compiler resolves it per
cell (most specific profile naming the mechanic wins), and both the simulator and the optimizer's option values
use it, because both place promotions through planner.compile.promotions with the compiled `Demand.lifts`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from planner.cli import main
from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.optimize.options import build_options
from planner.rules.load import load_rules
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import Event, Response, RuleSet
from planner.simulate import promotions_for, simulate
from planner.validate import validate

BASE = Path(__file__).resolve().parent / "fixtures" / "base"


def base_rules(*profiles: dict[str, object]) -> RuleSet:
    """The base fixture with no dip or cannibalization (so a promoted cell's volume is its own response alone) and
    the given profiles after a plain default."""
    rules = load_rules([BASE]).rules
    default = Response(id="default", elasticity=-2.0)
    return rules.replace(response=(default, *(Response.model_validate(p) for p in profiles)), events=())


def test_schema_accepts_lifts_and_bounds_them() -> None:
    profile = Response.model_validate({"id": "r", "elasticity": -2, "lifts": {"tpr-20": 1.4, "tasting": 0.9}})
    assert profile.lifts == {"tpr-20": 1.4, "tasting": 0.9}
    for bad in (0, -1.2, 11, "high"):
        with pytest.raises(ValidationError):
            Response.model_validate({"id": "r", "elasticity": -2, "lifts": {"tpr-20": bad}})


def test_planner_schema_describes_lifts() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    lifts = json.loads(result.output)["$defs"]["Response"]["properties"]["lifts"]
    assert lifts["type"] == "object"
    assert lifts["additionalProperties"] == {"exclusiveMinimum": 0, "maximum": 10, "type": "number"}


def test_unknown_mechanic_is_a_reference_finding_at_the_key(tmp_path: Path) -> None:
    extra = tmp_path / "lifts.yaml"
    extra.write_text("response:\n"
                     "  - id: r\n"
                     "    elasticity: -2\n"
                     "    lifts: {tpr-20: 1.2, tpr-30-featur: 1.5}\n", encoding="utf-8")
    findings = validate([BASE, extra]).findings
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [("PP201", 4, 26)]
    assert "did you mean 'tpr-30-feature'?" in findings[0].message


def test_most_specific_profile_naming_the_mechanic_wins() -> None:
    rules = base_rules(
        {"id": "sparkling", "applies_to": {"category": "sparkling"}, "elasticity": -2.5, "lifts": {"tpr-20": 1.5}},
        {"id": "hyper-can", "applies_to": {"account": "hyper-a", "product": "cola-can"}, "elasticity": -3.0,
         "lifts": {"tpr-20": 2.0}},
        # more specific than the category profile but names no lift: the category's lift still applies there
        {"id": "hyper-pet", "applies_to": {"account": "hyper-a", "product": "cola-pet"}, "elasticity": -1.5},
    )
    compiled = compile_rules(rules)
    index = compiled.index
    a, conv = index.account_position["hyper-a"], index.account_position["conv-b"]
    can, pet, water = (index.product_position[p] for p in ("cola-can", "cola-pet", "aqua-pet"))
    lifts = compiled.demand.lifts
    assert set(lifts) == {"tpr-20"}
    assert lifts["tpr-20"][a, can] == 2.0
    assert lifts["tpr-20"][a, pet] == 1.5
    assert lifts["tpr-20"][conv, can] == 1.5
    assert lifts["tpr-20"][a, water] == rules.ids("mechanics")["tpr-20"].lift  # no profile names it there
    assert compiled.demand.elasticity[a, pet] == -1.5  # the other parameters still follow the winning profile


def test_simulator_uses_the_scoped_lift() -> None:
    rules = base_rules({"id": "hyper-can", "applies_to": {"account": "hyper-a", "product": "cola-can"},
                        "elasticity": -2.0, "lifts": {"tpr-30-feature": 2.2}})
    mechanic = rules.ids("mechanics")["tpr-30-feature"]
    event = Event(id="e", account="hyper-a", product_group="cola", mechanic="tpr-30-feature", weeks=(10,))
    compiled = compile_rules(rules)
    index = compiled.index
    a, can, pet = index.account_position["hyper-a"], index.product_position["cola-can"], index.product_position["cola-pet"]
    promotions = promotions_for(rules, compiled, [event])
    assert promotions.lift[a, can, 9] == 2.2
    assert promotions.lift[a, pet, 9] == mechanic.lift
    cells = evaluate(compiled, promotions)
    for product, lift in ((can, 2.2), (pet, mechanic.lift)):
        base = compiled.demand.expected_base[a, product, 9] * compiled.price_factor[a, product, 9]
        assert math.isclose(cells.volume[a, product, 9], base * (1 - mechanic.effective_depth) ** -2.0 * lift,
                            rel_tol=1e-12)
    with_lift = simulate(rules.replace(events=(event,)), ScenarioOptions())
    without = simulate(rules.replace(events=(event,), response=rules.response[:1]), ScenarioOptions())
    assert with_lift.totals.volume > without.totals.volume


def test_optimizer_values_options_with_the_scoped_lift() -> None:
    """An option's measured volume is the core's evaluation of that one event, scoped lift included."""
    rules = base_rules({"id": "hyper-can", "applies_to": {"account": "hyper-a", "product": "cola-can"},
                        "elasticity": -2.0, "lifts": {"tpr-20": 1.8}})
    rules = rules.replace(calendar_rules=(), budgets=(), margin_floors=(), price_floors=(), trade_spend_caps=(),
                          rebates=())
    compiled = compile_rules(rules)
    options = build_options(rules, compiled, decide_vividness=False)
    a = compiled.index.account_position["hyper-a"]
    group = options.groups.index("cola")
    mechanic = [m.id for m in options.mechanics].index("tpr-20")
    option = options.option_of[(a, group, 9, mechanic)]
    event = Event(id="e", account="hyper-a", product_group="cola", mechanic="tpr-20", weeks=(10,))
    alone = evaluate(compiled, promotions_for(rules, compiled, [event]))
    expected = alone.volume.sum() - options.base.volume.sum()
    assert math.isclose(options.value["volume"][option], expected, rel_tol=1e-9)
    plain = rules.replace(response=rules.response[:1])
    plain_compiled = compile_rules(plain)
    plain_options = build_options(plain, plain_compiled, decide_vividness=False)
    assert options.value["volume"][option] > plain_options.value["volume"][option] + 1.0


def test_many_profiles_resolve_like_a_loop_over_cells() -> None:
    """One profile per account x product (a calibrated file) gives each cell its own values, the same as
    resolving cell by cell."""
    rules = load_rules([BASE]).rules
    rng = np.random.default_rng(3)
    profiles = [Response(id="default", elasticity=-2.0, lifts={"tpr-20": 1.1})]
    expected = {}
    for account in rules.accounts:
        for product in rules.products:
            elasticity, lift = float(-rng.uniform(1, 4)), float(rng.uniform(0.8, 2.5))
            profiles.append(Response.model_validate({
                "id": f"{account.id}-{product.id}", "applies_to": {"account": account.id, "product": product.id},
                "elasticity": elasticity, "lifts": {"tpr-20": lift}}))
            expected[(account.id, product.id)] = (elasticity, lift)
    compiled = compile_rules(rules.replace(response=tuple(profiles)))
    index = compiled.index
    for (account_id, product_id), (elasticity, lift) in expected.items():
        a, p = index.account_position[account_id], index.product_position[product_id]
        assert compiled.demand.elasticity[a, p] == elasticity
        assert compiled.demand.lifts["tpr-20"][a, p] == lift
