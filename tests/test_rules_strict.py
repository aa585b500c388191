"""Strict types (issue 15, part 1): every boolean, whole-number, number and date field of the rule language refuses
the lax spellings pydantic's lax mode would accept, with one finding located at the value and a fix that says how
to write it; lists of ids are never empty; calendar quarters are checked entry by entry.

The fields are not listed by hand: they are found in the schema (the validators of planner/rules/schema/values.py
mark them), and a coverage test fails when a strict field of any rule kind (a new one included) has no template
below to exercise it. Each case writes a small rule file whose one value is a placeholder, replaces it with a lax
spelling, and loads it through the real loader (parse_yaml -> build_rule_set), so the location is the one
`planner validate` reports.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from planner.rules.findings import Finding
from planner.rules.load import build_rule_set
from planner.rules.scenario import ScenarioOptions, ScenarioSpec
from planner.rules.schema import CALENDAR_RULE_KINDS, SECTIONS, RuleFile
from planner.rules.schema.common import _at_least_one, _two_or_more_groups
from planner.rules.schema.values import AS_FLAG, AS_NUMBER, AS_WHOLE_NUMBER, _date
from planner.rules.source import DocPath, parse_yaml

KINDS = {AS_FLAG.func: "flag", AS_WHOLE_NUMBER.func: "whole", AS_NUMBER.func: "number", _date: "date",
         _at_least_one: "ids", _two_or_more_groups: "ids"}
"""The validator that marks a field, and the kind of value it takes."""

COMPANY = {"name": "Strict Bottler"}
CALENDAR = {"year": 2027, "start": dt.date(2027, 1, 4), "weeks": 52, "quarters": [13, 13, 13, 13],
            "holidays": [{"id": "spring", "weeks": [6, 7], "uplift": 1.4}]}
SCOPE = {"account": "a", "channel": "hyper", "tier": "A", "region": "east", "product": ["p"], "brand": "b",
         "category": "c"}
ACCOUNT_SCOPE = {"account": ["a"], "channel": "hyper", "tier": ["A", "B"], "region": "east"}
PRODUCT_SCOPE = {"product": "p", "brand": ["b"], "category": "c"}
VALID = {"from": dt.date(2027, 1, 1), "to": dt.date(2027, 6, 30)}

TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("calendar", CALENDAR),
    ("products", {"id": "p", "brand": "b", "category": "c", "units_per_case": 24, "list_price": 60, "cogs": 36}),
    ("accounts", {"id": "a", "channel": "hyper", "tier": "A", "region": "east", "partner_since": 2015,
                  "last_year_volume": 50000, "safety_stock_weeks": 1.5}),
    ("seasonality", {"id": "s", "weights": [1, 1.1, 0.9, 1]}),
    ("baselines", {"id": "bl", "account": "a", "cases_per_week": {"p": 100, "q": 50.5}}),
    ("product_groups", {"id": "g", "products": PRODUCT_SCOPE}),
    ("response", {"id": "r", "applies_to": SCOPE, "elasticity": -2, "dip_weeks": 2, "shelf_elasticity": 0.3,
                  "elasticity_sd": 0.2, "lifts": {"tpr": 1.4, "bogo": 1}, "lift_sd": {"tpr": 0.1},
                  "holiday_uplifts": {"spring": 1.3}, "holiday_uplift_sd": {"spring": 0.1}}),
    ("discounts", {"id": "d1", "applies_to": SCOPE, "percent": "2%", "priority": 10, "stop": True, "valid": VALID}),
    ("discounts", {"id": "d2", "per_case": 1.5}),
    ("discounts", {"id": "d3", "fixed": 1000}),
    ("rebates", {"id": "rb", "period": "year", "basis": "volume", "method": "retroactive",
                 "tiers": [{"from": 100, "rate": "1%"}], "cap": 5000, "valid": VALID}),
    ("mechanics", {"id": "m1", "kind": "multi_buy", "buy": 3, "pay": 2, "feature": True, "display": False,
                   "lift": 1.2, "fixed_cost": 100, "applies_to": SCOPE, "valid": VALID}),
    ("mechanics", {"id": "m2", "kind": "spend_save", "spend": 100, "save": 10}),
    ("events", {"id": "e", "account": "a", "product_group": "g", "mechanic": "m1", "weeks": [3, 4],
                "locked": True}),
    ("shelf_targets", {"id": "st", "applies_to": ACCOUNT_SCOPE, "category": "c", "brand": ["b"], "share": "50%",
                       "cost_per_point": 100, "locked": False}),
    ("displays", {"id": "dp", "products": PRODUCT_SCOPE, "area_m2": 2, "fee_per_week": 100, "weeks": [1, 2],
                  "lift": 1.1, "locked": True}),
    ("coolers", {"id": "co", "units": 2, "cost_per_unit": 100, "cases_per_unit_week": 1.5, "locked": False}),
    ("budgets", {"id": "bu", "max": 1000, "min": 10}),
    ("calendar_rules", {"id": "c1", "kind": "event_count", "applies_to": ACCOUNT_SCOPE, "product_groups": ["g"],
                        "mechanics": ["m1"], "min": 1, "max": 4}),
    ("calendar_rules", {"id": "c2", "kind": "max_consecutive", "weeks": 2}),
    ("calendar_rules", {"id": "c3", "kind": "min_gap", "weeks": 2}),
    ("calendar_rules", {"id": "c4", "kind": "deep_discount_window", "min_depth": "25%", "window_weeks": 4,
                        "at_most": 1}),
    ("calendar_rules", {"id": "c5", "kind": "blackout", "weeks": [1, 2], "mechanics": "m1"}),
    ("calendar_rules", {"id": "c6", "kind": "forbidden_sequence", "first": "m1", "then": ["m2"],
                        "within_weeks": 2}),
    ("calendar_rules", {"id": "c7", "kind": "display_min_revenue", "min_revenue": 1000}),
    ("calendar_rules", {"id": "c8", "kind": "product_clash", "groups": ["g", "h"]}),
    ("calendar_rules", {"id": "c9", "kind": "paired_products", "groups": ["g", "h"]}),
]

LAX: dict[str, list[str]] = {
    "flag": ["yes", "no", "on", "off", "y", "Y", "n", "N", "Yes", "ON", "1", "0", "1.0", "'true'", '"false"',
             "'yes'", "[true]"],
    "whole": ["3.0", "2.5", "1e3", "'3'", '"12"', "'1_000'", "true", "false", "yes", ".inf", "'three'", "{a: 1}"],
    "number": ["'5000'", '"1.5"', "'1_000'", "true", "false", "yes", "'12%'", ".inf", "-.inf", "[1]",
               "2027-01-04"],
    "date": ["20270104", "'2027-1-4'", "2027-02-30", "'2027-01-04 09:00'", "true", "1.5", "[2027-01-04]"],
}
"""Spellings each kind refuses (in YAML source form)."""
HOW = {"flag": "true or false", "whole": "whole number", "number": "number", "date": "YYYY-MM-DD"}
"""What each kind's fix talks about, for the spellings of its own type (a list or a mapping gets a generic one)."""

