"""Identity and references: duplicate ids, and every reference pointing at an object that exists.

Reference fields are declared once, in the schema, with `RefTo(kind)` metadata; this module finds them by
reflection, so a new rule kind gets its references checked without touching this file.
"""

from __future__ import annotations

import difflib
import typing
from functools import cache
from typing import Any

from planner.check.context import CheckContext
from planner.rules.findings import DUPLICATE_ID, UNKNOWN_REFERENCE, Finding, Location, finding
from planner.rules.schema import ID_SECTIONS
from planner.rules.schema.common import RefTo, RuleModel

Shape = typing.Literal["one", "many", "keys"]


@cache
def reference_fields(model: type[RuleModel]) -> tuple[tuple[str, str, Shape], ...]:
    """(field, referenced section, shape) for every reference field of a model class, optional ones included."""
    out: list[tuple[str, str, Shape]] = []
    for name, info in model.model_fields.items():
        annotation = _strip_optional(info.annotation)
        markers = list(info.metadata) + list(getattr(annotation, "__metadata__", ()))
        for marker in markers:
            if isinstance(marker, RefTo):
                shape: Shape = "many" if typing.get_origin(_bare(annotation)) is tuple else "one"
                out.append((name, marker.kind, shape))
        if typing.get_origin(_bare(annotation)) is dict:
            key_type = typing.get_args(_bare(annotation))[0]
            for marker in getattr(key_type, "__metadata__", ()):
                if isinstance(marker, RefTo):
                    out.append((name, marker.kind, "keys"))
    return tuple(out)


def _bare(annotation: Any) -> Any:
    """The type inside Annotated[...]."""
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


@cache
def nested_fields(model: type[RuleModel]) -> tuple[str, ...]:
    """Fields that hold nested rule objects (scopes, tiers, holidays, date ranges)."""
    names = []
    for name, info in model.model_fields.items():
        if _mentions_model(info.annotation):
            names.append(name)
    return tuple(names)


def _strip_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _mentions_model(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, RuleModel)
    return any(_mentions_model(arg) for arg in typing.get_args(annotation))


def check_references(context: CheckContext) -> list[Finding]:
    rules = context.rules
    findings: list[Finding] = []
    for section in ID_SECTIONS:
        seen: dict[str, RuleModel] = {}
        for item in rules.section(section):
            first = seen.get(item.id)
            if first is not None:
                findings.append(finding(
                    DUPLICATE_ID, f"{section} id '{item.id}' is used twice", item.field_location("id"),
                    related=[first.field_location("id")], example={"id": item.id},
                    fix=f"rename one of them; ids must be unique within '{section}'"))
            else:
                seen[item.id] = item
    known = {section: set(rules.ids(section)) for section in ID_SECTIONS}
    known["holidays"] = {holiday.id for holiday in rules.calendar.holidays} if rules.calendar else set()
    for section in ID_SECTIONS + ("calendar",):
        for item in rules.section(section):
            _walk(item, known, findings, section, item)
    return findings


def _walk(item: RuleModel, known: dict[str, set[str]], findings: list[Finding], section: str, owner: RuleModel) -> None:
    model = type(item)
    for name, kind, shape in reference_fields(model):
        value = getattr(item, name)
        if value is None:
            continue
        ids = (value,) if shape == "one" else tuple(value)
        for ref in ids:
            if ref not in known[kind]:
                findings.append(_unknown(item, name, kind, ref, known[kind], section, owner))
    for name in nested_fields(model):
        value = getattr(item, name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, RuleModel):
                _walk(child, known, findings, section, owner)


def _key_location(item: RuleModel, name: str, ref: str) -> Location:
    """Where the reference is written: the map key itself for a map keyed by ids (`lifts: {tpr-20: 1.3}`),
    the field otherwise (a key that is not in the map, as for a list item, falls back to the field)."""
    source = item.read_from  # (document, path) the object was read from, or None
    if source is None or not isinstance(getattr(item, name), dict):
        return item.field_location(name)
    document, path = source
    info = type(item).model_fields[name]
    return document.at(path + (info.alias or name, ref), key=True)  # type: ignore[no-any-return]


def _unknown(item: RuleModel, name: str, kind: str, ref: str, known: set[str], section: str,
             owner: RuleModel) -> Finding:
    near = difflib.get_close_matches(ref, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    owner_id = getattr(owner, "id", section)
    return finding(
        UNKNOWN_REFERENCE, f"{section} '{owner_id}': {name} refers to unknown {kind} '{ref}'{hint}",
        _key_location(item, name, ref), example={kind: ref},
        fix=f"use '{near[0]}'" if near else f"define {kind} '{ref}' or use one of: {', '.join(sorted(known)[:8])}")