PLACEHOLDER = "STRICT_PLACEHOLDER"


def model_of(section: str, item: dict[str, Any]) -> type[BaseModel]:
    if section == "calendar_rules":
        return CALENDAR_RULE_KINDS[item["kind"]]
    return typing.cast(type[BaseModel], SECTIONS[section].adapter._type)


def kind_of(annotation: Any, metadata: tuple[Any, ...] = ()) -> Any:
    """('leaf', kind) | ('list', inner) | ('map', inner) | ('model', class) | None, for a field's annotation."""
    for marker in metadata:
        if getattr(marker, "func", None) in KINDS:
            return ("leaf", KINDS[marker.func])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return kind_of(args[0], tuple(args[1:]) + tuple(metadata))
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return kind_of(inner[0]) if len(inner) == 1 else None
    if origin in (tuple, list):
        inner_kind = kind_of(args[0]) if args else None
        return ("list", inner_kind) if inner_kind else None
    if origin is dict:
        inner_kind = kind_of(args[1])
        return ("map", inner_kind) if inner_kind else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return None


def owner(model: type[BaseModel], name: str) -> str:
    """The class that declares a field (calendar rules inherit `applies_to` and `product_groups`)."""
    return next(cls.__name__ for cls in reversed(model.__mro__) if name in getattr(cls, "__annotations__", {}))


def field_kind(model: type[BaseModel], key: str) -> Any:
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    info = fields[key]
    return kind_of(info.annotation, tuple(info.metadata))


def leaves(model: type[BaseModel], data: dict[str, Any], path: DocPath = ()) -> Iterator[tuple[DocPath, str, str]]:
    """(path inside the object, kind, 'Model.field') of every strict value the template writes."""
    for key, value in data.items():
        name = next(n for n, info in model.model_fields.items() if (info.alias or n) == key)
        yield from _walk(field_kind(model, key), value, path + (key,), f"{owner(model, name)}.{key}")


def _walk(kind: Any, value: Any, path: DocPath, name: str) -> Iterator[tuple[DocPath, str, str]]:
    if kind is None:
        return
    shape, inner = kind
    if shape == "leaf":
        yield path, inner, name
    elif shape == "model":
        yield from leaves(inner, value, path)
    elif shape == "list" and isinstance(value, list):
        for index, element in enumerate(value):
            yield from _walk(inner, element, path + (index,), name)
    elif shape == "map" and isinstance(value, dict):
        for key, element in value.items():
            yield from _walk(inner, element, path + (key,), name)


def strict_fields(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """'Model.field' of every strict field of a model and the models inside it."""
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    out: set[str] = set()
    for name, info in model.model_fields.items():
        kind = kind_of(info.annotation, tuple(info.metadata))
        while kind and kind[0] in ("list", "map"):
            kind = kind[1]
        if kind and kind[0] == "leaf":
            out.add(f"{owner(model, name)}.{info.alias or name}")
        elif kind and kind[0] == "model":
            out |= strict_fields(kind[1], seen)
    return out


CASES = [(section, item, path, kind, name) for section, item in TEMPLATES
         for path, kind, name in leaves(model_of(section, item), item)]


def document(section: str, item: dict[str, Any], path: DocPath, value: Any) -> dict[str, Any]:
    """A rule file holding the template, with `value` at `path` inside it."""
    item = _set(item, path, value)
    data: dict[str, Any] = {"company": COMPANY}
    if section == "calendar":
        data["calendar"] = item
    else:
        data["calendar"] = CALENDAR
        data[section] = [item]
    return data


def _set(container: Any, path: DocPath, value: Any) -> Any:
    if not path:
        return value
    copy = list(container) if isinstance(container, list) else dict(container)
    copy[path[0]] = _set(container[path[0]] if len(path) > 1 else None, path[1:], value)  # type: ignore[index]
    return copy


def load(text: str) -> list[Finding]:
    parsed, findings = parse_yaml(text.encode("utf-8"), "strict.yaml")
    assert parsed is not None, findings
    _, problems = build_rule_set([parsed])
    return findings + problems


def where(text: str) -> tuple[int, int]:
    before = text[: text.index(PLACEHOLDER)]
    return before.count("\n") + 1, len(before.rsplit("\n", 1)[-1]) + 1


def test_the_templates_are_valid() -> None:
    for section, item in TEMPLATES:
        text = yaml.safe_dump(document(section, item, (), item), sort_keys=False)
        assert load(text) == [], f"template of {section} {item.get('id', '')} is not valid"


def test_every_strict_field_has_a_template() -> None:
    """A strict field no template writes would escape the property below: add it to TEMPLATES."""
    fields: set[str] = set()
    for name, section in SECTIONS.items():
        models: list[type[BaseModel]] = (list(CALENDAR_RULE_KINDS.values()) if name == "calendar_rules"
                                         else [typing.cast(type[BaseModel], section.adapter._type)])
        for model in models:
            fields |= strict_fields(model)
    covered = {name for *_, name in CASES}
    assert fields - covered == set(), f"strict fields without a template: {sorted(fields - covered)}"
    assert {"Discount.stop", "Event.locked", "Mechanic.feature", "Budget.max", "Calendar.quarters",
            "Response.lifts", "ProductClash.groups", "DateRange.from"} <= fields


def refusal_problem(case: tuple[str, dict[str, Any], DocPath, str, str], spelling: str) -> str | None:
    """What is wrong with how the loader answers `spelling` at the case's value (None: one finding at the value,
    PP111, whose fix says how to write it)."""
    section, item, path, kind, name = case
    text = yaml.safe_dump(document(section, item, path, PLACEHOLDER), sort_keys=False)
    line, column = where(text)
    findings = load(text.replace(PLACEHOLDER, spelling, 1))
    got = [(f.code, f.location.line, f.location.column) for f in findings]
    if got != [("PP111", line, column)]:
        return f"{name} = {spelling}: want PP111 at {line}:{column}, got {[(str(f.location), f.message) for f in findings]}"
    message, fix = findings[0].message, findings[0].fix or ""
    if not ("write" in fix or "list" in fix):
        return f"{name} = {spelling}: the fix does not say how to write it: {fix!r}"
    if kind in HOW and not spelling.startswith(("[", "{")) and HOW[kind] not in message + fix \
            and "remove the quotes" not in fix:
        return f"{name} = {spelling}: neither message nor fix speaks of a {HOW[kind]}: {message!r} / {fix!r}"
    return None


def test_every_lax_spelling_of_every_strict_field_is_refused_at_the_value() -> None:
    """All of them, not a sample: each strict field of each rule kind x each lax spelling of its kind."""
    problems = [problem for case in CASES for spelling in (["[]"] if case[3] == "ids" else LAX[case[3]])
                if (problem := refusal_problem(case, spelling))]
    assert not problems, "\n".join(problems)


@given(st.sampled_from([c for c in CASES if c[3] in ("whole", "number")]), st.integers(1, 40))
def test_a_number_written_plainly_is_accepted(case: tuple[str, dict[str, Any], DocPath, str, str],
                                              number: int) -> None:
    """Whatever the lax spellings refuse, the documented one is accepted (unless a bound or another key says no)."""
    section, item, path, _, name = case
    text = yaml.safe_dump(document(section, item, path, PLACEHOLDER), sort_keys=False)
    findings = load(text.replace(PLACEHOLDER, str(number), 1))
    assert all("expected a" not in f.message for f in findings), (name, number, findings)


@given(st.lists(st.integers(-20, 30), min_size=1, max_size=6))
def test_each_quarter_is_checked_not_only_their_sum(quarters: list[int]) -> None:
    weeks = sum(quarters)
    calendar = dict(CALENDAR, quarters=quarters, weeks=weeks)
    text = yaml.safe_dump({"company": COMPANY, "calendar": calendar}, sort_keys=False)
    findings = load(text)
    bad = [i for i, q in enumerate(quarters) if q < 1]
    if not 1 <= weeks <= 53:
        assert findings, quarters
    elif bad:
        assert {f.location.path for f in findings} >= {f"calendar.quarters[{i}]" for i in bad}, findings
        assert all(f.code == "PP111" for f in findings)
    elif all(q <= 53 for q in quarters):
        assert findings == [], (quarters, findings)


@pytest.mark.parametrize(("key", "spelling", "message"), [
    ("draws", 200.0, "expected a whole number"),
    ("draws", "200", "expected a whole number"),
    ("seed", True, "expected a whole number"),
    ("time_limit", "60", "expected a number"),
    ("gap", False, "expected a number"),
])
def test_scenario_options_are_strict(key: str, spelling: Any, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ScenarioOptions.model_validate({key: spelling})
    [problem] = raised.value.errors()
    assert problem["msg"] == message and "write" in problem["ctx"]["fix"]


def test_values_built_in_python_from_numpy_are_accepted() -> None:
    """The calibrator and the optimizer build rule objects from numpy scalars: an np.int64 week is a whole number."""
    np = pytest.importorskip("numpy")
    event = SECTIONS["events"].adapter.validate_python(
        {"id": "e", "account": "a", "product_group": "g", "mechanic": "m", "weeks": (np.int64(3),)})
    assert event.weeks == (3,) and type(event.weeks[0]) is int
    response = SECTIONS["response"].adapter.validate_python(
        {"id": "r", "elasticity": np.float64(-1.5), "dip_weeks": np.int32(2), "lifts": {"m": np.float32(1.25)}})
    assert response.dip_weeks == 2 and response.lifts == {"m": 1.25}


def test_a_week_written_with_a_leading_zero_is_that_week() -> None:
    """YAML 1.2 reads `05` as the integer 5 (YAML 1.1 read octal); it must not become the float 5.0, which a week
    field would then refuse as 'not a whole number'."""
    item = {"id": "e", "account": "a", "product_group": "g", "mechanic": "m1", "weeks": [PLACEHOLDER, 12]}
    text = yaml.safe_dump(document("events", item, (), item), sort_keys=False).replace(PLACEHOLDER, "05", 1)
    parsed, _ = parse_yaml(text.encode("utf-8"), "strict.yaml")
    assert parsed is not None
    rules, problems = build_rule_set([parsed])
    assert problems == [] and rules.events[0].weeks == (5, 12)


@pytest.mark.parametrize(("section", "rule_id", "key", "written", "fix"), [
    ("accounts", "a", "tier", "a", "write A (one of: A, B, C)"),
    ("budgets", "bu", "per", "acount", "write account (one of: total, account)"),
    ("rebates", "rb", "period", "month", "write one of: quarter, year"),
])
def test_a_word_outside_its_set_gets_the_closest_word(section: str, rule_id: str, key: str, written: str,
                                                        fix: str) -> None:
    item = next(item for name, item in TEMPLATES if name == section and item["id"] == rule_id)
    text = yaml.safe_dump(document(section, item, (key,), PLACEHOLDER), sort_keys=False)
    line, column = where(text)
    [found] = load(text.replace(PLACEHOLDER, written, 1))
    assert (found.code, found.location.line, found.location.column, found.fix) == ("PP111", line, column, fix)


def _keywords(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            if key not in ("properties", "$defs"):
                yield from _keywords(value)
            else:
                for inner in value.values():
                    yield from _keywords(inner)
    elif isinstance(schema, list):
        for value in schema:
            yield from _keywords(value)


def test_the_json_schema_states_bounds_in_json_schema_words() -> None:
    """Bounds placed outside a strict validator reach the JSON Schema as pydantic's own 'ge'/'le', which editors
    ignore; they must come out as minimum/maximum (see planner/rules/schema/values.py)."""
    for model in (RuleFile, ScenarioSpec, ScenarioOptions):
        stray = {"ge", "le", "gt", "lt"} & set(_keywords(model.model_json_schema(by_alias=True)))
        assert not stray, f"{model.__name__}: {sorted(stray)}"


@pytest.mark.parametrize(("section", "rule_id", "key"), [
    ("events", "e", "weeks"), ("baselines", "bl", "cases_per_week"), ("rebates", "rb", "tiers"),
    ("calendar_rules", "c5", "weeks"), ("calendar", None, "quarters"),
])
def test_a_list_that_must_hold_something_is_refused_empty(section: str, rule_id: str | None, key: str) -> None:
    item = next(item for name, item in TEMPLATES if name == section and item.get("id") == rule_id)
    text = yaml.safe_dump(document(section, item, (key,), PLACEHOLDER), sort_keys=False)
    line, column = where(text)
    empty = "{}" if isinstance(item[key], dict) else "[]"
    [found] = load(text.replace(PLACEHOLDER, empty, 1))
    assert (found.code, found.location.line, found.location.column) == ("PP111", line, column)
    assert found.fix and "at least one" in found.fix
